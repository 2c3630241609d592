package netipc

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test for them with errors.Is; the concrete error values
// returned by the library wrap one (or more) of these.
var (
	// ErrProtocol: received bytes broke a structural rule of the protocol
	// (a *DecodeError or a Violation names the rule). The session it
	// happened on is unusable.
	ErrProtocol = errors.New("netipc: protocol violation")
	// ErrLimitExceeded: a negotiated or configured limit was exceeded
	// (see *LimitError), or the peer answered LIMIT_EXCEEDED.
	ErrLimitExceeded = errors.New("netipc: limit exceeded")
	// ErrTimeout: the operation did not complete before its deadline.
	ErrTimeout = errors.New("netipc: timed out")
	// ErrAborted: the operation was aborted through an abort handle or a
	// cancelled context.
	ErrAborted = errors.New("netipc: aborted")
	// ErrPeerClosed: the peer closed the connection.
	ErrPeerClosed = errors.New("netipc: peer closed the connection")
	// ErrNotFound: no provider is listening at the endpoint.
	ErrNotFound = errors.New("netipc: service not found")
	// ErrAddressInUse: the endpoint is already served by a live server.
	ErrAddressInUse = errors.New("netipc: address in use")
	// ErrAuthFailed: the server rejected the auth token.
	ErrAuthFailed = errors.New("netipc: authentication failed")
	// ErrIncompatible: protocol versions, layouts, limits or packet sizes
	// are incompatible.
	ErrIncompatible = errors.New("netipc: incompatible peer")
	// ErrUnsupported: no common profile, or the method is not served.
	ErrUnsupported = errors.New("netipc: unsupported")
	// ErrPeerStatus: the peer answered with a non-OK transport status
	// (see *StatusError).
	ErrPeerStatus = errors.New("netipc: peer returned an error status")
	// ErrShmNotReady: the SHM region is not ready yet (retryable).
	ErrShmNotReady = errors.New("netipc: SHM region not ready")
	// ErrShmAttach: attaching the negotiated SHM region failed; reconnect
	// without SHM.
	ErrShmAttach = errors.New("netipc: SHM attach failed")
	// ErrShmAllocate: allocating backing storage for an SHM region failed.
	ErrShmAllocate = errors.New("netipc: SHM allocation failed")
	// ErrInvalidArgument: a caller-supplied argument is invalid.
	ErrInvalidArgument = errors.New("netipc: invalid argument")
	// ErrInvalidState: the object is not in a state that allows the
	// operation.
	ErrInvalidState = errors.New("netipc: invalid state")
	// ErrHandlerFailed: a request handler failed on the server side (the
	// client sees INTERNAL_ERROR).
	ErrHandlerFailed = errors.New("netipc: handler failed")
	// ErrClosed: the object was closed.
	ErrClosed = errors.New("netipc: closed")
	// ErrNotReady: a Level 2 client is not connected (call Refresh).
	ErrNotReady = errors.New("netipc: client not ready")
)

// DecodeKind names the class of a structural rule that received bytes broke.
type DecodeKind uint8

// Decode rule classes.
const (
	// DecodeTruncated: the buffer is shorter than a fixed header or a
	// declared area.
	DecodeTruncated DecodeKind = iota + 1
	// DecodeBadMagic: a magic number does not match.
	DecodeBadMagic
	// DecodeBadVersion: the envelope version is not supported.
	DecodeBadVersion
	// DecodeBadHeaderLen: the envelope header_len is not 32.
	DecodeBadHeaderLen
	// DecodeBadKind: the envelope kind is not REQUEST, RESPONSE or CONTROL.
	DecodeBadKind
	// DecodeBadLayoutVersion: a payload layout_version is not supported.
	DecodeBadLayoutVersion
	// DecodeNonZeroReserved: a reserved, flags or padding field is not 0.
	DecodeNonZeroReserved
	// DecodeOutOfBounds: an offset/length pair points outside its area or
	// overflows.
	DecodeOutOfBounds
	// DecodeMissingNul: a string is missing its trailing NUL.
	DecodeMissingNul
	// DecodeInteriorNul: a string contains a NUL before its end.
	DecodeInteriorNul
	// DecodeOverlap: two regions that must be disjoint overlap.
	DecodeOverlap
	// DecodeBadAlignment: an offset is not aligned as required.
	DecodeBadAlignment
	// DecodeBadItemCount: an item count is inconsistent with the bytes.
	DecodeBadItemCount
	// DecodeUnknownStatus: a closed enum carries an undefined value.
	DecodeUnknownStatus
	// DecodeBadLength: a length field is outside its allowed range.
	DecodeBadLength
	// DecodeInvalidField: a field combination violates a method rule.
	DecodeInvalidField
)

