//go:build linux

package uds

import (
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/sessiontest"
)

// Close from another goroutine wakes every Accept blocked without a
// deadline or abort; they all return ErrClosed and the socket file is
// gone.
func TestListenerCloseWakesBlockedAccepts(t *testing.T) {
	ep := endpoint(t, "close-wakes")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.CloseWakesBlockedAccepts(t, 4, func(deadline time.Time, abort *transport.Abort) error {
		p, err := l.Accept(deadline, abort)
		if p != nil {
			_ = p.Close()
		}
		return err
	}, l.Close)
	if _, err := os.Lstat(ep.SocketPath()); !os.IsNotExist(err) {
		t.Fatal("socket file left behind:", err)
	}
}

// After Close, Accept and TryAccept fail with ErrClosed without touching
// the old descriptor number, even when a new file reuses it.
func TestListenerAcceptAfterCloseLeavesReusedFdAlone(t *testing.T) {
	ep := endpoint(t, "close-reuse")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	old := l.Fd()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The lowest free descriptor is the one just closed.
	a, b := socketpair(t)
	if a != old && b != old {
		t.Logf("descriptor %d not reused (got %d, %d)", old, a, b)
	}
	_, err = l.Accept(time.Now().Add(time.Second), nil)
	wantIs(t, err, netipc.ErrClosed)
	p, err := l.TryAccept()
	if p != nil {
		t.Fatal("accepted after Close")
	}
	wantIs(t, err, netipc.ErrClosed)
	// Both ends of the pair still work.
	if _, err := unix.Write(a, []byte{1}); err != nil {
		t.Fatal(err)
	}
	var buf [1]byte
	if n, err := unix.Read(b, buf[:]); n != 1 || err != nil {
		t.Fatal(n, err)
	}
}

// Several goroutines accept concurrently while clients connect; Close in
// the middle ends them all; every connection is accepted at most once and
// every session id is distinct (run under -race).
func TestListenerConcurrentAcceptAndClose(t *testing.T) {
	ep := endpoint(t, "concurrent")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	const acceptors, clients = 3, 12
	var mu sync.Mutex
	ids := map[uint64]bool{}
	var wg sync.WaitGroup
	accepted := make(chan struct{}, clients)
	for range acceptors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				p, err := l.Accept(time.Time{}, nil)
				if err != nil {
					if err != netipc.ErrClosed {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				if ids[p.SessionID()] {
					t.Errorf("session id %d accepted twice", p.SessionID())
				}
				ids[p.SessionID()] = true
				mu.Unlock()
				_ = p.Close()
				accepted <- struct{}{}
			}
		}()
	}
	for range clients {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: ep.SocketPath()}); err != nil {
			t.Fatal(err)
		}
		_ = unix.Close(fd)
	}
	for range clients {
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("connections not accepted")
		}
	}
	var closers sync.WaitGroup
	for range 2 {
		closers.Add(1)
		go func() {
			defer closers.Done()
			_ = l.Close()
		}()
	}
	closers.Wait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("acceptors still blocked after Close")
	}
	if len(ids) != clients {
		t.Fatalf("accepted %d of %d", len(ids), clients)
	}
}

// TryAccept without a waiting client returns nothing, without error.
func TestTryAcceptWithoutClient(t *testing.T) {
	l, err := Listen(endpoint(t, "try"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if p, err := l.TryAccept(); p != nil || err != nil {
		t.Fatal(p, err)
	}
}
