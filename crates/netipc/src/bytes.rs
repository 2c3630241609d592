//! Checked little helpers for reading and writing wire bytes.
//!
//! Every bounds and overflow check of the decoders lives here: [`Reader`]
//! reads fixed-width host-order integers and byte ranges at absolute
//! offsets, returning a [`DecodeError`] instead of panicking. [`Writer`]
//! appends to a caller-owned `Vec<u8>` so builders can reuse buffers.
//!
//! All multi-byte fields are host byte order (NetIPC is localhost only).

use crate::error::DecodeError;

/// Rounds `n` up to a multiple of 8, or `None` on overflow.
#[inline]
pub fn align8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|v| v & !7)
}

/// Rounds `n` up to a multiple of 64, or `None` on overflow.
#[inline]
pub fn align64(n: usize) -> Option<usize> {
    n.checked_add(63).map(|v| v & !63)
}

/// A bounds-checked, zero-copy reader over a byte slice.
///
/// Offsets are absolute positions in the slice. The reader never copies;
/// byte ranges it returns borrow the original slice for `'a`.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Wraps `buf`; `what` names the structure in error messages.
    #[inline]
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    /// The whole underlying slice.
    #[inline]
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// Length of the underlying slice.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the slice is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fails with `Truncated` unless the slice holds at least `need` bytes.
    #[inline]
    pub fn require(&self, need: usize) -> Result<(), DecodeError> {
        if self.buf.len() < need {
            Err(DecodeError::Truncated {
                what: self.what,
                need,
                have: self.buf.len(),
            })
        } else {
            Ok(())
        }
    }

    #[inline]
    fn array<const N: usize>(&self, off: usize) -> Result<[u8; N], DecodeError> {
        let end = off
            .checked_add(N)
            .ok_or(DecodeError::OutOfBounds { what: self.what })?;
        match self.buf.get(off..end) {
            Some(s) => {
                let mut a = [0u8; N];
                a.copy_from_slice(s);
                Ok(a)
            }
            None => Err(DecodeError::Truncated {
                what: self.what,
                need: end,
                have: self.buf.len(),
            }),
        }
    }

    /// Reads a `u16` at `off`.
    #[inline]
    pub fn u16(&self, off: usize) -> Result<u16, DecodeError> {
        self.array::<2>(off).map(u16::from_ne_bytes)
    }

    /// Reads a `u32` at `off`.
    #[inline]
    pub fn u32(&self, off: usize) -> Result<u32, DecodeError> {
        self.array::<4>(off).map(u32::from_ne_bytes)
    }

    /// Reads a `u64` at `off`.
    #[inline]
    pub fn u64(&self, off: usize) -> Result<u64, DecodeError> {
        self.array::<8>(off).map(u64::from_ne_bytes)
    }

    /// Returns `len` bytes at `off`, or `OutOfBounds` naming `what`.
    #[inline]
    pub fn bytes(
        &self,
        off: usize,
        len: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let end = off
            .checked_add(len)
            .ok_or(DecodeError::OutOfBounds { what })?;
        self.buf
            .get(off..end)
            .ok_or(DecodeError::OutOfBounds { what })
    }

    /// Returns the `len` string bytes at `off`, requiring a NUL at `off + len`.
    ///
    /// Interior NULs are not checked here; see [`check_no_interior_nul`].
    #[inline]
    pub fn cstr(
        &self,
        off: usize,
        len: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let with_nul = len
            .checked_add(1)
            .ok_or(DecodeError::OutOfBounds { what })?;
        let s = self.bytes(off, with_nul, what)?;
        match s.split_last() {
            Some((0, body)) => Ok(body),
            _ => Err(DecodeError::MissingNul { what }),
        }
    }
}

/// Fails with `InteriorNul` if `s` contains a NUL byte.
#[inline]
pub fn check_no_interior_nul(s: &[u8], what: &'static str) -> Result<(), DecodeError> {
    if s.contains(&0) {
        Err(DecodeError::InteriorNul { what })
    } else {
        Ok(())
    }
}

/// Converts a length/offset to `u32`, failing with `OutOfBounds` if too big.
#[inline]
pub fn to_u32(n: usize, what: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(n).map_err(|_| DecodeError::OutOfBounds { what })
}

/// Appends host-order fields to a caller-owned buffer.
///
/// Builders hold a `Writer` over a reused `Vec<u8>` so that steady-state
/// encoding does not allocate.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// Wraps `buf`, appending after its current contents.
    #[inline]
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        Writer { buf }
    }

    /// Current length of the buffer.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the buffer is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends a `u16`.
    #[inline]
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_ne_bytes());
    }

    /// Appends a `u32`.
    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_ne_bytes());
    }

    /// Appends a `u64`.
    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_ne_bytes());
    }

    /// Appends raw bytes.
    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends `n` zero bytes.
    #[inline]
    pub fn zeros(&mut self, n: usize) {
        self.buf.resize(self.buf.len() + n, 0);
    }

    /// Zero-pads until the length is a multiple of 8.
    #[inline]
    pub fn pad8(&mut self) {
        let n = self.buf.len().next_multiple_of(8);
        self.buf.resize(n, 0);
    }

    /// Overwrites a `u32` at absolute offset `off` (which must be written).
    #[inline]
    pub fn patch_u32(&mut self, off: usize, v: u32) {
        self.buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// Overwrites a `u16` at absolute offset `off` (which must be written).
    #[inline]
    pub fn patch_u16(&mut self, off: usize, v: u16) {
        self.buf[off..off + 2].copy_from_slice(&v.to_ne_bytes());
    }
}

/// Writes a `u16` at `off` into a fixed buffer.
#[inline]
pub fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

/// Writes a `u32` at `off` into a fixed buffer.
#[inline]
pub fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

/// Writes a `u64` at `off` into a fixed buffer.
#[inline]
pub fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_bounds() {
        let b = [1u8, 0, 2, 0, 0, 0, b'a', 0];
        let r = Reader::new(&b, "t");
        assert_eq!(r.u16(0).unwrap(), 1);
        assert_eq!(r.u32(2).unwrap(), 2);
        assert!(matches!(r.u64(1), Err(DecodeError::Truncated { .. })));
        assert!(matches!(
            r.u16(usize::MAX),
            Err(DecodeError::OutOfBounds { .. })
        ));
        assert_eq!(r.cstr(6, 1, "s").unwrap(), b"a");
        assert_eq!(
            r.cstr(5, 1, "s"),
            Err(DecodeError::MissingNul { what: "s" })
        );
        assert_eq!(
            r.cstr(7, 1, "s"),
            Err(DecodeError::OutOfBounds { what: "s" })
        );
        assert_eq!(
            r.cstr(0, usize::MAX, "s"),
            Err(DecodeError::OutOfBounds { what: "s" })
        );
    }

    #[test]
    fn align() {
        assert_eq!(align8(0), Some(0));
        assert_eq!(align8(1), Some(8));
        assert_eq!(align8(8), Some(8));
        assert_eq!(align8(usize::MAX), None);
        assert_eq!(align64(4128), Some(4160));
    }

    #[test]
    fn writer_pad_and_patch() {
        let mut v = Vec::new();
        let mut w = Writer::new(&mut v);
        w.u16(1);
        w.pad8();
        w.u32(0);
        w.patch_u32(8, 7);
        assert_eq!(v.len(), 12);
        assert_eq!(&v[8..12], &7u32.to_ne_bytes());
    }
}
