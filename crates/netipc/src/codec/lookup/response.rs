//! The response-builder core shared by both lookup builders: the reused
//! payload buffer, header and directory bookkeeping, and the payload
//! budget planner that decides between the full item, `PAYLOAD_EXCEEDED`
//! and `OVERSIZED_ITEM`.
//!
//! # Budget rules
//!
//! The builder is reset for exactly `N` items and knows, for each item,
//! the size of its *minimal* shape (the non-`KNOWN` shape that only echoes
//! the key). It keeps this invariant after every added item:
//!
//! > current payload end (aligned) + minimal shapes of all items not yet
//! > added `<=` budget
//!
//! so the `PAYLOAD_EXCEEDED` tail always fits. When an item is added with
//! its full shape of `s` bytes:
//!
//! 1. if the builder is already in *exceeded* mode, the item is encoded as
//!    `PAYLOAD_EXCEEDED` (minimal shape);
//! 2. else if a response holding only this item would exceed the maximum
//!    budget (`16 + 8 + s > max_budget`), it is encoded as
//!    `OVERSIZED_ITEM` (minimal shape) and later items are still tried;
//! 3. else if the full shape plus the reserved minimal shapes of the later
//!    items fits the current budget, it is encoded in full;
//! 4. else it is encoded as `PAYLOAD_EXCEEDED` and the builder enters
//!    exceeded mode: every later item becomes `PAYLOAD_EXCEEDED` too.
//!
//! Items added with a non-`KNOWN` status use their minimal shape, which
//! always fits (or becomes `PAYLOAD_EXCEEDED` in exceeded mode). An item
//! added as `PAYLOAD_EXCEEDED` by the caller also enters exceeded mode.
//!
//! If even the all-minimal response (header, directory and the minimal
//! shape of every item) exceeds the budget, the builder starts in
//! exceeded mode and `finish` reports `Error::LimitExceeded`: the server
//! must answer `LIMIT_EXCEEDED` at the transport level instead.

use crate::bytes::align8;
use crate::error::{Error, Limit};
use crate::protocol::DIR_ENTRY_SIZE;

use super::LOOKUP_RESP_HDR_SIZE;
use super::directory::{RESP_GENERATION_OFF, pad_from, patch_entry, write_response_header};
use super::enums::{LookupStatus, PidStatus};
use super::label_set::ItemLabels;

/// The largest budget a payload can have (its length is a `u32`).
pub const MAX_BUDGET: usize = u32::MAX as usize;

/// How the next item must be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// The full shape with the requested status.
    Full,
    /// The minimal shape with the requested (non-`KNOWN`) status.
    Minimal,
    /// The minimal shape with status `PAYLOAD_EXCEEDED`.
    PayloadExceeded,
    /// The minimal shape with status `OVERSIZED_ITEM`.
    Oversized,
}

/// The item status enum of a lookup method, as the builder core needs it.
pub(crate) trait ItemStatus: Copy + PartialEq {
    /// The status of an item in its full shape.
    const KNOWN: Self;
    /// The status of an item the budget had no room for.
    const PAYLOAD_EXCEEDED: Self;
    /// The status of an item too large for any response.
    const OVERSIZED_ITEM: Self;
}

impl ItemStatus for LookupStatus {
    const KNOWN: Self = LookupStatus::Known;
    const PAYLOAD_EXCEEDED: Self = LookupStatus::PayloadExceeded;
    const OVERSIZED_ITEM: Self = LookupStatus::OversizedItem;
}

impl ItemStatus for PidStatus {
    const KNOWN: Self = PidStatus::Known;
    const PAYLOAD_EXCEEDED: Self = PidStatus::PayloadExceeded;
    const OVERSIZED_ITEM: Self = PidStatus::OversizedItem;
}

/// Buffer, directory and budget state of a lookup response builder.
#[derive(Debug, Clone)]
pub(crate) struct ResponseCore {
    buf: Vec<u8>,
    budget: usize,
    max_budget: usize,
    count: usize,
    next: usize,
    area_start: usize,
    /// Sum of the aligned minimal sizes of items `next..count`.
    rest_aligned: usize,
    /// Padding the last item's minimal shape would get if aligned.
    last_pad: usize,
    exceeded: bool,
    over_budget: bool,
    /// Keep every requested status (owned encoders): an explicit
    /// `PAYLOAD_EXCEEDED` does not enter exceeded mode.
    verbatim: bool,
}

