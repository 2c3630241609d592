//go:build linux || windows

package session

import (
	"encoding/binary"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/wire"
)

// messageItem is Message.Item as a caller outside the transport tree
// gets it: a call, the Message copied in (the alias uds.Message hides the
// inline body from other packages' compiles, golang/go#74783).
//
//go:noinline
func messageItem(m Message, i int) ([]byte, bool) { return m.Item(i) }

func BenchmarkMessageItemCall500(b *testing.B) {
	const n = 500
	var bb wire.BatchBuilder
	bb.Reset(nil, n)
	for j := range uint64(n) {
		_ = bb.Add(binary.NativeEndian.AppendUint64(nil, j))
	}
	p, _ := bb.Finish()
	h := wire.Header{Kind: netipc.KindResponse, Flags: netipc.FlagBatch, Code: netipc.MethodIncrement,
		PayloadLen: uint32(len(p)), ItemCount: n, MessageID: 1}
	m, err := NewMessage(h, p)
	if err != nil {
		b.Fatal(err)
	}
	var sum uint64
	for b.Loop() {
		for j := range n {
			it, _ := messageItem(m, j)
			sum += binary.NativeEndian.Uint64(it)
		}
	}
	_ = sum
}

// Message.Item reads a batch's items straight from Payload: it must
// agree with the validated batch view, and single messages keep their
// one item.
func TestMessageItems(t *testing.T) {
	for _, items := range [][][]byte{{[]byte("a"), []byte("0123456789"), nil}, {{1}, {2}}} {
		var bb wire.BatchBuilder
		bb.Reset(nil, uint32(len(items)))
		for _, it := range items {
			_ = bb.Add(it)
		}
		p, _ := bb.Finish()
		h := wire.Header{Kind: netipc.KindRequest, Flags: netipc.FlagBatch, Code: netipc.MethodStringReverse,
			PayloadLen: uint32(len(p)), ItemCount: uint32(len(items)), MessageID: 1}
		m, err := NewMessage(h, p)
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsBatch() || m.ItemCount() != len(items) || m.Batch().Len() != len(items) {
			t.Fatal("batch not recognised")
		}
		for i := -1; i <= len(items); i++ {
			got, ok := m.Item(i)
			want, wantOK := m.Batch().Item(i)
			if ok != wantOK || string(got) != string(want) || (ok && string(got) != string(items[i])) {
				t.Fatalf("item %d: %q %v, view %q %v", i, got, ok, want, wantOK)
			}
		}
		// An error reply keeps the BATCH flag but carries no directory.
		h.Kind, h.TransportStatus = netipc.KindResponse, netipc.StatusInternalError
		m, err = NewMessage(h, p)
		if err != nil || m.IsBatch() || m.ItemCount() != 1 {
			t.Fatal("error reply read as a batch", err)
		}
		if it, ok := m.Item(0); !ok || len(it) != len(p) {
			t.Fatal("single item lost")
		}
		if it, ok := m.Item(1); ok || it != nil {
			t.Fatal("single message has a second item")
		}
	}
}
