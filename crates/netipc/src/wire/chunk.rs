//! The 32-byte chunk continuation header and the chunking arithmetic.
//!
//! A message larger than the negotiated packet size travels as a first
//! packet (outer header + the first payload bytes) followed by
//! continuation packets (chunk header + payload bytes). Every chunk but
//! the last carries exactly `packet_size - 32` payload bytes.

use crate::bytes::{Reader, put_u16, put_u32, put_u64};
use crate::error::DecodeError;
use crate::protocol::{HEADER_LEN, MAGIC_CHUNK, VERSION};

mod off {
    pub const MAGIC: usize = 0;
    pub const VERSION: usize = 4;
    pub const FLAGS: usize = 6;
    pub const MESSAGE_ID: usize = 8;
    pub const TOTAL_LEN: usize = 16;
    pub const INDEX: usize = 20;
    pub const COUNT: usize = 24;
    pub const PAYLOAD_LEN: usize = 28;
}

/// A chunk continuation header (magic, version and flags are implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChunkHeader {
    /// The message id of the message being continued.
    pub message_id: u64,
    /// Total message size: 32-byte outer header + payload.
    pub total_message_len: u32,
    /// Chunk sequence number; continuations start at 1.
    pub chunk_index: u32,
    /// Total number of chunks, the first packet included.
    pub chunk_count: u32,
    /// Payload bytes in this chunk.
    pub chunk_payload_len: u32,
}

impl ChunkHeader {
    /// Encodes into 32 bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.encode_into(&mut b);
        b
    }

    /// Encodes into the first 32 bytes of `out`.
    ///
    /// # Panics
    /// If `out` is shorter than 32 bytes (a caller bug, never input).
    pub fn encode_into(&self, out: &mut [u8]) {
        let b = &mut out[..HEADER_LEN];
        put_u32(b, off::MAGIC, MAGIC_CHUNK);
        put_u16(b, off::VERSION, VERSION);
        put_u16(b, off::FLAGS, 0);
        put_u64(b, off::MESSAGE_ID, self.message_id);
        put_u32(b, off::TOTAL_LEN, self.total_message_len);
        put_u32(b, off::INDEX, self.chunk_index);
        put_u32(b, off::COUNT, self.chunk_count);
        put_u32(b, off::PAYLOAD_LEN, self.chunk_payload_len);
    }

    /// Decodes and validates the standalone rules of a chunk header:
    /// magic, version, zero flags, `chunk_count > 0`,
    /// `chunk_index < chunk_count`, `chunk_payload_len > 0`,
    /// `total_message_len > 0`.
    ///
    /// Consistency with the message in progress is checked by the receiver.
    pub fn decode(buf: &[u8]) -> Result<ChunkHeader, DecodeError> {
        let r = Reader::new(buf, "chunk header");
        r.require(HEADER_LEN)?;
        let magic = r.u32(off::MAGIC)?;
        if magic != MAGIC_CHUNK {
            return Err(DecodeError::BadMagic {
                expected: MAGIC_CHUNK,
                found: magic,
            });
        }
        let version = r.u16(off::VERSION)?;
        if version != VERSION {
            return Err(DecodeError::BadVersion { found: version });
        }
        if r.u16(off::FLAGS)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "chunk flags",
            });
        }
        let h = ChunkHeader {
            message_id: r.u64(off::MESSAGE_ID)?,
            total_message_len: r.u32(off::TOTAL_LEN)?,
            chunk_index: r.u32(off::INDEX)?,
            chunk_count: r.u32(off::COUNT)?,
            chunk_payload_len: r.u32(off::PAYLOAD_LEN)?,
        };
        if h.chunk_count == 0 {
            return Err(DecodeError::InvalidField {
                rule: "chunk_count must be > 0",
            });
        }
        if h.chunk_index >= h.chunk_count {
            return Err(DecodeError::InvalidField {
                rule: "chunk_index must be < chunk_count",
            });
        }
        if h.chunk_payload_len == 0 {
            return Err(DecodeError::BadLength {
                what: "chunk_payload_len must be > 0",
            });
        }
        if h.total_message_len == 0 {
            return Err(DecodeError::BadLength {
                what: "total_message_len must be > 0",
            });
        }
        Ok(h)
    }
}

