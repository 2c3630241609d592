//! Endpoints: a run directory plus a service name, and the file names
//! derived from them.
//!
//! - socket: `{run_dir}/{service}.sock`
//! - SHM region of session `id`: `{run_dir}/{service}-{id:016x}.ipcshm`
//! - Windows Named Pipe: `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`
//!
//! Service names contain only `[A-Za-z0-9._-]`, are not empty, `.` or
//! `..`. Paths that do not fit in `sockaddr_un.sun_path` (Unix) or pipe
//! names longer than 256 characters (Windows) are rejected, never
//! truncated.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Capacity of `sockaddr_un.sun_path` on Linux, NUL terminator included.
pub const SUN_PATH_MAX: usize = 108;

/// Suffix of the listening socket file.
pub const SOCKET_SUFFIX: &str = ".sock";
/// Suffix of per-session SHM region files.
pub const SHM_SUFFIX: &str = ".ipcshm";

/// Prefix of Windows Named Pipe names (`\\.\pipe\netipc-`).
pub const PIPE_PREFIX: &str = r"\\.\pipe\netipc-";
/// Longest Windows pipe name (characters, prefix included).
pub const PIPE_NAME_MAX: usize = 256;

/// FNV-1a 64-bit hash (offset basis `0xcbf29ce484222325`, prime
/// `0x100000001b3`), as every implementation derives pipe names with.
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Checks a service name: non-empty, only `[A-Za-z0-9._-]`, not `.`/`..`.
pub fn validate_service_name(service: &str) -> Result<()> {
    if service.is_empty() {
        return Err(Error::InvalidArgument("service name is empty"));
    }
    if service == "." || service == ".." {
        return Err(Error::InvalidArgument("service name is . or .."));
    }
    if !service
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(Error::InvalidArgument(
            "service name may contain only [A-Za-z0-9._-]",
        ));
    }
    Ok(())
}

/// A validated run directory + service name pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    run_dir: PathBuf,
    service: String,
}

impl Endpoint {
    /// Validates the service name and the socket path length.
    pub fn new(run_dir: impl AsRef<Path>, service: &str) -> Result<Self> {
        validate_service_name(service)?;
        let ep = Endpoint {
            run_dir: run_dir.as_ref().to_path_buf(),
            service: service.to_owned(),
        };
        if cfg!(unix) && ep.socket_path().as_os_str().len() >= SUN_PATH_MAX {
            return Err(Error::InvalidArgument("socket path too long for sun_path"));
        }
        if cfg!(windows) && ep.pipe_name().len() > PIPE_NAME_MAX {
            return Err(Error::InvalidArgument("pipe name too long"));
        }
        Ok(ep)
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// `{run_dir}/{service}.sock`
    pub fn socket_path(&self) -> PathBuf {
        self.run_dir
            .join(format!("{}{SOCKET_SUFFIX}", self.service))
    }

    /// `{run_dir}/{service}-{session_id:016x}.ipcshm`
    pub fn shm_path(&self, session_id: u64) -> PathBuf {
        self.run_dir
            .join(format!("{}-{session_id:016x}{SHM_SUFFIX}", self.service))
    }

    /// The Windows Named Pipe name of this endpoint:
    /// `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`.
    ///
    /// `run_dir` is hashed as the UTF-8 bytes of its path (lossily
    /// converted), exactly as written: no normalization.
    pub fn pipe_name(&self) -> String {
        let dir = self.run_dir.to_string_lossy();
        format!(
            "{PIPE_PREFIX}{:016x}-{}",
            fnv1a64(dir.as_bytes()),
            self.service
        )
    }

    /// The prefix every SHM region file name of this service starts with.
    pub fn shm_prefix(&self) -> String {
        format!("{}-", self.service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_service_name("cgroups-snapshot").is_ok());
        assert!(validate_service_name("a.b_c-D9").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "é", "a\0"] {
            assert!(validate_service_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths() {
        let ep = Endpoint::new("/run/netdata", "cgroups-snapshot").unwrap();
        assert_eq!(
            ep.socket_path(),
            Path::new("/run/netdata/cgroups-snapshot.sock")
        );
        assert_eq!(
            ep.shm_path(0x2a),
            Path::new("/run/netdata/cgroups-snapshot-000000000000002a.ipcshm")
        );
    }

    #[test]
    fn fnv1a64_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn pipe_names() {
        let ep = Endpoint::new("/run/netdata", "cgroups-snapshot").unwrap();
        let want = format!(
            r"\\.\pipe\netipc-{:016x}-cgroups-snapshot",
            fnv1a64(b"/run/netdata")
        );
        assert_eq!(ep.pipe_name(), want);
        assert!(ep.pipe_name().starts_with(r"\\.\pipe\netipc-"));
        // 16 lowercase hex digits between the prefix and the service.
        let hex = &ep.pipe_name()[PIPE_PREFIX.len()..PIPE_PREFIX.len() + 16];
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }

    #[cfg(unix)]
    #[test]
    fn too_long() {
        let dir = "/".to_string() + &"d".repeat(100);
        assert!(matches!(
            Endpoint::new(&dir, "svc"),
            Err(Error::InvalidArgument(_))
        ));
        let dir = "/".to_string() + &"d".repeat(90);
        assert!(Endpoint::new(&dir, "svc").is_ok());
    }
}
