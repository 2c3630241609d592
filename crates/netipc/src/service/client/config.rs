//! Level 2 client configuration and its resolution against a method
//! schema.
//!
//! Every zero-valued field means "use the named default" from
//! [`crate::service::defaults`]; the resolved values are what the call
//! paths read. No call path spells a number.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, PROFILE_SHM_HYBRID};
use crate::service::defaults::{
    DEFAULT_BATCH_ITEMS, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DYNAMIC_REQUEST_PAYLOAD, DEFAULT_LOOKUP_MAX_ITEMS, DEFAULT_LOOKUP_MAX_RESPONSE_BYTES,
    DEFAULT_LOOKUP_MAX_SUBCALLS, MAX_PAYLOAD_CAP, MIN_REQUEST_PROPOSAL,
    SERVICE_RESPONSE_PAYLOAD_DEFAULT, grow_pow2,
};
use crate::transport::{IMPLEMENTED_PROFILES, ShmConfig};

/// Configuration of one Level 2 client context.
///
/// Build it with `ClientConfig::default()` and struct update syntax:
///
/// ```
/// use netipc::service::client::ClientConfig;
/// let cfg = ClientConfig { auth_token: 42, ..ClientConfig::default() };
/// ```
///
/// Zero-valued limits (and `Duration::ZERO` timeouts) resolve to the named
/// defaults in [`crate::service::defaults`]. Non-zero values let a small
/// system choose small buffers and a large one larger buffers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Authentication token presented in the handshake.
    pub auth_token: u64,
    /// Profiles this client supports (`PROFILE_*` bits); 0 = every profile
    /// this implementation runs (baseline and SHM_HYBRID).
    pub supported_profiles: u32,
    /// Profiles this client prefers (default SHM_HYBRID).
    pub preferred_profiles: u32,
    /// Request payload proposal in bytes; 0 = derived from the method
    /// schema: the next power of two of the largest request at the intended
    /// batch size (at least [`MIN_REQUEST_PROPOSAL`]), or
    /// [`DEFAULT_DYNAMIC_REQUEST_PAYLOAD`] for variable-size requests.
    /// Never below the smallest single request of the method.
    pub request_payload_bytes: u32,
    /// Response payload hint sent in the handshake (servers choose the
    /// final budget); 0 = the method default. Overflow recovery doubles it.
    pub response_payload_bytes: u32,
    /// Cap of automatic payload growth in both directions, and the largest
    /// response budget this client accepts from a server; 0 =
    /// [`MAX_PAYLOAD_CAP`]. Raised to the request and response values above
    /// when they are larger.
    pub max_payload_bytes: u32,
    /// Intended batch size of batch calls (INCREMENT, STRING_REVERSE);
    /// 0 = [`DEFAULT_BATCH_ITEMS`]. Ignored by the other methods (1).
    pub batch_items: u32,
    /// Default timeout of one logical call (all subcalls, reconnects and
    /// retries included); `ZERO` = [`DEFAULT_CALL_TIMEOUT`].
    pub call_timeout: Duration,
    /// Timeout of one connection attempt in `refresh()`; `ZERO` =
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// Most keys one lookup call may hold; 0 = [`DEFAULT_LOOKUP_MAX_ITEMS`].
    pub lookup_max_items: u32,
    /// Most Level 1 requests one lookup call may make; 0 =
    /// [`DEFAULT_LOOKUP_MAX_SUBCALLS`].
    pub lookup_max_subcalls: u32,
    /// Most payload bytes one stitched lookup result may hold; 0 =
    /// [`DEFAULT_LOOKUP_MAX_RESPONSE_BYTES`].
    pub lookup_max_response_bytes: u64,
    /// Transport packet size to propose; 0 = automatic.
    pub packet_size: u32,
    /// SHM data plane options.
    pub shm: ShmConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            auth_token: 0,
            supported_profiles: IMPLEMENTED_PROFILES,
            preferred_profiles: PROFILE_SHM_HYBRID,
            request_payload_bytes: 0,
            response_payload_bytes: 0,
            max_payload_bytes: 0,
            batch_items: 0,
            call_timeout: Duration::ZERO,
            connect_timeout: Duration::ZERO,
            lookup_max_items: 0,
            lookup_max_subcalls: 0,
            lookup_max_response_bytes: 0,
            packet_size: 0,
            shm: ShmConfig::default(),
        }
    }
}

