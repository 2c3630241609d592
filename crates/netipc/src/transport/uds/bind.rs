//! Secure bind of the listening socket and stale endpoint recovery.
//!
//! # Permission contract
//!
//! The socket file `{run_dir}/{service}.sock` is created owner-only
//! (mode `0600`) without touching the process umask and without any window
//! in which another local user could connect to a wider-permission socket:
//!
//! 1. a fresh private directory (mode `0700`, owned by us) is created
//!    inside `run_dir`;
//! 2. the socket is bound inside it, `chmod`ed to `0600` and put in the
//!    listening state — nobody else can reach it through the private
//!    directory meanwhile;
//! 3. it is moved into place with `renameat2(RENAME_NOREPLACE)` (or
//!    `link` + `unlink` on file systems without that flag), which never
//!    replaces an existing entry, so a live server's socket is never
//!    clobbered and of two racing servers exactly one wins (placing and
//!    reclaiming hold an exclusive `flock` on `run_dir`, see below);
//! 4. the private directory is removed.
//!
//! The effective permission on the socket is therefore `0600`; access is
//! further gated by the permissions of `run_dir` itself, which belongs to
//! the embedding service. `run_dir` must exist.
//!
//! # Stale endpoints
//!
//! When the name is taken, the existing entry is probed with a
//! non-blocking `connect`. A live listener (connect succeeds, or its
//! backlog is full) means [`Error::AddressInUse`]. Anything else — a
//! refused socket left by a dead server, a regular file, a symlink to
//! nowhere — is reclaimed: it is first moved atomically into our private
//! directory, probed again there (so a server that won a concurrent race
//! meanwhile is put back rather than deleted), then unlinked, and the bind
//! is retried. Racing binders take turns for placing and reclaiming (an
//! exclusive `flock` on the `run_dir` descriptor, held for those few
//! system calls): without it, a racer could move the winner's fresh socket
//! aside on an out-of-date "stale" verdict and a third racer take the
//! name before it is put back, leaving the first winner listening on a
//! socket nobody can reach. If the probe socket cannot be created because file
//! descriptors are exhausted (`EMFILE`/`ENFILE`), liveness cannot be
//! evaluated: the entry is kept and [`Error::AddressInUse`] reported. A
//! directory squatting on the socket name is never removed (also
//! [`Error::AddressInUse`]).

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, CWD, FileType, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use crate::error::{Error, Result};
use crate::transport::endpoint::{Endpoint, SUN_PATH_MAX};

/// How many times a taken name is reclaimed before giving up.
const MAX_BIND_ATTEMPTS: usize = 8;

/// Name of the socket inside the private directory.
const TMP_SOCKET: &str = "s";
/// Name a reclaimed entry is moved to inside the private directory.
const TMP_STALE: &str = "stale";

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A bound, listening socket and the identity of its file.
pub(crate) struct Bound {
    pub fd: OwnedFd,
    pub dev: u64,
    pub ino: u64,
}

/// A private `0700` directory inside `run_dir`, removed on drop.
struct PrivateDir {
    parent: OwnedFd,
    name: String,
    fd: OwnedFd,
    path: PathBuf,
}

impl PrivateDir {
    fn create(parent: OwnedFd, run_dir: &Path) -> Result<Self> {
        let pid = std::process::id();
        for _ in 0..64 {
            let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(".nipc.{pid:x}.{n:x}");
            match rustix::fs::mkdirat(&parent, name.as_str(), Mode::RWXU) {
                Ok(()) => {}
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
            // The umask can only have narrowed the mode; restore owner
            // access (never wider than 0700).
            let opened = rustix::fs::chmodat(&parent, name.as_str(), Mode::RWXU, AtFlags::empty())
                .and_then(|()| {
                    rustix::fs::openat(
                        &parent,
                        name.as_str(),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                });
            match opened {
                Ok(fd) => {
                    let path = run_dir.join(&name);
                    return Ok(PrivateDir {
                        parent,
                        name,
                        fd,
                        path,
                    });
                }
                Err(e) => {
                    let _ = rustix::fs::unlinkat(&parent, name.as_str(), AtFlags::REMOVEDIR);
                    return Err(e.into());
                }
            }
        }
        Err(Error::Io(std::io::Error::other(
            "could not create a private directory in run_dir",
        )))
    }

    /// A path to `entry` usable as a socket address: the real path when it
    /// fits `sun_path`, else a short `/proc/self/fd/N/entry` alias.
    fn entry_path(&self, entry: &str) -> PathBuf {
        let direct = self.path.join(entry);
        if direct.as_os_str().len() < SUN_PATH_MAX {
            direct
        } else {
            use std::os::fd::AsRawFd;
            PathBuf::from(format!("/proc/self/fd/{}/{entry}", self.fd.as_raw_fd()))
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = rustix::fs::unlinkat(&self.fd, TMP_SOCKET, AtFlags::empty());
        let _ = rustix::fs::unlinkat(&self.fd, TMP_STALE, AtFlags::empty());
        let _ = rustix::fs::unlinkat(&self.parent, self.name.as_str(), AtFlags::REMOVEDIR);
    }
}

/// Liveness of whatever sits at a socket path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A listener accepted (or queued) our connection attempt.
    Live,
    /// Nothing is there.
    Absent,
    /// Something is there but no live listener.
    Stale,
}

/// Probes `path` with a non-blocking SEQPACKET connect.
///
/// Fails with [`Error::AddressInUse`] when the probe socket cannot be
/// created for lack of file descriptors or memory.
pub(crate) fn probe(path: &Path) -> Result<Probe> {
    let s = match rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    ) {
        Ok(s) => s,
        Err(Errno::MFILE | Errno::NFILE | Errno::NOBUFS | Errno::NOMEM) => {
            return Err(Error::AddressInUse);
        }
        Err(e) => return Err(e.into()),
    };
    let addr = SocketAddrUnix::new(path)?;
    loop {
        return Ok(match rustix::net::connect(&s, &addr) {
            Ok(()) => Probe::Live,
            // A full backlog (EAGAIN) still means a live listener.
            Err(Errno::AGAIN | Errno::INPROGRESS) => Probe::Live,
            Err(Errno::INTR) => continue,
            Err(Errno::NOENT) => Probe::Absent,
            Err(_) => Probe::Stale,
        });
    }
}

/// Moves `src` (in `src_dir`) to `name` in `dst_dir`, never replacing an
/// existing entry.
fn place(src_dir: &OwnedFd, src: &str, dst_dir: &OwnedFd, name: &OsStr) -> rustix::io::Result<()> {
    match rustix::fs::renameat_with(src_dir, src, dst_dir, name, RenameFlags::NOREPLACE) {
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            // File system without RENAME_NOREPLACE: link() also refuses to
            // replace an existing entry.
            rustix::fs::linkat(src_dir, src, dst_dir, name, AtFlags::empty())?;
            let _ = rustix::fs::unlinkat(src_dir, src, AtFlags::empty());
            Ok(())
        }
        r => r,
    }
}

