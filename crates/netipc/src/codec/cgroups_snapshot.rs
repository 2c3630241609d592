//! CGROUPS_SNAPSHOT (method code
//! [`METHOD_CGROUPS_SNAPSHOT`](crate::protocol::METHOD_CGROUPS_SNAPSHOT)):
//! the full cgroups snapshot served by `cgroups.plugin`.
//!
//! Request payload ([`SNAPSHOT_REQ_SIZE`] bytes): `u16 layout_version`,
//! `u16 flags` (must be 0).
//!
//! Response payload:
//!
//! ```text
//! [24-byte snapshot header]
//! [item_count x (u32 offset, u32 length)]   item directory
//! [packed item area]                         items, each 8-byte aligned
//! ```
//!
//! Directory offsets are relative to the start of the packed item area.
//! Each item is a 32-byte header followed by `name\0path\0`; string offsets
//! are relative to the item start. Padding goes only *between* items: the
//! payload ends right after the last item's path NUL (it is not rounded up).
//!
//! Item identity is `hash + name` where the producer computes
//! [`simple_hash`]`(name)`. Names and paths are length-delimited bytes on the
//! wire; this codec neither requires UTF-8 nor rejects interior NULs (the
//! spec does not), so every decodable snapshot re-encodes to the same bytes.

use std::iter::FusedIterator;

use crate::bytes::{Reader, Writer, align8, put_u16, put_u32, put_u64};
use crate::error::{DecodeError, Error, Limit};
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, LAYOUT_VERSION};

/// Size of the CGROUPS_SNAPSHOT request payload.
pub const SNAPSHOT_REQ_SIZE: usize = 4;
/// Size of the fixed snapshot response header.
pub const SNAPSHOT_RESP_HDR_SIZE: usize = 24;
/// Size of the fixed per-item header; also the first valid string offset.
pub const SNAPSHOT_ITEM_HDR_SIZE: usize = 32;
/// Smallest possible encoded item: header plus two empty strings' NULs.
pub const SNAPSHOT_ITEM_MIN_SIZE: usize = SNAPSHOT_ITEM_HDR_SIZE + 2;

/// Largest payload the builders will produce: the envelope's `payload_len`
/// is a `u32`.
const MAX_ENCODED_PAYLOAD: usize = u32::MAX as usize;
/// Initial number of directory slots the builder reserves when it grows.
const MIN_DIR_SLOTS: usize = 16;

// Field offsets of the snapshot header.
const HDR_LAYOUT: usize = 0;
const HDR_FLAGS: usize = 2;
const HDR_ITEM_COUNT: usize = 4;
const HDR_SYSTEMD: usize = 8;
const HDR_RESERVED: usize = 12;
const HDR_GENERATION: usize = 16;

// Field offsets of an item header.
const ITEM_LAYOUT: usize = 0;
const ITEM_FLAGS: usize = 2;
const ITEM_HASH: usize = 4;
const ITEM_OPTIONS: usize = 8;
const ITEM_ENABLED: usize = 12;
const ITEM_NAME_OFF: usize = 16;
const ITEM_NAME_LEN: usize = 20;
const ITEM_PATH_OFF: usize = 24;
const ITEM_PATH_LEN: usize = 28;

// 32-bit FNV-1 parameters of Netdata's `simple_hash`.
const FNV1_OFFSET_BASIS: u32 = 0x811c_9dc5;
const FNV1_PRIME: u32 = 16_777_619;

/// Netdata's `simple_hash`: 32-bit FNV-1 over the bytes of `name`.
///
/// Starts at `0x811c9dc5`; for each byte, multiplies by `16777619`
/// (wrapping) and then XORs the byte. Producers put this in each item's
/// `hash`; consumers compare it opaquely and never recompute it.
#[inline]
pub fn simple_hash(name: &[u8]) -> u32 {
    name.iter().fold(FNV1_OFFSET_BASIS, |h, &b| {
        h.wrapping_mul(FNV1_PRIME) ^ u32::from(b)
    })
}

// ---------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------

/// The CGROUPS_SNAPSHOT request (4 bytes, no variable fields).
///
/// The request borrows nothing, so the decoded form is this plain value.
/// [`Default`] gives the only valid request: layout version 1, flags 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupsSnapshotRequest {
    /// Payload schema version; [`LAYOUT_VERSION`].
    pub layout_version: u16,
    /// Reserved, must be 0.
    pub flags: u16,
}

impl Default for CgroupsSnapshotRequest {
    fn default() -> Self {
        CgroupsSnapshotRequest {
            layout_version: LAYOUT_VERSION,
            flags: 0,
        }
    }
}

impl CgroupsSnapshotRequest {
    /// The request as its 4 payload bytes.
    #[inline]
    pub fn to_bytes(&self) -> [u8; SNAPSHOT_REQ_SIZE] {
        let mut b = [0u8; SNAPSHOT_REQ_SIZE];
        put_u16(&mut b, HDR_LAYOUT, self.layout_version);
        put_u16(&mut b, HDR_FLAGS, self.flags);
        b
    }

    /// Appends the 4 request bytes to `out`, keeping its contents.
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Decodes and validates a request payload.
    ///
    /// Bytes after the first 4 are ignored (the spec only requires
    /// `len >= 4`).
    ///
    /// # Errors
    ///
    /// - [`DecodeError::Truncated`] if shorter than 4 bytes;
    /// - [`DecodeError::BadLayoutVersion`] if `layout_version` is not 1;
    /// - [`DecodeError::NonZeroReserved`] if `flags` is not 0.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let r = Reader::new(payload, "CGROUPS_SNAPSHOT request");
        r.require(SNAPSHOT_REQ_SIZE)?;
        let layout_version = r.u16(HDR_LAYOUT)?;
        if layout_version != LAYOUT_VERSION {
            return Err(DecodeError::BadLayoutVersion {
                what: "CGROUPS_SNAPSHOT request",
                found: layout_version,
            });
        }
        if r.u16(HDR_FLAGS)? != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "CGROUPS_SNAPSHOT request flags",
            });
        }
        Ok(CgroupsSnapshotRequest {
            layout_version,
            flags: 0,
        })
    }
}

