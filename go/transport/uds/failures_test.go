//go:build linux

package uds

import (
	"bytes"
	"errors"
	"os"
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
