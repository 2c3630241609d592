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
