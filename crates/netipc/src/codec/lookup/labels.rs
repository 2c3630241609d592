//! Label tables of lookup response items, and the strings they share with
//! the rest of an item.
//!
//! A label table starts at the *canonical* offset: the first 8-byte aligned
//! item offset at or after the end (NUL included) of the item's preceding
//! strings. Padding before it is zero. Each 16-byte entry holds
//! `key_offset, key_length, value_offset, value_length`; the key and value
//! strings (each with its NUL) are packed immediately after the table, in
//! table order. Keys are never empty; values may be.
//!
//! The table offset is not stored on the wire: it is implied. A table that
//! an encoder placed anywhere else is detected because the first key then
//! does not start right after the canonical table; strings that are not
//! packed in table order are rejected the same way (which also rules out
//! any overlap in linear time).
//!
//! This is the one implementation of label writing and validation for both
//! lookup methods.

use core::iter::FusedIterator;

use crate::bytes::{FixedWriter, Reader, Writer, align8, check_no_interior_nul};
use crate::error::{DecodeError, Error};

use super::LOOKUP_LABEL_ENTRY_SIZE;
use super::directory::{pad_from, rd_u32, sub, u32_sat, us};
use super::packed::{packed_labels, zero_padding};

/// Most labels one item can carry (`label_count` is a `u16`).
pub const MAX_LABELS: usize = u16::MAX as usize;

/// Byte offset of `key_length` inside a label entry.
pub(super) const KEY_LEN_OFF: usize = 4;
/// Byte offset of `value_offset` inside a label entry.
pub(super) const VALUE_OFF_OFF: usize = 8;
/// Byte offset of `value_length` inside a label entry.
pub(super) const VALUE_LEN_OFF: usize = 12;

/// An owned label (`key = value`), as bytes without NUL terminators.
///
/// Produced by `to_owned()` on views and accepted by the builders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Label {
    /// Label key (non-empty, no NUL).
    pub key: Vec<u8>,
    /// Label value (may be empty, no NUL).
    pub value: Vec<u8>,
}

impl Label {
    /// Builds a label from anything byte-like.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Label {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// An empty label list, handy for items without labels.
pub const NO_LABELS: &[Label] = &[];

/// A borrowed label inside a decoded response item.
///
/// **Borrowed / ephemeral**: it points into the payload bytes the response
/// view was decoded from and is valid only while that buffer is alive and
/// unchanged (for Level 2 clients: until the next call on the same client;
/// in server callbacks: until the callback returns). Copy it with
/// [`LabelView::to_owned`] if it is needed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LabelView<'a> {
    key: &'a [u8],
    value: &'a [u8],
}

impl<'a> LabelView<'a> {
    /// The key bytes (no NUL; never empty).
    #[inline]
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    /// The value bytes (no NUL; may be empty).
    #[inline]
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// Copies the label into an owned [`Label`].
    pub fn to_owned(&self) -> Label {
        Label::new(self.key, self.value)
    }
}

/// Anything a builder can take a label from: [`Label`], [`LabelView`],
/// `(key, value)` tuples of byte-like types, and references to those.
pub trait LabelSource {
    /// The key bytes (must be non-empty and NUL-free).
    fn label_key(&self) -> &[u8];
    /// The value bytes (must be NUL-free; may be empty).
    fn label_value(&self) -> &[u8];
}

impl LabelSource for Label {
    #[inline]
    fn label_key(&self) -> &[u8] {
        &self.key
    }
    #[inline]
    fn label_value(&self) -> &[u8] {
        &self.value
    }
}

