//go:build linux

// Package sys holds the Linux system-call plumbing shared by the
// transports: the abort handle (an eventfd), readiness waits that honour a
// deadline and an abort handle together, allocation-free SEQPACKET
// send/receive with iovecs, and errno mapping.
package sys

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/spin"
)

// Abort is a sticky, thread-safe abort signal backed by an eventfd, so a
// thread blocked in poll(2) wakes up when it is triggered.
type Abort struct {
	fd        int
	triggered atomic.Bool
	closed    atomic.Bool
}

// NewAbort creates an untriggered abort handle.
func NewAbort() (*Abort, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, Wrap("eventfd", err)
	}
	return &Abort{fd: fd}, nil
}

// Trigger fires the abort (idempotent, safe from any goroutine).
func (a *Abort) Trigger() {
	if !a.triggered.Swap(true) && !a.closed.Load() {
		var one = [8]byte{1}
		_, _ = unix.Write(a.fd, one[:])
	}
}

// Clear re-arms the handle.
func (a *Abort) Clear() {
	if a.triggered.Swap(false) && !a.closed.Load() {
		var b [8]byte
		_, _ = unix.Read(a.fd, b[:])
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

// Fd returns the eventfd (readable once triggered).
func (a *Abort) Fd() int { return a.fd }

// Close releases the eventfd; the handle must not be used afterwards.
func (a *Abort) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	return unix.Close(a.fd)
}

// Wrap turns a system-call error into a netipc error: EPIPE, ECONNRESET
// and ENOTCONN wrap netipc.ErrPeerClosed; everything else keeps the errno
// (test it with errors.Is(err, unix.EXXX)).
func Wrap(op string, err error) error {
	var e unix.Errno
	if errors.As(err, &e) && (e == unix.EPIPE || e == unix.ECONNRESET || e == unix.ENOTCONN) {
		return fmt.Errorf("%w (%s: %v)", netipc.ErrPeerClosed, op, e)
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

func pollMs(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<30 {
		return 1 << 30
	}
	return int(ms)
}

// Wait blocks until fd reports one of events (or hang-up/error), the
// deadline passes (netipc.ErrTimeout) or the abort fires
// (netipc.ErrAborted).
func Wait(fd int, events int16, deadline time.Time, abort *Abort) error {
	return WaitOrClosed(fd, events, deadline, abort, nil)
}

// WaitOrClosed is Wait that also returns netipc.ErrClosed once closing
// (an owner's private close signal, nil for none) fires.
func WaitOrClosed(fd int, events int16, deadline time.Time, abort, closing *Abort) error {
	for {
		if closing.Triggered() {
			return netipc.ErrClosed
		}
		if err := abort.Check(); err != nil {
			return err
		}
		left, err := Remaining(deadline)
		if err != nil {
			return err
		}
		fds := [3]unix.PollFd{{Fd: int32(fd), Events: events}}
		n, ai := 1, 0
		if abort != nil {
			fds[n] = unix.PollFd{Fd: int32(abort.fd), Events: unix.POLLIN}
			ai = n
			n++
		}
		if closing != nil {
			fds[n] = unix.PollFd{Fd: int32(closing.fd), Events: unix.POLLIN}
			n++
		}
		_, err = unix.Poll(fds[:n], pollMs(left))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Wrap("poll", err)
		}
		if closing.Triggered() {
			return netipc.ErrClosed
		}
		if abort.Triggered() || (ai != 0 && fds[ai].Revents != 0) {
			return netipc.ErrAborted
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return fmt.Errorf("netipc: poll: %w", unix.EBADF)
		}
		if fds[0].Revents != 0 {
			return nil
		}
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
	fds := [1]unix.PollFd{{Fd: int32(abort.fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds[:], pollMs(d)); err != nil && err != unix.EINTR {
		return Wrap("poll", err)
	}
	return abort.Check()
}

func iov(b []byte) unix.Iovec {
	v := unix.Iovec{}
	if len(b) > 0 {
		v.Base = &b[0]
		v.SetLen(len(b))
	}
	return v
}

// SendPacket sends one SEQPACKET datagram gathered from head and body (all
// or nothing). With a zero deadline the send blocks; otherwise a full
// socket buffer is waited for until the deadline. The first attempt never
// blocks (a raw system call, no scheduler bookkeeping); only a blocking
// send that found no room makes the blocking call.
func SendPacket(fd int, head, body []byte, deadline time.Time) error {
	iovs := [2]unix.Iovec{iov(head), iov(body)}
	msg := unix.Msghdr{Iov: &iovs[0]}
	msg.SetIovlen(2)
	total := len(head) + len(body)
	if sent, err := sendmsgOnce(fd, &msg, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, total); err != nil || sent {
		return err
	}
	if deadline.IsZero() {
		sent, err := sendmsgOnce(fd, &msg, unix.MSG_NOSIGNAL, total)
		if err == nil && !sent {
			err = Wrap("sendmsg", unix.EAGAIN)
		}
		return err
	}
	for {
		if err := Wait(fd, unix.POLLOUT, deadline, nil); err != nil {
			return err
		}
		if sent, err := sendmsgOnce(fd, &msg, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, total); err != nil || sent {
			return err
		}
	}
}

// sendmsgOnce sends one whole datagram of total bytes (retrying EINTR):
// false when the socket had no room (EAGAIN). A MSG_DONTWAIT send cannot
// block, so it is a raw system call.
func sendmsgOnce(fd int, msg *unix.Msghdr, flags, total int) (bool, error) {
	call := unix.Syscall
	if flags&unix.MSG_DONTWAIT != 0 {
		call = unix.RawSyscall
	}
	for {
		n, _, e := call(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(msg)), uintptr(flags))
		switch {
		case e == 0 && int(n) == total:
			return true, nil
		case e == 0:
			return false, fmt.Errorf("netipc: short send on a SOCK_SEQPACKET socket")
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			return false, nil
		}
		return false, Wrap("sendmsg", e)
	}
}

// SendPacketOrReadable is SendPacket for a sender that can receive first:
// while the socket's send buffer is full it also watches the socket for
// data (or hang-up) and returns false, nothing sent, as soon as some
// arrives. true: the datagram was sent.
func SendPacketOrReadable(fd int, head, body []byte, deadline time.Time) (bool, error) {
	iovs := [2]unix.Iovec{iov(head), iov(body)}
	msg := unix.Msghdr{Iov: &iovs[0]}
	msg.SetIovlen(2)
	for {
		if sent, err := sendmsgOnce(fd, &msg, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, len(head)+len(body)); err != nil || sent {
			return sent, err
		}
		left, err := Remaining(deadline)
		if err != nil {
			return false, err
		}
		fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT | unix.POLLIN}}
		if _, err := unix.Poll(fds[:], pollMs(left)); err != nil && err != unix.EINTR {
			return false, Wrap("poll", err)
		}
		// Writable: send again (progress first, also when data waits).
		// Readable, hang-up or error without room: the caller receives.
		// Nothing (time-out): Remaining above ends it.
		if r := fds[0].Revents; r&unix.POLLOUT == 0 && r != 0 {
			return false, nil
		}
	}
}

// recvIovlen is the iovec count of a receive into head and body: without
// body, head alone (which recvOnce receives with recvfrom).
func recvIovlen(body []byte) int {
	if len(body) == 0 {
		return 1
	}
	return 2
}

// RecvPacket receives one datagram scattered into head then body. It
// returns the bytes stored and the real datagram length (greater than the
// buffers when the datagram was truncated). A zero-length read is the peer
// closing (netipc.ErrPeerClosed). With a deadline or an abort the socket is
// polled first.
func RecvPacket(fd int, head, body []byte, deadline time.Time, abort *Abort) (stored, real int, err error) {
	polled := abort != nil || !deadline.IsZero()
	iovs := [2]unix.Iovec{iov(head), iov(body)}
	msg := unix.Msghdr{Iov: &iovs[0]}
	msg.SetIovlen(recvIovlen(body))
	capacity := len(head) + len(body)
	flags := unix.MSG_TRUNC
	if polled {
		flags |= unix.MSG_DONTWAIT
	}
	for {
		if polled {
			if err := Wait(fd, unix.POLLIN, deadline, abort); err != nil {
				return 0, 0, err
			}
		}
		stored, real, e := recvOnce(fd, &msg, capacity, flags)
		switch {
		case e == 0:
			return stored, real, nil
		case e == unix.EINTR, e == unix.EAGAIN && polled:
			continue
		default:
			return 0, 0, recvError(e)
		}
	}
}

// recvOnce is one receive of a datagram into the iovecs of msg (capacity
// bytes in all, see recvIovlen): recvmsg(2), or recvfrom(2) straight into
// the buffer when there is one (no message header for the kernel to copy
// in and check). A zero-length datagram is reported as errPeerClosed.
// flags include MSG_TRUNC: the result is the datagram's real length.
func recvOnce(fd int, msg *unix.Msghdr, capacity, flags int) (stored, real int, e unix.Errno) {
	msg.Flags = 0
	call := unix.Syscall6
	if flags&unix.MSG_DONTWAIT != 0 {
		// Cannot block: skip the scheduler's system-call bookkeeping.
		call = unix.RawSyscall6
	}
	var n uintptr
	if msg.Iovlen == 1 {
		n, _, e = call(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(msg.Iov.Base)), uintptr(capacity), uintptr(flags), 0, 0)
	} else {
		n, _, e = call(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(msg)), uintptr(flags), 0, 0, 0)
	}
	switch {
	case e != 0:
		return 0, 0, e
	case n == 0:
		return 0, 0, errPeerClosed
	}
	real = int(n)
	stored = min(real, capacity)
	if msg.Flags&unix.MSG_TRUNC != 0 && real <= capacity {
		real = capacity + 1
	}
	return stored, real, 0
}

