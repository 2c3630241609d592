//! Level 1 transports (Linux): UDS `SOCK_SEQPACKET` sessions with
//! handshake, chunking, batching and pipelining, and the per-session POSIX
//! shared-memory fast path.
//!
//! Level 1 moves opaque payloads; it never interprets method payloads.

pub mod abort;
pub mod endpoint;
pub mod shm;
pub mod uds;

pub use abort::{AbortHandle, Deadline};
pub use endpoint::Endpoint;
pub use uds::{
    ClientConfig, ClientSession, Listener, Message, PendingConnection, ServerConfig, ServerSession,
};
