//! The region v3 layout: the 64-byte `#[repr(C)]` header, the capacity
//! arithmetic and the attach-time validation of a header read from a peer.
//!
//! Everything here is pure (no I/O, no `unsafe`), so it is tested directly
//! against the captured `shm_region_header.bin`.

use std::mem::{align_of, offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicU16, AtomicU32, AtomicU64};

use crate::bytes::Reader;
use crate::error::{DecodeError, Error, Result};
use crate::protocol::MAGIC_SHM;

/// Region header magic, "NSHM".
pub const REGION_MAGIC: u32 = MAGIC_SHM;
/// Region layout version.
pub const REGION_VERSION: u16 = 3;
/// Size of the region header in bytes (`header_len` field value).
pub const REGION_HEADER_LEN: usize = 64;
/// Alignment of every offset and capacity in the region.
pub const REGION_ALIGNMENT: usize = 64;

/// The 64-byte region header exactly as it sits in shared memory.
///
/// Every field is an atomic, even the ones the protocol calls
/// "not atomic": the memory is shared with another process that may write
/// any byte at any time, and Rust only allows concurrent mutation through
/// atomics. The static fields are written once by the creator and read
/// with `Relaxed` loads (in practice only by `pread` at attach time); the
/// sequence, length and signal words follow the publication protocol.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct RegionHeader {
    pub magic: AtomicU32,
    pub version: AtomicU16,
    pub header_len: AtomicU16,
    pub owner_pid: AtomicI32,
    pub owner_generation: AtomicU32,
    pub request_offset: AtomicU32,
    pub request_capacity: AtomicU32,
    pub response_offset: AtomicU32,
    pub response_capacity: AtomicU32,
    pub req_seq: AtomicU64,
    pub resp_seq: AtomicU64,
    pub req_len: AtomicU32,
    pub resp_len: AtomicU32,
    pub req_signal: AtomicU32,
    pub resp_signal: AtomicU32,
}

/// Byte offsets of the header fields (the spec table).
pub mod off {
    /// `magic` (u32).
    pub const MAGIC: usize = 0;
    /// `version` (u16).
    pub const VERSION: usize = 4;
    /// `header_len` (u16).
    pub const HEADER_LEN: usize = 6;
    /// `owner_pid` (i32).
    pub const OWNER_PID: usize = 8;
    /// `owner_generation` (u32).
    pub const OWNER_GENERATION: usize = 12;
    /// `request_offset` (u32).
    pub const REQUEST_OFFSET: usize = 16;
    /// `request_capacity` (u32).
    pub const REQUEST_CAPACITY: usize = 20;
    /// `response_offset` (u32).
    pub const RESPONSE_OFFSET: usize = 24;
    /// `response_capacity` (u32).
    pub const RESPONSE_CAPACITY: usize = 28;
    /// `req_seq` (atomic u64).
    pub const REQ_SEQ: usize = 32;
    /// `resp_seq` (atomic u64).
    pub const RESP_SEQ: usize = 40;
    /// `req_len` (atomic u32).
    pub const REQ_LEN: usize = 48;
    /// `resp_len` (atomic u32).
    pub const RESP_LEN: usize = 52;
    /// `req_signal` (atomic u32 futex word).
    pub const REQ_SIGNAL: usize = 56;
    /// `resp_signal` (atomic u32 futex word).
    pub const RESP_SIGNAL: usize = 60;
}

