//! The listening endpoint and connections awaiting their handshake.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::SocketFlags;

use crate::error::Result;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::shm;

use super::bind::{bind_endpoint, unlink_if_ours};
use super::config::ServerConfig;
use super::framing::{Channel, UdsLink};
use super::handshake::server_handshake;
use super::io::wait;
use super::session::ServerSession;

/// Default `listen(2)` backlog.
pub const DEFAULT_BACKLOG: i32 = 128;

/// A listening service endpoint.
///
/// Accepting is cheap and never reads from the peer: [`Listener::accept`]
/// returns a [`PendingConnection`] as soon as the kernel hands one over,
/// and the caller runs [`PendingConnection::handshake`] (under a deadline,
/// typically on a worker thread). A client that connects and stays silent
/// therefore never stalls the acceptor or other clients.
///
/// `accept` takes `&self` and the listener is `Sync`, so several threads
/// may accept concurrently. Session ids are allocated from 1, one per
/// accepted connection (rejected and abandoned handshakes consume theirs).
///
/// Dropping the listener closes the listening socket and unlinks its
/// socket file (only if the file is still the one it created); sessions
/// already established are unaffected.
///
/// The listener's fd (via [`AsFd`]) is readable when a connection is
/// waiting, for use in caller-owned event loops.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
    endpoint: Arc<Endpoint>,
    next_session_id: AtomicU64,
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Listener {
    /// Binds `{run_dir}/{service}.sock` securely (mode 0600, see the
    /// module docs), recovering a stale endpoint, and removes stale SHM
    /// regions of this service.
    ///
    /// Fails with [`crate::Error::AddressInUse`] when a live server owns
    /// the endpoint.
    pub fn bind(endpoint: &Endpoint) -> Result<Listener> {
        Self::bind_with_backlog(endpoint, DEFAULT_BACKLOG)
    }

    /// [`Listener::bind`] with an explicit `listen(2)` backlog.
    pub fn bind_with_backlog(endpoint: &Endpoint, backlog: i32) -> Result<Listener> {
        let bound = bind_endpoint(endpoint, backlog)?;
        // Best effort: a failure to clean never prevents serving.
        let _ = shm::cleanup_stale_regions(endpoint);
        Ok(Listener {
            fd: bound.fd,
            endpoint: Arc::new(endpoint.clone()),
            next_session_id: AtomicU64::new(1),
            path: endpoint.socket_path(),
            dev: bound.dev,
            ino: bound.ino,
        })
    }

    /// The endpoint served.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Waits for the next connection (until `deadline`, or the abort
    /// handle fires) and returns it without reading from it.
    pub fn accept(
        &self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<PendingConnection> {
        loop {
            if let Some(a) = abort {
                a.check()?;
            }
            match self.try_accept()? {
                Some(p) => return Ok(p),
                None => wait(self.fd.as_fd(), PollFlags::IN, deadline, abort)?,
            }
        }
    }

    /// Accepts a waiting connection if there is one, without blocking.
    pub fn try_accept(&self) -> Result<Option<PendingConnection>> {
        loop {
            match rustix::net::accept_with(&self.fd, SocketFlags::CLOEXEC) {
                Ok(fd) => {
                    let session_id = self.next_session_id.fetch_add(1, Ordering::Relaxed);
                    return Ok(Some(PendingConnection {
                        fd,
                        endpoint: Arc::clone(&self.endpoint),
                        session_id,
                    }));
                }
                Err(Errno::AGAIN) => return Ok(None),
                Err(Errno::INTR | Errno::CONNABORTED) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        unlink_if_ours(&self.path, self.dev, self.ino);
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// An accepted connection whose handshake has not run yet.
///
/// `Send`: hand it to a worker thread and call
/// [`PendingConnection::handshake`] there. Dropping it closes the
/// connection.
#[derive(Debug)]
pub struct PendingConnection {
    fd: OwnedFd,
    endpoint: Arc<Endpoint>,
    session_id: u64,
}

impl PendingConnection {
    /// The session id reserved for this connection.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Runs the server side of the handshake: reads the HELLO (until
    /// `deadline`), decides with the current budgets in `cfg` (Level 2
    /// passes learned budgets), provisions SHM when selected (falling back
    /// to the baseline when the region cannot be created and the client
    /// supports it), and sends the HELLO_ACK.
    ///
    /// On rejection the client receives a rejection HELLO_ACK and the
    /// error returned names the reason ([`crate::Error::AuthFailed`],
    /// [`crate::Error::Unsupported`], [`crate::Error::Incompatible`],
    /// [`crate::Error::LimitExceeded`], [`crate::Error::Status`]); a
    /// malformed HELLO is closed without an answer. Either way the
    /// connection is closed.
    pub fn handshake(
        self,
        cfg: &ServerConfig,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<ServerSession> {
        let parts = server_handshake(
            self.fd.as_fd(),
            &self.endpoint,
            cfg,
            self.session_id,
            deadline,
            abort,
        )?;
        let ack = parts.ack;
        let chan = Channel::server(UdsLink::new(self.fd), &ack, parts.shm);
        Ok(ServerSession::new(chan, ack))
    }
}

impl AsFd for PendingConnection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PendingConnection {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
