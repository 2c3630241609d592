// Package spin holds the adaptive spin learner shared by the receive
// paths that spin before sleeping: the SHM futex wait and the UDS
// pre-poll receive.
package spin

import "time"

const (
	// MinSpin is the spin budget of a session whose peer is slow or idle.
	MinSpin = 500 * time.Nanosecond
	// ProbeEvery: a session at the minimum budget spins the full maximum
	// once every ProbeEvery waits, to notice that its peer became fast.
	ProbeEvery = 32
)

const failOne = 1024

// Tuner learns how long a receiver should spin: a multiple of the moving
// average of recent waits (twice it by default) when those waits are short, the minimum when
// the peer is slow or the session idle (with periodic probes), and the
// minimum as well when spins keep failing (oversubscribed CPUs).
//
// It is the Rust implementation's algorithm with one difference: callers
// record only receives that had to wait. A message already there when a
// receive starts (common in ping-pong, where the peer answers while this
// side is still in its wake-up call) says nothing about how long a spin
// must last; counting it as a zero wait pulled the budget to the minimum,
// so the next slightly late answer was met with a sleep and both sides
// fell into sleeping. Measured under load on 2 cores, Go<->Go SHM
// ping-pong went from ~82k to ~126k calls/s with this rule.
type Tuner struct {
	maxNs, minNs, avgNs, budgetNs int64
	scale                         int64
	fail                          int64
	sinceProbe                    int
	probing                       bool
}

// New returns a tuner whose budget never exceeds limit (0 disables
// spinning) and is twice the average wait. A fresh tuner starts at the
// full budget.
func New(limit time.Duration) Tuner { return NewScaled(limit, 2) }

// NewScaled is New with a budget of scale times the average wait (at
// least 1). A wider margin suits waits with a long tail relative to
// their mean whose misses are expensive: a socket round trip that
// sometimes takes twice the usual time, where a miss costs a kernel
// wake-up of tens of microseconds.
func NewScaled(limit time.Duration, scale int64) Tuner {
	m := int64(limit)
	return Tuner{maxNs: m, minNs: min(int64(MinSpin), m), avgNs: m / 2, budgetNs: m, scale: max(scale, 1)}
}

// Max is the upper bound of the budget, in nanoseconds.
func (t *Tuner) Max() int64 { return t.maxNs }

// Budget is the current budget, in nanoseconds (without probes).
func (t *Tuner) Budget() int64 { return t.budgetNs }

// NextBudget is the spin budget of the next wait, in nanoseconds.
func (t *Tuner) NextBudget() int64 {
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

// Record learns from one wait: how long it lasted in nanoseconds and
// whether the spin caught the message.
func (t *Tuner) Record(waitedNs int64, spun bool) {
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
		t.budgetNs = min(max(t.avgNs*t.scale, t.minNs), t.maxNs)
	}
}
