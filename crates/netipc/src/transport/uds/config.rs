//! The UDS side of the handshake configuration: the implemented profiles
//! and the offer for a socket's effective packet size. The configuration
//! types themselves are shared (`transport::config`).

use crate::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use crate::wire::ServerOffer;

pub use crate::transport::config::{
    ClientConfig, DEFAULT_SHM_ATTACH_TIMEOUT, SHM_ATTACH_RETRY, ServerConfig,
};
pub use crate::transport::pipeline::MAX_IN_FLIGHT_LIMIT;

/// Profiles this implementation can run: the UDS baseline and SHM_HYBRID.
pub const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

/// Profile bits that select the SHM data plane.
pub const SHM_PROFILES: u32 = PROFILE_SHM_HYBRID;

impl ServerConfig {
    /// The negotiation offer for a connection whose effective packet size
    /// is `packet_size`.
    pub fn offer(&self, packet_size: u32) -> ServerOffer {
        self.offer_with(packet_size)
    }
}
