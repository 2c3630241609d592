//! Named Pipe session configuration.

use crate::error::{Error, Result};
use crate::protocol::{MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT, PROFILE_BASELINE};
use crate::transport::pipeline::{DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT_LIMIT};
use crate::wire::{Hello, ServerOffer};

/// Profiles this implementation can run on Windows: NAMED_PIPE (bit 0,
/// the baseline) only. Win SHM (`SHM_HYBRID`, ...) is not implemented yet.
pub const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE;

/// Packet size proposed when the configuration leaves it at 0. The pipe
/// buffers of server instances are sized to it.
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
    /// Profiles the client supports (NAMED_PIPE only for now).
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
    /// Profiles the server supports (NAMED_PIPE only for now).
    pub supported_profiles: u32,
    /// Profiles the server prefers.
    pub preferred_profiles: u32,
    /// The server's request payload budget.
    pub max_request_payload_bytes: u32,
    /// The server's response payload budget.
    pub max_response_payload_bytes: u32,
    /// Packet size proposal; 0 = [`DEFAULT_PACKET_SIZE`]. Also the size of
    /// the pipe buffers of the instances the listener creates.
    pub packet_size: u32,
    /// The token clients must present.
    pub auth_token: u64,
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
