//! [`LabelSet`]: labels validated and laid out once, and the sealed
//! [`IntoItemLabels`] / [`ItemLabels`] traits through which the builders
//! take either a `LabelSet` or any iterable of [`LabelSource`].

use crate::error::Error;

use super::LOOKUP_LABEL_ENTRY_SIZE;
use super::directory::{pad_from, rd_u32, u32_sat, us};
use super::labels::{Label, LabelSource, LabelsIter, VALUE_OFF_OFF, measure_labels, write_labels};

/// A label list validated and laid out once, for items that all carry
/// the same labels (a handler's constant labels, a container's labels
/// shared by its processes).
///
/// Builders take `&LabelSet` wherever they take labels. Adding an item
/// with it neither validates nor measures the labels again: their table
/// and packed strings are copied as one block and only the offsets are
/// adjusted to the item. Building one allocates; reuse it across items
/// and calls.
///
/// ```
/// use netipc::codec::lookup::{LabelSet, LabelSource};
///
/// let labels = LabelSet::new([("namespace", "web"), ("image", "nginx:1")])?;
/// assert_eq!(labels.len(), 2);
/// let first = labels.iter().next().unwrap();
/// assert_eq!((first.key(), first.value()), (&b"namespace"[..], &b"web"[..]));
/// assert!(LabelSet::new([("", "empty key")]).is_err());
/// # Ok::<(), netipc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LabelSet {
    /// The label table (offsets relative to its start) and the packed
    /// strings, exactly as they follow an item's canonical table offset.
    block: Vec<u8>,
    count: usize,
}

impl LabelSet {
    /// Validates and lays out `labels`.
    ///
    /// Fails with `InvalidArgument` on an empty key, a NUL inside a key or
    /// value, more than [`MAX_LABELS`](super::MAX_LABELS) labels, or labels whose encoded size
    /// does not fit a `u32`.
    pub fn new<I>(labels: I) -> Result<Self, Error>
    where
        I: IntoIterator,
        I::IntoIter: Clone,
        I::Item: LabelSource,
    {
        let labels = labels.into_iter();
        let (count, bytes) = measure_labels(labels.clone())?;
        let mut block = Vec::with_capacity(bytes);
        write_labels(&mut block, 0, labels, count);
        debug_assert_eq!(block.len(), bytes);
        Ok(LabelSet { block, count })
    }

