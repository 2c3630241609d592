//! One side's mapping of a session region: create/attach, publish, consume.

use std::ffi::c_void;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{FallocateFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mm::{MapFlags, ProtFlags};

use super::ShmConfig;
use super::futex::{self, FutexError};
use super::layout::{
    REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, RegionHeader, RegionInfo, RegionLayout,
};
use super::sigbus::{self, Registration};
use super::spin::{SpinTuner, spin_until};
use super::stale::{self, Probe};
use crate::error::{DecodeError, Error, Limit, Result, Violation};
use crate::protocol::HEADER_LEN;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::wire::Header;

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

/// Why a mapping could not be set up.
enum MapError {
    Mmap(Errno),
    NoHandler,
    RegistryFull,
}

impl MapError {
    fn into_allocate(self) -> Error {
        Error::ShmAllocate(match self {
            MapError::Mmap(e) => e.into(),
            MapError::NoHandler => io::Error::other("cannot install the SIGBUS handler"),
            MapError::RegistryFull => {
                io::Error::other("too many live SHM regions in this process (SIGBUS registry full)")
            }
        })
    }

    fn into_attach(self) -> Error {
        Error::ShmAttach(match self {
            MapError::Mmap(_) => "cannot map the region file",
            MapError::NoHandler => "cannot install the SIGBUS handler",
            MapError::RegistryFull => "too many live SHM regions in this process",
        })
    }
}

/// A `MAP_SHARED` read-write mapping, registered with the SIGBUS handler
/// unless disabled. On drop: unregisters, unmaps, then (server side)
/// unlinks the file.
#[derive(Debug)]
struct Mapping {
    base: NonNull<u8>,
    len: usize,
    registration: Option<Registration>,
    unlink_on_drop: Option<PathBuf>,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, len: usize, cfg: &ShmConfig) -> Result<Self, MapError> {
        // SAFETY: a fresh mapping chosen by the kernel (null hint, no
        // MAP_FIXED) cannot alias any Rust object.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )
        }
        .map_err(MapError::Mmap)?;
        let base = NonNull::new(ptr.cast::<u8>()).ok_or(MapError::Mmap(Errno::NOMEM))?;
        let mut map = Mapping {
            base,
            len,
            registration: None,
            unlink_on_drop: None,
        };
        if !cfg.no_sigbus_handler {
            if !sigbus::ensure_installed() {
                return Err(MapError::NoHandler);
            }
            map.registration =
                Some(Registration::register(ptr, len).ok_or(MapError::RegistryFull)?);
        }
        Ok(map)
    }

    #[inline]
    fn header(&self) -> &RegionHeader {
        // SAFETY: the mapping is at least REGION_HEADER_LEN bytes (checked
        // by create/attach), page aligned (so aligned for RegionHeader), and
        // lives as long as `self`. All header fields are atomics, so shared
        // references are sound while the peer writes concurrently. After a
        // SIGBUS repair the range is anonymous zero memory, still valid.
        unsafe { &*self.base.as_ptr().cast::<RegionHeader>() }
    }

    #[inline]
    fn is_broken(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(Registration::is_broken)
    }

    /// Touches the last mapped byte, so that a file truncated below it
    /// faults now (and is repaired by the handler) instead of leaving a
    /// waiter whose header page survived waiting for a peer that can no
    /// longer publish. Only for registered mappings: unprotected, the
    /// fault would kill the process. Returns whether the mapping is broken.
    fn probe_tail(&self) -> bool {
        let Some(reg) = &self.registration else {
            return false;
        };
        // SAFETY: `len >= REGION_HEADER_LEN > 0`, so `base + len - 1` is
        // inside the mapping; an atomic byte load is sound on memory the
        // peer may write concurrently. A SIGBUS here is repaired by the
        // handler (this mapping is registered).
        unsafe {
            (*self.base.as_ptr().add(self.len - 1).cast::<AtomicU8>()).load(Ordering::Relaxed);
        }
        reg.is_broken()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Free the registry slot first: once unmapped the range may be
        // reused by anything.
        drop(self.registration.take());
        // SAFETY: `base`/`len` describe a mapping we own and nothing borrows
        // it any more (every borrow is tied to `&self`).
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast::<c_void>(), self.len) };
        if let Some(p) = self.unlink_on_drop.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes a freshly created region file unless disarmed.