/// How a message of `payload_len` bytes is split at `packet_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Payload bytes per chunk (`packet_size - 32`).
    pub per_chunk: usize,
    /// Number of packets, the first included (1 = no chunking).
    pub chunk_count: u32,
}

impl ChunkPlan {
    /// Plans a message. Returns `None` if `packet_size <= 32` or the chunk
    /// count does not fit in `u32`.
    pub fn new(payload_len: usize, packet_size: usize) -> Option<ChunkPlan> {
        let per_chunk = packet_size.checked_sub(HEADER_LEN).filter(|&n| n > 0)?;
        if payload_len <= per_chunk {
            return Some(ChunkPlan {
                per_chunk,
                chunk_count: 1,
            });
        }
        let rest = payload_len - per_chunk;
        let count = 1 + rest.div_ceil(per_chunk);
        Some(ChunkPlan {
            per_chunk,
            chunk_count: u32::try_from(count).ok()?,
        })
    }

    /// Whether the message needs more than one packet.
    #[inline]
    pub fn is_chunked(&self) -> bool {
        self.chunk_count > 1
    }

    /// The payload byte range carried by packet `index` (0 = first packet).
    pub fn range(&self, payload_len: usize, index: u32) -> std::ops::Range<usize> {
        let start = (index as usize)
            .saturating_mul(self.per_chunk)
            .min(payload_len);
        let end = start.saturating_add(self.per_chunk).min(payload_len);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ChunkHeader {
        ChunkHeader {
            message_id: 0x1234_5678_90AB_CDEF,
            total_message_len: 100_000,
            chunk_index: 3,
            chunk_count: 10,
            chunk_payload_len: 8192,
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(ChunkHeader::decode(&h.encode()), Ok(h));
    }

    #[test]
    fn rejects_each_rule() {
        let good = sample().encode();
        let mut b = good;
        b[0] = 0;
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::BadMagic { .. })
        ));
        let mut b = good;
        put_u16(&mut b, off::VERSION, 9);
        assert_eq!(
            ChunkHeader::decode(&b),
            Err(DecodeError::BadVersion { found: 9 })
        );
        let mut b = good;
        put_u16(&mut b, off::FLAGS, 1);
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::NonZeroReserved { .. })
        ));
        let mut b = good;
        put_u32(&mut b, off::COUNT, 0);
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::InvalidField { .. })
        ));
        let mut b = good;
        put_u32(&mut b, off::INDEX, 10);
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::InvalidField { .. })
        ));
        let mut b = good;
        put_u32(&mut b, off::PAYLOAD_LEN, 0);
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::BadLength { .. })
        ));
        let mut b = good;
        put_u32(&mut b, off::TOTAL_LEN, 0);
        assert!(matches!(
            ChunkHeader::decode(&b),
            Err(DecodeError::BadLength { .. })
        ));
        assert!(matches!(
            ChunkHeader::decode(&good[..20]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn plan_matches_captured_peer() {
        // 1301-byte payload at packet size 128: 14 packets, last carries 53.
        let p = ChunkPlan::new(1301, 128).unwrap();
        assert_eq!(p.chunk_count, 14);
        assert_eq!(p.range(1301, 0), 0..96);
        assert_eq!(p.range(1301, 13), 1248..1301);
        assert_eq!(ChunkPlan::new(96, 128).unwrap().chunk_count, 1);
        assert_eq!(ChunkPlan::new(97, 128).unwrap().chunk_count, 2);
        assert_eq!(ChunkPlan::new(0, 128).unwrap().chunk_count, 1);
        assert_eq!(ChunkPlan::new(10, 32), None);
        assert_eq!(ChunkPlan::new(10, 0), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = ChunkHeader::decode(&b);
        }

        #[test]
        fn plan_covers_payload(len in 0usize..100_000, pkt in 33usize..5000) {
            let p = ChunkPlan::new(len, pkt).unwrap();
            let mut covered = 0;
            for i in 0..p.chunk_count {
                let r = p.range(len, i);
                proptest::prop_assert_eq!(r.start, covered);
                proptest::prop_assert!(r.len() <= pkt - 32);
                if i + 1 < p.chunk_count { proptest::prop_assert_eq!(r.len(), pkt - 32); }
                covered = r.end;
            }
            proptest::prop_assert_eq!(covered, len);
        }
    }
}
