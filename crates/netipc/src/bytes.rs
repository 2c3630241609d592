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

/// Whether `s` contains a NUL byte.
///
/// Same answer as `s.contains(&0)`, but short strings (the common case for
/// item names, labels and paths) are scanned with a branch-free
/// word-at-a-time loop instead of paying `memchr`'s setup cost.
#[inline]
pub fn has_nul(s: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    if s.len() > 64 {
        return s.contains(&0);
    }
    let word = |c: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let w = u64::from_ne_bytes(a);
        // Non-zero iff some byte of `w` is zero (exact as a boolean).
        w.wrapping_sub(LO) & !w & HI
    };
    let len = s.len();
    if len < 8 {
        // Not `contains`: it calls `memchr` even for a few bytes.
        return s.iter().fold(false, |found, &b| found | (b == 0));
    }
    let mut chunks = s.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= word(c);
    }
    // The tail as one word that overlaps bytes already seen (harmless
    // for a yes/no answer).
    if !chunks.remainder().is_empty() {
        acc |= word(&s[len - 8..]);
    }
    acc != 0
}

/// Fails with `InteriorNul` if `s` contains a NUL byte.
#[inline]
pub fn check_no_interior_nul(s: &[u8], what: &'static str) -> Result<(), DecodeError> {
    if has_nul(s) {
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

/// Builds a fixed-size block of host-order fields on the stack, so that it
/// can be appended to a buffer with one copy (used for item headers and
/// label table entries on the encode hot path).
#[derive(Debug)]
pub struct FixedWriter<const N: usize> {
    buf: [u8; N],
    pos: usize,
}

impl<const N: usize> Default for FixedWriter<N> {
    #[inline]
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedWriter<N> {
    /// An all-zero block, written from the start.
    #[inline]
    pub fn new() -> Self {
        FixedWriter {
            buf: [0; N],
            pos: 0,
        }
    }

    #[inline]
    fn put<const M: usize>(&mut self, b: [u8; M]) {
        self.buf[self.pos..self.pos + M].copy_from_slice(&b);
        self.pos += M;
    }

    /// Writes a `u16`.
    #[inline]
    pub fn u16(&mut self, v: u16) {
        self.put(v.to_ne_bytes());
    }

    /// Writes a `u32`.
    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.put(v.to_ne_bytes());
    }

    /// Writes a `u64`.
    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.put(v.to_ne_bytes());
    }

    /// The block; every byte must have been written.
    #[inline]
    pub fn finish(&self) -> &[u8; N] {
        debug_assert_eq!(self.pos, N, "fixed block not fully written");
        &self.buf
    }
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

    /// Reserves room for at least `n` more bytes.
    #[inline]
    pub fn reserve(&mut self, n: usize) {
        self.buf.reserve(n);
    }

    /// Appends raw bytes.
    #[inline]
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends `n` zero bytes.
    #[inline]
    pub fn zeros(&mut self, n: usize) {
        if n == 1 {
            self.buf.push(0);
        } else {
            self.buf.resize(self.buf.len() + n, 0);
        }
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
    fn has_nul_matches_contains() {
        for len in [0usize, 1, 7, 8, 9, 15, 17, 63, 64, 65, 200] {
            let clean = vec![b'a'; len];
            assert!(!has_nul(&clean));
            for at in 0..len {
                let mut v = clean.clone();
                v[at] = 0;
                assert!(has_nul(&v), "len {len} at {at}");
            }
        }
    }

    #[test]
    fn fixed_writer_matches_writer() {
        let mut f = FixedWriter::<14>::new();
        f.u16(0x0102);
        f.u32(0x0304_0506);
        f.u64(0x0708_090a_0b0c_0d0e);
        let mut v = Vec::new();
        let mut w = Writer::new(&mut v);
        w.u16(0x0102);
        w.u32(0x0304_0506);
        w.u64(0x0708_090a_0b0c_0d0e);
        assert_eq!(&f.finish()[..], &v[..]);
    }

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
