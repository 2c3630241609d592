//! The Level 1 batch payload: an item directory followed by packed,
//! 8-byte aligned items. Items are opaque bytes here; their meaning
//! belongs to the method codec.
//!
//! A batch payload is zero-padded to a multiple of 8 after the last item.

use crate::bytes::{Reader, align8, to_u32};
use crate::error::{DecodeError, Error};
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN};

/// Appends one batch payload to a caller-owned buffer.
///
/// The item count is fixed up front so the directory can be reserved in
/// place and items written directly after it, without copying.
#[derive(Debug)]
pub struct BatchBuilder<'a> {
    buf: &'a mut Vec<u8>,
    base: usize,
    count: u32,
    added: u32,
}

impl<'a> BatchBuilder<'a> {
    /// Starts a batch of exactly `count` items at the end of `buf`.
    pub fn new(buf: &'a mut Vec<u8>, count: u32) -> Self {
        let base = buf.len();
        let dir = count as usize * DIR_ENTRY_SIZE;
        buf.resize(base + dir, 0);
        BatchBuilder {
            buf,
            base,
            count,
            added: 0,
        }
    }

    /// The byte offset where packed items start.
    fn area_start(&self) -> usize {
        self.base + self.count as usize * DIR_ENTRY_SIZE
    }

    /// Appends one item by copying `item`.
    pub fn add(&mut self, item: &[u8]) -> Result<(), Error> {
        self.add_with(|buf| {
            buf.extend_from_slice(item);
            Ok(())
        })
    }

    /// Appends one item written in place by `write`, which must only append
    /// to the buffer it is given.
    pub fn add_with<F>(&mut self, write: F) -> Result<(), Error>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    {
        if self.added >= self.count {
            return Err(Error::InvalidArgument("batch already holds its item count"));
        }
        let pad_to = self.buf.len().next_multiple_of(ITEM_ALIGN);
        self.buf.resize(pad_to, 0);
        let start = self.buf.len();
        if let Err(e) = write(self.buf) {
            self.buf.truncate(start);
            return Err(e);
        }
        let len = self.buf.len() - start;
        let offset = start - self.area_start();
        let entry = self.base + self.added as usize * DIR_ENTRY_SIZE;
        let off32 = to_u32(offset, "batch item offset")?;
        let len32 = to_u32(len, "batch item length")?;
        self.buf[entry..entry + 4].copy_from_slice(&off32.to_ne_bytes());
        self.buf[entry + 4..entry + 8].copy_from_slice(&len32.to_ne_bytes());
        self.added += 1;
        Ok(())
    }

    /// Appends a whole batch of `count` items of `item_size` bytes each,
    /// laid out exactly as `count` calls of [`add`](Self::add) with items
    /// of that size and [`finish`](Self::finish) lay it out (the directory,
    /// then each item at a multiple of 8, zero padded), with every item
    /// zeroed for the caller to fill in place. Returns the index in `buf`
    /// where the packed area starts: item `i` is at
    /// `area + i * align8(item_size)`.
    ///
    /// Fails with `InvalidArgument` if an offset or the size does not fit
    /// the directory's `u32` fields (`buf` is then unchanged).
    pub fn append_uniform(buf: &mut Vec<u8>, count: u32, item_size: usize) -> Result<usize, Error> {
        let too_large = || Error::InvalidArgument("batch item too large");
        let item_len = u32::try_from(item_size).map_err(|_| too_large())?;
        let stride = align8(item_size).ok_or_else(too_large)?;
        let last_off = stride
            .checked_mul(count.saturating_sub(1) as usize)
            .filter(|&o| o <= u32::MAX as usize)
            .ok_or_else(too_large)?;
        let dir = count as usize * DIR_ENTRY_SIZE;
        let total = stride
            .checked_mul(count as usize)
            .and_then(|a| a.checked_add(dir))
            .and_then(|t| t.checked_add(buf.len()))
            .ok_or_else(too_large)?;
        let base = buf.len();
        buf.resize(total, 0);
        let area = base + dir;
        let mut off = 0usize;
        for e in buf[base..area].chunks_exact_mut(DIR_ENTRY_SIZE) {
            // `off <= last_off <= u32::MAX`.
            e[..4].copy_from_slice(&(off as u32).to_ne_bytes());
            e[4..].copy_from_slice(&item_len.to_ne_bytes());
            off += stride;
        }
        debug_assert!(count == 0 || off - stride == last_off);
        Ok(area)
    }