impl ResponseCore {
    /// A core over `buf` (its contents are discarded), unlimited budget,
    /// reset for an empty response with generation 0.
    pub(crate) fn new(buf: Vec<u8>) -> Self {
        let mut c = ResponseCore {
            buf,
            budget: MAX_BUDGET,
            max_budget: MAX_BUDGET,
            count: 0,
            next: 0,
            area_start: LOOKUP_RESP_HDR_SIZE,
            rest_aligned: 0,
            last_pad: 0,
            exceeded: false,
            over_budget: false,
            verbatim: false,
        };
        c.reset(0, 0, core::iter::empty());
        c
    }

    /// Gives the buffer back.
    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// Sets the current and maximum budgets (clamped to [`MAX_BUDGET`];
    /// `max_budget` is raised to `budget` if lower). Used by the next reset.
    pub(crate) fn set_budget(&mut self, budget: usize, max_budget: usize) {
        self.budget = budget.min(MAX_BUDGET);
        self.max_budget = max_budget.min(MAX_BUDGET).max(self.budget);
    }

    /// Makes the core keep every requested status (see `verbatim`).
    pub(crate) fn set_verbatim(&mut self, verbatim: bool) {
        self.verbatim = verbatim;
    }

    /// The current budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// The maximum budget.
    pub(crate) fn max_budget(&self) -> usize {
        self.max_budget
    }

    /// Starts a response of `count` items whose minimal shapes have the
    /// given sizes (one per item, in order).
    pub(crate) fn reset(&mut self, generation: u64, count: u32, mins: impl Iterator<Item = usize>) {
        let n = usize::try_from(count).unwrap_or(usize::MAX);
        self.buf.clear();
        write_response_header(&mut self.buf, count, generation);
        // The directory is patched item by item.
        let area_start = n
            .checked_mul(DIR_ENTRY_SIZE)
            .and_then(|d| d.checked_add(LOOKUP_RESP_HDR_SIZE));
        self.count = n;
        self.next = 0;
        self.rest_aligned = 0;
        self.last_pad = 0;
        let mut overflow = area_start.is_none();
        for m in mins {
            match align8(m).and_then(|a| self.rest_aligned.checked_add(a).map(|r| (a, r))) {
                Some((a, r)) => {
                    self.rest_aligned = r;
                    self.last_pad = a - m;
                }
                None => overflow = true,
            }
        }
        let area_start = area_start.unwrap_or(usize::MAX);
        let all_min = area_start.checked_add(self.rest_aligned - self.last_pad);
        self.over_budget = overflow || all_min.is_none_or(|t| t > self.budget);
        self.exceeded = self.over_budget;
        self.buf.resize(area_start, 0);
        self.area_start = area_start;
    }

    /// Overwrites the generation in the response header (set by the last
    /// reset); items already added are kept.
    pub(crate) fn set_generation(&mut self, generation: u64) {
        if let Some(dst) = self
            .buf
            .get_mut(RESP_GENERATION_OFF..RESP_GENERATION_OFF + 8)
        {
            dst.copy_from_slice(&generation.to_ne_bytes());
        }
    }

    /// Number of items the response must hold.
    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Number of items added so far (also the index of the next item).
    #[inline]
    pub(crate) fn next_index(&self) -> usize {
        self.next
    }

    /// Whether the builder is in exceeded mode (every further item becomes
    /// `PAYLOAD_EXCEEDED`).
    #[inline]
    pub(crate) fn is_exceeded(&self) -> bool {
        self.exceeded
    }

    /// Whether even the all-minimal response exceeds the budget.
    #[inline]
    pub(crate) fn is_over_budget(&self) -> bool {
        self.over_budget
    }

    /// Current payload length.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Fails unless another item may be added.
    #[inline]
    pub(crate) fn check_room(&self) -> Result<usize, Error> {
        if self.next < self.count {
            Ok(self.next)
        } else {
            Err(Error::InvalidState("all response items were already added"))
        }
    }

    /// The key of request item `index` (looked up by the caller with the
    /// request view's `get`), which must be the next item to add.
    #[inline]
    pub(crate) fn next_request_key<K>(&self, index: usize, key: Option<K>) -> Result<K, Error> {
        if index != self.next {
            return Err(Error::InvalidArgument(
                "request items must be added in request order",
            ));
        }
        key.ok_or(Error::InvalidArgument("request item index out of range"))
    }

