//! The Win SHM region v3 layout: the 128-byte `#[repr(C)]` header, the
//! area arithmetic and the attach-time validation of a header copied out
//! of a mapping the peer controls.
//!
//! Pure (no I/O, no `unsafe`): tested directly.

use std::mem::{align_of, offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, AtomicU64};

use crate::bytes::{Reader, align64};
use crate::error::{DecodeError, Error, Result};

/// Region header magic, "NSWH".
pub const REGION_MAGIC: u32 = 0x4e53_5748;
/// Region layout version.
pub const REGION_VERSION: u32 = 3;
/// Size of the region header in bytes (`header_len` field value).
pub const REGION_HEADER_LEN: usize = 128;
/// Alignment of both area offsets (one cache line).
pub const REGION_ALIGNMENT: usize = 64;
/// The largest `spin_tries` a client takes from a region header; a larger
/// value is clamped so that a hostile header cannot make a waiter spin
/// for seconds between deadline checks.
pub const MAX_SPIN_TRIES: u32 = 1 << 20;

/// The 128-byte region header exactly as it sits in the mapping.
///
/// Every field is an atomic: the memory is shared with another process
/// that may write any byte at any time, and Rust only allows concurrent
/// mutation through atomics. The static fields are written once by the
/// creator and copied out once by the client at attach time; the length,
/// flag and sequence words follow the publication protocol.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct RegionHeader {
    pub magic: AtomicU32,
    pub version: AtomicU32,
    pub header_len: AtomicU32,
    pub profile: AtomicU32,
    pub request_offset: AtomicU32,
    pub request_capacity: AtomicU32,
    pub response_offset: AtomicU32,
    pub response_capacity: AtomicU32,
    pub spin_tries: AtomicU32,
    pub req_len: AtomicI32,
    pub resp_len: AtomicI32,
    pub req_client_closed: AtomicI32,
    pub req_server_waiting: AtomicI32,
    pub resp_server_closed: AtomicI32,
    pub resp_client_waiting: AtomicI32,
    pub padding: AtomicU32,
    pub req_seq: AtomicI64,
    pub resp_seq: AtomicI64,
    pub reserved: [AtomicU64; 6],
}

/// Byte offsets of the header fields (the spec table).
pub mod off {
    /// `magic` (u32).
    pub const MAGIC: usize = 0;
    /// `version` (u32).
    pub const VERSION: usize = 4;
    /// `header_len` (u32).
    pub const HEADER_LEN: usize = 8;
    /// `profile` (u32).
    pub const PROFILE: usize = 12;
    /// `request_offset` (u32).
    pub const REQUEST_OFFSET: usize = 16;
    /// `request_capacity` (u32).
    pub const REQUEST_CAPACITY: usize = 20;
    /// `response_offset` (u32).
    pub const RESPONSE_OFFSET: usize = 24;
    /// `response_capacity` (u32).
    pub const RESPONSE_CAPACITY: usize = 28;
    /// `spin_tries` (u32).
    pub const SPIN_TRIES: usize = 32;
    /// `req_len` (LONG).
    pub const REQ_LEN: usize = 36;
    /// `resp_len` (LONG).
    pub const RESP_LEN: usize = 40;
    /// `req_client_closed` (LONG).
    pub const REQ_CLIENT_CLOSED: usize = 44;
    /// `req_server_waiting` (LONG).
    pub const REQ_SERVER_WAITING: usize = 48;
    /// `resp_server_closed` (LONG).
    pub const RESP_SERVER_CLOSED: usize = 52;
    /// `resp_client_waiting` (LONG).
    pub const RESP_CLIENT_WAITING: usize = 56;
    /// Padding (u32).
    pub const PADDING: usize = 60;
    /// `req_seq` (LONG64).
    pub const REQ_SEQ: usize = 64;
    /// `resp_seq` (LONG64).
    pub const RESP_SEQ: usize = 72;
    /// Reserved bytes up to the end of the header.
    pub const RESERVED: usize = 80;
}