// errPeerClosed marks, inside this file, a receive that returned 0 bytes
// (no real errno has this value).
const errPeerClosed = unix.Errno(^uintptr(0) >> 1)

func recvError(e unix.Errno) error {
	if e == errPeerClosed {
		return fmt.Errorf("%w (recv returned 0)", netipc.ErrPeerClosed)
	}
	return Wrap("recvmsg", e)
}

// RecvPacketSpin is RecvPacket preceded by the adaptive spin tuner learns.
//
// Waking a thread blocked in the kernel costs tens of microseconds on some
// machines (idle virtual CPUs), far more than a round trip to a busy
// peer. So when nothing is queued yet, the receiver first retries a
// non-blocking receive for the tuner's budget, yielding the CPU every few
// tries (the peer may be waiting for this very core), and only then
// blocks (or polls) like RecvPacket. An idle session's budget collapses
// to the tuner's minimum, so it blocks in the kernel and costs no CPU.
//
// Deadline and abort keep their meaning: an abort triggered or a deadline
// passed before the call fails it before anything is consumed; the spin
// ends when the abort fires or the deadline passes, and the receive that
// follows reports it.
func RecvPacketSpin(fd int, head, body []byte, deadline time.Time, abort *Abort, t *spin.Tuner) (stored, real int, err error) {
	if err := abort.Check(); err != nil {
		return 0, 0, err
	}
	budget := t.NextBudget()
	if !deadline.IsZero() {
		left, err := Remaining(deadline)
		if err != nil {
			return 0, 0, err
		}
		budget = min(budget, int64(left))
	}
	iovs := [2]unix.Iovec{iov(head), iov(body)}
	msg := unix.Msghdr{Iov: &iovs[0]}
	msg.SetIovlen(recvIovlen(body))
	capacity := len(head) + len(body)
	const flags = unix.MSG_TRUNC | unix.MSG_DONTWAIT
	try := func() (bool, error) {
		for {
			s, r, e := recvOnce(fd, &msg, capacity, flags)
			switch e {
			case 0:
				stored, real = s, r
				return true, nil
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false, nil
			}
			return true, recvError(e)
		}
	}
	// Already queued: no wait happened, nothing to learn.
	if done, err := try(); done {
		return stored, real, err
	}
	start := Mono()
	if budget > 0 {
		end := start + time.Duration(budget)
		for i := 0; ; i++ {
			if i%triesPerYield == 0 {
				Yield()
			}
			if done, err := try(); done {
				t.Record(int64(Mono()-start), true)
				return stored, real, err
			}
			if abort.Triggered() || Mono() >= end {
				break
			}
		}
	}
	stored, real, err = RecvPacket(fd, head, body, deadline, abort)
	t.Record(int64(Mono()-start), false)
	return stored, real, err
}

