//! Win32 Named Pipe transport (profile NAMED_PIPE, bit 0: the Windows
//! baseline), per `level1-windows-np.md`, with the Win SHM data plane
//! (`level1-windows-shm.md`) as a negotiated upgrade.
//!
//! - Pipe name: `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`
//!   ([`Endpoint::pipe_name`](crate::transport::Endpoint::pipe_name)).
//! - Message mode (`PIPE_TYPE_MESSAGE` / `PIPE_READMODE_MESSAGE`),
//!   overlapped I/O, local clients only.
//! - The handshake is the one of every transport: HELLO / HELLO_ACK, the
//!   server decision being [`crate::wire::negotiate`].
//! - Messages larger than the agreed packet size are chunked exactly as on
//!   UDS: one pipe message per packet.
//! - Receives take a [`Deadline`](crate::transport::Deadline) covering
//!   every packet of the message and an optional
//!   [`AbortHandle`](crate::transport::AbortHandle) whose event is waited
//!   on alongside the pipe; timeout and abort are distinct errors.
//! - `ERROR_BROKEN_PIPE`, `ERROR_NO_DATA` and `ERROR_PIPE_NOT_CONNECTED`
//!   are [`Error::PeerClosed`](crate::Error::PeerClosed).
//!
//! - Win SHM (profiles SHM_HYBRID and SHM_BUSYWAIT, see [`shm`]): when
//!   negotiated, the server creates a per-session page-file mapping before
//!   it sends HELLO_ACK and the client attaches it; every later message
//!   travels whole through the mapping, the pipe only telling whether the
//!   peer is gone. If the server cannot create the region it continues on
//!   NAMED_PIPE when the client supports it; a client that cannot attach
//!   fails with [`Error::ShmAttach`](crate::Error::ShmAttach) and must
//!   reconnect without SHM. [`ClientSession::is_shm`] tells which plane
//!   runs.
//!
//! Levels 2 and 3 run over this transport (both data planes) through the
//! platform seam of [`crate::transport`].
//!
//! ```no_run
//! # use netipc::transport::{Deadline, Endpoint};
//! # use netipc::transport::windows::{ClientConfig, ClientSession, Listener, ServerConfig};
//! # fn main() -> netipc::Result<()> {
//! let endpoint = Endpoint::new(r"C:\ProgramData\netdata\run", "cgroups-snapshot")?;
//! let listener = Listener::bind(&endpoint)?;
//! let cfg = ServerConfig { auth_token: 42, ..ServerConfig::default() };
//! let pending = listener.accept(Deadline::NEVER, None)?;
//! let mut server = pending.handshake(&cfg, Deadline::NEVER, None)?;
//! let req = server.recv_request(Deadline::NEVER, None)?;
//! let (code, id, answer) = (req.header.code, req.header.message_id, req.payload.to_vec());
//! server.send_response(code, id, &answer)?;
//! # Ok(()) }
//! ```

mod channel;
mod config;
mod listener;
mod pipe;
mod security;
mod session;
pub mod shm;
mod shutdown;

#[cfg(test)]
mod control_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_shm;

pub use crate::transport::handshake::{RejectFn, RejectHook};
pub use crate::transport::message::Message;
pub use config::{
    ClientConfig, DEFAULT_PACKET_SIZE, DEFAULT_SHM_ATTACH_TIMEOUT, IMPLEMENTED_PROFILES,
    SHM_HYBRID_DEFAULT_SPIN_TRIES, SHM_PROFILES, ServerConfig, ShmConfig,
};
pub use listener::{Listener, PIPE_BUFFER_SIZE, PendingConnection};
pub use session::{ClientSession, ServerSession};
pub use shutdown::SessionShutdown;
