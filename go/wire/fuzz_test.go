package wire

import (
	"os"
	"path/filepath"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func seeds(f *testing.F, files ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("../../testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
}

func FuzzHeader(f *testing.F) {
	seeds(f, "conformance/vectors/header.bin", "conformance/vectors/msg_increment_req.bin", "vectors/msg_hello_ack_rejected.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		// DecodeHeaderInto agrees, and leaves its target alone on error.
		sentinel := Header{Kind: 7, Flags: 7, Code: 7, TransportStatus: 7, PayloadLen: 7, ItemCount: 7, MessageID: 7}
		into := sentinel
		intoErr := DecodeHeaderInto(&into, b)
		h, err := DecodeHeader(b)
		if (err == nil) != (intoErr == nil) || (err != nil && (err.Error() != intoErr.Error() || into != sentinel)) {
			t.Fatalf("DecodeHeaderInto: %v, %+v; DecodeHeader: %v", intoErr, into, err)
		}
		if err != nil {
			return
		}
		if into != h {
			t.Fatalf("DecodeHeaderInto %+v, DecodeHeader %+v", into, h)
		}
		enc := h.Encode()
		if h2, err := DecodeHeader(enc[:]); err != nil || h2 != h {
			t.Fatal("header does not round trip")
		}
		// Admits (the hot paths' check) and CheckLimits agree, and both
		// follow the limits.
		lim := Limits{MaxPayload: 1024, MaxItems: 4}
		over := h.PayloadLen > lim.MaxPayload || h.ItemCount > lim.MaxItems
		if over != (h.CheckLimits(lim, true) != nil) || over == lim.Admits(&h) {
			t.Fatal("CheckLimits or Admits disagrees with the limits")
		}
	})
}

func FuzzChunkHeader(f *testing.F) {
	seeds(f, "conformance/vectors/chunk_header.bin", "conformance/transport/chunked_snapshot_resp/packet-01.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChunkHeader(b)
		if err != nil {
			return
		}
		enc := c.Encode()
		if c2, err := DecodeChunkHeader(enc[:]); err != nil || c2 != c {
			t.Fatal("chunk header does not round trip")
		}
	})
}

func FuzzBatch(f *testing.F) {
	seeds(f, "conformance/vectors/batch_string_reverse_3.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, n := range []uint32{0, 1, 2, 3, 7, 1 << 31} {
			v, err := DecodeBatch(b, n)
			if err != nil {
				continue
			}
			for i := 0; i < v.Len(); i++ {
				if _, ok := v.Item(i); !ok {
					t.Fatal("validated item missing")
				}
			}
		}
	})
}

func FuzzHello(f *testing.F) {
	seeds(f, "conformance/vectors/hello.bin", "vectors/hello.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHello(b)
		if err == nil {
			enc := h.Encode()
			if h2, err := DecodeHello(enc[:]); err != nil || h2 != h {
				t.Fatal("hello does not round trip")
			}
		}
		n := Negotiate(b, sampleOffer(), 1)
		if n.Decision == Accept && (err != nil || n.Ack.SelectedProfile == 0 || n.Ack.AgreedPacketSize <= 32) {
			t.Fatal("accepted an invalid hello")
		}
	})
}

func FuzzHelloAck(f *testing.F) {
	seeds(f, "conformance/vectors/hello_ack.bin", "vectors/hello_ack.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeHelloAck(b)
		if err != nil {
			return
		}
		enc := a.Encode()
		if a2, err := DecodeHelloAck(enc[:]); err != nil || a2 != a {
			t.Fatal("hello-ack does not round trip")
		}
	})
}

// FuzzBatchDirectory checks DecodeBatch's one-loop verdict against the
// rules applied item by item, in order (the first broken rule is the
// error), and that the views agree with the directory.
func FuzzBatchDirectory(f *testing.F) {
	seeds(f, "conformance/vectors/batch_string_reverse_3.bin")
	f.Add([]byte{8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Fuzz(func(t *testing.T, b []byte) {
		for n := uint32(0); n <= uint32(len(b)/8)+1; n++ {
			v, err := DecodeBatch(b, n)
			want := decodeBatchReference(b, n)
			if (err == nil) != (want == nil) || (err != nil && err.Error() != want.Error()) {
				t.Fatalf("count %d: DecodeBatch says %v, the rules say %v", n, err, want)
			}
			if err != nil {
				continue
			}
			dir, area := v.Parts()
			if len(dir) != int(n)*8 || len(area) != len(b)-int(n)*8 {
				t.Fatal("parts do not split the payload")
			}
			for i := 0; i < v.Len(); i++ {
				off, l, ok := v.DirEntry(i)
				it, ok2 := v.Item(i)
				if !ok || !ok2 || len(it) != int(l) || (l > 0 && &it[0] != &b[int(n)*8+int(off)]) {
					t.Fatal("item does not match its directory entry")
				}
			}
			if _, ok := v.Item(v.Len()); ok {
				t.Fatal("item past the end")
			}
		}
	})
}

// decodeBatchReference is DecodeBatch's rules applied item by item.
func decodeBatchReference(payload []byte, itemCount uint32) error {
	dirLen := uint64(itemCount) * 8
	if dirLen > uint64(len(payload)) {
		return bin.Truncated("batch directory", int(min(dirLen, 1<<40)), len(payload))
	}
	areaLen := uint64(len(payload)) - dirLen
	for i := uint64(0); i < uint64(itemCount); i++ {
		off := uint64(bin.U32(payload, int(i*8)))
		n := uint64(bin.U32(payload, int(i*8+4)))
		if off%8 != 0 {
			return bin.Rule(netipc.DecodeBadAlignment, "batch item offset")
		}
		if off+n > areaLen {
			return bin.Rule(netipc.DecodeOutOfBounds, "batch item")
		}
	}
	return nil
}
