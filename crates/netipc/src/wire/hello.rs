//! Handshake payloads (HELLO, 44 bytes; HELLO_ACK, 48 bytes) and the pure
//! server-side negotiation that turns a HELLO into a decision.

use crate::bytes::{Reader, put_u16, put_u32, put_u64};
use crate::error::DecodeError;
use crate::protocol::{
    HEADER_LEN, LAYOUT_VERSION, STATUS_AUTH_FAILED, STATUS_BAD_ENVELOPE, STATUS_INCOMPATIBLE,
    STATUS_LIMIT_EXCEEDED, STATUS_UNSUPPORTED,
};

/// Size of a HELLO payload.
pub const HELLO_LEN: usize = 44;
/// Size of a HELLO_ACK payload.
pub const HELLO_ACK_LEN: usize = 48;

/// The client's HELLO: its proposals for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hello {
    /// Profiles the client supports (bitmask).
    pub supported_profiles: u32,
    /// Profiles the client prefers (bitmask).
    pub preferred_profiles: u32,
    /// Proposed whole-request payload ceiling.
    pub max_request_payload_bytes: u32,
    /// Proposed request batch-item ceiling.
    pub max_request_batch_items: u32,
    /// Hint for the response payload ceiling.
    pub max_response_payload_bytes: u32,
    /// Hint for the response batch-item ceiling.
    pub max_response_batch_items: u32,
    /// Caller-supplied authentication token.
    pub auth_token: u64,
    /// The client's transport packet size.
    pub packet_size: u32,
}

/// The server's HELLO_ACK: the final values of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HelloAck {
    /// Profiles the server supports.
    pub server_supported_profiles: u32,
    /// Client supported & server supported.
    pub intersection_profiles: u32,
    /// The one profile chosen for the session.
    pub selected_profile: u32,
    /// Final request payload limit.
    pub agreed_max_request_payload_bytes: u32,
    /// Final request batch-item limit.
    pub agreed_max_request_batch_items: u32,
    /// Final response payload limit.
    pub agreed_max_response_payload_bytes: u32,
    /// Final response batch-item limit (equals the request one).
    pub agreed_max_response_batch_items: u32,
    /// Final packet size.
    pub agreed_packet_size: u32,
    /// Server-assigned session id.
    pub session_id: u64,
}

/// How a HELLO payload failed to decode, mapped to the handshake reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloError {
    /// `layout_version != 1`: reject with INCOMPATIBLE.
    Incompatible,
    /// Non-zero flags or padding: reject with BAD_ENVELOPE.
    BadReserved,
    /// Truncated: close without an answer.
    Malformed(DecodeError),
}

impl Hello {
    /// Encodes into 44 bytes.
    pub fn encode(&self) -> [u8; HELLO_LEN] {
        let mut b = [0u8; HELLO_LEN];
        put_u16(&mut b, 0, LAYOUT_VERSION);
        put_u16(&mut b, 2, 0);
        put_u32(&mut b, 4, self.supported_profiles);
        put_u32(&mut b, 8, self.preferred_profiles);
        put_u32(&mut b, 12, self.max_request_payload_bytes);
        put_u32(&mut b, 16, self.max_request_batch_items);
        put_u32(&mut b, 20, self.max_response_payload_bytes);
        put_u32(&mut b, 24, self.max_response_batch_items);
        put_u32(&mut b, 28, 0);
        put_u64(&mut b, 32, self.auth_token);
        put_u32(&mut b, 40, self.packet_size);
        b
    }

    /// Decodes a HELLO, rejecting bad layout versions and non-zero
    /// flags/padding.
    pub fn decode(buf: &[u8]) -> Result<Hello, DecodeError> {
        Self::decode_for_handshake(buf).map_err(|e| match e {
            HelloError::Incompatible => DecodeError::BadLayoutVersion {
                what: "hello",
                found: Reader::new(buf, "hello").u16(0).unwrap_or(0),
            },
            HelloError::BadReserved => DecodeError::NonZeroReserved {
                field: "hello flags/padding",
            },
            HelloError::Malformed(d) => d,
        })
    }

