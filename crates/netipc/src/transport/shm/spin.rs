//! Adaptive, time-bounded spinning before the futex wait.
//!
//! The reference spins a fixed 128 iterations. That is too short to catch
//! a fast peer on hardware with a cheap `PAUSE` and burns CPU for nothing
//! on an idle session. Here the spin is bounded in *time*, and the bound is
//! learned per session from recent receives:
//!
//! - every receive records how long it waited for the message (from entry
//!   to observing the sequence advance, clamped to `4 × max`) and whether
//!   the spin caught it;
//! - an exponentially weighted average (weight 1/8) of the waits sets the
//!   budget: `2 × average`, between [`MIN_SPIN`] and the configured
//!   maximum;
//! - the session stops spinning (budget [`MIN_SPIN`], so the receiver goes
//!   to sleep in `FUTEX_WAIT` almost at once) when the average exceeds the
//!   maximum (slow peer, idle session: ~0 CPU) or when most recent spins
//!   failed (an average of the failures, weight 1/8, above one half). The
//!   second rule matters when the CPUs are oversubscribed: a spinner then
//!   holds the core its peer needs, so spinning makes waits *longer*;
//! - while not spinning, one receive in [`PROBE_EVERY`] spins the full
//!   maximum; if the message arrives within it, the averages restart from
//!   that receive, so a session that becomes fast again returns to
//!   spinning (waits measured through a futex sleep include the wake-up
//!   latency and would otherwise keep the average high).
//!
//! A spin never exceeds the configured maximum, so the waste per receive
//! is bounded even on a machine where both peers share one core.

use std::hint::spin_loop;
use std::time::{Duration, Instant};

/// Default upper bound of one spin phase.
pub const DEFAULT_MAX_SPIN: Duration = Duration::from_micros(20);
/// Spin budget of a session whose waits exceed the maximum.
pub const MIN_SPIN: Duration = Duration::from_nanos(500);
/// In the minimal state, one receive in this many probes with a full spin.
pub const PROBE_EVERY: u32 = 32;
/// Fixed-point one for the failure average.
const FAIL_ONE: u32 = 1024;
/// Sequence checks between two clock reads while spinning.
const CHECKS_PER_CLOCK_READ: u32 = 8;
/// A spinning receiver yields its CPU once every this many clock readings
/// (32 checks, under a microsecond of pausing). When the peer is runnable
/// on the same CPU (a loaded host, or both pinned to one core) it then runs
/// at once instead of after the whole spin budget; when nothing else waits
/// for the CPU the yield returns at once, and a peer on its own core
/// answers within the first 32 checks anyway.
const YIELD_EVERY_READS: u32 = 4;

/// Per-session spin budget learner.
#[derive(Debug, Clone)]
pub(crate) struct SpinTuner {
    max_ns: u64,
    min_ns: u64,
    avg_ns: u64,
    /// Recent spin failures, average of 0/`FAIL_ONE` samples.
    fail: u32,
    budget_ns: u64,
    since_probe: u32,
    probing: bool,
}

impl SpinTuner {
    /// A tuner capped at `max` (`Duration::ZERO` disables spinning).
    pub(crate) fn new(max: Duration) -> Self {
        let max_ns = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        let min_ns = (MIN_SPIN.as_nanos() as u64).min(max_ns);
        SpinTuner {
            max_ns,
            min_ns,
            avg_ns: max_ns / 2,
            fail: 0,
            budget_ns: max_ns,
            since_probe: 0,
            probing: false,
        }
    }

    /// The spin budget for the next receive, in nanoseconds.
    pub(crate) fn next_budget_ns(&mut self) -> u64 {
        if self.max_ns == 0 {
            return 0;
        }
        if self.budget_ns <= self.min_ns {
            self.since_probe += 1;
            if self.since_probe >= PROBE_EVERY {
                self.since_probe = 0;
                self.probing = true;
                return self.max_ns;
            }
        }
        self.budget_ns
    }

    /// Records that the last receive waited `waited_ns`; `spun` tells
    /// whether the message arrived during the spin phase (or was already
    /// there).
    pub(crate) fn record(&mut self, waited_ns: u64, spun: bool) {
        if self.max_ns == 0 {
            return;
        }
        let sample = waited_ns.min(self.max_ns.saturating_mul(4));
        if std::mem::take(&mut self.probing) && spun {
            self.avg_ns = sample;
            self.fail = 0;
        } else {
            if sample >= self.avg_ns {
                self.avg_ns += (sample - self.avg_ns) / 8;
            } else {
                self.avg_ns -= (self.avg_ns - sample) / 8;
            }
            let f = if spun { 0 } else { FAIL_ONE };
            // fail' = fail + (f - fail) / 8, in unsigned arithmetic.
            self.fail = self.fail - self.fail / 8 + f / 8;
        }
        self.budget_ns = if self.avg_ns > self.max_ns || self.fail > FAIL_ONE / 2 {
            self.min_ns
        } else {
            self.avg_ns
                .saturating_mul(2)
                .clamp(self.min_ns, self.max_ns)
        };
    }

