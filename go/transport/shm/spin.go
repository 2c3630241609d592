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