    /// Decodes a HELLO, classifying failures as the handshake must react.
    pub fn decode_for_handshake(buf: &[u8]) -> Result<Hello, HelloError> {
        let r = Reader::new(buf, "hello");
        r.require(HELLO_LEN).map_err(HelloError::Malformed)?;
        let m = HelloError::Malformed;
        if r.u16(0).map_err(m)? != LAYOUT_VERSION {
            return Err(HelloError::Incompatible);
        }
        if r.u16(2).map_err(m)? != 0 || r.u32(28).map_err(m)? != 0 {
            return Err(HelloError::BadReserved);
        }
        Ok(Hello {
            supported_profiles: r.u32(4).map_err(m)?,
            preferred_profiles: r.u32(8).map_err(m)?,
            max_request_payload_bytes: r.u32(12).map_err(m)?,
            max_request_batch_items: r.u32(16).map_err(m)?,
            max_response_payload_bytes: r.u32(20).map_err(m)?,
            max_response_batch_items: r.u32(24).map_err(m)?,
            auth_token: r.u64(32).map_err(m)?,
            packet_size: r.u32(40).map_err(m)?,
        })
    }
}

impl HelloAck {
    /// The payload of a rejection: layout version 1, every other field 0.
    pub fn rejection() -> HelloAck {
        HelloAck::default()
    }

    /// Encodes into 48 bytes.
    pub fn encode(&self) -> [u8; HELLO_ACK_LEN] {
        let mut b = [0u8; HELLO_ACK_LEN];
        put_u16(&mut b, 0, LAYOUT_VERSION);
        put_u16(&mut b, 2, 0);
        put_u32(&mut b, 4, self.server_supported_profiles);
        put_u32(&mut b, 8, self.intersection_profiles);
        put_u32(&mut b, 12, self.selected_profile);
        put_u32(&mut b, 16, self.agreed_max_request_payload_bytes);
        put_u32(&mut b, 20, self.agreed_max_request_batch_items);
        put_u32(&mut b, 24, self.agreed_max_response_payload_bytes);
        put_u32(&mut b, 28, self.agreed_max_response_batch_items);
        put_u32(&mut b, 32, self.agreed_packet_size);
        put_u32(&mut b, 36, 0);
        put_u64(&mut b, 40, self.session_id);
        b
    }

    /// Decodes a HELLO_ACK, rejecting bad layout versions and non-zero
    /// flags/padding. Policy checks (packet size, profile) are the
    /// client handshake's job.
    pub fn decode(buf: &[u8]) -> Result<HelloAck, DecodeError> {
        let r = Reader::new(buf, "hello-ack");
        r.require(HELLO_ACK_LEN)?;
        let lv = r.u16(0)?;
        if lv != LAYOUT_VERSION {
            return Err(DecodeError::BadLayoutVersion {
                what: "hello-ack",
                found: lv,
            });
        }
        if r.u16(2)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "hello-ack flags",
            });
        }
        if r.u32(36)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "hello-ack padding",
            });
        }
        Ok(HelloAck {
            server_supported_profiles: r.u32(4)?,
            intersection_profiles: r.u32(8)?,
            selected_profile: r.u32(12)?,
            agreed_max_request_payload_bytes: r.u32(16)?,
            agreed_max_request_batch_items: r.u32(20)?,
            agreed_max_response_payload_bytes: r.u32(24)?,
            agreed_max_response_batch_items: r.u32(28)?,
            agreed_packet_size: r.u32(32)?,
            session_id: r.u64(40)?,
        })
    }
}

/// What a server offers in a handshake: its current budgets and policy.
///
/// Level 2 passes *learned* budgets here, so later sessions can be offered
/// more than the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOffer {
    /// Profiles the server supports.
    pub supported_profiles: u32,
    /// Profiles the server prefers.
    pub preferred_profiles: u32,
    /// The server's current request payload budget.
    pub max_request_payload_bytes: u32,
    /// The server's current response payload budget.
    pub max_response_payload_bytes: u32,
    /// The server's packet size.
    pub packet_size: u32,
    /// The token clients must present.
    pub auth_token: u64,
}

/// The outcome of [`negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// Accept: send this HELLO_ACK with status OK.
    Accept(HelloAck),
    /// Reject: send a rejection HELLO_ACK with this status, then close.
    Reject(u16),
    /// The HELLO is malformed: close without an answer.
    Drop,
}

/// Returns the highest set bit of `mask` as a one-bit mask (0 if none).
#[inline]
pub fn highest_bit(mask: u32) -> u32 {
    if mask == 0 {
        0
    } else {
        1 << (31 - mask.leading_zeros())
    }
}