    /// Number of labels.
    #[inline]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the set holds no labels.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates over the labels in order.
    #[inline]
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter::new(&self.block, 0, self.count)
    }

    /// Copies the labels into owned [`Label`]s.
    pub fn to_vec(&self) -> Vec<Label> {
        self.iter().map(|l| l.to_owned()).collect()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What builders take as an item's labels: any iterable of
/// [`LabelSource`] whose iterator is `Clone` (`&[Label]`, `&[(&str, &str)]`,
/// a `Vec`, an iterator of [`LabelView`](super::LabelView)s, …), validated on every item, or
/// a [`&LabelSet`](LabelSet), validated once when it was built.
pub trait IntoItemLabels: sealed::Sealed {
    /// The labels, ready to be measured and written.
    type Labels: ItemLabels;

    /// Converts into [`Self::Labels`].
    fn into_item_labels(self) -> Self::Labels;
}

/// Labels ready for one builder item (see [`IntoItemLabels`]); implemented
/// by [`IterLabels`] and `&LabelSet` only.
pub trait ItemLabels: sealed::Sealed {
    /// Validates the labels and returns `(count, bytes)`, as
    /// [`measure_labels`] does.
    #[doc(hidden)]
    fn measure(&self) -> Result<(usize, usize), Error>;

    /// Appends them to the item starting at `item_start` (see
    /// [`write_labels`]); `count` comes from [`measure`](Self::measure).
    #[doc(hidden)]
    fn write(self, out: &mut Vec<u8>, item_start: usize, count: usize);
}

/// Labels from an iterator of [`LabelSource`], validated on each item (the
/// [`IntoItemLabels::Labels`] of every iterable).
#[derive(Debug, Clone)]
pub struct IterLabels<I>(I);

impl<I> sealed::Sealed for I
where
    I: IntoIterator,
    I::IntoIter: Clone,
    I::Item: LabelSource,
{
}

impl<I> IntoItemLabels for I
where
    I: IntoIterator,
    I::IntoIter: Clone,
    I::Item: LabelSource,
{
    type Labels = IterLabels<I::IntoIter>;

    #[inline]
    fn into_item_labels(self) -> Self::Labels {
        IterLabels(self.into_iter())
    }
}

impl<I> sealed::Sealed for IterLabels<I> {}

impl<I> ItemLabels for IterLabels<I>
where
    I: Iterator + Clone,
    I::Item: LabelSource,
{
    #[inline]
    fn measure(&self) -> Result<(usize, usize), Error> {
        measure_labels(self.0.clone())
    }

    #[inline]
    fn write(self, out: &mut Vec<u8>, item_start: usize, count: usize) {
        write_labels(out, item_start, self.0, count);
    }
}

impl sealed::Sealed for &LabelSet {}

impl<'a> IntoItemLabels for &'a LabelSet {
    type Labels = &'a LabelSet;

    #[inline]
    fn into_item_labels(self) -> Self {
        self
    }
}

impl ItemLabels for &LabelSet {
    #[inline]
    fn measure(&self) -> Result<(usize, usize), Error> {
        Ok((self.count, self.block.len()))
    }

    #[inline]
    fn write(self, out: &mut Vec<u8>, item_start: usize, count: usize) {
        if count == 0 {
            return;
        }
        let strings_end = out.len() - item_start;
        let table = strings_end.next_multiple_of(crate::protocol::ITEM_ALIGN);
        pad_from(out, item_start);
        let base = out.len();
        out.extend_from_slice(&self.block);
        // The caller checked that the item fits a `u32`: the offsets
        // moved by `table` do too. They are read from the set, not from
        // the bytes just copied (a load right after a wide store of the
        // same bytes stalls).
        let dst = &mut out[base..];
        for i in 0..count {
            let e = i * LOOKUP_LABEL_ENTRY_SIZE;
            for at in [e, e + VALUE_OFF_OFF] {
                let moved = u32_sat(us(rd_u32(&self.block, at)).saturating_add(table));
                if let Some(d) = dst.get_mut(at..at + 4) {
                    d.copy_from_slice(&moved.to_ne_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::lookup::NO_LABELS;
    use crate::codec::lookup::labels::check_labels;

    #[test]
    fn label_set_writes_the_same_bytes() {
        let labels = [("namespace", "default"), ("pod", "web"), ("k", "")];
        let set = LabelSet::new(labels).unwrap();
        assert_eq!((set.len(), set.is_empty()), (3, false));
        assert_eq!(set.to_vec()[1], Label::new("pod", "web"));
        let by_set = &set;
        assert_eq!(
            by_set.measure().unwrap(),
            measure_labels(labels.iter()).unwrap()
        );
        for strings_end in [0usize, 5, 8, 13, 100] {
            // Items starting at a non-zero offset of the buffer.
            let mut a = vec![0xAAu8; 24 + strings_end];
            let mut b = a.clone();
            labels.into_item_labels().write(&mut a, 24, 3);
            by_set.into_item_labels().write(&mut b, 24, 3);
            assert_eq!(a, b, "strings end {strings_end}");
            assert!(check_labels(&b[24..], strings_end, 3).is_ok());
        }
        assert!(LabelSet::new([("k\0", "v")]).is_err());
        let empty = LabelSet::new(NO_LABELS).unwrap();
        assert!(empty.is_empty());
        let mut v = vec![1u8; 3];
        (&empty).write(&mut v, 0, 0);
        assert_eq!(v, [1, 1, 1]);
    }
}
