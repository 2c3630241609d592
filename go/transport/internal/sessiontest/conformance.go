//go:build linux || windows

package sessiontest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/wire"
)

// conformanceTests check the wire against the canonical captures.
var conformanceTests = []namedTest{
	{"CapturedChunkedResponseReassembles", testCapturedChunkedResponseReassembles},
	{"ChunkedSendMatchesCapture", testChunkedSendMatchesCapture},
	{"CapturedHandshakes", testCapturedHandshakes},
	{"SnapshotOverPacket128", testSnapshotOverPacket128},
	{"IncrementRoundTrip", testIncrementRoundTrip},
}

// INCREMENT round trips on every profile of the transport.
func testIncrementRoundTrip(t *testing.T, h *Harness) {
	for _, profile := range h.Profiles {
		t.Run(profileName(h, profile), func(t *testing.T) {
			ep := h.Endpoint(t, "incr")
			scfg, ccfg := ProfileCfgs(profile)
			h.StartServer(t, ep, scfg, IncrementServe)
			c := h.connect(t, ep, ccfg)
			if c.IsShm() != (profile != netipc.ProfileBaseline) || c.SelectedProfile() != profile || c.SessionID() != 1 {
				t.Fatal(c.HelloAck())
			}
			for v := uint64(0); v < 1000; v++ {
				if got := CallIncrement(t, c, v); got != v+1 {
					t.Fatal(got)
				}
			}
		})
	}
}

// BenchmarkIncrementRoundTrip measures INCREMENT round trips Go <-> Go
// in one process, one request in flight, on every profile of the
// transport (sub-benchmarks named by Harness.ProfileNames).
func BenchmarkIncrementRoundTrip(b *testing.B, h *Harness) {
	for _, profile := range h.Profiles {
		b.Run(profileName(h, profile), func(b *testing.B) {
			ep := h.Endpoint(b, "bench")
			scfg, ccfg := ProfileCfgs(profile)
			h.StartServer(b, ep, scfg, benchServe)
			c := h.connect(b, ep, ccfg)
			if c.SelectedProfile() != profile {
				b.Fatal("profile")
			}
			var buf [8]byte
			v := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				p := codec.EncodeIncrement(v)
				copy(buf[:], p[:])
				m, err := c.Call(netipc.MethodIncrement, buf[:], time.Time{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				got, err := codec.DecodeIncrement(m.Payload)
				if err != nil || got != v+1 {
					b.Fatal(err)
				}
				v = got
			}
		})
	}
}

// benchServe answers INCREMENT with value + 1 without allocating.
func benchServe(s *session.Server, abort *transport.Abort) error {
	var out [8]byte
	for {
		m, err := s.RecvRequest(time.Time{}, abort)
		if err != nil {
			return err
		}
		v, err := codec.DecodeIncrement(m.Payload)
		if err != nil {
			return err
		}
		out = codec.EncodeIncrement(v + 1)
		if err := s.SendResponse(m.Header.Code, m.Header.MessageID, out[:]); err != nil {
			return err
		}
	}
}

func profileName(h *Harness, profile uint32) string {
	for i, p := range h.Profiles {
		if p == profile && i < len(h.ProfileNames) {
			return h.ProfileNames[i]
		}
	}
	return fmt.Sprintf("profile=%d", profile)
}

// The captured chunked response, fed packet by packet, reassembles to
// exactly payload.bin.
func testCapturedChunkedResponseReassembles(t *testing.T, hs *Harness) {
	a, b := hs.Pair(t)
	SendRaw(t, a, CapturedPackets(t)...)
	ch := session.NewChannel(b, RawAck, true)
	h, p, err := ch.Recv(Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.MessageID != 1 || h.Code != netipc.MethodCgroupsSnapshot || h.PayloadLen != 1301 {
		t.Fatal(h)
	}
	if !bytes.Equal(p, Captured(t, "chunked_snapshot_resp/payload.bin")) {
		t.Fatal("reassembled payload differs")
	}
}

// Sending payload.bin at packet size 128 produces exactly the captured
// packets.
func testChunkedSendMatchesCapture(t *testing.T, hs *Harness) {
	b, conn := hs.Pair(t)
	ch := session.NewChannel(conn, RawAck, false)
	payload := Captured(t, "chunked_snapshot_resp/payload.bin")
	done := make(chan error, 1)
	go func() {
		done <- ch.Send(wire.ResponseHeader(netipc.MethodCgroupsSnapshot, 1, uint32(len(payload))), payload)
	}()
	for i, want := range CapturedPackets(t) {
		if got := RecvRaw(t, b); !bytes.Equal(got, want) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A live server answers the captured HELLOs with exactly the captured
// HELLO_ACKs: a rejection (full 48-byte payload) for the wrong token, then
// an acceptance with packet size 128 and session id 2 (the rejected
// connection consumed id 1).
func testCapturedHandshakes(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "captured")
	cfg := Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
	h.StartServer(t, ep, cfg, IncrementServe)
	exchange := func(hello []byte) []byte {
		r := h.Dial(t, ep)
		defer r.Hangup()
		SendRaw(t, r, hello)
		return RecvRaw(t, r)
	}
	if got := exchange(Captured(t, "msg_hello_wrong_token.bin")); !bytes.Equal(got, Captured(t, "msg_hello_ack_auth_failed.bin")) {
		t.Fatalf("rejection differs: %x", got)
	}
	if got := exchange(Captured(t, "msg_hello_pkt128.bin")); !bytes.Equal(got, Captured(t, "msg_hello_ack_ok_pkt128.bin")) {
		t.Fatalf("acceptance differs: %x", got)
	}
}

// A whole captured session: the snapshot request over packet size 128 gets
// the chunked response from a live peer implementation (ours).
func testSnapshotOverPacket128(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "pkt128")
	payload := Captured(t, "chunked_snapshot_resp/payload.bin")
	cfg := Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
	h.StartServer(t, ep, cfg, func(s *session.Server, abort *transport.Abort) error {
		for {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			if err := s.SendResponse(m.Header.Code, m.Header.MessageID, payload); err != nil {
				return err
			}
		}
	})
	c := h.connect(t, ep, Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536, PacketSize: 128})
	if c.PacketSize() != 128 {
		t.Fatal(c.PacketSize())
	}
	req := Captured(t, "msg_snapshot_req.bin")
	m, err := c.Call(netipc.MethodCgroupsSnapshot, req[32:], Soon(), nil)
	if err != nil || !bytes.Equal(m.Payload, payload) {
		t.Fatal(err)
	}
}
