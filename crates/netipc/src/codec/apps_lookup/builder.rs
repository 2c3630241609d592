//! The reusable server-side response builder and its item writer.

use crate::bytes::{FixedWriter, Writer};
use crate::error::Error;
use crate::protocol::LAYOUT_VERSION;

use crate::codec::lookup::directory::{u16_sat, u32_sat, us};
use crate::codec::lookup::labels::item_len_with_labels;
use crate::codec::lookup::response::ResponseCore;
use crate::codec::lookup::{IntoItemLabels, ItemLabels, NO_LABELS, PidStatus, response_builder};

use super::{
    APPS_LOOKUP_ITEM_HDR_SIZE, APPS_LOOKUP_MIN_ITEM_SIZE, AppsLookupEntry, AppsLookupItem,
    AppsLookupRequestView, ITEM_PID_OFF, ITEM_STATUS_OFF, MINIMAL_ITEM,
};

/// Reusable server-side `APPS_LOOKUP` response builder with payload budget
/// handling.
///
/// Use: [`reset`](Self::reset) with the decoded request, then one
/// [`add_request_item`](Self::add_request_item) (or [`add`](Self::add))
/// per request PID, in request order, then [`finish`](Self::finish).
///
/// # Budget semantics
///
/// [`set_budget(budget, max_budget)`](Self::set_budget) sets the current
/// response payload budget (the session's agreed maximum response payload)
/// and the configured maximum budget; both default to `u32::MAX`. At reset
/// the builder reserves room for the minimal non-`KNOWN` shape of every
/// item (60-byte header and three empty strings, 63 bytes), so the
/// response always holds exactly one item per PID and never exceeds the
/// budget:
///
/// - a `KNOWN` item whose full shape plus the reserved minimal shapes of
///   the later items fits the budget is encoded in full;
/// - a `KNOWN` item that would not fit even alone at the maximum budget
///   (`16 + 8 + item > max_budget`) becomes `OVERSIZED_ITEM`; later items
///   are still tried;
/// - otherwise a `KNOWN` item that does not fit becomes `PAYLOAD_EXCEEDED`,
///   and so does every later item, whatever status it is added with;
/// - items added with a non-`KNOWN` status always fit (they are encoded as
///   `PAYLOAD_EXCEEDED` once the builder is in exceeded mode); adding an
///   item as `PAYLOAD_EXCEEDED` yourself also enters exceeded mode.
///
/// Non-enriched outcomes echo the PID with zero fields, `UID_UNSET` and
/// empty strings. Every `add*` returns the PID status actually encoded. If
/// even the all-minimal response exceeds the budget, every item is encoded
/// as `PAYLOAD_EXCEEDED` and [`finish`](Self::finish) fails with
/// `Error::LimitExceeded` (the server must answer `LIMIT_EXCEEDED`).
///
/// Application bytes (comm, cgroup path and name, labels) are validated; an
/// invalid item is rejected with `InvalidArgument` before anything is
/// written, and the builder state is unchanged.
#[derive(Debug, Clone)]
pub struct AppsLookupBuilder {
    pub(super) core: ResponseCore,
}

response_builder!(AppsLookupBuilder);

impl AppsLookupBuilder {
    /// A builder that reuses `buf` as its payload buffer (contents dropped).
    pub fn from_vec(buf: Vec<u8>) -> Self {
        AppsLookupBuilder {
            core: ResponseCore::new(buf),
        }
    }

    /// Starts a response to `request` with the given generation.
    pub fn reset(&mut self, generation: u64, request: &AppsLookupRequestView<'_>) {
        self.reset_for_count(generation, u32_sat(request.len()));
    }

    /// Starts a response of `count` items with the given generation.
    pub fn reset_for_count(&mut self, generation: u64, count: u32) {
        let n = us(count);
        self.core.reset(
            generation,
            count,
            core::iter::repeat_n(APPS_LOOKUP_MIN_ITEM_SIZE, n),
        );
    }

    /// Adds the next item for `pid` (which should echo the request PID).
    /// `labels` is any iterable of
    /// [`LabelSource`](crate::codec::lookup::LabelSource), validated here, or a
    /// [`&LabelSet`](crate::codec::lookup::LabelSet), validated when it was built
    /// (see [`IntoItemLabels`]). Returns the PID status actually encoded.
    pub fn add<I>(
        &mut self,
        pid: u32,
        entry: &AppsLookupEntry<'_>,
        labels: I,
    ) -> Result<PidStatus, Error>
    where
        I: IntoItemLabels,
    {
        self.add_inner(pid, entry, labels.into_item_labels())
    }

    /// Adds item `index` (which must be the next one) echoing the PID of
    /// the decoded `request`.
    pub fn add_request_item<I>(
        &mut self,
        request: &AppsLookupRequestView<'_>,
        index: usize,
        entry: &AppsLookupEntry<'_>,
        labels: I,
    ) -> Result<PidStatus, Error>
    where
        I: IntoItemLabels,
    {
        let pid = self.core.next_request_key(index, request.get(index))?;
        self.add_inner(pid, entry, labels.into_item_labels())
    }