var decodeKindNames = [...]string{
	DecodeTruncated:        "truncated",
	DecodeBadMagic:         "bad magic",
	DecodeBadVersion:       "unsupported version",
	DecodeBadHeaderLen:     "bad header_len",
	DecodeBadKind:          "unknown message kind",
	DecodeBadLayoutVersion: "unsupported layout_version",
	DecodeNonZeroReserved:  "non-zero reserved field",
	DecodeOutOfBounds:      "out of bounds",
	DecodeMissingNul:       "missing trailing NUL",
	DecodeInteriorNul:      "interior NUL",
	DecodeOverlap:          "overlap",
	DecodeBadAlignment:     "misaligned",
	DecodeBadItemCount:     "bad item count",
	DecodeUnknownStatus:    "unknown enum value",
	DecodeBadLength:        "bad length",
	DecodeInvalidField:     "invalid field",
}

// String returns the rule class name.
func (k DecodeKind) String() string {
	if int(k) < len(decodeKindNames) && decodeKindNames[k] != "" {
		return decodeKindNames[k]
	}
	return fmt.Sprintf("decode kind %d", uint8(k))
}

// DecodeError is a structural validation failure in received bytes,
// produced by the pure wire and codec decoders. Kind is the rule class and
// What names the field, area or exact rule. It wraps ErrProtocol.
type DecodeError struct {
	// Kind is the class of the rule broken.
	Kind DecodeKind
	// What names the structure, field or rule.
	What string
	// Need and Have are the required and available byte counts
	// (DecodeTruncated only).
	Need, Have int
	// Found is the offending value (magic, version, kind, layout, status).
	Found uint64
}

// Error describes the broken rule.
func (e *DecodeError) Error() string {
	switch e.Kind {
	case DecodeTruncated:
		return fmt.Sprintf("netipc: truncated %s: need %d bytes, have %d", e.What, e.Need, e.Have)
	case DecodeBadMagic, DecodeBadVersion, DecodeBadHeaderLen, DecodeBadKind,
		DecodeBadLayoutVersion, DecodeUnknownStatus:
		return fmt.Sprintf("netipc: %s %#x in %s", e.Kind, e.Found, e.What)
	}
	return fmt.Sprintf("netipc: %s: %s", e.Kind, e.What)
}

// Unwrap returns ErrProtocol.
func (e *DecodeError) Unwrap() error { return ErrProtocol }

// Violation is a transport protocol rule broken by the peer (or by the
// caller). A violation ends the session it happened on. It wraps
// ErrProtocol.
type Violation uint8

// Transport rule violations.
const (
	// ViolationChunkMessageID: a chunk continuation carried another
	// message id.
	ViolationChunkMessageID Violation = iota + 1
	// ViolationChunkIndex: a chunk continuation arrived out of order.
	ViolationChunkIndex
	// ViolationChunkCount: a chunk continuation disagrees on the count.
	ViolationChunkCount
	// ViolationChunkTotalLen: a chunk continuation disagrees on the total
	// message length.
	ViolationChunkTotalLen
	// ViolationChunkPayloadLen: a chunk's declared payload length disagrees
	// with the packet or the chunk plan.
	ViolationChunkPayloadLen
	// ViolationPacketLength: a packet is shorter or longer than its header
	// declares.
	ViolationPacketLength
	// ViolationUnexpectedKind: the message kind is not the one expected.
	ViolationUnexpectedKind
	// ViolationUnexpectedCode: the message code is not the one expected.
	ViolationUnexpectedCode
	// ViolationUnknownMessageID: a response carried a message id that is
	// not in flight.
	ViolationUnknownMessageID
	// ViolationDuplicateMessageID: the caller submitted a message id that
	// is already in flight.
	ViolationDuplicateMessageID
	// ViolationShmBusy: a second message was sent on SHM before the
	// previous answer.
	ViolationShmBusy
	// ViolationShmLength: a published SHM length is zero, over capacity or
	// inconsistent with the message header.
	ViolationShmLength
	// ViolationShmFault: the SHM region was truncated or faulted under us.
	ViolationShmFault
	// ViolationHandshake: the handshake reply was malformed.
	ViolationHandshake
	// ViolationEmptyBatch: a BATCH message with item_count 0.
	ViolationEmptyBatch
	// ViolationItemCountMismatch: a response's item count disagrees with
	// its request.
	ViolationItemCountMismatch
	// ViolationEchoMismatch: a lookup response item does not echo its
	// request key.
	ViolationEchoMismatch
	// ViolationGenerationMismatch: stitched lookup subresponses carry
	// different generations.
	ViolationGenerationMismatch
	// ViolationUnexpectedResponse: the answer is structurally fine but
	// semantically wrong.
	ViolationUnexpectedResponse
)

