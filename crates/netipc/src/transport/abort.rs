//! Cross-thread abort handles and call deadlines.
//!
//! An [`AbortHandle`] is a cloneable, `Send + Sync` flag backed by a
//! kernel wait object (an eventfd on Unix, a manual-reset event on
//! Windows), so a blocked wait can watch it and wake the moment another
//! thread triggers it. Waits that cannot watch it (SHM futex waits) check
//! [`AbortHandle::is_triggered`] between bounded wait slices.
//!
//! The abort is sticky: once triggered it stays triggered until
//! [`AbortHandle::clear`] is called.

#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The kernel wait object behind an abort handle.
#[cfg(unix)]
mod sys {
    use std::os::fd::OwnedFd;

    use rustix::event::{EventfdFlags, eventfd};

    use crate::error::Result;

    #[derive(Debug)]
    pub(super) struct Signal(pub(super) OwnedFd);

    impl Signal {
        pub(super) fn new() -> Result<Self> {
            Ok(Signal(eventfd(
                0,
                EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK,
            )?))
        }

        pub(super) fn set(&self) {
            // A full counter (EAGAIN) still leaves the fd readable.
            let _ = rustix::io::write(&self.0, &1u64.to_ne_bytes());
        }

        pub(super) fn reset(&self) {
            let mut b = [0u8; 8];
            // Drain the counter; EAGAIN means it was already empty.
            let _ = rustix::io::read(&self.0, &mut b);
        }
    }
}

/// The kernel wait object behind an abort handle.
#[cfg(windows)]
mod sys {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::Threading::{CreateEventW, ResetEvent, SetEvent};

    use crate::error::{Error, Result};

    /// A manual-reset, unnamed event.
    #[derive(Debug)]
    pub(super) struct Signal(pub(super) HANDLE);

    // SAFETY: an event handle may be used and closed from any thread.
    unsafe impl Send for Signal {}
    // SAFETY: SetEvent / ResetEvent / waits are thread-safe.
    unsafe impl Sync for Signal {}

    impl Signal {
        pub(super) fn new() -> Result<Self> {
            // SAFETY: no security attributes, no name; manual reset, unset.
            let h = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
            if h.is_null() {
                return Err(Error::Io(std::io::Error::last_os_error()));
            }
            Ok(Signal(h))
        }

        pub(super) fn set(&self) {
            // SAFETY: the handle is a live event owned by self.
            unsafe { SetEvent(self.0) };
        }

        pub(super) fn reset(&self) {
            // SAFETY: the handle is a live event owned by self.
            unsafe { ResetEvent(self.0) };
        }
    }

    impl Drop for Signal {
        fn drop(&mut self) {
            // SAFETY: owned handle, closed once.
            unsafe { CloseHandle(self.0) };
        }
    }
}

#[derive(Debug)]
struct Inner {
    signal: sys::Signal,
    triggered: AtomicBool,
}

/// A sticky, cloneable abort signal that a `poll` can watch.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    inner: Arc<Inner>,
}

impl AbortHandle {
    /// Creates an untriggered handle (one eventfd / one event).
    pub fn new() -> Result<Self> {
        Ok(AbortHandle {
            inner: Arc::new(Inner {
                signal: sys::Signal::new()?,
                triggered: AtomicBool::new(false),
            }),
        })
    }

    /// Triggers the abort: every wait watching this handle returns
    /// [`Error::Aborted`]. Idempotent; safe from any thread.
    pub fn trigger(&self) {
        if !self.inner.triggered.swap(true, Ordering::SeqCst) {
            self.inner.signal.set();
        }
    }

    /// Clears a triggered abort so new calls can proceed.
    pub fn clear(&self) {
        if self.inner.triggered.swap(false, Ordering::SeqCst) {
            self.inner.signal.reset();
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

#[cfg(unix)]
impl AsFd for AbortHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.signal.0.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for AbortHandle {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.signal.0.as_raw_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawHandle for AbortHandle {
    /// The manual-reset event, signaled while the abort is triggered.
    fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
        self.inner.signal.0
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

    #[cfg(windows)]
    #[test]
    fn trigger_and_clear_event() {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
        use windows_sys::Win32::System::Threading::WaitForSingleObject;

        let a = AbortHandle::new().unwrap();
        let wait = |a: &AbortHandle| unsafe { WaitForSingleObject(a.as_raw_handle(), 0) };
        assert_eq!(wait(&a), WAIT_TIMEOUT);
        let b = a.clone();
        std::thread::spawn(move || b.trigger()).join().unwrap();
        assert!(matches!(a.check(), Err(Error::Aborted)));
        assert_eq!(wait(&a), WAIT_OBJECT_0);
        a.clear();
        assert!(a.check().is_ok());
        assert_eq!(wait(&a), WAIT_TIMEOUT);
    }

    #[cfg(unix)]
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
