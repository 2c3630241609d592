//go:build windows

package npipe

import (
	"errors"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
)

func TestNotFoundAndConfigErrors(t *testing.T) {
	ep := endpoint(t, "nobody")
	_, err := Connect(ep, baseClientCfg(), soon(), nil)
	wantIs(t, err, netipc.ErrNotFound)
	_, err = Connect(ep, ClientConfig{SupportedProfiles: netipc.ProfileShmWaitAddr}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	_, err = Connect(ep, ClientConfig{MaxResponsePayloadBytes: 10, ResponsePayloadCap: 5}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	if _, err := transport.NewEndpoint(`C:\\run`, "a/b"); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}

func TestAddressInUse(t *testing.T) {
	ep := endpoint(t, "taken")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l2, err := Listen(ep)
	if err == nil {
		_ = l2.Close()
	}
	wantIs(t, err, netipc.ErrAddressInUse)
}

// Shutdown (what a stopping Level 2 server uses) wakes a receive blocked
// with no deadline and no abort; with writes, a send blocked on a client
// that does not read.
func TestShutdownWakesBlockedReceiveAndSend(t *testing.T) {
	ep := endpoint(t, "shutdown")
	cfg := ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 4 << 20}
	sessions := make(chan *session.Server, 1)
	results := make(chan error, 2)
	startServer(t, ep, cfg, func(s *session.Server, abort *transport.Abort) error {
		sessions <- s
		_, err := s.RecvRequest(time.Time{}, nil)
		results <- err
		return nil
	})
	connect(t, ep, ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 4 << 20})
	s := <-sessions
	s.Shutdown(false)
	wantIs(t, <-results, netipc.ErrPeerClosed)
	ep2 := endpoint(t, "shutdown-send")
	blocked := make(chan struct{})
	startServer(t, ep2, cfg, func(s *session.Server, abort *transport.Abort) error {
		m, err := s.RecvRequest(time.Time{}, nil)
		if err != nil {
			return err
		}
		sessions <- s
		close(blocked)
		// The client never reads: the pipe buffer fills and this blocks.
		results <- s.SendResponse(m.Header.Code, m.Header.MessageID, make([]byte, 4<<20))
		return nil
	})
	c2 := connect(t, ep2, ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 4 << 20})
	if err := c2.SendRequest(netipc.MethodIncrement, c2.NextMessageID(), codec.AppendIncrement(nil, 1)); err != nil {
		t.Fatal(err)
	}
	s2 := <-sessions
	<-blocked
	s2.Shutdown(true)
	wantIs(t, <-results, netipc.ErrPeerClosed)
}
