package service

import (
	"context"
	"unsafe"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// store keeps payload buffers across calls plus a per-item index; buffers
// are cleared and refilled, never freed, so a warm client stores results
// without allocating.
type store struct {
	bufs   [][]byte
	used   int
	index  []itemRef
	bytes  uint64
	ranges [][2]int // scratch: (start, length) of the current buffer's items
}

type itemRef struct{ buf, start, n int }

func (s *store) reset() {
	s.used = 0
	s.index = s.index[:0]
	s.bytes = 0
}

// slot returns the next free buffer, emptied.
func (s *store) slot() []byte {
	if s.used == len(s.bufs) {
		s.bufs = append(s.bufs, nil)
	}
	return s.bufs[s.used][:0]
}

// setCurrent stores the (possibly grown) next free buffer.
func (s *store) setCurrent(b []byte) { s.bufs[s.used] = b }

// commit indexes the current buffer's items (s.ranges) and moves on.
func (s *store) commit() {
	for _, r := range s.ranges {
		s.index = append(s.index, itemRef{s.used, r[0], r[1]})
	}
	s.bytes += uint64(len(s.bufs[s.used]))
	s.used++
}

func (s *store) len() int { return len(s.index) }

func (s *store) item(i int) []byte {
	r := s.index[i]
	return s.bufs[r.buf][r.start : r.start+r.n : r.start+r.n]
}

// minShapeShare: the non-enriched answers of one lookup subrequest may
// take at most 1/minShapeShare of the agreed response budget, leaving the
// rest for enriched items.
const minShapeShare = 2

func ceilingErr(max, actual uint64) error {
	return &netipc.LimitError{Limit: netipc.LimitLookupCeiling, Max: max, Actual: actual}
}

// scanFunc decodes one subresponse, checks its count and every echoed
// key, records the accepted items' ranges in st.ranges and returns the
// generation and the number of items before the PAYLOAD_EXCEEDED suffix.
type scanFunc func(payload []byte, st *store) (generation uint64, accepted int, err error)

// stitch is the state of one logical lookup call.
type stitch struct {
	store      store
	generation uint64
	haveGen    bool
	subcalls   uint32
}

func (s *stitch) begin(c *core, n int) error {
	s.store.reset()
	s.haveGen = false
	s.generation = 0
	s.subcalls = 0
	if uint64(n) > uint64(c.cfg.lookupMaxItems) {
		return ceilingErr(uint64(c.cfg.lookupMaxItems), uint64(n))
	}
	return nil
}

func (s *stitch) checkBytes(c *core, more int) error {
	total := s.store.bytes + uint64(more)
	if total > c.cfg.lookupMaxResponseBytes {
		return ceilingErr(c.cfg.lookupMaxResponseBytes, total)
	}
	return nil
}

// subcall sends one subrequest of expect keys and stores its response. A
// response whose first item is PAYLOAD_EXCEEDED is never re-asked as a
// suffix: with several keys it returns 0 (the caller re-asks the first key
// alone); with one key it is an overflow: the response budget is grown by
// reconnecting and the key sent again, until growth stops. It returns the
// accepted count.
func (s *stitch) subcall(c *core, cc *callCtx, request []byte, expect int, scan scanFunc) (int, error) {
	for {
		if s.subcalls >= c.cfg.lookupMaxSubcalls {
			return 0, ceilingErr(uint64(c.cfg.lookupMaxSubcalls), uint64(s.subcalls)+1)
		}
		s.subcalls++
		buf, err := c.exchange(cc, request, 1, s.store.slot())
		s.store.setCurrent(buf)
		if err != nil {
			return 0, err
		}
		s.store.ranges = s.store.ranges[:0]
		gen, accepted, err := scan(buf, &s.store)
		if err != nil {
			return 0, err
		}
		if accepted == 0 && expect > 1 {
			return 0, nil
		}
		if accepted == 0 && expect == 1 {
			if err := c.overflow(cc, c.responseOverflowError()); err != nil {
				return 0, err
			}
			continue
		}
		if s.haveGen && s.generation != gen {
			return 0, netipc.ViolationGenerationMismatch
		}
		s.generation, s.haveGen = gen, true
		if err := s.checkBytes(c, len(buf)); err != nil {
			return 0, err
		}
		s.store.commit()
		return accepted, nil
	}
}

// pushLocal stores a locally synthesized single-item payload whose item is
// the whole payload after its header and directory at (start, n).
func (s *stitch) pushLocal(c *core, payload []byte, start, n int) error {
	if err := s.checkBytes(c, len(payload)); err != nil {
		return err
	}
	s.store.setCurrent(append(s.store.slot(), payload...))
	s.store.ranges = append(s.store.ranges[:0], [2]int{start, n})
	s.store.commit()
	return nil
}

// suffixTracker follows the PAYLOAD_EXCEEDED suffix while scanning items
// in order: once an item is PAYLOAD_EXCEEDED every later one must be too.
type suffixTracker struct {
	first int
	seen  bool
}

func (t *suffixTracker) step(j int, exceeded bool) (bool, error) {
	switch {
	case !t.seen && !exceeded:
		return true, nil
	case !t.seen:
		t.first, t.seen = j, true
		return false, nil
	case exceeded:
		return false, nil
	}
	return false, netipc.ViolationUnexpectedResponse
}

func (t *suffixTracker) accepted(n int) int {
	if t.seen {
		return t.first
	}
	return n
}

// itemRange is the (start, length) of item, a sub-slice of payload.
func itemRange(payload, item []byte) [2]int {
	if len(item) == 0 {
		return [2]int{0, 0}
	}
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(item))) - uintptr(unsafe.Pointer(unsafe.SliceData(payload))))
	return [2]int{start, len(item)}
}

