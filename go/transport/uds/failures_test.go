//go:build linux

package uds

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
)

func TestNotFoundAndConfigErrors(t *testing.T) {
	ep := endpoint(t, "nobody")
	_, err := Connect(ep, baseClientCfg(), soon(), nil)
	wantIs(t, err, netipc.ErrNotFound)
	_, err = Connect(ep, ClientConfig{SupportedProfiles: netipc.ProfileShmFutex}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	_, err = Connect(ep, ClientConfig{MaxResponsePayloadBytes: 10, ResponsePayloadCap: 5}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	if _, err := transport.NewEndpoint(t.TempDir(), "a/b"); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	long := "/" + string(bytes.Repeat([]byte("d"), 100))
	if _, err := transport.NewEndpoint(long, "svc"); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}

func TestSocketModeAndStaleRecovery(t *testing.T) {
	ep := endpoint(t, "stale")
	// A dead server's socket: bound, then closed without unlink.
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: ep.SocketPath()}); err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(fd)
	srv := startServer(t, ep, baseServerCfg(), incrementServe)
	st, err := os.Lstat(ep.SocketPath())
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Fatal(err, st.Mode())
	}
	c := connect(t, ep, baseClientCfg())
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
	// A live server: address in use, and its socket survives.
	_, err = Listen(ep)
	wantIs(t, err, netipc.ErrAddressInUse)
	if callIncrement(t, connect(t, ep, baseClientCfg()), 2) != 3 {
		t.Fatal("live server disturbed")
	}
	srv.Stop()
	if _, err := os.Lstat(ep.SocketPath()); !os.IsNotExist(err) {
		t.Fatal("socket not removed on close")
	}
	// Junk at the socket name is reclaimed; a directory is not.
	if err := os.WriteFile(ep.SocketPath(), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.Symlink("/nonexistent/x", ep.SocketPath()); err != nil {
		t.Fatal(err)
	}
	l, err = Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.Mkdir(ep.SocketPath(), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = Listen(ep)
	wantIs(t, err, netipc.ErrAddressInUse)
	// No private directory is left behind.
	entries, _ := os.ReadDir(ep.RunDir())
	if len(entries) != 1 {
		t.Fatal(entries)
	}
}

// Servers racing for one endpoint (from nothing, or from a dead server's
// socket that every racer sees stale): exactly one wins, the others get
// ErrAddressInUse, and the name is the winner's socket.
func TestRacingListenersExactlyOneWins(t *testing.T) {
	for round := range 20 {
		ep := endpoint(t, "race")
		if round%2 == 1 {
			fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: ep.SocketPath()}); err != nil {
				t.Fatal(err)
			}
			_ = unix.Close(fd)
		}
		const n = 4
		var (
			wg        sync.WaitGroup
			start     = make(chan struct{})
			listeners [n]*Listener
			errs      [n]error
		)
		for i := range n {
			wg.Go(func() {
				<-start
				listeners[i], errs[i] = Listen(ep)
			})
		}
		close(start)
		wg.Wait()
		var winner *Listener
		for i := range n {
			switch {
			case errs[i] == nil && winner == nil:
				winner = listeners[i]
			case errs[i] == nil:
				t.Fatalf("round %d: two winners", round)
			case !errors.Is(errs[i], netipc.ErrAddressInUse):
				t.Fatalf("round %d: %v", round, errs[i])
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no winner: %v", round, errs)
		}
		var st unix.Stat_t
		if err := unix.Lstat(ep.SocketPath(), &st); err != nil || st.Ino != winner.ino || st.Dev != winner.dev {
			t.Fatalf("round %d: the name is not the winner's socket (%v)", round, err)
		}
		_ = winner.Close()
	}
}

// The server cannot create the SHM region (the reservation fails): it
// continues the session on the baseline, never claiming SHM.
func TestShmCreateFailureFallsBackToBaseline(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	ep := endpoint(t, "nofalloc")
	startServer(t, ep, shmServerCfg(), incrementServe)
	lim := old
	lim.Cur = 4096
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	c, err := Connect(ep, shmClientCfg(), soon(), nil)
	_ = unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.IsShm() || c.SelectedProfile() != netipc.ProfileBaseline || c.HelloAck().IntersectionProfiles != 3 {
		t.Fatal(c.HelloAck())
	}
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
}
