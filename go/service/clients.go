package service

import (
	"context"
	"encoding/binary"
	"slices"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/wire"
)

// ne reads and writes host-order integers.
var ne = binary.NativeEndian

// IncrementClient is a client of an INCREMENT service (uint64 in, uint64
// out). Warm calls do not allocate. A client is used from one goroutine
// (Abort, Ready and State may be called from any).
type IncrementClient struct {
	clientCommon
	tx, rx  []byte
	results []uint64
}

// NewIncrementClient creates a disconnected client for
// {runDir}/{service}.sock: no I/O, the service need not exist yet.
func NewIncrementClient(runDir, service string, cfg ClientConfig) (*IncrementClient, error) {
	c, err := newCore(runDir, service, cfg, fixedSchema(netipc.MethodIncrement, codec.IncrementPayloadSize).withBatch())
	if err != nil {
		return nil, err
	}
	return &IncrementClient{clientCommon: clientCommon{c}}, nil
}

// Call sends value and returns the server's answer (conventionally value
// + 1). It is CallContext without a context.
func (x *IncrementClient) Call(value uint64) (uint64, error) { return x.CallContext(nil, value) }

// CallContext is Call bounded also by ctx: its deadline (if earlier than
// the call timeout) and its cancellation, which aborts the call
// (ErrAborted wrapping ctx.Err()).
func (x *IncrementClient) CallContext(ctx context.Context, value uint64) (uint64, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return 0, err
	}
	defer x.c.watch(ctx)()
	req := codec.EncodeIncrement(value)
	x.rx, err = x.c.exchange(&cc, req[:], 1, x.rx)
	var v uint64
	if err == nil {
		v, err = codec.DecodeIncrement(x.rx)
	}
	return v, ctxErr(ctx, x.c.finish(err))
}

const incrementBatchItemBytes = netipc.DirEntrySize + (codec.IncrementPayloadSize+7)&^7

// CallBatch sends values as Level 1 batch messages and returns the
// answers in request order. The returned slice is owned by the client and
// valid until its next call. A batch larger than the agreed item limit or
// payload budgets is split into several messages.
func (x *IncrementClient) CallBatch(values []uint64) ([]uint64, error) {
	return x.CallBatchContext(nil, values)
}

// CallBatchContext is CallBatch bounded also by ctx.
func (x *IncrementClient) CallBatchContext(ctx context.Context, values []uint64) ([]uint64, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return nil, err
	}
	defer x.c.watch(ctx)()
	x.results = x.results[:0]
	err = x.batch(&cc, values)
	if err = ctxErr(ctx, x.c.finish(err)); err != nil {
		return nil, err
	}
	return x.results, nil
}

func (x *IncrementClient) batch(cc *callCtx, values []uint64) error {
	// Every answer is decoded right away: the responses may stay in the
	// session's receive buffer.
	cc.alias = true
	for next := 0; next < len(values); {
		req, resp, err := x.c.limits()
		if err != nil {
			return err
		}
		budget := int(min(req.MaxPayload, resp.MaxPayload))
		n := max(min(len(values)-next, int(req.MaxItems), budget/incrementBatchItemBytes), 1)
		chunk := values[next : next+n]
		if n == 1 {
			x.tx = codec.AppendIncrement(x.tx[:0], chunk[0])
		} else if x.tx, err = appendIncrementBatch(x.tx[:0], chunk); err != nil {
			return err
		}
		answer, err := x.c.exchange(cc, x.tx, uint32(n), nil)
		if err != nil {
			return err
		}
		if n == 1 {
			v, err := codec.DecodeIncrement(answer)
			if err != nil {
				return err
			}
			x.results = append(x.results, v)
		} else if x.results, err = appendIncrementAnswers(x.results, cc.batch); err != nil {
			return err
		}
		next += n
	}
	return nil
}

// appendIncrementBatch appends the batch payload of INCREMENT values
// (requests of a client, answers of a batch handler): the layout a
// BatchBuilder makes, written in one pass.
func appendIncrementBatch(out []byte, values []uint64) ([]byte, error) {
	out, area, err := wire.AppendUniformBatch(out, uint32(len(values)), codec.IncrementPayloadSize)
	if err != nil {
		return out, err
	}
	items := out[area:]
	items = items[:len(values)*codec.IncrementPayloadSize]
	for i, v := range values {
		at := i * codec.IncrementPayloadSize
		ne.PutUint64(items[at:at+codec.IncrementPayloadSize:at+codec.IncrementPayloadSize], v)
	}
	return out, nil
}

// appendIncrementAnswers appends the INCREMENT answers of a validated
// batch; an item that is not one INCREMENT payload fails with the error of
// codec.DecodeIncrement.
func appendIncrementAnswers(results []uint64, v wire.BatchView) ([]uint64, error) {
	start := len(results)
	results = slices.Grow(results, v.Len())[:start+v.Len()]
	if bad := decodeIncrementItems(results[start:], v); bad >= 0 {
		item, _ := v.Item(bad)
		_, err := codec.DecodeIncrement(item)
		return results[:start], err
	}
	return results, nil
}