// CgroupsLookupClient is a client of a cgroups-lookup service
// (CGROUPS_LOOKUP).
type CgroupsLookupClient struct {
	clientCommon
	tx      []byte
	stitch  stitch
	request codec.CgroupsLookupRequestBuilder
	local   codec.CgroupsLookupBuilder
}

// NewCgroupsLookupClient creates a disconnected client (no I/O).
func NewCgroupsLookupClient(runDir, service string, cfg ClientConfig) (*CgroupsLookupClient, error) {
	minReq := codec.LookupReqHdrSize + codec.LookupDirEntrySize + codec.CgroupsLookupMinKeyLen
	c, err := newCore(runDir, service, cfg, dynamicSchema(netipc.MethodCgroupsLookup, minReq))
	if err != nil {
		return nil, err
	}
	return &CgroupsLookupClient{clientCommon: clientCommon{c}}, nil
}

// CgroupsLookupResultView is the stitched result of one lookup: one item
// per requested path, in request order. It is borrowed: it aliases client
// storage and is valid until the next call on the same client. Item
// access is O(1) and allocation free.
type CgroupsLookupResultView struct {
	s          *store
	generation uint64
}

// Generation returns the provider generation shared by every subresponse.
func (v CgroupsLookupResultView) Generation() uint64 { return v.generation }

// Len returns the number of items (the number of paths requested).
func (v CgroupsLookupResultView) Len() int { return v.s.len() }

// Item returns item i (its status may be OVERSIZED_ITEM, never
// PAYLOAD_EXCEEDED); out of range panics.
func (v CgroupsLookupResultView) Item(i int) codec.CgroupsLookupItemView {
	return codec.TrustedCgroupsLookupItem(v.s.item(i))
}

func cgroupsMinResponseItem(n int) int {
	return codec.LookupDirEntrySize + (codec.CgroupsLookupItemHdrSize+n+2+7)&^7
}

// Lookup looks up paths and returns one item per path, in order; it is
// LookupContext without a context.
func (x *CgroupsLookupClient) Lookup(paths [][]byte) (CgroupsLookupResultView, error) {
	return x.LookupContext(nil, paths)
}