const _: () = {
    assert!(size_of::<RegionHeader>() == REGION_HEADER_LEN);
    assert!(align_of::<RegionHeader>() <= REGION_ALIGNMENT);
    assert!(offset_of!(RegionHeader, magic) == off::MAGIC);
    assert!(offset_of!(RegionHeader, version) == off::VERSION);
    assert!(offset_of!(RegionHeader, header_len) == off::HEADER_LEN);
    assert!(offset_of!(RegionHeader, profile) == off::PROFILE);
    assert!(offset_of!(RegionHeader, request_offset) == off::REQUEST_OFFSET);
    assert!(offset_of!(RegionHeader, request_capacity) == off::REQUEST_CAPACITY);
    assert!(offset_of!(RegionHeader, response_offset) == off::RESPONSE_OFFSET);
    assert!(offset_of!(RegionHeader, response_capacity) == off::RESPONSE_CAPACITY);
    assert!(offset_of!(RegionHeader, spin_tries) == off::SPIN_TRIES);
    assert!(offset_of!(RegionHeader, req_len) == off::REQ_LEN);
    assert!(offset_of!(RegionHeader, resp_len) == off::RESP_LEN);
    assert!(offset_of!(RegionHeader, req_client_closed) == off::REQ_CLIENT_CLOSED);
    assert!(offset_of!(RegionHeader, req_server_waiting) == off::REQ_SERVER_WAITING);
    assert!(offset_of!(RegionHeader, resp_server_closed) == off::RESP_SERVER_CLOSED);
    assert!(offset_of!(RegionHeader, resp_client_waiting) == off::RESP_CLIENT_WAITING);
    assert!(offset_of!(RegionHeader, padding) == off::PADDING);
    assert!(offset_of!(RegionHeader, req_seq) == off::REQ_SEQ);
    assert!(offset_of!(RegionHeader, resp_seq) == off::RESP_SEQ);
    assert!(offset_of!(RegionHeader, reserved) == off::RESERVED);
    // The sequence words must be naturally aligned for 64-bit atomics.
    assert!(off::REQ_SEQ % 8 == 0 && off::RESP_SEQ % 8 == 0);
};

/// A plain copy of the static header fields (and the sequence words at the
/// time of the copy), decoded in host byte order. Holds whatever the bytes
/// said; [`RegionLayout::validate`] decides whether it is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionInfo {
    /// `magic`.
    pub magic: u32,
    /// `version`.
    pub version: u32,
    /// `header_len`.
    pub header_len: u32,
    /// `profile`.
    pub profile: u32,
    /// `request_offset`.
    pub request_offset: u32,
    /// `request_capacity`.
    pub request_capacity: u32,
    /// `response_offset`.
    pub response_offset: u32,
    /// `response_capacity`.
    pub response_capacity: u32,
    /// `spin_tries`.
    pub spin_tries: u32,
    /// `req_seq` at the time of the copy.
    pub req_seq: i64,
    /// `resp_seq` at the time of the copy.
    pub resp_seq: i64,
}

impl RegionInfo {
    /// Decodes the first 128 bytes of `buf` (no validation of values).
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(buf, "Win SHM region header");
        r.require(REGION_HEADER_LEN)?;
        let i64_at = |o| r.u64(o).map(|v| i64::from_ne_bytes(v.to_ne_bytes()));
        Ok(RegionInfo {
            magic: r.u32(off::MAGIC)?,
            version: r.u32(off::VERSION)?,
            header_len: r.u32(off::HEADER_LEN)?,
            profile: r.u32(off::PROFILE)?,
            request_offset: r.u32(off::REQUEST_OFFSET)?,
            request_capacity: r.u32(off::REQUEST_CAPACITY)?,
            response_offset: r.u32(off::RESPONSE_OFFSET)?,
            response_capacity: r.u32(off::RESPONSE_CAPACITY)?,
            spin_tries: r.u32(off::SPIN_TRIES)?,
            req_seq: i64_at(off::REQ_SEQ)?,
            resp_seq: i64_at(off::RESP_SEQ)?,
        })
    }

    /// Encodes a header with these values; every other word is zero.
    pub fn encode(&self) -> [u8; REGION_HEADER_LEN] {
        let mut b = [0u8; REGION_HEADER_LEN];
        let mut put = |o: usize, v: &[u8]| b[o..o + v.len()].copy_from_slice(v);
        put(off::MAGIC, &self.magic.to_ne_bytes());
        put(off::VERSION, &self.version.to_ne_bytes());
        put(off::HEADER_LEN, &self.header_len.to_ne_bytes());
        put(off::PROFILE, &self.profile.to_ne_bytes());
        put(off::REQUEST_OFFSET, &self.request_offset.to_ne_bytes());
        put(off::REQUEST_CAPACITY, &self.request_capacity.to_ne_bytes());
        put(off::RESPONSE_OFFSET, &self.response_offset.to_ne_bytes());
        put(
            off::RESPONSE_CAPACITY,
            &self.response_capacity.to_ne_bytes(),
        );
        put(off::SPIN_TRIES, &self.spin_tries.to_ne_bytes());
        put(off::REQ_SEQ, &self.req_seq.to_ne_bytes());
        put(off::RESP_SEQ, &self.resp_seq.to_ne_bytes());
        b
    }
}

