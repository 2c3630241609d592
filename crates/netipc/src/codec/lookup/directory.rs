//! Lookup payload headers and the method-internal item directory.
//!
//! Both lookup methods share the 16-byte request header (layout, flags,
//! item count, two reserved words), the 16-byte response header (layout,
//! flags, item count, `u64` generation) and the directory of 8-byte
//! `(offset, length)` entries that follows either header. Directory offsets
//! are relative to the packed area that starts right after the directory.
//!
//! This is the one implementation of directory validation; the method
//! codecs add their per-key and per-item rules on top.

use crate::bytes::{Reader, Writer};
use crate::error::DecodeError;
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, LAYOUT_VERSION};

use super::{LOOKUP_REQ_HDR_SIZE, LOOKUP_RESP_HDR_SIZE};

/// Byte offset of `flags` in both lookup headers.
const HDR_FLAGS_OFF: usize = 2;
/// Byte offset of `item_count` in both lookup headers.
const HDR_COUNT_OFF: usize = 4;
/// Byte offset of request `reserved0`.
const REQ_RESERVED0_OFF: usize = 8;
/// Byte offset of request `reserved1`.
const REQ_RESERVED1_OFF: usize = 12;
/// Byte offset of the response `generation`.
pub(crate) const RESP_GENERATION_OFF: usize = 8;
/// Byte offset of the `length` word inside a directory entry.
const DIR_LEN_OFF: usize = 4;

/// Reads a `u16` at `off`, or 0 if out of range (never after validation).
#[inline]
pub(crate) fn rd_u16(b: &[u8], off: usize) -> u16 {
    off.checked_add(2)
        .and_then(|end| b.get(off..end))
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, u16::from_ne_bytes)
}

/// Reads a `u32` at `off`, or 0 if out of range (never after validation).
#[inline]
pub(crate) fn rd_u32(b: &[u8], off: usize) -> u32 {
    off.checked_add(4)
        .and_then(|end| b.get(off..end))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_ne_bytes)
}

/// Reads a `u64` at `off`, or 0 if out of range (never after validation).
#[inline]
pub(crate) fn rd_u64(b: &[u8], off: usize) -> u64 {
    off.checked_add(8)
        .and_then(|end| b.get(off..end))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, u64::from_ne_bytes)
}

/// Returns `b[off..off + len]`, or an empty slice if out of range (never
/// after validation).
#[inline]
pub(crate) fn sub(b: &[u8], off: usize, len: usize) -> &[u8] {
    off.checked_add(len)
        .and_then(|end| b.get(off..end))
        .unwrap_or(&[])
}