    /// Adds the next item as an unknown PID (the same item as
    /// [`add`](Self::add) of [`AppsLookupEntry::UNKNOWN`] without labels,
    /// which is valid by construction: nothing to check).
    pub fn add_unknown(&mut self, pid: u32) -> Result<PidStatus, Error> {
        self.core.check_room()?;
        Ok(self.core.add_item(
            PidStatus::Unknown,
            APPS_LOOKUP_MIN_ITEM_SIZE,
            || APPS_LOOKUP_MIN_ITEM_SIZE,
            NO_LABELS.into_item_labels(),
            0,
            |buf, status, _| write_minimal(buf, pid, status),
        ))
    }

    /// Adds request item `index` as an unknown PID.
    pub fn add_request_unknown(
        &mut self,
        request: &AppsLookupRequestView<'_>,
        index: usize,
    ) -> Result<PidStatus, Error> {
        let pid = self.core.next_request_key(index, request.get(index))?;
        self.add_unknown(pid)
    }

    /// Adds an owned item (validated like [`add`](Self::add)).
    pub fn add_item(&mut self, item: &AppsLookupItem) -> Result<PidStatus, Error> {
        self.add(item.pid, &item.entry(), &item.labels)
    }

    fn add_inner<I>(
        &mut self,
        pid: u32,
        entry: &AppsLookupEntry<'_>,
        labels: I,
    ) -> Result<PidStatus, Error>
    where
        I: ItemLabels,
    {
        self.core.check_room()?;
        let (label_count, label_bytes) = labels.measure()?;
        entry.validate(label_count)?;
        let encoded = self.core.add_item(
            entry.status,
            APPS_LOOKUP_MIN_ITEM_SIZE,
            || {
                entry
                    .strings_end()
                    .and_then(|end| item_len_with_labels(end, label_count, label_bytes))
                    .unwrap_or(usize::MAX)
            },
            labels,
            label_count,
            |buf, status, full| {
                if full {
                    write_item(buf, pid, status, entry, label_count);
                } else {
                    write_minimal(buf, pid, status);
                }
            },
        );
        Ok(encoded)
    }
}

/// Appends the minimal item of `pid` with `status`: what
/// [`write_item`] writes for [`AppsLookupEntry::UNKNOWN`] without labels.
#[inline]
fn write_minimal(out: &mut Vec<u8>, pid: u32, status: PidStatus) {
    let mut it = MINIMAL_ITEM;
    it[ITEM_STATUS_OFF..ITEM_STATUS_OFF + 2].copy_from_slice(&status.as_u16().to_ne_bytes());
    it[ITEM_PID_OFF..ITEM_PID_OFF + 4].copy_from_slice(&pid.to_ne_bytes());
    out.extend_from_slice(&it);
}

/// Appends an item header and its three strings (labels follow
/// separately): `comm` right after the header, then `cgroup_path`, then
/// `cgroup_name`, each followed by its NUL.
fn write_item(
    out: &mut Vec<u8>,
    pid: u32,
    status: PidStatus,
    e: &AppsLookupEntry<'_>,
    labels: usize,
) {
    let comm_off = APPS_LOOKUP_ITEM_HDR_SIZE;
    let path_off = comm_off + e.comm.len() + 1;
    let name_off = path_off + e.cgroup_path.len() + 1;
    let mut h = FixedWriter::<APPS_LOOKUP_ITEM_HDR_SIZE>::new();
    h.u16(LAYOUT_VERSION);
    h.u16(status.as_u16());
    h.u16(e.orchestrator);
    h.u16(e.cgroup_status.as_u16());
    h.u32(pid);
    h.u32(e.ppid);
    h.u32(e.uid);
    h.u32(0);
    h.u64(e.starttime);
    h.u32(u32_sat(comm_off));
    h.u32(u32_sat(e.comm.len()));
    h.u32(u32_sat(path_off));
    h.u32(u32_sat(e.cgroup_path.len()));
    h.u32(u32_sat(name_off));
    h.u32(u32_sat(e.cgroup_name.len()));
    h.u16(u16_sat(labels));
    h.u16(0);
    out.reserve(name_off + e.cgroup_name.len() + 1);
    let mut w = Writer::new(out);
    w.bytes(h.finish());
    w.bytes(e.comm);
    w.zeros(1);
    w.bytes(e.cgroup_path);
    w.zeros(1);
    w.bytes(e.cgroup_name);
    w.zeros(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_item_is_the_unknown_entry_item() {
        for status in [
            PidStatus::Unknown,
            PidStatus::PayloadExceeded,
            PidStatus::OversizedItem,
        ] {
            for pid in [0, 1, 0x1234_5678, u32::MAX] {
                let (mut a, mut b) = (vec![7u8; 3], vec![7u8; 3]);
                write_minimal(&mut a, pid, status);
                write_item(&mut b, pid, status, &AppsLookupEntry::UNKNOWN, 0);
                assert_eq!(a, b);
                assert_eq!(a.len(), 3 + APPS_LOOKUP_MIN_ITEM_SIZE);
            }
        }
    }
}