    /// Pads the batch to a multiple of 8 and returns its payload length.
    ///
    /// Fails if fewer items than announced were added.
    pub fn finish(self) -> Result<usize, Error> {
        if self.added != self.count {
            return Err(Error::InvalidArgument(
                "batch has fewer items than announced",
            ));
        }
        let end = self.buf.len().next_multiple_of(ITEM_ALIGN);
        self.buf.resize(end, 0);
        Ok(end - self.base)
    }
}

/// A validated batch payload: zero-copy access to its items.
///
/// Borrowed and ephemeral: it points into the payload buffer and is valid
/// only while that buffer is alive and unchanged. Copy items out if they
/// are needed later.
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    payload: &'a [u8],
    count: u32,
}

impl<'a> BatchView<'a> {
    /// Validates the directory of a batch payload holding `item_count`
    /// items: the directory fits, every offset is 8-byte aligned, and every
    /// item lies inside the packed area (checked arithmetic).
    pub fn decode(payload: &'a [u8], item_count: u32) -> Result<BatchView<'a>, DecodeError> {
        let r = Reader::new(payload, "batch directory");
        let dir_len =
            (item_count as usize)
                .checked_mul(DIR_ENTRY_SIZE)
                .ok_or(DecodeError::BadItemCount {
                    what: "batch directory size overflows",
                })?;
        r.require(dir_len)?;
        let area_start = align8(dir_len).ok_or(DecodeError::OutOfBounds {
            what: "batch packed area",
        })?;
        let area_len = payload
            .len()
            .checked_sub(area_start)
            .ok_or(DecodeError::OutOfBounds {
                what: "batch packed area",
            })?;
        for i in 0..item_count as usize {
            let (off, len) = Self::entry(&r, i)?;
            if off % ITEM_ALIGN != 0 {
                return Err(DecodeError::BadAlignment {
                    what: "batch item offset",
                });
            }
            let end = off
                .checked_add(len)
                .ok_or(DecodeError::OutOfBounds { what: "batch item" })?;
            if end > area_len {
                return Err(DecodeError::OutOfBounds { what: "batch item" });
            }
        }
        Ok(BatchView {
            payload,
            count: item_count,
        })
    }

    fn entry(r: &Reader<'_>, i: usize) -> Result<(usize, usize), DecodeError> {
        let at = i * DIR_ENTRY_SIZE;
        Ok((r.u32(at)? as usize, r.u32(at + 4)? as usize))
    }

    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch has no items.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The directory entry of item `index`: `(offset, length)`, the offset
    /// relative to the start of the packed item area; `None` if out of
    /// range.
    pub fn dir_entry(&self, index: usize) -> Option<(u32, u32)> {
        if index >= self.len() {
            return None;
        }
        let r = Reader::new(self.payload, "batch directory");
        let at = index * DIR_ENTRY_SIZE;
        Some((r.u32(at).ok()?, r.u32(at + 4).ok()?))
    }

    /// The bytes of item `index`, or `None` if out of range.
    pub fn item(&self, index: usize) -> Option<&'a [u8]> {
        if index >= self.len() {
            return None;
        }
        let r = Reader::new(self.payload, "batch directory");
        // Validated in `decode`; these lookups cannot fail.
        let (off, len) = Self::entry(&r, index).ok()?;
        let start = self.count as usize * DIR_ENTRY_SIZE + off;
        self.payload.get(start..start + len)
    }

    /// The directory (`len() * 8` bytes of `(offset, length)` pairs of
    /// native-endian `u32`) and the packed item area the offsets are
    /// relative to. Every entry was validated by [`decode`](Self::decode):
    /// aligned, and its range inside the area.
    #[inline]
    pub fn parts(&self) -> (&'a [u8], &'a [u8]) {
        let dir = self.len() * DIR_ENTRY_SIZE;
        // `decode` checked the directory and the area start are in bounds.
        let area = self.payload.get(dir..).unwrap_or(&[]);
        (self.payload.get(..dir).unwrap_or(&[]), area)
    }

    /// Iterates over the items in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (dir, area) = self.parts();
        // Validated in `decode`: every entry names an item in bounds.
        dir.chunks_exact(DIR_ENTRY_SIZE)
            .filter_map(move |e| entry_item(e, area))
    }
}

