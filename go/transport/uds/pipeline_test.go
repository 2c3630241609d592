//go:build linux

package uds

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/sessiontest"
	"netipc.local/netipc/wire"
)

// patience bounds a send that must not wait forever.
const patience = 30 * time.Second

// A client pipelining more than the socket buffers hold, without reading,
// against a server that answers each request in order (and so blocks
// sending answers nobody reads yet): the client's waiting send receives
// the answers ahead, so neither side waits on the other forever.
func TestPipeliningPastTheSocketBuffers(t *testing.T) {
	const n, size = 48, 60000
	ep := endpoint(t, "deep")
	startServer(t, ep, serverCfg(sessiontest.BaseServerCfg()), func(s *session.Server, abort *transport.Abort) error {
		s.SetSendTimeout(patience)
		for range n {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			answer := slices.Clone(m.Payload)
			slices.Reverse(answer)
			if err := s.SendResponse(1, m.Header.MessageID, answer); err != nil {
				return err
			}
		}
		return nil
	})
	cfg := sessiontest.BaseClientCfg()
	cfg.MaxRequestPayloadBytes = 65536
	c, err := Connect(ep, clientCfg(cfg), soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A regression fails with a timeout instead of hanging the suite.
	c.SetSendTimeout(patience)
	payload := func(i int) []byte {
		b := make([]byte, size)
		for k := range b {
			b[k] = byte(k*7 + i)
		}
		return b
	}
	var ids []uint64
	for i := range n {
		id := c.NextMessageID()
		if err := c.SendRequest(1, id, payload(i)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		m, err := c.RecvResponse(soon(), nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		want := payload(i)
		slices.Reverse(want)
		if m.Header.MessageID != id || !bytes.Equal(m.Payload, want) {
			t.Fatalf("answer %d: id %d (want %d) or payload differs", i, m.Header.MessageID, id)
		}
	}
	if len(c.InFlight()) != 0 {
		t.Fatal("requests left in flight")
	}
}

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
	big := make([]byte, 60000)
	var err error
	for i := uint64(1); err == nil; i++ {
		if i > 10000 {
			t.Fatal("the socket buffers never filled")
		}
		ch.AllowDrain(int(i - 1))
		err = ch.Send(wire.RequestHeader(1, i, uint32(len(big))), big)
	}
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
	big := make([]byte, 60000)
	var err error
	for i := uint64(1); err == nil; i++ {
		if i > 10000 {
			t.Fatal("the socket buffers never filled")
		}
		ch.AllowDrain(int(i - 1))
		err = ch.Send(wire.RequestHeader(1, i, uint32(len(big))), big)
	}
	if !errors.Is(err, netipc.ErrTimeout) || !ch.IsBroken() {
		t.Fatalf("got %v (broken %v), want a timeout ending the channel", err, ch.IsBroken())
	}
}