/// How a method's requests are sized (library logic, not configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schema {
    /// The method code.
    pub code: u16,
    /// Whether the method has Level 1 batch calls.
    pub batch: bool,
    /// Size of the smallest useful single request.
    pub min_request: usize,
    /// Size of one request item when every item has the same size: the
    /// default proposal then covers a full batch of them.
    pub fixed_item: Option<usize>,
    /// Default response hint when the configuration names none.
    pub response_default: u32,
}

impl Schema {
    /// A fixed-size single-item method with a small response.
    pub const fn fixed(code: u16, request: usize) -> Self {
        Schema {
            code,
            batch: false,
            min_request: request,
            fixed_item: Some(request),
            response_default: SERVICE_RESPONSE_PAYLOAD_DEFAULT,
        }
    }

    /// A method with variable-size requests (strings, key lists).
    pub const fn dynamic(code: u16, min_request: usize) -> Self {
        Schema {
            code,
            batch: false,
            min_request,
            fixed_item: None,
            response_default: SERVICE_RESPONSE_PAYLOAD_DEFAULT,
        }
    }

    /// The same schema with batch calls.
    pub const fn with_batch(mut self) -> Self {
        self.batch = true;
        self
    }
}

/// Size of a Level 1 batch payload of `n` items of `item` bytes each.
fn batch_payload_len(n: usize, item: usize) -> usize {
    let per = DIR_ENTRY_SIZE.saturating_add(item.next_multiple_of(ITEM_ALIGN));
    n.saturating_mul(per)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A configuration resolved against a method schema.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub code: u16,
    pub auth_token: u64,
    pub supported: u32,
    pub preferred: u32,
    /// Smallest request proposal (shrinking after a LIMIT_EXCEEDED
    /// handshake stops here).
    pub request_base: u32,
    /// Initial request proposal.
    pub request_proposal: u32,
    /// Initial response hint.
    pub response_hint: u32,
    /// Growth cap and accepted response ceiling.
    pub cap: u32,
    pub batch_items: u32,
    pub call_timeout: Duration,
    pub connect_timeout: Duration,
    pub lookup_max_items: u32,
    pub lookup_max_subcalls: u32,
    pub lookup_max_response_bytes: u64,
    pub packet_size: u32,
    pub shm: ShmConfig,
}

