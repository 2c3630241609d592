//go:build linux

package shm

import (
	"time"

	"netipc.local/netipc/internal/sys"
)

// Spin tuning.
const (
	// DefaultMaxSpin bounds the adaptive spin before a receiver sleeps in
	// FUTEX_WAIT.
	DefaultMaxSpin = 20 * time.Microsecond
	// MinSpin is the spin budget of a session whose peer is slow or idle.
	MinSpin = 500 * time.Nanosecond
	// ProbeEvery: a session at the minimum budget spins the full maximum
	// once every ProbeEvery waits, to notice that its peer became fast.
	ProbeEvery = 32
)

const (
	failOne            = 1024
	checksPerClockRead = 8
)

// spinTuner learns how long a receiver should spin: about twice the
// moving average of recent waits when those waits are short, the minimum
// when the peer is slow or the session idle (with periodic probes).
//
// It is the Rust implementation's algorithm with one difference: only
// receives that had to wait are samples. A message already published when
// Recv starts (common in ping-pong, where the peer answers while this
// side is still in its FUTEX_WAKE) says nothing about how long a spin
// must last; counting it as a zero wait pulled the budget to the minimum,
// so the next slightly late answer was met with a futex sleep and both
// sides fell into sleeping. Measured under load on 2 cores, Go<->Go
// ping-pong went from ~82k to ~126k calls/s with this rule.
type spinTuner struct {
	maxNs, minNs, avgNs, budgetNs int64
	fail                          int64
	sinceProbe                    int
	probing                       bool
}

func newSpinTuner(max time.Duration) spinTuner {
	m := int64(max)
	return spinTuner{maxNs: m, minNs: min(int64(MinSpin), m), avgNs: m / 2, budgetNs: m}
}

func (t *spinTuner) nextBudget() int64 {
	if t.maxNs == 0 {
		return 0
	}
	if t.budgetNs <= t.minNs {
		t.sinceProbe++
		if t.sinceProbe >= ProbeEvery {
			t.sinceProbe = 0
			t.probing = true
			return t.maxNs
		}
	}
	return t.budgetNs
}

func (t *spinTuner) record(waitedNs int64, spun bool) {
	if t.maxNs == 0 {
		return
	}
	sample := min(waitedNs, t.maxNs*4)
	if t.probing && spun {
		t.avgNs = sample
		t.fail = 0
	} else {
		t.avgNs += (sample - t.avgNs) / 8
		f := int64(0)
		if !spun {
			f = failOne
		}
		t.fail = t.fail - t.fail/8 + f/8
	}
	t.probing = false
	if t.avgNs > t.maxNs || t.fail > failOne/2 {
		t.budgetNs = t.minNs
	} else {
		t.budgetNs = min(max(t.avgNs*2, t.minNs), t.maxNs)
	}
}

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
