//go:build windows

package npipe

import (
	"bytes"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
	"netipc.local/netipc/wire"
)

func captured(t testing.TB, name string) []byte { t.Helper(); return sessiontest.Captured(t, name) }

func capturedPackets(t testing.TB) [][]byte { return sessiontest.CapturedPackets(t) }

// rawChannel wraps one end of a pipe pair as a session channel with the
// captured session's parameters.
func rawChannel(fd *pipe, client bool) *session.Channel {
	return session.NewChannel(session.PipeConn(fd), sessiontest.RawAck, client)
}

func sendRaw(t testing.TB, p *pipe, pkts ...[]byte) {
	t.Helper()
	sessiontest.SendRaw(t, rawPipe{p}, pkts...)
}

func recvRaw(t testing.TB, p *pipe) []byte { t.Helper(); return sessiontest.RecvRaw(t, rawPipe{p}) }

// pipePair returns a connected client pipe and server pipe instance of a
// fresh endpoint, closed at cleanup.
func pipePair(t testing.TB) (client, server *pipe) {
	t.Helper()
	ep := endpoint(t, "pair")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type res struct {
		p   *PendingConn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		p, err := l.Accept(soon(), nil)
		ch <- res{p, err}
	}()
	c, err := connectPipe(ep, soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = r.p.p.Close() })
	return c, r.p.p
}

// The captured chunked response, fed packet by packet, reassembles to
// exactly payload.bin.
func TestCapturedChunkedResponseReassembles(t *testing.T) {
	a, b := pipePair(t)
	sendRaw(t, a, capturedPackets(t)...)
	ch := rawChannel(b, true)
	h, p, err := ch.Recv(soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.MessageID != 1 || h.Code != netipc.MethodCgroupsSnapshot || h.PayloadLen != 1301 {
		t.Fatal(h)
	}
	if !bytes.Equal(p, captured(t, "chunked_snapshot_resp/payload.bin")) {
		t.Fatal("reassembled payload differs")
	}
}

// Sending payload.bin at packet size 128 produces exactly the captured
// packets.
func TestChunkedSendMatchesCapture(t *testing.T) {
	a, b := pipePair(t)
	ch := rawChannel(a, false)
	payload := captured(t, "chunked_snapshot_resp/payload.bin")
	done := make(chan error, 1)
	go func() {
		done <- ch.Send(wire.ResponseHeader(netipc.MethodCgroupsSnapshot, 1, uint32(len(payload))), payload)
	}()
	for i, want := range capturedPackets(t) {
		if got := recvRaw(t, b); !bytes.Equal(got, want) {
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
func TestCapturedHandshakes(t *testing.T) {
	ep := endpoint(t, "captured")
	cfg := ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
	startServer(t, ep, cfg, incrementServe)
	exchange := func(hello []byte) []byte {
		fd, err := connectPipe(ep, soon(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		sendRaw(t, fd, hello)
		return recvRaw(t, fd)
	}
	if got := exchange(captured(t, "msg_hello_wrong_token.bin")); !bytes.Equal(got, captured(t, "msg_hello_ack_auth_failed.bin")) {
		t.Fatalf("rejection differs: %x", got)
	}
	if got := exchange(captured(t, "msg_hello_pkt128.bin")); !bytes.Equal(got, captured(t, "msg_hello_ack_ok_pkt128.bin")) {
		t.Fatalf("acceptance differs: %x", got)
	}
}

// Our client produces the captured HELLO bytes for the captured settings,
// and accepts the captured HELLO_ACK.
func TestClientHelloMatchesCapture(t *testing.T) {
	cfg, _ := ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}.normalized()
	h := helloFor(&cfg, 128)
	msg := EncodeHelloMsg(h)
	if !bytes.Equal(msg[:], captured(t, "msg_hello_pkt128.bin")) {
		t.Fatal("HELLO differs")
	}
	ack := captured(t, "msg_hello_ack_ok_pkt128.bin")
	a, err := session.CheckAck(ack, len(ack), h, cfg.ResponsePayloadCap)
	if err != nil || a.SessionID != 2 || a.AgreedPacketSize != 128 {
		t.Fatal(err, a)
	}
	rej := captured(t, "msg_hello_ack_auth_failed.bin")
	_, err = session.CheckAck(rej, len(rej), h, cfg.ResponsePayloadCap)
	wantIs(t, err, netipc.ErrAuthFailed)
	// A rejection without its payload is accepted too.
	_, err = session.CheckAck(rej[:32], 32, h, cfg.ResponsePayloadCap)
	wantIs(t, err, netipc.ErrAuthFailed)
}

// A whole captured session: the snapshot request over packet size 128 gets
// the chunked response from a live peer implementation (ours).
func TestSnapshotOverPacket128(t *testing.T) {
	ep := endpoint(t, "pkt128")
	payload := captured(t, "chunked_snapshot_resp/payload.bin")
	cfg := ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536}
	startServer(t, ep, cfg, func(s *session.Server, abort *transport.Abort) error {
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
	c := connect(t, ep, ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536, PacketSize: 128})
	if c.PacketSize() != 128 {
		t.Fatal(c.PacketSize())
	}
	req := captured(t, "msg_snapshot_req.bin")
	m, err := c.Call(netipc.MethodCgroupsSnapshot, req[32:], soon(), nil)
	if err != nil || !bytes.Equal(m.Payload, payload) {
		t.Fatal(err)
	}
}
