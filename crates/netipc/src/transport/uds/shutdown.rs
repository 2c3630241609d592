//! [`SessionShutdown`]: ends a server session from another thread (the
//! managed server's `stop()` and drain).

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use rustix::net::Shutdown;

use crate::error::Result;

use super::session::ServerSession;

/// A handle that ends one [`ServerSession`] from any thread.
///
/// It owns a duplicate of the session socket (one fd) and, for an SHM
/// session, the path of its region file. Dropping the handle does nothing
/// to the session; the connection stays open until both the session and
/// the handle are dropped.
#[derive(Debug)]
pub struct SessionShutdown {
    fd: OwnedFd,
    shm_path: Option<PathBuf>,
}

impl SessionShutdown {
    pub(super) fn new(session: &ServerSession) -> Result<Self> {
        Ok(SessionShutdown {
            fd: session.as_fd().try_clone_to_owned()?,
            shm_path: session.shm_path().map(PathBuf::from),
        })
    }

    /// Stops receiving: a receive waiting for the next request (and every
    /// later one) ends once the requests already queued are read; sending
    /// the answer to a request being handled still works.
    pub fn stop_receiving(&self) {
        let _ = rustix::net::shutdown(&self.fd, Shutdown::Read);
    }

    /// Ends the session: every blocked or later send and receive fails,
    /// and the SHM region file (if any) is removed. The session's own
    /// mapping stays valid until the session is dropped.
    pub fn close(&self) {
        let _ = rustix::net::shutdown(&self.fd, Shutdown::Both);
        if let Some(p) = &self.shm_path {
            let _ = std::fs::remove_file(p);
        }
    }
}
