package wire

import (
	"math/bits"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

// HelloLen is the size of a HELLO payload.
const HelloLen = 44

// HelloAckLen is the size of a HELLO_ACK payload.
const HelloAckLen = 48

// Hello is the client's HELLO: its proposals for the session. Layout
// version, flags and padding are implied (1, 0, 0).
type Hello struct {
	// SupportedProfiles is the bitmask of profiles the client supports.
	SupportedProfiles uint32
	// PreferredProfiles is the bitmask of profiles the client prefers.
	PreferredProfiles uint32
	// MaxRequestPayloadBytes is the proposed whole-request payload ceiling.
	MaxRequestPayloadBytes uint32
	// MaxRequestBatchItems is the proposed request batch-item ceiling.
	MaxRequestBatchItems uint32
	// MaxResponsePayloadBytes is a hint for the response payload ceiling.
	MaxResponsePayloadBytes uint32
	// MaxResponseBatchItems is a hint for the response batch-item ceiling.
	MaxResponseBatchItems uint32
	// AuthToken is the caller-supplied authentication token.
	AuthToken uint64
	// PacketSize is the client's transport packet size.
	PacketSize uint32
}

// HelloAck is the server's HELLO_ACK: the final values of the session.
// Layout version, flags and padding are implied (1, 0, 0).
type HelloAck struct {
	// ServerSupportedProfiles is the bitmask of profiles the server supports.
	ServerSupportedProfiles uint32
	// IntersectionProfiles is client supported & server supported.
	IntersectionProfiles uint32
	// SelectedProfile is the one profile chosen for the session.
	SelectedProfile uint32
	// AgreedMaxRequestPayloadBytes is the final request payload limit.
	AgreedMaxRequestPayloadBytes uint32
	// AgreedMaxRequestBatchItems is the final request batch-item limit.
	AgreedMaxRequestBatchItems uint32
	// AgreedMaxResponsePayloadBytes is the final response payload limit.
	AgreedMaxResponsePayloadBytes uint32
	// AgreedMaxResponseBatchItems is the final response batch-item limit
	// (equal to the request one).
	AgreedMaxResponseBatchItems uint32
	// AgreedPacketSize is the final packet size.
	AgreedPacketSize uint32
	// SessionID is the server-assigned session id.
	SessionID uint64
}

// HelloErrorClass classifies why a HELLO failed to decode, as the
// handshake must react.
type HelloErrorClass uint8

const (
	// HelloMalformed: truncated; the server closes without an answer.
	HelloMalformed HelloErrorClass = iota + 1
	// HelloIncompatible: layout_version != 1; reject with INCOMPATIBLE.
	HelloIncompatible
	// HelloBadReserved: non-zero flags or padding; reject with BAD_ENVELOPE.
	HelloBadReserved
)

// Encode returns the 44 HELLO bytes.
func (h Hello) Encode() [HelloLen]byte {
	var b [HelloLen]byte
	bin.Put16(b[:], 0, netipc.LayoutVersion)
	bin.Put16(b[:], 2, 0)
	bin.Put32(b[:], 4, h.SupportedProfiles)
	bin.Put32(b[:], 8, h.PreferredProfiles)
	bin.Put32(b[:], 12, h.MaxRequestPayloadBytes)
	bin.Put32(b[:], 16, h.MaxRequestBatchItems)
	bin.Put32(b[:], 20, h.MaxResponsePayloadBytes)
	bin.Put32(b[:], 24, h.MaxResponseBatchItems)
	bin.Put32(b[:], 28, 0)
	bin.Put64(b[:], 32, h.AuthToken)
	bin.Put32(b[:], 40, h.PacketSize)
	return b
}

// DecodeHello decodes a HELLO, rejecting a truncated payload, a layout
// version other than 1 and non-zero flags or padding. Bytes after the
// first 44 are ignored.
func DecodeHello(buf []byte) (Hello, error) {
	h, class := decodeHello(buf)
	switch class {
	case HelloMalformed:
		return Hello{}, bin.Truncated("hello", HelloLen, len(buf))
	case HelloIncompatible:
		return Hello{}, bin.Found(netipc.DecodeBadLayoutVersion, "hello", uint64(bin.U16(buf, 0)))
	case HelloBadReserved:
		return Hello{}, bin.Rule(netipc.DecodeNonZeroReserved, "hello flags/padding")
	}
	return h, nil
}

// ClassifyHello decodes a HELLO and classifies a failure as the handshake
// must react to it (0 on success).
func ClassifyHello(buf []byte) (Hello, HelloErrorClass) { return decodeHello(buf) }

func decodeHello(buf []byte) (Hello, HelloErrorClass) {
	if len(buf) < HelloLen {
		return Hello{}, HelloMalformed
	}
	if bin.U16(buf, 0) != netipc.LayoutVersion {
		return Hello{}, HelloIncompatible
	}
	if bin.U16(buf, 2) != 0 || bin.U32(buf, 28) != 0 {
		return Hello{}, HelloBadReserved
	}
	return Hello{
		SupportedProfiles:       bin.U32(buf, 4),
		PreferredProfiles:       bin.U32(buf, 8),
		MaxRequestPayloadBytes:  bin.U32(buf, 12),
		MaxRequestBatchItems:    bin.U32(buf, 16),
		MaxResponsePayloadBytes: bin.U32(buf, 20),
		MaxResponseBatchItems:   bin.U32(buf, 24),
		AuthToken:               bin.U64(buf, 32),
		PacketSize:              bin.U32(buf, 40),
	}, 0
}

// Encode returns the 48 HELLO_ACK bytes. The zero HelloAck encodes the
// payload of a rejection: layout_version 1, every other field 0.
func (a HelloAck) Encode() [HelloAckLen]byte {
	var b [HelloAckLen]byte
	bin.Put16(b[:], 0, netipc.LayoutVersion)
	bin.Put16(b[:], 2, 0)
	bin.Put32(b[:], 4, a.ServerSupportedProfiles)
	bin.Put32(b[:], 8, a.IntersectionProfiles)
	bin.Put32(b[:], 12, a.SelectedProfile)
	bin.Put32(b[:], 16, a.AgreedMaxRequestPayloadBytes)
	bin.Put32(b[:], 20, a.AgreedMaxRequestBatchItems)
	bin.Put32(b[:], 24, a.AgreedMaxResponsePayloadBytes)
	bin.Put32(b[:], 28, a.AgreedMaxResponseBatchItems)
	bin.Put32(b[:], 32, a.AgreedPacketSize)
	bin.Put32(b[:], 36, 0)
	bin.Put64(b[:], 40, a.SessionID)
	return b
}

// DecodeHelloAck decodes a HELLO_ACK, rejecting a truncated payload, a
// layout version other than 1 and non-zero flags or padding. Policy checks
// (packet size, profile) are the client handshake's job.
func DecodeHelloAck(buf []byte) (HelloAck, error) {
	if len(buf) < HelloAckLen {
		return HelloAck{}, bin.Truncated("hello-ack", HelloAckLen, len(buf))
	}
	if lv := bin.U16(buf, 0); lv != netipc.LayoutVersion {
		return HelloAck{}, bin.Found(netipc.DecodeBadLayoutVersion, "hello-ack", uint64(lv))
	}
	if bin.U16(buf, 2) != 0 {
		return HelloAck{}, bin.Rule(netipc.DecodeNonZeroReserved, "hello-ack flags")
	}
	if bin.U32(buf, 36) != 0 {
		return HelloAck{}, bin.Rule(netipc.DecodeNonZeroReserved, "hello-ack padding")
	}
	return HelloAck{
		ServerSupportedProfiles:       bin.U32(buf, 4),
		IntersectionProfiles:          bin.U32(buf, 8),
		SelectedProfile:               bin.U32(buf, 12),
		AgreedMaxRequestPayloadBytes:  bin.U32(buf, 16),
		AgreedMaxRequestBatchItems:    bin.U32(buf, 20),
		AgreedMaxResponsePayloadBytes: bin.U32(buf, 24),
		AgreedMaxResponseBatchItems:   bin.U32(buf, 28),
		AgreedPacketSize:              bin.U32(buf, 32),
		SessionID:                     bin.U64(buf, 40),
	}, nil
}

// ServerOffer is what a server offers in a handshake: its current budgets
// and policy. Level 2 passes learned budgets here, so later sessions can be
// offered more than the first.
type ServerOffer struct {
	// SupportedProfiles is the bitmask of profiles the server supports.
	SupportedProfiles uint32
	// PreferredProfiles is the bitmask of profiles the server prefers.
	PreferredProfiles uint32
	// MaxRequestPayloadBytes is the server's current request payload budget.
	MaxRequestPayloadBytes uint32
	// MaxResponsePayloadBytes is the server's current response payload
	// budget.
	MaxResponsePayloadBytes uint32
	// PacketSize is the server's packet size.
	PacketSize uint32
	// AuthToken is the token clients must present.
	AuthToken uint64
}

// Decision is the kind of outcome of Negotiate.
type Decision uint8

const (
	// Accept: send the HELLO_ACK with status OK.
	Accept Decision = iota + 1
	// Reject: send a rejection HELLO_ACK with the status, then close.
	Reject
	// Drop: the HELLO is malformed; close without an answer.
	Drop
)

// Negotiation is the outcome of Negotiate.
type Negotiation struct {
	// Decision says what to do.
	Decision Decision
	// Ack is the HELLO_ACK to send on Accept.
	Ack HelloAck
	// Status is the transport status of a Reject.
	Status uint16
}

// HighestBit returns the highest set bit of mask as a one-bit mask (0 if
// mask is 0).
func HighestBit(mask uint32) uint32 {
	if mask == 0 {
		return 0
	}
	return 1 << (31 - bits.LeadingZeros32(mask))
}

// Negotiate decides a handshake from a HELLO payload, the server's offer
// and the session id already allocated for this connection. It is pure.
//
// Checks, first failure wins: truncated HELLO (Drop), layout version
// (INCOMPATIBLE), non-zero flags or padding (BAD_ENVELOPE), no common
// profile (UNSUPPORTED), auth token (AUTH_FAILED), request payload
// proposal over the server budget (LIMIT_EXCEEDED), agreed packet size
// <= 32 (INCOMPATIBLE).
//
// On success: the request payload and batch items are the client's
// proposals, the response batch items equal the request batch items, the
// response payload is the server's budget, the packet size is the minimum
// of both, and the selected profile is the highest bit of (intersection &
// client preferred & server preferred), else the highest bit of the
// intersection.
func Negotiate(helloPayload []byte, offer ServerOffer, sessionID uint64) Negotiation {
	h, class := decodeHello(helloPayload)
	switch class {
	case HelloMalformed:
		return Negotiation{Decision: Drop}
	case HelloIncompatible:
		return Negotiation{Decision: Reject, Status: netipc.StatusIncompatible}
	case HelloBadReserved:
		return Negotiation{Decision: Reject, Status: netipc.StatusBadEnvelope}
	}
	inter := h.SupportedProfiles & offer.SupportedProfiles
	if inter == 0 {
		return Negotiation{Decision: Reject, Status: netipc.StatusUnsupported}
	}
	if h.AuthToken != offer.AuthToken {
		return Negotiation{Decision: Reject, Status: netipc.StatusAuthFailed}
	}
	if h.MaxRequestPayloadBytes > offer.MaxRequestPayloadBytes {
		return Negotiation{Decision: Reject, Status: netipc.StatusLimitExceeded}
	}
	packet := min(h.PacketSize, offer.PacketSize)
	if packet <= netipc.HeaderLen {
		return Negotiation{Decision: Reject, Status: netipc.StatusIncompatible}
	}
	selected := HighestBit(inter & h.PreferredProfiles & offer.PreferredProfiles)
	if selected == 0 {
		selected = HighestBit(inter)
	}
	return Negotiation{Decision: Accept, Ack: HelloAck{
		ServerSupportedProfiles:       offer.SupportedProfiles,
		IntersectionProfiles:          inter,
		SelectedProfile:               selected,
		AgreedMaxRequestPayloadBytes:  h.MaxRequestPayloadBytes,
		AgreedMaxRequestBatchItems:    h.MaxRequestBatchItems,
		AgreedMaxResponsePayloadBytes: offer.MaxResponsePayloadBytes,
		AgreedMaxResponseBatchItems:   h.MaxRequestBatchItems,
		AgreedPacketSize:              packet,
		SessionID:                     sessionID,
	}}
}
