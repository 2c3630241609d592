// Package netipc holds what every layer of the NetIPC protocol stack shares:
// the protocol constants (magics, message kinds, flags, transport statuses,
// control opcodes, method codes, profile bits, named payload defaults) and
// the error values.
//
// NetIPC is the local IPC protocol Netdata plugins use to talk to each other
// on one host. This module is a pure-Go implementation (no cgo) organised
// like the reference implementations:
//
//   - package wire: Level 1 framing as pure bytes (outer header, chunk
//     header, batch directory, HELLO / HELLO_ACK and the handshake decision);
//   - package codec: typed encoders, builders and zero-copy views for every
//     method payload (pure bytes, no I/O);
//   - package transport/uds and transport/shm: Level 1 sessions over UDS
//     SOCK_SEQPACKET and the POSIX shared-memory fast path (Linux);
//   - package service: Level 2 typed clients and the managed server;
//   - package cache: Level 3 snapshot caches.
//
// All multi-byte wire fields are in host byte order (NetIPC is localhost
// only). Every byte received from a peer is untrusted: decoders return an
// error and never panic.
//
// # Errors
//
// Every failure kind has a sentinel error that callers test with
// errors.Is: ErrProtocol (with the broken rule carried by a *DecodeError or
// a Violation), ErrTimeout, ErrAborted, ErrPeerClosed, ErrNotFound,
// ErrAddressInUse, ErrAuthFailed, ErrIncompatible, ErrUnsupported,
// ErrLimitExceeded, and a few more. Richer values (*DecodeError,
// Violation, *LimitError, *StatusError) wrap those sentinels and can be
// extracted with errors.As.
package netipc

// MagicMsg is the outer message header magic, "NIPC".
const MagicMsg uint32 = 0x4e495043

// MagicChunk is the chunk continuation header magic, "NCHK".
const MagicChunk uint32 = 0x4e43484b

// MagicShm is the POSIX SHM region header magic, "NSHM".
const MagicShm uint32 = 0x4e53484d

// Version is the envelope version of the outer header and the chunk header.
const Version uint16 = 1

// HeaderLen is the size of the outer message header and of the chunk header.
const HeaderLen = 32

// Message kinds (the outer header's kind field).
const (
	// KindRequest is a client-to-server request.
	KindRequest uint16 = 1
	// KindResponse is a server-to-client response.
	KindResponse uint16 = 2
	// KindControl is a protocol control message (handshake).
	KindControl uint16 = 3
)

// FlagBatch marks a payload that is a batch (directory + packed items).
const FlagBatch uint16 = 0x0001

// Transport statuses: envelope-level outcomes, never business results.
const (
	// StatusOK: the message was processed at envelope level.
	StatusOK uint16 = 0
	// StatusBadEnvelope: malformed header or payload structure.
	StatusBadEnvelope uint16 = 1
	// StatusAuthFailed: the auth token was rejected.
	StatusAuthFailed uint16 = 2
	// StatusIncompatible: version or limit negotiation failed.
	StatusIncompatible uint16 = 3
	// StatusUnsupported: profile or method not supported.
	StatusUnsupported uint16 = 4
	// StatusLimitExceeded: payload or batch count over the negotiated limit.
	StatusLimitExceeded uint16 = 5
	// StatusInternalError: unrecoverable internal error.
	StatusInternalError uint16 = 6
)

// Control opcodes (the code field of CONTROL messages).
const (
	// CodeHello is the client's HELLO.
	CodeHello uint16 = 1
	// CodeHelloAck is the server's HELLO_ACK.
	CodeHelloAck uint16 = 2
)

// Method codes (the code field of REQUEST and RESPONSE messages).
const (
	// MethodIncrement is the u64 ping-pong test method.
	MethodIncrement uint16 = 1
	// MethodCgroupsSnapshot is the full cgroups snapshot.
	MethodCgroupsSnapshot uint16 = 2
	// MethodStringReverse is the string ping-pong test method.
	MethodStringReverse uint16 = 3
	// MethodCgroupsLookup is the ordered cgroup path metadata lookup.
	MethodCgroupsLookup uint16 = 4
	// MethodAppsLookup is the ordered PID/app/cgroup metadata lookup.
	MethodAppsLookup uint16 = 5
)

// Transport profile bits negotiated in the handshake.
const (
	// ProfileBaseline is bit 0: UDS SEQPACKET on POSIX.
	ProfileBaseline uint32 = 0x01
	// ProfileUDSSeqpacket is ProfileBaseline under its POSIX name.
	ProfileUDSSeqpacket = ProfileBaseline
	// ProfileShmHybrid is bit 1: shared memory, spin then futex wait.
	ProfileShmHybrid uint32 = 0x02
	// ProfileShmFutex is bit 2: futex-only shared memory (reserved on POSIX).
	ProfileShmFutex uint32 = 0x04
	// ProfileShmWaitAddr is bit 3 (Windows only).
	ProfileShmWaitAddr uint32 = 0x08
)

// LayoutVersion is the layout version of every payload defined so far.
const LayoutVersion uint16 = 1

// ItemAlign is the alignment of batch items and lookup/snapshot items.
const ItemAlign = 8

// DirEntrySize is the size of one batch or lookup directory entry.
const DirEntrySize = 8

// Named payload defaults (not protocol limits).
const (
	// MaxPayloadDefault is the zero-config single-payload budget in bytes.
	MaxPayloadDefault uint32 = 1024
	// MaxPayloadCap is the zero-config automatic growth ceiling in bytes.
	MaxPayloadCap uint32 = 1048576
)

// StatusName returns the specification name of a transport status, or ""
// if it is not defined.
func StatusName(status uint16) string {
	switch status {
	case StatusOK:
		return "OK"
	case StatusBadEnvelope:
		return "BAD_ENVELOPE"
	case StatusAuthFailed:
		return "AUTH_FAILED"
	case StatusIncompatible:
		return "INCOMPATIBLE"
	case StatusUnsupported:
		return "UNSUPPORTED"
	case StatusLimitExceeded:
		return "LIMIT_EXCEEDED"
	case StatusInternalError:
		return "INTERNAL_ERROR"
	}
	return ""
}

// MethodName returns the specification name of a method code, or "" if it
// is not defined.
func MethodName(code uint16) string {
	switch code {
	case MethodIncrement:
		return "INCREMENT"
	case MethodCgroupsSnapshot:
		return "CGROUPS_SNAPSHOT"
	case MethodStringReverse:
		return "STRING_REVERSE"
	case MethodCgroupsLookup:
		return "CGROUPS_LOOKUP"
	case MethodAppsLookup:
		return "APPS_LOOKUP"
	}
	return ""
}

// KindName returns the specification name of a message kind, or "" if it
// is not defined.
func KindName(kind uint16) string {
	switch kind {
	case KindRequest:
		return "REQUEST"
	case KindResponse:
		return "RESPONSE"
	case KindControl:
		return "CONTROL"
	}
	return ""
}