// triesPerYield: the spin yields the CPU before every fourth try. A
// yield per try (the Rust implementation's choice) made Go<->Go
// uds-ping-pong ~5-10% slower on 2 cores: the message is noticed later,
// each sched_yield costing about as much as a try. Yielding every few
// tries (a microsecond or two) still lets a peer that needs this core run.
const triesPerYield = 4

// Yield gives the CPU to any runnable thread (sched_yield(2), a raw
// system call: it never blocks).
func Yield() { _, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// MaxPacketSize is the largest packet size a SEQPACKET datagram on fd can
// carry: SO_SNDBUF - 32 (65536 - 32 when it cannot be read).
func MaxPacketSize(fd int) uint32 {
	sndbuf, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil || sndbuf <= 0 {
		sndbuf = 65536
	}
	return uint32(max(sndbuf-netipc.HeaderLen, 0))
}

// ProposedPacketSize is min(configured, SO_SNDBUF - 32); 0 = automatic.
func ProposedPacketSize(fd int, configured uint32) uint32 {
	m := MaxPacketSize(fd)
	if configured == 0 {
		return m
	}
	return min(configured, m)
}

// PeerHungUp polls fd with a zero timeout: hang-up, read hang-up or error
// means the peer is gone.
func PeerHungUp(fd int) (bool, error) {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	n, err := unix.Poll(fds[:], 0)
	if err == unix.EINTR || n == 0 {
		return false, nil
	}
	if err != nil {
		return false, Wrap("poll", err)
	}
	if fds[0].Revents&unix.POLLNVAL != 0 {
		return false, fmt.Errorf("netipc: peer socket: %w", unix.EBADF)
	}
	return fds[0].Revents&(unix.POLLHUP|unix.POLLRDHUP|unix.POLLERR) != 0, nil
}
