//! Named Pipe session configuration.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::{
    MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT, PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT,
    PROFILE_SHM_HYBRID,
};
use crate::transport::handshake::RejectHook;
use crate::transport::pipeline::{DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_LIMIT};
use crate::wire::{Hello, ServerOffer};

/// Profiles this implementation can run on Windows: NAMED_PIPE (bit 0,
/// the baseline), SHM_HYBRID (bit 1) and SHM_BUSYWAIT (bit 2).
/// SHM_WAITADDR is reserved and not implemented.
pub const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | SHM_PROFILES;

/// Profile bits that select a Win SHM data plane.
pub const SHM_PROFILES: u32 = PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT;

/// Spin iterations an SHM_HYBRID waiter makes before it sleeps on the
/// kernel event (the Windows default; higher than POSIX because kernel
/// waits cost more there).
pub const SHM_HYBRID_DEFAULT_SPIN_TRIES: u32 = 1024;

/// How long a client keeps retrying to open a not-yet-ready SHM region.
pub const DEFAULT_SHM_ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Win SHM data plane options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmConfig {
    /// Spin iterations before an SHM_HYBRID waiter sleeps on its event
    /// (written into the region header by the server; a client uses the
    /// server's value). 0 = [`SHM_HYBRID_DEFAULT_SPIN_TRIES`].
    pub spin_tries: u32,
}

impl Default for ShmConfig {
    fn default() -> Self {
        ShmConfig {
            spin_tries: SHM_HYBRID_DEFAULT_SPIN_TRIES,
        }
    }
}

/// Packet size proposed when the configuration leaves it at 0.
pub const DEFAULT_PACKET_SIZE: u32 = 65536;

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

/// The packet size a side proposes: the configured one, or the default.
pub(crate) fn proposed_packet_size(configured: u32) -> u32 {
    if configured == 0 {
        DEFAULT_PACKET_SIZE
    } else {
        configured
    }
}

/// Client handshake configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Profiles the client supports (subset of [`IMPLEMENTED_PROFILES`]).
    pub supported_profiles: u32,
    /// Profiles the client prefers.
    pub preferred_profiles: u32,
    /// Request payload bytes the client proposes.
    pub max_request_payload_bytes: u32,
    /// Request batch items the client proposes.
    pub max_request_batch_items: u32,
    /// Response payload bytes the client proposes.
    pub max_response_payload_bytes: u32,
    /// Response batch items the client proposes.
    pub max_response_batch_items: u32,
    /// The largest response payload this client accepts from any server
    /// (a larger agreed value fails the handshake).
    pub response_payload_cap: u32,
    /// The shared secret presented in HELLO.
    pub auth_token: u64,
    /// Packet size proposal; 0 = [`DEFAULT_PACKET_SIZE`].
    pub packet_size: u32,
    /// Requests that may be in flight at once (pipelining), 1..=65536.
    pub max_in_flight: usize,
    /// How long to retry opening a not-yet-ready SHM region.
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
    /// Checks the configuration before connecting.
    pub fn validate(&self) -> Result<()> {
        check_profiles(self.supported_profiles)?;
        if self.response_payload_cap < self.max_response_payload_bytes {
            return Err(Error::InvalidArgument(
                "response_payload_cap is below max_response_payload_bytes",
            ));
        }
        if self.max_in_flight == 0 || self.max_in_flight > MAX_IN_FLIGHT_LIMIT {
            return Err(Error::InvalidArgument(
                "max_in_flight must be between 1 and 65536",
            ));
        }
        Ok(())
    }

    /// The HELLO this configuration sends.
    pub(crate) fn hello(&self) -> Hello {
        Hello {
            supported_profiles: self.supported_profiles,
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: self.max_request_payload_bytes,
            max_request_batch_items: self.max_request_batch_items,
            max_response_payload_bytes: self.max_response_payload_bytes,
            max_response_batch_items: self.max_response_batch_items,
            auth_token: self.auth_token,
            packet_size: proposed_packet_size(self.packet_size),
        }
    }
}

/// Server handshake configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Profiles the server supports (subset of [`IMPLEMENTED_PROFILES`]).
    pub supported_profiles: u32,
    /// Profiles the server prefers.
    pub preferred_profiles: u32,
    /// The server's request payload budget.
    pub max_request_payload_bytes: u32,
    /// The server's response payload budget.
    pub max_response_payload_bytes: u32,
    /// Packet size proposal; 0 = [`DEFAULT_PACKET_SIZE`]. (The pipe
    /// buffers are the listener's, see
    /// [`PIPE_BUFFER_SIZE`](super::PIPE_BUFFER_SIZE).)
    pub packet_size: u32,
    /// The token clients must present.
    pub auth_token: u64,
    /// SHM data plane options.
    pub shm: ShmConfig,
    /// Called with the status and the client's HELLO just before a
    /// negotiation rejection is sent (Level 2 learns budgets from it).
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
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        check_profiles(self.supported_profiles)
    }

    /// The offer [`crate::wire::negotiate`] decides against.
    pub fn offer(&self) -> ServerOffer {
        ServerOffer {
            supported_profiles: self.supported_profiles,
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: self.max_request_payload_bytes,
            max_response_payload_bytes: self.max_response_payload_bytes,
            packet_size: proposed_packet_size(self.packet_size),
            auth_token: self.auth_token,
        }
    }
}
