package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// ClientConfig configures one Level 2 client context. Zero-valued fields
// resolve to the named defaults of this package, so a small system can
// choose small buffers and a large one larger buffers.
type ClientConfig struct {
	// AuthToken is presented in the handshake.
	AuthToken uint64
	// SupportedProfiles: 0 = every profile this implementation runs
	// (baseline and SHM_HYBRID).
	SupportedProfiles uint32
	// PreferredProfiles: 0 = SHM_HYBRID.
	PreferredProfiles uint32
	// RequestPayloadBytes is the request payload proposal; 0 = derived
	// from the method schema (the next power of two of a full batch of
	// fixed-size items, or DefaultDynamicRequestPayload for variable-size
	// requests). Never below the method's smallest request.
	RequestPayloadBytes uint32
	// ResponsePayloadBytes is the response payload hint; 0 = the method
	// default. Overflow recovery doubles it.
	ResponsePayloadBytes uint32
	// MaxPayloadBytes caps automatic growth in both directions and is the
	// largest response budget accepted from a server; 0 =
	// netipc.MaxPayloadCap.
	MaxPayloadBytes uint32
	// BatchItems is the intended batch size of batch calls; 0 =
	// DefaultBatchItems (ignored by non-batch methods).
	BatchItems uint32
	// CallTimeout bounds one logical call; 0 = DefaultCallTimeout.
	CallTimeout time.Duration
	// ConnectTimeout bounds one connection attempt; 0 =
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// LookupMaxItems caps the keys of one lookup call; 0 =
	// DefaultLookupMaxItems.
	LookupMaxItems uint32
	// LookupMaxSubcalls caps the Level 1 requests of one lookup call; 0 =
	// DefaultLookupMaxSubcalls.
	LookupMaxSubcalls uint32
	// LookupMaxResponseBytes caps the stitched bytes of one lookup result;
	// 0 = DefaultLookupMaxResponseBytes.
	LookupMaxResponseBytes uint64
	// PacketSize is the packet size to propose; 0 = automatic.
	PacketSize uint32
	// Shm holds the SHM data plane options.
	Shm shmConfig
}

// schema says how a method's requests are sized (library logic, not
// configuration).
type schema struct {
	code            uint16
	batch           bool
	minRequest      int
	fixedItem       int // 0: variable-size requests
	responseDefault uint32
}

func fixedSchema(code uint16, request int) schema {
	return schema{code: code, minRequest: request, fixedItem: request, responseDefault: ServiceResponsePayloadDefault}
}

func dynamicSchema(code uint16, minRequest int) schema {
	return schema{code: code, minRequest: minRequest, responseDefault: ServiceResponsePayloadDefault}
}

func (s schema) withBatch() schema { s.batch = true; return s }

// resolved is a configuration resolved against a method schema.
type resolved struct {
	code                   uint16
	authToken              uint64
	supported, preferred   uint32
	requestBase            uint32
	requestProposal        uint32
	responseHint           uint32
	cap                    uint32
	batchItems             uint32
	callTimeout            time.Duration
	connectTimeout         time.Duration
	lookupMaxItems         uint32
	lookupMaxSubcalls      uint32
	lookupMaxResponseBytes uint64
	packetSize             uint32
	shm                    shmConfig
}

func nz32(v, d uint32) uint32 {
	if v == 0 {
		return d
	}
	return v
}

func nz64(v, d uint64) uint64 {
	if v == 0 {
		return d
	}
	return v
}

