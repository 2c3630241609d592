//! Learned payload budgets: per server, per direction, monotonic.
//!
//! Each direction starts at its configured budget, or at
//! [`MAX_PAYLOAD_DEFAULT`] when none is configured (zero-config growth
//! mode), and never grows past the configured budget, or
//! [`MAX_PAYLOAD_CAP`] in zero-config mode. Every handshake offers the
//! current values; an overflow raises them for later sessions.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::service::defaults::{MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT, grow_pow2};

/// A pair of payload budgets in bytes, one per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PayloadBudgets {
    /// Request payload bytes (client to server).
    pub request: u32,
    /// Response payload bytes (server to client).
    pub response: u32,
}

/// One direction's learned budget and its ceiling.
#[derive(Debug)]
struct Direction {
    current: AtomicU32,
    max: u32,
}

impl Direction {
    fn new(configured: u32) -> Self {
        let (start, max) = if configured == 0 {
            (MAX_PAYLOAD_DEFAULT, MAX_PAYLOAD_CAP)
        } else {
            (configured, configured)
        };
        Direction {
            current: AtomicU32::new(start),
            max,
        }
    }

    fn get(&self) -> u32 {
        self.current.load(Ordering::Relaxed)
    }

    /// Raises the budget to the next power of two of
    /// `max(2 * agreed, needed)`, capped at the ceiling. Returns the value
    /// now in force.
    fn grow(&self, agreed: u32, needed: u64) -> u32 {
        let want = (u64::from(agreed) * 2).max(needed);
        let target = grow_pow2(want, 1, self.max);
        let prev = self.current.fetch_max(target, Ordering::Relaxed);
        prev.max(target)
    }
}

/// The learned budgets of one managed server (shared by its sessions).
#[derive(Debug)]
pub(crate) struct LearnedBudgets {
    request: Direction,
    response: Direction,
}

impl LearnedBudgets {
    /// Budgets for the configured values (0 = zero-config growth mode).
    pub(crate) fn new(request: u32, response: u32) -> Self {
        LearnedBudgets {
            request: Direction::new(request),
            response: Direction::new(response),
        }
    }

    /// The values every new handshake offers.
    pub(crate) fn current(&self) -> PayloadBudgets {
        PayloadBudgets {
            request: self.request.get(),
            response: self.response.get(),
        }
    }

    /// The ceilings the learned values never pass.
    pub(crate) fn ceilings(&self) -> PayloadBudgets {
        PayloadBudgets {
            request: self.request.max,
            response: self.response.max,
        }
    }

    /// A request of `needed` bytes did not fit a session whose agreed
    /// request budget was `agreed` (or a HELLO proposed `needed`).
    pub(crate) fn grow_request(&self, agreed: u32, needed: u64) -> u32 {
        self.request.grow(agreed, needed)
    }

    /// A response of `needed` bytes did not fit a session whose agreed
    /// response budget was `agreed`.
    pub(crate) fn grow_response(&self, agreed: u32, needed: u64) -> u32 {
        self.response.grow(agreed, needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_config_starts_at_default_and_grows_to_cap() {
        let b = LearnedBudgets::new(0, 0);
        assert_eq!(
            b.current(),
            PayloadBudgets {
                request: MAX_PAYLOAD_DEFAULT,
                response: MAX_PAYLOAD_DEFAULT
            }
        );
        assert_eq!(b.ceilings().response, MAX_PAYLOAD_CAP);
        assert_eq!(b.grow_response(1024, 0), 2048);
        // Growth follows the larger of 2x agreed and the size needed.
        assert_eq!(b.grow_response(2048, 10_000), 16_384);
        // Never shrinks.
        assert_eq!(b.grow_response(16, 0), 16_384);
        assert_eq!(b.grow_response(u32::MAX, u64::MAX), MAX_PAYLOAD_CAP);
        assert_eq!(b.current().response, MAX_PAYLOAD_CAP);
        assert_eq!(b.current().request, MAX_PAYLOAD_DEFAULT);
        assert_eq!(b.grow_request(1024, 1500), 2048);
    }

    #[test]
    fn configured_budget_is_fixed() {
        let b = LearnedBudgets::new(4096, 5000);
        assert_eq!(
            b.current(),
            PayloadBudgets {
                request: 4096,
                response: 5000
            }
        );
        assert_eq!(b.grow_request(4096, 9000), 4096);
        assert_eq!(b.grow_response(5000, 0), 5000);
        assert_eq!(b.ceilings(), b.current());
    }
}
