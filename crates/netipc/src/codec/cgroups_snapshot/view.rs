//! Zero-copy snapshot views over a received payload.

use super::{
    CgroupItem, CgroupsSnapshot, HDR_FLAGS, HDR_GENERATION, HDR_ITEM_COUNT, HDR_LAYOUT,
    HDR_RESERVED, HDR_SYSTEMD, ITEM_ENABLED, ITEM_FLAGS, ITEM_HASH, ITEM_LAYOUT, ITEM_NAME_LEN,
    ITEM_NAME_OFF, ITEM_OPTIONS, ITEM_PATH_LEN, ITEM_PATH_OFF, SNAPSHOT_ITEM_HDR_SIZE,
    SNAPSHOT_RESP_HDR_SIZE,
};
use crate::bytes::Reader;
use crate::error::DecodeError;
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, LAYOUT_VERSION};

use std::iter::FusedIterator;

/// One decoded snapshot item: **borrowed and ephemeral**.
///
/// `name` and `path` point into the response payload buffer (without their
/// NULs, which the decoder verified are present right after them). The view
/// is valid only while that buffer is alive and unchanged (`'a`): for
/// direct codec use, as long as you keep the buffer; for a Level 2 client,
/// until the next call on the same client or its close. Copy immediately
/// (see [`CgroupItemView::to_owned`]) if the data is needed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CgroupItemView<'a> {
    /// Identity hash (opaque; compare, never recompute).
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether this cgroup is enabled.
    pub enabled: u32,
    /// Name bytes, without NUL.
    pub name: &'a [u8],
    /// Path bytes, without NUL.
    pub path: &'a [u8],
}

impl<'a> CgroupItemView<'a> {
    /// The name as UTF-8, or `None` if it is not valid UTF-8.
    #[inline]
    pub fn name_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.name).ok()
    }

    /// The path as UTF-8, or `None` if it is not valid UTF-8.
    #[inline]
    pub fn path_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.path).ok()
    }

    /// Copies the item into an owned [`CgroupItem`].
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> CgroupItem {
        CgroupItem {
            hash: self.hash,
            options: self.options,
            enabled: self.enabled,
            name: self.name.to_vec(),
            path: self.path.to_vec(),
        }
    }

    /// Copies the item into `dst`, reusing its string allocations.
    pub fn copy_into(&self, dst: &mut CgroupItem) {
        dst.hash = self.hash;
        dst.options = self.options;
        dst.enabled = self.enabled;
        dst.name.clear();
        dst.name.extend_from_slice(self.name);
        dst.path.clear();
        dst.path.extend_from_slice(self.path);
    }
}

/// Parses and validates one item. `item` is exactly the directory range.
fn parse_item(item: &[u8]) -> Result<CgroupItemView<'_>, DecodeError> {
    let r = Reader::new(item, "snapshot item header");
    r.require(SNAPSHOT_ITEM_HDR_SIZE)?;
    let layout_version = r.u16(ITEM_LAYOUT)?;
    if layout_version != LAYOUT_VERSION {
        return Err(DecodeError::BadLayoutVersion {
            what: "snapshot item",
            found: layout_version,
        });
    }
    if r.u16(ITEM_FLAGS)? != 0 {
        return Err(DecodeError::NonZeroReserved {
            field: "snapshot item flags",
        });
    }
    let name_off = r.u32(ITEM_NAME_OFF)? as usize;
    let name_len = r.u32(ITEM_NAME_LEN)? as usize;
    let path_off = r.u32(ITEM_PATH_OFF)? as usize;
    let path_len = r.u32(ITEM_PATH_LEN)? as usize;
    let name = item_string(&r, name_off, name_len, "snapshot item name")?;
    let path = item_string(&r, path_off, path_len, "snapshot item path")?;
    // Both ranges (with NUL) lie inside `item`, so these sums cannot overflow.
    let name_end = name_off + name_len + 1;
    let path_end = path_off + path_len + 1;
    if name_off < path_end && path_off < name_end {
        return Err(DecodeError::Overlap {
            what: "snapshot item name and path",
        });
    }
    Ok(CgroupItemView {
        hash: r.u32(ITEM_HASH)?,
        options: r.u32(ITEM_OPTIONS)?,
        enabled: r.u32(ITEM_ENABLED)?,
        name,
        path,
    })
}

