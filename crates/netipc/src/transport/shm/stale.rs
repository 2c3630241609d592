//! Stale region detection and cleanup.
//!
//! The same liveness check serves the startup scan
//! ([`cleanup_stale_regions`]) and the per-session create (which reclaims a
//! stale file at its target path before the `O_EXCL` open):
//!
//! - `open` fails with `ENOENT`: nothing there;
//! - `open` fails with `EMFILE`/`ENFILE`: liveness cannot be evaluated, the
//!   file is kept and treated as in use;
//! - any other `open` failure, not a regular file, undersized, or bad
//!   magic: junk, reclaimed;
//! - owner pid alive (`kill(pid, 0)` succeeds or fails with `EPERM`) and
//!   generation non-zero: live, kept — except when the owner pid is this
//!   process and the generation is not this process's, which is a dead
//!   predecessor whose pid we reuse;
//! - otherwise (pid dead or not positive, generation zero): stale,
//!   reclaimed.
//!
//! The header is read with `pread`, never mapped, so a file truncated
//! concurrently cannot fault the scan.

use std::fs;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

use super::layout::{REGION_HEADER_LEN, REGION_MAGIC, RegionInfo};
use super::region::process_generation;
use crate::error::Result;
use crate::transport::endpoint::{Endpoint, SHM_SUFFIX};

/// What is found at a region path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// No file.
    Absent,
    /// A live server's region: never remove it.
    Live,
    /// Liveness could not be evaluated (fd exhaustion): keep it.
    Unknown,
    /// Dead owner, uninitialised, or junk: safe to remove.
    Stale,
}

/// Whether a process with this pid exists.
fn pid_alive(pid: i32) -> bool {
    // kill(0 or negative, 0) would address process groups; such a pid
    // cannot own a region (and `Pid::from_raw` rejects negatives).
    if pid <= 0 {
        return false;
    }
    match Pid::from_raw(pid) {
        None => false,
        Some(p) => match rustix::process::test_kill_process(p) {
            Ok(()) => true,
            Err(Errno::PERM) => true,
            Err(_) => false,
        },
    }
}

/// Applies the stale detection rules to one path.
pub(crate) fn probe(path: &Path) -> Probe {
    let fd = match rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Probe::Absent,
        Err(Errno::MFILE | Errno::NFILE) => return Probe::Unknown,
        Err(_) => return Probe::Stale,
    };
    let st = match rustix::fs::fstat(&fd) {
        Ok(st) => st,
        Err(_) => return Probe::Stale,
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile
        || st.st_size < REGION_HEADER_LEN as i64
    {
        return Probe::Stale;
    }
    let mut buf = [0u8; REGION_HEADER_LEN];
    match rustix::io::pread(&fd, &mut buf, 0) {
        Ok(n) if n == REGION_HEADER_LEN => {}
        _ => return Probe::Stale,
    }
    let Ok(info) = RegionInfo::parse(&buf) else {
        return Probe::Stale;
    };
    if info.magic != REGION_MAGIC || info.owner_generation == 0 {
        return Probe::Stale;
    }
    let me = rustix::process::getpid().as_raw_nonzero().get();
    if info.owner_pid == me {
        return if info.owner_generation == process_generation() {
            Probe::Live
        } else {
            Probe::Stale
        };
    }
    if pid_alive(info.owner_pid) {
        Probe::Live
    } else {
        Probe::Stale
    }
}

/// Removes `path`; a file that vanished meanwhile counts as removed.
pub(crate) fn remove(path: &Path) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Whether `name` is `{service}-{16 lowercase hex}.ipcshm` for `prefix`
/// `= "{service}-"`. The exact shape keeps services whose names share a
/// prefix (`svc` and `svc-b`) out of each other's scans.
pub(crate) fn is_region_name(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix) else {
        return false;
    };
    let Some(id) = rest.strip_suffix(SHM_SUFFIX) else {
        return false;
    };
    id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Removes stale region files of `endpoint` (dead owner, zero generation,
/// junk, undersized); never a live one. Returns how many were removed.
///
/// Scans only `{service}-{16 hex digits}.ipcshm` in the endpoint's
/// run directory. A missing run directory means nothing to clean.
/// Files that cannot be removed are skipped.
pub fn cleanup_stale_regions(endpoint: &Endpoint) -> Result<usize> {
    let dir = match fs::read_dir(endpoint.run_dir()) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let prefix = endpoint.shm_prefix();
    let mut removed = 0usize;
    for entry in dir {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_region_name(name, &prefix) {
            continue;
        }
        let path = entry.path();
        if probe(&path) == Probe::Stale && remove(&path) {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let p = "svc-";
        assert!(is_region_name("svc-000000000000002a.ipcshm", p));
        assert!(!is_region_name("svc-000000000000002A.ipcshm", p));
        assert!(!is_region_name("svc-b-000000000000002a.ipcshm", p));
        assert!(!is_region_name("svc-2a.ipcshm", p));
        assert!(!is_region_name("svc-000000000000002a.ipcshm.tmp", p));
        assert!(!is_region_name("svc.sock", p));
        assert!(!is_region_name("svx-000000000000002a.ipcshm", p));
    }

    #[test]
    fn pids() {
        assert!(pid_alive(rustix::process::getpid().as_raw_nonzero().get()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(-1));
        assert!(pid_alive(1));
    }
}
