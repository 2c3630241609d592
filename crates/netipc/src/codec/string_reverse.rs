//! STRING_REVERSE (method code
//! [`METHOD_STRING_REVERSE`](crate::protocol::METHOD_STRING_REVERSE)): the
//! string ping-pong test method.
//!
//! Request and response payloads have the same shape:
//!
//! | Offset | Size | Type | Field |
//! |--------|------|------|-------|
//! | 0 | 4 | u32 | `str_offset`, always [`STRING_REVERSE_STR_OFFSET`] |
//! | 4 | 4 | u32 | `str_length`, excluding the NUL |
//! | 8 | `str_length` | bytes | the string |
//! | 8 + `str_length` | 1 | u8 | NUL |
//!
//! The payload is not padded: its length is `8 + str_length + 1`. The
//! conventional handler answers the byte-reversed string.
//!
//! The string is length-delimited: bytes are opaque (not required to be
//! UTF-8) and interior NULs survive a round trip.

use crate::bytes::{Reader, Writer, to_u32};
use crate::error::{DecodeError, Error};

/// Size of the fixed STRING_REVERSE header (`str_offset` + `str_length`).
pub const STRING_REVERSE_HDR_SIZE: usize = 8;
/// The only valid value of `str_offset`: the string follows the header.
pub const STRING_REVERSE_STR_OFFSET: u32 = 8;

/// Returns the payload size for a string of `len` bytes, or `None` on overflow.
#[inline]
pub fn string_reverse_payload_len(len: usize) -> Option<usize> {
    len.checked_add(STRING_REVERSE_HDR_SIZE + 1)
}

/// Appends the STRING_REVERSE payload carrying `text` to `out`.
///
/// Existing contents of `out` are kept. Appends `8 + text.len() + 1` bytes.
///
/// # Errors
///
/// [`Error::InvalidArgument`] if `text` is too long for the `u32` length
/// field (or the payload length would not fit in `u32`); `out` is left
/// unchanged.
pub fn encode_string_reverse(text: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let total = string_reverse_payload_len(text.len())
        .ok_or(Error::InvalidArgument("STRING_REVERSE text too long"))?;
    // The whole payload must be addressable by the envelope's u32 length.
    to_u32(total, "STRING_REVERSE payload")
        .map_err(|_| Error::InvalidArgument("STRING_REVERSE text too long"))?;
    let len = to_u32(text.len(), "STRING_REVERSE text")
        .map_err(|_| Error::InvalidArgument("STRING_REVERSE text too long"))?;
    out.reserve(total);
    let mut w = Writer::new(out);
    w.u32(STRING_REVERSE_STR_OFFSET);
    w.u32(len);
    w.bytes(text);
    w.zeros(1);
    Ok(())
}

/// A decoded STRING_REVERSE payload: **borrowed and ephemeral**.
///
/// The view points into the payload buffer it was decoded from and is valid
/// only while that buffer is alive and unchanged (`'a`). The owning layer
/// sets the real lifetime: for direct codec use, as long as you keep the
/// buffer; for a Level 2 client, until the next call on the same client;
/// inside a Level 2 server handler, only for that handler invocation.
/// Copy the string (see [`StringReverseView::to_owned`]) immediately if it
/// is needed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringReverseView<'a> {
    text: &'a [u8],
}

impl<'a> StringReverseView<'a> {
    /// Decodes and validates a STRING_REVERSE payload without copying.
    ///
    /// Bytes after the string's NUL are ignored.
    ///
    /// # Errors
    ///
    /// - [`DecodeError::Truncated`] if the payload is shorter than the 8-byte header;
    /// - [`DecodeError::InvalidField`] if `str_offset` is not 8;
    /// - [`DecodeError::OutOfBounds`] if the string and its NUL run past the payload;
    /// - [`DecodeError::MissingNul`] if the byte after the string is not NUL.
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(payload, "STRING_REVERSE header");
        r.require(STRING_REVERSE_HDR_SIZE)?;
        if r.u32(0)? != STRING_REVERSE_STR_OFFSET {
            return Err(DecodeError::InvalidField {
                rule: "STRING_REVERSE str_offset must be 8",
            });
        }
        let len = r.u32(4)? as usize;
        let text = r.cstr(STRING_REVERSE_HDR_SIZE, len, "STRING_REVERSE string")?;
        Ok(StringReverseView { text })
    }

    /// The string bytes, without the trailing NUL.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.text
    }

    /// The string as UTF-8, or `None` if it is not valid UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.text).ok()
    }

    /// Length of the string in bytes, excluding the NUL.
    #[inline]
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Copies the string into an owned buffer that outlives the payload.
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> Vec<u8> {
        self.text.to_vec()
    }
}

