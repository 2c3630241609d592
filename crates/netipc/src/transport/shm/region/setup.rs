//! Creating (server) and attaching (client) a session region.

use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rustix::fs::{FallocateFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, Result, Violation};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::shm::ShmConfig;
use crate::transport::shm::layout::{
    REGION_HEADER_LEN, REGION_MAGIC, REGION_VERSION, RegionInfo, RegionLayout,
};
use crate::transport::shm::stale::{self, Probe};

use super::mapping::{MapError, Mapping, UnlinkOnError};
use super::{ATTACH_RETRY_INTERVAL, ATTACH_RETRY_LIMIT, ShmRegion, ShmRole, process_generation};

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
}