    /// Decides how the next item is encoded and commits the decision.
    ///
    /// `min` is the size of its minimal shape, `full` the size of its full
    /// shape, or `None` if the caller asked for a non-`KNOWN` status.
    /// `exceeds` says the caller asked for `PAYLOAD_EXCEEDED` itself: the
    /// builder then enters exceeded mode as if the budget had been reached.
    /// The caller has checked [`check_room`](Self::check_room) and must
    /// then write exactly one item between [`begin_item`](Self::begin_item)
    /// and [`end_item`](Self::end_item).
    pub(crate) fn place(&mut self, min: usize, full: Option<usize>, exceeds: bool) -> Placement {
        let last = self.next + 1 == self.count;
        let a_min = align8(min).unwrap_or(usize::MAX);
        let rest_after = self.rest_aligned.saturating_sub(a_min);
        let tail_after = if last {
            0
        } else {
            rest_after.saturating_sub(self.last_pad)
        };
        self.rest_aligned = rest_after;
        if self.exceeded {
            return Placement::PayloadExceeded;
        }
        let Some(full) = full else {
            self.exceeded = exceeds && !self.verbatim;
            return Placement::Minimal;
        };
        let alone = full.checked_add(LOOKUP_RESP_HDR_SIZE + DIR_ENTRY_SIZE);
        if alone.is_none_or(|a| a > self.max_budget) {
            return Placement::Oversized;
        }
        let start = align8(self.buf.len()).unwrap_or(usize::MAX);
        let need = start.checked_add(full).and_then(|end| {
            if last {
                Some(end)
            } else {
                align8(end).and_then(|e| e.checked_add(tail_after))
            }
        });
        if need.is_some_and(|n| n <= self.budget) {
            Placement::Full
        } else {
            self.exceeded = true;
            Placement::PayloadExceeded
        }
    }

    /// Places and appends the next item, which the caller has validated
    /// (after [`check_room`](Self::check_room)), and returns the status
    /// actually encoded.
    ///
    /// `min` is the size of the item's minimal shape; `full_len` gives the
    /// size of its full shape and is asked only for a `KNOWN` `status`.
    /// `write(buf, status, full)` appends the item header and strings with
    /// the encoded `status`, in the full shape when `full` (the labels are
    /// then appended here) and in the minimal shape otherwise.
    #[inline]
    pub(crate) fn add_item<S: ItemStatus, L: ItemLabels>(
        &mut self,
        status: S,
        min: usize,
        full_len: impl FnOnce() -> usize,
        labels: L,
        label_count: usize,
        write: impl FnOnce(&mut Vec<u8>, S, bool),
    ) -> S {
        let full = (status == S::KNOWN).then(full_len);
        let placement = self.place(min, full, status == S::PAYLOAD_EXCEEDED);
        let (buf, start) = self.begin_item();
        let encoded = match placement {
            Placement::Full => {
                write(buf, status, true);
                labels.write(buf, start, label_count);
                status
            }
            Placement::Minimal => {
                write(buf, status, false);
                status
            }
            Placement::PayloadExceeded => {
                write(buf, S::PAYLOAD_EXCEEDED, false);
                S::PAYLOAD_EXCEEDED
            }
            Placement::Oversized => {
                write(buf, S::OVERSIZED_ITEM, false);
                S::OVERSIZED_ITEM
            }
        };
        self.end_item(start);
        encoded
    }

    /// Pads to the next item boundary and returns the buffer and the item
    /// start offset.
    #[inline]
    pub(crate) fn begin_item(&mut self) -> (&mut Vec<u8>, usize) {
        pad_from(&mut self.buf, 0);
        let start = self.buf.len();
        (&mut self.buf, start)
    }

    /// Records the item written since `start` in the directory.
    #[inline]
    pub(crate) fn end_item(&mut self, start: usize) {
        let len = self.buf.len() - start;
        let off = start - self.area_start;
        patch_entry(&mut self.buf, 0, LOOKUP_RESP_HDR_SIZE, self.next, off, len);
        self.next += 1;
    }