/// Decodes a STRING_REVERSE payload; shorthand for [`StringReverseView::decode`].
#[inline]
pub fn decode_string_reverse(payload: &[u8]) -> Result<StringReverseView<'_>, DecodeError> {
    StringReverseView::decode(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REQ: &[u8] =
        include_bytes!("../../../../testdata/conformance/vectors/string_reverse_req.bin");
    const RESP: &[u8] =
        include_bytes!("../../../../testdata/conformance/vectors/string_reverse_resp.bin");
    const EMPTY: &[u8] =
        include_bytes!("../../../../testdata/conformance/vectors/string_reverse_empty.bin");

    fn enc(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_string_reverse(text, &mut out).unwrap();
        out
    }

    fn check_vector(bytes: &[u8], text: &str) {
        let v = decode_string_reverse(bytes).unwrap();
        assert_eq!(v.as_str(), Some(text));
        assert_eq!(v.as_bytes(), text.as_bytes());
        assert_eq!(enc(text.as_bytes()), bytes);
        // decode then re-encode
        assert_eq!(enc(v.as_bytes()), bytes);
    }

    #[test]
    fn conformance_vectors() {
        check_vector(REQ, "hello, netipc");
        check_vector(RESP, "cpiten ,olleh");
        check_vector(EMPTY, "");
        // Not padded: 8 + 13 + 1.
        assert_eq!(REQ.len(), 22);
        assert_eq!(EMPTY.len(), 9);
    }

    #[test]
    fn round_trip_and_to_owned() {
        let long = vec![b'x'; 100_000];
        for text in [&b""[..], b"a", b"\xff\xfe non-utf8", b"in\0terior", &long] {
            let bytes = enc(text);
            assert_eq!(bytes.len(), text.len() + 9);
            let v = decode_string_reverse(&bytes).unwrap();
            assert_eq!(v.as_bytes(), text);
            assert_eq!(v.len(), text.len());
            assert_eq!(v.is_empty(), text.is_empty());
            assert_eq!(v.to_owned(), text.to_vec());
        }
        assert_eq!(decode_string_reverse(&enc(b"\xff")).unwrap().as_str(), None);
    }

    #[test]
    fn encode_appends() {
        let mut out = vec![1, 2, 3];
        encode_string_reverse(b"ab", &mut out).unwrap();
        assert_eq!(&out[..3], &[1, 2, 3]);
        assert_eq!(decode_string_reverse(&out[3..]).unwrap().as_bytes(), b"ab");
    }

    #[test]
    fn trailing_bytes_after_nul_are_ignored() {
        let mut bytes = enc(b"abc");
        bytes.extend_from_slice(&[0xEE; 7]);
        assert_eq!(decode_string_reverse(&bytes).unwrap().as_bytes(), b"abc");
    }

    #[test]
    fn rejects_truncated_header() {
        for len in 0..STRING_REVERSE_HDR_SIZE {
            assert!(matches!(
                decode_string_reverse(&EMPTY[..len]),
                Err(DecodeError::Truncated { need: 8, .. })
            ));
        }
    }

    #[test]
    fn rejects_bad_str_offset() {
        for off in [0u32, 4, 9, 16, u32::MAX] {
            let mut bytes = enc(b"abc");
            bytes[0..4].copy_from_slice(&off.to_ne_bytes());
            assert!(matches!(
                decode_string_reverse(&bytes),
                Err(DecodeError::InvalidField { .. })
            ));
        }
    }

    #[test]
    fn rejects_range_past_payload() {
        // Length one too long: the NUL would be past the end.
        let mut bytes = enc(b"abc");
        bytes[4..8].copy_from_slice(&4u32.to_ne_bytes());
        assert!(matches!(
            decode_string_reverse(&bytes),
            Err(DecodeError::OutOfBounds { .. })
        ));
        // Payload cut before the NUL.
        let bytes = enc(b"abc");
        assert!(matches!(
            decode_string_reverse(&bytes[..bytes.len() - 1]),
            Err(DecodeError::OutOfBounds { .. })
        ));
        // Huge length must not overflow.
        let mut bytes = enc(b"abc");
        bytes[4..8].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(
            decode_string_reverse(&bytes),
            Err(DecodeError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn rejects_missing_nul() {
        let mut bytes = enc(b"abc");
        let last = bytes.len() - 1;
        bytes[last] = b'!';
        assert!(matches!(
            decode_string_reverse(&bytes),
            Err(DecodeError::MissingNul { .. })
        ));
        // A shorter declared length points at a non-NUL byte.
        let mut bytes = enc(b"abc");
        bytes[4..8].copy_from_slice(&2u32.to_ne_bytes());
        assert!(matches!(
            decode_string_reverse(&bytes),
            Err(DecodeError::MissingNul { .. })
        ));
    }

    proptest! {
        #[test]
        fn prop_round_trip(text in proptest::collection::vec(any::<u8>(), 0..512)) {
            let bytes = enc(&text);
            prop_assert_eq!(bytes.len(), text.len() + 9);
            let v = decode_string_reverse(&bytes).unwrap();
            prop_assert_eq!(v.as_bytes(), &text[..]);
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = decode_string_reverse(&bytes) {
                prop_assert!(v.len() + 9 <= bytes.len());
            }
        }

        #[test]
        fn prop_mutated_header_never_panics(
            text in proptest::collection::vec(any::<u8>(), 0..64),
            off in any::<u32>(),
            len in any::<u32>(),
        ) {
            let mut bytes = enc(&text);
            bytes[0..4].copy_from_slice(&off.to_ne_bytes());
            bytes[4..8].copy_from_slice(&len.to_ne_bytes());
            let _ = decode_string_reverse(&bytes);
        }
    }
}
