//! The 32-byte outer message header that starts every message.

use crate::bytes::{Reader, put_u16, put_u32, put_u64};
use crate::error::{DecodeError, Error, Limit};
use crate::protocol::{
    FLAG_BATCH, HEADER_LEN, HEADER_LEN_U16, KIND_CONTROL, KIND_REQUEST, KIND_RESPONSE, MAGIC_MSG,
    STATUS_OK, VERSION,
};

/// Byte offsets of the outer header fields.
mod off {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 4;
    pub const HEADER_LEN: usize = 6;
    pub const KIND: usize = 8;
    pub const FLAGS: usize = 10;
    pub const CODE: usize = 12;
    pub const STATUS: usize = 14;
    pub const PAYLOAD_LEN: usize = 16;
    pub const ITEM_COUNT: usize = 20;
    pub const MESSAGE_ID: usize = 24;
}

/// The outer message header (magic, version and header length are implied).
///
/// Encoding always writes `magic = MAGIC_MSG`, `version = 1`,
/// `header_len = 32`; decoding checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// Message kind (`KIND_REQUEST`, `KIND_RESPONSE`, `KIND_CONTROL`).
    pub kind: u16,
    /// Bit flags (`FLAG_BATCH`).
    pub flags: u16,
    /// Method code or control opcode.
    pub code: u16,
    /// Envelope-level status (`STATUS_*`).
    pub transport_status: u16,
    /// Payload bytes after the header.
    pub payload_len: u32,
    /// 1 for a single message, N for a batch.
    pub item_count: u32,
    /// Request/response correlation id.
    pub message_id: u64,
}

/// Directional limits negotiated for a session: what a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum payload bytes of one message (batch directory included).
    pub max_payload: u32,
    /// Maximum batch items of one message.
    pub max_items: u32,
}

impl Header {
    /// A single (non-batch) request.
    pub fn request(code: u16, message_id: u64, payload_len: u32) -> Self {
        Header {
            kind: KIND_REQUEST,
            flags: 0,
            code,
            transport_status: STATUS_OK,
            payload_len,
            item_count: 1,
            message_id,
        }
    }

    /// A single (non-batch) OK response.
    pub fn response(code: u16, message_id: u64, payload_len: u32) -> Self {
        Header {
            kind: KIND_RESPONSE,
            ..Header::request(code, message_id, payload_len)
        }
    }

    /// An error response: empty payload, `flags = 0`, `item_count = 1`.
    pub fn error_response(code: u16, message_id: u64, status: u16) -> Self {
        Header {
            transport_status: status,
            ..Header::response(code, message_id, 0)
        }
    }

    /// A control message (HELLO / HELLO_ACK): `message_id = 0`, one item.
    pub fn control(code: u16, status: u16, payload_len: u32) -> Self {
        Header {
            kind: KIND_CONTROL,
            flags: 0,
            code,
            transport_status: status,
            payload_len,
            item_count: 1,
            message_id: 0,
        }
    }

    /// Whether the payload carries a batch directory: the BATCH flag is set
    /// and `item_count > 1`. BATCH with 0 or 1 items is a plain payload.
    #[inline]
    pub fn has_batch_directory(&self) -> bool {
        self.flags & FLAG_BATCH != 0 && self.item_count > 1
    }

    /// Whether the BATCH flag is set (regardless of item count).
    #[inline]
    pub fn is_batch_flagged(&self) -> bool {
        self.flags & FLAG_BATCH != 0
    }

