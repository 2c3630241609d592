//! Level 1 transports.
//!
//! - Unix: UDS `SOCK_SEQPACKET` sessions with handshake, chunking,
//!   batching and pipelining, and the per-session POSIX shared-memory fast
//!   path (`uds`, `shm`).
//! - Windows: Win32 Named Pipe sessions in message mode with the same
//!   handshake and chunking, and the per-session Win SHM data plane
//!   (`windows`, `windows::shm`).
//!
//! This module is the one place that selects the platform transports;
//! [`abort`] (deadlines, abort handles), [`endpoint`] (service names,
//! derived paths and pipe names), [`handshake`] (HELLO / HELLO_ACK
//! messages, the server's answer, the client's SHM attach retries) and
//! [`message`] (received messages) are shared by both. So is the rest of
//! what both transports do the same way (crate-internal): `channel` (the
//! framing, chunking and session-breaking state machine, generic over a
//! packet link that each platform implements), `envelope` (kind, length
//! and limit checks), `pipeline` (in-flight ids), `session_core` (the
//! session methods), `config` (`ClientConfig`, `ServerConfig`) and
//! `region_layout` (the SHM area rules).
//!
//! Level 1 moves opaque payloads; it never interprets method payloads.

pub mod abort;
pub(crate) mod channel;
#[cfg(test)]
mod channel_tests;
pub(crate) mod config;
pub mod endpoint;
pub(crate) mod envelope;
pub mod handshake;
pub mod message;
pub(crate) mod pipeline;
pub(crate) mod region_layout;
pub(crate) mod session_core;

#[cfg(unix)]
pub mod shm;
#[cfg(unix)]
pub mod uds;

#[cfg(windows)]
pub mod windows;

pub use abort::{AbortHandle, Deadline};
pub use endpoint::Endpoint;
pub use handshake::{HELLO_ACK_MSG_LEN, HELLO_MSG_LEN, handshake_status_error};
pub use message::Message;

pub use handshake::{RejectFn, RejectHook};

// The platform seam: the same names on every platform, so the layers above
// (Level 2, Level 3, the tools) never name a platform module. Both
// transports also give their sessions the same methods, including
// `ClientSession::peer_gone` (liveness probe) and
// `ServerSession::shutdown_handle` (stop / end a session from another
// thread).
#[cfg(unix)]
pub use uds::{
    ClientConfig, ClientSession, DEFAULT_SHM_ATTACH_TIMEOUT, IMPLEMENTED_PROFILES, Listener,
    PendingConnection, SHM_PROFILES, ServerConfig, ServerSession, SessionShutdown, ShmConfig,
};

#[cfg(windows)]
pub use windows::{
    ClientConfig, ClientSession, DEFAULT_SHM_ATTACH_TIMEOUT, IMPLEMENTED_PROFILES, Listener,
    PendingConnection, SHM_PROFILES, ServerConfig, ServerSession, SessionShutdown, ShmConfig,
};
