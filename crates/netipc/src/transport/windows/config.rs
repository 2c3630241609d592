//! The Named Pipe side of the handshake configuration: the implemented
//! profiles, the Win SHM options, the default packet size. The
//! configuration types themselves are shared
//! (`transport::config`).

use crate::protocol::{PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use crate::wire::{Hello, ServerOffer};

pub use crate::transport::config::{ClientConfig, DEFAULT_SHM_ATTACH_TIMEOUT, ServerConfig};

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

/// The packet size a side proposes: the configured one, or the default.
pub(crate) fn proposed_packet_size(configured: u32) -> u32 {
    if configured == 0 {
        DEFAULT_PACKET_SIZE
    } else {
        configured
    }
}

impl ClientConfig {
    /// The HELLO this configuration sends.
    pub(crate) fn hello(&self) -> Hello {
        self.hello_with(proposed_packet_size(self.packet_size))
    }
}

impl ServerConfig {
    /// The offer [`crate::wire::negotiate`] decides against.
    pub fn offer(&self) -> ServerOffer {
        self.offer_with(proposed_packet_size(self.packet_size))
    }
}
