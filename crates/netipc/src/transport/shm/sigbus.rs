//! SIGBUS protection for mapped regions.
//!
//! Both sides open the region file read-write, so a (buggy or hostile) peer
//! can `ftruncate` it under us. The next touch of a page past the new end
//! of file then raises `SIGBUS`, which by default kills the process.
//!
//! When the first region is mapped (unless `ShmConfig::no_sigbus_handler`),
//! a process-wide `SIGBUS` handler is installed once. Each live mapping is
//! recorded in [`REGISTRY`], a fixed table of `(start, len, broken)` slots
//! that the handler scans without locks or allocation. A fault inside a
//! registered mapping is repaired by mapping anonymous zeroed memory over
//! the whole mapping (`MAP_FIXED`) and setting the slot's `broken` flag;
//! the faulting access then re-executes against the zero page and the
//! session reports `Violation::ShmFault` at its next check. Any other
//! `SIGBUS` is passed to the handler that was installed before ours (the
//! Rust runtime's stack-overflow handler, an embedder's handler), or, if
//! that was the default action, the default action is restored and the
//! signal re-raised so the process dies exactly as it would have.
//!
//! The handler is installed with `SA_SIGINFO | SA_ONSTACK`: `SA_SIGINFO`
//! for `si_addr`/`si_code`, and `SA_ONSTACK` so it runs on the thread's
//! alternate stack when one exists — the Rust runtime (and Go's, in mixed
//! processes) expects every handler to be safe to run there, and a handler
//! that chains to Rust's stack-overflow detector must not need the
//! exhausted stack.
//!
//! Limitation: if something installs its own `SIGBUS` handler after ours
//! and does not chain, mapped regions are no longer protected.

use std::ffi::c_void;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use rustix::mm::{MapFlags, ProtFlags};

/// Number of mappings that can be protected at once in one process.
pub const REGISTRY_SLOTS: usize = 4096;

const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const ACTIVE: u8 = 2;

struct Slot {
    state: AtomicU8,
    broken: AtomicBool,
    start: AtomicUsize,
    len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    state: AtomicU8::new(FREE),
    broken: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
};

/// The lock-free table of protected mappings, read by the signal handler.
static REGISTRY: [Slot; REGISTRY_SLOTS] = [EMPTY_SLOT; REGISTRY_SLOTS];

static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The action that was in place before ours, for chaining. Written once
/// (inside `INSTALL`) before `PREV_READY` is set; read-only afterwards.
struct PrevAction(std::cell::UnsafeCell<std::mem::MaybeUninit<libc::sigaction>>);

// SAFETY: the cell is written exactly once, inside `INSTALL.call_once`,
// before `PREV_READY` is released; every read happens after an acquire load
// of `PREV_READY` observed `true`, so there is no concurrent write.
unsafe impl Sync for PrevAction {}

static PREV: PrevAction = PrevAction(std::cell::UnsafeCell::new(std::mem::MaybeUninit::uninit()));
static PREV_READY: AtomicBool = AtomicBool::new(false);

/// Installs the process-wide handler once. Returns whether it is in place.
pub(crate) fn ensure_installed() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: an all-zero `sigaction` is a valid value (SIG_DFL, empty
        // mask, no flags) that we then fill in.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
        new.sa_sigaction = handler as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: `new.sa_mask` is a valid sigset_t to initialise.
        unsafe { libc::sigemptyset(&mut new.sa_mask) };
        // Record the current action first so the handler can chain from its
        // very first invocation.
        // SAFETY: querying the action with a null `act` and a valid `oldact`.
        if unsafe { libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) } != 0 {
            return;
        }
        // SAFETY: single writer inside `call_once`, before `PREV_READY`.
        unsafe { (*PREV.0.get()).write(old) };
        PREV_READY.store(true, Ordering::Release);
        // SAFETY: `new` is fully initialised; `handler` is async-signal-safe.
        if unsafe { libc::sigaction(libc::SIGBUS, &new, std::ptr::null_mut()) } == 0 {
            INSTALLED.store(true, Ordering::Release);
        }
    });
    INSTALLED.load(Ordering::Acquire)
}

/// A mapping's slot in the registry; frees the slot on drop.
///
/// Must be dropped before the mapping is unmapped.
#[derive(Debug)]
pub(crate) struct Registration {
    index: usize,
}