// decodeIncrementItems decodes the items of v into out (len(out) ==
// v.Len()) and returns the index of the first item that is not 8 bytes
// long, or -1.
func decodeIncrementItems(out []uint64, v wire.BatchView) int {
	dir, area := v.Parts()
	const size = codec.IncrementPayloadSize
	areaLen := uint64(len(area))
	// Two items per iteration (Go does not unroll loops), indexed with
	// full slice expressions: bounds checks the compiler can drop, and no
	// pointer adjustment of a resliced tail.
	i := 0
	for ; i+1 < len(out); i += 2 {
		at := i * netipc.DirEntrySize
		if at+2*netipc.DirEntrySize > len(dir) {
			return i // cannot happen: the directory has len(out) entries
		}
		e := dir[at : at+2*netipc.DirEntrySize : at+2*netipc.DirEntrySize]
		o0, n0 := uint64(ne.Uint32(e[0:4])), ne.Uint32(e[4:8])
		o1, n1 := uint64(ne.Uint32(e[8:12])), ne.Uint32(e[12:16])
		if n0 != size || n1 != size || o0+size > areaLen || o1+size > areaLen {
			break // the item-at-a-time loop says which
		}
		out[i] = ne.Uint64(area[o0 : o0+size : o0+size])
		out[i+1] = ne.Uint64(area[o1 : o1+size : o1+size])
	}
	for ; i < len(out); i++ {
		at := i * netipc.DirEntrySize
		if at+netipc.DirEntrySize > len(dir) {
			return i // cannot happen: the directory has len(out) entries
		}
		e := dir[at : at+netipc.DirEntrySize : at+netipc.DirEntrySize]
		off, n := uint64(ne.Uint32(e[:4])), ne.Uint32(e[4:])
		if n != size || off+size > areaLen {
			return i
		}
		out[i] = ne.Uint64(area[off : off+size : off+size])
	}
	return -1
}

// StringReverseClient is a client of a STRING_REVERSE service (bytes in,
// bytes out).
type StringReverseClient struct {
	clientCommon
	tx, rx []byte
	store  store
}

// NewStringReverseClient creates a disconnected client (no I/O).
func NewStringReverseClient(runDir, service string, cfg ClientConfig) (*StringReverseClient, error) {
	c, err := newCore(runDir, service, cfg, dynamicSchema(netipc.MethodStringReverse, codec.StringReverseHdrSize+1).withBatch())
	if err != nil {
		return nil, err
	}
	return &StringReverseClient{clientCommon: clientCommon{c}}, nil
}

// Call sends text and returns the answer (conventionally the reversed
// string). The view aliases client storage and is valid until the next
// call on this client. A string larger than the agreed request budget
// grows the budget by reconnecting.
func (x *StringReverseClient) Call(text []byte) (codec.StringReverseView, error) {
	return x.CallContext(nil, text)
}

// CallContext is Call bounded also by ctx.
func (x *StringReverseClient) CallContext(ctx context.Context, text []byte) (codec.StringReverseView, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return codec.StringReverseView{}, err
	}
	defer x.c.watch(ctx)()
	x.tx, err = codec.AppendStringReverse(x.tx[:0], text)
	if err == nil {
		x.rx, err = x.c.exchange(&cc, x.tx, 1, x.rx)
	}
	var v codec.StringReverseView
	if err == nil {
		v, err = codec.DecodeStringReverse(x.rx)
	}
	return v, ctxErr(ctx, x.c.finish(err))
}

// StringReverseBatchView holds the answers of one CallBatch in request
// order. It is borrowed: it aliases client storage and is valid until the
// next call on the same client.
type StringReverseBatchView struct {
	s *store
}

// Len returns the number of answers.
func (v StringReverseBatchView) Len() int { return v.s.len() }

// Item returns answer i (0 <= i < Len(); out of range panics).
func (v StringReverseBatchView) Item(i int) codec.StringReverseView {
	sv, _ := codec.DecodeStringReverse(v.s.item(i)) // validated by CallBatch
	return sv
}

// CallBatch sends texts as Level 1 batch messages (split to the agreed
// limits) and returns the answers in request order.
func (x *StringReverseClient) CallBatch(texts [][]byte) (StringReverseBatchView, error) {
	return x.CallBatchContext(nil, texts)
}

// CallBatchContext is CallBatch bounded also by ctx.
func (x *StringReverseClient) CallBatchContext(ctx context.Context, texts [][]byte) (StringReverseBatchView, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return StringReverseBatchView{}, err
	}
	defer x.c.watch(ctx)()
	x.store.reset()
	err = x.batch(&cc, texts)
	if err = ctxErr(ctx, x.c.finish(err)); err != nil {
		return StringReverseBatchView{}, err
	}
	return StringReverseBatchView{&x.store}, nil
}

