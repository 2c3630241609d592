package service

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/wire"
)

// fuzzIncrementHandler answers value+1, except that some values fail the
// way a handler can: 13 an error, 14 an error wrapping ErrLimitExceeded,
// 15 a panic.
func fuzzIncrementHandler(v uint64) (uint64, error) {
	switch v {
	case 13:
		return 0, errors.New("unlucky")
	case 14:
		return 0, fmt.Errorf("too big: %w", netipc.ErrLimitExceeded)
	case 15:
		panic("fifteen")
	}
	return v + 1, nil
}

// checkIncrementBatch runs a validated batch through the INCREMENT batch
// path and through the item-by-item path; both must answer the same
// bytes or fail with the same fault.
func checkIncrementBatch(t *testing.T, v wire.BatchView, budget uint32) {
	t.Helper()
	if uint64(v.Len())*netipc.DirEntrySize > uint64(budget) {
		return // dispatchBatch answers this before either path
	}
	svc := incrementService{fuzzIncrementHandler}
	ic := &itemCtx{responseBudget: budget, responseMax: 2 * budget}
	fast, ff := answered(func() ([]byte, fault) { return svc.batch(v, ic, nil) })
	slow, sf := answered(func() ([]byte, fault) { return batchItems(svc.session(ic), v, ic, nil) })
	if ff != sf {
		t.Fatalf("%d items, budget %d: the batch path says %+v, item by item %+v", v.Len(), budget, ff, sf)
	}
	if ff.kind == faultNone && !bytes.Equal(fast, slow) {
		t.Fatalf("%d items: the batch path answers %x, item by item %x", v.Len(), fast, slow)
	}
}

// answered runs an answering path the way serve and Dispatch do: a panic
// unwinding out of it is faultPanicked.
func answered(answer func() ([]byte, fault)) (out []byte, f fault) {
	defer func() {
		if recover() != nil {
			out, f = nil, fault{kind: faultPanicked}
		}
	}()
	return answer()
}

