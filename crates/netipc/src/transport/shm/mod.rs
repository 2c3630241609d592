//! POSIX shared-memory fast path: one region per session.
//!
//! DEVELOPMENT PLACEHOLDER: the signatures below are the agreed interface
//! between the UDS session and the SHM data plane; the bodies are being
//! written on the `shm` branch and replace this file.

use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;

/// Options of the SHM data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShmConfig {
    /// Leave SIGBUS handling to the embedder (see module docs).
    pub no_sigbus_handler: bool,
}

/// One side's mapping of a session's SHM region.
#[derive(Debug)]
pub struct ShmRegion {
    _private: (),
}

impl ShmRegion {
    /// Server side: creates the region file for `session_id`, sized for the
    /// agreed request/response payload budgets, before HELLO_ACK is sent.
    pub fn create(
        _endpoint: &Endpoint,
        _session_id: u64,
        _max_request_payload: u32,
        _max_response_payload: u32,
        _cfg: &ShmConfig,
    ) -> Result<Self> {
        Err(Error::Unsupported)
    }

    /// Client side: attaches the region the server created. Returns
    /// `Error::ShmNotReady` while the file is not initialised (retryable)
    /// and `Error::ShmAttach` when it is unusable.
    pub fn attach(
        _endpoint: &Endpoint,
        _session_id: u64,
        _max_request_payload: u32,
        _max_response_payload: u32,
        _cfg: &ShmConfig,
    ) -> Result<Self> {
        Err(Error::Unsupported)
    }

    /// Publishes one whole message (32-byte header + payload) into this
    /// side's outgoing area.
    pub fn send(&mut self, _message: &[u8]) -> Result<()> {
        Err(Error::Unsupported)
    }

    /// Waits for the peer's next message and copies it (header + payload)
    /// into `out` (cleared first). `peer` is the session socket, polled
    /// for hang-up while waiting.
    pub fn recv(
        &mut self,
        _out: &mut Vec<u8>,
        _deadline: Deadline,
        _abort: Option<&AbortHandle>,
        _peer: BorrowedFd<'_>,
    ) -> Result<()> {
        Err(Error::Unsupported)
    }

    /// The region file path.
    pub fn path(&self) -> &Path {
        Path::new("")
    }
}

/// Removes stale region files of `endpoint` (dead owner, zero generation,
/// junk, undersized); never a live one. Returns how many were removed.
pub fn cleanup_stale_regions(_endpoint: &Endpoint) -> Result<usize> {
    Ok(0)
}
