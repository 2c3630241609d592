//! Endpoints: a run directory plus a service name, and the file names
//! derived from them.
//!
//! - socket: `{run_dir}/{service}.sock`
//! - SHM region of session `id`: `{run_dir}/{service}-{id:016x}.ipcshm`
//!
//! Service names contain only `[A-Za-z0-9._-]`, are not empty, `.` or
//! `..`. Paths that do not fit in `sockaddr_un.sun_path` are rejected,
//! never truncated.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Capacity of `sockaddr_un.sun_path` on Linux, NUL terminator included.
pub const SUN_PATH_MAX: usize = 108;

/// Suffix of the listening socket file.
pub const SOCKET_SUFFIX: &str = ".sock";
/// Suffix of per-session SHM region files.
pub const SHM_SUFFIX: &str = ".ipcshm";

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
        if ep.socket_path().as_os_str().len() >= SUN_PATH_MAX {
            return Err(Error::InvalidArgument("socket path too long for sun_path"));
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
