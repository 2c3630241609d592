//! INCREMENT (method code [`METHOD_INCREMENT`](crate::protocol::METHOD_INCREMENT)):
//! the u64 ping-pong test method.
//!
//! Request and response payloads have the same shape: exactly one `u64` in
//! host byte order, [`INCREMENT_PAYLOAD_SIZE`] bytes, no header and no
//! padding. The conventional handler answers `value + 1`.
//!
//! The payload has no fields that could borrow from the buffer, so decoding
//! returns the value itself rather than a view.

use crate::bytes::{Reader, Writer};
use crate::error::DecodeError;

/// Size of an INCREMENT request or response payload in bytes.
pub const INCREMENT_PAYLOAD_SIZE: usize = 8;

/// Appends the INCREMENT payload for `value` to `out`.
///
/// Existing contents of `out` are kept; exactly
/// [`INCREMENT_PAYLOAD_SIZE`] bytes are appended.
#[inline]
pub fn encode_increment(value: u64, out: &mut Vec<u8>) {
    Writer::new(out).u64(value);
}

/// Returns the INCREMENT payload for `value` as a fixed array.
#[inline]
pub fn encode_increment_array(value: u64) -> [u8; INCREMENT_PAYLOAD_SIZE] {
    value.to_ne_bytes()
}

/// Decodes an INCREMENT request or response payload.
///
/// # Errors
///
/// - [`DecodeError::Truncated`] if `payload` is shorter than 8 bytes;
/// - [`DecodeError::BadLength`] if it is longer than 8 bytes.
#[inline]
pub fn decode_increment(payload: &[u8]) -> Result<u64, DecodeError> {
    let r = Reader::new(payload, "INCREMENT payload");
    r.require(INCREMENT_PAYLOAD_SIZE)?;
    if payload.len() != INCREMENT_PAYLOAD_SIZE {
        return Err(DecodeError::BadLength {
            what: "INCREMENT payload must be exactly 8 bytes",
        });
    }
    r.u64(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REQ: &[u8] = include_bytes!("../../../../testdata/conformance/vectors/increment_req.bin");
    const RESP: &[u8] =
        include_bytes!("../../../../testdata/conformance/vectors/increment_resp.bin");

    #[test]
    fn conformance_request() {
        assert_eq!(decode_increment(REQ), Ok(41));
        let mut out = Vec::new();
        encode_increment(41, &mut out);
        assert_eq!(out, REQ);
        assert_eq!(encode_increment_array(41), REQ);
    }

    #[test]
    fn conformance_response() {
        assert_eq!(decode_increment(RESP), Ok(42));
        let mut out = Vec::new();
        encode_increment(42, &mut out);
        assert_eq!(out, RESP);
        // Re-encode of the decoded value gives the same bytes.
        assert_eq!(
            encode_increment_array(decode_increment(RESP).unwrap()),
            RESP
        );
    }

    #[test]
    fn encode_appends() {
        let mut out = vec![0xAA];
        encode_increment(u64::MAX, &mut out);
        assert_eq!(out.len(), 1 + INCREMENT_PAYLOAD_SIZE);
        assert_eq!(out[0], 0xAA);
        assert_eq!(decode_increment(&out[1..]), Ok(u64::MAX));
    }

    #[test]
    fn boundary_values() {
        for v in [0, 1, u64::MAX - 1, u64::MAX] {
            assert_eq!(decode_increment(&encode_increment_array(v)), Ok(v));
        }
    }

    #[test]
    fn rejects_short_payload() {
        for len in 0..INCREMENT_PAYLOAD_SIZE {
            assert!(matches!(
                decode_increment(&vec![0; len]),
                Err(DecodeError::Truncated { need: 8, .. })
            ));
        }
    }

    #[test]
    fn rejects_long_payload() {
        assert!(matches!(
            decode_increment(&[0; INCREMENT_PAYLOAD_SIZE + 1]),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            decode_increment(&[0; 16]),
            Err(DecodeError::BadLength { .. })
        ));
    }

    proptest! {
        #[test]
        fn prop_round_trip(v in any::<u64>()) {
            let mut out = Vec::new();
            encode_increment(v, &mut out);
            prop_assert_eq!(decode_increment(&out), Ok(v));
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let r = decode_increment(&bytes);
            prop_assert_eq!(r.is_ok(), bytes.len() == INCREMENT_PAYLOAD_SIZE);
        }
    }
}
