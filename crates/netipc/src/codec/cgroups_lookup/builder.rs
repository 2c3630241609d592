//! The reusable server-side response builder and its item writer.

use crate::bytes::{FixedWriter, Writer};
use crate::error::Error;
use crate::protocol::LAYOUT_VERSION;

use crate::codec::lookup::directory::{u16_sat, u32_sat, us};
use crate::codec::lookup::labels::item_len_with_labels;
use crate::codec::lookup::response::ResponseCore;
use crate::codec::lookup::{IntoItemLabels, ItemLabels, LookupStatus, response_builder};

use super::request::validate_path;
use super::{CGROUPS_LOOKUP_ITEM_HDR_SIZE, CgroupsLookupItem, CgroupsLookupRequestView};

/// Reusable server-side `CGROUPS_LOOKUP` response builder with payload
/// budget handling.
///
/// Use: [`reset`](Self::reset) with the decoded request, then one
/// [`add_request_item`](Self::add_request_item) (or [`add`](Self::add))
/// per request key, in request order, then [`finish`](Self::finish).
///
/// # Budget semantics
///
/// [`set_budget(budget, max_budget)`](Self::set_budget) sets the current
/// response payload budget (the session's agreed maximum response payload)
/// and the configured maximum budget; both default to `u32::MAX`. At reset
/// the builder reserves room for the minimal non-`KNOWN` shape of every
/// request item (28-byte header, echoed path + NUL, empty name NUL), so the
/// response always holds exactly one item per key and never exceeds the
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
/// Every `add*` returns the status actually encoded. If even the
/// all-minimal response exceeds the budget, every item is encoded as
/// `PAYLOAD_EXCEEDED` and [`finish`](Self::finish) fails with
/// `Error::LimitExceeded` (the server must answer `LIMIT_EXCEEDED`).
///
/// Raw application bytes (name, labels and, for [`add`](Self::add), the
/// path) are validated; an invalid item is rejected with `InvalidArgument`
/// before anything is written, and the builder state is unchanged.
#[derive(Debug, Clone)]
pub struct CgroupsLookupBuilder {
    pub(super) core: ResponseCore,
    key_lens: Vec<u32>,
}

response_builder!(CgroupsLookupBuilder);

impl CgroupsLookupBuilder {
    /// A builder that reuses `buf` as its payload buffer (contents dropped).
    pub fn from_vec(buf: Vec<u8>) -> Self {
        CgroupsLookupBuilder {
            core: ResponseCore::new(buf),
            key_lens: Vec::new(),
        }
    }

    /// Starts a response to `request` with the given generation.
    pub fn reset(&mut self, generation: u64, request: &CgroupsLookupRequestView<'_>) {
        self.key_lens.clear();
        // Decoding validated every key (at least 2 bytes with its NUL):
        // the lengths come straight from the directory.
        let dir = &request.dir;
        self.key_lens
            .extend((0..dir.count()).map(|i| u32_sat(dir.raw_entry(i).1.saturating_sub(1))));
        self.start(generation);
    }

    /// Starts a response for keys with these paths (not validated here;
    /// [`add`](Self::add) validates them). Fails with `InvalidArgument` if
    /// there are more than `u32::MAX` paths or a path is longer than
    /// `u32::MAX` bytes.
    pub fn reset_for_paths<P: AsRef<[u8]>>(
        &mut self,
        generation: u64,
        paths: &[P],
    ) -> Result<(), Error> {
        if u32::try_from(paths.len()).is_err() {
            return Err(Error::InvalidArgument("more than u32::MAX lookup items"));
        }
        self.key_lens.clear();
        for p in paths {
            let len = u32::try_from(p.as_ref().len())
                .map_err(|_| Error::InvalidArgument("cgroup path too long"))?;
            self.key_lens.push(len);
        }
        self.start(generation);
        Ok(())
    }

    fn start(&mut self, generation: u64) {
        let mins = self
            .key_lens
            .iter()
            .map(|&l| us(l).saturating_add(CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2));
        self.core
            .reset(generation, u32_sat(self.key_lens.len()), mins);
    }

    /// Adds the next item with a raw `path` (validated: non-empty, no NUL,
    /// and as long as the request key it echoes).
    ///
    /// `name` and `labels` must be empty and `orchestrator` 0 unless
    /// `status` is `KNOWN`. `labels` is any iterable of
    /// [`LabelSource`](crate::codec::lookup::LabelSource), validated here, or a
    /// [`&LabelSet`](crate::codec::lookup::LabelSet), validated when it was built
    /// (see [`IntoItemLabels`]). Returns the status actually encoded.
    pub fn add<I>(
        &mut self,
        path: &[u8],
        status: LookupStatus,
        orchestrator: u16,
        name: &[u8],
        labels: I,
    ) -> Result<LookupStatus, Error>
    where
        I: IntoItemLabels,
    {
        validate_path(path)?;
        self.add_inner(path, status, orchestrator, name, labels.into_item_labels())
    }

