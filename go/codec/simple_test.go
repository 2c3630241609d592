package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"netipc.local/netipc"
)

func TestIncrement(t *testing.T) {
	for _, v := range []uint64{0, 1, 41, math.MaxUint64} {
		b := EncodeIncrement(v)
		if got := must(DecodeIncrement(b[:])); got != v {
			t.Fatal(got)
		}
		if !bytes.Equal(AppendIncrement([]byte{9}, v)[1:], b[:]) {
			t.Fatal("append")
		}
	}
	for n := 0; n < 8; n++ {
		_, err := DecodeIncrement(make([]byte, n))
		wantKind(t, err, netipc.DecodeTruncated)
	}
	_, err := DecodeIncrement(make([]byte, 9))
	wantKind(t, err, netipc.DecodeBadLength)
}

func TestStringReverse(t *testing.T) {
	long := bytes.Repeat([]byte{'x'}, 100000)
	for _, s := range [][]byte{nil, []byte("a"), []byte("\xff\xfe non-utf8"), []byte("in\x00terior"), long} {
		p := must(AppendStringReverse(nil, s))
		if len(p) != StringReversePayloadLen(len(s)) {
			t.Fatal("len")
		}
		v := must(DecodeStringReverse(p))
		if !bytes.Equal(v.Text, s) || !bytes.Equal(v.ToOwned(), s) || v.String() != string(s) {
			t.Fatal("round trip")
		}
	}
	good := must(AppendStringReverse(nil, []byte("abc")))
	// Trailing bytes after the NUL are ignored.
	if v := must(DecodeStringReverse(append(append([]byte(nil), good...), 0xEE, 0xEE))); string(v.Text) != "abc" {
		t.Fatal("trailing")
	}
	t.Run("truncated header", func(t *testing.T) {
		for n := 0; n < 8; n++ {
			_, err := DecodeStringReverse(good[:n])
			wantKind(t, err, netipc.DecodeTruncated)
		}
	})
	t.Run("str_offset != 8", func(t *testing.T) {
		for _, off := range []uint32{0, 4, 9, 16, math.MaxUint32} {
			_, err := DecodeStringReverse(mut(good, func(b []byte) { put32(b, 0, off) }))
			wantKind(t, err, netipc.DecodeInvalidField)
		}
	})
	t.Run("range past payload", func(t *testing.T) {
		_, err := DecodeStringReverse(mut(good, func(b []byte) { put32(b, 4, 4) }))
		wantKind(t, err, netipc.DecodeOutOfBounds)
		_, err = DecodeStringReverse(good[:len(good)-1])
		wantKind(t, err, netipc.DecodeOutOfBounds)
		_, err = DecodeStringReverse(mut(good, func(b []byte) { put32(b, 4, math.MaxUint32) }))
		wantKind(t, err, netipc.DecodeOutOfBounds)
	})
	t.Run("missing NUL", func(t *testing.T) {
		_, err := DecodeStringReverse(mut(good, func(b []byte) { b[len(b)-1] = '!' }))
		wantKind(t, err, netipc.DecodeMissingNul)
		_, err = DecodeStringReverse(mut(good, func(b []byte) { put32(b, 4, 2) }))
		wantKind(t, err, netipc.DecodeMissingNul)
	})
}

func TestSimpleHash(t *testing.T) {
	for s, want := range map[string]uint32{"": 0x811c9dc5, "a": 0x050c5d7e, "foobar": 0x31f0b262} {
		if got := SimpleHash([]byte(s)); got != want {
			t.Fatalf("%q: %#x", s, got)
		}
	}
}

func TestSnapshotRequest(t *testing.T) {
	req := vec(t, "cgroups_req.bin")
	if r := must(DecodeSnapshotRequest(append(append([]byte(nil), req...), 1, 2, 3))); r != DefaultSnapshotRequest {
		t.Fatal("trailing bytes")
	}
	for n := 0; n < 4; n++ {
		_, err := DecodeSnapshotRequest(req[:n])
		wantKind(t, err, netipc.DecodeTruncated)
	}
	for _, lv := range []uint16{0, 2, math.MaxUint16} {
		b := CgroupsSnapshotRequest{LayoutVersion: lv}.Bytes()
		_, err := DecodeSnapshotRequest(b[:])
		wantKind(t, err, netipc.DecodeBadLayoutVersion)
	}
	b := CgroupsSnapshotRequest{LayoutVersion: 1, Flags: 1}.Bytes()
	_, err := DecodeSnapshotRequest(b[:])
	wantKind(t, err, netipc.DecodeNonZeroReserved)
}