/// Widens a wire `u32` to `usize` (lossless on every supported target).
#[inline]
pub(crate) fn us(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Narrows a length already proven to be `<= u32::MAX` (saturating).
#[inline]
pub(crate) fn u32_sat(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Narrows a count already proven to be `<= u16::MAX` (saturating).
#[inline]
pub(crate) fn u16_sat(v: usize) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// A validated header + directory of a lookup payload.
///
/// `parse_*` checked that the header is well formed and that the whole
/// directory is present; individual entries are checked by
/// [`Directory::entry_range`] (keys and items have different rules).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Directory<'a> {
    entries: &'a [u8],
    area: &'a [u8],
    count: usize,
}

impl<'a> Directory<'a> {
    /// Parses the 16-byte request header and locates the directory.
    pub(crate) fn parse_request(
        payload: &'a [u8],
        what: &'static str,
    ) -> Result<Self, DecodeError> {
        let r = Reader::new(payload, what);
        r.require(LOOKUP_REQ_HDR_SIZE)?;
        check_layout(r.u16(0)?, what)?;
        if r.u16(HDR_FLAGS_OFF)? != 0 {
            return Err(DecodeError::NonZeroReserved { field: "flags" });
        }
        let count = r.u32(HDR_COUNT_OFF)?;
        if r.u32(REQ_RESERVED0_OFF)? != 0 {
            return Err(DecodeError::NonZeroReserved { field: "reserved0" });
        }
        if r.u32(REQ_RESERVED1_OFF)? != 0 {
            return Err(DecodeError::NonZeroReserved { field: "reserved1" });
        }
        Self::locate(payload, LOOKUP_REQ_HDR_SIZE, count)
    }

    /// Parses the 16-byte response header, locates the directory and
    /// returns it with the generation.
    pub(crate) fn parse_response(
        payload: &'a [u8],
        what: &'static str,
    ) -> Result<(Self, u64), DecodeError> {
        let r = Reader::new(payload, what);
        r.require(LOOKUP_RESP_HDR_SIZE)?;
        check_layout(r.u16(0)?, what)?;
        if r.u16(HDR_FLAGS_OFF)? != 0 {
            return Err(DecodeError::NonZeroReserved { field: "flags" });
        }
        let count = r.u32(HDR_COUNT_OFF)?;
        let generation = r.u64(RESP_GENERATION_OFF)?;
        Ok((
            Self::locate(payload, LOOKUP_RESP_HDR_SIZE, count)?,
            generation,
        ))
    }

    fn locate(payload: &'a [u8], hdr: usize, count: u32) -> Result<Self, DecodeError> {
        const WHAT: &str = "lookup directory";
        let count = us(count);
        let dir_len = count
            .checked_mul(DIR_ENTRY_SIZE)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        let area_start = hdr
            .checked_add(dir_len)
            .ok_or(DecodeError::OutOfBounds { what: WHAT })?;
        Reader::new(payload, WHAT).require(area_start)?;
        let entries = payload.get(hdr..area_start).unwrap_or(&[]);
        let area = payload.get(area_start..).unwrap_or(&[]);
        Ok(Directory {
            entries,
            area,
            count,
        })
    }

    /// Number of directory entries.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Raw `(offset, length)` of entry `i` (0/0 if `i` is out of range).
    #[inline]
    pub(crate) fn raw_entry(&self, i: usize) -> (usize, usize) {
        let Some(base) = i.checked_mul(DIR_ENTRY_SIZE) else {
            return (0, 0);
        };
        let off = us(rd_u32(self.entries, base));
        let len = us(rd_u32(self.entries, base.saturating_add(DIR_LEN_OFF)));
        (off, len)
    }

    /// Checks entry `i`: `ITEM_ALIGN`-aligned offset and a range that does
    /// not overflow and lies inside the packed area. Returns `(off, end)`.
    pub(crate) fn entry_range(
        &self,
        i: usize,
        what: &'static str,
    ) -> Result<(usize, usize), DecodeError> {
        let (off, len) = self.raw_entry(i);
        if off % ITEM_ALIGN != 0 {
            return Err(DecodeError::BadAlignment { what });
        }
        let end = off
            .checked_add(len)
            .ok_or(DecodeError::OutOfBounds { what })?;
        if end > self.area.len() {
            return Err(DecodeError::OutOfBounds { what });
        }
        Ok((off, end))
    }

    /// The packed-area bytes `[off, end)` of a range that
    /// [`entry_range`](Self::entry_range) accepted (empty otherwise).
    #[inline]
    pub(crate) fn range(&self, off: usize, end: usize) -> &'a [u8] {
        self.area.get(off..end).unwrap_or(&[])
    }

    /// The bytes of entry `i` (empty if invalid; never after validation).
    #[inline]
    pub(crate) fn slice(&self, i: usize) -> &'a [u8] {
        let (off, len) = self.raw_entry(i);
        sub(self.area, off, len)
    }

    /// Validates every entry as a response item: aligned, in bounds, in
    /// increasing order without overlap, and at least `min_len` bytes.
    /// `check` then validates each item's own bytes.
    pub(crate) fn validate_items(
        &self,
        min_len: usize,
        what: &'static str,
        mut check: impl FnMut(&'a [u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut prev_end = 0usize;
        for i in 0..self.count {
            let (off, end) = self.entry_range(i, "lookup item range")?;
            if off < prev_end {
                return Err(DecodeError::Overlap {
                    what: "lookup item ranges",
                });
            }
            let len = end - off;
            if len < min_len {
                return Err(DecodeError::Truncated {
                    what,
                    need: min_len,
                    have: len,
                });
            }
            check(self.range(off, end))?;
            prev_end = end;
        }
        Ok(())
    }
}

