//! Client and server handshake configuration, the same on every platform
//! ([`ClientConfig`], [`ServerConfig`]). What differs per platform — the
//! implemented profiles, the SHM options type, how an automatic packet
//! size is chosen, the shape of `ServerConfig::offer` — lives with each
//! transport (`uds::config`, `windows::config`).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::{MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT, PROFILE_BASELINE};
use crate::transport::handshake::RejectHook;
use crate::transport::pipeline::{DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_LIMIT};
use crate::wire::{Hello, ServerOffer};

#[cfg(unix)]
use crate::transport::shm::ShmConfig;
#[cfg(unix)]
use crate::transport::uds::IMPLEMENTED_PROFILES;
#[cfg(windows)]
use crate::transport::windows::{IMPLEMENTED_PROFILES, ShmConfig};

/// How long a client keeps retrying to attach a not-yet-ready SHM region.
pub const DEFAULT_SHM_ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Interval between SHM attach attempts.
pub const SHM_ATTACH_RETRY: Duration = Duration::from_millis(5);

fn check_profiles(supported: u32) -> Result<()> {
    if supported == 0 {
        return Err(Error::InvalidArgument("no supported profile"));
    }
    if supported & !IMPLEMENTED_PROFILES != 0 {
        return Err(Error::InvalidArgument(
            "supported profiles include one this implementation lacks",
        ));
    }
    Ok(())
}

/// What a client proposes in its HELLO, and its local ceilings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Profiles the client supports (bitmask of `PROFILE_*`, a subset of
    /// `IMPLEMENTED_PROFILES`).
    pub supported_profiles: u32,
    /// Profiles the client prefers.
    pub preferred_profiles: u32,
    /// Proposed request payload ceiling (the server may reject it with
    /// LIMIT_EXCEEDED when it exceeds its budget).
    pub max_request_payload_bytes: u32,
    /// Proposed request batch-item ceiling (echoed both ways).
    pub max_request_batch_items: u32,
    /// Response payload hint sent in the HELLO. Servers choose the final
    /// response budget themselves.
    pub max_response_payload_bytes: u32,
    /// Response batch-item hint (kept for wire symmetry).
    pub max_response_batch_items: u32,
    /// Hard cap on the response payload budget this client accepts. A
    /// HELLO_ACK granting more is refused with
    /// [`Error::LimitExceeded`] (limit `ResponsePayload`), so the client
    /// never allocates more than this for one response. Must be at least
    /// `max_response_payload_bytes`.
    pub response_payload_cap: u32,
    /// Caller-supplied authentication token.
    pub auth_token: u64,
    /// Packet size to propose; 0 = automatic. On UDS the proposal is
    /// always `min(this, SO_SNDBUF - 32)`; on Named Pipes 0 proposes
    /// `DEFAULT_PACKET_SIZE`.
    pub packet_size: u32,
    /// How many requests may be in flight at once (pipelining depth),
    /// 1 to `MAX_IN_FLIGHT_LIMIT` (65536).
    pub max_in_flight: usize,
    /// How long to retry attaching a not-yet-ready SHM region.
    pub shm_attach_timeout: Duration,
    /// SHM data plane options.
    pub shm: ShmConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            supported_profiles: PROFILE_BASELINE,
            preferred_profiles: PROFILE_BASELINE,
            max_request_payload_bytes: MAX_PAYLOAD_DEFAULT,
            max_request_batch_items: 1,
            max_response_payload_bytes: MAX_PAYLOAD_DEFAULT,
            max_response_batch_items: 1,
            response_payload_cap: MAX_PAYLOAD_CAP,
            auth_token: 0,
            packet_size: 0,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            shm_attach_timeout: DEFAULT_SHM_ATTACH_TIMEOUT,
            shm: ShmConfig::default(),
        }
    }
}

impl ClientConfig {
    /// Checks the configuration for internal consistency.
    pub fn validate(&self) -> Result<()> {
        check_profiles(self.supported_profiles)?;
        if self.response_payload_cap < self.max_response_payload_bytes {
            return Err(Error::InvalidArgument(
                "response_payload_cap is below max_response_payload_bytes",
            ));
        }
        if self.max_in_flight == 0 || self.max_in_flight > MAX_IN_FLIGHT_LIMIT {
            return Err(Error::InvalidArgument(
                "max_in_flight must be between 1 and MAX_IN_FLIGHT_LIMIT",
            ));
        }
        Ok(())
    }

    /// The HELLO this configuration sends with the given packet size
    /// proposal.
    pub(crate) fn hello_with(&self, packet_size: u32) -> Hello {
        Hello {
            supported_profiles: self.supported_profiles,
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: self.max_request_payload_bytes,
            max_request_batch_items: self.max_request_batch_items,
            max_response_payload_bytes: self.max_response_payload_bytes,
            max_response_batch_items: self.max_response_batch_items,
            auth_token: self.auth_token,
            packet_size,
        }
    }
}

/// What a server offers in each handshake.
///
/// Level 2 passes its *current* (learned) budgets here, so a later session
/// can be offered more than the first.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Profiles the server supports (a subset of `IMPLEMENTED_PROFILES`).
    pub supported_profiles: u32,
    /// Profiles the server prefers.
    pub preferred_profiles: u32,
    /// Current request payload budget: a HELLO proposing more is rejected
    /// with LIMIT_EXCEEDED.
    pub max_request_payload_bytes: u32,
    /// Current response payload budget (granted as is).
    pub max_response_payload_bytes: u32,
    /// Packet size; 0 = automatic. On UDS the effective value is always
    /// `min(this, SO_SNDBUF - 32)`; on Named Pipes 0 means
    /// `DEFAULT_PACKET_SIZE` (the pipe buffers are the listener's, see
    /// `PIPE_BUFFER_SIZE`).
    pub packet_size: u32,
    /// The token clients must present.
    pub auth_token: u64,
    /// SHM data plane options.
    pub shm: ShmConfig,
    /// Called with the status and the client's HELLO just before a
    /// negotiation rejection is sent, so a caller can learn from it (a
    /// Level 2 server grows its request budget) before the client can
    /// reconnect.
    pub on_reject: Option<RejectHook>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            supported_profiles: PROFILE_BASELINE,
            preferred_profiles: PROFILE_BASELINE,
            max_request_payload_bytes: MAX_PAYLOAD_DEFAULT,
            max_response_payload_bytes: MAX_PAYLOAD_DEFAULT,
            packet_size: 0,
            auth_token: 0,
            shm: ShmConfig::default(),
            on_reject: None,
        }
    }
}

impl ServerConfig {
    /// Checks the configuration for internal consistency.
    pub fn validate(&self) -> Result<()> {
        check_profiles(self.supported_profiles)
    }

    /// The negotiation offer with the effective packet size
    /// `packet_size`.
    pub(crate) fn offer_with(&self, packet_size: u32) -> ServerOffer {
        ServerOffer {
            supported_profiles: self.supported_profiles,
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: self.max_request_payload_bytes,
            max_response_payload_bytes: self.max_response_payload_bytes,
            packet_size,
            auth_token: self.auth_token,
        }
    }
}
