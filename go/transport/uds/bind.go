//go:build linux

package uds

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
)

// Secure bind and stale endpoint recovery.
//
// The socket file {run_dir}/{service}.sock is created owner-only (0600)
// without touching the process umask and without any window in which it
// is reachable with wider permissions:
//
//  1. a fresh private 0700 directory is created inside run_dir;
//  2. the socket is bound inside it, chmod'ed to 0600 and put in the
//     listening state;
//  3. it is moved into place with renameat2(RENAME_NOREPLACE) (link +
//     unlink where unsupported), which never replaces an existing entry,
//     so a live server's socket is never clobbered and of two racing
//     servers exactly one wins (placing and reclaiming hold an exclusive
//     flock on run_dir, see below);
//  4. the private directory is removed.
//
// When the name is taken, the entry is probed with a non-blocking
// connect: a live listener (connect succeeds or the backlog is full) is
// ErrAddressInUse; anything else (refused socket, regular file, dangling
// symlink) is moved aside into the private directory, probed again there
// (a concurrent winner is put back, never deleted), then unlinked, and the
// bind retried. Racing binders (Go or Rust) take turns for placing and
// reclaiming: an exclusive flock on the run_dir descriptor, held for those
// few system calls. Without it, a racer could move the winner's fresh
// socket aside on an out-of-date "stale" verdict and a third racer take
// the name before it is put back, leaving the first winner listening on a
// socket nobody can reach. Fd exhaustion during the probe keeps the entry
// (ErrAddressInUse); a directory at the name is never removed.

const (
	maxBindAttempts = 8
	tmpSocket       = "s"
	tmpStale        = "stale"
)

var tmpCounter atomic.Uint64

type privateDir struct {
	parent int
	name   string
	fd     int
	path   string
}

func createPrivateDir(parent int, runDir string) (*privateDir, error) {
	for range 64 {
		name := fmt.Sprintf(".nipc.%x.%x", os.Getpid(), tmpCounter.Add(1))
		err := unix.Mkdirat(parent, name, 0o700)
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			return nil, sys.Wrap("mkdir in run_dir", err)
		}
		// The umask can only have narrowed the mode; restore owner access.
		err = unix.Fchmodat(parent, name, 0o700, 0)
		var fd int
		if err == nil {
			fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			_ = unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
			return nil, sys.Wrap("open private directory", err)
		}
		return &privateDir{parent: parent, name: name, fd: fd, path: filepath.Join(runDir, name)}, nil
	}
	return nil, fmt.Errorf("netipc: could not create a private directory in %s", runDir)
}

// entryPath is a path to entry usable as a socket address: the real path
// when it fits sun_path, else a /proc/self/fd alias.
func (p *privateDir) entryPath(entry string) string {
	direct := filepath.Join(p.path, entry)
	if len(direct) < transport.SunPathMax {
		return direct
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", p.fd, entry)
}

func (p *privateDir) close() {
	_ = unix.Unlinkat(p.fd, tmpSocket, 0)
	_ = unix.Unlinkat(p.fd, tmpStale, 0)
	_ = unix.Close(p.fd)
	_ = unix.Unlinkat(p.parent, p.name, unix.AT_REMOVEDIR)
}

// probeResult is the liveness of whatever sits at a socket path.
type probeResult uint8

const (
	probeLive probeResult = iota + 1
	probeAbsent
	probeStale
)

// probeSocket probes path with a non-blocking SEQPACKET connect. Fd or
// memory exhaustion is ErrAddressInUse (liveness cannot be evaluated).
func probeSocket(path string) (probeResult, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	switch err {
	case nil:
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
		return 0, fmt.Errorf("%w: cannot probe %s: %v", netipc.ErrAddressInUse, path, err)
	default:
		return 0, sys.Wrap("socket", err)
	}
	defer unix.Close(fd)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		switch err {
		case nil, unix.EAGAIN, unix.EINPROGRESS:
			return probeLive, nil
		case unix.EINTR:
			continue
		case unix.ENOENT:
			return probeAbsent, nil
		}
		return probeStale, nil
	}
}

