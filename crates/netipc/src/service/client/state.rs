//! Client connection states and the diagnostic status snapshot.

use std::fmt;

/// Connection state of a Level 2 client context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// No connection; `refresh()` will try to connect.
    Disconnected,
    /// A connection attempt is in progress (only observable inside
    /// `refresh()` or a reconnecting call).
    Connecting,
    /// Connected and handshaken: calls may proceed.
    Ready,
    /// Nobody serves the endpoint.
    NotFound,
    /// The server rejected the auth token.
    AuthFailed,
    /// Profile, version, layout or payload-limit negotiation failed.
    Incompatible,
    /// The connection was READY and broke (or a call timed out or was
    /// aborted); `refresh()` will reconnect.
    Broken,
}

impl ClientState {
    /// The specification name of the state.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientState::Disconnected => "DISCONNECTED",
            ClientState::Connecting => "CONNECTING",
            ClientState::Ready => "READY",
            ClientState::NotFound => "NOT_FOUND",
            ClientState::AuthFailed => "AUTH_FAILED",
            ClientState::Incompatible => "INCOMPATIBLE",
            ClientState::Broken => "BROKEN",
        }
    }
}

impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A diagnostic snapshot of a client context (for logs, not hot paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStatus {
    /// The current state.
    pub state: ClientState,
    /// Successful connections (handshakes completed) since creation.
    pub connects: u64,
    /// Successful connections that replaced an earlier session.
    pub reconnects: u64,
    /// Logical typed calls started (including those rejected because the
    /// client was not ready).
    pub calls: u64,
    /// Logical typed calls that returned an error.
    pub failures: u64,
    /// At-least-once resends after a reconnect (at most one per call).
    pub retries: u64,
    /// Reconnects made to grow the negotiated payload budgets.
    pub overflow_reconnects: u64,
    /// Times SHM was selected but could not be attached (each followed by
    /// a reconnect on the baseline transport).
    pub shm_fallbacks: u64,
    /// Whether SHM was removed from this context's proposals after an
    /// attach failure (until `close()`).
    pub shm_disabled: bool,
    /// Whether the current session runs over shared memory.
    pub shm_attached: bool,
    /// The selected transport profile (`PROFILE_*` bit), 0 when not
    /// connected.
    pub selected_profile: u32,
    /// Agreed request payload budget of the current session (0 when not
    /// connected).
    pub request_payload_bytes: u32,
    /// Agreed response payload budget of the current session (0 when not
    /// connected).
    pub response_payload_bytes: u32,
    /// Agreed batch-item limit of the current session (0 when not
    /// connected).
    pub batch_items: u32,
    /// Server-assigned id of the current session (0 when not connected).
    pub session_id: u64,
}

/// Operational counters kept by the core.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub connects: u64,
    pub reconnects: u64,
    pub calls: u64,
    pub failures: u64,
    pub retries: u64,
    pub overflow_reconnects: u64,
    pub shm_fallbacks: u64,
}
