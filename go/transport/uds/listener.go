//go:build linux

// Package uds is the UDS SOCK_SEQPACKET transport of NetIPC (Linux):
// secure listeners with stale endpoint recovery, the HELLO / HELLO_ACK
// handshake, framing with transparent chunking, batching and pipelining,
// and the switch to the per-session SHM data plane when negotiated.
//
// Server side: Listen, then Accept in a loop. Accept never reads from the
// peer; the handshake runs on the returned PendingConn (typically on its
// own goroutine, under a deadline), so a silent or trickling client never
// stalls the acceptor. Client side: Connect, then Call, or pipelined
// SendRequest / RecvResponse.
//
// The listening socket {run_dir}/{service}.sock is created mode 0600
// through a private 0700 directory and an atomic no-replace move: the
// umask is never changed and there is no instant in which the socket is
// reachable with wider permissions. A live server's socket is never
// replaced (ErrAddressInUse); stale entries are reclaimed.
//
// Packet size: each side proposes min(configured, SO_SNDBUF - 32); the
// agreed size is the minimum of both. Every chunk of a chunked message but
// the last carries exactly packet_size - 32 payload bytes.
//
// Deadlines are absolute times; the zero time.Time means no deadline. An
// optional *transport.Abort (nil for none) unblocks waits from another
// goroutine with ErrAborted. A timeout or abort before any byte of a
// message was consumed leaves a session usable; every other failure ends
// it.
package uds

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/shm"
)

// Listener is a listening service endpoint. Accept and TryAccept may be
// called from several goroutines, and Close from any goroutine at any
// time: a blocked Accept then returns netipc.ErrClosed at once. The
// socket is closed only after every Accept in progress has returned, so
// its descriptor number can never be reused under an acceptor. Session
// ids are allocated from 1, one per accepted connection (rejected and
// abandoned handshakes consume theirs).
type Listener struct {
	fd       int
	ep       transport.Endpoint
	nextID   atomic.Uint64
	dev, ino uint64
	// closing fires on Close and wakes every waiting Accept.
	closing *sys.Abort
	mu      sync.Mutex
	idle    sync.Cond // signalled when users drops to 0
	users   int       // Accept / TryAccept calls using fd
	closed  bool
	fdDone  bool
}

// Listen binds {run_dir}/{service}.sock securely (mode 0600), recovering a
// stale endpoint, and removes stale SHM regions of this service. It fails
// with netipc.ErrAddressInUse when a live server owns the endpoint. The
// run directory must exist.
func Listen(ep transport.Endpoint) (*Listener, error) {
	closing, err := sys.NewAbort()
	if err != nil {
		return nil, err
	}
	b, err := bindEndpoint(ep, DefaultBacklog)
	if err != nil {
		_ = closing.Close()
		return nil, err
	}
	// Best effort: a failure to clean never prevents serving.
	_, _ = shm.CleanupStale(ep)
	l := &Listener{fd: b.fd, ep: ep, dev: b.dev, ino: b.ino, closing: closing}
	l.idle.L = &l.mu
	l.nextID.Store(1)
	return l, nil
}

// Endpoint returns the endpoint served.
func (l *Listener) Endpoint() transport.Endpoint { return l.ep }

// Fd returns the listening socket (readable when a connection waits). It
// is valid until Close; Accept and TryAccept are the safe ways to use it.
func (l *Listener) Fd() int { return l.fd }

// acquire registers a user of the socket; it fails once Close started.
func (l *Listener) acquire() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return netipc.ErrClosed
	}
	l.users++
	return nil
}

func (l *Listener) release() {
	l.mu.Lock()
	l.users--
	if l.users == 0 {
		l.idle.Broadcast()
	}
	l.mu.Unlock()
}

// Accept waits for the next connection (until deadline, or abort) and
// returns it without reading from it. It fails with netipc.ErrClosed when
// the listener is closed, before or while it waits.
func (l *Listener) Accept(deadline time.Time, abort *transport.Abort) (*PendingConn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	for {
		if err := abort.Check(); err != nil {
			return nil, err
		}
		p, err := l.tryAccept()
		if err != nil || p != nil {
			return p, err
		}
		if err := sys.WaitOrClosed(l.fd, unix.POLLIN, deadline, abort, l.closing); err != nil {
			return nil, err
		}
	}
}

// TryAccept accepts a waiting connection if there is one (nil if none),
// without blocking. It fails with netipc.ErrClosed after Close.
func (l *Listener) TryAccept() (*PendingConn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	defer l.release()
	return l.tryAccept()
}

func (l *Listener) tryAccept() (*PendingConn, error) {
	for {
		if l.closing.Triggered() {
			return nil, netipc.ErrClosed
		}
		fd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC)
		switch err {
		case nil:
			return &PendingConn{fd: fd, ep: l.ep, sessionID: l.nextID.Add(1) - 1}, nil
		case unix.EAGAIN:
			return nil, nil
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return nil, sys.Wrap("accept", err)
	}
}

// Close stops accepting: it wakes every blocked Accept (which returns
// netipc.ErrClosed), unlinks the socket file (only if it is still the one
// Listen created) and, once no Accept uses it any more, closes the
// listening socket. Established sessions and pending connections are not
// affected. Close is idempotent and safe from any goroutine.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		for !l.fdDone {
			l.idle.Wait()
		}
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.closing.Trigger()
	unlinkIfOurs(l.ep.SocketPath(), l.dev, l.ino)
	for l.users > 0 {
		l.idle.Wait()
	}
	err := unix.Close(l.fd)
	_ = l.closing.Close()
	l.fdDone = true
	l.idle.Broadcast()
	l.mu.Unlock()
	return err
}

// PendingConn is an accepted connection whose handshake has not run yet.
// Closing it (or a failed Handshake) closes the connection.
type PendingConn struct {
	fd        int
	ep        transport.Endpoint
	sessionID uint64
	done      bool
}

// SessionID returns the session id reserved for this connection.
func (p *PendingConn) SessionID() uint64 { return p.sessionID }

// Fd returns the connection socket.
func (p *PendingConn) Fd() int { return p.fd }

// Handshake runs the server side of the handshake: reads the HELLO (until
// deadline), decides with the current budgets in cfg (Level 2 passes
// learned budgets), provisions SHM when selected, and sends the HELLO_ACK.
// On rejection the client receives a rejection HELLO_ACK and the error is
// a *netipc.StatusError naming the status; a malformed HELLO is closed
// without an answer. Either way the connection is closed on failure.
func (p *PendingConn) Handshake(cfg ServerConfig, deadline time.Time, abort *transport.Abort) (*ServerSession, error) {
	if p.done {
		return nil, errBroken
	}
	p.done = true
	cfg, err := cfg.normalized()
	if err != nil {
		_ = unix.Close(p.fd)
		return nil, err
	}
	ack, region, err := serverHandshake(p.fd, p.ep, &cfg, p.sessionID, deadline, abort)
	if err != nil {
		_ = unix.Close(p.fd)
		return nil, err
	}
	s := new(ServerSession)
	session.InitServer(&s.serverCore, ack, session.SocketConn(p.fd), region)
	return s, nil
}

// Close closes a connection whose handshake was not run.
func (p *PendingConn) Close() error {
	if p.done {
		return nil
	}
	p.done = true
	return unix.Close(p.fd)
}
