//! Multi-message results: reused payload storage with an O(1) item index,
//! and the lookup subcall driver shared by `CGROUPS_LOOKUP` and
//! `APPS_LOOKUP` (split to the request budget, re-ask the
//! `PAYLOAD_EXCEEDED` suffix, grow on a first-item `PAYLOAD_EXCEEDED`,
//! exact generation matching, logical-call ceilings).

use crate::error::{Error, Limit, Result, Violation};

use super::core::{CallCtx, Core};

/// Where one item lives: payload buffer `buf`, bytes `start..start + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemRef {
    buf: u32,
    start: u32,
    len: u32,
}

/// Payload buffers kept across calls plus a per-item index.
///
/// Buffers are cleared and refilled, never freed, so a warm client stores
/// results without allocating.
#[derive(Debug, Default)]
pub(crate) struct Store {
    bufs: Vec<Vec<u8>>,
    used: usize,
    index: Vec<ItemRef>,
    bytes: u64,
}

/// `inner`'s byte range inside `outer`, if it lies inside it.
pub(crate) fn range_in(outer: &[u8], inner: &[u8]) -> Option<(u32, u32)> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    if end > outer.len() {
        return None;
    }
    Some((u32::try_from(start).ok()?, u32::try_from(inner.len()).ok()?))
}

impl Store {
    /// Forgets every stored item, keeping the buffers.
    pub fn reset(&mut self) {
        self.used = 0;
        self.index.clear();
        self.bytes = 0;
    }

    /// Frees everything.
    pub fn release(&mut self) {
        *self = Store::default();
    }

    /// The next free buffer, cleared.
    pub fn slot(&mut self) -> &mut Vec<u8> {
        if self.used == self.bufs.len() {
            self.bufs.push(Vec::new());
        }
        let b = &mut self.bufs[self.used];
        b.clear();
        b
    }

    /// The contents of the next free buffer (as filled through
    /// [`Store::slot`]).
    pub fn current(&self) -> &[u8] {
        self.bufs.get(self.used).map_or(&[], |b| b.as_slice())
    }

    /// Payload bytes committed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Commits the current buffer with items at `ranges` (offset, length).
    pub fn commit(&mut self, ranges: &[(u32, u32)]) {
        let buf = u32::try_from(self.used).unwrap_or(u32::MAX);
        self.index.extend(
            ranges
                .iter()
                .map(|&(start, len)| ItemRef { buf, start, len }),
        );
        self.bytes = self.bytes.saturating_add(self.current().len() as u64);
        self.used += 1;
    }

    /// Number of indexed items.
    #[inline]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The bytes of item `i`.
    #[inline]
    pub fn item(&self, i: usize) -> Option<&[u8]> {
        let r = self.index.get(i)?;
        let start = r.start as usize;
        self.bufs
            .get(r.buf as usize)?
            .get(start..start.checked_add(r.len as usize)?)
    }
}

/// What a lookup response scan found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// The response generation.
    pub generation: u64,
    /// Items before the first `PAYLOAD_EXCEEDED` (all if none).
    pub accepted: usize,
}

/// Checks the item count of a lookup subresponse.
fn check_count(got: usize, expect: usize) -> Result<()> {
    if got == expect {
        Ok(())
    } else {
        Err(Violation::ItemCountMismatch.into())
    }
}

/// A decoded lookup response item as a subresponse scan sees it; `K` is
/// the request key type.
pub(crate) trait ScannedItem<'p, K: ?Sized> {
    /// Whether the item echoes request key `key`.
    fn echoes(&self, key: &K) -> bool;
    /// Whether the item is `PAYLOAD_EXCEEDED`.
    fn payload_exceeded(&self) -> bool;
    /// The item's bytes (inside the payload).
    fn bytes(&self) -> &'p [u8];
}

/// Scans the `items` of one decoded lookup subresponse (of `payload`,
/// with `generation`) asked for `keys`: checks the item count and every
/// echoed key, and pushes the range of each item before the
/// `PAYLOAD_EXCEEDED` suffix.
pub(crate) fn scan_items<'p, I, K>(
    payload: &'p [u8],
    generation: u64,
    items: impl ExactSizeIterator<Item = I>,
    keys: &[K],
    ranges: &mut Vec<(u32, u32)>,
) -> Result<Scan>
where
    I: ScannedItem<'p, K>,
{
    let len = items.len();
    check_count(len, keys.len())?;
    let mut suffix = SuffixTracker::default();
    for (j, (item, key)) in items.zip(keys).enumerate() {
        if !item.echoes(key) {
            return Err(Violation::EchoMismatch.into());
        }
        if suffix.step(j, item.payload_exceeded())? {
            let r = range_in(payload, item.bytes())
                .ok_or(Error::InvalidState("lookup item outside its payload"))?;
            ranges.push(r);
        }
    }
    Ok(Scan {
        generation,
        accepted: suffix.accepted(len),
    })
}