struct UnlinkOnError<'a>(Option<&'a Path>);

impl Drop for UnlinkOnError<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
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
    /// Server side: creates the region file for `session_id`, sized for the
    /// agreed request/response payload budgets, before HELLO_ACK is sent.
    ///
    /// A stale file at the path (dead owner, uninitialised, junk) is
    /// removed first; a live one fails with `AddressInUse`. The file is
    /// created `O_EXCL` mode 0600 and fully reserved with `fallocate`; if
    /// the reservation (or the mapping) fails the file is removed and
    /// `ShmAllocate` carries the OS error — the caller should continue the
    /// session without SHM.
    pub fn create(
        endpoint: &Endpoint,
        session_id: u64,
        max_request_payload: u32,
        max_response_payload: u32,
        cfg: &ShmConfig,
    ) -> Result<Self> {
        let layout = RegionLayout::for_payloads(max_request_payload, max_response_payload)?;
        let size = layout.mapped_len();
        let len = usize::try_from(size)
            .map_err(|_| Error::InvalidArgument("SHM region too large for the address space"))?;
        let path = endpoint.shm_path(session_id);
        match stale::probe(&path) {
            Probe::Absent => {}
            Probe::Live | Probe::Unknown => return Err(Error::AddressInUse),
            Probe::Stale => {
                stale::remove(&path);
            }
        }
        let fd = match rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
            Mode::RUSR | Mode::WUSR,
        ) {
            Ok(fd) => fd,
            Err(Errno::EXIST) => return Err(Error::AddressInUse),
            Err(e) => return Err(e.into()),
        };
        let mut unlink = UnlinkOnError(Some(&path));
        loop {
            match rustix::fs::fallocate(&fd, FallocateFlags::empty(), 0, size) {
                Ok(()) => break,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(Error::ShmAllocate(e.into())),
            }
        }
        let mut map = Mapping::new(fd.as_fd(), len, cfg).map_err(MapError::into_allocate)?;
        drop(fd);
        // From here on the mapping owns the file's removal.
        map.unlink_on_drop = Some(path.clone());
        unlink.0 = None;
        drop(unlink);
        // SAFETY: the mapping is `len` bytes long and writable; nobody else
        // can have a Rust reference into it yet. A concurrent truncation by
        // an intruder is repaired by the SIGBUS handler (checked below).
        unsafe { std::ptr::write_bytes(map.base.as_ptr(), 0, len) };
        let h = map.header();
        h.version.store(REGION_VERSION, Ordering::Relaxed);
        h.header_len
            .store(REGION_HEADER_LEN as u16, Ordering::Relaxed);
        h.owner_pid.store(
            rustix::process::getpid().as_raw_nonzero().get(),
            Ordering::Relaxed,
        );
        h.owner_generation
            .store(process_generation(), Ordering::Relaxed);
        h.request_offset
            .store(layout.request_offset, Ordering::Relaxed);
        h.request_capacity
            .store(layout.request_capacity, Ordering::Relaxed);
        h.response_offset
            .store(layout.response_offset, Ordering::Relaxed);
        h.response_capacity
            .store(layout.response_capacity, Ordering::Relaxed);
        // Magic last: a reader that sees it sees a complete header.
        h.magic.store(REGION_MAGIC, Ordering::Release);
        if map.is_broken() {
            return Err(Violation::ShmFault.into());
        }
        Ok(Self::new(map, path, ShmRole::Server, layout, 0, 0, cfg))
    }

    /// Client side: attaches the region the server created. Returns
    /// `Error::ShmNotReady` while the file is missing, undersized or not
    /// initialised (retryable, see [`attach_with_retry`]) and
    /// `Error::ShmAttach(rule)` when it is unusable (close the session and
    /// reconnect without SHM).
    ///
    /// [`attach_with_retry`]: ShmRegion::attach_with_retry
    pub fn attach(
        endpoint: &Endpoint,
        session_id: u64,
        max_request_payload: u32,
        max_response_payload: u32,
        cfg: &ShmConfig,
    ) -> Result<Self> {
        let path = endpoint.shm_path(session_id);
        let fd = match rustix::fs::open(
            &path,
            OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(Error::ShmNotReady),
            Err(_) => return Err(Error::ShmAttach("cannot open the region file")),
        };
        let st =
            rustix::fs::fstat(&fd).map_err(|_| Error::ShmAttach("cannot stat the region file"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Error::ShmAttach("region is not a regular file"));
        }
        let file_len = u64::try_from(st.st_size).unwrap_or(0);
        if file_len < REGION_HEADER_LEN as u64 {
            return Err(Error::ShmNotReady);
        }
        let mut buf = [0u8; REGION_HEADER_LEN];
        match rustix::io::pread(&fd, &mut buf, 0) {
            Ok(n) if n == REGION_HEADER_LEN => {}
            Ok(_) => return Err(Error::ShmNotReady),
            Err(_) => return Err(Error::ShmAttach("cannot read the region header")),
        }
        let info = RegionInfo::parse(&buf).map_err(|_| Error::ShmNotReady)?;
        let layout =
            RegionLayout::validate(&info, file_len, max_request_payload, max_response_payload)?;
        let len = usize::try_from(layout.mapped_len())
            .map_err(|_| Error::ShmAttach("region too large for the address space"))?;
        let map = Mapping::new(fd.as_fd(), len, cfg).map_err(MapError::into_attach)?;
        drop(fd);
        let h = map.header();
        let req_seq = h.req_seq.load(Ordering::Acquire);
        let resp_seq = h.resp_seq.load(Ordering::Acquire);
        if map.is_broken() {
            return Err(Error::ShmAttach("region faulted while attaching"));
        }
        Ok(Self::new(
            map,
            path,
            ShmRole::Client,
            layout,
            req_seq,
            resp_seq,
            cfg,
        ))
    }

    /// [`attach`](ShmRegion::attach), retried every
    /// [`ATTACH_RETRY_INTERVAL`] while it returns `ShmNotReady`, for at most
    /// [`ATTACH_RETRY_LIMIT`] (then `ShmNotReady`), or until `deadline`
    /// (`Timeout`) or `abort` (`Aborted`).
    pub fn attach_with_retry(
        endpoint: &Endpoint,
        session_id: u64,
        max_request_payload: u32,
        max_response_payload: u32,
        cfg: &ShmConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Self> {
        let limit = Instant::now() + ATTACH_RETRY_LIMIT;
        loop {
            if let Some(a) = abort {
                a.check()?;
            }
            match Self::attach(
                endpoint,
                session_id,
                max_request_payload,
                max_response_payload,
                cfg,
            ) {
                Err(Error::ShmNotReady) => {}
                other => return other,
            }
            let remaining = deadline.remaining()?;
            let now = Instant::now();
            if now >= limit {
                return Err(Error::ShmNotReady);
            }
            let mut pause = ATTACH_RETRY_INTERVAL.min(limit - now);
            if let Some(r) = remaining {
                pause = pause.min(r);
            }
            std::thread::sleep(pause);
        }
    }

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

    /// Publishes one whole message (32-byte header + payload) into this
    /// side's outgoing area and wakes the peer.
    ///
    /// The message must be a complete, well-formed message whose length is
    /// `32 + payload_len` (`InvalidArgument` otherwise) and must fit the
    /// outgoing area (`LimitExceeded`). The client may not send again
    /// before it received the answer (`Protocol(ShmBusy)`); the server may
    /// only answer a received request (`InvalidState`).
    pub fn send(&mut self, message: &[u8]) -> Result<()> {
        self.check_poison()?;
        match self.role {
            ShmRole::Client if self.in_flight => return Err(Violation::ShmBusy.into()),
            ShmRole::Server if !self.in_flight => {
                return Err(Error::InvalidState("no received SHM request to answer"));
            }
            _ => {}
        }
        let len = message.len();
        if len > self.tx_cap {
            return Err(Error::LimitExceeded {
                limit: match self.role {
                    ShmRole::Client => Limit::RequestPayload,
                    ShmRole::Server => Limit::ResponsePayload,
                },
                max: (self.tx_cap - HEADER_LEN) as u64,
                actual: len.saturating_sub(HEADER_LEN) as u64,
            });
        }
        let header = Header::decode(message)
            .map_err(|_| Error::InvalidArgument("SHM message must start with a valid header"))?;
        if HEADER_LEN as u64 + u64::from(header.payload_len) != len as u64 {
            return Err(Error::InvalidArgument(
                "SHM message length disagrees with its payload_len",
            ));
        }
        // SAFETY: `tx_off + len <= tx_off + tx_cap <= mapping length`
        // (validated at create/attach); `message` is ordinary memory that
        // cannot overlap the mapping we own. Raw pointer copy: no reference
        // to the shared bytes is ever created.
        unsafe {
            std::ptr::copy_nonoverlapping(
                message.as_ptr(),
                self.map.base.as_ptr().add(self.tx_off),
                len,
            );
        }
        let next = self.tx_seq.wrapping_add(1);
        let (seq, len_word, signal) = self.tx_words();
        // `len <= tx_cap`, which came from a u32.
        len_word.store(len as u32, Ordering::Release);
        seq.store(next, Ordering::Release);
        signal.fetch_add(1, Ordering::Release);
        let woke = futex::wake_one(signal);
        self.tx_seq = next;
        if self.map.is_broken() {
            return Err(self.fault());
        }
        match woke {
            Ok(_) => {}
            Err(FutexError::Fault) => return Err(self.fault()),
            Err(FutexError::Other(e)) => return Err(e.into()),
        }
        self.in_flight = self.role == ShmRole::Client;
        Ok(())
    }

    /// Waits for the peer's next message and copies it (header + payload)
    /// into `out` (cleared first). `peer` is the session socket, polled
    /// for hang-up while waiting.
    ///
    /// Spins briefly (adaptive budget, see the module docs), then sleeps in
    /// `FUTEX_WAIT` slices of [`WAIT_SLICE`]. Fails with `Timeout` at
    /// `deadline`, `Aborted` when `abort` is triggered, `PeerClosed` when
    /// the socket reports hang-up or error, and `Protocol(ShmLength)` /
    /// `Decode(..)` / `Protocol(ShmFault)` for a bad publication. After
    /// `Timeout`/`Aborted` the message may still arrive: `recv` can be
    /// called again.
    pub fn recv(
        &mut self,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        peer: BorrowedFd<'_>,
    ) -> Result<()> {
        out.clear();
        self.check_poison()?;
        match self.role {
            ShmRole::Client if !self.in_flight => {
                return Err(Error::InvalidState("no SHM request in flight"));
            }
            ShmRole::Server if self.in_flight => {
                return Err(Error::InvalidState("previous SHM request not answered"));
            }
            _ => {}
        }
        if let Some(a) = abort {
            a.check()?;
        }
        let seq = self.wait_advance(deadline, abort, peer)?;
        self.rx_seq = seq;
        if let Err(e) = self.consume(out) {
            out.clear();
            return Err(e);
        }
        self.in_flight = self.role == ShmRole::Server;
        Ok(())
    }

    /// Waits until the incoming sequence differs from the last consumed one
    /// and returns it.
    fn wait_advance(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        peer: BorrowedFd<'_>,
    ) -> Result<u64> {
        let expected = self.rx_seq;
        let h = self.map.header();
        let (seq, _, signal) = match self.role {
            ShmRole::Client => (&h.resp_seq, &h.resp_len, &h.resp_signal),
            ShmRole::Server => (&h.req_seq, &h.req_len, &h.req_signal),
        };
        let advanced = || {
            let cur = seq.load(Ordering::Acquire);
            (cur != expected).then_some(cur)
        };
        if let Some(cur) = advanced() {
            self.spin.record(0, true);
            return Ok(cur);
        }
        let start = Instant::now();
        let budget = self.spin.next_budget_ns();
        if let Some((cur, spun)) = spin_until(start, budget, advanced) {
            self.spin.record(spun, true);
            return Ok(cur);
        }
        let mut first = true;
        loop {
            let word = signal.load(Ordering::Acquire);
            if let Some(cur) = advanced() {
                self.spin.record(elapsed_ns(start), false);
                return Ok(cur);
            }
            if self.map.is_broken() {
                return Err(self.fault());
            }
            if let Some(a) = abort {
                a.check()?;
            }
            let remaining = deadline.remaining()?;
            if !first {
                if peer_hung_up(peer)? {
                    // A message published before the hang-up is delivered.
                    return advanced().ok_or(Error::PeerClosed);
                }
                if self.map.probe_tail() {
                    return Err(self.fault());
                }
            }
            first = false;
            let slice = remaining.map_or(WAIT_SLICE, |r| r.min(WAIT_SLICE));
            match futex::wait(signal, word, slice) {
                Ok(_) => {}
                Err(FutexError::Fault) => return Err(self.fault()),
                Err(FutexError::Other(e)) => return Err(e.into()),
            }
        }
    }

    /// Validates the published length, copies the message out, validates
    /// its header against the length.
    fn consume(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let (_, len_word, _) = self.rx_words();
        let published = len_word.load(Ordering::Acquire);
        if self.map.is_broken() {
            return Err(self.fault());
        }
        let len = published as usize;
        if len < HEADER_LEN || len > self.rx_cap {
            return Err(self.poison(Poison::Violation(Violation::ShmLength)));
        }
        out.reserve(len);
        // SAFETY: `rx_off + len <= rx_off + rx_cap <= mapping length`, and
        // `out` has capacity for `len` bytes and cannot overlap the mapping.
        // The peer may be writing the area concurrently (that would be its
        // protocol violation); we only ever copy through raw pointers and
        // validate the private copy. `set_len` covers exactly the bytes just
        // written.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.map.base.as_ptr().add(self.rx_off),
                out.as_mut_ptr(),
                len,
            );
            out.set_len(len);
        }
        if self.map.is_broken() {
            return Err(self.fault());
        }
        let header = match Header::decode(out) {
            Ok(h) => h,
            Err(d) => return Err(self.poison(Poison::Decode(d))),
        };
        if HEADER_LEN as u64 + u64::from(header.payload_len) != len as u64 {
            return Err(self.poison(Poison::Violation(Violation::ShmLength)));
        }
        Ok(())
    }
}

fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Zero-timeout poll of the session socket: hang-up, read hang-up or error
/// means the peer is gone.
fn peer_hung_up(peer: BorrowedFd<'_>) -> Result<bool> {
    let mut fds = [PollFd::from_borrowed_fd(peer, PollFlags::RDHUP)];
    let zero = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(0) | Err(Errno::INTR) => Ok(false),
        Ok(_) => {
            let r = fds[0].revents();
            if r.contains(PollFlags::NVAL) {
                return Err(Error::InvalidArgument("SHM peer socket is not an open fd"));
            }
            Ok(r.intersects(PollFlags::HUP | PollFlags::RDHUP | PollFlags::ERR))
        }
        Err(e) => Err(e.into()),
    }
}