/// Decides a handshake from a HELLO payload, a server offer and the
/// session id already allocated for this connection.
///
/// Checks, first failure wins: layout version (INCOMPATIBLE), reserved
/// fields (BAD_ENVELOPE), common profile (UNSUPPORTED), auth token
/// (AUTH_FAILED), request payload proposal over budget (LIMIT_EXCEEDED),
/// packet size `<= 32` (INCOMPATIBLE).
pub fn negotiate(hello_payload: &[u8], offer: &ServerOffer, session_id: u64) -> Negotiation {
    let hello = match Hello::decode_for_handshake(hello_payload) {
        Ok(h) => h,
        Err(HelloError::Incompatible) => return Negotiation::Reject(STATUS_INCOMPATIBLE),
        Err(HelloError::BadReserved) => return Negotiation::Reject(STATUS_BAD_ENVELOPE),
        Err(HelloError::Malformed(_)) => return Negotiation::Drop,
    };
    let intersection = hello.supported_profiles & offer.supported_profiles;
    if intersection == 0 {
        return Negotiation::Reject(STATUS_UNSUPPORTED);
    }
    if hello.auth_token != offer.auth_token {
        return Negotiation::Reject(STATUS_AUTH_FAILED);
    }
    if hello.max_request_payload_bytes > offer.max_request_payload_bytes {
        return Negotiation::Reject(STATUS_LIMIT_EXCEEDED);
    }
    let packet = hello.packet_size.min(offer.packet_size);
    if packet as usize <= HEADER_LEN {
        return Negotiation::Reject(STATUS_INCOMPATIBLE);
    }
    let preferred = intersection & hello.preferred_profiles & offer.preferred_profiles;
    let selected = if preferred != 0 {
        highest_bit(preferred)
    } else {
        highest_bit(intersection)
    };
    Negotiation::Accept(HelloAck {
        server_supported_profiles: offer.supported_profiles,
        intersection_profiles: intersection,
        selected_profile: selected,
        agreed_max_request_payload_bytes: hello.max_request_payload_bytes,
        agreed_max_request_batch_items: hello.max_request_batch_items,
        agreed_max_response_payload_bytes: offer.max_response_payload_bytes,
        agreed_max_response_batch_items: hello.max_request_batch_items,
        agreed_packet_size: packet,
        session_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PROFILE_BASELINE, PROFILE_SHM_FUTEX, PROFILE_SHM_HYBRID};

    fn hello() -> Hello {
        Hello {
            supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            preferred_profiles: PROFILE_SHM_HYBRID,
            max_request_payload_bytes: 4096,
            max_request_batch_items: 1,
            max_response_payload_bytes: 65536,
            max_response_batch_items: 1,
            auth_token: 7,
            packet_size: 65536,
        }
    }

    fn offer() -> ServerOffer {
        ServerOffer {
            supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            preferred_profiles: PROFILE_SHM_HYBRID,
            max_request_payload_bytes: 4096,
            max_response_payload_bytes: 1 << 20,
            packet_size: 212_960,
            auth_token: 7,
        }
    }

    #[test]
    fn round_trips() {
        let h = hello();
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
        let a = HelloAck {
            server_supported_profiles: 7,
            intersection_profiles: 5,
            selected_profile: 4,
            agreed_max_request_payload_bytes: 2048,
            agreed_max_request_batch_items: 50,
            agreed_max_response_payload_bytes: 65536,
            agreed_max_response_batch_items: 1,
            agreed_packet_size: 32768,
            session_id: 1,
        };
        assert_eq!(HelloAck::decode(&a.encode()), Ok(a));
        assert_eq!(
            HelloAck::decode(&HelloAck::rejection().encode()),
            Ok(HelloAck::default())
        );
    }

    #[test]
    fn hello_rejections() {
        let good = hello().encode();
        let mut b = good;
        put_u16(&mut b, 0, 2);
        assert_eq!(
            Hello::decode_for_handshake(&b),
            Err(HelloError::Incompatible)
        );
        assert!(matches!(
            Hello::decode(&b),
            Err(DecodeError::BadLayoutVersion { found: 2, .. })
        ));
        let mut b = good;
        put_u16(&mut b, 2, 1);
        assert_eq!(
            Hello::decode_for_handshake(&b),
            Err(HelloError::BadReserved)
        );
        let mut b = good;
        put_u32(&mut b, 28, 1);
        assert!(matches!(
            Hello::decode(&b),
            Err(DecodeError::NonZeroReserved { .. })
        ));
        assert!(matches!(
            Hello::decode(&good[..43]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn ack_rejections() {
        let good = HelloAck::default().encode();
        let mut b = good;
        put_u16(&mut b, 0, 0);
        assert!(matches!(
            HelloAck::decode(&b),
            Err(DecodeError::BadLayoutVersion { .. })
        ));
        let mut b = good;
        put_u16(&mut b, 2, 1);
        assert!(matches!(
            HelloAck::decode(&b),
            Err(DecodeError::NonZeroReserved { .. })
        ));
        let mut b = good;
        put_u32(&mut b, 36, 1);
        assert!(matches!(
            HelloAck::decode(&b),
            Err(DecodeError::NonZeroReserved { .. })
        ));
        assert!(matches!(
            HelloAck::decode(&good[..47]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn negotiation_accepts_and_selects() {
        let Negotiation::Accept(ack) = negotiate(&hello().encode(), &offer(), 3) else {
            panic!("expected accept")
        };
        assert_eq!(ack.selected_profile, PROFILE_SHM_HYBRID);
        assert_eq!(
            ack.intersection_profiles,
            PROFILE_BASELINE | PROFILE_SHM_HYBRID
        );
        assert_eq!(ack.agreed_max_request_payload_bytes, 4096);
        assert_eq!(ack.agreed_max_response_payload_bytes, 1 << 20);
        assert_eq!(ack.agreed_max_request_batch_items, 1);
        assert_eq!(ack.agreed_max_response_batch_items, 1);
        assert_eq!(ack.agreed_packet_size, 65536);
        assert_eq!(ack.session_id, 3);

        // No common preference: highest bit of the intersection.
        let mut h = hello();
        h.preferred_profiles = 0;
        h.supported_profiles |= PROFILE_SHM_FUTEX;
        let mut o = offer();
        o.supported_profiles |= PROFILE_SHM_FUTEX;
        let Negotiation::Accept(ack) = negotiate(&h.encode(), &o, 1) else {
            panic!()
        };
        assert_eq!(ack.selected_profile, PROFILE_SHM_FUTEX);
        // Baseline-only server.
        let mut o = offer();
        o.supported_profiles = PROFILE_BASELINE;
        let Negotiation::Accept(ack) = negotiate(&hello().encode(), &o, 1) else {
            panic!()
        };
        assert_eq!(ack.selected_profile, PROFILE_BASELINE);
    }

    #[test]
    fn negotiation_rejections_in_order() {
        let o = offer();
        let mut b = hello().encode();
        put_u16(&mut b, 0, 9);
        assert_eq!(
            negotiate(&b, &o, 1),
            Negotiation::Reject(STATUS_INCOMPATIBLE)
        );
        let mut b = hello().encode();
        put_u16(&mut b, 2, 1);
        assert_eq!(
            negotiate(&b, &o, 1),
            Negotiation::Reject(STATUS_BAD_ENVELOPE)
        );
        assert_eq!(negotiate(&b[..40], &o, 1), Negotiation::Drop);

        // Profile check wins over auth.
        let mut h = hello();
        h.supported_profiles = PROFILE_SHM_FUTEX;
        h.auth_token = 8;
        assert_eq!(
            negotiate(&h.encode(), &o, 1),
            Negotiation::Reject(STATUS_UNSUPPORTED)
        );
        // Auth wins over limits.
        let mut h = hello();
        h.auth_token = 8;
        h.max_request_payload_bytes = 1 << 30;
        assert_eq!(
            negotiate(&h.encode(), &o, 1),
            Negotiation::Reject(STATUS_AUTH_FAILED)
        );
        // Limits win over packet size.
        let mut h = hello();
        h.max_request_payload_bytes = 4097;
        h.packet_size = 32;
        assert_eq!(
            negotiate(&h.encode(), &o, 1),
            Negotiation::Reject(STATUS_LIMIT_EXCEEDED)
        );
        let mut h = hello();
        h.packet_size = 32;
        assert_eq!(
            negotiate(&h.encode(), &o, 1),
            Negotiation::Reject(STATUS_INCOMPATIBLE)
        );
        h.packet_size = 33;
        assert!(matches!(
            negotiate(&h.encode(), &o, 1),
            Negotiation::Accept(_)
        ));
    }

    #[test]
    fn highest_bit_works() {
        assert_eq!(highest_bit(0), 0);
        assert_eq!(highest_bit(1), 1);
        assert_eq!(highest_bit(0b0110), 0b0100);
        assert_eq!(highest_bit(u32::MAX), 1 << 31);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Hello::decode(&b);
            let _ = HelloAck::decode(&b);
            let _ = negotiate(&b, &offer(), 1);
        }
    }
}