/// Rejects any layout version but [`LAYOUT_VERSION`].
#[inline]
pub(crate) fn check_layout(found: u16, what: &'static str) -> Result<(), DecodeError> {
    if found == LAYOUT_VERSION {
        Ok(())
    } else {
        Err(DecodeError::BadLayoutVersion { what, found })
    }
}

/// Appends a request header for `count` keys.
pub(crate) fn write_request_header(out: &mut Vec<u8>, count: u32) {
    let at = out.len();
    out.resize(at + LOOKUP_REQ_HDR_SIZE, 0);
    put_request_header(&mut out[at..], count);
}

/// Writes a request header for `count` keys into `hdr`, whose other bytes
/// (flags, reserved) are already zero; a shorter `hdr` is left as is.
pub(crate) fn put_request_header(hdr: &mut [u8], count: u32) {
    if let Some(h) = hdr.get_mut(..8) {
        h[..2].copy_from_slice(&LAYOUT_VERSION.to_ne_bytes());
        h[4..].copy_from_slice(&count.to_ne_bytes());
    }
}

/// Appends a response header.
pub(crate) fn write_response_header(out: &mut Vec<u8>, count: u32, generation: u64) {
    let mut w = Writer::new(out);
    w.u16(LAYOUT_VERSION);
    w.u16(0);
    w.u32(count);
    w.u64(generation);
}

/// Appends zero bytes until `out.len() - base` is a multiple of
/// [`ITEM_ALIGN`].
#[inline]
pub(crate) fn pad_from(out: &mut Vec<u8>, base: usize) {
    let len = out.len();
    let rel = len.saturating_sub(base);
    let pad = rel.next_multiple_of(ITEM_ALIGN) - rel;
    if pad != 0 {
        // One fixed-size store instead of a variable-length fill.
        out.extend_from_slice(&[0u8; ITEM_ALIGN]);
        out.truncate(len + pad);
    }
}

/// Size of the packed area needed for items of the given sizes placed at
/// `ITEM_ALIGN`-aligned offsets (the last one unpadded), or `None` on
/// overflow.
pub(crate) fn packed_len(sizes: impl IntoIterator<Item = usize>) -> Option<usize> {
    let mut end = 0usize;
    for s in sizes {
        end = end.checked_next_multiple_of(ITEM_ALIGN)?.checked_add(s)?;
    }
    Some(end)
}

/// Writes directory entry `i` of a payload starting at `base` whose
/// header is `hdr` bytes long. The entry must already exist (zeroed).
#[inline]
pub(crate) fn patch_entry(
    out: &mut Vec<u8>,
    base: usize,
    hdr: usize,
    i: usize,
    off: usize,
    len: usize,
) {
    let at = base + hdr + i * DIR_ENTRY_SIZE;
    let mut w = Writer::new(out);
    w.patch_u32(at, u32_sat(off));
    w.patch_u32(at + DIR_LEN_OFF, u32_sat(len));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_never_panic() {
        let b = [1u8, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(rd_u16(&b, 0), 1);
        assert_eq!(rd_u16(&b, 7), 0);
        assert_eq!(rd_u32(&b, usize::MAX), 0);
        assert_eq!(rd_u64(&b, 1), 0);
        assert_eq!(rd_u64(&b, 0), 1);
        assert_eq!(sub(&b, 6, 4), &[] as &[u8]);
        assert_eq!(sub(&b, usize::MAX, 2), &[] as &[u8]);
        assert_eq!(u32_sat(usize::MAX), u32::MAX);
        assert_eq!(u16_sat(70_000), u16::MAX);
    }

    #[test]
    fn packed_len_rules() {
        assert_eq!(packed_len([]), Some(0));
        assert_eq!(packed_len([17]), Some(17));
        assert_eq!(packed_len([17, 31]), Some(55));
        assert_eq!(packed_len([16, 1]), Some(17));
        assert_eq!(packed_len([usize::MAX - 3, 1]), None);
    }

    #[test]
    fn pad_relative_to_base() {
        let mut v = vec![0xAA; 3];
        v.push(1);
        pad_from(&mut v, 3);
        assert_eq!(v.len(), 3 + 8);
        pad_from(&mut v, 3);
        assert_eq!(v.len(), 3 + 8);
    }
}
