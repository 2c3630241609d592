//go:build windows

// Package winpipe is a message-mode Named Pipe handle opened for
// overlapped I/O, shared by the Named Pipe transport and its session core.
package winpipe

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
)

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procWaitNamedPipe = kernel32.NewProc("WaitNamedPipeW")
	procPeekNamedPipe = kernel32.NewProc("PeekNamedPipe")
)

// Pipe is one message-mode Named Pipe handle opened for overlapped I/O.
//
// Every operation starts overlapped and waits on the pipe's own event
// together with the caller's abort event and the session's shutdown event,
// under the deadline. On timeout, abort or shutdown the operation is
// cancelled with CancelIoEx and its completion collected before returning,
// so neither the OVERLAPPED nor the buffer outlives the call. Both live on
// the heap (the OVERLAPPED in the pipe, buffers in the channel): a
// goroutine stack may move while the kernel still owns them.
type Pipe struct {
	h    windows.Handle
	ev   windows.Handle
	ov   *windows.Overlapped
	shut windows.Handle // manual-reset, sticky: reads fail once set
	kill windows.Handle // manual-reset, sticky: writes fail once set
	// scratch holds the handshake messages (heap, like every buffer
	// handed to overlapped I/O).
	scratch []byte
	closed  bool
	// A write left pending while reads go on (StartWrite): its own event
	// and OVERLAPPED, its length, and whether it is still in the kernel.
	wev      windows.Handle
	wov      *windows.Overlapped
	wlen     int
	wpending bool
}

func New(h windows.Handle) (*Pipe, error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, sys.Wrap("CreateEvent", err)
	}
	shut, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		_ = windows.CloseHandle(ev)
		return nil, sys.Wrap("CreateEvent", err)
	}
	kill, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		_ = windows.CloseHandle(ev)
		_ = windows.CloseHandle(shut)
		return nil, sys.Wrap("CreateEvent", err)
	}
	wev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		_ = windows.CloseHandle(ev)
		_ = windows.CloseHandle(shut)
		_ = windows.CloseHandle(kill)
		return nil, sys.Wrap("CreateEvent", err)
	}
	return &Pipe{h: h, ev: ev, ov: new(windows.Overlapped), shut: shut, kill: kill, scratch: make([]byte, 128),
		wev: wev, wov: new(windows.Overlapped)}, nil
}

// StartWrite starts writing msg as one message and returns at once, so
// that reads can go on while it is pending (a pipe is full duplex). msg
// (heap memory) must stay alive and unchanged until PollWrite reported
// the write done or CancelWrite collected it.
func (p *Pipe) StartWrite(msg []byte) error {
	if shutDown(p.kill) {
		return errShutdown
	}
	*p.wov = windows.Overlapped{HEvent: p.wev}
	_ = windows.ResetEvent(p.wev)
	var done uint32
	err := windows.WriteFile(p.h, msg, &done, p.wov)
	if err != nil && errno(err) != windows.ERROR_IO_PENDING {
		return sys.Wrap("WriteFile", err)
	}
	p.wlen, p.wpending = len(msg), true
	return nil
}

// WritePending reports whether a started write was not collected yet.
func (p *Pipe) WritePending() bool { return p.wpending }

// PollWrite waits up to ms milliseconds for the started write: done once
// it completed whole (collected), false while it is pending. A local
// write shutdown cancels it (errShutdown).
func (p *Pipe) PollWrite(ms uint32) (done bool, err error) {
	w, werr := windows.WaitForMultipleObjects([]windows.Handle{p.wev, p.kill}, false, ms)
	switch {
	case werr != nil:
		p.CancelWrite()
		return false, sys.Wrap("WaitForMultipleObjects", werr)
	case w == uint32(windows.WAIT_TIMEOUT):
		return false, nil
	case w != windows.WAIT_OBJECT_0:
		p.CancelWrite()
		return false, errShutdown
	}
	var n uint32
	err = windows.GetOverlappedResult(p.h, p.wov, &n, true)
	p.wpending = false
	if err != nil {
		return false, sys.Wrap("WriteFile", err)
	}
	if int(n) != p.wlen {
		return false, fmt.Errorf("netipc: short pipe write (%d of %d bytes)", n, p.wlen)
	}
	return true, nil
}

// CancelWrite cancels a started write and collects it (it may have
// completed in the race).
func (p *Pipe) CancelWrite() {
	if !p.wpending {
		return
	}
	_ = windows.CancelIoEx(p.h, p.wov)
	var n uint32
	_ = windows.GetOverlappedResult(p.h, p.wov, &n, true)
	p.wpending = false
}

// Readable reports, without blocking, whether a read would find
// something: a message waiting, or the pipe broken (the read reports it).
func (p *Pipe) Readable() bool {
	var avail uint32
	r, _, _ := procPeekNamedPipe.Call(uintptr(p.h), 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	return r == 0 || avail > 0
}

// Handle returns the pipe handle.
func (p *Pipe) Handle() windows.Handle { return p.h }

// Scratch is a small heap buffer for the handshake messages.
func (p *Pipe) Scratch() []byte { return p.scratch }

// WaitNamedPipe waits up to ms milliseconds for an instance of the named
// pipe to become free: ok when one did, else the reason (timeout, no
// such pipe).
func WaitNamedPipe(name *uint16, ms uint32) (ok bool, err error) {
	// SAFETY: name is a NUL-terminated UTF-16 string the caller keeps
	// alive for the duration of the call.
	r, _, e := procWaitNamedPipe.Call(uintptr(unsafe.Pointer(name)), uintptr(ms))
	return r != 0, e
}

// Close closes the pipe and its events (idempotent).
func (p *Pipe) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.CancelWrite()
	err := windows.CloseHandle(p.h)
	_ = windows.CloseHandle(p.wev)
	_ = windows.CloseHandle(p.ev)
	_ = windows.CloseHandle(p.shut)
	_ = windows.CloseHandle(p.kill)
	return err
}

