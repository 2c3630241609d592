//go:build linux && !amd64

package shm

import (
	"unsafe"

	"golang.org/x/sys/unix"
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
