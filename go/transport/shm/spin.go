//go:build linux

package shm

import (
	"time"

	"netipc.local/netipc/internal/spin"
	"netipc.local/netipc/internal/sys"
)

// Spin tuning.
const (
	// DefaultMaxSpin bounds the adaptive spin before a receiver sleeps in
	// FUTEX_WAIT.
	DefaultMaxSpin = 20 * time.Microsecond
	// MinSpin is the spin budget of a session whose peer is slow or idle.
	MinSpin = spin.MinSpin
	// ProbeEvery: a session at the minimum budget spins the full maximum
	// once every ProbeEvery waits, to notice that its peer became fast.
	ProbeEvery = spin.ProbeEvery
	// ShmSpinScale: a session whose peer answers fast spins up to this many
	// times its average wait (within MaxSpin). A tight multiple (2x) sent
	// ~0.5 % of receives to FUTEX_WAIT on a peer that was merely a few
	// microseconds late (a Go runtime thread or the host taking its core),
	// and each such sleep costs tens of microseconds of wake-up latency on
	// both sides; 16x kept Go<->Go shm-ping-pong 20-30 % faster here. Slow
	// or idle peers still stop the spin (the tuner's average and failure
	// rules), so an idle session still sleeps.
	ShmSpinScale = 16
)

const checksPerClockRead = 8

// yieldEveryReads: every this many clock readings (32 checks, under a
// microsecond of pausing) a spinning receiver gives its CPU away once
// with sched_yield. When the peer is runnable on this same CPU (a loaded
// host, or both pinned to one core) it then runs at once instead of after
// our whole spin budget: Go<->Go shm-ping-pong with both processes pinned
// to one CPU went from 54k to 168k round trips/s (Rust without the yield:
// 101k). When nothing else waits for the CPU, sched_yield returns at once
// (a fraction of a microsecond), and a peer on its own core answers within
// the first 32 checks anyway: no loss was measured there.
const yieldEveryReads = 4

// spinUntil polls ready with a CPU pause hint between checks until it
// reports true or budget elapsed since start (a sys.Mono reading). It also
// returns about how long it spun: the clock is read once per
// checksPerClockRead checks, never after a check succeeds, and the last
// reading stands for the moment of success (early by at most that many
// pauses, a fraction of any budget the tuner hands out). A message caught
// by the spin thus costs no clock read on its way to the caller. Every
// yieldEveryReads readings it yields the CPU once (see there).
func spinUntil(start time.Duration, budgetNs int64, ready func() bool) (ok bool, spunNs int64) {
	if budgetNs <= 0 {
		return false, 0
	}
	end := start + time.Duration(budgetNs)
	now := start
	for reads := 1; ; reads++ {
		for i := 0; i < checksPerClockRead; i++ {
			if ready() {
				return true, int64(now - start)
			}
			sys.Pause()
		}
		now = sys.Mono()
		if now >= end {
			return ready(), int64(now - start)
		}
		if reads%yieldEveryReads == 0 {
			sys.Yield()
		}
	}
}