func snapOf(items ...CgroupItem) *CgroupsSnapshot {
	return &CgroupsSnapshot{SystemdEnabled: 1, Generation: 7, Items: items}
}

func TestSnapshotRoundTripsAndBuilder(t *testing.T) {
	corpus := CgroupsCorpusSnapshot(300, 3, 11)
	long := bytes.Repeat([]byte("x"), 70000)
	cases := []*CgroupsSnapshot{
		snapOf(),
		snapOf(CgroupItem{Hash: 1, Name: nil, Path: nil}),
		snapOf(CgroupItem{Hash: 2, Name: long, Path: long}, CgroupItem{Hash: 3, Name: []byte("a\x00b"), Path: []byte("p")}),
		&corpus,
	}
	for _, s := range cases {
		p := must(AppendSnapshot(nil, s))
		if n, ok := s.EncodedLen(); !ok || n != len(p) {
			t.Fatal("EncodedLen")
		}
		v := must(DecodeSnapshot(p))
		if v.Len() != len(s.Items) || v.Generation() != s.Generation || v.SystemdEnabled() != s.SystemdEnabled {
			t.Fatal("header")
		}
		for i, it := range v.Items() {
			w := s.Items[i]
			if it.Hash != w.Hash || !bytes.Equal(it.Name, w.Name) || !bytes.Equal(it.Path, w.Path) {
				t.Fatal("item")
			}
		}
		var b CgroupsSnapshotBuilder
		b.ReserveItems(len(s.Items))
		b.Reset(s.SystemdEnabled, s.Generation)
		for i := range s.Items {
			if err := b.Add(&s.Items[i]); err != nil {
				t.Fatal(err)
			}
		}
		if b.PayloadLen() != len(p) || !bytes.Equal(b.Finish(), p) || int(b.ItemCount()) != len(s.Items) {
			t.Fatal("builder bytes differ from encoder")
		}
		var owned CgroupsSnapshot
		v.CopyInto(&owned)
		v.CopyInto(&owned)
		again := must(AppendSnapshot(nil, &owned))
		if !bytes.Equal(again, p) {
			t.Fatal("CopyInto re-encode")
		}
		o := v.ToOwned()
		if !bytes.Equal(must(AppendSnapshot(nil, &o)), p) {
			t.Fatal("ToOwned re-encode")
		}
	}
	// Appending keeps existing bytes; alignment is payload-relative.
	p := must(AppendSnapshot([]byte{1, 2, 3}, cases[2]))
	if _, err := DecodeSnapshot(p[3:]); err != nil || p[0] != 1 {
		t.Fatal(err)
	}
}

func TestSnapshotBuilderLimit(t *testing.T) {
	var b CgroupsSnapshotBuilder
	b.SetMaxPayload(24 + 8 + 34 + 10)
	b.Reset(1, 2)
	if err := b.AddItem(1, 0, 1, []byte("12345"), []byte("12345")); err != nil {
		t.Fatal(err)
	}
	err := b.AddItem(2, 0, 1, []byte("x"), nil)
	var le *netipc.LimitError
	if !errors.As(err, &le) || !errors.Is(err, netipc.ErrLimitExceeded) || le.Limit != netipc.LimitResponsePayload {
		t.Fatal(err)
	}
	if b.ItemCount() != 1 || len(b.Finish()) != 24+8+44 || b.MaxPayload() != 76 {
		t.Fatal("failed add changed the builder")
	}
	b.SetGeneration(9)
	b.SetSystemdEnabled(0)
	v := must(DecodeSnapshot(b.Finish()))
	if v.Generation() != 9 || v.SystemdEnabled() != 0 {
		t.Fatal("setters")
	}
}

// A one-item snapshot used by the rejection tests: header 24, directory 8,
// item at 32: header 32, "nm\0" at 32, "/p\0" at 35, item length 38.
func snapItem() []byte {
	p, _ := AppendSnapshot(nil, snapOf(CgroupItem{Hash: 5, Name: []byte("nm"), Path: []byte("/p")}))
	return p
}

