package wire

import (
	"encoding/binary"
	"testing"
)

// benchItems is the size of a large INCREMENT batch (the batch
// scenarios' ceiling).
const benchItems = 1000

func BenchmarkBatchBuildAddWith1000(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		var bb BatchBuilder
		bb.Reset(buf[:0], benchItems)
		for j := range uint64(benchItems) {
			if err := bb.AddWith(func(p []byte) ([]byte, error) { return binary.NativeEndian.AppendUint64(p, j), nil }); err != nil {
				b.Fatal(err)
			}
		}
		out, err := bb.Finish()
		if err != nil {
			b.Fatal(err)
		}
		buf = out
	}
}

func BenchmarkBatchBuildAdd1000(b *testing.B) {
	buf := make([]byte, 0, 64<<10)
	var item [8]byte
	b.ReportAllocs()
	for b.Loop() {
		var bb BatchBuilder
		bb.Reset(buf[:0], benchItems)
		for range benchItems {
			if err := bb.Add(item[:]); err != nil {
				b.Fatal(err)
			}
		}
		out, err := bb.Finish()
		if err != nil {
			b.Fatal(err)
		}
		buf = out
	}
}

func benchBatch(b *testing.B) []byte {
	var bb BatchBuilder
	bb.Reset(nil, benchItems)
	for j := range uint64(benchItems) {
		if err := bb.Add(binary.NativeEndian.AppendUint64(nil, j)); err != nil {
			b.Fatal(err)
		}
	}
	out, err := bb.Finish()
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func BenchmarkDecodeBatch1000(b *testing.B) {
	p := benchBatch(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(p, benchItems); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBatchItems1000(b *testing.B) {
	p := benchBatch(b)
	v, err := DecodeBatch(p, benchItems)
	if err != nil {
		b.Fatal(err)
	}
	var sum uint64
	b.ReportAllocs()
	for b.Loop() {
		for i := range v.Len() {
			it, _ := v.Item(i)
			sum += binary.NativeEndian.Uint64(it)
		}
	}
	_ = sum
}
