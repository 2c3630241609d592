//! Fast paths of item validation for strings and label tables packed
//! the way encoders write them: a NUL count over the packed bytes and a
//! check of each terminator replace the per-string scans. A fast path
//! that declines does not reject anything: the callers then run the
//! exact per-string checks, which also name the rule an input breaks.

use super::LOOKUP_LABEL_ENTRY_SIZE;
use super::directory::{rd_u32, us};
use super::labels::{KEY_LEN_OFF, Span, VALUE_LEN_OFF, VALUE_OFF_OFF};

/// Number of zero bytes in `s` (eight bytes at a time).
#[inline]
pub(crate) fn count_nuls(s: &[u8]) -> usize {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit set exactly in the zero bytes of `w` (no carries between
    // bytes: each byte is at most 0x7f + 0x7f).
    let zeros = |c: &[u8]| {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let w = u64::from_le_bytes(a);
        !(((w & LO7).wrapping_add(LO7)) | w | LO7)
    };
    // One bit per zero byte, summed by a multiply into the top byte (at
    // most 8: no carry out of it). Cheaper than a popcount on the
    // baseline x86-64 target, which has no POPCNT.
    let sum = |z: u64| (((z >> 7).wrapping_mul(0x0101_0101_0101_0101)) >> 56) as usize;
    let len = s.len();
    if len < 8 {
        return s.iter().filter(|&&b| b == 0).count();
    }
    let mut words = s.chunks_exact(8);
    let mut n = 0usize;
    for c in &mut words {
        n += sum(zeros(c));
    }
    let rest = words.remainder().len();
    if rest != 0 {
        // The last eight bytes, without the ones already counted (the
        // low bytes of a little-endian read).
        n += sum(zeros(&s[len - 8..]) & (u64::MAX << (8 * (8 - rest))));
    }
    n
}

/// The fast path of item string validation, for strings the way encoders
/// write them: the first at `hdr`, each next one right after the previous
/// one's NUL. Given `(offset, length)` of each string, returns their spans
/// when they are packed that way, inside `item`, and the packed bytes hold
/// exactly one NUL per string, at its end. `None` does not mean invalid:
/// the caller then applies [`check_string`](super::labels::check_string)
/// and [`check_disjoint`](super::labels::check_disjoint), which
/// accept every input this accepts (and more).
#[inline(always)]
pub(crate) fn packed_strings<const N: usize>(
    item: &[u8],
    hdr: usize,
    fields: [(u32, u32); N],
) -> Option<[Span; N]> {
    let mut spans = [Span { start: 0, end: 0 }; N];
    let mut at = hdr;
    for (span, (off, len)) in spans.iter_mut().zip(fields) {
        if us(off) != at {
            return None;
        }
        let end = at.checked_add(us(len))?.checked_add(1)?;
        *span = Span { start: at, end };
        at = end;
    }
    let packed = item.get(hdr..at)?;
    if count_nuls(packed) != N {
        return None;
    }
    // Each string's last byte (inside `packed`) must be its NUL.
    spans
        .iter()
        .all(|s| item.get(s.end - 1) == Some(&0))
        .then_some(spans)
}

/// Whether `item[start..end]` (fewer than 8 bytes, `end` inside `item`)
/// is all zero: one masked word read when `end >= 8`.
#[inline]
pub(super) fn zero_padding(item: &[u8], start: usize, end: usize) -> bool {
    let n = end - start;
    if n == 0 {
        return true;
    }
    match end.checked_sub(8).and_then(|at| item.get(at..end)) {
        Some(c) if n < 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            // The padding is the last `n` bytes: the high ones of a
            // little-endian read.
            u64::from_le_bytes(a) >> (8 * (8 - n)) == 0
        }
        _ => item
            .get(start..end)
            .is_some_and(|pad| pad.iter().all(|&b| b == 0)),
    }
}

/// The fast path of [`check_labels`](super::labels::check_labels) once the table is in bounds: every
/// string non-empty-keyed and packed right after the table in table
/// order, inside `item`, and the packed bytes holding exactly one NUL per
/// string, at its end (so none inside). `false` does not mean invalid:
/// the caller then runs the per-string checks, which accept every table
/// this accepts and name the rule a table breaks.
#[inline]
pub(super) fn packed_labels(item: &[u8], table_end: usize, entries: &[u8], count: usize) -> bool {
    let mut at = table_end;
    for e in entries.chunks_exact(LOOKUP_LABEL_ENTRY_SIZE) {
        let key_len = us(rd_u32(e, KEY_LEN_OFF));
        if us(rd_u32(e, 0)) != at || key_len == 0 {
            return false;
        }
        // Positions of the key's and the value's NULs.
        let Some(key_nul) = at.checked_add(key_len) else {
            return false;
        };
        if us(rd_u32(e, VALUE_OFF_OFF)) != key_nul + 1 {
            return false;
        }
        let Some(val_nul) = (key_nul + 1).checked_add(us(rd_u32(e, VALUE_LEN_OFF))) else {
            return false;
        };
        if item.get(key_nul) != Some(&0) || item.get(val_nul) != Some(&0) {
            return false;
        }
        at = val_nul + 1;
    }
    item.get(table_end..at)
        .is_some_and(|packed| Some(count_nuls(packed)) == count.checked_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_padding_reads_only_the_padding() {
        let item = [1u8, 2, 3, 4, 5, 0, 0, 0, 9, 0, 0];
        assert!(zero_padding(&item, 5, 8));
        assert!(zero_padding(&item, 9, 11));
        assert!(zero_padding(&item, 3, 3));
        assert!(!zero_padding(&item, 4, 8));
        assert!(!zero_padding(&item, 8, 11));
        // Shorter than a word before `end`: byte by byte.
        assert!(zero_padding(&[7, 0, 0], 1, 3));
        assert!(!zero_padding(&[7, 0, 0], 0, 3));
    }

    #[test]
    fn count_nuls_matches_a_byte_count() {
        let mut v: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for len in [0usize, 1, 7, 8, 9, 15, 17, 64, 200] {
            for at in [0usize, 3, 8, 63, 150] {
                if at < len {
                    v[at] = 0;
                }
            }
            let s = &v[..len];
            assert_eq!(count_nuls(s), s.iter().filter(|&&b| b == 0).count());
        }
        assert_eq!(count_nuls(&[0x80, 0x7f, 0xff, 0, 1, 0, 0x01, 0x80, 0]), 3);
    }

    #[test]
    fn packed_strings_fast_path() {
        // Header of 4 bytes, then "ab\0" and "\0" packed.
        let item = b"HHHHab\0\0";
        let spans = packed_strings(item, 4, [(4, 2), (7, 0)]).unwrap();
        assert_eq!(spans[0], Span { start: 4, end: 7 });
        assert_eq!(spans[1], Span { start: 7, end: 8 });
        // Not packed, out of bounds, or an interior NUL: left to the
        // per-string checks.
        assert!(packed_strings(item, 4, [(5, 1), (7, 0)]).is_none());
        assert!(packed_strings(item, 4, [(4, 2), (7, 1)]).is_none());
        assert!(packed_strings(b"HHHHa\0\0\0", 4, [(4, 2), (7, 0)]).is_none());
        assert!(packed_strings(item, 4, [(4, u32::MAX), (7, 0)]).is_none());
    }
}
