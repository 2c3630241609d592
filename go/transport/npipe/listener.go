//go:build windows

// Package npipe is the Windows Named Pipe transport of NetIPC: a
// listener on \\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service} (message
// mode, overlapped I/O, local clients only), the HELLO / HELLO_ACK
// handshake, framing with transparent chunking, batching and pipelining,
// and the switch to the per-session Win SHM data plane (package winshm)
// when negotiated.
//
// Server side: Listen, then Accept in a loop. Accept never reads from the
// peer; the handshake runs on the returned PendingConn (typically on its
// own goroutine, under a deadline). Client side: Connect, then Call, or
// pipelined SendRequest / RecvResponse.
//
// Every pipe operation is overlapped and waits on its event together with
// the abort handle under the deadline; a timeout or abort cancels it with
// CancelIoEx and collects its completion before returning. Deadlines are
// absolute times; the zero time.Time means no deadline. An optional
// *transport.Abort (nil for none) unblocks waits from another goroutine
// with ErrAborted. A timeout or abort before any byte of a message was
// consumed leaves a session usable; every other failure ends it.
package npipe

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/internal/winpipe"
)

// Listener is a listening service endpoint: it keeps one waiting pipe
// instance and creates the next one each time a client connects. Accept
// may be called from several goroutines (they take turns), and Close
// from any goroutine at any time: a blocked Accept then returns
// netipc.ErrClosed at once (as on UDS). The waiting instance is closed
// only once no Accept uses it. Session ids are allocated from 1, one per
// accepted connection.
type Listener struct {
	ep     transport.Endpoint
	name   *uint16
	mu     sync.Mutex // held by the Accept using next
	next   *pipe
	nextID atomic.Uint64
	closed atomic.Bool
	// closing fires on Close and wakes the waiting Accept.
	closing *sys.Abort
}

func createInstance(name *uint16, first bool) (*pipe, error) {
	mode := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		mode |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	h, err := windows.CreateNamedPipe(name, mode,
		windows.PIPE_TYPE_MESSAGE|windows.PIPE_READMODE_MESSAGE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, DefaultBufferSize, DefaultBufferSize, 0, nil)
	if err != nil {
		if first && errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, netipc.ErrAddressInUse
		}
		return nil, sys.Wrap("CreateNamedPipe", err)
	}
	p, err := winpipe.New(h)
	if err != nil {
		_ = windows.CloseHandle(h)
		return nil, err
	}
	return p, nil
}

// Listen creates the first pipe instance of ep: netipc.ErrAddressInUse
// when another server already serves the endpoint. Windows refuses a
// FILE_FLAG_FIRST_PIPE_INSTANCE creation then; Wine ignores the flag, so
// a 1 ms WaitNamedPipe probe (which never connects) checks first.
func Listen(ep transport.Endpoint) (*Listener, error) {
	name, err := windows.UTF16PtrFromString(ep.PipeName())
	if err != nil {
		return nil, &netipc.ArgError{Reason: "pipe name contains NUL"}
	}
	if ok, e := winpipe.WaitNamedPipe(name, 1); ok || !errors.Is(e, windows.ERROR_FILE_NOT_FOUND) {
		return nil, netipc.ErrAddressInUse
	}
	closing, err := sys.NewAbort()
	if err != nil {
		return nil, err
	}
	first, err := createInstance(name, true)
	if err != nil {
		_ = closing.Close()
		return nil, err
	}
	l := &Listener{ep: ep, name: name, next: first, closing: closing}
	l.nextID.Store(1)
	return l, nil
}

// Endpoint returns the endpoint served.
func (l *Listener) Endpoint() transport.Endpoint { return l.ep }

// Accept waits for the next client (until deadline, or abort) and returns
// it without reading from it. A fresh instance is created for the next
// client before the connected one is returned; a timeout or abort keeps
// the waiting instance. It fails with netipc.ErrClosed when the listener
// is closed, before or while it waits.
func (l *Listener) Accept(deadline time.Time, abort *transport.Abort) (*PendingConn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if l.closed.Load() {
			return nil, netipc.ErrClosed
		}
		p := l.next
		l.next = nil
		if p == nil {
			var err error
			if p, err = createInstance(l.name, false); err != nil {
				return nil, err
			}
		}
		err := p.Connect(deadline, abort, l.closing)
		switch {
		case err == nil:
			// Remain available: a failure here surfaces on the next Accept.
			l.next, _ = createInstance(l.name, false)
			return &PendingConn{p: p, ep: l.ep, sessionID: l.nextID.Add(1) - 1}, nil
		case errors.Is(err, netipc.ErrTimeout) || errors.Is(err, netipc.ErrAborted):
			l.next = p
			return nil, err
		case errors.Is(err, netipc.ErrPeerClosed):
			// The client came and went before we saw it: next one.
			_ = p.Close()
			continue
		}
		_ = p.Close()
		return nil, err
	}
}

// Close stops accepting: it wakes a blocked Accept (which returns
// netipc.ErrClosed) and, once no Accept uses it, closes the waiting
// instance; new clients get netipc.ErrNotFound once no instance is left.
// Established sessions and pending connections are not affected. Close
// is idempotent and safe from any goroutine.
func (l *Listener) Close() error {
	first := !l.closed.Swap(true)
	if first {
		l.closing.Trigger()
	}
	// The Accept in progress holds mu until it has returned.
	l.mu.Lock()
	defer l.mu.Unlock()
	if !first || l.closing == nil {
		return nil
	}
	var err error
	if l.next != nil {
		err = l.next.Close()
		l.next = nil
	}
	_ = l.closing.Close()
	l.closing = nil
	return err
}

// PendingConn is a connected client whose handshake has not run yet.
// Closing it (or a failed Handshake) closes the connection.
type PendingConn struct {
	p         *pipe
	ep        transport.Endpoint
	sessionID uint64
	done      bool
}

// SessionID returns the session id reserved for this connection.
func (p *PendingConn) SessionID() uint64 { return p.sessionID }

// Handshake runs the server side of the handshake: reads the HELLO (until
// deadline), decides with the current budgets in cfg (Level 2 passes
// learned budgets), creates Win SHM when selected, and sends the
// HELLO_ACK. On rejection the client receives a rejection HELLO_ACK and
// the error is a *netipc.StatusError naming the status; a malformed HELLO
// is closed without an answer. Either way the connection is closed on
// failure.
func (p *PendingConn) Handshake(cfg ServerConfig, deadline time.Time, abort *transport.Abort) (*ServerSession, error) {
	if p.done {
		return nil, errBroken
	}
	p.done = true
	cfg, err := cfg.normalized()
	if err != nil {
		_ = p.p.Close()
		return nil, err
	}
	ack, region, err := serverHandshake(p.p, p.ep, &cfg, p.sessionID, deadline, abort)
	if err != nil {
		_ = p.p.Close()
		return nil, err
	}
	s := new(ServerSession)
	session.InitServer(&s.serverCore, ack, session.PipeConn(p.p), region)
	return s, nil
}

// Close closes a connection whose handshake was not run.
func (p *PendingConn) Close() error {
	if p.done {
		return nil
	}
	p.done = true
	return p.p.Close()
}