var violationNames = [...]string{
	ViolationChunkMessageID:     "chunk message_id mismatch",
	ViolationChunkIndex:         "chunk index out of sequence",
	ViolationChunkCount:         "chunk count mismatch",
	ViolationChunkTotalLen:      "chunk total_message_len mismatch",
	ViolationChunkPayloadLen:    "chunk payload length mismatch",
	ViolationPacketLength:       "packet length does not match header",
	ViolationUnexpectedKind:     "unexpected message kind",
	ViolationUnexpectedCode:     "unexpected message code",
	ViolationUnknownMessageID:   "response for unknown message_id",
	ViolationDuplicateMessageID: "duplicate in-flight message_id",
	ViolationShmBusy:            "message already in flight on this SHM session",
	ViolationShmLength:          "bad SHM published length",
	ViolationShmFault:           "SHM region faulted (peer truncated it)",
	ViolationHandshake:          "malformed handshake",
	ViolationEmptyBatch:         "batch with zero items",
	ViolationItemCountMismatch:  "response item count mismatch",
	ViolationEchoMismatch:       "echoed key mismatch",
	ViolationGenerationMismatch: "generation changed between subresponses",
	ViolationUnexpectedResponse: "unexpected response",
}

// Error describes the violation.
func (v Violation) Error() string {
	if int(v) < len(violationNames) && violationNames[v] != "" {
		return "netipc: protocol violation: " + violationNames[v]
	}
	return fmt.Sprintf("netipc: protocol violation %d", uint8(v))
}

// Unwrap returns ErrProtocol.
func (v Violation) Unwrap() error { return ErrProtocol }

// Limit names which negotiated or configured limit was exceeded.
type Limit uint8

// Limits.
const (
	// LimitRequestPayload: request payload bytes.
	LimitRequestPayload Limit = iota + 1
	// LimitResponsePayload: response payload bytes.
	LimitResponsePayload
	// LimitRequestItems: request batch items.
	LimitRequestItems
	// LimitResponseItems: response batch items.
	LimitResponseItems
	// LimitLookupCeiling: a logical lookup ceiling (items, subcalls or
	// stitched bytes).
	LimitLookupCeiling
	// LimitLocal: a locally configured ceiling (allocation, mapping).
	LimitLocal
)

var limitNames = [...]string{
	LimitRequestPayload:  "request payload",
	LimitResponsePayload: "response payload",
	LimitRequestItems:    "request items",
	LimitResponseItems:   "response items",
	LimitLookupCeiling:   "lookup ceiling",
	LimitLocal:           "local limit",
}

// String returns the limit name.
func (l Limit) String() string {
	if int(l) < len(limitNames) && limitNames[l] != "" {
		return limitNames[l]
	}
	return fmt.Sprintf("limit %d", uint8(l))
}

// LimitError reports which limit was exceeded and by how much. It wraps
// ErrLimitExceeded.
type LimitError struct {
	// Limit is the limit that was exceeded.
	Limit Limit
	// Max is the limit in force.
	Max uint64
	// Actual is the value that exceeded it.
	Actual uint64
}

// Error describes the exceeded limit.
func (e *LimitError) Error() string {
	return fmt.Sprintf("netipc: limit exceeded (%s): %d > %d", e.Limit, e.Actual, e.Max)
}

// Unwrap returns ErrLimitExceeded.
func (e *LimitError) Unwrap() error { return ErrLimitExceeded }

// StatusError is a non-OK transport status received from the peer. It
// wraps ErrPeerStatus and, where one exists, the sentinel of that status
// (AUTH_FAILED: ErrAuthFailed, INCOMPATIBLE: ErrIncompatible, UNSUPPORTED:
// ErrUnsupported, LIMIT_EXCEEDED: ErrLimitExceeded).
type StatusError struct {
	// Status is the transport status the peer sent.
	Status uint16
}

// Error names the status.
func (e *StatusError) Error() string {
	name := StatusName(e.Status)
	if name == "" {
		name = fmt.Sprintf("%d", e.Status)
	}
	return "netipc: peer returned transport status " + name
}

// Unwrap returns ErrPeerStatus and the status's own sentinel, if any.
func (e *StatusError) Unwrap() []error {
	if s := StatusSentinel(e.Status); s != nil {
		return []error{ErrPeerStatus, s}
	}
	return []error{ErrPeerStatus}
}

// StatusSentinel maps a transport status to its sentinel error: nil for OK,
// BAD_ENVELOPE and INTERNAL_ERROR (which have none beyond ErrPeerStatus).
func StatusSentinel(status uint16) error {
	switch status {
	case StatusAuthFailed:
		return ErrAuthFailed
	case StatusIncompatible:
		return ErrIncompatible
	case StatusUnsupported:
		return ErrUnsupported
	case StatusLimitExceeded:
		return ErrLimitExceeded
	}
	return nil
}

// ArgError is an invalid caller argument; it wraps ErrInvalidArgument.
type ArgError struct {
	// Reason says what is wrong.
	Reason string
}

// Error returns the reason.
func (e *ArgError) Error() string { return "netipc: invalid argument: " + e.Reason }

// Unwrap returns ErrInvalidArgument.
func (e *ArgError) Unwrap() error { return ErrInvalidArgument }

// StateError is an operation attempted in the wrong state; it wraps
// ErrInvalidState.
type StateError struct {
	// Reason says what is wrong.
	Reason string
}

// Error returns the reason.
func (e *StateError) Error() string { return "netipc: invalid state: " + e.Reason }

// Unwrap returns ErrInvalidState.
func (e *StateError) Unwrap() error { return ErrInvalidState }
