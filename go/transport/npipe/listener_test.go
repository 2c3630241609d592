//go:build windows

package npipe

import (
	"sync"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/sessiontest"
)

// Close from another goroutine wakes Accepts blocked without a deadline
// or abort (the one waiting on the instance and those queued behind it):
// they all return ErrClosed, and no instance is left for clients.
func TestListenerCloseWakesBlockedAccepts(t *testing.T) {
	ep := endpoint(t, "close-wakes")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.CloseWakesBlockedAccepts(t, 3, func(deadline time.Time, abort *transport.Abort) error {
		p, err := l.Accept(deadline, abort)
		if p != nil {
			_ = p.Close()
		}
		return err
	}, l.Close)
	_, err = Connect(ep, baseClientCfg(), time.Now().Add(2*time.Second), nil)
	wantIs(t, err, netipc.ErrNotFound)
}

// After Close, Accept fails with ErrClosed at once, and concurrent Close
// calls all return.
func TestListenerAcceptAfterClose(t *testing.T) {
	ep := endpoint(t, "close-after")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	_, err = l.Accept(time.Now().Add(time.Second), nil)
	wantIs(t, err, netipc.ErrClosed)
	_, err = l.Accept(time.Time{}, nil)
	wantIs(t, err, netipc.ErrClosed)
}

// A listener closed while Accept waits still serves nothing afterwards,
// and a listener on the same endpoint can be created again.
func TestListenAgainAfterCloseDuringAccept(t *testing.T) {
	ep := endpoint(t, "close-relisten")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept(time.Time{}, nil)
		done <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		wantIs(t, err, netipc.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
	l2, err := Listen(ep)
	if err != nil {
		t.Fatal("listen again:", err)
	}
	srvDone := make(chan error, 1)
	go func() {
		p, err := l2.Accept(soon(), nil)
		if err == nil {
			var s *ServerSession
			if s, err = p.Handshake(baseServerCfg(), soon(), nil); err == nil {
				err = incrementServe(&s.serverCore, nil)
				_ = s.Close()
			}
		}
		srvDone <- err
	}()
	c := connect(t, ep, baseClientCfg())
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("wrong answer")
	}
	_ = c.Close()
	<-srvDone
	_ = l2.Close()
}