impl Registration {
    /// Records `[start, start + len)` as a protected mapping. `None` when
    /// every slot is taken.
    pub(crate) fn register(start: *mut c_void, len: usize) -> Option<Registration> {
        for (index, slot) in REGISTRY.iter().enumerate() {
            if slot
                .state
                .compare_exchange(FREE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                slot.start.store(start as usize, Ordering::Relaxed);
                slot.len.store(len, Ordering::Relaxed);
                slot.broken.store(false, Ordering::Relaxed);
                slot.state.store(ACTIVE, Ordering::Release);
                return Some(Registration { index });
            }
        }
        None
    }

    /// Whether the handler replaced this mapping after a fault.
    #[inline]
    pub(crate) fn is_broken(&self) -> bool {
        REGISTRY[self.index].broken.load(Ordering::Acquire)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        REGISTRY[self.index].state.store(FREE, Ordering::Release);
    }
}

/// How many registry slots are in use (for tests and diagnostics).
pub(crate) fn active_registrations() -> usize {
    REGISTRY
        .iter()
        .filter(|s| s.state.load(Ordering::Acquire) == ACTIVE)
        .count()
}

/// The signal handler. Async-signal-safe: atomics, one raw `mmap`
/// syscall, `sigaction` and `raise` only — no locks, no allocation.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // Only a kernel-generated fault (si_code > 0) carries a fault address.
    let fault_addr = if info.is_null() {
        None
    } else {
        // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO
        // handlers; `si_addr` is meaningful for fault codes, checked first.
        unsafe {
            if (*info).si_code > 0 {
                Some((*info).si_addr() as usize)
            } else {
                None
            }
        }
    };
    if let Some(addr) = fault_addr {
        for slot in REGISTRY.iter() {
            if slot.state.load(Ordering::Acquire) != ACTIVE {
                continue;
            }
            let start = slot.start.load(Ordering::Relaxed);
            let len = slot.len.load(Ordering::Relaxed);
            if addr >= start && addr - start < len {
                // SAFETY: `[start, start + len)` is a live mapping owned by a
                // registered region (slots are freed before munmap), so
                // replacing it in place with private zero pages affects only
                // that region, which from now on reports ShmFault.
                let r = unsafe {
                    rustix::mm::mmap_anonymous(
                        start as *mut c_void,
                        len,
                        ProtFlags::READ | ProtFlags::WRITE,
                        MapFlags::PRIVATE | MapFlags::FIXED,
                    )
                };
                if r.is_ok() {
                    slot.broken.store(true, Ordering::Release);
                    return;
                }
                break;
            }
        }
    }
    chain(sig, info, ctx, fault_addr.is_some());
}

/// Passes a SIGBUS we do not own to the previous disposition.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void, is_fault: bool) {
    if PREV_READY.load(Ordering::Acquire) {
        // SAFETY: written once before PREV_READY was released (see PrevAction).
        let prev = unsafe { (*PREV.0.get()).assume_init_ref() };
        let h = prev.sa_sigaction;
        if h == libc::SIG_IGN && !is_fault {
            return;
        }
        if h != libc::SIG_DFL && h != libc::SIG_IGN {
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the previous handler has the
                // three-argument signature; we pass the kernel's arguments.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute::<usize, _>(h) };
                f(sig, info, ctx);
            } else {
                // SAFETY: without SA_SIGINFO it is a one-argument handler.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute::<usize, _>(h) };
                f(sig);
            }
            return;
        }
    }
    // Default action (or an ignored fault, which the kernel would not let
    // us ignore either): restore SIG_DFL and re-raise. The signal stays
    // blocked until this handler returns, then kills the process.
    // SAFETY: an all-zero sigaction is SIG_DFL with an empty mask.
    let mut dfl: libc::sigaction = unsafe { std::mem::zeroed() };
    dfl.sa_sigaction = libc::SIG_DFL;
    // SAFETY: sigaction and raise are async-signal-safe.
    unsafe {
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_and_free() {
        let a = Registration::register(0x1000 as *mut c_void, 4096).unwrap();
        let b = Registration::register(0x3000 as *mut c_void, 4096).unwrap();
        assert_ne!(a.index, b.index);
        assert!(!a.is_broken());
        drop(a);
        drop(b);
    }

    #[test]
    fn install_is_idempotent() {
        assert!(ensure_installed());
        assert!(ensure_installed());
    }
}
