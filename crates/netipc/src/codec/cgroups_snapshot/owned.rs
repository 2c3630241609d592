//! Owned snapshot values and their encoder.

use super::layout::{finished_len, packed_item_end, to_u32_bounded, too_large, write_item};
use super::{MAX_ENCODED_PAYLOAD, SNAPSHOT_ITEM_MIN_SIZE};
use crate::bytes::Writer;
use crate::error::Error;
use crate::protocol::{ITEM_ALIGN, LAYOUT_VERSION};

/// One cgroup of a snapshot, owned.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CgroupItem {
    /// Identity hash; producers set [`simple_hash`](super::simple_hash)`(name)`.
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

/// Appends the CGROUPS_SNAPSHOT response payload for `snap` to `out`.
///
/// Produces exactly the bytes [`CgroupsSnapshotBuilder`](super::CgroupsSnapshotBuilder) produces for the
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
