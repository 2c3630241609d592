package service

import (
	"errors"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// itemCtx is what a service sees of the session while answering one item.
type itemCtx struct {
	responseBudget uint32   // the session's agreed response budget
	responseMax    uint32   // the server's largest response budget
	learnResponse  bool     // grow the learned response budget after this request
	values         []uint64 // scratch of batch services that decode all values first
}

// faultKind says why an item could not be answered; every fault ends the
// session.
type faultKind uint8

const (
	faultNone             faultKind = iota
	faultMalformed                  // BAD_ENVELOPE
	faultHandler                    // INTERNAL_ERROR
	faultPanicked                   // INTERNAL_ERROR
	faultResponseTooLarge           // LIMIT_EXCEEDED, grow the learned response budget
	faultTooManyItems               // LIMIT_EXCEEDED
)

type fault struct {
	kind   faultKind
	needed uint64
}

func (f fault) status() uint16 {
	switch f.kind {
	case faultMalformed:
		return netipc.StatusBadEnvelope
	case faultHandler, faultPanicked:
		return netipc.StatusInternalError
	}
	return netipc.StatusLimitExceeded
}

// handlerFault maps a handler's error: one wrapping ErrLimitExceeded (an
// answer over the server's largest budget) is LIMIT_EXCEEDED, anything
// else INTERNAL_ERROR.
func handlerFault(err error, ic *itemCtx) fault {
	if errors.Is(err, netipc.ErrLimitExceeded) {
		return fault{kind: faultResponseTooLarge, needed: uint64(ic.responseMax) + 1}
	}
	return fault{kind: faultHandler}
}

// service is one service kind: it makes per-session item handlers that
// decode an item, run the typed handler and encode the answer into
// session-owned storage.
type service interface {
	kind() ServiceKind
	batchable() bool
	// session makes the item handler of one session. A panic of the
	// typed handler unwinds out of it: to the recover serve defers once per
	// session, not per item (the fault is faultPanicked, and the session
	// ends: its state is never used again), or to the caller of
	// LocalDispatcher.Dispatch.
	session(ic *itemCtx) func(item []byte) ([]byte, fault)
}

func (s *Server) recordFault(f fault, responseBudget uint32) {
	switch f.kind {
	case faultMalformed:
		s.stats.badEnvelope.Add(1)
	case faultHandler:
		s.stats.handlerFail.Add(1)
	case faultPanicked:
		s.stats.panics.Add(1)
	case faultResponseTooLarge:
		s.stats.limit.Add(1)
		s.response.grow(responseBudget, f.needed)
	case faultTooManyItems:
		s.stats.limit.Add(1)
	}
}

// serve answers the requests of one established session until it ends.
func (s *Server) serve(sess *l1ServerSession) {
	responseBudget := sess.ResponseLimits().MaxPayload
	requestBudget := sess.RequestLimits().MaxPayload
	// UDS sessions block in one plain recv (the hot path); Stop wakes them
	// by shutting their socket's read side. SHM sessions also watch the
	// drain abort between futex wait slices.
	var abort *transport.Abort
	if sess.IsShm() {
		abort = s.drainAbort
	}
	ic := &itemCtx{responseBudget: responseBudget, responseMax: s.response.max}
	handle := s.svc.session(ic)
	method := s.kind.Method()
	var tx []byte
	var last wire.Header
	haveLast := false
	// A panic while answering the request last (answering): INTERNAL_ERROR,
	// and the session ends (one deferred recover per session, none per
	// request).
	answering := false
	defer func() {
		if recover() != nil {
			s.recordFault(fault{kind: faultPanicked}, responseBudget)
			if answering {
				_ = sess.SendError(last.Code, last.MessageID, fault{kind: faultPanicked}.status())
			}
		}
	}()
	var m l1Message
	for {
		if err := sess.RecvRequestInto(&m, time.Time{}, abort); err != nil {
			s.endOnRecvError(sess, err, requestBudget, last, haveLast)
			return
		}
		h := &m.Header
		last, haveLast = *h, true
		s.stats.requests.Add(1)
		if h.Code != method {
			s.stats.unsupported.Add(1)
			if sess.SendError(h.Code, h.MessageID, netipc.StatusUnsupported) != nil {
				return
			}
			continue
		}
		ic.learnResponse = false
		var out []byte
		var f fault
		answering = true
		if !m.IsBatch() {
			out, f = handle(m.Payload)
			if f.kind == faultNone && uint64(len(out)) > uint64(responseBudget) {
				f = fault{kind: faultResponseTooLarge, needed: uint64(len(out))}
			}
		} else {
			tx, f = s.dispatchBatch(handle, &m, ic, tx)
			out = tx
		}
		answering = false
		if ic.learnResponse {
			s.response.grow(responseBudget, 0)
		}
		if f.kind != faultNone {
			s.recordFault(f, responseBudget)
			// Terminal: answer, then close the session.
			_ = sess.SendError(h.Code, h.MessageID, f.status())
			return
		}
		var err error
		if m.IsBatch() {
			rh := wire.Header{Kind: netipc.KindResponse, Flags: netipc.FlagBatch, Code: h.Code,
				PayloadLen: uint32(len(out)), ItemCount: h.ItemCount, MessageID: h.MessageID}
			err = sess.SendMessage(rh, out)
		} else {
			err = sess.SendResponse(h.Code, h.MessageID, out)
		}
		if err != nil {
			return
		}
	}
}

// dispatchBatch answers every item of a batch in request order into tx,
// failing the whole batch on the first item that fails.
func (s *Server) dispatchBatch(handle func([]byte) ([]byte, fault), m *l1Message, ic *itemCtx, tx []byte) ([]byte, fault) {
	if !s.svc.batchable() {
		return tx, fault{kind: faultMalformed}
	}
	count := m.ItemCount()
	if s.maxBatchItems != 0 && uint64(count) > uint64(s.maxBatchItems) {
		return tx, fault{kind: faultTooManyItems}
	}
	budget := uint64(ic.responseBudget)
	size := uint64(count) * netipc.DirEntrySize
	if size > budget {
		return tx, fault{kind: faultResponseTooLarge, needed: size}
	}
	switch svc := s.svc.(type) {
	case incrementService:
		return svc.batch(m.Batch(), ic, tx)
	case incrementBatchService:
		return svc.batch(m.Batch(), ic, tx)
	}
	return batchItems(handle, m.Batch(), ic, tx)
}

// batchItems answers the items of v one by one with handle (the directory
// within the response budget).
func batchItems(handle func([]byte) ([]byte, fault), v wire.BatchView, ic *itemCtx, tx []byte) ([]byte, fault) {
	count := v.Len()
	budget := uint64(ic.responseBudget)
	size := uint64(count) * netipc.DirEntrySize
	var b wire.BatchBuilder
	b.Reset(tx[:0], uint32(count))
	for i := 0; i < count; i++ {
		it, _ := v.Item(i)
		out, f := handle(it)
		if f.kind != faultNone {
			return tx, f
		}
		size = (size+7)&^7 + uint64(len(out))
		if size > budget {
			return tx, fault{kind: faultResponseTooLarge, needed: size}
		}
		if err := b.Add(out); err != nil {
			return tx, fault{kind: faultHandler}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return tx, fault{kind: faultHandler}
	}
	if uint64(len(out)) > budget {
		return out, fault{kind: faultResponseTooLarge, needed: uint64(len(out))}
	}
	return out, fault{}
}

// endOnRecvError answers the request that broke the session when its
// header decoded (over budget: LIMIT_EXCEEDED; malformed: BAD_ENVELOPE)
// and learns from an oversized request.
func (s *Server) endOnRecvError(sess *l1ServerSession, err error, requestBudget uint32, last wire.Header, haveLast bool) {
	var status uint16
	var le *netipc.LimitError
	switch {
	case errors.As(err, &le):
		if le.Limit == netipc.LimitRequestPayload {
			s.request.grow(requestBudget, le.Actual)
		}
		s.stats.limit.Add(1)
		status = netipc.StatusLimitExceeded
	case errors.Is(err, netipc.ErrProtocol):
		s.stats.badEnvelope.Add(1)
		status = netipc.StatusBadEnvelope
	default:
		return
	}
	// Only this failed message's header may be answered, not the previous
	// request's.
	if h, ok := sess.LastRequestHeader(); !ok || (haveLast && h == last) {
		return
	}
	_ = sess.SendFinalError(status)
}

// ----- typed services --------------------------------------------------

type incrementService struct {
	h func(uint64) (uint64, error)
}

func (incrementService) kind() ServiceKind { return KindIncrement }
func (incrementService) batchable() bool   { return true }
func (s incrementService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var buf [codec.IncrementPayloadSize]byte
	return func(item []byte) ([]byte, fault) {
		v, err := codec.DecodeIncrement(item)
		if err != nil {
			return nil, fault{kind: faultMalformed}
		}
		r, err := s.h(v)
		if err != nil {
			return nil, handlerFault(err, ic)
		}
		buf = codec.EncodeIncrement(r)
		return buf[:], fault{}
	}
}

// batch answers a batch of INCREMENT requests (the directory within the
// response budget) into tx in one pass, with the outcome of the
// item-by-item path (batchItems with the session's handler): the first
// item that fails fails the batch with its fault, a panic unwinds as it
// would from that item, an answer past the budget is
// faultResponseTooLarge with the size reached.
func (s incrementService) batch(v wire.BatchView, ic *itemCtx, tx []byte) ([]byte, fault) {
	count := v.Len()
	out, area, err := wire.AppendUniformBatch(tx[:0], uint32(count), codec.IncrementPayloadSize)
	if err != nil {
		return tx, fault{kind: faultHandler}
	}
	dir, items := v.Parts()
	answers := out[area:]
	// Answers are 8 bytes each after the directory (which fits): the
	// first fit of them keep the response within the budget, and the item
	// after them fails the batch once its handler ran.
	end, tooLarge := count, false
	if fit := int(uint64(ic.responseBudget)/codec.IncrementPayloadSize) - count; fit < count {
		end, tooLarge = fit+1, true
	}
	h := s.h
	// Indexed with full slice expressions: no pointer adjustment of a
	// resliced tail.
	for i := range end {
		at, ans := i*netipc.DirEntrySize, i*codec.IncrementPayloadSize
		if at+netipc.DirEntrySize > len(dir) || ans+codec.IncrementPayloadSize > len(answers) {
			break // cannot happen: both hold count >= end entries
		}
		e := dir[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
		off, n := uint64(ne.Uint32(e[:4])), ne.Uint32(e[4:])
		if n != codec.IncrementPayloadSize || off+codec.IncrementPayloadSize > uint64(len(items)) {
			return tx, fault{kind: faultMalformed}
		}
		r, err := h(ne.Uint64(items[off : off+codec.IncrementPayloadSize : off+codec.IncrementPayloadSize]))
		if err != nil {
			return tx, handlerFault(err, ic)
		}
		ne.PutUint64(answers[ans:ans+codec.IncrementPayloadSize:ans+codec.IncrementPayloadSize], r)
	}
	if tooLarge {
		return tx, fault{kind: faultResponseTooLarge, needed: uint64(count+end) * codec.IncrementPayloadSize}
	}
	return out, fault{}
}

type stringReverseService struct {
	h func(text []byte) ([]byte, error)
}

func (stringReverseService) kind() ServiceKind { return KindStringReverse }
func (stringReverseService) batchable() bool   { return true }
func (s stringReverseService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var buf []byte
	return func(item []byte) ([]byte, fault) {
		v, err := codec.DecodeStringReverse(item)
		if err != nil {
			return nil, fault{kind: faultMalformed}
		}
		r, err := s.h(v.Text)
		if err != nil {
			return nil, handlerFault(err, ic)
		}
		if buf, err = codec.AppendStringReverse(buf[:0], r); err != nil {
			return nil, fault{kind: faultResponseTooLarge, needed: uint64(len(r))}
		}
		return buf, fault{}
	}
}

type snapshotService struct {
	h func(b *codec.CgroupsSnapshotBuilder) error
}

func (snapshotService) kind() ServiceKind { return KindCgroupsSnapshot }
func (snapshotService) batchable() bool   { return false }
func (s snapshotService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var b codec.CgroupsSnapshotBuilder
	return func(item []byte) ([]byte, fault) {
		if _, err := codec.DecodeSnapshotRequest(item); err != nil {
			return nil, fault{kind: faultMalformed}
		}
		b.SetMaxPayload(int(ic.responseMax))
		b.Reset(0, 0)
		if err := s.h(&b); err != nil {
			return nil, handlerFault(err, ic)
		}
		return b.Finish(), fault{}
	}
}

func overBudget(ic *itemCtx) fault {
	return fault{kind: faultResponseTooLarge, needed: uint64(ic.responseBudget) + 1}
}

func finishFault(err error, ic *itemCtx) fault {
	if errors.Is(err, netipc.ErrLimitExceeded) {
		return overBudget(ic)
	}
	// Fewer items than keys: the handler did not complete its answer.
	return fault{kind: faultHandler}
}

type cgroupsLookupService struct {
	h func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error
}

func (cgroupsLookupService) kind() ServiceKind { return KindCgroupsLookup }
func (cgroupsLookupService) batchable() bool   { return false }
func (s cgroupsLookupService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var b codec.CgroupsLookupBuilder
	return func(item []byte) ([]byte, fault) {
		req, err := codec.DecodeCgroupsLookupRequest(item)
		if err != nil {
			return nil, fault{kind: faultMalformed}
		}
		b.SetBudget(int(ic.responseBudget), int(ic.responseMax))
		b.Reset(0, req)
		if b.IsOverBudget() {
			return nil, overBudget(ic)
		}
		if err := s.h(req, &b); err != nil {
			return nil, handlerFault(err, ic)
		}
		out, err := b.Finish()
		if err != nil {
			return nil, finishFault(err, ic)
		}
		if b.IsExceeded() {
			if v, err := codec.DecodeCgroupsLookupResponse(out); err == nil && v.Len() > 0 &&
				v.Item(0).Status() == codec.LookupPayloadExceeded {
				ic.learnResponse = true
			}
		}
		return out, fault{}
	}
}

type appsLookupService struct {
	h func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error
}

func (appsLookupService) kind() ServiceKind { return KindAppsLookup }
func (appsLookupService) batchable() bool   { return false }
func (s appsLookupService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var b codec.AppsLookupBuilder
	return func(item []byte) ([]byte, fault) {
		req, err := codec.DecodeAppsLookupRequest(item)
		if err != nil {
			return nil, fault{kind: faultMalformed}
		}
		b.SetBudget(int(ic.responseBudget), int(ic.responseMax))
		b.Reset(0, req)
		if b.IsOverBudget() {
			return nil, overBudget(ic)
		}
		if err := s.h(req, &b); err != nil {
			return nil, handlerFault(err, ic)
		}
		out, err := b.Finish()
		if err != nil {
			return nil, finishFault(err, ic)
		}
		if b.IsExceeded() {
			if v, err := codec.DecodeAppsLookupResponse(out); err == nil && v.Len() > 0 &&
				v.Item(0).Status() == codec.PidPayloadExceeded {
				ic.learnResponse = true
			}
		}
		return out, fault{}
	}
}

// NewIncrementServer starts an INCREMENT server (single and batch
// requests). The handler gets the value and returns the answer
// (conventionally value + 1); an error becomes INTERNAL_ERROR and ends
// that session. Handlers run concurrently on the session goroutines.
func NewIncrementServer(cfg ServerConfig, handler func(value uint64) (uint64, error)) (*Server, error) {
	return startServer(cfg, incrementService{handler})
}

// NewStringReverseServer starts a STRING_REVERSE server (single and batch
// requests). The handler gets the string (a view valid only during the
// call) and returns the answer.
func NewStringReverseServer(cfg ServerConfig, handler func(text []byte) ([]byte, error)) (*Server, error) {
	return startServer(cfg, stringReverseService{handler})
}

// NewCgroupsSnapshotServer starts a CGROUPS_SNAPSHOT server. The handler
// fills the builder, which arrives reset (no items, systemd_enabled 0,
// generation 0) with its payload limit at the server's largest response
// budget; an AddItem over the limit returns an error wrapping
// ErrLimitExceeded which, returned, answers LIMIT_EXCEEDED. A snapshot
// larger than the session's response budget is answered LIMIT_EXCEEDED and
// the learned budget grows, so the client's reconnect gets it.
func NewCgroupsSnapshotServer(cfg ServerConfig, handler func(b *codec.CgroupsSnapshotBuilder) error) (*Server, error) {
	return startServer(cfg, snapshotService{handler})
}

// NewCgroupsLookupServer starts a CGROUPS_LOOKUP server. The handler adds
// exactly one item per request key, in order (prefer AddRequestItem /
// AddRequestUnknown). The builder arrives reset for the request with
// generation 0 (SetGeneration sets yours), its budget at the session's
// response budget and its maximum at the server's largest response budget;
// it encodes PAYLOAD_EXCEEDED / OVERSIZED_ITEM itself. The request view and
// the builder are valid only during the call. Leaving items out is a
// handler failure (INTERNAL_ERROR).
func NewCgroupsLookupServer(cfg ServerConfig, handler func(req codec.CgroupsLookupRequestView, b *codec.CgroupsLookupBuilder) error) (*Server, error) {
	return startServer(cfg, cgroupsLookupService{handler})
}

// NewAppsLookupServer starts an APPS_LOOKUP server; the handler contract
// is that of NewCgroupsLookupServer.
func NewAppsLookupServer(cfg ServerConfig, handler func(req codec.AppsLookupRequestView, b *codec.AppsLookupBuilder) error) (*Server, error) {
	return startServer(cfg, appsLookupService{handler})
}
