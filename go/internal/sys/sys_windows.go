//go:build windows

// Package sys holds the Windows plumbing shared by the transports: the
// abort handle (a manual-reset event), deadline arithmetic, waits on
// kernel objects that honour a deadline and an abort handle together, and
// Win32 error mapping.
package sys

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
)

// Abort is a sticky, thread-safe abort signal backed by a manual-reset
// event, so a thread blocked in WaitForMultipleObjects wakes up when it is
// triggered.
type Abort struct {
	ev        windows.Handle
	triggered atomic.Bool
	closed    atomic.Bool
}

// NewAbort creates an untriggered abort handle.
func NewAbort() (*Abort, error) {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return nil, Wrap("CreateEvent", err)
	}
	return &Abort{ev: ev}, nil
}

// Trigger fires the abort (idempotent, safe from any goroutine).
func (a *Abort) Trigger() {
	if !a.triggered.Swap(true) && !a.closed.Load() {
		_ = windows.SetEvent(a.ev)
	}
}

// Clear re-arms the handle.
func (a *Abort) Clear() {
	if a.triggered.Swap(false) && !a.closed.Load() {
		_ = windows.ResetEvent(a.ev)
	}
}

// Triggered reports whether the abort fired.
func (a *Abort) Triggered() bool { return a != nil && a.triggered.Load() }

// Check returns netipc.ErrAborted when the abort fired.
func (a *Abort) Check() error {
	if a.Triggered() {
		return netipc.ErrAborted
	}
	return nil
}

// Handle returns the event (signaled once triggered).
func (a *Abort) Handle() windows.Handle { return a.ev }

// Close releases the event; the handle must not be used afterwards.
func (a *Abort) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	return windows.CloseHandle(a.ev)
}

// IsDisconnect reports whether err is one of the Win32 pipe errors that
// mean the peer went away.
func IsDisconnect(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA) ||
		errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED)
}

// Wrap turns a Win32 error into a netipc error: the pipe-disconnect codes
// wrap netipc.ErrPeerClosed; everything else keeps the windows.Errno
// (test it with errors.Is(err, windows.ERROR_XXX)).
func Wrap(op string, err error) error {
	if IsDisconnect(err) {
		return fmt.Errorf("%w (%s: %v)", netipc.ErrPeerClosed, op, err)
	}
	return fmt.Errorf("netipc: %s: %w", op, err)
}

// Remaining returns the time left until deadline (a zero deadline means
// none: ok with -1) or netipc.ErrTimeout when it passed.
func Remaining(deadline time.Time) (time.Duration, error) {
	if deadline.IsZero() {
		return -1, nil
	}
	d := time.Until(deadline)
	if d <= 0 {
		return 0, netipc.ErrTimeout
	}
	return d, nil
}

// WaitMs converts a remaining duration (negative: none) to a Win32 wait
// timeout in milliseconds, rounded up.
func WaitMs(d time.Duration) uint32 {
	if d < 0 {
		return windows.INFINITE
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms >= windows.INFINITE {
		return windows.INFINITE - 1
	}
	return uint32(ms)
}

// Wait blocks until ev is signaled, the deadline passes
// (netipc.ErrTimeout) or the abort fires (netipc.ErrAborted). Extra
// handles (nil entries are skipped) also end the wait: their index in
// extra is returned as woke (-1 when ev was signaled).
func Wait(ev windows.Handle, deadline time.Time, abort *Abort, extra ...windows.Handle) (woke int, err error) {
	var hs [4]windows.Handle
	hs[0] = ev
	n := 1
	var index [4]int
	for i, h := range extra {
		if h != 0 && n < len(hs)-1 {
			hs[n] = h
			index[n] = i
			n++
		}
	}
	abortAt := -1
	if abort != nil {
		hs[n] = abort.ev
		abortAt = n
		n++
	}
	for {
		if err := abort.Check(); err != nil {
			return -1, err
		}
		left, err := Remaining(deadline)
		if err != nil {
			return -1, err
		}
		w, err := windows.WaitForMultipleObjects(hs[:n], false, WaitMs(left))
		if err != nil {
			return -1, Wrap("WaitForMultipleObjects", err)
		}
		switch {
		case w == windows.WAIT_OBJECT_0:
			return -1, nil
		case w == uint32(windows.WAIT_TIMEOUT):
			continue // Remaining reports the timeout once it is due.
		case int(w-windows.WAIT_OBJECT_0) == abortAt:
			return -1, netipc.ErrAborted
		case w > windows.WAIT_OBJECT_0 && int(w-windows.WAIT_OBJECT_0) < n:
			return index[w-windows.WAIT_OBJECT_0], nil
		}
		return -1, fmt.Errorf("netipc: WaitForMultipleObjects returned %#x", w)
	}
}

// Sleep pauses for d (bounded by the deadline), waking early on abort.
func Sleep(d time.Duration, deadline time.Time, abort *Abort) error {
	left, err := Remaining(deadline)
	if err != nil {
		return err
	}
	if left >= 0 && left < d {
		d = left
	}
	if abort == nil {
		time.Sleep(d)
		return nil
	}
	if err := abort.Check(); err != nil {
		return err
	}
	if _, err := windows.WaitForSingleObject(abort.ev, WaitMs(d)); err != nil {
		return Wrap("WaitForSingleObject", err)
	}
	return abort.Check()
}

// Yield gives up the rest of the calling thread's time slice to any
// ready thread (Sleep(0)): a spinner sharing its CPU with the peer it
// waits for lets the peer run.
func Yield() { windows.SleepEx(0, false) }