/// Defines a result view `$view` over the items of a client's [`Store`]
/// (plus the extra `$field`s), decoding item `i` with `$decode`
/// (`&'a [u8] -> Option<$item<'a>>`): `len`, `is_empty`, `get`, `item`
/// (panics with "`$what` `{i}` out of range") and `iter`, each documented
/// by the caller.
macro_rules! store_view {
    (
        $(#[$meta:meta])*
        pub struct $view:ident { $($field:ident: $fty:ty),* }
        items: $item:ident = $decode:expr, $what:literal;
        $(#[$len_doc:meta])* len;
        $(#[$empty_doc:meta])* is_empty;
        $(#[$get_doc:meta])* get;
        $(#[$item_doc:meta])* item;
        $(#[$iter_doc:meta])* iter;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a> {
            store: &'a $crate::service::client::stitch::Store,
            $($field: $fty,)*
        }

        impl<'a> $view<'a> {
            $(#[$len_doc])*
            #[inline]
            pub fn len(&self) -> usize {
                self.store.len()
            }

            $(#[$empty_doc])*
            #[inline]
            pub fn is_empty(&self) -> bool {
                self.store.len() == 0
            }

            $(#[$get_doc])*
            #[inline]
            pub fn get(&self, i: usize) -> Option<$item<'a>> {
                self.store.item(i).and_then($decode)
            }

            $(#[$item_doc])*
            #[inline]
            pub fn item(&self, i: usize) -> $item<'a> {
                match self.get(i) {
                    Some(v) => v,
                    None => panic!("{} {i} out of range", $what),
                }
            }

            $(#[$iter_doc])*
            pub fn iter(&self) -> impl Iterator<Item = $item<'a>> + use<'a> {
                let v = *self;
                (0..v.len()).filter_map(move |i| v.get(i))
            }
        }
    };
}
pub(crate) use store_view;

/// Tracks the `PAYLOAD_EXCEEDED` suffix while scanning items in order:
/// once an item is `PAYLOAD_EXCEEDED` every later one must be too.
#[derive(Debug, Default)]
struct SuffixTracker {
    first: Option<usize>,
}

impl SuffixTracker {
    /// Records item `j`; `Ok(true)` if it is accepted (before the suffix).
    pub fn step(&mut self, j: usize, payload_exceeded: bool) -> Result<bool> {
        match (self.first, payload_exceeded) {
            (None, false) => Ok(true),
            (None, true) => {
                self.first = Some(j);
                Ok(false)
            }
            (Some(_), true) => Ok(false),
            (Some(_), false) => Err(Violation::UnexpectedResponse.into()),
        }
    }

    /// The number of accepted items of a response of `len` items.
    pub fn accepted(&self, len: usize) -> usize {
        self.first.unwrap_or(len)
    }
}

fn ceiling(max: u64, actual: u64) -> Error {
    Error::LimitExceeded {
        limit: Limit::LookupCeiling,
        max,
        actual,
    }
}

/// The non-enriched answers of one lookup subrequest may take at most
/// `1 / MIN_SHAPE_SHARE` of the agreed response budget, leaving the rest
/// for enriched items (the server reserves room for every non-enriched
/// answer before it encodes an enriched one).
pub(crate) const MIN_SHAPE_SHARE: usize = 2;

/// Scans one lookup subresponse: `(payload, accepted item ranges)`.
pub(crate) type ScanFn<'s> = dyn FnMut(&[u8], &mut Vec<(u32, u32)>) -> Result<Scan> + 's;

/// The state of one logical lookup call.
#[derive(Debug, Default)]
pub(crate) struct Stitch {
    pub store: Store,
    ranges: Vec<(u32, u32)>,
    generation: Option<u64>,
    subcalls: u32,
}

impl Stitch {
    /// Starts a logical call of `n` keys: checks the item ceiling (before
    /// any I/O) and forgets the previous result.
    pub fn begin(&mut self, core: &Core, n: usize) -> Result<()> {
        self.store.reset();
        self.generation = None;
        self.subcalls = 0;
        let max = core.cfg().lookup_max_items;
        if n > max as usize {
            return Err(ceiling(max.into(), n as u64));
        }
        Ok(())
    }

    /// Level 1 subcalls made so far in this logical call.
    pub fn subcalls(&self) -> u32 {
        self.subcalls
    }

    /// The generation shared by every subresponse (0 if none was made).
    pub fn generation(&self) -> u64 {
        self.generation.unwrap_or(0)
    }

    fn check_bytes(&self, core: &Core, more: usize) -> Result<()> {
        let max = core.cfg().lookup_max_response_bytes;
        let total = self.store.bytes().saturating_add(more as u64);
        if total > max {
            return Err(ceiling(max, total));
        }
        Ok(())
    }

    /// Sends one subrequest of `expect` keys and stores its response.
    ///
    /// `scan` decodes the payload, verifies the item count and every
    /// echoed key, pushes the (offset, length) of each accepted item and
    /// reports the generation and the accepted count.
    ///
    /// A response whose first item is `PAYLOAD_EXCEEDED` is never re-asked
    /// as a suffix. With several keys it returns 0: the caller re-asks the
    /// first key alone (the other keys' reserved answers may have been
    /// what crowded it out). With one key it is an overflow: the response
    /// budget is grown by reconnecting and the key sent again; when growth
    /// stops, the call fails. Returns the accepted count.
    pub fn subcall(
        &mut self,
        core: &mut Core,
        ctx: &mut CallCtx,
        request: &[u8],
        expect: usize,
        scan: &mut ScanFn<'_>,
    ) -> Result<usize> {
        loop {
            let max = core.cfg().lookup_max_subcalls;
            if self.subcalls >= max {
                return Err(ceiling(max.into(), u64::from(self.subcalls) + 1));
            }
            self.subcalls += 1;
            core.exchange(ctx, request, 1, self.store.slot())?;
            self.ranges.clear();
            let s = scan(self.store.current(), &mut self.ranges)?;
            if s.accepted == 0 && expect > 1 {
                return Ok(0);
            }
            if s.accepted == 0 && expect == 1 {
                let err = core.response_overflow_error();
                core.overflow(ctx, err)?;
                continue;
            }
            match self.generation {
                None => self.generation = Some(s.generation),
                Some(g) if g != s.generation => {
                    return Err(Violation::GenerationMismatch.into());
                }
                Some(_) => {}
            }
            self.check_bytes(core, self.store.current().len())?;
            self.store.commit(&self.ranges);
            return Ok(s.accepted);
        }
    }

    /// Stores a locally synthesized single-item payload whose item spans
    /// `range` (counted against the stitched-bytes ceiling).
    pub fn push_local(&mut self, core: &Core, payload: &[u8], range: (u32, u32)) -> Result<()> {
        self.check_bytes(core, payload.len())?;
        self.store.slot().extend_from_slice(payload);
        self.store.commit(&[range]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_index() {
        let mut s = Store::default();
        s.slot().extend_from_slice(b"hello world");
        s.commit(&[(0, 5), (6, 5)]);
        s.slot().extend_from_slice(b"xyz");
        s.commit(&[(1, 2)]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.item(0), Some(&b"hello"[..]));
        assert_eq!(s.item(1), Some(&b"world"[..]));
        assert_eq!(s.item(2), Some(&b"yz"[..]));
        assert_eq!(s.item(3), None);
        assert_eq!(s.bytes(), 14);
        s.reset();
        assert_eq!(s.len(), 0);
        assert_eq!(s.current(), b"hello world");
        assert!(s.slot().is_empty());
    }

    #[test]
    fn ranges_and_suffix() {
        let outer = [0u8; 16];
        assert_eq!(range_in(&outer, &outer[3..7]), Some((3, 4)));
        assert_eq!(range_in(&outer[..8], &outer[6..12]), None);
        assert_eq!(range_in(&outer[4..], &outer[..2]), None);
        let mut t = SuffixTracker::default();
        assert!(t.step(0, false).unwrap());
        assert!(!t.step(1, true).unwrap());
        assert!(!t.step(2, true).unwrap());
        assert!(t.step(3, false).is_err());
        assert_eq!(t.accepted(4), 1);
        assert_eq!(SuffixTracker::default().accepted(4), 4);
    }
}