    /// The finished payload.
    ///
    /// Fails with `InvalidState` if fewer items than announced were added,
    /// and with `LimitExceeded` if even the all-minimal response exceeds
    /// the budget.
    pub(crate) fn finish(&self) -> Result<&[u8], Error> {
        if self.next != self.count {
            return Err(Error::InvalidState(
                "fewer response items were added than the request holds",
            ));
        }
        if self.over_budget || self.buf.len() > self.budget {
            return Err(Error::LimitExceeded {
                limit: Limit::ResponsePayload,
                max: self.budget as u64,
                actual: self.buf.len() as u64,
            });
        }
        Ok(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_min(c: &mut ResponseCore, min: usize, full: Option<usize>) -> Placement {
        c.check_room().unwrap();
        let p = c.place(min, full, false);
        let size = if p == Placement::Full {
            full.unwrap()
        } else {
            min
        };
        let (buf, start) = c.begin_item();
        buf.resize(start + size, 0);
        c.end_item(start);
        p
    }

    #[test]
    fn tail_always_fits() {
        // 3 items of minimal size 30 (aligned 32), full size 100.
        // all-minimal: 16 + 24 + 32 + 32 + 30 = 134.
        for budget in 134..400 {
            let mut c = ResponseCore::new(Vec::new());
            c.set_budget(budget, MAX_BUDGET);
            c.reset(1, 3, [30usize, 30, 30].into_iter());
            assert!(!c.is_over_budget());
            let mut seen_pe = false;
            for _ in 0..3 {
                let p = add_min(&mut c, 30, Some(100));
                if seen_pe {
                    assert_eq!(p, Placement::PayloadExceeded);
                }
                seen_pe |= p == Placement::PayloadExceeded;
            }
            let out = c.finish().unwrap();
            assert!(out.len() <= budget, "budget {budget} len {}", out.len());
        }
    }

    #[test]
    fn exact_fit_uses_full_shape() {
        // header 16 + dir 16 = 32; full item 0: 100 -> aligned 104 -> 136;
        // last item minimal 30 -> 166.
        let mut c = ResponseCore::new(Vec::new());
        c.set_budget(166, 166);
        c.reset(0, 2, [30usize, 30].into_iter());
        assert_eq!(add_min(&mut c, 30, Some(100)), Placement::Full);
        assert_eq!(add_min(&mut c, 30, Some(100)), Placement::PayloadExceeded);
        assert_eq!(c.finish().unwrap().len(), 166);

        let mut c = ResponseCore::new(Vec::new());
        c.set_budget(165, 165);
        c.reset(0, 2, [30usize, 30].into_iter());
        assert_eq!(add_min(&mut c, 30, Some(100)), Placement::PayloadExceeded);
    }

    #[test]
    fn oversized_against_max_budget() {
        let mut c = ResponseCore::new(Vec::new());
        c.set_budget(200, 100);
        assert_eq!(c.max_budget(), 200);
        c.set_budget(100, 1000);
        assert_eq!((c.budget(), c.max_budget()), (100, 1000));
        c.reset(0, 1, [30usize].into_iter());
        // alone: 24 + 977 = 1001 > 1000
        assert_eq!(add_min(&mut c, 30, Some(977)), Placement::Oversized);
        assert!(!c.is_exceeded());
        c.reset(0, 1, [30usize].into_iter());
        // alone fits max but not the current budget: retriable
        assert_eq!(add_min(&mut c, 30, Some(976)), Placement::PayloadExceeded);
        assert!(c.is_exceeded());
    }

    #[test]
    fn over_budget_and_state_errors() {
        let mut c = ResponseCore::new(Vec::new());
        assert_eq!(c.finish().unwrap().len(), LOOKUP_RESP_HDR_SIZE);
        assert!(c.check_room().is_err());
        c.set_budget(60, 60);
        c.reset(0, 2, [30usize, 30].into_iter());
        assert!(c.is_over_budget() && c.is_exceeded());
        assert!(matches!(c.finish(), Err(Error::InvalidState(_))));
        assert_eq!(add_min(&mut c, 30, Some(40)), Placement::PayloadExceeded);
        assert_eq!(add_min(&mut c, 30, None), Placement::PayloadExceeded);
        assert!(matches!(c.finish(), Err(Error::LimitExceeded { .. })));
        c.set_budget(10, 10);
        c.reset(0, 0, core::iter::empty());
        assert!(matches!(c.finish(), Err(Error::LimitExceeded { .. })));
        assert_eq!(c.len(), LOOKUP_RESP_HDR_SIZE);
        assert_eq!(c.count(), 0);
        assert_eq!(c.next_index(), 0);
        assert_eq!(c.into_vec().len(), LOOKUP_RESP_HDR_SIZE);
    }
}
