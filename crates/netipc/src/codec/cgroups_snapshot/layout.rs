//! Size arithmetic and item writing shared by the encoder and the builder.

use super::{
    MAX_ENCODED_PAYLOAD, SNAPSHOT_ITEM_HDR_SIZE, SNAPSHOT_ITEM_MIN_SIZE, SNAPSHOT_RESP_HDR_SIZE,
};
use crate::bytes::{Writer, align8};
use crate::error::{Error, Limit};
use crate::protocol::{DIR_ENTRY_SIZE, LAYOUT_VERSION};

/// Size of an item with strings of the given lengths, or `None` on overflow.
#[inline]
pub(super) fn item_size(name_len: usize, path_len: usize) -> Option<usize> {
    SNAPSHOT_ITEM_MIN_SIZE
        .checked_add(name_len)?
        .checked_add(path_len)
}

/// Where the packed area ends after appending an item to an area that
/// currently ends at `packed` (the item starts at `align8(packed)`).
#[inline]
pub(super) fn packed_item_end(packed: usize, name_len: usize, path_len: usize) -> Option<usize> {
    align8(packed)?.checked_add(item_size(name_len, path_len)?)
}

/// Total payload size for `count` items and a packed area of `packed`
/// bytes, or `None` if it overflows or exceeds the `u32` payload limit.
#[inline]
pub(super) fn finished_len(count: usize, packed: usize) -> Option<usize> {
    let total = count
        .checked_mul(DIR_ENTRY_SIZE)?
        .checked_add(SNAPSHOT_RESP_HDR_SIZE)?
        .checked_add(packed)?;
    (total <= MAX_ENCODED_PAYLOAD).then_some(total)
}

pub(super) fn too_large(actual: usize, max: usize) -> Error {
    Error::LimitExceeded {
        limit: Limit::ResponsePayload,
        max: max as u64,
        actual: actual as u64,
    }
}

/// Writes one item (header + strings). Lengths must already be checked to
/// fit the payload limit, hence `u32`.
#[inline]
pub(super) fn write_item(
    w: &mut Writer<'_>,
    hash: u32,
    options: u32,
    enabled: u32,
    name: &[u8],
    path: &[u8],
) {
    let name_len = to_u32_bounded(name.len());
    let path_len = to_u32_bounded(path.len());
    let name_off = SNAPSHOT_ITEM_HDR_SIZE as u32;
    let path_off = name_off.saturating_add(name_len).saturating_add(1);
    w.u16(LAYOUT_VERSION);
    w.u16(0);
    w.u32(hash);
    w.u32(options);
    w.u32(enabled);
    w.u32(name_off);
    w.u32(name_len);
    w.u32(path_off);
    w.u32(path_len);
    w.bytes(name);
    w.zeros(1);
    w.bytes(path);
    w.zeros(1);
}

/// Converts a value already proven `<= u32::MAX` (it is bounded by a
/// checked payload total); saturates instead of truncating.
#[inline]
pub(super) fn to_u32_bounded(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
