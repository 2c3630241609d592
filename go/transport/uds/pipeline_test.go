//go:build linux

package uds

import (
	"errors"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
	"netipc.local/netipc/wire"
)

// patience bounds a send that must not wait forever.
const patience = 30 * time.Second

// What a waiting send receives ahead is judged like any receive: a peer
// that never reads and sends junk ends the session with the rule broken.
func TestWaitingSendJudgesWhatItReceivesAhead(t *testing.T) {
	a, b := socketpair(t)
	ack := sessiontest.RawAck
	ack.AgreedMaxRequestPayloadBytes = 65536
	ack.AgreedPacketSize = 65536 + netipc.HeaderLen
	ch := session.NewChannel(session.SocketConn(b), ack, true)
	ch.SetSendTimeout(patience)
	// The peer never reads; it sends one junk packet (bad magic).
	if err := sys.SendPacket(a, make([]byte, netipc.HeaderLen), nil, soon()); err != nil {
		t.Fatal(err)
	}
	err := pipelineUntilFailure(t, ch)
	var de *netipc.DecodeError
	if !errors.As(err, &de) || !ch.IsBroken() {
		t.Fatalf("got %v (broken %v), want a decode error ending the channel", err, ch.IsBroken())
	}
}

// A message received ahead that stops half way (the first packet of a
// chunked answer, then nothing) ends the channel at the send deadline:
// part of it was read, so the stream is unusable.
func TestWaitingSendTimingOutMidMessageEndsTheChannel(t *testing.T) {
	a, b := socketpair(t)
	const packet = 65536 + netipc.HeaderLen
	ack := sessiontest.RawAck
	ack.AgreedMaxRequestPayloadBytes = 65536
	ack.AgreedMaxResponsePayloadBytes = 262144
	ack.AgreedPacketSize = packet
	ch := session.NewChannel(session.SocketConn(b), ack, true)
	ch.SetSendTimeout(300 * time.Millisecond)
	// The peer never reads; it sends the first packet of a 200000-byte
	// answer to request 1, and nothing more.
	first := make([]byte, packet)
	wire.ResponseHeader(1, 1, 200000).EncodeTo(first)
	if err := sys.SendPacket(a, first, nil, soon()); err != nil {
		t.Fatal(err)
	}
	err := pipelineUntilFailure(t, ch)
	if !errors.Is(err, netipc.ErrTimeout) || !ch.IsBroken() {
		t.Fatalf("got %v (broken %v), want a timeout ending the channel", err, ch.IsBroken())
	}
}

// pipelineUntilFailure sends 60 KB requests on ch, never reading, each
// allowed to take ahead one answer per request before it, until a send
// fails; it returns that failure.
func pipelineUntilFailure(t *testing.T, ch *session.Channel) error {
	t.Helper()
	big := make([]byte, 60000)
	for i := uint64(1); ; i++ {
		if i > 10000 {
			t.Fatal("the socket buffers never filled")
		}
		ch.AllowDrain(int(i - 1))
		if err := ch.Send(wire.RequestHeader(1, i, uint32(len(big))), big); err != nil {
			return err
		}
	}
}