    /// Adds item `index` (which must be the next one) echoing the path of
    /// the decoded `request`, which is not scanned again. `name` and
    /// `labels` are validated as in [`add`](Self::add).
    pub fn add_request_item<I>(
        &mut self,
        request: &CgroupsLookupRequestView<'_>,
        index: usize,
        status: LookupStatus,
        orchestrator: u16,
        name: &[u8],
        labels: I,
    ) -> Result<LookupStatus, Error>
    where
        I: IntoItemLabels,
    {
        let path = self.core.next_request_key(index, request.get(index))?;
        self.add_inner(path, status, orchestrator, name, labels.into_item_labels())
    }

    /// Adds the next item as non-enriched (`status` must not be `KNOWN`).
    pub fn add_unknown(
        &mut self,
        path: &[u8],
        status: LookupStatus,
    ) -> Result<LookupStatus, Error> {
        reject_known(status)?;
        self.add(path, status, 0, &[], crate::codec::lookup::NO_LABELS)
    }

    /// Adds request item `index` as non-enriched (`status` must not be
    /// `KNOWN`).
    pub fn add_request_unknown(
        &mut self,
        request: &CgroupsLookupRequestView<'_>,
        index: usize,
        status: LookupStatus,
    ) -> Result<LookupStatus, Error> {
        reject_known(status)?;
        self.add_request_item(
            request,
            index,
            status,
            0,
            &[],
            crate::codec::lookup::NO_LABELS,
        )
    }

    /// Adds an owned item (validated like [`add`](Self::add)).
    pub fn add_item(&mut self, item: &CgroupsLookupItem) -> Result<LookupStatus, Error> {
        self.add(
            &item.path,
            item.status,
            item.orchestrator,
            &item.name,
            &item.labels,
        )
    }

    fn add_inner<I>(
        &mut self,
        path: &[u8],
        status: LookupStatus,
        orchestrator: u16,
        name: &[u8],
        labels: I,
    ) -> Result<LookupStatus, Error>
    where
        I: ItemLabels,
    {
        let i = self.core.check_room()?;
        if self.key_lens.get(i).map(|&l| us(l)) != Some(path.len()) {
            return Err(Error::InvalidArgument(
                "path length differs from the request key it echoes",
            ));
        }
        if crate::bytes::has_nul(name) {
            return Err(Error::InvalidArgument("cgroup name contains a NUL byte"));
        }
        let (label_count, label_bytes) = labels.measure()?;
        if status != LookupStatus::Known {
            if orchestrator != 0 {
                return Err(Error::InvalidArgument(
                    "orchestrator must be 0 when status is not KNOWN",
                ));
            }
            if !name.is_empty() {
                return Err(Error::InvalidArgument(
                    "name must be empty when status is not KNOWN",
                ));
            }
            if label_count != 0 {
                return Err(Error::InvalidArgument(
                    "labels must be empty when status is not KNOWN",
                ));
            }
        }
        let min = path.len().saturating_add(CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2);
        let encoded = self.core.add_item(
            status,
            min,
            || {
                path.len()
                    .checked_add(name.len())
                    .and_then(|n| n.checked_add(CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2))
                    .and_then(|end| item_len_with_labels(end, label_count, label_bytes))
                    .unwrap_or(usize::MAX)
            },
            labels,
            label_count,
            |buf, status, full| {
                if full {
                    write_item(buf, status, orchestrator, path, name, label_count);
                } else {
                    write_item(buf, status, 0, path, &[], 0);
                }
            },
        );
        Ok(encoded)
    }
}

/// Fails if a non-enriched entry point is asked for `KNOWN`.
fn reject_known(status: LookupStatus) -> Result<(), Error> {
    if status == LookupStatus::Known {
        Err(Error::InvalidArgument(
            "a non-enriched item cannot have status KNOWN",
        ))
    } else {
        Ok(())
    }
}

/// Appends an item header and its path and name strings (labels follow
/// separately). Offsets are item-relative: path right after the header,
/// name right after the path's NUL.
fn write_item(
    out: &mut Vec<u8>,
    status: LookupStatus,
    orchestrator: u16,
    path: &[u8],
    name: &[u8],
    labels: usize,
) {
    let name_off = CGROUPS_LOOKUP_ITEM_HDR_SIZE + path.len() + 1;
    let mut h = FixedWriter::<CGROUPS_LOOKUP_ITEM_HDR_SIZE>::new();
    h.u16(LAYOUT_VERSION);
    h.u16(status.as_u16());
    h.u16(orchestrator);
    h.u16(0);
    h.u32(u32_sat(CGROUPS_LOOKUP_ITEM_HDR_SIZE));
    h.u32(u32_sat(path.len()));
    h.u32(u32_sat(name_off));
    h.u32(u32_sat(name.len()));
    h.u16(u16_sat(labels));
    h.u16(0);
    out.reserve(CGROUPS_LOOKUP_ITEM_HDR_SIZE + path.len() + name.len() + 2);
    let mut w = Writer::new(out);
    w.bytes(h.finish());
    w.bytes(path);
    w.zeros(1);
    w.bytes(name);
    w.zeros(1);
}