impl ClientConfig {
    /// Resolves zero fields to named defaults for `schema`.
    pub(crate) fn resolve(&self, schema: &Schema) -> Result<Resolved> {
        let supported = if self.supported_profiles == 0 {
            IMPLEMENTED_PROFILES
        } else {
            self.supported_profiles
        };
        if supported & !IMPLEMENTED_PROFILES != 0 {
            return Err(Error::InvalidArgument(
                "supported profiles include one this implementation lacks",
            ));
        }
        let batch_items = match (schema.batch, self.batch_items) {
            (false, _) => 1,
            (true, 0) => DEFAULT_BATCH_ITEMS,
            (true, n) => n,
        };
        let base = grow_pow2(to_u64(schema.min_request), MIN_REQUEST_PROPOSAL, u32::MAX);
        let mut cap = if self.max_payload_bytes == 0 {
            MAX_PAYLOAD_CAP
        } else {
            self.max_payload_bytes
        };
        let request_proposal = if self.request_payload_bytes != 0 {
            self.request_payload_bytes.max(base)
        } else {
            match schema.fixed_item {
                Some(item) if batch_items > 1 => grow_pow2(
                    to_u64(batch_payload_len(batch_items as usize, item)),
                    MIN_REQUEST_PROPOSAL,
                    cap.max(base),
                ),
                Some(_) => base,
                None => DEFAULT_DYNAMIC_REQUEST_PAYLOAD.max(base),
            }
        };
        let response_hint = if self.response_payload_bytes != 0 {
            self.response_payload_bytes
        } else {
            match schema.fixed_item {
                // Fixed-shape methods answer with the same shape.
                Some(_) => schema.response_default.max(request_proposal),
                None => schema.response_default,
            }
        };
        cap = cap.max(request_proposal).max(response_hint);
        let or = |v: Duration, d: Duration| if v.is_zero() { d } else { v };
        Ok(Resolved {
            code: schema.code,
            auth_token: self.auth_token,
            supported,
            preferred: self.preferred_profiles,
            request_base: base,
            request_proposal,
            response_hint,
            cap,
            batch_items,
            call_timeout: or(self.call_timeout, DEFAULT_CALL_TIMEOUT),
            connect_timeout: or(self.connect_timeout, DEFAULT_CONNECT_TIMEOUT),
            lookup_max_items: nz(self.lookup_max_items, DEFAULT_LOOKUP_MAX_ITEMS),
            lookup_max_subcalls: nz(self.lookup_max_subcalls, DEFAULT_LOOKUP_MAX_SUBCALLS),
            lookup_max_response_bytes: if self.lookup_max_response_bytes == 0 {
                DEFAULT_LOOKUP_MAX_RESPONSE_BYTES
            } else {
                self.lookup_max_response_bytes
            },
            packet_size: self.packet_size,
            shm: self.shm,
        })
    }
}

fn nz(v: u32, d: u32) -> u32 {
    if v == 0 { d } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{METHOD_APPS_LOOKUP, METHOD_INCREMENT, PROFILE_BASELINE};
    use crate::service::defaults::MAX_PAYLOAD_DEFAULT;

    #[test]
    fn increment_defaults() {
        let s = Schema::fixed(METHOD_INCREMENT, 8).with_batch();
        let r = ClientConfig::default().resolve(&s).unwrap();
        assert_eq!(r.batch_items, DEFAULT_BATCH_ITEMS);
        assert_eq!(r.request_base, MIN_REQUEST_PROPOSAL);
        // 1000 items x (8 dir + 8 item) = 16000 -> 16384.
        assert_eq!(r.request_proposal, 16384);
        assert_eq!(r.cap, MAX_PAYLOAD_CAP);
        assert_eq!(r.call_timeout, DEFAULT_CALL_TIMEOUT);
        assert_eq!(r.supported, IMPLEMENTED_PROFILES);
        let single = ClientConfig {
            batch_items: 1,
            ..ClientConfig::default()
        };
        assert_eq!(single.resolve(&s).unwrap().request_proposal, 16);
    }

    #[test]
    fn dynamic_and_overrides() {
        let s = Schema::dynamic(METHOD_APPS_LOOKUP, 32);
        let r = ClientConfig::default().resolve(&s).unwrap();
        assert_eq!(r.request_proposal, MAX_PAYLOAD_DEFAULT);
        assert_eq!(r.request_base, 32);
        assert_eq!(r.batch_items, 1);
        let c = ClientConfig {
            request_payload_bytes: 8,
            max_payload_bytes: 4,
            lookup_max_items: 5,
            call_timeout: Duration::from_millis(7),
            ..ClientConfig::default()
        };
        let r = c.resolve(&s).unwrap();
        assert_eq!(r.request_proposal, 32);
        assert_eq!(r.cap, SERVICE_RESPONSE_PAYLOAD_DEFAULT);
        assert_eq!(r.lookup_max_items, 5);
        assert_eq!(r.call_timeout, Duration::from_millis(7));
        let bad = ClientConfig {
            supported_profiles: PROFILE_BASELINE | 0x80,
            ..ClientConfig::default()
        };
        assert!(bad.resolve(&s).is_err());
    }
}