    /// The current budget (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn budget_ns(&self) -> u64 {
        self.budget_ns
    }
}

/// Spins until `poll` returns `Some`, or `budget_ns` has elapsed since
/// `start`. Each iteration issues a CPU pause hint, and every
/// [`YIELD_EVERY_READS`] clock readings the thread yields its CPU once.
///
/// On success it also returns about how long it spun, in nanoseconds: the
/// clock is read once per `CHECKS_PER_CLOCK_READ` checks, never after a
/// check succeeds, and the last reading stands for the moment of success
/// (early by at most that many pauses, a fraction of any budget the tuner
/// hands out). A message caught by the spin thus costs no clock read on
/// its way to the caller.
#[inline]
pub(crate) fn spin_until<T>(
    start: Instant,
    budget_ns: u64,
    mut poll: impl FnMut() -> Option<T>,
) -> Option<(T, u64)> {
    if budget_ns == 0 {
        return None;
    }
    let budget = Duration::from_nanos(budget_ns);
    let mut spun = Duration::ZERO;
    let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    for reads in 1u32.. {
        for _ in 0..CHECKS_PER_CLOCK_READ {
            if let Some(v) = poll() {
                return Some((v, ns(spun)));
            }
            spin_loop();
        }
        spun = start.elapsed();
        if spun >= budget {
            break;
        }
        if reads % YIELD_EVERY_READS == 0 {
            std::thread::yield_now();
        }
    }
    poll().map(|v| (v, ns(spun)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_fast_peer() {
        let mut t = SpinTuner::new(Duration::from_micros(20));
        for _ in 0..100 {
            let _ = t.next_budget_ns();
            t.record(2_000, true);
        }
        // About 2 × 2 µs.
        assert!(
            (3_500..=4_500).contains(&t.budget_ns()),
            "{}",
            t.budget_ns()
        );
    }

    #[test]
    fn idle_session_sleeps_and_probes() {
        let mut t = SpinTuner::new(Duration::from_micros(20));
        for _ in 0..100 {
            let _ = t.next_budget_ns();
            t.record(1_000_000_000, false);
        }
        assert_eq!(t.budget_ns(), MIN_SPIN.as_nanos() as u64);
        // Probes with the full budget once every PROBE_EVERY receives.
        let budgets: Vec<u64> = (0..PROBE_EVERY)
            .map(|_| {
                let b = t.next_budget_ns();
                t.record(1_000_000_000, false);
                b
            })
            .collect();
        assert_eq!(budgets.iter().filter(|&&b| b == 20_000).count(), 1);
        // A successful probe returns the session to spinning.
        loop {
            let b = t.next_budget_ns();
            if b == 20_000 {
                t.record(3_000, true);
                break;
            }
            t.record(1_000_000_000, false);
        }
        assert_eq!(t.budget_ns(), 6_000);
    }

    #[test]
    fn mostly_failing_spins_stop_spinning() {
        let mut t = SpinTuner::new(Duration::from_micros(20));
        for _ in 0..20 {
            let _ = t.next_budget_ns();
            t.record(2_000, true);
        }
        assert!(t.budget_ns() > MIN_SPIN.as_nanos() as u64);
        // Waits just over the budget that the spin keeps missing.
        for _ in 0..10 {
            let _ = t.next_budget_ns();
            t.record(9_000, false);
        }
        assert_eq!(t.budget_ns(), MIN_SPIN.as_nanos() as u64);
    }

    #[test]
    fn disabled() {
        let mut t = SpinTuner::new(Duration::ZERO);
        assert_eq!(t.next_budget_ns(), 0);
        t.record(5, true);
        assert_eq!(t.next_budget_ns(), 0);
        assert_eq!(spin_until(Instant::now(), 0, || Some(1)), None);
    }

    #[test]
    fn spin_stops() {
        let start = Instant::now();
        assert_eq!(spin_until(start, 10_000, || None::<u8>), None);
        assert!(start.elapsed() >= Duration::from_micros(10));
        let mut n = 0;
        let caught = Instant::now();
        let (v, spun) = spin_until(caught, 10_000_000_000, || {
            n += 1;
            (n == 3).then_some(7)
        })
        .unwrap();
        assert_eq!(v, 7);
        // Caught before the first clock reading: no time is counted.
        assert_eq!(spun, 0);
        // Caught after a few readings: what they saw, never more than
        // the time that really passed.
        let mut n = 0;
        let start = Instant::now();
        let (_, spun) = spin_until(start, 10_000_000_000, || {
            n += 1;
            (n == 10 * CHECKS_PER_CLOCK_READ).then_some(())
        })
        .unwrap();
        assert!(u128::from(spun) <= start.elapsed().as_nanos());
    }
}