use crate::transport::region_layout::Identity;
pub use crate::transport::region_layout::RegionLayout;

impl RegionLayout {
    /// The layout a server creates for the agreed payload budgets: each
    /// area `align64(32 + budget)` (one whole message, envelope included),
    /// request area right after the header, response area right after it.
    ///
    /// Fails with `InvalidArgument` if the region would not fit `u32`
    /// offsets.
    pub fn for_payloads(max_request_payload: u32, max_response_payload: u32) -> Result<Self> {
        Self::after_header(REGION_HEADER_LEN, max_request_payload, max_response_payload)
    }

    /// Bytes the mapping must have to cover the header and both areas.
    pub fn mapped_len(&self) -> u64 {
        self.mapped_len_after(REGION_HEADER_LEN)
    }

    /// Validates a header copied out of a mapping of `mapping_len`
    /// accessible bytes, the way a client does at attach time: magic,
    /// version, header_len, the negotiated `profile`, 64-byte aligned
    /// offsets past the header, non-zero capacities, non-overlapping areas
    /// inside the mapping, each large enough for one whole message of the
    /// agreed payload budget.
    ///
    /// Returns `ShmNotReady` for an all-zero magic (the creator has not
    /// written the header yet) and `ShmAttach(rule)` for every other
    /// broken rule.
    pub fn validate(
        info: &RegionInfo,
        mapping_len: u64,
        profile: u32,
        max_request_payload: u32,
        max_response_payload: u32,
    ) -> Result<Self> {
        if mapping_len < REGION_HEADER_LEN as u64 {
            return Err(Error::ShmAttach("mapping shorter than the region header"));
        }
        Identity {
            magic: (info.magic, REGION_MAGIC),
            version: (info.version, REGION_VERSION),
            header_len: (info.header_len as usize, REGION_HEADER_LEN),
        }
        .check()?;
        if info.profile != profile {
            return Err(Error::ShmAttach(
                "region profile differs from the negotiated one",
            ));
        }
        let l = RegionLayout {
            request_offset: info.request_offset,
            request_capacity: info.request_capacity,
            response_offset: info.response_offset,
            response_capacity: info.response_capacity,
        };
        l.check_past_header(REGION_HEADER_LEN)?;
        l.check_offsets_aligned(REGION_ALIGNMENT as u32)?;
        l.check_not_empty()?;
        let req_end_aligned = align64(l.request_end() as usize).map_or(u64::MAX, |v| v as u64);
        l.check_placement(req_end_aligned, mapping_len, "area outside the mapping")?;
        l.check_room(max_request_payload, max_response_payload)?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};

    #[test]
    fn header_is_128_bytes_with_the_spec_offsets() {
        assert_eq!(size_of::<RegionHeader>(), 128);
        assert_eq!(off::SPIN_TRIES, 32);
        assert_eq!(off::REQ_LEN, 36);
        assert_eq!(off::RESP_LEN, 40);
        assert_eq!(off::REQ_CLIENT_CLOSED, 44);
        assert_eq!(off::REQ_SERVER_WAITING, 48);
        assert_eq!(off::RESP_SERVER_CLOSED, 52);
        assert_eq!(off::RESP_CLIENT_WAITING, 56);
        assert_eq!(off::REQ_SEQ, 64);
        assert_eq!(off::RESP_SEQ, 72);
        assert_eq!(REGION_MAGIC.to_be_bytes(), *b"NSWH");
    }

    #[test]
    fn encode_parse_round_trip() {
        let i = good();
        let b = i.encode();
        assert_eq!(&b[..4], &REGION_MAGIC.to_ne_bytes());
        assert_eq!(RegionInfo::parse(&b).unwrap(), i);
        assert!(RegionInfo::parse(&b[..127]).is_err());
    }

