package wire

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
)

func wantKind(t *testing.T, err error, kind netipc.DecodeKind) {
	t.Helper()
	var de *netipc.DecodeError
	if !errors.As(err, &de) || de.Kind != kind || !errors.Is(err, netipc.ErrProtocol) {
		t.Fatalf("want %v, got %v", kind, err)
	}
}

func mut(p []byte, f func(b []byte)) []byte {
	b := append([]byte(nil), p...)
	f(b)
	return b
}

func TestHeader(t *testing.T) {
	h := Header{Kind: netipc.KindRequest, Flags: netipc.FlagBatch, Code: 2, PayloadLen: 12345, ItemCount: 42, MessageID: 0xDEADBEEFCAFEBABE}
	b := h.Encode()
	got, err := DecodeHeader(b[:])
	if err != nil || got != h || !h.HasBatchDirectory() || h.TotalLen() != 32+12345 {
		t.Fatal(err, got)
	}
	good := b[:]
	wantKind(t, second(DecodeHeader(good[:31])), netipc.DecodeTruncated)
	wantKind(t, second(DecodeHeader(mut(good, func(b []byte) { b[0] ^= 1 }))), netipc.DecodeBadMagic)
	wantKind(t, second(DecodeHeader(mut(good, func(b []byte) { bin.Put16(b, 4, 2) }))), netipc.DecodeBadVersion)
	wantKind(t, second(DecodeHeader(mut(good, func(b []byte) { bin.Put16(b, 6, 31) }))), netipc.DecodeBadHeaderLen)
	for _, k := range []uint16{0, 4, 0xFFFF} {
		wantKind(t, second(DecodeHeader(mut(good, func(b []byte) { bin.Put16(b, 8, k) }))), netipc.DecodeBadKind)
	}
	lim := Limits{MaxPayload: 100, MaxItems: 2}
	if RequestHeader(1, 1, 100).CheckLimits(lim, true) != nil {
		t.Fatal("at the limit")
	}
	var le *netipc.LimitError
	if err := RequestHeader(1, 1, 101).CheckLimits(lim, true); !errors.As(err, &le) || le.Limit != netipc.LimitRequestPayload {
		t.Fatal(err)
	}
	r := ResponseHeader(1, 1, 8)
	r.ItemCount = 3
	if err := r.CheckLimits(lim, false); !errors.As(err, &le) || le.Limit != netipc.LimitResponseItems || !errors.Is(err, netipc.ErrLimitExceeded) {
		t.Fatal(err)
	}
	e := ErrorResponseHeader(2, 11, netipc.StatusLimitExceeded)
	if e.Flags != 0 || e.ItemCount != 1 || e.PayloadLen != 0 || e.Kind != netipc.KindResponse {
		t.Fatal(e)
	}
	c := ControlHeader(netipc.CodeHello, 0, 44)
	if c.MessageID != 0 || c.ItemCount != 1 || c.Kind != netipc.KindControl {
		t.Fatal(c)
	}
	rq := RequestHeader(1, 1, 8)
	rq.Flags = netipc.FlagBatch
	for n, want := range map[uint32]bool{0: false, 1: false, 2: true} {
		rq.ItemCount = n
		if rq.HasBatchDirectory() != want || !rq.IsBatchFlagged() {
			t.Fatal(n)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestChunkHeader(t *testing.T) {
	c := ChunkHeader{MessageID: 0x1234567890ABCDEF, TotalMessageLen: 100000, ChunkIndex: 3, ChunkCount: 10, ChunkPayloadLen: 8192}
	b := c.Encode()
	if got, err := DecodeChunkHeader(b[:]); err != nil || got != c {
		t.Fatal(err)
	}
	good := b[:]
	wantKind(t, second(DecodeChunkHeader(good[:20])), netipc.DecodeTruncated)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { b[0] = 0 }))), netipc.DecodeBadMagic)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put16(b, 4, 9) }))), netipc.DecodeBadVersion)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put16(b, 6, 1) }))), netipc.DecodeNonZeroReserved)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put32(b, 24, 0) }))), netipc.DecodeInvalidField)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put32(b, 20, 10) }))), netipc.DecodeInvalidField)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put32(b, 28, 0) }))), netipc.DecodeBadLength)
	wantKind(t, second(DecodeChunkHeader(mut(good, func(b []byte) { bin.Put32(b, 16, 0) }))), netipc.DecodeBadLength)
}