impl LabelSource for LabelView<'_> {
    #[inline]
    fn label_key(&self) -> &[u8] {
        self.key
    }
    #[inline]
    fn label_value(&self) -> &[u8] {
        self.value
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> LabelSource for (K, V) {
    #[inline]
    fn label_key(&self) -> &[u8] {
        self.0.as_ref()
    }
    #[inline]
    fn label_value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl<T: LabelSource + ?Sized> LabelSource for &T {
    #[inline]
    fn label_key(&self) -> &[u8] {
        (**self).label_key()
    }
    #[inline]
    fn label_value(&self) -> &[u8] {
        (**self).label_value()
    }
}

/// Validates application labels and measures them.
///
/// Returns `(count, bytes)` where `bytes` is the size of the table plus the
/// packed strings (NULs included). Fails with `InvalidArgument` on an empty
/// key, a NUL inside a key or value, more than [`MAX_LABELS`] labels, or a
/// size that does not fit a `u32`.
#[inline]
pub(crate) fn measure_labels<I>(labels: I) -> Result<(usize, usize), Error>
where
    I: Iterator,
    I::Item: LabelSource,
{
    let mut count = 0usize;
    let mut bytes = 0usize;
    for l in labels {
        let (k, v) = (l.label_key(), l.label_value());
        if k.is_empty() {
            return Err(Error::InvalidArgument("label key must not be empty"));
        }
        if crate::bytes::has_nul(k) {
            return Err(Error::InvalidArgument("label key contains a NUL byte"));
        }
        if crate::bytes::has_nul(v) {
            return Err(Error::InvalidArgument("label value contains a NUL byte"));
        }
        count += 1;
        if count > MAX_LABELS {
            return Err(Error::InvalidArgument("more than 65535 labels"));
        }
        bytes = k
            .len()
            .checked_add(v.len())
            .and_then(|kv| kv.checked_add(2 + LOOKUP_LABEL_ENTRY_SIZE))
            .and_then(|kv| bytes.checked_add(kv))
            .filter(|&b| b <= u32::MAX as usize)
            .ok_or(Error::InvalidArgument("labels too large"))?;
    }
    Ok((count, bytes))
}

/// Size of an item whose strings end at `strings_end` (item-relative, NULs
/// included) followed by `label_bytes` of labels (`count` labels).
/// `None` on overflow.
#[inline]
pub(crate) fn item_len_with_labels(
    strings_end: usize,
    count: usize,
    label_bytes: usize,
) -> Option<usize> {
    if count == 0 {
        Some(strings_end)
    } else {
        align8(strings_end)?.checked_add(label_bytes)
    }
}

/// Appends the zero padding, table and packed strings of `labels` to an
/// item that starts at `item_start` in `out` and whose strings end at the
/// current end of `out`. Does nothing for zero labels.
///
/// The caller has validated the labels with [`measure_labels`] and checked
/// that the whole item fits a `u32`.
pub(crate) fn write_labels<I>(out: &mut Vec<u8>, item_start: usize, labels: I, count: usize)
where
    I: Iterator + Clone,
    I::Item: LabelSource,
{
    if count == 0 {
        return;
    }
    let strings_end = out.len() - item_start;
    let table = strings_end.next_multiple_of(crate::protocol::ITEM_ALIGN);
    let mut s = table + count * LOOKUP_LABEL_ENTRY_SIZE;
    out.reserve(table - strings_end + count * LOOKUP_LABEL_ENTRY_SIZE);
    pad_from(out, item_start);
    let mut w = Writer::new(out);
    for l in labels.clone() {
        let (k, v) = (l.label_key(), l.label_value());
        let mut e = FixedWriter::<LOOKUP_LABEL_ENTRY_SIZE>::new();
        e.u32(u32_sat(s));
        e.u32(u32_sat(k.len()));
        s += k.len() + 1;
        e.u32(u32_sat(s));
        e.u32(u32_sat(v.len()));
        s += v.len() + 1;
        w.bytes(e.finish());
    }
    w.reserve(s - table - count * LOOKUP_LABEL_ENTRY_SIZE);
    for l in labels {
        w.bytes(l.label_key());
        w.zeros(1);
        w.bytes(l.label_value());
        w.zeros(1);
    }
}

/// A validated item string: `[start, end)` including its NUL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The string bytes without the NUL.
    #[inline]
    pub(crate) fn bytes<'a>(&self, item: &'a [u8]) -> &'a [u8] {
        sub(item, self.start, self.end.saturating_sub(self.start + 1))
    }

    /// Re-reads the span of a string whose offset and length are the item
    /// header's `u32` fields at `off_at` and `len_at`, in an item that
    /// [`check_string`] accepted (saturating, never panics).
    #[inline]
    pub(crate) fn trusted(item: &[u8], off_at: usize, len_at: usize) -> Span {
        let start = us(rd_u32(item, off_at));
        Span {
            start,
            end: start
                .saturating_add(us(rd_u32(item, len_at)))
                .saturating_add(1),
        }
    }
}

/// Validates one item string: offset at or after the item header
/// (`hdr` bytes), `offset + length + 1` without overflow and inside the
/// item, trailing NUL present, no interior NUL.
#[inline(always)]
pub(crate) fn check_string(
    item: &[u8],
    hdr: usize,
    off: u32,
    len: u32,
    what: &'static str,
) -> Result<Span, DecodeError> {
    let (off, len) = (us(off), us(len));
    if off < hdr {
        return Err(DecodeError::OutOfBounds { what });
    }
    let s = Reader::new(item, what).cstr(off, len, what)?;
    check_no_interior_nul(s, what)?;
    Ok(Span {
        start: off,
        end: off + len + 1,
    })
}

