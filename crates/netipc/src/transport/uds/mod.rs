//! UDS `SOCK_SEQPACKET` transport: listeners, the handshake, framing with
//! transparent chunking, batching and pipelining, and the switch to the
//! per-session SHM data plane when negotiated.
//!
//! # Shape of the API
//!
//! Server side:
//!
//! ```no_run
//! # use netipc::transport::{Endpoint, Deadline};
//! # use netipc::transport::uds::{Listener, ServerConfig};
//! # use std::time::Duration;
//! # fn main() -> netipc::Result<()> {
//! let endpoint = Endpoint::new("/run/netdata", "cgroups-snapshot")?;
//! let listener = Listener::bind(&endpoint)?;
//! let cfg = ServerConfig { auth_token: 42, ..ServerConfig::default() };
//! loop {
//!     // Fast: never reads from the peer.
//!     let pending = listener.accept(Deadline::NEVER, None)?;
//!     let cfg = cfg.clone();
//!     std::thread::spawn(move || -> netipc::Result<()> {
//!         // The handshake runs off the accept path, under a deadline.
//!         let mut s = pending.handshake(&cfg, Deadline::after(Duration::from_secs(5)), None)?;
//!         loop {
//!             let req = s.recv_request(Deadline::NEVER, None)?;
//!             let (code, id) = (req.header.code, req.header.message_id);
//!             let answer = req.payload.to_vec();
//!             s.send_response(code, id, &answer)?;
//!         }
//!     });
//! }
//! # }
//! ```
//!
//! Client side: [`ClientSession::connect`], then [`ClientSession::call`],
//! or pipelined [`ClientSession::send_request`] /
//! [`ClientSession::recv_response`].
//!
//! # Files and permissions
//!
//! The listening socket is `{run_dir}/{service}.sock`, created mode `0600`
//! (owner only) through a private directory and an atomic no-replace move
//! (see the permission contract below). In short:
//!
//! - the process umask is never changed, and there is no instant in which
//!   the socket is reachable with wider permissions;
//! - a live server's socket is never replaced: of two servers racing for
//!   one endpoint exactly one wins, the other gets
//!   [`crate::Error::AddressInUse`];
//! - stale entries (refused sockets, junk files) are reclaimed; fd
//!   exhaustion during the liveness probe keeps the entry and reports
//!   [`crate::Error::AddressInUse`].
//!
//! # Permission contract
//!
//! 1. A fresh `0700` directory is created inside `run_dir`.
//! 2. The socket is bound inside it, set to `0600`, and starts listening.
//! 3. It is moved to `{service}.sock` with `renameat2(RENAME_NOREPLACE)`
//!    (`link` + `unlink` where unsupported).
//! 4. The private directory is removed.
//!
//! # Wait objects
//!
//! [`Listener`], [`PendingConnection`], [`ClientSession`] and
//! [`ServerSession`] implement [`AsFd`](std::os::fd::AsFd) /
//! [`AsRawFd`](std::os::fd::AsRawFd) for caller-owned event loops. On an
//! SHM session data arrives by futex in the shared region, and the socket
//! fd then signals hang-up only.
//!
//! # Packet size
//!
//! Each side proposes `min(configured, SO_SNDBUF - 32)` (a SEQPACKET
//! datagram carries at most that much); the agreed size is the minimum of
//! both proposals. Messages larger than one packet are chunked.

mod bind;
mod config;
mod framing;
mod handshake;
mod io;
mod listener;
mod session;
mod shutdown;

#[cfg(test)]
mod tests;

pub use crate::transport::handshake::{HELLO_ACK_MSG_LEN, HELLO_MSG_LEN, handshake_status_error};
pub use crate::transport::handshake::{RejectFn, RejectHook};
pub use crate::transport::pipeline::DEFAULT_MAX_IN_FLIGHT;
pub use crate::transport::shm::ShmConfig;
pub use config::{
    ClientConfig, DEFAULT_SHM_ATTACH_TIMEOUT, IMPLEMENTED_PROFILES, MAX_IN_FLIGHT_LIMIT,
    SHM_ATTACH_RETRY, SHM_PROFILES, ServerConfig,
};
pub use listener::{DEFAULT_BACKLOG, Listener, PendingConnection};
pub use session::{ClientSession, Message, ServerSession};
pub use shutdown::SessionShutdown;