const _: () = {
    assert!(size_of::<RegionHeader>() == REGION_HEADER_LEN);
    assert!(align_of::<RegionHeader>() <= REGION_ALIGNMENT);
    assert!(offset_of!(RegionHeader, magic) == off::MAGIC);
    assert!(offset_of!(RegionHeader, version) == off::VERSION);
    assert!(offset_of!(RegionHeader, header_len) == off::HEADER_LEN);
    assert!(offset_of!(RegionHeader, owner_pid) == off::OWNER_PID);
    assert!(offset_of!(RegionHeader, owner_generation) == off::OWNER_GENERATION);
    assert!(offset_of!(RegionHeader, request_offset) == off::REQUEST_OFFSET);
    assert!(offset_of!(RegionHeader, request_capacity) == off::REQUEST_CAPACITY);
    assert!(offset_of!(RegionHeader, response_offset) == off::RESPONSE_OFFSET);
    assert!(offset_of!(RegionHeader, response_capacity) == off::RESPONSE_CAPACITY);
    assert!(offset_of!(RegionHeader, req_seq) == off::REQ_SEQ);
    assert!(offset_of!(RegionHeader, resp_seq) == off::RESP_SEQ);
    assert!(offset_of!(RegionHeader, req_len) == off::REQ_LEN);
    assert!(offset_of!(RegionHeader, resp_len) == off::RESP_LEN);
    assert!(offset_of!(RegionHeader, req_signal) == off::REQ_SIGNAL);
    assert!(offset_of!(RegionHeader, resp_signal) == off::RESP_SIGNAL);
    // The sequence words must be naturally aligned for 64-bit atomics.
    assert!(align_of::<AtomicU64>() == 8 && off::REQ_SEQ % 8 == 0);
};

/// A plain copy of the 64 header bytes, decoded in host byte order.
///
/// Used to validate a region at attach time and by the stale scan. Holds
/// whatever the bytes said; [`RegionLayout::validate`] decides whether it is
/// usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionInfo {
    /// `magic`.
    pub magic: u32,
    /// `version`.
    pub version: u16,
    /// `header_len`.
    pub header_len: u16,
    /// `owner_pid`.
    pub owner_pid: i32,
    /// `owner_generation` (0 = uninitialised).
    pub owner_generation: u32,
    /// `request_offset`.
    pub request_offset: u32,
    /// `request_capacity`.
    pub request_capacity: u32,
    /// `response_offset`.
    pub response_offset: u32,
    /// `response_capacity`.
    pub response_capacity: u32,
    /// `req_seq` at the time of the copy.
    pub req_seq: u64,
    /// `resp_seq` at the time of the copy.
    pub resp_seq: u64,
    /// `req_len` at the time of the copy.
    pub req_len: u32,
    /// `resp_len` at the time of the copy.
    pub resp_len: u32,
    /// `req_signal` at the time of the copy.
    pub req_signal: u32,
    /// `resp_signal` at the time of the copy.
    pub resp_signal: u32,
}

impl RegionInfo {
    /// Decodes the first 64 bytes of `buf` (no validation of values).
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(buf, "SHM region header");
        r.require(REGION_HEADER_LEN)?;
        Ok(RegionInfo {
            magic: r.u32(off::MAGIC)?,
            version: r.u16(off::VERSION)?,
            header_len: r.u16(off::HEADER_LEN)?,
            owner_pid: i32::from_ne_bytes(r.u32(off::OWNER_PID)?.to_ne_bytes()),
            owner_generation: r.u32(off::OWNER_GENERATION)?,
            request_offset: r.u32(off::REQUEST_OFFSET)?,
            request_capacity: r.u32(off::REQUEST_CAPACITY)?,
            response_offset: r.u32(off::RESPONSE_OFFSET)?,
            response_capacity: r.u32(off::RESPONSE_CAPACITY)?,
            req_seq: r.u64(off::REQ_SEQ)?,
            resp_seq: r.u64(off::RESP_SEQ)?,
            req_len: r.u32(off::REQ_LEN)?,
            resp_len: r.u32(off::RESP_LEN)?,
            req_signal: r.u32(off::REQ_SIGNAL)?,
            resp_signal: r.u32(off::RESP_SIGNAL)?,
        })
    }

    /// Encodes the 64 header bytes (host byte order).
    pub fn encode(&self) -> [u8; REGION_HEADER_LEN] {
        let mut b = [0u8; REGION_HEADER_LEN];
        let mut put = |o: usize, v: &[u8]| b[o..o + v.len()].copy_from_slice(v);
        put(off::MAGIC, &self.magic.to_ne_bytes());
        put(off::VERSION, &self.version.to_ne_bytes());
        put(off::HEADER_LEN, &self.header_len.to_ne_bytes());
        put(off::OWNER_PID, &self.owner_pid.to_ne_bytes());
        put(off::OWNER_GENERATION, &self.owner_generation.to_ne_bytes());
        put(off::REQUEST_OFFSET, &self.request_offset.to_ne_bytes());
        put(off::REQUEST_CAPACITY, &self.request_capacity.to_ne_bytes());
        put(off::RESPONSE_OFFSET, &self.response_offset.to_ne_bytes());
        put(
            off::RESPONSE_CAPACITY,
            &self.response_capacity.to_ne_bytes(),
        );
        put(off::REQ_SEQ, &self.req_seq.to_ne_bytes());
        put(off::RESP_SEQ, &self.resp_seq.to_ne_bytes());
        put(off::REQ_LEN, &self.req_len.to_ne_bytes());
        put(off::RESP_LEN, &self.resp_len.to_ne_bytes());
        put(off::REQ_SIGNAL, &self.req_signal.to_ne_bytes());
        put(off::RESP_SIGNAL, &self.resp_signal.to_ne_bytes());
        b
    }
}

