//go:build windows

package npipe

import (
	"bytes"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
)

func captured(t testing.TB, name string) []byte { t.Helper(); return sessiontest.Captured(t, name) }

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
