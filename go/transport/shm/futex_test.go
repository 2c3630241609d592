//go:build linux

package shm

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeOne wakes a waiter sleeping on the word, reports success with no
// waiter, and reports EFAULT for a word whose page is gone.
func TestWakeOne(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	// SAFETY (test): the mapping is page-aligned and at least 4 bytes.
	word := (*uint32)(unsafe.Pointer(&mem[0]))
	if err := wakeOne(word); err != nil {
		t.Fatalf("wake without a waiter: %v", err)
	}

	done := make(chan error, 1)
	go func() {
		// Generous slices: only the wake (or a changed word) ends them.
		for atomic.LoadUint32(word) == 0 {
			if err := waitOn(word, 0, time.Minute, false); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// The waiter may not be asleep yet: the changed word covers that.
	atomic.StoreUint32(word, 1)
	if err := wakeOne(word); err != nil {
		t.Fatalf("wake: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the waiter was not woken")
	}

	if err := unix.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	if err := wakeOne(word); err != unix.EFAULT {
		t.Fatalf("wake on an unmapped word: %v, want EFAULT", err)
	}
}
