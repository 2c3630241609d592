//! Named Level 2 defaults. Every zero-valued config field resolves to one
//! of these; call paths never spell the numbers.

use std::time::Duration;

pub use crate::protocol::{MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT};

/// Default timeout of one logical call (all chunks, SHM waits, retries'
/// individual attempts): 30 s.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(30_000);

/// Zero-config response payload budget of the typed service facades
/// (snapshot and lookup services answer more than 1 KiB at once): 64 KiB.
pub const SERVICE_RESPONSE_PAYLOAD_DEFAULT: u32 = 65_536;

/// Smallest request payload proposal a client sends.
pub const MIN_REQUEST_PROPOSAL: u32 = 16;

/// How many overflow-driven reconnects one call may make.
pub const MAX_OVERFLOW_RECONNECTS: u32 = 8;

/// Default batch-item ceiling of clients that use batch calls.
pub const DEFAULT_BATCH_ITEMS: u32 = 1000;

/// Default ceiling of logical items in one lookup call.
pub const DEFAULT_LOOKUP_MAX_ITEMS: u32 = 1_048_576;

/// Default ceiling of Level 1 subcalls one lookup call may make.
pub const DEFAULT_LOOKUP_MAX_SUBCALLS: u32 = 65_536;

/// Default ceiling of stitched lookup response bytes: 256 MiB.
pub const DEFAULT_LOOKUP_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Default maximum concurrent sessions of a managed server.
pub const DEFAULT_MAX_SESSIONS: usize = 64;

/// Default deadline for a server-side handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Default graceful-drain deadline of `stop()`.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Next power of two `>= n`, at least `floor`, at most `cap`.
pub fn grow_pow2(n: u64, floor: u32, cap: u32) -> u32 {
    let want = n.max(u64::from(floor)).checked_next_power_of_two();
    want.and_then(|w| u32::try_from(w).ok())
        .unwrap_or(u32::MAX)
        .min(cap)
}

// ----- Managed server ------------------------------------------------------

/// Default supported profiles of a managed server: baseline, and SHM_HYBRID
/// where the platform transport implements it.
pub const DEFAULT_SERVER_SUPPORTED_PROFILES: u32 = crate::protocol::PROFILE_BASELINE
    | (crate::protocol::PROFILE_SHM_HYBRID & crate::transport::IMPLEMENTED_PROFILES);

/// Default preferred profiles of a managed server: SHM_HYBRID.
pub const DEFAULT_SERVER_PREFERRED_PROFILES: u32 = crate::protocol::PROFILE_SHM_HYBRID;

/// Default number of handshakes a managed server runs at once. Further
/// connections wait in the kernel backlog until one finishes.
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 16;

/// How long `stop()` waits for session threads after the drain deadline,
/// once it has shut their sockets down.
pub const DEFAULT_FORCE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Pause of a managed server's acceptor after `accept(2)` failed (for
/// example out of file descriptors); a session ending wakes it earlier.
pub const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

// --- Level 2 client defaults (client engineer) --------------------------

/// Default deadline of one connection attempt made by a Level 2 client's
/// `refresh()` (connect, handshake and SHM attach).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sizing assumption for variable-size requests (STRING_REVERSE strings,
/// lookup key lists): the request payload a client proposes when the
/// configuration does not name one. Equal to the zero-config budget every
/// server accepts, so the first handshake never fails on it.
pub const DEFAULT_DYNAMIC_REQUEST_PAYLOAD: u32 = MAX_PAYLOAD_DEFAULT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth() {
        assert_eq!(grow_pow2(0, MIN_REQUEST_PROPOSAL, MAX_PAYLOAD_CAP), 16);
        assert_eq!(grow_pow2(17, 16, MAX_PAYLOAD_CAP), 32);
        assert_eq!(grow_pow2(1024, 16, MAX_PAYLOAD_CAP), 1024);
        assert_eq!(grow_pow2(5_000_000, 16, MAX_PAYLOAD_CAP), MAX_PAYLOAD_CAP);
        assert_eq!(grow_pow2(u64::MAX, 16, u32::MAX), u32::MAX);
    }
}
