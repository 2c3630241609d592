package service

import (
	"math/bits"
	"time"

	"netipc.local/netipc"
)

// Named Level 2 defaults. Every zero-valued configuration field resolves
// to one of these; call paths never spell the numbers.
const (
	// DefaultCallTimeout bounds one logical call (all chunks, SHM waits,
	// reconnects and lookup subcalls).
	DefaultCallTimeout = 30 * time.Second
	// DefaultConnectTimeout bounds one connection attempt of Refresh.
	DefaultConnectTimeout = 5 * time.Second
	// ServiceResponsePayloadDefault is the zero-config response payload
	// hint of the typed clients (snapshot and lookup services answer more
	// than 1 KiB at once).
	ServiceResponsePayloadDefault uint32 = 65536
	// MinRequestProposal is the smallest request payload proposal.
	MinRequestProposal uint32 = 16
	// MaxOverflowReconnects bounds the overflow-driven reconnects of one
	// call.
	MaxOverflowReconnects = 8
	// DefaultBatchItems is the batch-item ceiling of clients that use
	// batch calls.
	DefaultBatchItems uint32 = 1000
	// DefaultLookupMaxItems is the default ceiling of keys in one lookup
	// call.
	DefaultLookupMaxItems uint32 = 1 << 20
	// DefaultLookupMaxSubcalls is the default ceiling of Level 1 requests
	// one lookup call may make.
	DefaultLookupMaxSubcalls uint32 = 65536
	// DefaultLookupMaxResponseBytes is the default ceiling of stitched
	// lookup response bytes (256 MiB).
	DefaultLookupMaxResponseBytes uint64 = 256 << 20
	// DefaultDynamicRequestPayload is the request proposal of methods with
	// variable-size requests when none is configured: the zero-config
	// budget every server accepts.
	DefaultDynamicRequestPayload = netipc.MaxPayloadDefault
	// DefaultMaxSessions is the default session limit of a managed server.
	DefaultMaxSessions = 64
	// DefaultMaxPendingHandshakes bounds the handshakes a managed server
	// runs at once.
	DefaultMaxPendingHandshakes = 16
	// DefaultHandshakeTimeout bounds one server-side handshake.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultDrainTimeout bounds the graceful drain of Server.Stop.
	DefaultDrainTimeout = 5 * time.Second
	// DefaultForceCloseGrace is how long Stop waits for sessions after it
	// shut their sockets down at the drain deadline.
	DefaultForceCloseGrace = time.Second
	// AcceptRetryDelay is the acceptor's pause after accept(2) failed.
	AcceptRetryDelay = 50 * time.Millisecond
	// DefaultServerSupportedProfiles: baseline and SHM_HYBRID.
	DefaultServerSupportedProfiles = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	// DefaultServerPreferredProfiles: SHM_HYBRID.
	DefaultServerPreferredProfiles = netipc.ProfileShmHybrid
)

// growPow2 returns the next power of two >= n, at least floor, at most
// ceiling.
func growPow2(n uint64, floor, ceiling uint32) uint32 {
	n = max(n, uint64(floor))
	var p uint64
	if n <= 1 {
		p = 1
	} else if n > 1<<63 {
		p = 1 << 63
	} else {
		p = 1 << bits.Len64(n-1)
	}
	return uint32(min(p, uint64(ceiling)))
}
