//! The client status snapshot.

use netipc::service::client::ClientStatus;

use super::nipc_client_state_t;

/// Diagnostic snapshot of a client (for logs, not hot paths).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nipc_client_status_t {
    /// Current connection state.
    pub state: nipc_client_state_t,
    /// Successful connections (handshakes) since creation.
    pub connect_count: u64,
    /// Successful connections that replaced an earlier session.
    pub reconnect_count: u64,
    /// Typed calls started (including those rejected as not ready).
    pub call_count: u64,
    /// Typed calls that failed.
    pub error_count: u64,
    /// At-least-once resends after a reconnect.
    pub retry_count: u64,
    /// Reconnects made to grow the negotiated payload budgets.
    pub overflow_reconnect_count: u64,
    /// Times SHM was selected but could not be attached.
    pub shm_fallback_count: u64,
    /// Whether SHM was dropped from this client's proposals.
    pub shm_disabled: bool,
    /// Whether the current session runs over shared memory.
    pub shm_attached: bool,
    /// Selected transport profile bit, 0 when not connected.
    pub selected_profile: u32,
    /// Agreed request payload budget (0 when not connected).
    pub request_payload_bytes: u32,
    /// Agreed response payload budget (0 when not connected).
    pub response_payload_bytes: u32,
    /// Agreed batch-item limit (0 when not connected).
    pub batch_items: u32,
    /// Server-assigned session id (0 when not connected).
    pub session_id: u64,
}

impl From<ClientStatus> for nipc_client_status_t {
    fn from(s: ClientStatus) -> Self {
        nipc_client_status_t {
            state: s.state.into(),
            connect_count: s.connects,
            reconnect_count: s.reconnects,
            call_count: s.calls,
            error_count: s.failures,
            retry_count: s.retries,
            overflow_reconnect_count: s.overflow_reconnects,
            shm_fallback_count: s.shm_fallbacks,
            shm_disabled: s.shm_disabled,
            shm_attached: s.shm_attached,
            selected_profile: s.selected_profile,
            request_payload_bytes: s.request_payload_bytes,
            response_payload_bytes: s.response_payload_bytes,
            batch_items: s.batch_items,
            session_id: s.session_id,
        }
    }
}
