//go:build linux

package sys

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/spin"
)

func seqpacketPair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Close(fds[0])
		_ = unix.Close(fds[1])
	})
	return fds[0], fds[1]
}

// longSpin makes any event of a test fall inside the spin: the budget
// of a fresh tuner is its maximum.
func longSpin() spin.Tuner { return spin.New(time.Hour) }

func send(t *testing.T, fd int, b []byte) {
	t.Helper()
	if err := SendPacket(fd, b, nil, time.Time{}); err != nil {
		t.Error(err)
	}
}

func recvSpin(fd int, buf []byte, deadline time.Time, abort *Abort, tu *spin.Tuner) (string, int, error) {
	stored, real, err := RecvPacketSpin(fd, buf[:2], buf[2:], deadline, abort, tu)
	return string(buf[:stored]), real, err
}

// A datagram already queued is taken by the first try: no wait, nothing
// learned. A longer one reports its real length.
func TestRecvSpinQueued(t *testing.T) {
	a, b := seqpacketPair(t)
	tu := spin.New(50 * time.Microsecond)
	before := tu
	send(t, a, []byte("hello"))
	send(t, a, []byte("0123456789"))
	buf := make([]byte, 8)
	got, real, err := recvSpin(b, buf, time.Time{}, nil, &tu)
	if err != nil || got != "hello" || real != 5 {
		t.Fatal(got, real, err)
	}
	got, real, err = recvSpin(b, buf, time.Time{}, nil, &tu)
	if err != nil || got != "01234567" || real <= 8 {
		t.Fatal(got, real, err)
	}
	if tu != before {
		t.Fatal("an immediate receive must not be a sample")
	}
}

// A datagram sent while the receiver spins is received by the spin, and
// the tuner learns a short wait. The sender may beat the first try (then
// nothing is learned), so the test repeats until one arrival came during
// the spin.
func TestRecvSpinArrival(t *testing.T) {
	a, b := seqpacketPair(t)
	buf := make([]byte, 8)
	for range 1000 {
		tu := longSpin()
		go send(t, a, []byte("late"))
		got, _, err := recvSpin(b, buf, time.Time{}, nil, &tu)
		if err != nil || got != "late" {
			t.Fatal(got, err)
		}
		if tu.Budget() < tu.Max() {
			return
		}
	}
	t.Fatal("no arrival was caught by the spin")
}

// The peer closing during the spin ends the receive with ErrPeerClosed.
func TestRecvSpinPeerClose(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	tu := longSpin()
	go func() { _ = unix.Close(fds[0]) }()
	_, _, err = recvSpin(fds[1], make([]byte, 8), time.Time{}, nil, &tu)
	if !errors.Is(err, netipc.ErrPeerClosed) {
		t.Fatal(err)
	}
}

// A deadline shorter than the budget ends the spin with ErrTimeout, and
// consumes nothing: the next datagram is still there.
func TestRecvSpinDeadline(t *testing.T) {
	a, b := seqpacketPair(t)
	tu := longSpin()
	buf := make([]byte, 8)
	start := time.Now()
	_, _, err := recvSpin(b, buf, time.Now().Add(20*time.Millisecond), nil, &tu)
	if !errors.Is(err, netipc.ErrTimeout) {
		t.Fatal(err)
	}
	if time.Since(start) > 30*time.Minute {
		t.Fatal("the spin ignored the deadline")
	}
	_, _, err = recvSpin(b, buf, time.Now().Add(-time.Second), nil, &tu)
	if !errors.Is(err, netipc.ErrTimeout) {
		t.Fatal("a passed deadline must fail before receiving:", err)
	}
	send(t, a, []byte("next"))
	_, _, err = recvSpin(b, buf, time.Now().Add(-time.Second), nil, &tu)
	if !errors.Is(err, netipc.ErrTimeout) {
		t.Fatal("a passed deadline must fail even with data queued:", err)
	}
	got, _, err := recvSpin(b, buf, time.Now().Add(time.Minute), nil, &tu)
	if err != nil || got != "next" {
		t.Fatal(got, err)
	}
}

// An abort fired during the spin ends it with ErrAborted; a handle
// already triggered fails the call before anything is consumed.
func TestRecvSpinAbort(t *testing.T) {
	a, b := seqpacketPair(t)
	ab, err := NewAbort()
	if err != nil {
		t.Fatal(err)
	}
	defer ab.Close()
	tu := longSpin()
	buf := make([]byte, 8)
	go ab.Trigger()
	if _, _, err := recvSpin(b, buf, time.Time{}, ab, &tu); !errors.Is(err, netipc.ErrAborted) {
		t.Fatal(err)
	}
	send(t, a, []byte("kept"))
	if _, _, err := recvSpin(b, buf, time.Time{}, ab, &tu); !errors.Is(err, netipc.ErrAborted) {
		t.Fatal(err)
	}
	ab.Clear()
	got, _, err := recvSpin(b, buf, time.Time{}, ab, &tu)
	if err != nil || got != "kept" {
		t.Fatal(got, err)
	}
}