func TestChunkPlan(t *testing.T) {
	p, ok := NewChunkPlan(1301, 128)
	if !ok || p.ChunkCount != 14 || !p.IsChunked() {
		t.Fatal(p)
	}
	if s, e := p.Range(1301, 0); s != 0 || e != 96 {
		t.Fatal(s, e)
	}
	if s, e := p.Range(1301, 13); s != 1248 || e != 1301 {
		t.Fatal(s, e)
	}
	for _, c := range []struct{ n, pkt, count int }{{96, 128, 1}, {97, 128, 2}, {0, 128, 1}, {33, 33, 33}} {
		if p, ok := NewChunkPlan(c.n, c.pkt); !ok || int(p.ChunkCount) != c.count {
			t.Fatal(c, p)
		}
	}
	for _, pkt := range []int{32, 0, -1} {
		if _, ok := NewChunkPlan(10, pkt); ok {
			t.Fatal(pkt)
		}
	}
	// Every chunk but the last carries exactly packet-32 bytes; ranges
	// cover the payload.
	for _, n := range []int{0, 1, 95, 96, 97, 1000, 65536} {
		for _, pkt := range []int{33, 100, 128, 4096} {
			p, _ := NewChunkPlan(n, pkt)
			covered := 0
			for i := uint32(0); i < p.ChunkCount; i++ {
				s, e := p.Range(n, i)
				if s != covered || e-s > pkt-32 || (i+1 < p.ChunkCount && e-s != pkt-32) {
					t.Fatal(n, pkt, i)
				}
				covered = e
			}
			if covered != n {
				t.Fatal("coverage")
			}
		}
	}
}

func buildBatch(t *testing.T, items ...[]byte) []byte {
	b := NewBatchBuilder(nil, uint32(len(items)))
	for _, it := range items {
		if err := b.Add(it); err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBatch(t *testing.T) {
	items := [][]byte{[]byte("a"), []byte("0123456789"), nil}
	p := buildBatch(t, items...)
	if len(p)%8 != 0 {
		t.Fatal("padding")
	}
	v, err := DecodeBatch(p, 3)
	if err != nil || v.Len() != 3 {
		t.Fatal(err)
	}
	for i, want := range items {
		got, ok := v.Item(i)
		if !ok || !bytes.Equal(got, want) {
			t.Fatal(i)
		}
	}
	if _, ok := v.Item(3); ok {
		t.Fatal("out of range")
	}
	for i, want := range [][2]uint32{{0, 1}, {8, 10}, {24, 0}} {
		o, l, ok := v.DirEntry(i)
		if !ok || o != want[0] || l != want[1] {
			t.Fatal(i, o, l)
		}
	}
	// Zero items: an empty payload.
	if e := buildBatch(t); len(e) != 0 {
		t.Fatal("empty batch")
	}
	if v, err := DecodeBatch(nil, 0); err != nil || v.Len() != 0 {
		t.Fatal(err)
	}
	// The builder enforces the announced count; a failing writer rolls back.
	b := NewBatchBuilder([]byte{0xAA}, 1)
	if err := b.AddWith(func(buf []byte) ([]byte, error) { return append(buf, 1, 2), errors.New("x") }); err == nil {
		t.Fatal("writer error lost")
	}
	if _, err := b.Finish(); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("short batch finished")
	}
	_ = b.Add([]byte("x"))
	if err := b.Add([]byte("y")); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("extra item accepted")
	}
	out, _ := b.Finish()
	if out[0] != 0xAA || len(out) != 1+16 {
		t.Fatal("prefix or rollback", out)
	}
	good := buildBatch(t, []byte("abcdefgh"), []byte("12345678"))
	wantKind(t, second(DecodeBatch(good[:8], 2)), netipc.DecodeTruncated)
	wantKind(t, second(DecodeBatch(good, math.MaxUint32)), netipc.DecodeTruncated)
	wantKind(t, second(DecodeBatch(mut(good, func(b []byte) { bin.Put32(b, 8, 3) }), 2)), netipc.DecodeBadAlignment)
	wantKind(t, second(DecodeBatch(mut(good, func(b []byte) { bin.Put32(b, 12, 9) }), 2)), netipc.DecodeOutOfBounds)
	wantKind(t, second(DecodeBatch(mut(good, func(b []byte) { bin.Put32(b, 8, 0xFFFFFFF8); bin.Put32(b, 12, math.MaxUint32) }), 2)), netipc.DecodeOutOfBounds)
}

func sampleHello() Hello {
	return Hello{SupportedProfiles: netipc.ProfileBaseline | netipc.ProfileShmHybrid, PreferredProfiles: netipc.ProfileShmHybrid,
		MaxRequestPayloadBytes: 4096, MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 65536, MaxResponseBatchItems: 1,
		AuthToken: 7, PacketSize: 65536}
}

