//! Waiting for the peer's next publication: HYBRID (spin, then the
//! kernel event with the abort event, in slices) and BUSYWAIT (spin with
//! periodic checks and yields).

use std::os::windows::io::AsRawHandle;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

use windows_sys::Win32::Foundation::{HANDLE, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::WaitForMultipleObjects;

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};

use super::{BUSYWAIT_DEADLINE_POLL_MASK, WAIT_SLICE_MS};

/// The shared words a receiver watches.
#[derive(Clone, Copy)]
pub(super) struct RxWords<'a> {
    /// The incoming sequence word.
    pub seq: &'a AtomicI64,
    /// Our "I am sleeping on the event" flag.
    pub waiting: &'a AtomicI32,
    /// The peer's close flag.
    pub peer_closed: &'a AtomicI32,
}

/// The incoming sequence when it moved past `expected` (a new message is
/// published), else `None`.
fn published(seq: &AtomicI64, expected: i64) -> Option<i64> {
    let cur = seq.load(Ordering::Acquire);
    (cur != expected).then_some(cur)
}

/// A HYBRID spin yields its CPU (`SwitchToThread`) once every that many
/// checks, as the POSIX spin does: a peer sharing the CPU (a loaded host)
/// then answers within the spin instead of after it (on Linux this doubled
/// one-CPU ping-pong throughput; a peer on its own CPU answers within the
/// first checks anyway).
const SPIN_CHECKS_PER_YIELD: u32 = 32;

/// HYBRID: spin `spin_tries` times on the sequence, then announce the
/// wait, re-check, and sleep on the event (with the abort event) in
/// slices, checking the peer between them.
pub(super) fn wait_hybrid(
    w: &RxWords<'_>,
    expected: i64,
    spin_tries: u32,
    event: HANDLE,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
    peer_gone: &dyn Fn() -> bool,
) -> Result<i64> {
    let RxWords {
        seq,
        waiting,
        peer_closed,
    } = *w;
    let advanced = || published(seq, expected);
    if let Some(cur) = advanced() {
        return Ok(cur);
    }
    for i in 0..spin_tries {
        if i % SPIN_CHECKS_PER_YIELD == SPIN_CHECKS_PER_YIELD - 1 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        if let Some(cur) = advanced() {
            return Ok(cur);
        }
    }
    let abort_ev = abort.map(AsRawHandle::as_raw_handle);
    let mut first = true;
    loop {
        if let Some(cur) = advanced() {
            return Ok(cur);
        }
        // A peer publishes before it closes: a message that landed between
        // the sequence check and the close check is still delivered.
        if peer_closed.load(Ordering::Acquire) != 0 {
            return advanced().ok_or(Error::PeerClosed);
        }
        if let Some(a) = abort {
            a.check()?;
        }
        let remaining = deadline.remaining()?;
        if !first && peer_gone() {
            return advanced().ok_or(Error::PeerClosed);
        }
        first = false;
        waiting.store(1, Ordering::SeqCst);
        if let Some(cur) = advanced() {
            waiting.store(0, Ordering::SeqCst);
            return Ok(cur);
        }
        let ms = remaining.map_or(WAIT_SLICE_MS, |d| {
            u32::try_from(d.as_micros().div_ceil(1000))
                .unwrap_or(u32::MAX)
                .min(WAIT_SLICE_MS)
        });
        let handles = [event, abort_ev.unwrap_or(std::ptr::null_mut())];
        let n = if abort_ev.is_some() { 2 } else { 1 };
        // SAFETY: `n` live handles (our event, the abort event).
        let r = unsafe { WaitForMultipleObjects(n, handles.as_ptr(), 0, ms) };
        waiting.store(0, Ordering::SeqCst);
        match r {
            WAIT_OBJECT_0 | WAIT_TIMEOUT => {}
            x if x == WAIT_OBJECT_0 + 1 => {
                if let Some(a) = abort {
                    a.check()?;
                }
            }
            WAIT_FAILED => return Err(Error::Io(std::io::Error::last_os_error())),
            _ => return Err(Error::InvalidState("unexpected wait result")),
        }
    }
}

/// BUSYWAIT: spin on the sequence; every
/// `BUSYWAIT_DEADLINE_POLL_MASK + 1` iterations check the close flag,
/// the abort, the deadline and the pipe, and yield the thread.
pub(super) fn wait_busy(
    w: &RxWords<'_>,
    expected: i64,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
    peer_gone: &dyn Fn() -> bool,
) -> Result<i64> {
    let RxWords {
        seq, peer_closed, ..
    } = *w;
    let mut i: u32 = 0;
    loop {
        if let Some(cur) = published(seq, expected) {
            return Ok(cur);
        }
        i = i.wrapping_add(1);
        if i & BUSYWAIT_DEADLINE_POLL_MASK == 0 {
            // As in `wait_hybrid`: a message published before the close
            // is still delivered.
            if peer_closed.load(Ordering::Acquire) != 0 {
                return published(seq, expected).ok_or(Error::PeerClosed);
            }
            if let Some(a) = abort {
                a.check()?;
            }
            deadline.remaining()?;
            if peer_gone() {
                return published(seq, expected).ok_or(Error::PeerClosed);
            }
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}