// LookupContext looks up paths as one logical call:
//
//   - every path is validated first (an empty path or one with a NUL
//     fails with ErrInvalidArgument before any I/O); more paths than the
//     item ceiling fail with ErrLimitExceeded (LimitLookupCeiling);
//   - paths are split into requests that fit the agreed request budget
//     (and whose non-enriched answers take at most half the agreed
//     response budget); a path too long for any request becomes a local
//     OVERSIZED_ITEM echoing it;
//   - PAYLOAD_EXCEEDED answers are re-asked (only that suffix) and
//     stitched in place; OVERSIZED_ITEM is final; a first-item
//     PAYLOAD_EXCEEDED re-asks that key alone, then grows the response
//     budget by reconnecting;
//   - every subresponse must echo its paths, hold the requested item count
//     and carry the same generation (ViolationEchoMismatch,
//     ViolationItemCountMismatch, ViolationGenerationMismatch);
//   - the subcall and stitched-bytes ceilings fail with ErrLimitExceeded.
//
// An empty paths sends one empty probe request to learn the generation.
func (x *CgroupsLookupClient) LookupContext(ctx context.Context, paths [][]byte) (CgroupsLookupResultView, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return CgroupsLookupResultView{}, err
	}
	defer x.c.watch(ctx)()
	err = x.run(&cc, paths)
	if err = ctxErr(ctx, x.c.finish(err)); err != nil {
		return CgroupsLookupResultView{}, err
	}
	return CgroupsLookupResultView{&x.stitch.store, x.stitch.generation}, nil
}

func (x *CgroupsLookupClient) scan(keys [][]byte) scanFunc {
	return func(payload []byte, st *store) (uint64, int, error) {
		v, err := codec.DecodeCgroupsLookupResponse(payload)
		if err != nil {
			return 0, 0, err
		}
		if v.Len() != len(keys) {
			return 0, 0, netipc.ViolationItemCountMismatch
		}
		var t suffixTracker
		for j := 0; j < v.Len(); j++ {
			it := v.Item(j)
			if string(it.Path()) != string(keys[j]) {
				return 0, 0, netipc.ViolationEchoMismatch
			}
			ok, err := t.step(j, it.Status() == codec.LookupPayloadExceeded)
			if err != nil {
				return 0, 0, err
			}
			if ok {
				st.ranges = append(st.ranges, itemRange(payload, it.Bytes()))
			}
		}
		return v.Generation(), t.accepted(v.Len()), nil
	}
}

func (x *CgroupsLookupClient) run(cc *callCtx, paths [][]byte) error {
	for _, p := range paths {
		if _, err := codec.CgroupsLookupRequestLen([][]byte{p}); err != nil {
			return err
		}
	}
	if err := x.stitch.begin(x.c, len(paths)); err != nil {
		return err
	}
	alone := false
	for next := 0; next < len(paths); {
		req, resp, err := x.c.limits()
		if err != nil {
			return err
		}
		reqBudget, respShare := int(req.MaxPayload), int(resp.MaxPayload)/minShapeShare
		if codec.CgroupsLookupSingleRequestLen(len(paths[next])) > reqBudget {
			if err := x.oversized(paths[next]); err != nil {
				return err
			}
			next++
			continue
		}
		x.request.Clear()
		x.request.SetBudget(reqBudget)
		respMin := codec.LookupRespHdrSize
		end := next
		for end < len(paths) {
			p := paths[end]
			if codec.CgroupsLookupSingleRequestLen(len(p)) > reqBudget {
				break
			}
			m := cgroupsMinResponseItem(len(p))
			if end > next && (alone || respMin+m > respShare) {
				break
			}
			ok, err := x.request.Push(p)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			respMin += m
			end++
		}
		x.tx = x.request.AppendTo(x.tx[:0])
		accepted, err := x.stitch.subcall(x.c, cc, x.tx, end-next, x.scan(paths[next:end]))
		if err != nil {
			return err
		}
		alone = accepted == 0
		next += accepted
	}
	if x.stitch.subcalls == 0 {
		x.request.Clear()
		x.tx = x.request.AppendTo(x.tx[:0])
		if _, err := x.stitch.subcall(x.c, cc, x.tx, 0, x.scan(nil)); err != nil {
			return err
		}
	}
	return nil
}

// oversized appends a local OVERSIZED_ITEM item echoing path.
func (x *CgroupsLookupClient) oversized(path []byte) error {
	if err := x.local.ResetForPaths(0, [][]byte{path}); err != nil {
		return err
	}
	if _, err := x.local.AddUnknown(path, codec.LookupOversizedItem); err != nil {
		return err
	}
	p, err := x.local.Finish()
	if err != nil {
		return err
	}
	start := codec.LookupRespHdrSize + codec.LookupDirEntrySize
	return x.stitch.pushLocal(x.c, p, start, len(p)-start)
}