func (p *Pipe) reset() *windows.Overlapped {
	*p.ov = windows.Overlapped{HEvent: p.ev}
	_ = windows.ResetEvent(p.ev)
	return p.ov
}

// complete waits for the operation started on p.ov (startErr is what the
// starting call returned) and returns the transferred byte count and
// whether the message was longer than the buffer.
func (p *Pipe) complete(op string, startErr error, deadline time.Time, abort *transport.Abort, stop windows.Handle) (int, bool, error) {
	if e := errno(startErr); startErr != nil && e != windows.ERROR_IO_PENDING && e != windows.ERROR_MORE_DATA {
		return 0, false, sys.Wrap(op, startErr)
	}
	woke, interrupted := sys.Wait(p.ev, deadline, abort, stop)
	if interrupted == nil && woke == 0 {
		interrupted = errShutdown
	}
	if interrupted != nil {
		_ = windows.CancelIoEx(p.h, p.ov)
	}
	var n uint32
	err := windows.GetOverlappedResult(p.h, p.ov, &n, true)
	switch {
	case err == nil:
		return int(n), false, nil
	case errno(err) == windows.ERROR_MORE_DATA:
		return int(n), true, nil
	case interrupted != nil:
		return 0, false, interrupted
	}
	return 0, false, sys.Wrap(op, err)
}

// Read reads one message into buf (heap memory the caller keeps alive).
func (p *Pipe) Read(buf []byte, deadline time.Time, abort *transport.Abort) (n int, more bool, err error) {
	if err := abort.Check(); err != nil {
		return 0, false, err
	}
	if _, err := sys.Remaining(deadline); err != nil {
		return 0, false, err
	}
	if shutDown(p.shut) {
		return 0, false, errShutdown
	}
	ov := p.reset()
	var done uint32
	err = windows.ReadFile(p.h, buf, &done, ov)
	return p.complete("ReadFile", err, deadline, abort, p.shut)
}

// Write writes msg (heap memory the caller keeps alive) as one message.
func (p *Pipe) Write(msg []byte, deadline time.Time) error {
	if _, err := sys.Remaining(deadline); err != nil {
		return err
	}
	if shutDown(p.kill) {
		return errShutdown
	}
	ov := p.reset()
	var done uint32
	err := windows.WriteFile(p.h, msg, &done, ov)
	n, _, err := p.complete("WriteFile", err, deadline, nil, p.kill)
	if err != nil {
		return err
	}
	if n != len(msg) {
		return fmt.Errorf("netipc: short pipe write (%d of %d bytes)", n, len(msg))
	}
	return nil
}

// Connect waits (server side) for a client to connect to this instance.
// A triggered closing (nil for none; the listener's) ends the wait with
// netipc.ErrClosed.
func (p *Pipe) Connect(deadline time.Time, abort *transport.Abort, closing *sys.Abort) error {
	if closing.Triggered() {
		return netipc.ErrClosed
	}
	if err := abort.Check(); err != nil {
		return err
	}
	if _, err := sys.Remaining(deadline); err != nil {
		return err
	}
	ov := p.reset()
	err := windows.ConnectNamedPipe(p.h, ov)
	if errors.Is(err, windows.ERROR_PIPE_CONNECTED) {
		return nil // a client connected between creation and this call
	}
	if err != nil && !errors.Is(err, windows.ERROR_IO_PENDING) {
		return sys.Wrap("ConnectNamedPipe", err)
	}
	var stop windows.Handle
	if closing != nil {
		stop = closing.Handle()
	}
	_, _, err = p.complete("ConnectNamedPipe", windows.ERROR_IO_PENDING, deadline, abort, stop)
	if err == errShutdown {
		// The only stop handle of a connect is the listener closing.
		return netipc.ErrClosed
	}
	return err
}

// PeerGone reports, without blocking, whether the pipe is broken or holds
// unsolicited data (an idle client session expects none).
func (p *Pipe) PeerGone() bool {
	if shutDown(p.shut) {
		return true
	}
	var avail uint32
	r, _, _ := procPeekNamedPipe.Call(uintptr(p.h), 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	return r == 0 || avail > 0
}

// PeerBroken reports, without blocking, whether the pipe broke or the
// session was shut down (the hang-up probe of an SHM session).
func (p *Pipe) PeerBroken() bool {
	if shutDown(p.shut) {
		return true
	}
	r, _, _ := procPeekNamedPipe.Call(uintptr(p.h), 0, 0, 0, 0, 0)
	return r == 0
}

// Shutdown makes every later read (and the one in progress) fail with
// netipc.ErrPeerClosed; with writes too, also every write. Safe from any
// goroutine.
func (p *Pipe) Shutdown(writes bool) {
	_ = windows.SetEvent(p.shut)
	if writes {
		_ = windows.SetEvent(p.kill)
	}
}

// errno returns the Win32 code of a system-call error (0 for nil or
// another error); unlike errors.Is against a constant above 255 it boxes
// nothing on the hot path.
func errno(err error) windows.Errno {
	e, _ := err.(windows.Errno)
	return e
}

// errShutdown is what reads return once Shutdown was called.
var errShutdown = fmt.Errorf("%w (session shut down locally)", netipc.ErrPeerClosed)

func shutDown(ev windows.Handle) bool {
	w, err := windows.WaitForSingleObject(ev, 0)
	return err == nil && w == windows.WAIT_OBJECT_0
}