/// Rejects any two overlapping spans (NULs included).
pub(crate) fn check_disjoint(spans: &[Span], what: &'static str) -> Result<(), DecodeError> {
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.start < b.end && b.start < a.end {
                return Err(DecodeError::Overlap { what });
            }
        }
    }
    Ok(())
}

/// Validates the label table of an item whose other strings end at
/// `strings_end` (NULs included). Returns the table offset.
///
/// Rejects: table byte-count overflow or a table past the item end
/// (`OutOfBounds`), non-zero padding before the table (`NonZeroReserved`),
/// a first key that does not start right after the canonical table
/// (`InvalidField`, non-canonical table offset), strings not packed in
/// table order (`InvalidField`), empty keys (`BadLength`), strings out of
/// bounds (`OutOfBounds`), missing NULs (`MissingNul`) and interior NULs
/// (`InteriorNul`).
pub(crate) fn check_labels(
    item: &[u8],
    strings_end: usize,
    count: usize,
) -> Result<usize, DecodeError> {
    const TABLE: &str = "label table";
    let table = align8(strings_end).ok_or(DecodeError::OutOfBounds { what: TABLE })?;
    if count == 0 {
        return Ok(table);
    }
    let table_end = count
        .checked_mul(LOOKUP_LABEL_ENTRY_SIZE)
        .and_then(|n| table.checked_add(n))
        .ok_or(DecodeError::OutOfBounds { what: TABLE })?;
    if table_end > item.len() {
        return Err(DecodeError::OutOfBounds { what: TABLE });
    }
    if !zero_padding(item, strings_end, table) {
        return Err(DecodeError::NonZeroReserved {
            field: "label table padding",
        });
    }
    // `table_end <= item.len()` was checked above: the entries are read
    // from one bounds-checked slice.
    let entries = item.get(table..table_end).unwrap_or(&[]);
    if packed_labels(item, table_end, entries, count) {
        return Ok(table);
    }
    let mut expect = table_end;
    for (i, e) in entries.chunks_exact(LOOKUP_LABEL_ENTRY_SIZE).enumerate() {
        let key_off = rd_u32(e, 0);
        let key_len = rd_u32(e, KEY_LEN_OFF);
        let val_off = rd_u32(e, VALUE_OFF_OFF);
        let val_len = rd_u32(e, VALUE_LEN_OFF);
        if us(key_off) != expect {
            return Err(DecodeError::InvalidField {
                rule: if i == 0 {
                    "non-canonical label table offset (first label key must follow the table at the canonical offset)"
                } else {
                    "label strings must be packed after the table in table order"
                },
            });
        }
        if key_len == 0 {
            return Err(DecodeError::BadLength {
                what: "label key_length must be >= 1",
            });
        }
        let key = check_string(item, table_end, key_off, key_len, "label key")?;
        if us(val_off) != key.end {
            return Err(DecodeError::InvalidField {
                rule: "label strings must be packed after the table in table order",
            });
        }
        let val = check_string(item, table_end, val_off, val_len, "label value")?;
        expect = val.end;
    }
    Ok(table)
}

/// Iterator over the labels of a decoded item.
///
/// **Borrowed / ephemeral**: yields [`LabelView`]s into the payload
/// buffer; see the item view for the lifetime contract.
#[derive(Debug, Clone)]
pub struct LabelsIter<'a> {
    item: &'a [u8],
    table: usize,
    next: usize,
    end: usize,
}

impl<'a> LabelsIter<'a> {
    /// Iterates `count` labels of a validated item whose table is at `table`.
    #[inline]
    pub(crate) fn new(item: &'a [u8], table: usize, count: usize) -> Self {
        LabelsIter {
            item,
            table,
            next: 0,
            end: count,
        }
    }

    /// Label `i` of a validated table (empty slices if out of range).
    #[inline]
    pub(crate) fn at(item: &'a [u8], table: usize, i: usize) -> LabelView<'a> {
        let e = table.saturating_add(i.saturating_mul(LOOKUP_LABEL_ENTRY_SIZE));
        let key = sub(
            item,
            us(rd_u32(item, e)),
            us(rd_u32(item, e.saturating_add(KEY_LEN_OFF))),
        );
        let value = sub(
            item,
            us(rd_u32(item, e.saturating_add(VALUE_OFF_OFF))),
            us(rd_u32(item, e.saturating_add(VALUE_LEN_OFF))),
        );
        LabelView { key, value }
    }
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = LabelView<'a>;

    #[inline]
    fn next(&mut self) -> Option<LabelView<'a>> {
        if self.next >= self.end {
            return None;
        }
        let l = Self::at(self.item, self.table, self.next);
        self.next += 1;
        Some(l)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for LabelsIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        Some(Self::at(self.item, self.table, self.end))
    }
}

