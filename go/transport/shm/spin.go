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

// spinUntil polls ready with a CPU pause hint between checks until it
// reports true or budget elapsed since start (a sys.Mono reading). It also
// returns about how long it spun: the clock is read once per
// checksPerClockRead checks, never after a check succeeds, and the last
// reading stands for the moment of success (early by at most that many
// pauses, a fraction of any budget the tuner hands out). A message caught
// by the spin thus costs no clock read on its way to the caller.
func spinUntil(start time.Duration, budgetNs int64, ready func() bool) (ok bool, spunNs int64) {
	if budgetNs <= 0 {
		return false, 0
	}
	end := start + time.Duration(budgetNs)
	now := start
	for {
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
	}
}