use crate::transport::region_layout::Identity;
pub use crate::transport::region_layout::RegionLayout;

impl RegionLayout {
    /// The layout a server creates for the agreed payload budgets: each
    /// area `align64(32 + budget)`, request area at 64, response area right
    /// after it.
    ///
    /// Fails with `InvalidArgument` if the region would not fit the `u32`
    /// offsets of the header.
    pub fn for_payloads(max_request_payload: u32, max_response_payload: u32) -> Result<Self> {
        Self::after_header(REGION_HEADER_LEN, max_request_payload, max_response_payload)
    }

    /// Bytes that must be mapped to cover the header and both areas.
    pub fn mapped_len(&self) -> u64 {
        self.mapped_len_after(REGION_HEADER_LEN)
    }

    /// Validates a header read from a region file of `file_len` bytes that
    /// must carry at least the agreed payloads, the way a client does at
    /// attach time.
    ///
    /// Returns `ShmNotReady` for an uninitialised header (zero magic or zero
    /// generation: the creator has not finished) and `ShmAttach(rule)` for
    /// every other broken rule.
    pub fn validate(
        info: &RegionInfo,
        file_len: u64,
        max_request_payload: u32,
        max_response_payload: u32,
    ) -> Result<Self> {
        if file_len < REGION_HEADER_LEN as u64 {
            return Err(Error::ShmNotReady);
        }
        Identity {
            magic: (info.magic, REGION_MAGIC),
            version: (info.version.into(), REGION_VERSION.into()),
            header_len: (info.header_len.into(), REGION_HEADER_LEN),
        }
        .check()?;
        if info.owner_generation == 0 {
            return Err(Error::ShmNotReady);
        }
        let l = RegionLayout {
            request_offset: info.request_offset,
            request_capacity: info.request_capacity,
            response_offset: info.response_offset,
            response_capacity: info.response_capacity,
        };
        l.check_past_header(REGION_HEADER_LEN)?;
        l.check_not_empty()?;
        let align = REGION_ALIGNMENT as u32;
        l.check_offsets_aligned(align)?;
        if l.request_capacity % align != 0 || l.response_capacity % align != 0 {
            return Err(Error::ShmAttach("area capacity not a multiple of 64"));
        }
        // Both are multiples of 64, so align64(request end) == request end.
        l.check_placement(l.request_end(), file_len, "area outside the region file")?;
        l.check_room(max_request_payload, max_response_payload)?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &[u8] =
        include_bytes!("../../../../../testdata/conformance/transport/shm_region_header.bin");

    #[test]
    fn captured_header_matches_layout() {
        let info = RegionInfo::parse(CAPTURED).unwrap();
        assert_eq!(info.magic, REGION_MAGIC);
        assert_eq!(info.version, REGION_VERSION);
        assert_eq!(usize::from(info.header_len), REGION_HEADER_LEN);
        assert_ne!(info.owner_generation, 0);
        let ours = RegionLayout::for_payloads(4096, 65536).unwrap();
        assert_eq!(ours.request_offset, 64);
        assert_eq!(ours.request_capacity, 4160);
        assert_eq!(ours.response_offset, 4224);
        assert_eq!(ours.response_capacity, 65600);
        assert_eq!(ours.mapped_len(), 69824);
        assert_eq!(
            RegionLayout::validate(&info, 69824, 4096, 65536).unwrap(),
            ours
        );
        for (seq, word) in [
            (info.req_seq, 0),
            (info.resp_seq, 0),
            (info.req_len.into(), 0),
            (info.resp_len.into(), 0),
            (info.req_signal.into(), 0),
            (info.resp_signal.into(), 0u64),
        ] {
            assert_eq!(seq, word);
        }
        // Round trip through our encoder gives the captured bytes back.
        assert_eq!(&info.encode()[..], CAPTURED);
    }

    fn good() -> RegionInfo {
        RegionInfo {
            magic: REGION_MAGIC,
            version: REGION_VERSION,
            header_len: 64,
            owner_pid: 1,
            owner_generation: 7,
            request_offset: 64,
            request_capacity: 128,
            response_offset: 192,
            response_capacity: 256,
            ..RegionInfo::default()
        }
    }

    #[test]
    fn validation_rules() {
        let file = 448;
        assert!(RegionLayout::validate(&good(), file, 96, 224).is_ok());
        let not_ready = |i: RegionInfo, len| {
            matches!(
                RegionLayout::validate(&i, len, 0, 0),
                Err(Error::ShmNotReady)
            )
        };
        assert!(not_ready(good(), 63));
        assert!(not_ready(RegionInfo { magic: 0, ..good() }, file));
        assert!(not_ready(
            RegionInfo {
                owner_generation: 0,
                ..good()
            },
            file
        ));
        let rule = |i: RegionInfo, len, rq, rs| match RegionLayout::validate(&i, len, rq, rs) {
            Err(Error::ShmAttach(r)) => r,
            other => panic!("expected ShmAttach, got {other:?}"),
        };
        assert_eq!(
            rule(RegionInfo { magic: 1, ..good() }, file, 0, 0),
            "bad region magic"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    version: 2,
                    ..good()
                },
                file,
                0,
                0
            ),
            "unsupported region version"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    header_len: 32,
                    ..good()
                },
                file,
                0,
                0
            ),
            "bad region header_len"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    request_offset: 0,
                    ..good()
                },
                file,
                0,
                0
            ),
            "area offset inside the region header"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    response_capacity: 0,
                    ..good()
                },
                file,
                0,
                0
            ),
            "zero area capacity"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    request_offset: 65,
                    ..good()
                },
                file,
                0,
                0
            ),
            "area offset not 64-byte aligned"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    request_capacity: 100,
                    ..good()
                },
                file,
                0,
                0
            ),
            "area capacity not a multiple of 64"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    response_offset: 128,
                    ..good()
                },
                file,
                0,
                0
            ),
            "response area overlaps the request area"
        );
        assert_eq!(
            rule(good(), file - 64, 0, 0),
            "area outside the region file"
        );
        assert_eq!(
            rule(
                RegionInfo {
                    request_offset: u32::MAX - 63,
                    response_offset: 64,
                    ..good()
                },
                u64::MAX,
                0,
                0
            ),
            "response area overlaps the request area"
        );
        assert_eq!(
            rule(good(), file, 97, 0),
            "request area smaller than the agreed payload"
        );
        assert_eq!(
            rule(good(), file, 96, 225),
            "response area smaller than the agreed payload"
        );
    }

    #[test]
    fn capacity_arithmetic() {
        let l = RegionLayout::for_payloads(0, 1).unwrap();
        assert_eq!((l.request_capacity, l.response_capacity), (64, 64));
        let l = RegionLayout::for_payloads(32, 33).unwrap();
        assert_eq!((l.request_capacity, l.response_capacity), (64, 128));
        assert!(RegionLayout::for_payloads(u32::MAX, 0).is_err());
        assert!(RegionLayout::for_payloads(u32::MAX / 2, u32::MAX / 2).is_err());
        assert!(RegionLayout::for_payloads(1 << 20, 1 << 20).is_ok());
    }

    #[test]
    fn parse_short() {
        assert!(RegionInfo::parse(&CAPTURED[..63]).is_err());
    }
}