// incrementBatch builds a batch of INCREMENT requests with the builder.
func incrementBatch(t testing.TB, values ...uint64) wire.BatchView {
	b := wire.NewBatchBuilder(nil, uint32(len(values)))
	for _, v := range values {
		if err := b.Add(codec.AppendIncrement(nil, v)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	v, err := wire.DecodeBatch(p, uint32(len(values)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIncrementBatchMatchesItemByItem(t *testing.T) {
	for _, values := range [][]uint64{
		{1, 2}, {1, 2, 3, 4, 5, 6, 7}, {0, 1 << 63, ^uint64(0)},
		{1, 13, 2}, {1, 14, 2}, {1, 15, 2}, {13, 15}, {15, 13},
	} {
		v := incrementBatch(t, values...)
		for _, budget := range []uint32{0, 16, 8 * uint32(len(values)), 16*uint32(len(values)) - 1, 16 * uint32(len(values)), 4096} {
			checkIncrementBatch(t, v, budget)
			checkIncrementBatchHandler(t, v, budget)
		}
	}
	// Items of other sizes: malformed, at their position.
	v := malformedIncrementBatch(t, 15)
	checkIncrementBatch(t, v, 4096)
	svc := incrementService{fuzzIncrementHandler}
	if _, f := svc.batch(v, &itemCtx{responseBudget: 4096}, nil); f.kind != faultMalformed {
		t.Fatal("a 3-byte item answered", f)
	}
}

// malformedIncrementBatch is a validated batch of three items whose
// middle one is 3 bytes long: INCREMENT(1), that, INCREMENT(last).
func malformedIncrementBatch(t *testing.T, last uint64) wire.BatchView {
	t.Helper()
	b := wire.NewBatchBuilder(nil, 3)
	_ = b.Add(codec.AppendIncrement(nil, 1))
	_ = b.Add([]byte{1, 2, 3})
	_ = b.Add(codec.AppendIncrement(nil, last))
	p, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return mustBatch(t, p, 3)
}

// FuzzIncrementBatch: any batch a session accepts is answered (or
// refused) alike by the INCREMENT batch path and item by item.
func FuzzIncrementBatch(f *testing.F) {
	v := incrementBatch(f, 1, 2, 3)
	dir, area := v.Parts()
	f.Add(append(bytes.Clone(dir), area...), uint8(3), uint16(64))
	f.Add(bin.App64(bin.App64(nil, 0), 8), uint8(1), uint16(16))
	f.Fuzz(func(t *testing.T, payload []byte, count uint8, budget uint16) {
		v, err := wire.DecodeBatch(payload, uint32(count))
		if err != nil {
			return
		}
		checkIncrementBatch(t, v, uint32(budget))
		checkIncrementBatchHandler(t, v, uint32(budget))
	})
}

// The client's one-pass request batch is the builder's, and its decoding
// of answers fails like codec.DecodeIncrement on the first bad item.
func TestIncrementClientBatchCodec(t *testing.T) {
	values := []uint64{5, 1 << 40, 0, 7}
	got, err := appendIncrementBatch([]byte{9}, values)
	if err != nil {
		t.Fatal(err)
	}
	v := incrementBatch(t, values...)
	dir, area := v.Parts()
	if want := append(append([]byte{9}, dir...), area...); !bytes.Equal(got, want) {
		t.Fatalf("one pass %x, builder %x", got, want)
	}
	res, err := appendIncrementAnswers([]uint64{42}, v)
	if err != nil || fmt.Sprint(res) != fmt.Sprint(append([]uint64{42}, values...)) {
		t.Fatal(res, err)
	}
	for _, bad := range [][]byte{{1, 2, 3}, make([]byte, 16), nil} {
		b := wire.NewBatchBuilder(nil, 3)
		_ = b.Add(codec.AppendIncrement(nil, 1))
		_ = b.Add(bad)
		_ = b.Add([]byte{1})
		p, _ := b.Finish()
		v, err := wire.DecodeBatch(p, 3)
		if err != nil {
			t.Fatal(err)
		}
		_, want := codec.DecodeIncrement(bad)
		res, err := appendIncrementAnswers([]uint64{42}, v)
		if err == nil || err.Error() != want.Error() || len(res) != 1 {
			t.Fatalf("item of %d bytes: %v, want %v", len(bad), err, want)
		}
	}
}

// The INCREMENT batch paths per batch of 500 items (the batch
// scenarios' mean size).
const benchBatchItems = 500

func benchValues() []uint64 {
	v := make([]uint64, benchBatchItems)
	for i := range v {
		v[i] = uint64(i) * 3
	}
	return v
}

// benchIncrementBatchServer times one INCREMENT batch path answering a
// batch of benchBatchItems.
func benchIncrementBatchServer(b *testing.B, svc interface {
	batch(wire.BatchView, *itemCtx, []byte) ([]byte, fault)
}) {
	v := incrementBatch(b, benchValues()...)
	ic := &itemCtx{responseBudget: 1 << 20, responseMax: 1 << 20}
	var tx []byte
	b.ReportAllocs()
	for b.Loop() {
		var f fault
		if tx, f = svc.batch(v, ic, tx); f.kind != faultNone {
			b.Fatal(f)
		}
	}
}

func BenchmarkIncrementBatchServer500(b *testing.B) {
	benchIncrementBatchServer(b, incrementService{func(v uint64) (uint64, error) { return v + 1, nil }})
}

func BenchmarkIncrementBatchRequest500(b *testing.B) {
	values := benchValues()
	var tx []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if tx, err = appendIncrementBatch(tx[:0], values); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrementBatchAnswers500(b *testing.B) {
	v := incrementBatch(b, benchValues()...)
	var res []uint64
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if res, err = appendIncrementAnswers(res[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeIncrementBatch500(b *testing.B) {
	v := incrementBatch(b, benchValues()...)
	dir, area := v.Parts()
	p := append(bytes.Clone(dir), area...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.DecodeBatch(p, benchBatchItems); err != nil {
			b.Fatal(err)
		}
	}
}

// batchHandler is the batch handler of a per-value one: every value
// answered by h, in order (its errors and panics included).
func batchHandler(h func(uint64) (uint64, error)) func([]uint64) error {
	return func(values []uint64) error {
		for i, v := range values {
			r, err := h(v)
			if err != nil {
				return err
			}
			values[i] = r
		}
		return nil
	}
}

// incrementAll is the batch handler of fuzzIncrementHandler.
var incrementAll = batchHandler(fuzzIncrementHandler)

// checkIncrementBatchHandler runs a validated batch through the batch
// handler's path and the per-value handler's item-by-item path: a batch
// both answer gets the same bytes; a refused one the same fault, except
// where the batch handler's path refuses before answering (a malformed
// item, a response over the budget) while the item path first reaches a
// failing value (the documented difference: its handler is not called
// then).
func checkIncrementBatchHandler(t *testing.T, v wire.BatchView, budget uint32) {
	t.Helper()
	if uint64(v.Len())*netipc.DirEntrySize > uint64(budget) {
		return // dispatchBatch answers this before either path
	}
	ic := &itemCtx{responseBudget: budget, responseMax: 2 * budget}
	batch, bf := answered(func() ([]byte, fault) { return incrementBatchService{incrementAll}.batch(v, ic, nil) })
	items, itf := answered(func() ([]byte, fault) {
		return batchItems(incrementService{fuzzIncrementHandler}.session(ic), v, ic, nil)
	})
	switch {
	case bf.kind == faultNone || itf.kind == faultNone:
		if bf != itf || !bytes.Equal(batch, items) {
			t.Fatalf("%d items, budget %d: batch handler %+v %x, item by item %+v %x", v.Len(), budget, bf, batch, itf, items)
		}
	case uint64(v.Len())*16 > uint64(budget):
		if bf.kind != faultResponseTooLarge || bf.needed != uint64(v.Len())*16 {
			t.Fatalf("%d items, budget %d: %+v", v.Len(), budget, bf)
		}
	case bf.kind != faultMalformed && bf != itf:
		t.Fatalf("%d items, budget %d: batch handler %+v, item by item %+v", v.Len(), budget, bf, itf)
	}
}

// The batch handler's own outcomes (TestIncrementBatchMatchesItemByItem
// compares its answers with the item path).
func TestIncrementBatchHandlerPath(t *testing.T) {
	svc := incrementBatchService{incrementAll}
	// A malformed item: refused before the handler runs.
	v := malformedIncrementBatch(t, 2)
	called := false
	seen := incrementBatchService{func([]uint64) error { called = true; return nil }}
	if _, f := seen.batch(v, &itemCtx{responseBudget: 4096}, nil); f.kind != faultMalformed || called {
		t.Fatal("a 3-byte item answered", f, called)
	}
	// Over the budget: LIMIT_EXCEEDED with the whole answer's size, the
	// handler not called.
	v = incrementBatch(t, 1, 2, 3)
	if _, f := seen.batch(v, &itemCtx{responseBudget: 47}, nil); f.kind != faultResponseTooLarge || f.needed != 48 || called {
		t.Fatal("over budget", f, called)
	}
	// The handler's errors: INTERNAL_ERROR, or LIMIT_EXCEEDED for one
	// wrapping ErrLimitExceeded.
	ic := &itemCtx{responseBudget: 4096, responseMax: 8192}
	if _, f := svc.batch(incrementBatch(t, 1, 13), ic, nil); f.kind != faultHandler {
		t.Fatal(f)
	}
	if _, f := svc.batch(incrementBatch(t, 14, 1), ic, nil); f.kind != faultResponseTooLarge || f.needed != 8193 {
		t.Fatal(f)
	}
	// The scratch is the session's and grows to the largest batch only.
	out, f := svc.batch(incrementBatch(t, 5, 6, 7, 8), ic, nil)
	if f.kind != faultNone || cap(ic.values) != 4 {
		t.Fatal(f, cap(ic.values))
	}
	if res, err := appendIncrementAnswers(nil, mustBatch(t, out, 4)); err != nil || fmt.Sprint(res) != "[6 7 8 9]" {
		t.Fatal(res, err)
	}
	if _, f := svc.batch(incrementBatch(t, 5, 6), ic, nil); f.kind != faultNone || cap(ic.values) != 4 {
		t.Fatal(f, cap(ic.values))
	}
}

// A single request through the batch handler (a dispatcher: the session's
// item path).
func TestIncrementBatchDispatcher(t *testing.T) {
	d := NewIncrementBatchDispatcher(incrementAll, 4096)
	req := codec.EncodeIncrement(41)
	out, err := d.Dispatch(req[:])
	if v, derr := codec.DecodeIncrement(out); err != nil || derr != nil || v != 42 {
		t.Fatal(v, err, derr)
	}
	req = codec.EncodeIncrement(13)
	_, err = d.Dispatch(req[:])
	wantStatus(t, err, netipc.StatusInternalError)
	_, err = d.Dispatch([]byte{1})
	wantStatus(t, err, netipc.StatusBadEnvelope)
}

func mustBatch(t *testing.T, p []byte, count uint32) wire.BatchView {
	t.Helper()
	v, err := wire.DecodeBatch(p, count)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func BenchmarkIncrementBatchHandlerServer500(b *testing.B) {
	benchIncrementBatchServer(b, incrementBatchService{func(values []uint64) error {
		for i := range values {
			values[i]++
		}
		return nil
	}})
}
