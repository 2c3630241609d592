//! Validation steps every lookup response item shares: the fixed header
//! (length, layout, status and reserved fields) and the item strings
//! (the packed fast path, else the exact per-string checks).

use crate::error::DecodeError;

use super::directory::{check_layout, rd_u16};
use super::labels::{Span, check_disjoint, check_string};
use super::packed::packed_strings;

/// The fixed `N`-byte header of `item` with its layout checked. Header
/// fields are then read from a fixed-size array, so their bounds checks
/// fold away.
#[inline(always)]
pub(crate) fn item_header<'a, const N: usize>(
    item: &'a [u8],
    what: &'static str,
) -> Result<&'a [u8; N], DecodeError> {
    let Some(h) = item.first_chunk::<N>() else {
        return Err(DecodeError::Truncated {
            what,
            need: N,
            have: item.len(),
        });
    };
    check_layout(rd_u16(h, 0), what)?;
    Ok(h)
}

/// A status field: `from_u16(raw)`, or `UnknownStatus` naming `what`.
#[inline(always)]
pub(crate) fn item_status<S>(
    raw: u16,
    from_u16: fn(u16) -> Option<S>,
    what: &'static str,
) -> Result<S, DecodeError> {
    from_u16(raw).ok_or(DecodeError::UnknownStatus {
        what,
        found: u32::from(raw),
    })
}

/// Rejects a non-zero reserved field.
#[inline(always)]
pub(crate) fn check_reserved(value: u32, field: &'static str) -> Result<(), DecodeError> {
    if value == 0 {
        Ok(())
    } else {
        Err(DecodeError::NonZeroReserved { field })
    }
}

/// The spans of an item's `N` strings, given as `(offset, length)` header
/// fields and named `names` in errors: the packed fast path when it
/// applies, else each string checked on its own (in order) and then all
/// of them for overlap (`overlap` names that rule).
#[inline(always)]
pub(crate) fn item_strings<const N: usize>(
    item: &[u8],
    hdr: usize,
    fields: [(u32, u32); N],
    names: [&'static str; N],
    overlap: &'static str,
) -> Result<[Span; N], DecodeError> {
    if let Some(spans) = packed_strings(item, hdr, fields) {
        return Ok(spans);
    }
    let mut spans = [Span { start: 0, end: 0 }; N];
    for (span, ((off, len), name)) in spans.iter_mut().zip(fields.into_iter().zip(names)) {
        *span = check_string(item, hdr, off, len, name)?;
    }
    check_disjoint(&spans, overlap)?;
    Ok(spans)
}
