package wire

import (
	"os"
	"path/filepath"
	"testing"
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
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		enc := h.Encode()
		if h2, err := DecodeHeader(enc[:]); err != nil || h2 != h {
			t.Fatal("header does not round trip")
		}
		_ = h.CheckLimits(Limits{MaxPayload: 1024, MaxItems: 4}, true)
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
