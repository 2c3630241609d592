//! The snapshot response builder (servers fill it in place).

use super::layout::{finished_len, packed_item_end, to_u32_bounded, too_large, write_item};
use super::{
    CgroupItem, HDR_FLAGS, HDR_GENERATION, HDR_ITEM_COUNT, HDR_LAYOUT, HDR_RESERVED, HDR_SYSTEMD,
    MAX_ENCODED_PAYLOAD, MIN_DIR_SLOTS, SNAPSHOT_ITEM_MIN_SIZE, SNAPSHOT_RESP_HDR_SIZE,
};
use crate::bytes::{Writer, align8, put_u16, put_u32, put_u64};
use crate::error::Error;
use crate::protocol::{DIR_ENTRY_SIZE, LAYOUT_VERSION};

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
    /// `hash` should be [`simple_hash`](super::simple_hash)`(name)`.
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