func TestSnapshotRejections(t *testing.T) {
	good := snapItem()
	const I = 32 // item start in the payload
	if _, err := DecodeSnapshot(good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		p    []byte
		kind netipc.DecodeKind
	}{
		{"shorter than the header", good[:23], netipc.DecodeTruncated},
		{"layout version", mut(good, func(b []byte) { put16(b, 0, 2) }), netipc.DecodeBadLayoutVersion},
		{"flags", mut(good, func(b []byte) { put16(b, 2, 1) }), netipc.DecodeNonZeroReserved},
		{"reserved", mut(good, func(b []byte) { put32(b, 12, 1) }), netipc.DecodeNonZeroReserved},
		{"directory past payload", mut(good, func(b []byte) { put32(b, 4, 100) }), netipc.DecodeBadItemCount},
		{"huge item_count", mut(good, func(b []byte) { put32(b, 4, math.MaxUint32) }), netipc.DecodeBadItemCount},
		{"unaligned item", mut(good, func(b []byte) { put32(b, 24, 4) }), netipc.DecodeBadAlignment},
		{"item past packed area", mut(good, func(b []byte) { put32(b, 28, 39) }), netipc.DecodeOutOfBounds},
		{"item offset overflow", mut(good, func(b []byte) { put32(b, 24, 0xFFFFFFF8); put32(b, 28, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"item shorter than its header", mut(good, func(b []byte) { put32(b, 28, 31) }), netipc.DecodeTruncated},
		{"item layout", mut(good, func(b []byte) { put16(b, I, 0) }), netipc.DecodeBadLayoutVersion},
		{"item flags", mut(good, func(b []byte) { put16(b, I+2, 1) }), netipc.DecodeNonZeroReserved},
		{"name inside header", mut(good, func(b []byte) { put32(b, I+16, 31) }), netipc.DecodeOutOfBounds},
		{"path inside header", mut(good, func(b []byte) { put32(b, I+24, 0) }), netipc.DecodeOutOfBounds},
		{"name past item", mut(good, func(b []byte) { put32(b, I+20, 100) }), netipc.DecodeOutOfBounds},
		{"path length overflow", mut(good, func(b []byte) { put32(b, I+28, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"path offset overflow", mut(good, func(b []byte) { put32(b, I+24, math.MaxUint32) }), netipc.DecodeOutOfBounds},
		{"name missing NUL", mut(good, func(b []byte) { put32(b, I+20, 1) }), netipc.DecodeMissingNul},
		{"path missing NUL", mut(good, func(b []byte) { b[len(b)-1] = 'x' }), netipc.DecodeMissingNul},
		{"name and path overlap", mut(good, func(b []byte) { put32(b, I+24, 32); put32(b, I+28, 2) }), netipc.DecodeOverlap},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSnapshot(c.p)
			wantKind(t, err, c.kind)
		})
	}
	// Bytes after the last item are tolerated.
	if _, err := DecodeSnapshot(append(append([]byte(nil), good...), 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotItemIndexPanics(t *testing.T) {
	v := must(DecodeSnapshot(snapItem()))
	var it CgroupItemView
	for _, access := range []func(){
		func() { v.Item(1) },
		func() { v.Item(-1) },
		func() { v.ItemInto(1, &it) },
		func() { v.ItemInto(-1, &it) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			access()
		}()
	}
}

// One builder reused across snapshots of changing sizes (its directory
// reservation follows the previous count), finished mid-way and extended,
// or used from the zero value without Reset, always produces the encoder's
// bytes.
func TestSnapshotBuilderReuse(t *testing.T) {
	var b CgroupsSnapshotBuilder
	for _, n := range []int{3, 40, 40, 1, 0, 17, 300, 16, 16, 5} {
		s := CgroupsCorpusSnapshot(n, uint64(n), 7)
		b.Reset(s.SystemdEnabled, s.Generation)
		half := n / 2
		for i := range s.Items[:half] {
			if err := b.Add(&s.Items[i]); err != nil {
				t.Fatal(err)
			}
		}
		part := CgroupsSnapshot{SystemdEnabled: s.SystemdEnabled, Generation: s.Generation, Items: s.Items[:half]}
		if !bytes.Equal(b.Finish(), must(AppendSnapshot(nil, &part))) {
			t.Fatalf("%d items: partial Finish differs", n)
		}
		for i := range s.Items[half:] {
			if err := b.Add(&s.Items[half+i]); err != nil {
				t.Fatal(err)
			}
		}
		want := must(AppendSnapshot(nil, &s))
		if b.PayloadLen() != len(want) || !bytes.Equal(b.Finish(), want) {
			t.Fatalf("%d items: builder bytes differ from encoder", n)
		}
	}
	var z CgroupsSnapshotBuilder
	if z.PayloadLen() != SnapshotRespHdrSize || !bytes.Equal(z.Finish(), must(AppendSnapshot(nil, &CgroupsSnapshot{}))) {
		t.Fatal("zero builder")
	}
	var z2 CgroupsSnapshotBuilder
	it := CgroupItem{Hash: 1, Name: []byte("n"), Path: []byte("/p")}
	if err := z2.Add(&it); err != nil || !bytes.Equal(z2.Finish(), must(AppendSnapshot(nil, &CgroupsSnapshot{Items: []CgroupItem{it}}))) {
		t.Fatal("zero builder without Reset", err)
	}
}