func sampleOffer() ServerOffer {
	return ServerOffer{SupportedProfiles: netipc.ProfileBaseline | netipc.ProfileShmHybrid, PreferredProfiles: netipc.ProfileShmHybrid,
		MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 1 << 20, PacketSize: 212960, AuthToken: 7}
}

func TestHello(t *testing.T) {
	h := sampleHello()
	b := h.Encode()
	if got, err := DecodeHello(b[:]); err != nil || got != h {
		t.Fatal(err)
	}
	good := b[:]
	wantKind(t, second(DecodeHello(good[:43])), netipc.DecodeTruncated)
	wantKind(t, second(DecodeHello(mut(good, func(b []byte) { bin.Put16(b, 0, 2) }))), netipc.DecodeBadLayoutVersion)
	wantKind(t, second(DecodeHello(mut(good, func(b []byte) { bin.Put16(b, 2, 1) }))), netipc.DecodeNonZeroReserved)
	wantKind(t, second(DecodeHello(mut(good, func(b []byte) { bin.Put32(b, 28, 1) }))), netipc.DecodeNonZeroReserved)
	if _, c := ClassifyHello(mut(good, func(b []byte) { bin.Put16(b, 0, 2) })); c != HelloIncompatible {
		t.Fatal(c)
	}

	a := HelloAck{ServerSupportedProfiles: 7, IntersectionProfiles: 5, SelectedProfile: 4, AgreedMaxRequestPayloadBytes: 2048,
		AgreedMaxRequestBatchItems: 50, AgreedMaxResponsePayloadBytes: 65536, AgreedMaxResponseBatchItems: 1, AgreedPacketSize: 32768, SessionID: 1}
	ab := a.Encode()
	if got, err := DecodeHelloAck(ab[:]); err != nil || got != a {
		t.Fatal(err)
	}
	rej := HelloAck{}.Encode()
	if got, err := DecodeHelloAck(rej[:]); err != nil || got != (HelloAck{}) {
		t.Fatal(err)
	}
	ag := rej[:]
	wantKind(t, second(DecodeHelloAck(ag[:47])), netipc.DecodeTruncated)
	wantKind(t, second(DecodeHelloAck(mut(ag, func(b []byte) { bin.Put16(b, 0, 0) }))), netipc.DecodeBadLayoutVersion)
	wantKind(t, second(DecodeHelloAck(mut(ag, func(b []byte) { bin.Put16(b, 2, 1) }))), netipc.DecodeNonZeroReserved)
	wantKind(t, second(DecodeHelloAck(mut(ag, func(b []byte) { bin.Put32(b, 36, 1) }))), netipc.DecodeNonZeroReserved)
}

func negotiate(h Hello, o ServerOffer) Negotiation {
	b := h.Encode()
	return Negotiate(b[:], o, 3)
}

func TestNegotiateAccepts(t *testing.T) {
	n := negotiate(sampleHello(), sampleOffer())
	a := n.Ack
	if n.Decision != Accept || a.SelectedProfile != netipc.ProfileShmHybrid || a.IntersectionProfiles != 3 ||
		a.AgreedMaxRequestPayloadBytes != 4096 || a.AgreedMaxResponsePayloadBytes != 1<<20 ||
		a.AgreedMaxRequestBatchItems != 1 || a.AgreedMaxResponseBatchItems != 1 || a.AgreedPacketSize != 65536 ||
		a.SessionID != 3 || a.ServerSupportedProfiles != 3 {
		t.Fatalf("%+v", n)
	}
	// The response batch items equal the request batch items; the
	// client's response hints are ignored.
	h := sampleHello()
	h.MaxRequestBatchItems, h.MaxResponseBatchItems, h.MaxResponsePayloadBytes = 50, 1, 7
	if a := negotiate(h, sampleOffer()).Ack; a.AgreedMaxResponseBatchItems != 50 || a.AgreedMaxResponsePayloadBytes != 1<<20 {
		t.Fatalf("%+v", a)
	}
	// No common preference: highest bit of the intersection.
	h = sampleHello()
	h.PreferredProfiles = 0
	h.SupportedProfiles |= netipc.ProfileShmFutex
	o := sampleOffer()
	o.SupportedProfiles |= netipc.ProfileShmFutex
	if a := negotiate(h, o).Ack; a.SelectedProfile != netipc.ProfileShmFutex {
		t.Fatal(a)
	}
	o = sampleOffer()
	o.SupportedProfiles = netipc.ProfileBaseline
	if a := negotiate(sampleHello(), o).Ack; a.SelectedProfile != netipc.ProfileBaseline {
		t.Fatal(a)
	}
	// Packet size: the minimum; 33 is the smallest accepted.
	h = sampleHello()
	h.PacketSize = 33
	if n := negotiate(h, sampleOffer()); n.Decision != Accept || n.Ack.AgreedPacketSize != 33 {
		t.Fatal(n)
	}
	if HighestBit(0) != 0 || HighestBit(1) != 1 || HighestBit(6) != 4 || HighestBit(math.MaxUint32) != 1<<31 {
		t.Fatal("HighestBit")
	}
}