/// Appends the standard CGROUPS_SNAPSHOT request (layout 1, flags 0) to `out`.
#[inline]
pub fn encode_snapshot_request(out: &mut Vec<u8>) {
    CgroupsSnapshotRequest::default().encode(out);
}

/// Decodes a request payload; shorthand for [`CgroupsSnapshotRequest::decode`].
#[inline]
pub fn decode_snapshot_request(payload: &[u8]) -> Result<CgroupsSnapshotRequest, DecodeError> {
    CgroupsSnapshotRequest::decode(payload)
}

// ---------------------------------------------------------------------------
// Owned response types
// ---------------------------------------------------------------------------

/// One cgroup of a snapshot, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CgroupItem {
    /// Identity hash; producers set [`simple_hash`]`(name)`.
    pub hash: u32,
    /// Cgroup option flags (Netdata `CGROUP_OPTIONS_*`).
    pub options: u32,
    /// Whether this cgroup is enabled (0 or 1 in practice).
    pub enabled: u32,
    /// Cgroup name bytes, without NUL.
    pub name: Vec<u8>,
    /// Cgroup filesystem path bytes, without NUL.
    pub path: Vec<u8>,
}

impl CgroupItem {
    /// The name as UTF-8, or `None` if it is not valid UTF-8.
    #[inline]
    pub fn name_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.name).ok()
    }

    /// The path as UTF-8, or `None` if it is not valid UTF-8.
    #[inline]
    pub fn path_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.path).ok()
    }
}

/// A full cgroups snapshot, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CgroupsSnapshot {
    /// Whether systemd cgroup integration is active.
    pub systemd_enabled: u32,
    /// Snapshot generation / version number.
    pub generation: u64,
    /// The snapshot items, in wire order.
    pub items: Vec<CgroupItem>,
}

impl CgroupsSnapshot {
    /// Appends this snapshot's response payload to `out`; see [`encode_snapshot`].
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_snapshot(self, out)
    }

    /// The exact size of this snapshot's response payload, or `None` if it
    /// would not fit in a `u32` payload length.
    pub fn encoded_len(&self) -> Option<usize> {
        let mut packed = 0usize;
        for it in &self.items {
            packed = packed_item_end(packed, it.name.len(), it.path.len())?;
        }
        finished_len(self.items.len(), packed)
    }
}

/// Size of an item with strings of the given lengths, or `None` on overflow.
#[inline]
fn item_size(name_len: usize, path_len: usize) -> Option<usize> {
    SNAPSHOT_ITEM_MIN_SIZE
        .checked_add(name_len)?
        .checked_add(path_len)
}

/// Where the packed area ends after appending an item to an area that
/// currently ends at `packed` (the item starts at `align8(packed)`).
#[inline]
fn packed_item_end(packed: usize, name_len: usize, path_len: usize) -> Option<usize> {
    align8(packed)?.checked_add(item_size(name_len, path_len)?)
}

/// Total payload size for `count` items and a packed area of `packed`
/// bytes, or `None` if it overflows or exceeds the `u32` payload limit.
#[inline]
fn finished_len(count: usize, packed: usize) -> Option<usize> {
    let total = count
        .checked_mul(DIR_ENTRY_SIZE)?
        .checked_add(SNAPSHOT_RESP_HDR_SIZE)?
        .checked_add(packed)?;
    (total <= MAX_ENCODED_PAYLOAD).then_some(total)
}

fn too_large(actual: usize, max: usize) -> Error {
    Error::LimitExceeded {
        limit: Limit::ResponsePayload,
        max: max as u64,
        actual: actual as u64,
    }
}