    /// Encodes the header into 32 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.encode_into(&mut b);
        b
    }

    /// Encodes the header into the first 32 bytes of `out`.
    ///
    /// # Panics
    /// If `out` is shorter than 32 bytes (a caller bug, never input).
    pub fn encode_into(&self, out: &mut [u8]) {
        let b = &mut out[..HEADER_LEN];
        put_u32(b, off::MAGIC, MAGIC_MSG);
        put_u16(b, off::VERSION, VERSION);
        put_u16(b, off::HEADER_LEN, HEADER_LEN_U16);
        put_u16(b, off::KIND, self.kind);
        put_u16(b, off::FLAGS, self.flags);
        put_u16(b, off::CODE, self.code);
        put_u16(b, off::STATUS, self.transport_status);
        put_u32(b, off::PAYLOAD_LEN, self.payload_len);
        put_u32(b, off::ITEM_COUNT, self.item_count);
        put_u64(b, off::MESSAGE_ID, self.message_id);
    }

    /// Decodes and validates a header from the first 32 bytes of `buf`.
    ///
    /// Checks magic, version, header_len and kind. Limits are checked
    /// separately with [`Header::check_limits`].
    pub fn decode(buf: &[u8]) -> Result<Header, DecodeError> {
        let r = Reader::new(buf, "message header");
        r.require(HEADER_LEN)?;
        let magic = r.u32(off::MAGIC)?;
        if magic != MAGIC_MSG {
            return Err(DecodeError::BadMagic {
                expected: MAGIC_MSG,
                found: magic,
            });
        }
        let version = r.u16(off::VERSION)?;
        if version != VERSION {
            return Err(DecodeError::BadVersion { found: version });
        }
        let header_len = r.u16(off::HEADER_LEN)?;
        if header_len != HEADER_LEN_U16 {
            return Err(DecodeError::BadHeaderLen { found: header_len });
        }
        let kind = r.u16(off::KIND)?;
        if !matches!(kind, KIND_REQUEST | KIND_RESPONSE | KIND_CONTROL) {
            return Err(DecodeError::BadKind { found: kind });
        }
        Ok(Header {
            kind,
            flags: r.u16(off::FLAGS)?,
            code: r.u16(off::CODE)?,
            transport_status: r.u16(off::STATUS)?,
            payload_len: r.u32(off::PAYLOAD_LEN)?,
            item_count: r.u32(off::ITEM_COUNT)?,
            message_id: r.u64(off::MESSAGE_ID)?,
        })
    }

    /// Applies a receiver's negotiated directional limits.
    ///
    /// `request` selects which direction the limits belong to, so the error
    /// names the right limit. A BATCH message with `item_count == 0` is
    /// rejected as a protocol violation by the caller, not here.
    pub fn check_limits(&self, limits: Limits, request: bool) -> Result<(), Error> {
        if self.payload_len > limits.max_payload {
            return Err(Error::LimitExceeded {
                limit: if request {
                    Limit::RequestPayload
                } else {
                    Limit::ResponsePayload
                },
                max: limits.max_payload.into(),
                actual: self.payload_len.into(),
            });
        }
        if self.item_count > limits.max_items {
            return Err(Error::LimitExceeded {
                limit: if request {
                    Limit::RequestItems
                } else {
                    Limit::ResponseItems
                },
                max: limits.max_items.into(),
                actual: self.item_count.into(),
            });
        }
        Ok(())
    }

    /// Total message length (header + payload).
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{METHOD_CGROUPS_SNAPSHOT, STATUS_LIMIT_EXCEEDED};

    #[test]
    fn round_trip() {
        let h = Header {
            kind: KIND_REQUEST,
            flags: FLAG_BATCH,
            code: METHOD_CGROUPS_SNAPSHOT,
            transport_status: STATUS_OK,
            payload_len: 12345,
            item_count: 42,
            message_id: 0xDEAD_BEEF_CAFE_BABE,
        };
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        assert!(h.has_batch_directory());
    }

    #[test]
    fn rejects_each_field() {
        let good = Header::request(1, 1, 8).encode();
        let mut b = good;
        b[0] ^= 1;
        assert!(matches!(
            Header::decode(&b),
            Err(DecodeError::BadMagic { .. })
        ));
        let mut b = good;
        put_u16(&mut b, off::VERSION, 2);
        assert_eq!(
            Header::decode(&b),
            Err(DecodeError::BadVersion { found: 2 })
        );
        let mut b = good;
        put_u16(&mut b, off::HEADER_LEN, 31);
        assert_eq!(
            Header::decode(&b),
            Err(DecodeError::BadHeaderLen { found: 31 })
        );
        for kind in [0u16, 4, 0xffff] {
            let mut b = good;
            put_u16(&mut b, off::KIND, kind);
            assert_eq!(
                Header::decode(&b),
                Err(DecodeError::BadKind { found: kind })
            );
        }
        assert!(matches!(
            Header::decode(&good[..31]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn limits() {
        let lim = Limits {
            max_payload: 100,
            max_items: 2,
        };
        assert!(Header::request(1, 1, 100).check_limits(lim, true).is_ok());
        assert!(matches!(
            Header::request(1, 1, 101).check_limits(lim, true),
            Err(Error::LimitExceeded {
                limit: Limit::RequestPayload,
                ..
            })
        ));
        let mut h = Header::response(1, 1, 8);
        h.item_count = 3;
        assert!(matches!(
            h.check_limits(lim, false),
            Err(Error::LimitExceeded {
                limit: Limit::ResponseItems,
                ..
            })
        ));
    }

    #[test]
    fn error_response_shape() {
        let h = Header::error_response(2, 11, STATUS_LIMIT_EXCEEDED);
        assert_eq!(h.flags, 0);
        assert_eq!(h.item_count, 1);
        assert_eq!(h.payload_len, 0);
        assert_eq!(h.kind, KIND_RESPONSE);
    }

    #[test]
    fn batch_directory_rule() {
        let mut h = Header::request(1, 1, 8);
        h.flags = FLAG_BATCH;
        h.item_count = 1;
        assert!(!h.has_batch_directory());
        h.item_count = 0;
        assert!(!h.has_batch_directory());
        h.item_count = 2;
        assert!(h.has_batch_directory());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Header::decode(&b);
        }
    }
}