// AppsLookupClient is a client of an apps-lookup service (APPS_LOOKUP).
type AppsLookupClient struct {
	clientCommon
	tx     []byte
	stitch stitch
}

// NewAppsLookupClient creates a disconnected client (no I/O).
func NewAppsLookupClient(runDir, service string, cfg ClientConfig) (*AppsLookupClient, error) {
	minReq := codec.LookupReqHdrSize + codec.LookupDirEntrySize + codec.AppsLookupKeySize
	c, err := newCore(runDir, service, cfg, dynamicSchema(netipc.MethodAppsLookup, minReq))
	if err != nil {
		return nil, err
	}
	return &AppsLookupClient{clientCommon: clientCommon{c}}, nil
}

// AppsLookupResultView is the stitched result of one apps lookup: one item
// per requested PID, in order. It is borrowed (valid until the next call
// on the same client).
type AppsLookupResultView struct {
	s          *store
	generation uint64
}

// Generation returns the provider generation shared by every subresponse.
func (v AppsLookupResultView) Generation() uint64 { return v.generation }

// Len returns the number of items.
func (v AppsLookupResultView) Len() int { return v.s.len() }

// Item returns item i (out of range panics).
func (v AppsLookupResultView) Item(i int) codec.AppsLookupItemView {
	return codec.TrustedAppsLookupItem(v.s.item(i))
}

const appsMinResponseItem = codec.LookupDirEntrySize + (codec.AppsLookupMinItemSize+7)&^7

// Lookup looks up pids; it is LookupContext without a context.
func (x *AppsLookupClient) Lookup(pids []uint32) (AppsLookupResultView, error) {
	return x.LookupContext(nil, pids)
}

// LookupContext looks up pids as one logical call, with the splitting,
// suffix retry, stitching, echo and generation checks and ceilings of
// CgroupsLookupClient.LookupContext.
func (x *AppsLookupClient) LookupContext(ctx context.Context, pids []uint32) (AppsLookupResultView, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return AppsLookupResultView{}, err
	}
	defer x.c.watch(ctx)()
	err = x.run(&cc, pids)
	if err = ctxErr(ctx, x.c.finish(err)); err != nil {
		return AppsLookupResultView{}, err
	}
	return AppsLookupResultView{&x.stitch.store, x.stitch.generation}, nil
}

func appsScan(keys []uint32) scanFunc {
	return func(payload []byte, st *store) (uint64, int, error) {
		v, err := codec.DecodeAppsLookupResponse(payload)
		if err != nil {
			return 0, 0, err
		}
		if v.Len() != len(keys) {
			return 0, 0, netipc.ViolationItemCountMismatch
		}
		var t suffixTracker
		for j := 0; j < v.Len(); j++ {
			it := v.Item(j)
			if it.Pid() != keys[j] {
				return 0, 0, netipc.ViolationEchoMismatch
			}
			ok, err := t.step(j, it.Status() == codec.PidPayloadExceeded)
			if err != nil {
				return 0, 0, err
			}
			if ok {
				st.ranges = append(st.ranges, itemRange(payload, it.Bytes()))
			}
		}
		return v.Generation(), t.accepted(v.Len()), nil
	}
}

func (x *AppsLookupClient) run(cc *callCtx, pids []uint32) error {
	if err := x.stitch.begin(x.c, len(pids)); err != nil {
		return err
	}
	alone := false
	next := 0
	for {
		req, resp, err := x.c.limits()
		if err != nil {
			return err
		}
		byRequest := codec.AppsLookupRequestMaxItems(int(req.MaxPayload))
		byResponse := max(int(resp.MaxPayload)/minShapeShare-codec.LookupRespHdrSize, 0) / appsMinResponseItem
		n := min(len(pids)-next, byRequest, max(byResponse, 1))
		switch {
		case next >= len(pids):
			n = 0
		case alone:
			n = 1
		default:
			n = max(n, 1)
		}
		keys := pids[next : next+n]
		if x.tx, err = codec.AppendAppsLookupRequest(x.tx[:0], keys); err != nil {
			return err
		}
		accepted, err := x.stitch.subcall(x.c, cc, x.tx, n, appsScan(keys))
		if err != nil {
			return err
		}
		alone = accepted == 0
		next += accepted
		if next >= len(pids) {
			return nil
		}
	}
}
