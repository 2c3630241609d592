//go:build linux

package shm

import (
	"testing"

	"netipc.local/netipc/internal/sys"
)

func TestSpinUntil(t *testing.T) {
	if ok, _ := spinUntil(sys.Mono(), 0, func() bool { return true }); ok {
		t.Fatal("a zero budget does not spin")
	}
	start := sys.Mono()
	if ok, _ := spinUntil(start, 10_000, func() bool { return false }); ok || sys.Mono()-start < 10_000 {
		t.Fatal("the spin stops at its budget, not before")
	}
	// Caught before the first clock reading: no time is counted.
	n := 0
	ok, spun := spinUntil(sys.Mono(), 10_000_000_000, func() bool { n++; return n == 3 })
	if !ok || spun != 0 {
		t.Fatal(ok, spun)
	}
	// Caught after a few readings: what they saw, never more than the time
	// that really passed.
	n = 0
	start = sys.Mono()
	ok, spun = spinUntil(start, 10_000_000_000, func() bool { n++; return n == 10*checksPerClockRead })
	if elapsed := int64(sys.Mono() - start); !ok || spun <= 0 || spun > elapsed {
		t.Fatal(ok, spun, elapsed)
	}
}
