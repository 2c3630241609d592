package sys

import "time"

// epoch anchors Mono and Now: both read only the monotonic clock, one
// clock read instead of the two (wall and monotonic) of time.Now, which
// matters on the SHM hot path where a clock read costs tens of ns.
var epoch = time.Now()

// Mono returns the monotonic time since process start (one clock read).
func Mono() time.Duration { return time.Since(epoch) }

// Now is time.Now from the monotonic clock alone: the result carries a
// monotonic reading, so deadlines built from it compare exactly like
// time.Now's; its wall reading follows the monotonic clock from process
// start (it does not see wall-clock steps, which deadlines ignore anyway).
func Now() time.Time { return epoch.Add(time.Since(epoch)) }

// After is Now().Add(d) with one clock read and one time addition.
func After(d time.Duration) time.Time { return epoch.Add(time.Since(epoch) + d) }