/// A string of an item: must lie in the variable area (at or after the
/// 32-byte header) and be followed by a NUL inside the item.
#[inline]
fn item_string<'a>(
    r: &Reader<'a>,
    off: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    if off < SNAPSHOT_ITEM_HDR_SIZE {
        return Err(DecodeError::OutOfBounds { what });
    }
    r.cstr(off, len, what)
}

/// A decoded CGROUPS_SNAPSHOT response: **borrowed and ephemeral**.
///
/// The view borrows the response payload buffer and is valid only while
/// that buffer is alive and unchanged (`'a`). The owning layer sets the
/// real lifetime: for direct codec use or Level 1 caller-managed buffers,
/// as long as the caller keeps the buffer; for a Level 2 client, until the
/// next typed call on the same client context or its close. Copy
/// immediately ([`CgroupsSnapshotView::to_owned`] or
/// [`CgroupsSnapshotView::copy_into`]) if the data is needed later.
///
/// [`CgroupsSnapshotView::decode`] validates the header, the directory and
/// every item up front, without allocating, so item access afterwards
/// cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupsSnapshotView<'a> {
    dir: &'a [u8],
    packed: &'a [u8],
    item_count: u32,
    systemd_enabled: u32,
    generation: u64,
}

impl<'a> CgroupsSnapshotView<'a> {
    /// Decodes and fully validates a response payload without copying.
    ///
    /// Bytes after the last item are tolerated (they belong to no item).
    ///
    /// # Errors
    ///
    /// - [`DecodeError::Truncated`]: payload shorter than the 24-byte header,
    ///   or an item shorter than its 32-byte header;
    /// - [`DecodeError::BadLayoutVersion`]: snapshot or item layout is not 1;
    /// - [`DecodeError::NonZeroReserved`]: snapshot flags/reserved or item
    ///   flags not 0;
    /// - [`DecodeError::BadItemCount`]: the directory does not fit the payload;
    /// - [`DecodeError::BadAlignment`]: an item offset is not 8-byte aligned;
    /// - [`DecodeError::OutOfBounds`]: a directory entry runs past the packed
    ///   area, or a string starts inside the item header or runs (with its
    ///   NUL) past its item;
    /// - [`DecodeError::MissingNul`]: a string is not followed by NUL;
    /// - [`DecodeError::Overlap`]: an item's name and path (with NULs) overlap.
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(payload, "CGROUPS_SNAPSHOT response header");
        r.require(SNAPSHOT_RESP_HDR_SIZE)?;
        let layout_version = r.u16(HDR_LAYOUT)?;
        if layout_version != LAYOUT_VERSION {
            return Err(DecodeError::BadLayoutVersion {
                what: "CGROUPS_SNAPSHOT response",
                found: layout_version,
            });
        }
        if r.u16(HDR_FLAGS)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "CGROUPS_SNAPSHOT response flags",
            });
        }
        if r.u32(HDR_RESERVED)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "CGROUPS_SNAPSHOT response reserved",
            });
        }
        let item_count = r.u32(HDR_ITEM_COUNT)?;
        let systemd_enabled = r.u32(HDR_SYSTEMD)?;
        let generation = r.u64(HDR_GENERATION)?;

        const DIR_TOO_BIG: DecodeError = DecodeError::BadItemCount {
            what: "item directory exceeds the payload",
        };
        let dir_len = (item_count as usize)
            .checked_mul(DIR_ENTRY_SIZE)
            .ok_or(DIR_TOO_BIG)?;
        let dir_end = SNAPSHOT_RESP_HDR_SIZE
            .checked_add(dir_len)
            .ok_or(DIR_TOO_BIG)?;
        let (dir, packed) = match payload.get(SNAPSHOT_RESP_HDR_SIZE..) {
            Some(rest) if rest.len() >= dir_len => rest.split_at(dir_len),
            _ => return Err(DIR_TOO_BIG),
        };
        debug_assert_eq!(dir_end + packed.len(), payload.len());

        let view = CgroupsSnapshotView {
            dir,
            packed,
            item_count,
            systemd_enabled,
            generation,
        };
        for i in 0..view.len() {
            view.checked_item(i)?;
        }
        Ok(view)
    }

    /// Reads directory entry `i` and parses its item.
    fn checked_item(&self, i: usize) -> Result<CgroupItemView<'a>, DecodeError> {
        let d = Reader::new(self.dir, "snapshot item directory");
        let base = i
            .checked_mul(DIR_ENTRY_SIZE)
            .ok_or(DecodeError::OutOfBounds {
                what: "snapshot item index",
            })?;
        let off = d.u32(base)? as usize;
        let len = d.u32(base + 4)? as usize;
        if off % ITEM_ALIGN != 0 {
            return Err(DecodeError::BadAlignment {
                what: "snapshot item offset",
            });
        }
        let item = Reader::new(self.packed, "snapshot packed item area").bytes(
            off,
            len,
            "snapshot item directory entry",
        )?;
        parse_item(item)
    }

    /// Number of items (the header's `item_count`).
    #[inline]
    pub fn item_count(&self) -> u32 {
        self.item_count
    }

    /// Number of items, as `usize`.
    #[inline]
    pub fn len(&self) -> usize {
        self.item_count as usize
    }

    /// Whether the snapshot has no items.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.item_count == 0
    }

    /// Whether systemd cgroup integration is active.
    #[inline]
    pub fn systemd_enabled(&self) -> u32 {
        self.systemd_enabled
    }

    /// Snapshot generation / version number.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Item `index`, or `None` if `index >= len()`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<CgroupItemView<'a>> {
        if index >= self.len() {
            return None;
        }
        // Validated in `decode`; cannot fail for an in-range index.
        self.checked_item(index).ok()
    }

    /// Item `index`.
    ///
    /// # Panics
    ///
    /// If `index >= len()` (like slice indexing). Use [`Self::get`] for a
    /// non-panicking lookup.
    #[inline]
    pub fn item(&self, index: usize) -> CgroupItemView<'a> {
        match self.get(index) {
            Some(it) => it,
            None => panic!(
                "snapshot item index {index} out of range (len {})",
                self.len()
            ),
        }
    }

    /// Iterates over the items in wire order.
    #[inline]
    pub fn iter(&self) -> CgroupItemIter<'a> {
        CgroupItemIter {
            view: *self,
            next: 0,
            end: self.len(),
        }
    }

    /// Copies the whole snapshot into an owned [`CgroupsSnapshot`].
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> CgroupsSnapshot {
        CgroupsSnapshot {
            systemd_enabled: self.systemd_enabled,
            generation: self.generation,
            items: self.iter().map(|it| it.to_owned()).collect(),
        }
    }

    /// Copies the snapshot into `dst`, reusing its item and string
    /// allocations (no allocation when `dst` is already large enough).
    pub fn copy_into(&self, dst: &mut CgroupsSnapshot) {
        dst.systemd_enabled = self.systemd_enabled;
        dst.generation = self.generation;
        dst.items.truncate(self.len());
        let reuse = dst.items.len();
        for (i, it) in self.iter().enumerate() {
            match dst.items.get_mut(i) {
                Some(slot) if i < reuse => it.copy_into(slot),
                _ => dst.items.push(it.to_owned()),
            }
        }
    }
}

impl<'a> IntoIterator for &CgroupsSnapshotView<'a> {
    type Item = CgroupItemView<'a>;
    type IntoIter = CgroupItemIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for CgroupsSnapshotView<'a> {
    type Item = CgroupItemView<'a>;
    type IntoIter = CgroupItemIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the items of a [`CgroupsSnapshotView`]; yields borrowed,
/// ephemeral [`CgroupItemView`]s with the view's lifetime.
#[derive(Debug, Clone)]
pub struct CgroupItemIter<'a> {
    view: CgroupsSnapshotView<'a>,
    next: usize,
    end: usize,
}

impl<'a> Iterator for CgroupItemIter<'a> {
    type Item = CgroupItemView<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let it = self.view.get(self.next);
        self.next += 1;
        it
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for CgroupItemIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        self.view.get(self.end)
    }
}

impl ExactSizeIterator for CgroupItemIter<'_> {}
impl FusedIterator for CgroupItemIter<'_> {}

/// Decodes a response payload; shorthand for [`CgroupsSnapshotView::decode`].
#[inline]
pub fn decode_snapshot(payload: &[u8]) -> Result<CgroupsSnapshotView<'_>, DecodeError> {
    CgroupsSnapshotView::decode(payload)
}