// place moves src (in srcDir) to name in dstDir, never replacing an entry.
func place(srcDir int, src string, dstDir int, name string) error {
	err := unix.Renameat2(srcDir, src, dstDir, name, unix.RENAME_NOREPLACE)
	if err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP {
		if err = unix.Linkat(srcDir, src, dstDir, name, 0); err != nil {
			return err
		}
		_ = unix.Unlinkat(srcDir, src, 0)
		return nil
	}
	return err
}

type bound struct {
	fd       int
	dev, ino uint64
}

func bindEndpoint(ep transport.Endpoint, backlog int) (b bound, err error) {
	name := ep.Service() + transport.SocketSuffix
	dir, err := unix.Open(ep.RunDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return bound{}, sys.Wrap("open run_dir "+ep.RunDir(), err)
	}
	defer unix.Close(dir)
	priv, err := createPrivateDir(dir, ep.RunDir())
	if err != nil {
		return bound{}, err
	}
	defer priv.close()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return bound{}, sys.Wrap("socket", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = unix.Close(fd)
		}
	}()
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: priv.entryPath(tmpSocket)}); err != nil {
		return bound{}, sys.Wrap("bind", err)
	}
	if err := unix.Fchmodat(priv.fd, tmpSocket, 0o600, 0); err != nil {
		return bound{}, sys.Wrap("chmod socket", err)
	}
	// Listen before the socket becomes visible: a racing server's probe
	// must see it live, never refused.
	if err := unix.Listen(fd, backlog); err != nil {
		return bound{}, sys.Wrap("listen", err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(priv.fd, tmpSocket, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return bound{}, sys.Wrap("stat socket", err)
	}
	// Released when dir is closed on return.
	if err := lockExclusive(dir); err != nil {
		return bound{}, sys.Wrap("lock run_dir "+ep.RunDir(), err)
	}
	for range maxBindAttempts {
		err := place(priv.fd, tmpSocket, dir, name)
		if err == nil {
			ok = true
			return bound{fd: fd, dev: st.Dev, ino: st.Ino}, nil
		}
		if err != unix.EEXIST {
			return bound{}, sys.Wrap("rename socket into place", err)
		}
		if err := reclaim(priv, dir, name, ep.SocketPath()); err != nil {
			return bound{}, err
		}
	}
	return bound{}, fmt.Errorf("%w: %s", netipc.ErrAddressInUse, ep.SocketPath())
}

// lockExclusive takes the exclusive flock on dir (waiting for a racing
// binder's turn to end).
func lockExclusive(dir int) error {
	for {
		if err := unix.Flock(dir, unix.LOCK_EX); err != unix.EINTR {
			return err
		}
	}
}

// reclaim removes a stale entry at name, or fails with ErrAddressInUse
// when a live server owns it.
func reclaim(priv *privateDir, dir int, name, sockPath string) error {
	inUse := fmt.Errorf("%w: %s", netipc.ErrAddressInUse, sockPath)
	var st unix.Stat_t
	switch err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err {
	case nil:
	case unix.ENOENT:
		return nil
	default:
		return sys.Wrap("stat "+sockPath, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return inUse
	}
	p, err := probeSocket(sockPath)
	if err != nil {
		return err
	}
	if p == probeLive {
		return inUse
	}
	// Move the entry aside atomically, then re-check it where nobody else
	// can replace it: a concurrent winner is restored, never deleted.
	switch err := unix.Renameat(dir, name, priv.fd, tmpStale); err {
	case nil:
	case unix.ENOENT:
		return nil
	default:
		return sys.Wrap("move stale entry", err)
	}
	if p, err := probeSocket(priv.entryPath(tmpStale)); err != nil || p == probeLive {
		_ = place(priv.fd, tmpStale, dir, name)
		return inUse
	}
	switch err := unix.Unlinkat(priv.fd, tmpStale, 0); err {
	case nil, unix.ENOENT:
		return nil
	case unix.EISDIR, unix.EPERM:
		_ = place(priv.fd, tmpStale, dir, name)
		return inUse
	default:
		return sys.Wrap("unlink stale entry", err)
	}
}

// unlinkIfOurs unlinks path only if it is still the file identified by
// dev/ino, so a successor's socket is never removed.
func unlinkIfOurs(path string, dev, ino uint64) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil && st.Dev == dev && st.Ino == ino {
		_ = unix.Unlink(path)
	}
}
