//go:build linux

package uds

import (
	"bytes"
	"testing"

	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
)

func captured(t testing.TB, name string) []byte { t.Helper(); return sessiontest.Captured(t, name) }

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