func nzDur(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

func (c ClientConfig) resolve(s schema) (resolved, error) {
	supported := nz32(c.SupportedProfiles, implementedProfiles)
	if supported&^implementedProfiles != 0 {
		return resolved{}, &netipc.ArgError{Reason: "supported profiles include one this implementation lacks"}
	}
	batch := uint32(1)
	if s.batch {
		batch = nz32(c.BatchItems, DefaultBatchItems)
	}
	base := growPow2(uint64(s.minRequest), MinRequestProposal, 0xFFFFFFFF)
	ceiling := nz32(c.MaxPayloadBytes, netipc.MaxPayloadCap)
	var proposal uint32
	switch {
	case c.RequestPayloadBytes != 0:
		proposal = max(c.RequestPayloadBytes, base)
	case s.fixedItem != 0 && batch > 1:
		per := uint64(netipc.DirEntrySize + (s.fixedItem+7)&^7)
		proposal = growPow2(uint64(batch)*per, MinRequestProposal, max(ceiling, base))
	case s.fixedItem != 0:
		proposal = base
	default:
		proposal = max(DefaultDynamicRequestPayload, base)
	}
	hint := c.ResponsePayloadBytes
	if hint == 0 {
		hint = s.responseDefault
		if s.fixedItem != 0 {
			hint = max(hint, proposal)
		}
	}
	ceiling = max(ceiling, proposal, hint)
	return resolved{
		code: s.code, authToken: c.AuthToken, supported: supported,
		preferred:   nz32(c.PreferredProfiles, netipc.ProfileShmHybrid),
		requestBase: base, requestProposal: proposal, responseHint: hint, cap: ceiling, batchItems: batch,
		callTimeout:            nzDur(c.CallTimeout, DefaultCallTimeout),
		connectTimeout:         nzDur(c.ConnectTimeout, DefaultConnectTimeout),
		lookupMaxItems:         nz32(c.LookupMaxItems, DefaultLookupMaxItems),
		lookupMaxSubcalls:      nz32(c.LookupMaxSubcalls, DefaultLookupMaxSubcalls),
		lookupMaxResponseBytes: nz64(c.LookupMaxResponseBytes, DefaultLookupMaxResponseBytes),
		packetSize:             c.PacketSize, shm: c.Shm,
	}, nil
}

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

// callCtx is the budget of one logical call.
type callCtx struct {
	// deadline ends the logical call; a plain call's is pending until a
	// layer needs it (see transport.Deadline).
	deadline     transport.Deadline
	retryLeft    bool
	overflowLeft int
	// alias: the exchange returns the response payload in the session's
	// receive buffer (valid until the next exchange) instead of copying it
	// into out; a batch response's validated directory is then left in
	// batch.
	alias bool
	batch wire.BatchView
}

// errClass says how a failed exchange is handled.
type errClass uint8

const (
	classTerminal errClass = iota // return, keep the session
	classFatal                    // return, drop the session, never retry
	classOverflow                 // grow budgets and reconnect
	classRetry                    // drop, reconnect and resend once
)

func statusOf(err error) (uint16, bool) {
	var se *netipc.StatusError
	if errors.As(err, &se) {
		return se.Status, true
	}
	return 0, false
}

func classify(err error, broken bool) errClass {
	switch st, isStatus := statusOf(err); {
	case errors.Is(err, netipc.ErrTimeout) || errors.Is(err, netipc.ErrAborted):
		return classFatal
	case isStatus && st == netipc.StatusLimitExceeded:
		return classOverflow
	case broken:
		return classRetry
	case isStatus && st == netipc.StatusUnsupported,
		errors.Is(err, netipc.ErrInvalidArgument),
		errors.Is(err, netipc.ErrLimitExceeded),
		errors.Is(err, netipc.ViolationItemCountMismatch):
		return classTerminal
	}
	return classRetry
}

var errNotReady = fmt.Errorf("%w; call Refresh", netipc.ErrNotReady)

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

// triggerAbort fires the sticky user abort.
func (c *core) triggerAbort() {
	c.abortMu.Lock()
	if !c.closed {
		c.userAbort = true
		c.userAborted.Store(true)
		c.abort.Trigger()
	}
	c.abortMu.Unlock()
}

// clearAbort clears the user abort.
func (c *core) clearAbort() {
	c.abortMu.Lock()
	if !c.closed {
		c.userAbort = false
		c.userAborted.Store(false)
		c.abort.Clear()
	}
	c.abortMu.Unlock()
}

func (c *core) aborted() bool { return c.userAborted.Load() }

// watch arms ctx cancellation to fire the abort for the duration of one
// call; the returned function disarms it (clearing an abort that only the
// context fired).
func (c *core) watch(ctx context.Context) func() {
	if ctx == nil || ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() {
		c.abortMu.Lock()
		if !c.closed {
			c.abort.Trigger()
		}
		c.abortMu.Unlock()
	})
	return func() {
		stop()
		c.abortMu.Lock()
		if !c.userAbort && !c.closed {
			c.abort.Clear()
		}
		c.abortMu.Unlock()
	}
}

