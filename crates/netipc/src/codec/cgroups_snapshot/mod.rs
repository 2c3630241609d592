//! CGROUPS_SNAPSHOT (method code
//! [`METHOD_CGROUPS_SNAPSHOT`](crate::protocol::METHOD_CGROUPS_SNAPSHOT)):
//! the full cgroups snapshot served by `cgroups.plugin`.
//!
//! Request payload ([`SNAPSHOT_REQ_SIZE`] bytes): `u16 layout_version`,
//! `u16 flags` (must be 0).
//!
//! Response payload:
//!
//! ```text
//! [24-byte snapshot header]
//! [item_count x (u32 offset, u32 length)]   item directory
//! [packed item area]                         items, each 8-byte aligned
//! ```
//!
//! Directory offsets are relative to the start of the packed item area.
//! Each item is a 32-byte header followed by `name\0path\0`; string offsets
//! are relative to the item start. Padding goes only *between* items: the
//! payload ends right after the last item's path NUL (it is not rounded up).
//!
//! Item identity is `hash + name` where the producer computes
//! [`simple_hash`]`(name)`. Names and paths are length-delimited bytes on the
//! wire; this codec neither requires UTF-8 nor rejects interior NULs (the
//! spec does not), so every decodable snapshot re-encodes to the same bytes.

use crate::bytes::{Reader, put_u16};
use crate::error::DecodeError;
use crate::protocol::LAYOUT_VERSION;

mod builder;
mod layout;
mod owned;
mod view;

#[cfg(test)]
mod tests;

pub use builder::CgroupsSnapshotBuilder;
pub use owned::{CgroupItem, CgroupsSnapshot, encode_snapshot};
pub use view::{CgroupItemIter, CgroupItemView, CgroupsSnapshotView, decode_snapshot};

/// Size of the CGROUPS_SNAPSHOT request payload.
pub const SNAPSHOT_REQ_SIZE: usize = 4;
/// Size of the fixed snapshot response header.
pub const SNAPSHOT_RESP_HDR_SIZE: usize = 24;
/// Size of the fixed per-item header; also the first valid string offset.
pub const SNAPSHOT_ITEM_HDR_SIZE: usize = 32;
/// Smallest possible encoded item: header plus two empty strings' NULs.
pub const SNAPSHOT_ITEM_MIN_SIZE: usize = SNAPSHOT_ITEM_HDR_SIZE + 2;

/// Largest payload the builders will produce: the envelope's `payload_len`
/// is a `u32`.
const MAX_ENCODED_PAYLOAD: usize = u32::MAX as usize;
/// Initial number of directory slots the builder reserves when it grows.
const MIN_DIR_SLOTS: usize = 16;

// Field offsets of the snapshot header.
const HDR_LAYOUT: usize = 0;
const HDR_FLAGS: usize = 2;
const HDR_ITEM_COUNT: usize = 4;
const HDR_SYSTEMD: usize = 8;
const HDR_RESERVED: usize = 12;
const HDR_GENERATION: usize = 16;

// Field offsets of an item header.
const ITEM_LAYOUT: usize = 0;
const ITEM_FLAGS: usize = 2;
const ITEM_HASH: usize = 4;
const ITEM_OPTIONS: usize = 8;
const ITEM_ENABLED: usize = 12;
const ITEM_NAME_OFF: usize = 16;
const ITEM_NAME_LEN: usize = 20;
const ITEM_PATH_OFF: usize = 24;
const ITEM_PATH_LEN: usize = 28;

// 32-bit FNV-1 parameters of Netdata's `simple_hash`.
const FNV1_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV1_PRIME: u32 = 16_777_619;

/// Netdata's `simple_hash`: 32-bit FNV-1 over the bytes of `name`.
///
/// Starts at `0x811c9dc5`; for each byte, multiplies by `16777619`
/// (wrapping) and then XORs the byte. Producers put this in each item's
/// `hash`; consumers compare it opaquely and never recompute it.
#[inline]
pub fn simple_hash(name: &[u8]) -> u32 {
    name.iter().fold(FNV1_OFFSET_BASIS, |h, &b| {
        h.wrapping_mul(FNV1_PRIME) ^ u32::from(b)
    })
}

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

/// The CGROUPS_SNAPSHOT request (4 bytes, no variable fields).
///
/// The request borrows nothing, so the decoded form is this plain value.
/// [`Default`] gives the only valid request: layout version 1, flags 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupsSnapshotRequest {
    /// Payload schema version; [`LAYOUT_VERSION`].
    pub layout_version: u16,
    /// Reserved, must be 0.
    pub flags: u16,
}

impl Default for CgroupsSnapshotRequest {
    fn default() -> Self {
        CgroupsSnapshotRequest {
            layout_version: LAYOUT_VERSION,
            flags: 0,
        }
    }
}

impl CgroupsSnapshotRequest {
    /// The request as its 4 payload bytes.
    #[inline]
    pub fn to_bytes(&self) -> [u8; SNAPSHOT_REQ_SIZE] {
        let mut b = [0u8; SNAPSHOT_REQ_SIZE];
        put_u16(&mut b, HDR_LAYOUT, self.layout_version);
        put_u16(&mut b, HDR_FLAGS, self.flags);
        b
    }

    /// Appends the 4 request bytes to `out`, keeping its contents.
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Decodes and validates a request payload.
    ///
    /// Bytes after the first 4 are ignored (the spec only requires
    /// `len >= 4`).
    ///
    /// # Errors
    ///
    /// - [`DecodeError::Truncated`] if shorter than 4 bytes;
    /// - [`DecodeError::BadLayoutVersion`] if `layout_version` is not 1;
    /// - [`DecodeError::NonZeroReserved`] if `flags` is not 0.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(payload, "CGROUPS_SNAPSHOT request");
        r.require(SNAPSHOT_REQ_SIZE)?;
        let layout_version = r.u16(HDR_LAYOUT)?;
        if layout_version != LAYOUT_VERSION {
            return Err(DecodeError::BadLayoutVersion {
                what: "CGROUPS_SNAPSHOT request",
                found: layout_version,
            });
        }
        if r.u16(HDR_FLAGS)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "CGROUPS_SNAPSHOT request flags",
            });
        }
        Ok(CgroupsSnapshotRequest {
            layout_version,
            flags: 0,
        })
    }
}

/// Appends the standard CGROUPS_SNAPSHOT request (layout 1, flags 0) to `out`.
#[inline]
pub fn encode_snapshot_request(out: &mut Vec<u8>) {
    CgroupsSnapshotRequest::default().encode(out);
}

/// Decodes a request payload; shorthand for [`CgroupsSnapshotRequest::decode`].
#[inline]
pub fn decode_snapshot_request(payload: &[u8]) -> Result<CgroupsSnapshotRequest, DecodeError> {
    CgroupsSnapshotRequest::decode(payload)
}
