package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

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

// begin starts a logical call: counts it and fails at once, without I/O,
// when aborted or not READY.
func (c *core) begin(ctx context.Context, cc *callCtx) error {
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
		// Filled in place: a returned callCtx was copied as a block from
		// fields just stored one by one, which stalls.
		*cc = callCtx{retryLeft: true, overflowLeft: MaxOverflowReconnects}
		cc.deadline.SetWithin(c.callTimeout)
		if ctx != nil {
			if d, ok := ctx.Deadline(); ok {
				at := sys.After(c.callTimeout)
				if d.Before(at) {
					at = d
				}
				cc.deadline.SetAt(at)
			}
		}
		return nil
	}
	c.st.Failures++
	return err
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
	var m l1Message
	if err := s.RecvResponseInto(&m, deadline, c.abort); err != nil {
		return out, err
	}
	h := &m.Header
	switch {
	case h.MessageID != id:
		return out, netipc.ViolationUnknownMessageID
	case h.Code != c.cfg.code:
		return out, netipc.ViolationUnexpectedCode
	case h.TransportStatus != netipc.StatusOK:
		// The status comes first: error replies may keep the BATCH flag.
		return out, &netipc.StatusError{Status: h.TransportStatus}
	case h.ItemCount != items || (items > 1 && h.Flags&netipc.FlagBatch == 0):
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