// ctxErr decorates a call error with the context's cause.
func ctxErr(ctx context.Context, err error) error {
	if err == nil || ctx == nil {
		return err
	}
	if ctx.Err() == nil {
		// The call's deadline may be the context's, reached just before
		// the context's own timer fired.
		if d, ok := ctx.Deadline(); ok && errors.Is(err, netipc.ErrTimeout) && !time.Now().Before(d) {
			return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
		return err
	}
	if errors.Is(err, netipc.ErrAborted) || errors.Is(err, netipc.ErrTimeout) {
		return ctxCause(ctx)
	}
	return err
}

// ctxCause is the error of a call ended by its context: ErrTimeout when
// the context's deadline passed, ErrAborted when it was cancelled, both
// wrapping ctx.Err().
func ctxCause(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w)", netipc.ErrTimeout, ctx.Err())
	}
	return fmt.Errorf("%w (%w)", netipc.ErrAborted, ctx.Err())
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

// begin starts a logical call: counts it and fails at once, without I/O,
// when aborted or not READY.
func (c *core) begin(ctx context.Context) (callCtx, error) {
	c.st.Calls++
	var err error
	switch {
	case c.closed:
		err = netipc.ErrClosed
	case c.aborted():
		err = netipc.ErrAborted
	case ctx != nil && ctx.Err() != nil:
		err = ctxCause(ctx)
	case !c.ready():
		switch c.state_() {
		case StateNotFound:
			err = netipc.ErrNotFound
		case StateAuthFailed:
			err = netipc.ErrAuthFailed
		case StateIncompatible:
			err = netipc.ErrIncompatible
		default:
			err = errNotReady
		}
	default:
		deadline := transport.Within(c.callTimeout)
		if ctx != nil {
			if d, ok := ctx.Deadline(); ok {
				at := sys.After(c.callTimeout)
				if d.Before(at) {
					at = d
				}
				deadline = transport.DeadlineAt(at)
			}
		}
		return callCtx{deadline: deadline, retryLeft: true, overflowLeft: MaxOverflowReconnects}, nil
	}
	c.st.Failures++
	return callCtx{}, err
}

// finish counts a failed logical call.
func (c *core) finish(err error) error {
	if err != nil {
		c.st.Failures++
	}
	return err
}

func (c *core) limits() (wire.Limits, wire.Limits, error) {
	if c.session == nil {
		return wire.Limits{}, wire.Limits{}, errNotReady
	}
	return c.session.RequestLimits(), c.session.ResponseLimits(), nil
}

// attempt makes one request/response on the session and copies the
// response payload into out (or, with cc.alias, returns it in place and
// its batch view in cc.batch).
func (c *core) attempt(cc *callCtx, payload []byte, items uint32, out []byte) ([]byte, error) {
	deadline := &cc.deadline
	s := c.session
	if !s.IsShm() { // SHM publications never wait
		s.SetSendTimeout(max(time.Until(deadline.Time()), time.Nanosecond))
	}
	id := s.NextMessageID()
	var err error
	if items > 1 {
		h := wire.Header{Kind: netipc.KindRequest, Flags: netipc.FlagBatch, Code: c.cfg.code,
			PayloadLen: uint32(len(payload)), ItemCount: items, MessageID: id}
		err = s.SendMessage(h, payload)
	} else {
		err = s.SendRequest(c.cfg.code, id, payload)
	}
	if err != nil {
		return out, err
	}
	m, err := s.RecvResponseWithin(deadline, c.abort)
	if err != nil {
		return out, err
	}
	h := m.Header
	switch {
	case h.MessageID != id:
		return out, netipc.ViolationUnknownMessageID
	case h.Code != c.cfg.code:
		return out, netipc.ViolationUnexpectedCode
	case h.TransportStatus != netipc.StatusOK:
		// The status comes first: error replies may keep the BATCH flag.
		return out, &netipc.StatusError{Status: h.TransportStatus}
	case h.ItemCount != items || (items > 1 && !h.IsBatchFlagged()):
		return out, netipc.ViolationItemCountMismatch
	}
	if cc.alias {
		// items > 1 here means a BATCH response of items items: the
		// session validated its directory on receipt.
		cc.batch = m.Batch()
		return m.Payload, nil
	}
	return append(out[:0], m.Payload...), nil
}

