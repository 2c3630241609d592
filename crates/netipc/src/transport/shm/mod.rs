//! POSIX shared-memory fast path (Linux): one region per session.
//!
//! The server creates `{run_dir}/{service}-{session_id:016x}.ipcshm`
//! before it sends HELLO_ACK ([`ShmRegion::create`]); the client attaches
//! it after reading the HELLO_ACK ([`ShmRegion::attach`]). The region is a
//! 64-byte header followed by a request area and a response area, each
//! `align64(32 + agreed payload)` bytes (see [`layout`] and
//! `level1-posix-shm.md`). Each direction carries one whole message (outer
//! header + payload) at a time.
//!
//! # Publication and waiting
//!
//! A sender copies the message into its area, stores the length, advances
//! the sequence word and the signal word (all release) and issues a shared
//! `FUTEX_WAKE`. A receiver spins for a short, learned time budget (see
//! `spin.rs`: bounded by [`ShmConfig::max_spin`], near zero for idle
//! sessions), then sleeps in `FUTEX_WAIT` on the signal word in slices of
//! [`WAIT_SLICE`]. Between slices it checks the abort handle, the deadline
//! and the session socket (`POLLHUP`/`POLLRDHUP`/`POLLERR`), so an idle
//! session uses ~0 CPU yet notices an abort or a dead peer within one
//! slice. The message is copied out at once and its length checked against
//! the area capacity and its own header.
//!
//! # SIGBUS
//!
//! The peer holds the file open read-write and can shrink it; touching a
//! page past the new end of file raises `SIGBUS`. By default a process-wide
//! handler is installed the first time a region is mapped; it replaces a
//! faulting region with zero pages and the session then fails with
//! `Protocol(ShmFault)` instead of the process dying (see `sigbus.rs`).
//!
//! The protection itself is cheap: one process-local atomic load after
//! each copy, one byte touched per idle wait slice, and one slot of a
//! fixed table (at most [`REGISTRY_SLOTS`] protected regions per process;
//! beyond that `create` fails with `ShmAllocate` and `attach` with
//! `ShmAttach`, so the session falls back to the baseline transport).
//!
//! [`ShmConfig::no_sigbus_handler`] skips installing the handler and
//! registering the region. It saves no measurable time; what it costs is
//! safety: any process that can open the region file — the peer, or
//! anything running as the same user — can then kill this process with
//! `SIGBUS` by truncating the file while a session is active, and a
//! truncation that leaves the header page intact is noticed only when the
//! deadline expires. Use it only when the embedder installs its own
//! `SIGBUS` handling (and accepts that risk) or must not have a
//! process-wide handler installed by a library.
//!
//! # Stale files
//!
//! [`cleanup_stale_regions`] removes region files of dead servers at
//! startup; [`ShmRegion::create`] applies the same rules to its own path.

mod futex;
pub mod layout;
mod region;
mod sigbus;
pub(crate) mod spin;
mod stale;

use std::time::Duration;

pub use layout::{
    REGION_ALIGNMENT, REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, RegionInfo, RegionLayout,
};
pub use region::{ATTACH_RETRY_INTERVAL, ATTACH_RETRY_LIMIT, ShmRegion, ShmRole, WAIT_SLICE};
pub use sigbus::REGISTRY_SLOTS;
pub use spin::{DEFAULT_MAX_SPIN, MIN_SPIN, PROBE_EVERY};
pub use stale::cleanup_stale_regions;

/// Options of the SHM data plane.
///
/// Build it with `ShmConfig::default()` and struct update syntax
/// (`ShmConfig { no_sigbus_handler: true, ..Default::default() }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmConfig {
    /// Do not install the process-wide SIGBUS handler and do not register
    /// regions with it. A peer that truncates the region file can then
    /// kill this process (see the module docs).
    pub no_sigbus_handler: bool,
    /// Upper bound of the adaptive spin before a receiver sleeps in
    /// `FUTEX_WAIT` ([`DEFAULT_MAX_SPIN`] by default). `Duration::ZERO`
    /// disables spinning (futex only).
    pub max_spin: Duration,
}

impl Default for ShmConfig {
    fn default() -> Self {
        ShmConfig {
            no_sigbus_handler: false,
            max_spin: DEFAULT_MAX_SPIN,
        }
    }
}

/// How many region mappings of this process are registered with the
/// SIGBUS handler right now (diagnostics).
pub fn protected_regions() -> usize {
    sigbus::active_registrations()
}
