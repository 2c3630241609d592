//! Shared (non-PRIVATE) futex wait/wake on a word inside the region.
//!
//! The words live in a `MAP_SHARED` file mapping used by two processes, so
//! the `FUTEX_PRIVATE_FLAG` variants must not be used: they key the wait
//! queue on the address space and would never see the peer's wake.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use rustix::io::Errno;
use rustix::thread::futex;

/// How a bounded futex wait ended (all are "look again" outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitOutcome {
    /// Woken by `FUTEX_WAKE` (or spuriously).
    Woken,
    /// The word no longer held the expected value (`EAGAIN`).
    Changed,
    /// The timeout elapsed.
    TimedOut,
    /// A signal interrupted the wait.
    Interrupted,
}

/// Why a futex call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FutexError {
    /// The word is not backed by memory any more (region truncated).
    Fault,
    /// Any other errno (should not happen).
    Other(Errno),
}

fn map_err(e: Errno) -> FutexError {
    if e == Errno::FAULT {
        FutexError::Fault
    } else {
        FutexError::Other(e)
    }
}

/// `FUTEX_WAIT(word, expected, timeout)`, shared variant.
pub(crate) fn wait(
    word: &AtomicU32,
    expected: u32,
    timeout: Duration,
) -> Result<WaitOutcome, FutexError> {
    let ts = rustix::time::Timespec {
        tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
        // < 1e9: fits every `Nsecs` width.
        tv_nsec: timeout.subsec_nanos() as _,
    };
    match futex::wait(word, futex::Flags::empty(), expected, Some(&ts)) {
        Ok(()) => Ok(WaitOutcome::Woken),
        Err(Errno::AGAIN) => Ok(WaitOutcome::Changed),
        Err(Errno::TIMEDOUT) => Ok(WaitOutcome::TimedOut),
        Err(Errno::INTR) => Ok(WaitOutcome::Interrupted),
        Err(e) => Err(map_err(e)),
    }
}

/// `FUTEX_WAKE(word, 1)`, shared variant. Returns how many were woken.
pub(crate) fn wake_one(word: &AtomicU32) -> Result<usize, FutexError> {
    futex::wake(word, futex::Flags::empty(), 1).map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[test]
    fn changed_and_timeout() {
        let w = AtomicU32::new(5);
        assert_eq!(
            wait(&w, 4, Duration::from_secs(5)),
            Ok(WaitOutcome::Changed)
        );
        assert_eq!(
            wait(&w, 5, Duration::from_millis(1)),
            Ok(WaitOutcome::TimedOut)
        );
        assert_eq!(wake_one(&w), Ok(0));
    }

    #[test]
    fn wake_a_waiter() {
        let w = Arc::new(AtomicU32::new(0));
        let w2 = Arc::clone(&w);
        let t = std::thread::spawn(move || {
            while w2.load(Ordering::Acquire) == 0 {
                let _ = wait(&w2, 0, Duration::from_secs(10));
            }
        });
        w.store(1, Ordering::Release);
        wake_one(&w).unwrap();
        t.join().unwrap();
    }
}