// exchange runs one request/response with the full recovery policy and
// returns the response payload copied into out.
func (c *core) exchange(cc *callCtx, payload []byte, items uint32, out []byte) ([]byte, error) {
	for {
		if c.session == nil {
			return out, errNotReady
		}
		req := c.session.RequestLimits()
		if uint64(len(payload)) > uint64(req.MaxPayload) {
			if err := c.growRequest(cc, len(payload)); err != nil {
				return out, err
			}
			continue
		}
		if items > req.MaxItems {
			return out, &netipc.LimitError{Limit: netipc.LimitRequestItems, Max: uint64(req.MaxItems), Actual: uint64(items)}
		}
		res, err := c.attempt(cc, payload, items, out)
		if err == nil {
			return res, nil
		}
		broken := c.session == nil || c.session.IsBroken()
		switch classify(err, broken) {
		case classTerminal:
			return out, err
		case classFatal:
			c.dropSession(StateBroken)
			return out, err
		case classOverflow:
			if err := c.overflow(cc, err); err != nil {
				return out, err
			}
		case classRetry:
			if err := c.retry(cc, err); err != nil {
				return out, err
			}
		}
	}
}

func (c *core) reconnect(cc *callCtx) error {
	c.dropSession(StateConnecting)
	s, err := c.establish(cc.deadline.Time(), true)
	if err != nil {
		c.setState(c.failedState(err))
		return err
	}
	c.install(s)
	return nil
}

// retry: at-least-once resend over a new session, once per call.
func (c *core) retry(cc *callCtx, err error) error {
	c.dropSession(StateBroken)
	if !cc.retryLeft {
		return err
	}
	cc.retryLeft = false
	c.st.Retries++
	return c.reconnect(cc)
}

// overflow doubles the response hint, reconnects and checks that the new
// session agreed to more; it returns err when the overflow budget is spent
// or the reconnect raised nothing (the new session is kept either way).
func (c *core) overflow(cc *callCtx, err error) error {
	oldReq, oldResp, haveOld := c.limitsOK()
	grow := cc.overflowLeft > 0
	if grow {
		cc.overflowLeft--
		c.st.OverflowReconnects++
		hint := uint64(max(c.responseHint, oldResp.MaxPayload)) * 2
		c.responseHint = uint32(min(hint, uint64(c.cfg.cap)))
	}
	if e := c.reconnect(cc); e != nil {
		return e
	}
	if !grow {
		return err
	}
	newReq, newResp, ok := c.limitsOK()
	if haveOld && ok && newReq.MaxPayload <= oldReq.MaxPayload && newResp.MaxPayload <= oldResp.MaxPayload {
		return err
	}
	return nil
}

func (c *core) limitsOK() (wire.Limits, wire.Limits, bool) {
	q, r, err := c.limits()
	return q, r, err == nil
}

// responseOverflowError is reported when a lookup response cannot hold
// even its first item and recovery is over.
func (c *core) responseOverflowError() error {
	_, r, _ := c.limits()
	return &netipc.LimitError{Limit: netipc.LimitResponsePayload, Max: uint64(r.MaxPayload), Actual: uint64(r.MaxPayload) + 1}
}

// growRequest reconnects proposing the next power of two of n. A server
// that rejects the larger proposal gets the previous one again and the
// call fails with ErrLimitExceeded (the client stays READY).
func (c *core) growRequest(cc *callCtx, n int) error {
	req, _, _ := c.limitsOK()
	tooBig := func(m uint32) error {
		return &netipc.LimitError{Limit: netipc.LimitRequestPayload, Max: uint64(m), Actual: uint64(n)}
	}
	if uint64(n) > uint64(c.cfg.cap) {
		return tooBig(c.cfg.cap)
	}
	if cc.overflowLeft == 0 {
		return tooBig(req.MaxPayload)
	}
	cc.overflowLeft--
	c.st.OverflowReconnects++
	previous := c.requestProposal
	c.requestProposal = growPow2(uint64(n), MinRequestProposal, c.cfg.cap)
	c.dropSession(StateConnecting)
	s, err := c.establish(cc.deadline.Time(), false)
	if isHandshakeLimit(err) {
		// Learning servers accept the same proposal on the next handshake.
		s, err = c.establish(cc.deadline.Time(), false)
	}
	switch {
	case err == nil:
		c.install(s)
		return nil
	case isHandshakeLimit(err):
		c.requestProposal = previous
		if e := c.reconnect(cc); e != nil {
			return e
		}
		return tooBig(req.MaxPayload)
	default:
		c.setState(c.failedState(err))
		return err
	}
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
