package transport

import (
	"time"

	"netipc.local/netipc/internal/sys"
)

// Deadline is the end of a call's time budget, passed by pointer down
// the layers of one call.
//
// One made by Within is pending: it is fixed the first time a layer needs
// it (Time, or a shared-memory receive whose spin did not catch the
// answer), so a call answered at once reads no clock for its deadline
// (on the SHM fast path that read was ~7 % of a Go round trip). The
// budget then counts from that moment; what ran before it does not wait
// (an SHM publication never blocks), so the difference is CPU time, at
// most one spin (shm.DefaultMaxSpin) plus the encode. The zero Deadline
// has no end.
type Deadline struct {
	at      time.Time
	timeout time.Duration
	pending bool
}

// DeadlineAt is a fixed deadline (the zero time: none).
func DeadlineAt(t time.Time) Deadline { return Deadline{at: t} }

// Within is a pending deadline timeout after the moment it is first
// needed.
func Within(timeout time.Duration) Deadline { return Deadline{timeout: timeout, pending: true} }

// SetAt makes d the fixed deadline t (DeadlineAt in place).
func (d *Deadline) SetAt(t time.Time) { d.at, d.timeout, d.pending = t, 0, false }

// SetWithin makes d a pending deadline timeout after the moment it is
// first needed (Within in place).
func (d *Deadline) SetWithin(timeout time.Duration) {
	d.at, d.timeout, d.pending = time.Time{}, timeout, true
}

// Time returns the deadline, fixing a pending one now.
func (d *Deadline) Time() time.Time {
	if d.pending {
		d.at = sys.After(d.timeout)
		d.pending = false
	}
	return d.at
}
