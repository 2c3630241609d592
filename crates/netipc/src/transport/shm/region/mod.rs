//! One side's mapping of a session region: create/attach, publish, consume.
//!
//! This file holds the region type, its role and its private state;
//! `mapping` owns the `mmap` and its SIGBUS registration, `setup` creates
//! and attaches regions, `publish` sends and `receive` waits for and
//! consumes the peer's messages.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ShmConfig;
use super::layout::RegionLayout;
use super::spin::SpinTuner;
use crate::error::{DecodeError, Error, Result, Violation};

mod mapping;
mod publish;
mod receive;
mod setup;

use mapping::Mapping;

/// Longest single `FUTEX_WAIT`: between slices the waiter checks the abort
/// handle, the deadline and the peer socket, so an abort or a dead peer is
/// noticed within one slice.
pub const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Pause between attach attempts while the region is not ready.
pub const ATTACH_RETRY_INTERVAL: Duration = Duration::from_millis(5);
/// How long [`ShmRegion::attach_with_retry`] keeps retrying a region that
/// is not ready (what deployed clients do) before giving up.
pub const ATTACH_RETRY_LIMIT: Duration = Duration::from_secs(5);

/// Which end of the session this mapping is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShmRole {
    /// Created the region; receives requests, sends responses.
    Server,
    /// Attached to the region; sends requests, receives responses.
    Client,
}

/// This process's non-zero `owner_generation`: derived from the wall clock
/// (and the pid) when first needed, so it changes across restarts.
pub(crate) fn process_generation() -> u32 {
    static GENERATION: OnceLock<u32> = OnceLock::new();
    *GENERATION.get_or_init(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        // splitmix64 finaliser over nanoseconds and pid.
        let mut x = (now.as_nanos() as u64) ^ (u64::from(pid) << 32);
        x ^= x >> 30;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        match (x ^ (x >> 32)) as u32 {
            0 => 1,
            g => g,
        }
    })
}

/// A broken session's sticky error.
#[derive(Debug, Clone, Copy)]
enum Poison {
    Violation(Violation),
    Decode(DecodeError),
}

impl Poison {
    fn error(self) -> Error {
        match self {
            Poison::Violation(v) => Error::Protocol(v),
            Poison::Decode(d) => Error::Decode(d),
        }
    }
}

/// One side's mapping of a session's SHM region.
///
/// The server [`create`](ShmRegion::create)s the region before it sends
/// HELLO_ACK; the client [`attach`](ShmRegion::attach)es after reading it.
/// Each side then alternates [`send`](ShmRegion::send) and
/// [`recv`](ShmRegion::recv): the client sends a request and receives its
/// response, the server receives a request and sends its response. One
/// message is in flight per direction.
///
/// Offsets and capacities are read from the region once, at attach, and
/// kept privately; afterwards only the sequence, length and signal words are
/// read from shared memory, and received messages are copied out at once.
///
/// After a protocol violation (bad published length, malformed header,
/// SIGBUS fault) every later call fails with the same error: drop the
/// region and close the session.
///
/// Dropping the server side unmaps and unlinks the file; dropping the client
/// side unmaps it.
#[derive(Debug)]
pub struct ShmRegion {
    map: Mapping,
    path: PathBuf,
    role: ShmRole,
    layout: RegionLayout,
    /// Outgoing area (offset, capacity) in bytes.
    tx_off: usize,
    tx_cap: usize,
    /// Incoming area (offset, capacity) in bytes.
    rx_off: usize,
    rx_cap: usize,
    /// Last sequence number we published.
    tx_seq: u64,
    /// Last incoming sequence number we consumed.
    rx_seq: u64,
    /// Client: a request is awaiting its response. Server: a request was
    /// received and not answered yet.
    in_flight: bool,
    poisoned: Option<Poison>,
    spin: SpinTuner,
}

// SAFETY: the mapping is owned exclusively by this value (like a Box);
// moving it to another thread moves that ownership. The handler registry
// it points into is lock-free and process-wide.
unsafe impl Send for ShmRegion {}
// SAFETY: `&self` methods read only private copies and atomics (the
// registry's broken flag); everything that touches the shared areas takes
// `&mut self`.
unsafe impl Sync for ShmRegion {}

impl ShmRegion {
    fn new(
        map: Mapping,
        path: PathBuf,
        role: ShmRole,
        layout: RegionLayout,
        req_seq: u64,
        resp_seq: u64,
        cfg: &ShmConfig,
    ) -> Self {
        let client = role == ShmRole::Client;
        let (((tx_off, tx_cap), tx_seq), ((rx_off, rx_cap), rx_seq)) =
            layout.directions(client, req_seq, resp_seq);
        ShmRegion {
            map,
            path,
            role,
            layout,
            tx_off,
            tx_cap,
            rx_off,
            rx_cap,
            tx_seq,
            rx_seq,
            in_flight: false,
            poisoned: None,
            spin: SpinTuner::new(cfg.max_spin),
        }
    }

    /// The region file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which end of the session this mapping is.
    pub fn role(&self) -> ShmRole {
        self.role
    }

    /// The area offsets and capacities in use (private copies).
    pub fn layout(&self) -> RegionLayout {
        self.layout
    }

    /// The largest message (header + payload) [`send`](ShmRegion::send)
    /// accepts: the capacity of this side's outgoing area.
    pub fn max_send_len(&self) -> usize {
        self.tx_cap
    }

    /// The largest message the peer may publish to us.
    pub fn max_recv_len(&self) -> usize {
        self.rx_cap
    }

    /// Whether the region faulted (the peer truncated the file) and was
    /// replaced by zero pages. Always `false` without the SIGBUS handler.
    pub fn is_faulted(&self) -> bool {
        self.map.is_broken()
    }

    /// Client: whether a request awaits its response. Server: whether a
    /// received request awaits its answer.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    fn check_poison(&self) -> Result<()> {
        match self.poisoned {
            Some(p) => Err(p.error()),
            None => Ok(()),
        }
    }

    fn poison(&mut self, p: Poison) -> Error {
        self.poisoned = Some(p);
        p.error()
    }

    fn fault(&mut self) -> Error {
        self.poison(Poison::Violation(Violation::ShmFault))
    }

    /// (sequence, length, signal) words of the outgoing direction.
    #[inline]
    fn tx_words(&self) -> (&AtomicU64, &AtomicU32, &AtomicU32) {
        let h = self.map.header();
        match self.role {
            ShmRole::Client => (&h.req_seq, &h.req_len, &h.req_signal),
            ShmRole::Server => (&h.resp_seq, &h.resp_len, &h.resp_signal),
        }
    }

    /// (sequence, length, signal) words of the incoming direction.
    #[inline]
    fn rx_words(&self) -> (&AtomicU64, &AtomicU32, &AtomicU32) {
        let h = self.map.header();
        match self.role {
            ShmRole::Client => (&h.resp_seq, &h.resp_len, &h.resp_signal),
            ShmRole::Server => (&h.req_seq, &h.req_len, &h.req_signal),
        }
    }
}
