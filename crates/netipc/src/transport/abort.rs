//! Cross-thread abort handles and call deadlines.
//!
//! An [`AbortHandle`] is a cloneable, `Send + Sync` flag backed by an
//! eventfd, so a blocked `poll` can watch it and wake the moment another
//! thread triggers it. Waits that cannot poll an fd (SHM futex waits)
//! check [`AbortHandle::is_triggered`] between bounded wait slices.
//!
//! The abort is sticky: once triggered it stays triggered until
//! [`AbortHandle::clear`] is called.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{EventfdFlags, eventfd};

use crate::error::{Error, Result};

#[derive(Debug)]
struct Inner {
    fd: OwnedFd,
    triggered: AtomicBool,
}

/// A sticky, cloneable abort signal that a `poll` can watch.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    inner: Arc<Inner>,
}

impl AbortHandle {
    /// Creates an untriggered handle (one eventfd).
    pub fn new() -> Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(AbortHandle {
            inner: Arc::new(Inner {
                fd,
                triggered: AtomicBool::new(false),
            }),
        })
    }

    /// Triggers the abort: every wait watching this handle returns
    /// [`Error::Aborted`]. Idempotent; safe from any thread.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::SeqCst) {
            // A full counter (EAGAIN) still leaves the fd readable.
            let _ = rustix::io::write(&self.inner.fd, &1u64.to_ne_bytes());
        }
    }

    /// Clears a triggered abort so new calls can proceed.
    pub fn clear(&self) {
        if self.inner.triggered.swap(false, Ordering::SeqCst) {
            let mut b = [0u8; 8];
            // Drain the counter; EAGAIN means it was already empty.
            let _ = rustix::io::read(&self.inner.fd, &mut b);
        }
    }

    /// Whether the abort is triggered (no syscall).
    #[inline]
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Returns `Err(Error::Aborted)` if triggered.
    #[inline]
    pub fn check(&self) -> Result<()> {
        if self.is_triggered() {
            Err(Error::Aborted)
        } else {
            Ok(())
        }
    }
}

impl AsFd for AbortHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}

impl AsRawFd for AbortHandle {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.fd.as_raw_fd()
    }
}

/// A point in time after which an operation fails with [`Error::Timeout`].
///
/// `None` inside means "no deadline" (block indefinitely).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline.
    pub const NEVER: Deadline = Deadline(None);

    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// A deadline from an optional timeout (`None` = never).
    pub fn from_timeout(timeout: Option<Duration>) -> Self {
        timeout.map_or(Deadline::NEVER, Deadline::after)
    }

    /// The instant, if any.
    pub fn instant(&self) -> Option<Instant> {
        self.0
    }

    /// Time left: `Ok(None)` if no deadline, `Err(Timeout)` if passed.
    pub fn remaining(&self) -> Result<Option<Duration>> {
        match self.0 {
            None => Ok(None),
            Some(t) => {
                let now = Instant::now();
                if now >= t {
                    Err(Error::Timeout)
                } else {
                    Ok(Some(t - now))
                }
            }
        }
    }

    /// Time left in whole milliseconds for `poll` (`-1` = forever),
    /// rounded up so a wait never returns before the deadline.
    pub fn poll_timeout_ms(&self) -> Result<i32> {
        Ok(match self.remaining()? {
            None => -1,
            Some(d) => {
                let ms = d.as_micros().div_ceil(1000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_and_clear() {
        let a = AbortHandle::new().unwrap();
        assert!(a.check().is_ok());
        let b = a.clone();
        std::thread::spawn(move || b.trigger()).join().unwrap();
        assert!(a.is_triggered());
        assert!(matches!(a.check(), Err(Error::Aborted)));
        // The fd is readable while triggered.
        let mut fds = [rustix::event::PollFd::new(&a, rustix::event::PollFlags::IN)];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        assert_eq!(rustix::event::poll(&mut fds, Some(&zero)).unwrap(), 1);
        a.clear();
        assert!(!a.is_triggered());
        let mut fds = [rustix::event::PollFd::new(&a, rustix::event::PollFlags::IN)];
        assert_eq!(rustix::event::poll(&mut fds, Some(&zero)).unwrap(), 0);
    }

    #[test]
    fn deadlines() {
        assert_eq!(Deadline::NEVER.remaining().unwrap(), None);
        assert_eq!(Deadline::NEVER.poll_timeout_ms().unwrap(), -1);
        let d = Deadline::after(Duration::from_secs(60));
        assert!(d.poll_timeout_ms().unwrap() > 59_000);
        let past = Deadline::after(Duration::ZERO);
        assert!(matches!(past.remaining(), Err(Error::Timeout)));
    }
}
