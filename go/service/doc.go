// Package service is Level 2 of NetIPC: typed clients and the managed
// server, composed only of the Level 1 transport and the codec.
//
// # Clients
//
// One client context per service kind: IncrementClient, StringReverseClient,
// CgroupsSnapshotClient, CgroupsLookupClient, AppsLookupClient. NewXxxClient
// never connects (the provider may not exist yet); the caller drives all
// connection work with Refresh from its own loop (no background
// goroutines). Ready is a cached atomic predicate cheap enough for hot
// paths; Status is a diagnostic snapshot; Close is final.
//
// States: DISCONNECTED -> (Refresh) -> READY, or NOT_FOUND (nobody
// listens), AUTH_FAILED, INCOMPATIBLE (profile, version, layout or limit
// negotiation failed), BROKEN (a READY session failed, or a call timed out
// or was aborted). A call when not READY fails at once without I/O
// (ErrNotFound, ErrAuthFailed, ErrIncompatible in those states, ErrNotReady
// otherwise).
//
// Calls are at-least-once: a call that fails on a READY client is resent
// once over a new session. Timeouts (ErrTimeout) and aborts (ErrAborted)
// are never retried; they drop the session (BROKEN). Every call is bounded
// by one deadline covering the whole logical call (reconnects, retries and
// lookup subcalls included): ClientConfig.CallTimeout, 30 s by default.
// Each call has a ...Context variant: the context's deadline shortens the
// call deadline and its cancellation aborts the call (the error wraps
// ErrAborted, or ErrTimeout when the context's deadline passed, and
// ctx.Err()). Abort, callable from any goroutine, aborts the
// current and every later call until ClearAbort.
//
// Transport statuses: UNSUPPORTED is returned as a *netipc.StatusError
// (session kept); LIMIT_EXCEEDED triggers overflow recovery (reconnect with
// a doubled response proposal, at most MaxOverflowReconnects times,
// stopping when a reconnect raises nothing); INTERNAL_ERROR, BAD_ENVELOPE
// and other statuses reconnect and resend once. A request larger than the
// agreed request budget grows the request proposal (next power of two) the
// same way. If SHM is selected but cannot be attached, SHM is removed from
// this context's proposals and the connection retried on the baseline.
//
// Variable-size results are views aliasing client storage, valid until the
// next call on the same client; copy what you need longer.
//
// Lookup calls are logical calls: keys are split into requests that fit
// the agreed budgets, PAYLOAD_EXCEEDED suffixes are re-asked and stitched,
// OVERSIZED_ITEM stays a final item outcome, and every subresponse must
// echo its keys and carry the same generation.
//
// # Managed server
//
// NewXxxServer binds the endpoint and starts an acceptor goroutine that
// never reads from peers; each connection gets its own goroutine, which
// runs the handshake under a deadline and then serves the session, up to
// MaxSessions at once. Handlers see decoded requests and fill typed
// answers. Dispatch:
//
//   - success: OK; a real batch is answered by a batch in request order;
//   - a method this server does not serve: UNSUPPORTED, the session stays;
//   - a malformed payload or envelope, or a batch for a method without
//     batches: BAD_ENVELOPE, close;
//   - a handler error or panic (recovered, isolating that session):
//     INTERNAL_ERROR, close;
//   - a request over the session's budgets, a batch over MaxBatchItems, an
//     answer over the response budget: LIMIT_EXCEEDED, close.
//
// The server keeps learned payload budgets per direction (configured, or
// growing from 1 KiB up to 1 MiB in zero-config mode) and offers them in
// every handshake, so a reconnecting client gets the bigger budget. Stop
// (or Close) stops accepting, drains, closes every session and removes the
// socket and every SHM region file.
package service
