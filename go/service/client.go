package service

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
)

// ClientState is the connection state of a Level 2 client context.
type ClientState int32

// Client states.
const (
	// StateDisconnected: no connection; Refresh will try to connect.
	StateDisconnected ClientState = iota
	// StateConnecting: a connection attempt is in progress.
	StateConnecting
	// StateReady: connected and handshaken; calls may proceed.
	StateReady
	// StateNotFound: nobody serves the endpoint.
	StateNotFound
	// StateAuthFailed: the server rejected the auth token.
	StateAuthFailed
	// StateIncompatible: profile, version, layout or limit negotiation
	// failed.
	StateIncompatible
	// StateBroken: a READY session failed (or a call timed out or was
	// aborted); Refresh will reconnect.
	StateBroken
)

var stateNames = [...]string{"DISCONNECTED", "CONNECTING", "READY", "NOT_FOUND", "AUTH_FAILED", "INCOMPATIBLE", "BROKEN"}

// String returns the specification name of the state.
func (s ClientState) String() string {
	if int(s) >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("ClientState(%d)", int32(s))
}

// ClientStatus is a diagnostic snapshot of a client context (for logs,
// not hot paths).
type ClientStatus struct {
	// State is the current state.
	State ClientState
	// Connects counts completed handshakes since creation.
	Connects uint64
	// Reconnects counts connects that replaced an earlier session.
	Reconnects uint64
	// Calls counts logical calls started (including those rejected
	// because the client was not ready).
	Calls uint64
	// Failures counts logical calls that returned an error.
	Failures uint64
	// Retries counts at-least-once resends after a reconnect.
	Retries uint64
	// OverflowReconnects counts reconnects made to grow budgets.
	OverflowReconnects uint64
	// ShmFallbacks counts SHM attach failures (each followed by a
	// baseline reconnect).
	ShmFallbacks uint64
	// ShmDisabled says SHM was removed from the proposals after an attach
	// failure (until Close).
	ShmDisabled bool
	// ShmAttached says the current session runs over shared memory.
	ShmAttached bool
	// SelectedProfile is the profile of the current session (0 if none).
	SelectedProfile uint32
	// RequestPayloadBytes is the agreed request budget (0 if none).
	RequestPayloadBytes uint32
	// ResponsePayloadBytes is the agreed response budget (0 if none).
	ResponsePayloadBytes uint32
	// BatchItems is the agreed batch-item limit (0 if none).
	BatchItems uint32
	// SessionID is the server-assigned session id (0 if none).
	SessionID uint64
}

// core is the client core every typed client wraps: the connection state
// machine, Refresh, the bounded exchange with at-least-once retry,
// overflow-driven budget growth, timeouts, abort and the SHM fallback.
type core struct {
	ep            transport.Endpoint
	cfg           resolved
	session       *l1ClientSession
	state         atomic.Int32
	everConnected bool
	abort         *transport.Abort
	abortMu       sync.Mutex
	userAbort     bool
	// userAborted mirrors userAbort (written under abortMu) for the
	// lock-free check at the start of every call.
	userAborted     atomic.Bool
	requestProposal uint32
	responseHint    uint32
	shmDisabled     bool
	callTimeout     time.Duration
	st              ClientStatus // counters only
	closed          bool
}

func newCore(runDir, service string, cfg ClientConfig, s schema) (*core, error) {
	ep, err := transport.NewEndpoint(runDir, service)
	if err != nil {
		return nil, err
	}
	r, err := cfg.resolve(s)
	if err != nil {
		return nil, err
	}
	a, err := transport.NewAbort()
	if err != nil {
		return nil, err
	}
	return &core{ep: ep, cfg: r, abort: a, requestProposal: r.requestProposal,
		responseHint: r.responseHint, callTimeout: r.callTimeout}, nil
}

func (c *core) state_() ClientState { return ClientState(c.state.Load()) }

func (c *core) setState(s ClientState) { c.state.Store(int32(s)) }

func (c *core) ready() bool { return c.state_() == StateReady }

func (c *core) status() ClientStatus {
	s := c.st
	s.State = c.state_()
	s.ShmDisabled = c.shmDisabled
	if c.session != nil {
		a := c.session.HelloAck()
		s.ShmAttached = c.session.IsShm()
		s.SelectedProfile = a.SelectedProfile
		s.RequestPayloadBytes = a.AgreedMaxRequestPayloadBytes
		s.ResponsePayloadBytes = a.AgreedMaxResponsePayloadBytes
		s.BatchItems = a.AgreedMaxRequestBatchItems
		s.SessionID = a.SessionID
	}
	return s
}

// close ends the context for good: the session is closed and the abort
// eventfd released; later calls fail with netipc.ErrClosed.
func (c *core) close() error {
	if c.closed {
		return nil
	}
	c.dropSession(StateDisconnected)
	// Under abortMu: a context's AfterFunc may still be reading closed.
	c.abortMu.Lock()
	defer c.abortMu.Unlock()
	c.closed = true
	c.userAbort = false
	c.userAborted.Store(false)
	return c.abort.Close()
}

func (c *core) disconnect() {
	if c.session != nil {
		c.dropSession(StateBroken)
	}
}

func (c *core) dropSession(s ClientState) {
	if c.session != nil {
		_ = c.session.Close()
		c.session = nil
	}
	c.setState(s)
}

func (c *core) install(s *l1ClientSession) {
	c.session = s
	c.st.Connects++
	if c.everConnected {
		c.st.Reconnects++
	}
	c.everConnected = true
	c.setState(StateReady)
}

