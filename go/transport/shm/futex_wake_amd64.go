//go:build linux && amd64

package shm

import "golang.org/x/sys/unix"

// wakeOne wakes at most one waiter on addr. EFAULT (the page vanished)
// is returned as is. FUTEX_WAKE never blocks, so it is a raw system call,
// made by futexWake1 itself: every publication pays it, and the generic
// raw-call path costs two more calls and an ABI wrapper.
func wakeOne(addr *uint32) error {
	if e := futexWake1(addr); e != 0 {
		return unix.Errno(e)
	}
	return nil
}

// futexWake1 is futex(addr, FUTEX_WAKE, 1): it returns the errno (0 on
// success).
//
//go:noescape
func futexWake1(addr *uint32) uintptr