    fn good() -> RegionInfo {
        RegionInfo {
            magic: REGION_MAGIC,
            version: REGION_VERSION,
            header_len: 128,
            profile: PROFILE_SHM_HYBRID,
            request_offset: 128,
            request_capacity: 128,
            response_offset: 256,
            response_capacity: 256,
            spin_tries: 5,
            req_seq: 3,
            resp_seq: -4,
        }
    }

    #[test]
    fn validation_rules() {
        let map = 512;
        let h = PROFILE_SHM_HYBRID;
        assert!(RegionLayout::validate(&good(), map, h, 96, 224).is_ok());
        assert!(matches!(
            RegionLayout::validate(&RegionInfo { magic: 0, ..good() }, map, h, 0, 0),
            Err(Error::ShmNotReady)
        ));
        let rule = |i: RegionInfo, len, rq, rs| match RegionLayout::validate(&i, len, h, rq, rs) {
            Err(Error::ShmAttach(r)) => r,
            other => panic!("expected ShmAttach, got {other:?}"),
        };
        assert_eq!(
            rule(good(), 127, 0, 0),
            "mapping shorter than the region header"
        );
        assert_eq!(
            rule(RegionInfo { magic: 1, ..good() }, map, 0, 0),
            "bad region magic"
        );
        let v2 = RegionInfo {
            version: 2,
            ..good()
        };
        assert_eq!(rule(v2, map, 0, 0), "unsupported region version");
        let h64 = RegionInfo {
            header_len: 64,
            ..good()
        };
        assert_eq!(rule(h64, map, 0, 0), "bad region header_len");
        let busy = RegionInfo {
            profile: PROFILE_SHM_BUSYWAIT,
            ..good()
        };
        assert_eq!(
            rule(busy, map, 0, 0),
            "region profile differs from the negotiated one"
        );
        let inside = RegionInfo {
            request_offset: 64,
            ..good()
        };
        assert_eq!(
            rule(inside, map, 0, 0),
            "area offset inside the region header"
        );
        let odd = RegionInfo {
            response_offset: 260,
            ..good()
        };
        assert_eq!(rule(odd, map, 0, 0), "area offset not 64-byte aligned");
        let zero = RegionInfo {
            request_capacity: 0,
            ..good()
        };
        assert_eq!(rule(zero, map, 0, 0), "zero area capacity");
        let overlap = RegionInfo {
            response_offset: 192,
            ..good()
        };
        assert_eq!(
            rule(overlap, map, 0, 0),
            "response area overlaps the request area"
        );
        // An unaligned request capacity still may not share the response
        // area's first cache line.
        let ragged = RegionInfo {
            request_capacity: 129,
            ..good()
        };
        assert_eq!(
            rule(ragged, map, 0, 0),
            "response area overlaps the request area"
        );
        let wrap = RegionInfo {
            request_offset: u32::MAX - 63,
            response_offset: 128,
            ..good()
        };
        assert_eq!(
            rule(wrap, u64::MAX, 0, 0),
            "response area overlaps the request area"
        );
        assert_eq!(rule(good(), map - 1, 0, 0), "area outside the mapping");
        assert_eq!(
            rule(good(), map, 97, 0),
            "request area smaller than the agreed payload"
        );
        assert_eq!(
            rule(good(), map, 96, 225),
            "response area smaller than the agreed payload"
        );
    }

    #[test]
    fn capacity_arithmetic() {
        let l = RegionLayout::for_payloads(4096, 65536).unwrap();
        assert_eq!(l.request_offset, 128);
        assert_eq!(l.request_capacity, 4160);
        assert_eq!(l.response_offset, 4288);
        assert_eq!(l.response_capacity, 65600);
        assert_eq!(l.mapped_len(), 69888);
        let info = RegionInfo {
            request_offset: l.request_offset,
            request_capacity: l.request_capacity,
            response_offset: l.response_offset,
            response_capacity: l.response_capacity,
            ..good()
        };
        let v = RegionLayout::validate(&info, l.mapped_len(), PROFILE_SHM_HYBRID, 4096, 65536);
        assert_eq!(v.unwrap(), l);
        let l = RegionLayout::for_payloads(0, 33).unwrap();
        assert_eq!((l.request_capacity, l.response_capacity), (64, 128));
        assert!(RegionLayout::for_payloads(u32::MAX, 0).is_err());
        assert!(RegionLayout::for_payloads(u32::MAX / 2, u32::MAX / 2).is_err());
    }
}