impl ExactSizeIterator for LabelsIter<'_> {}
impl FusedIterator for LabelsIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an item-like buffer: `prefix` zero bytes of "strings", then
    /// labels written by `write_labels`.
    fn build(strings_end: usize, labels: &[(&str, &str)]) -> Vec<u8> {
        let mut v = vec![0u8; strings_end];
        let (count, bytes) = measure_labels(labels.iter()).unwrap();
        write_labels(&mut v, 0, labels.iter(), count);
        assert_eq!(
            v.len(),
            item_len_with_labels(strings_end, count, bytes).unwrap()
        );
        v
    }

    #[test]
    fn write_then_check() {
        let labels = [("namespace", "default"), ("pod", "web"), ("k", "")];
        let v = build(13, &labels);
        let table = check_labels(&v, 13, 3).unwrap();
        assert_eq!(table, 16);
        let got: Vec<_> = LabelsIter::new(&v, table, 3)
            .map(|l| (l.key().to_vec(), l.value().to_vec()))
            .collect();
        let want: Vec<_> = labels
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(got, want);
        let back: Vec<_> = LabelsIter::new(&v, table, 3)
            .rev()
            .map(|l| l.to_owned())
            .collect();
        assert_eq!(back[0], Label::new("k", ""));
        assert_eq!(LabelsIter::new(&v, table, 3).len(), 3);
    }

    #[test]
    fn measure_rejects_bad_input() {
        assert!(matches!(
            measure_labels([("", "v")].iter()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            measure_labels([("a\0", "v")].iter()),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            measure_labels([("a", "v\0")].iter()),
            Err(Error::InvalidArgument(_))
        ));
        let many = vec![Label::new("k", ""); MAX_LABELS + 1];
        assert!(matches!(
            measure_labels(many.iter()),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(measure_labels(NO_LABELS.iter()).unwrap(), (0, 0));
    }

    #[test]
    fn label_fast_path_failures_keep_precise_errors() {
        let mut v = build(13, &[("ab", "cd"), ("e", "")]);
        assert!(check_labels(&v, 13, 2).is_ok());
        // An interior NUL in a value: the fast path declines, the exact
        // check names it.
        let table_end = 16 + 2 * LOOKUP_LABEL_ENTRY_SIZE;
        v[table_end + 3] = 0;
        assert_eq!(
            check_labels(&v, 13, 2),
            Err(DecodeError::InteriorNul {
                what: "label value"
            })
        );
        // A missing terminator at the end of the item.
        let mut v = build(13, &[("ab", "cd")]);
        let last = v.len() - 1;
        v[last] = b'x';
        assert_eq!(
            check_labels(&v, 13, 1),
            Err(DecodeError::MissingNul {
                what: "label value"
            })
        );
    }

    #[test]
    fn disjoint_spans() {
        let a = Span { start: 28, end: 30 };
        let b = Span { start: 30, end: 31 };
        let c = Span { start: 29, end: 30 };
        assert!(check_disjoint(&[a, b], "s").is_ok());
        assert_eq!(
            check_disjoint(&[a, b, c], "s"),
            Err(DecodeError::Overlap { what: "s" })
        );
    }

    #[test]
    fn check_string_rules() {
        let item = b"0123ab\0c\0";
        assert!(check_string(item, 4, 4, 2, "s").is_ok());
        assert_eq!(
            check_string(item, 4, 3, 3, "s"),
            Err(DecodeError::OutOfBounds { what: "s" })
        );
        assert_eq!(
            check_string(item, 4, 4, 1, "s"),
            Err(DecodeError::MissingNul { what: "s" })
        );
        assert_eq!(
            check_string(item, 4, 4, 4, "s"),
            Err(DecodeError::InteriorNul { what: "s" })
        );
        assert_eq!(
            check_string(item, 4, 8, 9, "s"),
            Err(DecodeError::OutOfBounds { what: "s" })
        );
        assert_eq!(
            check_string(item, 4, u32::MAX, u32::MAX, "s"),
            Err(DecodeError::OutOfBounds { what: "s" })
        );
    }
}