func TestNegotiateRejectionOrder(t *testing.T) {
	o := sampleOffer()
	good := sampleHello().Encode()
	rej := func(status uint16, n Negotiation) {
		t.Helper()
		if n.Decision != Reject || n.Status != status {
			t.Fatalf("want reject %d, got %+v", status, n)
		}
	}
	rej(netipc.StatusIncompatible, Negotiate(mut(good[:], func(b []byte) { bin.Put16(b, 0, 9); bin.Put16(b, 2, 1) }), o, 1))
	rej(netipc.StatusBadEnvelope, Negotiate(mut(good[:], func(b []byte) { bin.Put16(b, 2, 1) }), o, 1))
	rej(netipc.StatusBadEnvelope, Negotiate(mut(good[:], func(b []byte) { bin.Put32(b, 28, 1) }), o, 1))
	if n := Negotiate(good[:40], o, 1); n.Decision != Drop {
		t.Fatal(n)
	}
	h := sampleHello()
	h.SupportedProfiles, h.AuthToken = netipc.ProfileShmFutex, 8
	rej(netipc.StatusUnsupported, negotiate(h, o)) // profile before auth
	h = sampleHello()
	h.AuthToken, h.MaxRequestPayloadBytes = 8, 1<<30
	rej(netipc.StatusAuthFailed, negotiate(h, o)) // auth before limits
	h = sampleHello()
	h.MaxRequestPayloadBytes, h.PacketSize = 4097, 32
	rej(netipc.StatusLimitExceeded, negotiate(h, o)) // limits before packet size
	h = sampleHello()
	h.PacketSize = 32
	rej(netipc.StatusIncompatible, negotiate(h, o))
	o.PacketSize = 32
	rej(netipc.StatusIncompatible, negotiate(sampleHello(), o))
}

// AppendUniformBatch lays a batch out exactly as a BatchBuilder adding
// the same items does.
func TestAppendUniformBatch(t *testing.T) {
	for _, count := range []uint32{0, 1, 2, 3, 17} {
		for _, size := range []int{0, 1, 7, 8, 9, 16} {
			prefix := []byte{0xAA, 0xBB, 0xCC}
			got, area, err := AppendUniformBatch(bytes.Clone(prefix), count, size)
			if err != nil {
				t.Fatal(err)
			}
			b := NewBatchBuilder(bytes.Clone(prefix), count)
			for range count {
				if err := b.Add(make([]byte, size)); err != nil {
					t.Fatal(err)
				}
			}
			want, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || area != len(prefix)+int(count)*8 {
				t.Fatalf("%d items of %d bytes: %x (area %d), the builder makes %x", count, size, got, area, want)
			}
		}
	}
	// Offsets past 32 bits: refused before any allocation.
	if _, _, err := AppendUniformBatch(nil, 1<<30, 8); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("offsets past 32 bits accepted", err)
	}
	if _, _, err := AppendUniformBatch(nil, 1, -1); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal("negative size accepted", err)
	}
}

// DecodeBatch's pairwise, branch-free pass finds every broken entry, at
// any position of an even or odd count: a misaligned offset, an item past
// the area, and one whose end overflows 32 bits.
func TestBatchDirectoryEveryBadEntry(t *testing.T) {
	for count := 1; count <= 5; count++ {
		for bad := range count {
			for _, kind := range []string{"align", "bounds", "wide"} {
				b := NewBatchBuilder(nil, uint32(count))
				for range count {
					if err := b.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil {
						t.Fatal(err)
					}
				}
				p, err := b.Finish()
				if err != nil {
					t.Fatal(err)
				}
				e := p[bad*8:]
				switch kind {
				case "align":
					ne.PutUint32(e, ne.Uint32(e)+4)
				case "bounds":
					ne.PutUint32(e[4:], uint32(count*8)-ne.Uint32(e)+1)
				case "wide":
					ne.PutUint32(e[4:], 0xFFFFFFFF)
				}
				_, err = DecodeBatch(p, uint32(count))
				want := decodeBatchReference(p, uint32(count))
				if err == nil || want == nil || err.Error() != want.Error() {
					t.Fatalf("%d items, entry %d %s: %v, want %v", count, bad, kind, err, want)
				}
			}
		}
	}
}