func (c *core) failedState(err error) ClientState {
	st, isStatus := statusOf(err)
	switch {
	case errors.Is(err, netipc.ErrNotFound):
		return StateNotFound
	case errors.Is(err, netipc.ErrAuthFailed):
		return StateAuthFailed
	case isStatus && st != netipc.StatusOK,
		errors.Is(err, netipc.ErrIncompatible), errors.Is(err, netipc.ErrUnsupported),
		errors.Is(err, netipc.ErrLimitExceeded), errors.Is(err, netipc.ErrInvalidArgument),
		errors.Is(err, netipc.ViolationHandshake):
		return StateIncompatible
	case c.everConnected:
		return StateBroken
	}
	var de *netipc.DecodeError
	if errors.As(err, &de) {
		return StateIncompatible
	}
	return StateDisconnected
}

func (c *core) l1Config() l1ClientConfig {
	mask := ^uint32(0)
	if c.shmDisabled {
		mask = ^uint32(shmProfiles)
	}
	preferred := c.cfg.preferred & mask & c.cfg.supported
	if preferred == 0 {
		preferred = c.cfg.supported & mask
	}
	return l1ClientConfig{
		SupportedProfiles: c.cfg.supported & mask, PreferredProfiles: preferred,
		MaxRequestPayloadBytes: c.requestProposal, MaxRequestBatchItems: c.cfg.batchItems,
		MaxResponsePayloadBytes: c.responseHint, MaxResponseBatchItems: c.cfg.batchItems,
		ResponsePayloadCap: c.cfg.cap, AuthToken: c.cfg.authToken, PacketSize: c.cfg.packetSize,
		MaxInFlight: 1, Shm: c.cfg.shm,
	}
}

func isHandshakeLimit(err error) bool {
	st, ok := statusOf(err)
	return ok && st == netipc.StatusLimitExceeded
}

// establish connects and handshakes: SHM that cannot be attached is
// disabled for this context and the connection retried at once on the
// baseline; a LIMIT_EXCEEDED handshake with shrink halves the request
// proposal (down to the method's smallest request) and retries; a server
// that completes the handshake and hangs up at once is a failed connect.
func (c *core) establish(deadline time.Time, shrink bool) (*l1ClientSession, error) {
	for {
		s, err := l1Connect(c.ep, c.l1Config(), deadline, c.abort)
		switch {
		case err == nil && peerGone(s):
			_ = s.Close()
			return nil, fmt.Errorf("%w (closed right after the handshake)", netipc.ErrPeerClosed)
		case err == nil:
			return s, nil
		case (errors.Is(err, netipc.ErrShmAttach) || errors.Is(err, netipc.ErrShmNotReady)) && !c.shmDisabled:
			c.shmDisabled = true
			c.st.ShmFallbacks++
		case shrink && isHandshakeLimit(err) && c.requestProposal > c.cfg.requestBase:
			c.requestProposal = max(c.requestProposal/2, c.cfg.requestBase)
		default:
			return nil, err
		}
	}
}

// refresh does connection work and reports whether the state changed.
func (c *core) refresh() bool {
	before := c.state_()
	changed := false
	if before == StateReady {
		if c.session != nil && !c.session.IsBroken() && !peerGone(c.session) {
			return false
		}
		c.dropSession(StateBroken)
		changed = true
	}
	if c.closed || c.aborted() {
		return changed
	}
	c.setState(StateConnecting)
	s, err := c.establish(time.Now().Add(c.cfg.connectTimeout), true)
	if err != nil {
		c.setState(c.failedState(err))
	} else {
		c.install(s)
	}
	return changed || c.state_() != before
}

// clientCommon holds the lifecycle methods every typed client shares.
type clientCommon struct {
	c *core
}

// Refresh does connection work from the caller's own loop: connects when
// not READY, reconnects a broken session, and checks a READY session for a
// hang-up with one zero-timeout poll. It returns whether the state
// changed and never blocks longer than the connect timeout. There are no
// background goroutines.
func (x clientCommon) Refresh() bool { return x.c.refresh() }

// Ready reports whether the client is READY (an atomic load, no syscall;
// safe from any goroutine).
func (x clientCommon) Ready() bool { return x.c.ready() }

// State returns the current connection state (safe from any goroutine).
func (x clientCommon) State() ClientState { return x.c.state_() }

// Status returns a diagnostic snapshot (call it from the goroutine that
// uses the client).
func (x clientCommon) Status() ClientStatus { return x.c.status() }

// Abort aborts the current and every later call from any goroutine. It is
// sticky until ClearAbort or Close; aborted calls return
// netipc.ErrAborted and are not retried.
func (x clientCommon) Abort() { x.c.triggerAbort() }

// ClearAbort clears a triggered Abort.
func (x clientCommon) ClearAbort() { x.c.clearAbort() }

// SetCallTimeout sets the timeout of every later logical call; 0 restores
// the configured default.
func (x clientCommon) SetCallTimeout(d time.Duration) {
	x.c.callTimeout = nzDur(d, x.c.cfg.callTimeout)
}

// Disconnect drops the current session (state BROKEN) without resetting
// learned proposals; the next Refresh reconnects.
func (x clientCommon) Disconnect() { x.c.disconnect() }

// Endpoint returns the endpoint this client targets.
func (x clientCommon) Endpoint() transport.Endpoint { return x.c.ep }

// Close closes the session and releases the context's resources; it is
// final (later calls fail with netipc.ErrClosed). Views returned earlier
// become invalid. Like every call, it must not run concurrently with
// another call on the same client: Abort a blocked call from another
// goroutine first.
func (x clientCommon) Close() error { return x.c.close() }
