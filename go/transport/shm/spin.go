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
// reports true or budget elapsed since start (a sys.Mono reading).
func spinUntil(start time.Duration, budgetNs int64, ready func() bool) bool {
	if budgetNs <= 0 {
		return false
	}
	end := start + time.Duration(budgetNs)
	for {
		for i := 0; i < checksPerClockRead; i++ {
			if ready() {
				return true
			}
			sys.Pause()
		}
		if sys.Mono() >= end {
			return ready()
		}
	}
}