func (x *StringReverseClient) batch(cc *callCtx, texts [][]byte) error {
	for _, t := range texts {
		if uint64(codec.StringReversePayloadLen(len(t))) > 0xFFFFFFFF {
			return &netipc.ArgError{Reason: "STRING_REVERSE text too long"}
		}
	}
	for next := 0; next < len(texts); {
		req, resp, err := x.c.limits()
		if err != nil {
			return err
		}
		budget := int(min(req.MaxPayload, resp.MaxPayload))
		// As many strings as fit the item limit and both budgets (answers
		// have the same size as requests); at least one.
		n, size := 0, 0
		for next+n < len(texts) && n < int(req.MaxItems) {
			item := codec.StringReversePayloadLen(len(texts[next+n]))
			grown := (size+7)&^7 + item + netipc.DirEntrySize
			if n > 0 && grown > budget {
				break
			}
			size = grown
			n++
		}
		n = max(n, 1)
		x.tx = x.tx[:0]
		if n == 1 {
			x.tx, _ = codec.AppendStringReverse(x.tx, texts[next])
		} else {
			var b wire.BatchBuilder
			b.Reset(x.tx, uint32(n))
			for _, t := range texts[next : next+n] {
				if err := b.AddWith(func(buf []byte) ([]byte, error) { return codec.AppendStringReverse(buf, t) }); err != nil {
					return err
				}
			}
			if x.tx, err = b.Finish(); err != nil {
				return err
			}
		}
		slot := x.store.slot()
		slot, err = x.c.exchange(cc, x.tx, uint32(n), slot)
		x.store.setCurrent(slot)
		if err != nil {
			return err
		}
		x.store.ranges = x.store.ranges[:0]
		if n == 1 {
			if _, err := codec.DecodeStringReverse(slot); err != nil {
				return err
			}
			x.store.ranges = append(x.store.ranges, [2]int{0, len(slot)})
		} else {
			view, err := wire.DecodeBatch(slot, uint32(n))
			if err != nil {
				return err
			}
			for i := 0; i < n; i++ {
				off, l, _ := view.DirEntry(i)
				it, _ := view.Item(i)
				if _, err := codec.DecodeStringReverse(it); err != nil {
					return err
				}
				start := n*netipc.DirEntrySize + int(off)
				x.store.ranges = append(x.store.ranges, [2]int{start, int(l)})
			}
		}
		x.store.commit()
		next += n
	}
	return nil
}

// CgroupsSnapshotClient is a client of a cgroups-snapshot service
// (CGROUPS_SNAPSHOT). Warm calls do not allocate.
type CgroupsSnapshotClient struct {
	clientCommon
	rx []byte
}

// NewCgroupsSnapshotClient creates a disconnected client (no I/O).
func NewCgroupsSnapshotClient(runDir, service string, cfg ClientConfig) (*CgroupsSnapshotClient, error) {
	c, err := newCore(runDir, service, cfg, fixedSchema(netipc.MethodCgroupsSnapshot, codec.SnapshotReqSize))
	if err != nil {
		return nil, err
	}
	return &CgroupsSnapshotClient{clientCommon: clientCommon{c}}, nil
}

// CallSnapshot fetches the full snapshot. The view is fully validated and
// aliases client storage: it is valid until the next call on this client.
// A snapshot larger than the agreed response budget is recovered by
// overflow reconnects. A malformed snapshot drops the session.
func (x *CgroupsSnapshotClient) CallSnapshot() (codec.CgroupsSnapshotView, error) {
	return x.CallSnapshotContext(nil)
}

// CallSnapshotContext is CallSnapshot bounded also by ctx.
func (x *CgroupsSnapshotClient) CallSnapshotContext(ctx context.Context) (codec.CgroupsSnapshotView, error) {
	var cc callCtx
	err := x.c.begin(ctx, &cc)
	if err != nil {
		return codec.CgroupsSnapshotView{}, err
	}
	defer x.c.watch(ctx)()
	req := codec.DefaultSnapshotRequest.Bytes()
	// The view may alias the session's receive buffer: it is valid until
	// the next call anyway, so the snapshot is not copied once more.
	cc.alias = true
	x.rx, err = x.c.exchange(&cc, req[:], 1, nil)
	if err != nil {
		return codec.CgroupsSnapshotView{}, ctxErr(ctx, x.c.finish(err))
	}
	v, err := codec.DecodeSnapshot(x.rx)
	if err != nil {
		// A malformed snapshot is a protocol violation: the session is not
		// trusted any more.
		x.c.disconnect()
		return codec.CgroupsSnapshotView{}, x.c.finish(err)
	}
	return v, nil
}