/// Writes one item (header + strings). Lengths must already be checked to
/// fit the payload limit, hence `u32`.
#[inline]
fn write_item(w: &mut Writer<'_>, hash: u32, options: u32, enabled: u32, name: &[u8], path: &[u8]) {
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

/// Appends the CGROUPS_SNAPSHOT response payload for `snap` to `out`.
///
/// Produces exactly the bytes [`CgroupsSnapshotBuilder`] produces for the
/// same items, writing straight into `out` with no intermediate buffer. Existing
/// contents of `out` are kept (item alignment is relative to the payload,
/// not to `out`).
///
/// # Errors
///
/// [`Error::LimitExceeded`] if the payload would exceed `u32::MAX` bytes;
/// `out` is left unchanged.
pub fn encode_snapshot(snap: &CgroupsSnapshot, out: &mut Vec<u8>) -> Result<(), Error> {
    let total = snap
        .encoded_len()
        .ok_or_else(|| too_large(usize::MAX, MAX_ENCODED_PAYLOAD))?;
    // `total <= u32::MAX` bounds the count and every offset/length below.
    let count = to_u32_bounded(snap.items.len());
    out.reserve(total);
    let base = out.len();
    let mut w = Writer::new(out);
    w.u16(LAYOUT_VERSION);
    w.u16(0);
    w.u32(count);
    w.u32(snap.systemd_enabled);
    w.u32(0);
    w.u64(snap.generation);
    let mut packed = 0usize;
    for it in &snap.items {
        let off = packed.next_multiple_of(ITEM_ALIGN);
        let len = SNAPSHOT_ITEM_MIN_SIZE + it.name.len() + it.path.len();
        w.u32(to_u32_bounded(off));
        w.u32(to_u32_bounded(len));
        packed = off + len;
    }
    for it in &snap.items {
        let written = w.len() - base;
        w.zeros(written.next_multiple_of(ITEM_ALIGN) - written);
        write_item(&mut w, it.hash, it.options, it.enabled, &it.name, &it.path);
    }
    debug_assert_eq!(w.len() - base, total);
    Ok(())
}

/// Converts a value already proven `<= u32::MAX` (it is bounded by a
/// checked payload total); saturates instead of truncating.
#[inline]
fn to_u32_bounded(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------

/// Builds a CGROUPS_SNAPSHOT response payload in one reused buffer.
///
/// Handlers supply semantic fields only; the builder places items, writes
/// the directory, the NULs and the padding. Layout while building:
///
/// ```text
/// [24-byte header][slots x 8 directory][packed items]
/// ```
///
/// Directory slots are reserved ahead (see [`Self::reserve_items`]; they
/// double when exhausted) and unused slots are squeezed out by
/// [`Self::finish`]. Since directory offsets are relative to the packed
/// area, moving the area never rewrites entries. After warm-up (or with a
/// correct [`Self::reserve_items`] hint) adding items does not allocate and
/// `finish` does not move the packed area.
///
/// A failed [`Self::add_item`] leaves the builder unchanged.
#[derive(Debug, Clone)]
pub struct CgroupsSnapshotBuilder {
    buf: Vec<u8>,
    systemd_enabled: u32,
    generation: u64,
    count: u32,
    slots: usize,
    max_payload: usize,
}

impl Default for CgroupsSnapshotBuilder {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl CgroupsSnapshotBuilder {
    /// Creates a builder that writes into `buf` (its contents are discarded,
    /// its capacity reused), with `systemd_enabled = 0`, `generation = 0`
    /// and the payload limit at `u32::MAX`.
    pub fn new(buf: Vec<u8>) -> Self {
        let mut b = CgroupsSnapshotBuilder {
            buf,
            systemd_enabled: 0,
            generation: 0,
            count: 0,
            slots: 0,
            max_payload: MAX_ENCODED_PAYLOAD,
        };
        b.reset(0, 0);
        b
    }

    /// Starts a new snapshot: drops all items and sets the header fields.
    /// Keeps the buffer capacity and the payload limit.
    pub fn reset(&mut self, systemd_enabled: u32, generation: u64) {
        self.buf.clear();
        self.buf.resize(SNAPSHOT_RESP_HDR_SIZE, 0);
        self.systemd_enabled = systemd_enabled;
        self.generation = generation;
        self.count = 0;
        self.slots = 0;
    }

    /// Sets `systemd_enabled`.
    #[inline]
    pub fn set_systemd_enabled(&mut self, systemd_enabled: u32) {
        self.systemd_enabled = systemd_enabled;
    }

    /// Sets `generation`.
    #[inline]
    pub fn set_generation(&mut self, generation: u64) {
        self.generation = generation;
    }

    /// Caps the finished payload at `max` bytes (clamped to `u32::MAX`);
    /// [`Self::add_item`] fails with [`Error::LimitExceeded`] for an item that
    /// would not fit. Use the agreed response payload budget here.
    #[inline]
    pub fn set_max_payload(&mut self, max: usize) {
        self.max_payload = max.min(MAX_ENCODED_PAYLOAD);
    }

    /// The payload limit in force.
    #[inline]
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Reserves directory slots for `additional` more items (and buffer
    /// space for minimal items), so that a correct hint avoids moving the
    /// packed area. The hint is capped at what the payload limit can hold.
    pub fn reserve_items(&mut self, additional: usize) {
        let fit = self.max_items();
        let want = (self.count as usize).saturating_add(additional).min(fit);
        if want > self.slots {
            self.grow_dir(want);
        }
        self.buf
            .reserve(additional.min(fit).saturating_mul(SNAPSHOT_ITEM_MIN_SIZE));
    }

    /// Number of items added so far.
    #[inline]
    pub fn item_count(&self) -> u32 {
        self.count
    }

    /// Size of the payload [`Self::finish`] would return now.
    #[inline]
    pub fn payload_len(&self) -> usize {
        SNAPSHOT_RESP_HDR_SIZE + self.count as usize * DIR_ENTRY_SIZE + self.packed_len()
    }

    /// Most items that can fit in the payload limit (all minimal).
    #[inline]
    fn max_items(&self) -> usize {
        self.max_payload.saturating_sub(SNAPSHOT_RESP_HDR_SIZE)
            / (DIR_ENTRY_SIZE + SNAPSHOT_ITEM_MIN_SIZE)
    }

    #[inline]
    fn packed_start(&self) -> usize {
        SNAPSHOT_RESP_HDR_SIZE + self.slots * DIR_ENTRY_SIZE
    }

    #[inline]
    fn packed_len(&self) -> usize {
        self.buf.len() - self.packed_start()
    }

    /// Moves the packed area so the directory has `new_slots` slots
    /// (`new_slots >= count`). Entries stay valid: they are area-relative.
    fn grow_dir(&mut self, new_slots: usize) {
        let old_start = self.packed_start();
        let new_start = SNAPSHOT_RESP_HDR_SIZE + new_slots * DIR_ENTRY_SIZE;
        let old_len = self.buf.len();
        if new_start > old_start {
            self.buf.resize(old_len + (new_start - old_start), 0);
            self.buf.copy_within(old_start..old_len, new_start);
        } else if new_start < old_start {
            self.buf.copy_within(old_start..old_len, new_start);
            self.buf.truncate(old_len - (old_start - new_start));
        }
        self.slots = new_slots;
    }

    /// Adds one cgroup item.
    ///
    /// `name` and `path` are copied with their trailing NULs appended;
    /// `hash` should be [`simple_hash`]`(name)`.
    ///
    /// # Errors
    ///
    /// [`Error::LimitExceeded`] (limit `ResponsePayload`) if the finished
    /// payload would exceed [`Self::max_payload`]; nothing is added.
    pub fn add_item(
        &mut self,
        hash: u32,
        options: u32,
        enabled: u32,
        name: &[u8],
        path: &[u8],
    ) -> Result<(), Error> {
        let packed = self.packed_len();
        let count = self.count as usize;
        let overflow = || too_large(usize::MAX, self.max_payload);
        let item_off = align8(packed).ok_or_else(overflow)?;
        let total = packed_item_end(packed, name.len(), path.len())
            .and_then(|end| finished_len(count + 1, end))
            .ok_or_else(overflow)?;
        if total > self.max_payload {
            return Err(too_large(total, self.max_payload));
        }
        // `total <= u32::MAX` bounds the count, the offset and the size.
        if count == self.slots {
            let grown = self
                .slots
                .saturating_mul(2)
                .max(MIN_DIR_SLOTS)
                .min(self.max_items());
            self.grow_dir(grown.max(count + 1));
        }
        let size = SNAPSHOT_ITEM_MIN_SIZE + name.len() + path.len();
        let pad = item_off - packed;
        self.buf.reserve(pad + size);
        let mut w = Writer::new(&mut self.buf);
        w.zeros(pad);
        write_item(&mut w, hash, options, enabled, name, path);
        let entry = SNAPSHOT_RESP_HDR_SIZE + count * DIR_ENTRY_SIZE;
        put_u32(&mut self.buf, entry, to_u32_bounded(item_off));
        put_u32(&mut self.buf, entry + 4, to_u32_bounded(size));
        self.count += 1;
        Ok(())
    }

    /// Adds an owned item; see [`Self::add_item`].
    #[inline]
    pub fn add(&mut self, item: &CgroupItem) -> Result<(), Error> {
        self.add_item(
            item.hash,
            item.options,
            item.enabled,
            &item.name,
            &item.path,
        )
    }

    /// Finalizes and returns the complete payload.
    ///
    /// Squeezes out unused directory slots and writes the header. The
    /// builder stays usable: more items may be added and `finish` called
    /// again, or [`Self::reset`] starts over with the same buffer.
    pub fn finish(&mut self) -> &[u8] {
        let count = self.count as usize;
        if self.slots != count {
            self.grow_dir(count);
        }
        put_u16(&mut self.buf, HDR_LAYOUT, LAYOUT_VERSION);
        put_u16(&mut self.buf, HDR_FLAGS, 0);
        put_u32(&mut self.buf, HDR_ITEM_COUNT, self.count);
        put_u32(&mut self.buf, HDR_SYSTEMD, self.systemd_enabled);
        put_u32(&mut self.buf, HDR_RESERVED, 0);
        put_u64(&mut self.buf, HDR_GENERATION, self.generation);
        &self.buf
    }

    /// Finalizes and returns the payload buffer by value.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.finish();
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::corpus::{bench_snapshot, cgroups_corpus_snapshot};
    use proptest::prelude::*;

    const REQ: &[u8] = include_bytes!("../../../../testdata/conformance/vectors/cgroups_req.bin");
    const RESP: &[u8] = include_bytes!("../../../../testdata/conformance/vectors/cgroups_resp.bin");
    const RESP_EMPTY: &[u8] =
        include_bytes!("../../../../testdata/conformance/vectors/cgroups_resp_empty.bin");

    fn item(hash: u32, options: u32, enabled: u32, name: &str, path: &str) -> CgroupItem {
        CgroupItem {
            hash,
            options,
            enabled,
            name: name.as_bytes().to_vec(),
            path: path.as_bytes().to_vec(),
        }
    }

    fn vector_snapshot() -> CgroupsSnapshot {
        CgroupsSnapshot {
            systemd_enabled: 1,
            generation: 999,
            items: vec![
                item(100, 0, 1, "init.scope", "/sys/fs/cgroup/init.scope"),
                item(
                    200,
                    2,
                    0,
                    "system.slice/docker-abc.scope",
                    "/sys/fs/cgroup/system.slice/docker-abc.scope",
                ),
                item(300, 0, 1, "", ""),
            ],
        }
    }

    fn enc(snap: &CgroupsSnapshot) -> Vec<u8> {
        let mut out = Vec::new();
        encode_snapshot(snap, &mut out).unwrap();
        out
    }

    fn build(snap: &CgroupsSnapshot) -> Vec<u8> {
        let mut b = CgroupsSnapshotBuilder::default();
        b.reset(snap.systemd_enabled, snap.generation);
        for it in &snap.items {
            b.add(it).unwrap();
        }
        b.into_bytes()
    }

    /// Asserts every encoder produces `bytes` and decoding gives `snap`.
    fn check_all_paths(snap: &CgroupsSnapshot, bytes: &[u8]) {
        let v = decode_snapshot(bytes).unwrap();
        assert_eq!(&v.to_owned(), snap);
        assert_eq!(v.len(), snap.items.len());
        assert_eq!(enc(snap), bytes);
        assert_eq!(build(snap), bytes);
        assert_eq!(Some(bytes.len()), snap.encoded_len());
        // decode -> re-encode
        assert_eq!(enc(&v.to_owned()), bytes);
    }

    // -- simple_hash ------------------------------------------------------

    #[test]
    fn simple_hash_is_fnv1_32() {
        assert_eq!(simple_hash(b""), 0x811c_9dc5);
        assert_eq!(simple_hash(b"a"), 0x050c_5d7e);
        assert_eq!(simple_hash(b"foobar"), 0x31f0_b262);
    }

    // -- request ----------------------------------------------------------

    #[test]
    fn conformance_request() {
        let r = decode_snapshot_request(REQ).unwrap();
        assert_eq!(
            r,
            CgroupsSnapshotRequest {
                layout_version: 1,
                flags: 0
            }
        );
        assert_eq!(r.to_bytes(), REQ);
        let mut out = Vec::new();
        encode_snapshot_request(&mut out);
        assert_eq!(out, REQ);
        let mut out = vec![9];
        CgroupsSnapshotRequest::default().encode(&mut out);
        assert_eq!(&out[1..], REQ);
    }

    #[test]
    fn request_tolerates_trailing_bytes() {
        let mut b = REQ.to_vec();
        b.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            decode_snapshot_request(&b),
            Ok(CgroupsSnapshotRequest::default())
        );
    }

    #[test]
    fn request_rejects_truncated() {
        for len in 0..SNAPSHOT_REQ_SIZE {
            assert!(matches!(
                decode_snapshot_request(&REQ[..len]),
                Err(DecodeError::Truncated { need: 4, .. })
            ));
        }
    }

    #[test]
    fn request_rejects_bad_layout_version() {
        for v in [0u16, 2, u16::MAX] {
            let b = CgroupsSnapshotRequest {
                layout_version: v,
                flags: 0,
            }
            .to_bytes();
            assert!(matches!(
                decode_snapshot_request(&b),
                Err(DecodeError::BadLayoutVersion { found, .. }) if found == v
            ));
        }
    }

    #[test]
    fn request_rejects_nonzero_flags() {
        let b = CgroupsSnapshotRequest {
            layout_version: 1,
            flags: 1,
        }
        .to_bytes();
        assert!(matches!(
            decode_snapshot_request(&b),
            Err(DecodeError::NonZeroReserved { .. })
        ));
    }

    // -- response: conformance, round trips, boundaries ---------------------

    #[test]
    fn conformance_response() {
        assert_eq!(RESP.len(), 266);
        let snap = vector_snapshot();
        check_all_paths(&snap, RESP);
        let v = decode_snapshot(RESP).unwrap();
        assert_eq!(v.item_count(), 3);
        assert_eq!(v.systemd_enabled(), 1);
        assert_eq!(v.generation(), 999);
        let it = v.item(1);
        assert_eq!(it.name_str(), Some("system.slice/docker-abc.scope"));
        assert_eq!(
            it.path_str(),
            Some("/sys/fs/cgroup/system.slice/docker-abc.scope")
        );
        assert_eq!((it.hash, it.options, it.enabled), (200, 2, 0));
        assert_eq!(v.item(2).name, b"");
    }

    #[test]
    fn conformance_response_empty() {
        let snap = CgroupsSnapshot {
            systemd_enabled: 0,
            generation: 42,
            items: vec![],
        };
        check_all_paths(&snap, RESP_EMPTY);
        let v = decode_snapshot(RESP_EMPTY).unwrap();
        assert!(v.is_empty());
        assert_eq!(v.iter().count(), 0);
        assert_eq!(v.get(0), None);
    }

    #[test]
    fn single_item_and_empty_strings() {
        let snap = CgroupsSnapshot {
            systemd_enabled: 0,
            generation: 1,
            items: vec![item(1, 2, 3, "", "")],
        };
        let bytes = enc(&snap);
        // header + 1 dir entry + 32 + 2 NULs, not rounded up.
        assert_eq!(bytes.len(), 24 + 8 + 34);
        check_all_paths(&snap, &bytes);
        let it = decode_snapshot(&bytes).unwrap().item(0);
        assert!(it.name.is_empty() && it.path.is_empty());
    }

    #[test]
    fn long_strings() {
        let name = "n".repeat(70_000);
        let path = "p".repeat(100_003);
        let snap = CgroupsSnapshot {
            systemd_enabled: 1,
            generation: u64::MAX,
            items: vec![
                item(u32::MAX, u32::MAX, u32::MAX, &name, &path),
                item(0, 0, 0, "x", "y"),
            ],
        };
        let bytes = enc(&snap);
        check_all_paths(&snap, &bytes);
    }

    #[test]
    fn many_items_from_corpus() {
        let snap = cgroups_corpus_snapshot(5000, 11, 77);
        let bytes = enc(&snap);
        check_all_paths(&snap, &bytes);
        let v = decode_snapshot(&bytes).unwrap();
        assert_eq!(v.iter().len(), 5000);
        assert!(
            v.iter()
                .rev()
                .map(|i| i.hash)
                .eq(snap.items.iter().rev().map(|i| i.hash))
        );
        assert_eq!((&v).into_iter().count(), 5000);
    }

    #[test]
    fn bench_snapshot_round_trip() {
        let snap = bench_snapshot(3);
        check_all_paths(&snap, &enc(&snap));
    }

    #[test]
    fn items_are_aligned_and_padding_is_zero() {
        let snap = cgroups_corpus_snapshot(100, 5, 0);
        let bytes = enc(&snap);
        let packed = &bytes[24 + 8 * 100..];
        let mut prev_end = 0usize;
        for i in 0..100 {
            let off = u32::from_ne_bytes(bytes[24 + 8 * i..][..4].try_into().unwrap()) as usize;
            let len = u32::from_ne_bytes(bytes[28 + 8 * i..][..4].try_into().unwrap()) as usize;
            assert_eq!(off % 8, 0);
            assert_eq!(off, prev_end.next_multiple_of(8));
            assert!(packed[prev_end..off].iter().all(|&b| b == 0));
            prev_end = off + len;
        }
        assert_eq!(prev_end, packed.len());
    }

    #[test]
    fn encode_snapshot_appends_with_relative_alignment() {
        let snap = vector_snapshot();
        let mut out = vec![0xAB; 3];
        encode_snapshot(&snap, &mut out).unwrap();
        assert_eq!(&out[..3], &[0xAB; 3]);
        assert_eq!(&out[3..], RESP);
    }

    #[test]
    fn interior_nul_round_trips() {
        let snap = CgroupsSnapshot {
            systemd_enabled: 0,
            generation: 0,
            items: vec![CgroupItem {
                name: b"a\0b".to_vec(),
                path: b"\0".to_vec(),
                ..Default::default()
            }],
        };
        check_all_paths(&snap, &enc(&snap));
    }

    #[test]
    fn non_utf8_strings() {
        let snap = CgroupsSnapshot {
            items: vec![CgroupItem {
                name: vec![0xff, 0xfe],
                path: b"ok".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let bytes = enc(&snap);
        let it = decode_snapshot(&bytes).unwrap().item(0);
        assert_eq!(it.name_str(), None);
        assert_eq!(it.path_str(), Some("ok"));
        assert_eq!(snap.items[0].name_str(), None);
        assert_eq!(snap.items[0].path_str(), Some("ok"));
    }

    #[test]
    fn copy_into_reuses_and_resizes() {
        let big = cgroups_corpus_snapshot(50, 1, 1);
        let small = cgroups_corpus_snapshot(10, 2, 2);
        let (bb, sb) = (enc(&big), enc(&small));
        let mut dst = CgroupsSnapshot::default();
        decode_snapshot(&sb).unwrap().copy_into(&mut dst);
        assert_eq!(dst, small);
        decode_snapshot(&bb).unwrap().copy_into(&mut dst);
        assert_eq!(dst, big);
        decode_snapshot(&sb).unwrap().copy_into(&mut dst);
        assert_eq!(dst, small);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn item_index_out_of_range_panics() {
        let _ = decode_snapshot(RESP).unwrap().item(3);
    }

    // -- builder ---------------------------------------------------------

    #[test]
    fn builder_reuse_matches_encoder() {
        let mut b = CgroupsSnapshotBuilder::new(Vec::with_capacity(4096));
        for (n, seed) in [(0usize, 0u64), (1, 1), (17, 2), (3, 3), (300, 4), (0, 5)] {
            let snap = cgroups_corpus_snapshot(n, seed, seed * 10);
            b.reset(snap.systemd_enabled, snap.generation);
            for it in &snap.items {
                b.add(it).unwrap();
            }
            assert_eq!(b.item_count() as usize, n);
            let expect = enc(&snap);
            assert_eq!(b.payload_len(), expect.len());
            assert_eq!(b.finish(), &expect[..]);
            // finish is idempotent
            assert_eq!(b.finish(), &expect[..]);
        }
    }

    #[test]
    fn builder_reserve_hints() {
        let snap = cgroups_corpus_snapshot(40, 9, 1);
        let expect = enc(&snap);
        for hint in [0usize, 1, 39, 40, 41, 1000] {
            let mut b = CgroupsSnapshotBuilder::default();
            b.reset(1, 1);
            b.reserve_items(hint);
            for it in &snap.items {
                b.add(it).unwrap();
            }
            assert_eq!(b.finish(), &expect[..], "hint {hint}");
        }
        // A hint given mid-way still works.
        let mut b = CgroupsSnapshotBuilder::default();
        b.reset(1, 1);
        for (i, it) in snap.items.iter().enumerate() {
            if i == 5 {
                b.reserve_items(100);
            }
            b.add(it).unwrap();
        }
        assert_eq!(b.into_bytes(), expect);
    }

    #[test]
    fn builder_add_after_finish_and_setters() {
        let snap = vector_snapshot();
        let mut b = CgroupsSnapshotBuilder::default();
        b.set_systemd_enabled(1);
        b.set_generation(999);
        b.add(&snap.items[0]).unwrap();
        let _ = b.finish();
        b.add(&snap.items[1]).unwrap();
        b.add(&snap.items[2]).unwrap();
        assert_eq!(b.finish(), RESP);
    }

    #[test]
    fn builder_enforces_payload_limit() {
        let mut b = CgroupsSnapshotBuilder::default();
        // Two items, the second at packed offset 40 with 6 string bytes:
        // 24 + 2 * 8 + 40 + 34 + 6 = 120.
        b.set_max_payload(120);
        assert_eq!(b.max_payload(), 120);
        b.add_item(1, 0, 0, b"", b"").unwrap();
        let before = b.clone().into_bytes();
        assert!(matches!(
            b.add_item(2, 0, 0, b"abcd", b"efg"),
            Err(Error::LimitExceeded {
                limit: Limit::ResponsePayload,
                max: 120,
                actual: 121
            })
        ));
        // Failure leaves the builder unchanged.
        assert_eq!(b.clone().into_bytes(), before);
        b.add_item(2, 0, 0, b"abc", b"efg").unwrap();
        assert_eq!(b.finish().len(), 120);
        assert_eq!(decode_snapshot(b.finish()).unwrap().len(), 2);
        b.set_max_payload(usize::MAX);
        assert_eq!(b.max_payload(), u32::MAX as usize);
        // Reserving with a tiny limit stays bounded.
        b.set_max_payload(100);
        b.reset(0, 0);
        b.reserve_items(usize::MAX);
        b.add_item(0, 0, 0, b"", b"").unwrap();
        assert_eq!(b.finish().len(), 24 + 8 + 34);
    }

    #[test]
    fn oversized_snapshot_is_rejected_without_writing() {
        let snap = CgroupsSnapshot::default();
        assert_eq!(snap.encoded_len(), Some(24));
        assert_eq!(finished_len(usize::MAX, 0), None);
        assert_eq!(finished_len(1, u32::MAX as usize), None);
        assert_eq!(packed_item_end(usize::MAX, 0, 0), None);
        assert_eq!(item_size(usize::MAX, 1), None);
    }

    // -- response rejection rules ------------------------------------------

    fn set_u16(b: &mut [u8], off: usize, v: u16) {
        b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
    }
    fn set_u32(b: &mut [u8], off: usize, v: u32) {
        b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// One item `name="ab"`, `path="cd"`: item at 32, name at 64, path at 67.
    fn one_item() -> Vec<u8> {
        enc(&CgroupsSnapshot {
            systemd_enabled: 1,
            generation: 5,
            items: vec![item(1, 0, 1, "ab", "cd")],
        })
    }
    const ITEM0: usize = SNAPSHOT_RESP_HDR_SIZE + DIR_ENTRY_SIZE;

    fn err(bytes: &[u8]) -> DecodeError {
        decode_snapshot(bytes).unwrap_err()
    }

    #[test]
    fn rejects_truncated_header() {
        for len in 0..SNAPSHOT_RESP_HDR_SIZE {
            assert!(matches!(
                err(&RESP_EMPTY[..len]),
                DecodeError::Truncated { need: 24, .. }
            ));
        }
    }

    #[test]
    fn rejects_bad_layout_version() {
        let mut b = RESP.to_vec();
        set_u16(&mut b, HDR_LAYOUT, 2);
        assert!(matches!(
            err(&b),
            DecodeError::BadLayoutVersion { found: 2, .. }
        ));
    }

    #[test]
    fn rejects_nonzero_flags() {
        let mut b = RESP.to_vec();
        set_u16(&mut b, HDR_FLAGS, 1);
        assert!(
            matches!(err(&b), DecodeError::NonZeroReserved { field } if field.contains("flags"))
        );
    }

    #[test]
    fn rejects_nonzero_reserved() {
        let mut b = RESP.to_vec();
        set_u32(&mut b, HDR_RESERVED, 1);
        assert!(
            matches!(err(&b), DecodeError::NonZeroReserved { field } if field.contains("reserved"))
        );
    }

    #[test]
    fn rejects_item_count_exceeding_payload() {
        let mut b = RESP_EMPTY.to_vec();
        set_u32(&mut b, HDR_ITEM_COUNT, 1);
        assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
        // Huge counts must not overflow.
        set_u32(&mut b, HDR_ITEM_COUNT, u32::MAX);
        assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
        let mut b = RESP.to_vec();
        set_u32(&mut b, HDR_ITEM_COUNT, 40);
        assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
    }

    #[test]
    fn rejects_directory_entry_out_of_packed_area() {
        // Length one past the packed area.
        let mut b = one_item();
        let packed_len = b.len() - ITEM0;
        set_u32(&mut b, 28, packed_len as u32 + 1);
        assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
        // Offset + length overflow u32.
        let mut b = one_item();
        set_u32(&mut b, 24, u32::MAX - 7);
        set_u32(&mut b, 28, u32::MAX);
        assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
        // Offset alone past the end.
        let mut b = one_item();
        set_u32(&mut b, 24, 64);
        assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
        // Third item of the vector pushed past the end by one aligned step.
        let mut b = RESP.to_vec();
        set_u32(&mut b, 24 + 16, 224);
        assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
    }

    #[test]
    fn rejects_misaligned_item_offset() {
        let mut b = RESP.to_vec();
        // Item 1 really starts at 72; claim 70 (in bounds, misaligned).
        set_u32(&mut b, 24 + 8, 70);
        assert!(matches!(err(&b), DecodeError::BadAlignment { .. }));
    }

    #[test]
    fn rejects_item_shorter_than_header() {
        let mut b = one_item();
        set_u32(&mut b, 28, 31);
        assert!(matches!(
            err(&b),
            DecodeError::Truncated {
                need: 32,
                have: 31,
                ..
            }
        ));
        set_u32(&mut b, 28, 0);
        assert!(matches!(err(&b), DecodeError::Truncated { have: 0, .. }));
    }

    #[test]
    fn rejects_bad_item_layout_and_flags() {
        let mut b = one_item();
        set_u16(&mut b, ITEM0 + ITEM_LAYOUT, 0);
        assert!(matches!(
            err(&b),
            DecodeError::BadLayoutVersion { found: 0, .. }
        ));
        let mut b = one_item();
        set_u16(&mut b, ITEM0 + ITEM_FLAGS, 0x8000);
        assert!(matches!(err(&b), DecodeError::NonZeroReserved { .. }));
    }

    #[test]
    fn rejects_string_in_item_header() {
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_NAME_OFF, 31);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item name"
            }
        ));
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 0);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item path"
            }
        ));
    }

    #[test]
    fn rejects_string_past_item() {
        // name length runs past the item.
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_NAME_LEN, 10);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item name"
            }
        ));
        // path length u32::MAX must not overflow.
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_PATH_LEN, u32::MAX);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item path"
            }
        ));
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, u32::MAX);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item path"
            }
        ));
        // Strings are bounded by the item's directory length, not by the
        // payload: shrink the item so the path NUL falls outside it.
        let mut b = one_item();
        let len = u32::from_ne_bytes(b[28..32].try_into().unwrap());
        set_u32(&mut b, 28, len - 1);
        assert!(matches!(
            err(&b),
            DecodeError::OutOfBounds {
                what: "snapshot item path"
            }
        ));
    }

    #[test]
    fn rejects_missing_nul() {
        let mut b = one_item();
        b[ITEM0 + 32 + 2] = b'!';
        assert!(matches!(
            err(&b),
            DecodeError::MissingNul {
                what: "snapshot item name"
            }
        ));
        let mut b = one_item();
        let last = b.len() - 1;
        b[last] = b'!';
        assert!(matches!(
            err(&b),
            DecodeError::MissingNul {
                what: "snapshot item path"
            }
        ));
        // A shorter declared length lands on a non-NUL byte.
        let mut b = one_item();
        set_u32(&mut b, ITEM0 + ITEM_NAME_LEN, 1);
        assert!(matches!(
            err(&b),
            DecodeError::MissingNul {
                what: "snapshot item name"
            }
        ));
    }

    #[test]
    fn rejects_overlapping_name_and_path() {
        // Identical regions: both empty strings on the same NUL.
        let mut b = enc(&CgroupsSnapshot {
            items: vec![item(0, 0, 0, "", "")],
            ..Default::default()
        });
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 32);
        assert!(matches!(err(&b), DecodeError::Overlap { .. }));
        // Path is a suffix of name: name "ab\0" at 32, path "b\0" at 33.
        let mut b = enc(&CgroupsSnapshot {
            items: vec![item(0, 0, 0, "ab", "cd")],
            ..Default::default()
        });
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 33);
        set_u32(&mut b, ITEM0 + ITEM_PATH_LEN, 1);
        assert!(matches!(err(&b), DecodeError::Overlap { .. }));
        // Name's NUL is the path's first byte... path starts on name's NUL.
        let mut b = enc(&CgroupsSnapshot {
            items: vec![item(0, 0, 0, "ab", "")],
            ..Default::default()
        });
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 34);
        assert!(matches!(err(&b), DecodeError::Overlap { .. }));
        // Adjacent regions (path right after name's NUL) are fine, in either order.
        let mut b = enc(&CgroupsSnapshot {
            items: vec![item(0, 0, 0, "ab", "cd")],
            ..Default::default()
        });
        assert!(decode_snapshot(&b).is_ok());
        // Swap: path first at 32 ("ab"), name at 35 ("cd").
        set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 32);
        set_u32(&mut b, ITEM0 + ITEM_NAME_OFF, 35);
        let v = decode_snapshot(&b).unwrap();
        assert_eq!((v.item(0).name, v.item(0).path), (&b"cd"[..], &b"ab"[..]));
    }

    #[test]
    fn tolerates_trailing_bytes_and_unordered_items() {
        // Trailing bytes after the last item belong to no item.
        let mut b = RESP.to_vec();
        b.extend_from_slice(&[0xEE; 5]);
        assert_eq!(decode_snapshot(&b).unwrap().to_owned(), vector_snapshot());
        // Directory entries in another order than the items.
        let mut b = RESP.to_vec();
        let (e0, e2) = (b[24..32].to_vec(), b[40..48].to_vec());
        b[24..32].copy_from_slice(&e2);
        b[40..48].copy_from_slice(&e0);
        let v = decode_snapshot(&b).unwrap();
        assert_eq!(v.item(0).hash, 300);
        assert_eq!(v.item(2).hash, 100);
    }

    // -- properties ----------------------------------------------------------

    fn arb_item() -> impl Strategy<Value = CgroupItem> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(hash, options, enabled, name, path)| CgroupItem {
                hash,
                options,
                enabled,
                name,
                path,
            })
    }

    fn arb_snapshot() -> impl Strategy<Value = CgroupsSnapshot> {
        (
            any::<u32>(),
            any::<u64>(),
            proptest::collection::vec(arb_item(), 0..24),
        )
            .prop_map(|(systemd_enabled, generation, items)| CgroupsSnapshot {
                systemd_enabled,
                generation,
                items,
            })
    }

    proptest! {
        #[test]
        fn prop_round_trip(snap in arb_snapshot()) {
            let bytes = enc(&snap);
            prop_assert_eq!(Some(bytes.len()), snap.encoded_len());
            let v = decode_snapshot(&bytes).unwrap();
            prop_assert_eq!(&v.to_owned(), &snap);
            prop_assert_eq!(build(&snap), bytes);
        }

        #[test]
        fn prop_request_round_trip(layout_version in any::<u16>(), flags in any::<u16>()) {
            let r = CgroupsSnapshotRequest { layout_version, flags };
            let d = decode_snapshot_request(&r.to_bytes());
            prop_assert_eq!(d.is_ok(), layout_version == 1 && flags == 0);
            if let Ok(d) = d {
                prop_assert_eq!(d, r);
            }
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_snapshot_request(&bytes);
            if let Ok(v) = decode_snapshot(&bytes) {
                // Access after a successful decode cannot fail.
                prop_assert_eq!(v.iter().count(), v.len());
                let _ = v.to_owned();
            }
        }

        #[test]
        fn prop_mutated_valid_payload_never_panics(
            snap in arb_snapshot(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let mut bytes = enc(&snap);
            let n = bytes.len();
            for (pos, val) in flips {
                bytes[pos % n] = val;
            }
            if let Ok(v) = decode_snapshot(&bytes) {
                prop_assert_eq!(v.iter().count(), v.len());
                // Every valid payload re-encodes to a decodable one.
                let re = enc(&v.to_owned());
                prop_assert_eq!(decode_snapshot(&re).unwrap().to_owned(), v.to_owned());
            }
        }

        #[test]
        fn prop_truncation_always_fails_cleanly(snap in arb_snapshot(), cut in any::<usize>()) {
            let bytes = enc(&snap);
            let cut = cut % bytes.len();
            // Any strict prefix is invalid: the last item's path NUL is the last byte.
            prop_assert!(decode_snapshot(&bytes[..cut]).is_err() || snap.items.is_empty() && cut >= 24);
        }
    }
}
