//go:build linux

package shm

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shared (non-PRIVATE) futex operations: the word lives in memory mapped
// by two processes.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

// wakeOne wakes at most one waiter on addr. EFAULT (the page vanished)
// is returned as is. FUTEX_WAKE never blocks, so it is a raw system call:
// no scheduler hand-off bookkeeping on every publication.
func wakeOne(addr *uint32) error {
	_, _, e := unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, 1, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// waitOn sleeps while *addr == val, for at most d. Wake-ups, a changed
// value, signals and the timeout all return nil; EFAULT is returned.
// raw makes it a raw system call, unknown to the scheduler (only for
// short sleeps: see RawWaitSlice).
func waitOn(addr *uint32, val uint32, d time.Duration, raw bool) error {
	ts := unix.NsecToTimespec(int64(d))
	call := unix.Syscall6
	if raw {
		call = unix.RawSyscall6
	}
	_, _, e := call(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	switch e {
	case 0, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
		return nil
	}
	return e
}