/// The item a directory entry (`(offset, length)`, native-endian `u32`s,
/// [`DIR_ENTRY_SIZE`] bytes) names in the packed `area`, or `None` if the
/// entry is not 8 bytes long or the item not inside `area`.
#[inline]
pub(crate) fn entry_item<'a>(entry: &[u8], area: &'a [u8]) -> Option<&'a [u8]> {
    let e: &[u8; DIR_ENTRY_SIZE] = entry.try_into().ok()?;
    let off = u32::from_ne_bytes([e[0], e[1], e[2], e[3]]) as usize;
    let len = u32::from_ne_bytes([e[4], e[5], e[6], e[7]]) as usize;
    area.get(off..off.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut b = BatchBuilder::new(&mut v, items.len() as u32);
        for it in items {
            b.add(it).unwrap();
        }
        let n = b.finish().unwrap();
        assert_eq!(n, v.len());
        v
    }

    #[test]
    fn round_trip_and_padding() {
        let items: [&[u8]; 3] = [b"a", b"0123456789", b""];
        let v = build(&items);
        assert_eq!(v.len() % 8, 0);
        let view = BatchView::decode(&v, 3).unwrap();
        let got: Vec<&[u8]> = view.iter().collect();
        assert_eq!(got, items);
        assert_eq!(view.item(3), None);
        assert_eq!(view.dir_entry(0), Some((0, 1)));
        assert_eq!(view.dir_entry(1), Some((8, 10)));
        assert_eq!(view.dir_entry(2), Some((24, 0)));
        assert_eq!(view.dir_entry(3), None);
    }

    #[test]
    fn uniform_batch_is_the_builders_layout() {
        for size in [0usize, 1, 7, 8, 9, 16, 23] {
            for count in [0u32, 1, 2, 3, 17] {
                let item: Vec<u8> = (0..size).map(|i| i as u8 + 1).collect();
                let items: Vec<&[u8]> = (0..count).map(|_| &item[..]).collect();
                let mut want = vec![0xAB];
                want.extend(build(&items));
                let mut got = vec![0xAB];
                let area = BatchBuilder::append_uniform(&mut got, count, size).unwrap();
                assert_eq!(area, 1 + count as usize * DIR_ENTRY_SIZE);
                for i in 0..count as usize {
                    let at = area + i * size.next_multiple_of(8);
                    got[at..at + size].copy_from_slice(&item);
                }
                assert_eq!(got, want, "size {size} count {count}");
                let view = BatchView::decode(&got[1..], count).unwrap();
                let (dir, packed) = view.parts();
                assert_eq!(dir.len(), count as usize * DIR_ENTRY_SIZE);
                assert_eq!(packed, &got[area..]);
            }
        }
        let mut v = vec![1, 2];
        assert!(BatchBuilder::append_uniform(&mut v, 2, u32::MAX as usize).is_err());
        assert!(BatchBuilder::append_uniform(&mut v, 3, 1 << 31).is_err());
        assert!(BatchBuilder::append_uniform(&mut v, 1, u32::MAX as usize + 1).is_err());
        assert_eq!(v, [1, 2]);
    }

    #[test]
    fn builder_count_enforced() {
        let mut v = Vec::new();
        let mut b = BatchBuilder::new(&mut v, 1);
        b.add(b"x").unwrap();
        assert!(b.add(b"y").is_err());
        let mut v = Vec::new();
        let b = BatchBuilder::new(&mut v, 2);
        assert!(b.finish().is_err());
    }

    #[test]
    fn rejects_bad_directories() {
        let v = build(&[b"abcdefgh", b"12345678"]);
        // Directory does not fit.
        assert!(matches!(
            BatchView::decode(&v[..8], 2),
            Err(DecodeError::Truncated { .. })
        ));
        // Item count overflow.
        assert!(BatchView::decode(&v, u32::MAX).is_err());
        // Misaligned offset.
        let mut b = v.clone();
        b[8..12].copy_from_slice(&3u32.to_ne_bytes());
        assert!(matches!(
            BatchView::decode(&b, 2),
            Err(DecodeError::BadAlignment { .. })
        ));
        // Out of bounds length.
        let mut b = v.clone();
        b[12..16].copy_from_slice(&9u32.to_ne_bytes());
        assert!(matches!(
            BatchView::decode(&b, 2),
            Err(DecodeError::OutOfBounds { .. })
        ));
        // offset + length overflow.
        let mut b = v.clone();
        b[8..12].copy_from_slice(&0xFFFF_FFF8u32.to_ne_bytes());
        b[12..16].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(
            BatchView::decode(&b, 2),
            Err(DecodeError::OutOfBounds { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..256), n in 0u32..40) {
            if let Ok(v) = BatchView::decode(&b, n) {
                for it in v.iter() { let _ = it.len(); }
            }
        }

        #[test]
        fn round_trips(items in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..20)) {
            let refs: Vec<&[u8]> = items.iter().map(|v| v.as_slice()).collect();
            let v = build(&refs);
            let view = BatchView::decode(&v, refs.len() as u32).unwrap();
            let got: Vec<&[u8]> = view.iter().collect();
            proptest::prop_assert_eq!(got, refs);
        }
    }
}
