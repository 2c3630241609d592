//! The `MAP_SHARED` mapping of a region file and its SIGBUS registration.

use std::ffi::c_void;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::io::Errno;
use rustix::mm::{MapFlags, ProtFlags};

use crate::error::Error;
use crate::transport::shm::ShmConfig;
use crate::transport::shm::layout::RegionHeader;
use crate::transport::shm::sigbus::{self, Registration};

/// Why a mapping could not be set up.
pub(super) enum MapError {
    Mmap(Errno),
    NoHandler,
    RegistryFull,
}

impl MapError {
    pub(super) fn into_allocate(self) -> Error {
        Error::ShmAllocate(match self {
            MapError::Mmap(e) => e.into(),
            MapError::NoHandler => io::Error::other("cannot install the SIGBUS handler"),
            MapError::RegistryFull => {
                io::Error::other("too many live SHM regions in this process (SIGBUS registry full)")
            }
        })
    }

    pub(super) fn into_attach(self) -> Error {
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
pub(super) struct Mapping {
    pub(super) base: NonNull<u8>,
    len: usize,
    registration: Option<Registration>,
    pub(super) unlink_on_drop: Option<PathBuf>,
}

impl Mapping {
    pub(super) fn new(fd: BorrowedFd<'_>, len: usize, cfg: &ShmConfig) -> Result<Self, MapError> {
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
    pub(super) fn header(&self) -> &RegionHeader {
        // SAFETY: the mapping is at least REGION_HEADER_LEN bytes (checked
        // by create/attach), page aligned (so aligned for RegionHeader), and
        // lives as long as `self`. All header fields are atomics, so shared
        // references are sound while the peer writes concurrently. After a
        // SIGBUS repair the range is anonymous zero memory, still valid.
        unsafe { &*self.base.as_ptr().cast::<RegionHeader>() }
    }

    #[inline]
    pub(super) fn is_broken(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(Registration::is_broken)
    }

    /// Touches the last mapped byte, so that a file truncated below it
    /// faults now (and is repaired by the handler) instead of leaving a
    /// waiter whose header page survived waiting for a peer that can no
    /// longer publish. Only for registered mappings: unprotected, the
    /// fault would kill the process. Returns whether the mapping is broken.
    pub(super) fn probe_tail(&self) -> bool {
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
pub(super) struct UnlinkOnError<'a>(pub(super) Option<&'a Path>);

impl Drop for UnlinkOnError<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}