/// Binds and listens on the endpoint's socket path (see module docs).
pub(crate) fn bind_endpoint(endpoint: &Endpoint, backlog: i32) -> Result<Bound> {
    let run_dir = endpoint.run_dir();
    let sock_path = endpoint.socket_path();
    let Some(name) = sock_path.file_name() else {
        return Err(Error::InvalidArgument("socket path has no file name"));
    };
    let dir = rustix::fs::openat(
        CWD,
        run_dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let private = PrivateDir::create(dir, run_dir)?;

    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    rustix::net::bind(&fd, &SocketAddrUnix::new(private.entry_path(TMP_SOCKET))?)?;
    rustix::fs::chmodat(
        &private.fd,
        TMP_SOCKET,
        Mode::RUSR | Mode::WUSR,
        AtFlags::empty(),
    )?;
    // Listen before the socket becomes visible: a racing server's probe
    // must see it live, never refused.
    rustix::net::listen(&fd, backlog)?;
    let st = rustix::fs::statat(&private.fd, TMP_SOCKET, AtFlags::SYMLINK_NOFOLLOW)?;

    // Released when `private` closes the run_dir descriptor on return.
    lock_exclusive(&private.parent)?;
    for _ in 0..MAX_BIND_ATTEMPTS {
        match place(&private.fd, TMP_SOCKET, &private.parent, name) {
            Ok(()) => {
                return Ok(Bound {
                    fd,
                    dev: st.st_dev,
                    ino: st.st_ino,
                });
            }
            Err(Errno::EXIST) => reclaim(&private, name, &sock_path)?,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::AddressInUse)
}

/// Takes the exclusive `flock` on `dir` (waiting for a racing binder's
/// turn to end).
fn lock_exclusive(dir: &OwnedFd) -> Result<()> {
    loop {
        match rustix::fs::flock(dir, FlockOperation::LockExclusive) {
            Err(Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}

/// Removes a stale entry at `name`, or fails with
/// [`Error::AddressInUse`] when a live server owns it.
fn reclaim(private: &PrivateDir, name: &OsStr, sock_path: &Path) -> Result<()> {
    let dir = &private.parent;
    let st = match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        return Err(Error::AddressInUse);
    }
    match probe(sock_path)? {
        Probe::Live => return Err(Error::AddressInUse),
        Probe::Absent | Probe::Stale => {}
    }
    // Move the entry aside atomically, then re-check it where nobody else
    // can replace it: a concurrent winner is restored, never deleted.
    match rustix::fs::renameat(dir, name, &private.fd, TMP_STALE) {
        Ok(()) => {}
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let moved = private.entry_path(TMP_STALE);
    if probe(&moved).unwrap_or(Probe::Live) == Probe::Live {
        let _ = place(&private.fd, TMP_STALE, dir, name);
        return Err(Error::AddressInUse);
    }
    match rustix::fs::unlinkat(&private.fd, TMP_STALE, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR | Errno::PERM) => {
            // A directory appeared meanwhile: put it back, give up.
            let _ = place(&private.fd, TMP_STALE, dir, name);
            Err(Error::AddressInUse)
        }
        Err(e) => Err(e.into()),
    }
}

/// Unlinks `path` only if it is still the file identified by `dev`/`ino`
/// (so a successor's socket is never removed).
pub(crate) fn unlink_if_ours(path: &Path, dev: u64, ino: u64) {
    if let Ok(st) = rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        if st.st_dev == dev && st.st_ino == ino {
            let _ = rustix::fs::unlinkat(CWD, path, AtFlags::empty());
        }
    }
}
