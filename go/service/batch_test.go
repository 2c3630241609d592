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
		{1, 2}, {1, 2, 3, 4, 5, 6, 7},
		{1, 13, 2}, {1, 14, 2}, {1, 15, 2}, {13, 15}, {15, 13},
	} {
		v := incrementBatch(t, values...)
		for _, budget := range []uint32{0, 16, 8 * uint32(len(values)), 16*uint32(len(values)) - 1, 16 * uint32(len(values)), 4096} {
			checkIncrementBatch(t, v, budget)
		}
	}
	// Items of other sizes: malformed, at their position.
	b := wire.NewBatchBuilder(nil, 3)
	_ = b.Add(codec.AppendIncrement(nil, 1))
	_ = b.Add([]byte{1, 2, 3})
	_ = b.Add(codec.AppendIncrement(nil, 15))
	p, _ := b.Finish()
	v, err := wire.DecodeBatch(p, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkIncrementBatch(t, v, 4096)
	svc := incrementService{fuzzIncrementHandler}
	if _, f := svc.batch(v, &itemCtx{responseBudget: 4096}, nil); f.kind != faultMalformed {
		t.Fatal("a 3-byte item answered", f)
	}
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

func BenchmarkIncrementBatchServer500(b *testing.B) {
	v := incrementBatch(b, benchValues()...)
	svc := incrementService{func(v uint64) (uint64, error) { return v + 1, nil }}
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
