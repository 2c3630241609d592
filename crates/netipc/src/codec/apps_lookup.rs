//! `APPS_LOOKUP` (method 5): PID keys in, process and cgroup metadata out.
//!
//! - Requests: [`encode_apps_lookup_request`], the size helpers
//!   [`apps_lookup_request_len`] / [`apps_lookup_request_max_items`] (used
//!   to split a logical lookup to a payload budget), and the zero-copy
//!   [`AppsLookupRequestView`].
//! - Responses: the reusable [`AppsLookupBuilder`] (server side, with
//!   `PAYLOAD_EXCEEDED` / `OVERSIZED_ITEM` budget handling), the owned
//!   [`AppsLookupResponse`] encoder and the zero-copy
//!   [`AppsLookupResponseView`] / [`AppsLookupItemView`].
//!
//! Request keys are fixed 8-byte binary structs (`pid: u32`,
//! `reserved: u32 = 0`), not strings: their directory length is always 8.
//! Response items have a 60-byte header (an explicit wire size, never the
//! size of a padded struct), then `comm`, `cgroup_path` and `cgroup_name`
//! strings (each with its NUL, even when empty) and labels.

use crate::bytes::{FixedWriter, Writer};
use crate::error::{DecodeError, Error};
use crate::protocol::{ITEM_ALIGN, LAYOUT_VERSION};

use super::lookup::directory::{
    Directory, check_layout, rd_u16, rd_u32, rd_u64, u16_sat, u32_sat, us, write_request_header,
};
use super::lookup::labels::{
    Span, check_disjoint, check_labels, check_string, item_len_with_labels,
};
use super::lookup::packed::packed_strings;
use super::lookup::response::{Placement, ResponseCore};
use super::lookup::{
    CgroupStatus, IntoItemLabels, ItemLabels, LOOKUP_DIR_ENTRY_SIZE, LOOKUP_REQ_HDR_SIZE,
    LOOKUP_RESP_HDR_SIZE, Label, MAX_BUDGET, NO_LABELS, Orchestrator, PidStatus, directory_view,
    item_labels, response_builder, response_view,
};

/// Size of the fixed `APPS_LOOKUP` request header.
pub const APPS_LOOKUP_REQ_HDR_SIZE: usize = LOOKUP_REQ_HDR_SIZE;
/// Size of the fixed `APPS_LOOKUP` response header.
pub const APPS_LOOKUP_RESP_HDR_SIZE: usize = LOOKUP_RESP_HDR_SIZE;
/// Wire size of the per-item response header (natural C alignment would
/// pad a struct to 64; the wire uses 60).
pub const APPS_LOOKUP_ITEM_HDR_SIZE: usize = 60;
/// Size of one request key (`pid: u32`, `reserved: u32`).
pub const APPS_LOOKUP_KEY_SIZE: usize = 8;
/// The `uid` value meaning "not set".
pub const UID_UNSET: u32 = 0xFFFF_FFFF;
/// Longest `comm` (Linux `TASK_COMM_LEN - 1`).
pub const APPS_LOOKUP_COMM_MAX_LEN: usize = 15;
/// Size of the minimal (non-enriched) item: header plus three empty
/// strings' NULs.
pub const APPS_LOOKUP_MIN_ITEM_SIZE: usize = APPS_LOOKUP_ITEM_HDR_SIZE + 3;

/// Request key: `reserved` offset.
const KEY_RESERVED_OFF: usize = 4;
/// Item header field offsets.
const ITEM_STATUS_OFF: usize = 2;
const ITEM_ORCH_OFF: usize = 4;
const ITEM_CGROUP_STATUS_OFF: usize = 6;
const ITEM_PID_OFF: usize = 8;
const ITEM_PPID_OFF: usize = 12;
const ITEM_UID_OFF: usize = 16;
const ITEM_RESERVED0_OFF: usize = 20;
const ITEM_STARTTIME_OFF: usize = 24;
const ITEM_COMM_OFF: usize = 32;
const ITEM_COMM_LEN: usize = 36;
const ITEM_PATH_OFF: usize = 40;
const ITEM_PATH_LEN: usize = 44;
const ITEM_NAME_OFF: usize = 48;
const ITEM_NAME_LEN: usize = 52;
const ITEM_LABEL_COUNT: usize = 56;
const ITEM_RESERVED1_OFF: usize = 58;

/// Error-message names.
const REQ_WHAT: &str = "apps lookup request";
const RESP_WHAT: &str = "apps lookup response";
const KEY_WHAT: &str = "apps lookup key";
const ITEM_WHAT: &str = "apps lookup item";

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// Exact encoded size of a request for `count` PIDs, or `None` if it
/// overflows or exceeds `u32::MAX`.
#[inline]
pub fn apps_lookup_request_len(count: usize) -> Option<usize> {
    count
        .checked_mul(LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_SIZE)
        .and_then(|n| n.checked_add(APPS_LOOKUP_REQ_HDR_SIZE))
        .filter(|&n| n <= MAX_BUDGET)
}

/// Most PIDs one request may hold within a `budget`-byte payload.
#[inline]
pub fn apps_lookup_request_max_items(budget: usize) -> usize {
    budget
        .min(MAX_BUDGET)
        .saturating_sub(APPS_LOOKUP_REQ_HDR_SIZE)
        / (LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_SIZE)
}

/// Encodes a request for `pids`, appending the payload to `out`.
///
/// Fails with `InvalidArgument` only if the request would exceed
/// `u32::MAX` bytes; `out` is then unchanged.
pub fn encode_apps_lookup_request(pids: &[u32], out: &mut Vec<u8>) -> Result<(), Error> {
    let len = apps_lookup_request_len(pids.len())
        .ok_or(Error::InvalidArgument("apps lookup request too large"))?;
    out.reserve(len);
    write_request_header(out, u32_sat(pids.len()));
    let mut w = Writer::new(out);
    for i in 0..pids.len() {
        w.u32(u32_sat(i * APPS_LOOKUP_KEY_SIZE));
        w.u32(u32_sat(APPS_LOOKUP_KEY_SIZE));
    }
    for &pid in pids {
        w.u32(pid);
        w.u32(0);
    }
    Ok(())
}

/// An owned `APPS_LOOKUP` request: the PIDs to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AppsLookupRequest {
    /// PIDs in request order.
    pub pids: Vec<u32>,
}

impl AppsLookupRequest {
    /// Encodes the request, appending the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_apps_lookup_request(&self.pids, out)
    }
}

/// A decoded `APPS_LOOKUP` request.
///
/// **Borrowed / ephemeral**: the view borrows the payload bytes it was
/// decoded from and is valid only while that buffer is alive and
/// unchanged. In a Level 2 server callback it is valid only for the
/// duration of the callback; with caller-managed buffers, until the caller
/// reuses or frees them. Copy the PIDs (or call
/// [`to_owned`](Self::to_owned)) if they are needed later.
///
/// Decoding validated every key, so access is infallible.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupRequestView<'a> {
    dir: Directory<'a>,
}

impl<'a> AppsLookupRequestView<'a> {
    /// Decodes and fully validates a request payload.
    ///
    /// Rejects: a truncated header or directory (`Truncated`), a layout
    /// other than 1 (`BadLayoutVersion`), non-zero flags, reserved words or
    /// key `reserved` fields (`NonZeroReserved`), directory overflow or keys
    /// out of bounds (`OutOfBounds`), key offsets not 8-byte aligned
    /// (`BadAlignment`) and directory lengths other than 8 (`BadLength`).
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let dir = Directory::parse_request(payload, REQ_WHAT)?;
        for i in 0..dir.count() {
            let (off, end) = dir.entry_range(i, KEY_WHAT)?;
            if end - off != APPS_LOOKUP_KEY_SIZE {
                return Err(DecodeError::BadLength {
                    what: "apps lookup key length must be 8",
                });
            }
            if rd_u32(dir.range(off, end), KEY_RESERVED_OFF) != 0 {
                return Err(DecodeError::NonZeroReserved {
                    field: "key reserved",
                });
            }
        }
        Ok(AppsLookupRequestView { dir })
    }

    /// Copies the request into an owned [`AppsLookupRequest`].
    pub fn to_owned(&self) -> AppsLookupRequest {
        AppsLookupRequest {
            pids: self.iter().collect(),
        }
    }

    #[inline]
    fn pid_at(&self, i: usize) -> u32 {
        rd_u32(self.dir.slice(i), 0)
    }
}

directory_view! {
    AppsLookupRequestView => AppsLookupPids, u32, pid_at;
    /// Number of PIDs.
    len;
    /// Whether the request has no PIDs (a no-op probe).
    is_empty;
    /// PID `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pid, "apps lookup key index out of range";
    /// PID `i`, or `None` if `i` is out of range.
    get;
    /// Iterates over the PIDs in request order.
    iter;
    /// Iterator over the PIDs of an [`AppsLookupRequestView`].
    iterator;
}

// ---------------------------------------------------------------------------
// Responses: input and owned types
// ---------------------------------------------------------------------------

/// The fields of one response item other than its PID and labels, as
/// borrowed application data for [`AppsLookupBuilder`].
///
/// Rules (checked by the builder): strings carry no NUL; `comm` is at most
/// 15 bytes. For a `KNOWN` PID `comm` is 1..=15 bytes and the cgroup
/// fields follow `cgroup_status` (`KNOWN`: non-empty path;
/// `UNKNOWN_RETRY_LATER`: orchestrator 0, empty name, no labels;
/// `UNKNOWN_PERMANENT`: non-empty path, orchestrator 0, empty name, no
/// labels; `HOST_ROOT`: orchestrator 0, empty path and name, no labels).
/// Any other PID status requires [`AppsLookupEntry::UNKNOWN`]'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppsLookupEntry<'a> {
    /// PID status.
    pub status: PidStatus,
    /// Cgroup status (`KNOWN` = 0 when the PID is not known).
    pub cgroup_status: CgroupStatus,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// Process UID, or [`UID_UNSET`].
    pub uid: u32,
    /// Linux `/proc/<pid>/stat` field 22 (jiffies since boot), 0 elsewhere.
    pub starttime: u64,
    /// Process name.
    pub comm: &'a [u8],
    /// Cgroup path.
    pub cgroup_path: &'a [u8],
    /// Cgroup name.
    pub cgroup_name: &'a [u8],
}

impl AppsLookupEntry<'static> {
    /// The entry of an unknown PID: status `UNKNOWN`, zeros, `UID_UNSET`,
    /// empty strings.
    pub const UNKNOWN: Self = AppsLookupEntry {
        status: PidStatus::Unknown,
        cgroup_status: CgroupStatus::Known,
        orchestrator: 0,
        ppid: 0,
        uid: UID_UNSET,
        starttime: 0,
        comm: &[],
        cgroup_path: &[],
        cgroup_name: &[],
    };
}

impl AppsLookupEntry<'_> {
    /// Checks the entry against the status rules; `labels` is the label
    /// count.
    fn validate(&self, labels: usize) -> Result<(), Error> {
        let bad = Error::InvalidArgument;
        if crate::bytes::has_nul(self.comm) {
            return Err(bad("comm contains a NUL byte"));
        }
        if crate::bytes::has_nul(self.cgroup_path) {
            return Err(bad("cgroup path contains a NUL byte"));
        }
        if crate::bytes::has_nul(self.cgroup_name) {
            return Err(bad("cgroup name contains a NUL byte"));
        }
        if self.comm.len() > APPS_LOOKUP_COMM_MAX_LEN {
            return Err(bad("comm is longer than 15 bytes"));
        }
        if self.status != PidStatus::Known {
            let u = AppsLookupEntry::UNKNOWN;
            let empty = (
                self.cgroup_status,
                self.orchestrator,
                self.ppid,
                self.uid,
                self.starttime,
            ) == (u.cgroup_status, u.orchestrator, u.ppid, u.uid, u.starttime)
                && self.comm.is_empty()
                && self.cgroup_path.is_empty()
                && self.cgroup_name.is_empty()
                && labels == 0;
            return if empty {
                Ok(())
            } else {
                Err(bad(
                    "a non-KNOWN pid item must have zero fields, UID_UNSET, empty strings and no labels",
                ))
            };
        }
        if self.comm.is_empty() {
            return Err(bad("comm must not be empty for a KNOWN pid"));
        }
        let (path, plain) = (
            !self.cgroup_path.is_empty(),
            self.orchestrator == 0 && self.cgroup_name.is_empty() && labels == 0,
        );
        let ok = match self.cgroup_status {
            CgroupStatus::Known => path,
            CgroupStatus::UnknownRetryLater => plain,
            CgroupStatus::UnknownPermanent => path && plain,
            CgroupStatus::HostRoot => !path && plain,
        };
        if ok {
            Ok(())
        } else {
            Err(bad("cgroup fields violate the cgroup_status rules"))
        }
    }

    /// Size of the item's strings area end (NULs included).
    fn strings_end(&self) -> Option<usize> {
        self.comm
            .len()
            .checked_add(self.cgroup_path.len())?
            .checked_add(self.cgroup_name.len())?
            .checked_add(APPS_LOOKUP_MIN_ITEM_SIZE)
    }
}

/// An owned `APPS_LOOKUP` response item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppsLookupItem {
    /// PID status.
    pub status: PidStatus,
    /// Cgroup status (`KNOWN` = 0 unless the PID is known).
    pub cgroup_status: CgroupStatus,
    /// Raw orchestrator value.
    pub orchestrator: u16,
    /// Echoed request PID.
    pub pid: u32,
    /// Parent PID, or 0.
    pub ppid: u32,
    /// Process UID, or [`UID_UNSET`].
    pub uid: u32,
    /// Start time in jiffies since boot (0 when unknown / non-Linux).
    pub starttime: u64,
    /// Process name (1..=15 bytes for a known PID).
    pub comm: Vec<u8>,
    /// Cgroup path.
    pub cgroup_path: Vec<u8>,
    /// Cgroup name.
    pub cgroup_name: Vec<u8>,
    /// Labels.
    pub labels: Vec<Label>,
}

impl AppsLookupItem {
    /// A non-enriched item for `pid` with a non-`KNOWN` `status`.
    pub fn unknown(pid: u32, status: PidStatus) -> Self {
        AppsLookupItem {
            status,
            cgroup_status: CgroupStatus::Known,
            orchestrator: 0,
            pid,
            ppid: 0,
            uid: UID_UNSET,
            starttime: 0,
            comm: Vec::new(),
            cgroup_path: Vec::new(),
            cgroup_name: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The item's fields (except PID and labels) as a builder entry.
    pub fn entry(&self) -> AppsLookupEntry<'_> {
        AppsLookupEntry {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator,
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm: &self.comm,
            cgroup_path: &self.cgroup_path,
            cgroup_name: &self.cgroup_name,
        }
    }

    /// The orchestrator as a known enum value, if it is one.
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }
}

/// An owned `APPS_LOOKUP` response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AppsLookupResponse {
    /// Advisory provider generation.
    pub generation: u64,
    /// One item per request PID, in request order.
    pub items: Vec<AppsLookupItem>,
}

impl AppsLookupResponse {
    /// Encodes the response with an unlimited budget, appending the payload
    /// to `out` (every item keeps its status). Fails with
    /// `InvalidArgument` if an item is invalid; `out` is then unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let count = u32::try_from(self.items.len())
            .map_err(|_| Error::InvalidArgument("more than u32::MAX lookup items"))?;
        let mut b = AppsLookupBuilder::new();
        b.core.set_verbatim(true);
        b.reset_for_count(self.generation, count);
        for item in &self.items {
            b.add_item(item)?;
        }
        out.extend_from_slice(b.finish()?);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Responses: builder
// ---------------------------------------------------------------------------

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
    core: ResponseCore,
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
    /// [`LabelSource`](super::lookup::LabelSource), validated here, or a
    /// [`&LabelSet`](super::lookup::LabelSet), validated when it was built
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

    /// Adds the next item as an unknown PID.
    pub fn add_unknown(&mut self, pid: u32) -> Result<PidStatus, Error> {
        self.add(pid, &AppsLookupEntry::UNKNOWN, NO_LABELS)
    }

    /// Adds request item `index` as an unknown PID.
    pub fn add_request_unknown(
        &mut self,
        request: &AppsLookupRequestView<'_>,
        index: usize,
    ) -> Result<PidStatus, Error> {
        self.add_request_item(request, index, &AppsLookupEntry::UNKNOWN, NO_LABELS)
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
        let full = (entry.status == PidStatus::Known).then(|| {
            entry
                .strings_end()
                .and_then(|end| item_len_with_labels(end, label_count, label_bytes))
                .unwrap_or(usize::MAX)
        });
        let placement = self.core.place(
            APPS_LOOKUP_MIN_ITEM_SIZE,
            full,
            entry.status == PidStatus::PayloadExceeded,
        );
        let (buf, start) = self.core.begin_item();
        let encoded = match placement {
            Placement::Full => {
                write_item(buf, pid, entry.status, entry, label_count);
                labels.write(buf, start, label_count);
                entry.status
            }
            Placement::Minimal => {
                write_item(buf, pid, entry.status, &AppsLookupEntry::UNKNOWN, 0);
                entry.status
            }
            Placement::PayloadExceeded => {
                write_item(
                    buf,
                    pid,
                    PidStatus::PayloadExceeded,
                    &AppsLookupEntry::UNKNOWN,
                    0,
                );
                PidStatus::PayloadExceeded
            }
            Placement::Oversized => {
                write_item(
                    buf,
                    pid,
                    PidStatus::OversizedItem,
                    &AppsLookupEntry::UNKNOWN,
                    0,
                );
                PidStatus::OversizedItem
            }
        };
        self.core.end_item(start);
        Ok(encoded)
    }
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

// ---------------------------------------------------------------------------
// Responses: views
// ---------------------------------------------------------------------------

response_view! {
    /// A decoded `APPS_LOOKUP` response.
    ///
    /// **Borrowed / ephemeral**: the view borrows the payload bytes it was
    /// decoded from and is valid only while that buffer is alive and
    /// unchanged. For a Level 2 client it is valid until the next typed call on
    /// the same client (or its close); with caller-managed buffers, until the
    /// caller reuses or frees them. Copy what you need (or call
    /// [`to_owned`](Self::to_owned)) immediately if it is needed later.
    ///
    /// Decoding validates everything eagerly without allocating, so item and
    /// label access afterwards is infallible.
    pub struct AppsLookupResponseView;
    /// Decodes and fully validates a response payload.
    ///
    /// Rejects (error variant in parentheses): truncated header or
    /// directory (`Truncated`); layout other than 1 in the header or an
    /// item (`BadLayoutVersion`); non-zero flags or reserved fields
    /// (`NonZeroReserved`); directory overflow or item ranges out of
    /// bounds (`OutOfBounds`); overlapping or out-of-order item ranges
    /// (`Overlap`); unaligned item offsets (`BadAlignment`); items shorter
    /// than 60 bytes (`Truncated`); unknown PID or cgroup status values
    /// (`UnknownStatus`); `comm_length > 15`, or 0 for a known PID
    /// (`BadLength`); PID-status and cgroup-status field rules
    /// (`InvalidField`); string offsets before byte 60 and strings out of
    /// bounds (`OutOfBounds`); missing NULs (`MissingNul`); interior NULs
    /// (`InteriorNul`); overlapping strings including their NULs
    /// (`Overlap`); and every label-table rule (see the `lookup` module).
    decode(RESP_WHAT, APPS_LOOKUP_ITEM_HDR_SIZE, ITEM_WHAT);
    item: AppsLookupItemView, "apps lookup item index out of range";
    iter: AppsLookupItems;
    owned: AppsLookupResponse;
}

/// One decoded `APPS_LOOKUP` response item.
///
/// **Borrowed / ephemeral**: same lifetime contract as the
/// [`AppsLookupResponseView`] it came from; its strings point into the
/// payload bytes. Copy them (or call [`to_owned`](Self::to_owned)) if they
/// are needed after the buffer may be reused.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupItemView<'a> {
    item: &'a [u8],
    status: PidStatus,
    cgroup_status: CgroupStatus,
    comm: &'a [u8],
    cgroup_path: &'a [u8],
    cgroup_name: &'a [u8],
    label_count: usize,
    table: usize,
}

/// Builds an `InvalidField` error.
#[inline]
fn invalid(rule: &'static str) -> DecodeError {
    DecodeError::InvalidField { rule }
}

impl<'a> AppsLookupItemView<'a> {
    /// Validates one item (at least 60 bytes, checked by the caller).
    ///
    /// Inlined into its one caller, the response decoder, which only
    /// needs the verdict: the view fields are then never computed.
    #[inline(always)]
    fn parse_checked(item: &'a [u8]) -> Result<Self, DecodeError> {
        // The caller checked the length: the header fields are read from a
        // fixed-size array, so their bounds checks fold away.
        let Some(h) = item.first_chunk::<APPS_LOOKUP_ITEM_HDR_SIZE>() else {
            return Err(DecodeError::Truncated {
                what: ITEM_WHAT,
                need: APPS_LOOKUP_ITEM_HDR_SIZE,
                have: item.len(),
            });
        };
        check_layout(rd_u16(h, 0), ITEM_WHAT)?;
        let raw = rd_u16(h, ITEM_STATUS_OFF);
        let status = PidStatus::from_u16(raw).ok_or(DecodeError::UnknownStatus {
            what: PidStatus::WHAT,
            found: u32::from(raw),
        })?;
        let raw = rd_u16(h, ITEM_CGROUP_STATUS_OFF);
        let cgroup_status = CgroupStatus::from_u16(raw).ok_or(DecodeError::UnknownStatus {
            what: CgroupStatus::WHAT,
            found: u32::from(raw),
        })?;
        if rd_u32(h, ITEM_RESERVED0_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved0",
            });
        }
        if rd_u16(h, ITEM_RESERVED1_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved1",
            });
        }
        let orchestrator = rd_u16(h, ITEM_ORCH_OFF);
        let comm_len = rd_u32(h, ITEM_COMM_LEN);
        let path_len = rd_u32(h, ITEM_PATH_LEN);
        let name_len = rd_u32(h, ITEM_NAME_LEN);
        let label_count = usize::from(rd_u16(h, ITEM_LABEL_COUNT));
        if us(comm_len) > APPS_LOOKUP_COMM_MAX_LEN {
            return Err(DecodeError::BadLength {
                what: "comm_length must be <= 15",
            });
        }
        if status == PidStatus::Known {
            if comm_len == 0 {
                return Err(DecodeError::BadLength {
                    what: "comm_length must be 1..=15 for a KNOWN pid",
                });
            }
            check_cgroup_rules(cgroup_status, orchestrator, path_len, name_len, label_count)?;
        } else {
            check_unknown_pid_rules(
                item,
                cgroup_status,
                orchestrator,
                comm_len,
                path_len,
                name_len,
                label_count,
            )?;
        }
        let hdr = APPS_LOOKUP_ITEM_HDR_SIZE;
        let offs = [
            rd_u32(h, ITEM_COMM_OFF),
            rd_u32(h, ITEM_PATH_OFF),
            rd_u32(h, ITEM_NAME_OFF),
        ];
        let fields = [
            (offs[0], comm_len),
            (offs[1], path_len),
            (offs[2], name_len),
        ];
        let [comm, path, name] = match packed_strings(item, hdr, fields) {
            Some(spans) => spans,
            None => {
                let comm = check_string(item, hdr, offs[0], comm_len, "comm")?;
                let path = check_string(item, hdr, offs[1], path_len, "cgroup_path")?;
                let name = check_string(item, hdr, offs[2], name_len, "cgroup_name")?;
                check_disjoint(
                    &[comm, path, name],
                    "comm, cgroup_path and cgroup_name strings",
                )?;
                [comm, path, name]
            }
        };
        let table = check_labels(item, comm.end.max(path.end).max(name.end), label_count)?;
        Ok(Self::from_parts(
            item,
            status,
            cgroup_status,
            [comm, path, name],
            label_count,
            table,
        ))
    }

    /// Re-reads an item that [`parse_checked`](Self::parse_checked) accepted.
    pub(crate) fn parse_trusted(item: &'a [u8]) -> Self {
        let comm = Span::trusted(item, ITEM_COMM_OFF, ITEM_COMM_LEN);
        let path = Span::trusted(item, ITEM_PATH_OFF, ITEM_PATH_LEN);
        let name = Span::trusted(item, ITEM_NAME_OFF, ITEM_NAME_LEN);
        let table = comm
            .end
            .max(path.end)
            .max(name.end)
            .next_multiple_of(ITEM_ALIGN);
        Self::from_parts(
            item,
            PidStatus::from_u16(rd_u16(item, ITEM_STATUS_OFF)).unwrap_or(PidStatus::Known),
            CgroupStatus::from_u16(rd_u16(item, ITEM_CGROUP_STATUS_OFF))
                .unwrap_or(CgroupStatus::Known),
            [comm, path, name],
            usize::from(rd_u16(item, ITEM_LABEL_COUNT)),
            table,
        )
    }

    #[inline(always)]
    fn from_parts(
        item: &'a [u8],
        status: PidStatus,
        cgroup_status: CgroupStatus,
        [comm, path, name]: [Span; 3],
        label_count: usize,
        table: usize,
    ) -> Self {
        AppsLookupItemView {
            item,
            status,
            cgroup_status,
            comm: comm.bytes(item),
            cgroup_path: path.bytes(item),
            cgroup_name: name.bytes(item),
            label_count,
            table,
        }
    }

    /// The PID status.
    #[inline]
    pub fn status(&self) -> PidStatus {
        self.status
    }

    /// The cgroup status (`KNOWN` = 0 when the PID is not known).
    #[inline]
    pub fn cgroup_status(&self) -> CgroupStatus {
        self.cgroup_status
    }

    /// The raw orchestrator value (unknown values are passed through).
    #[inline]
    pub fn orchestrator(&self) -> u16 {
        rd_u16(self.item, ITEM_ORCH_OFF)
    }

    /// The orchestrator as a known enum value, if it is one.
    #[inline]
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator())
    }

    /// The echoed request PID.
    #[inline]
    pub fn pid(&self) -> u32 {
        rd_u32(self.item, ITEM_PID_OFF)
    }

    /// The parent PID, or 0.
    #[inline]
    pub fn ppid(&self) -> u32 {
        rd_u32(self.item, ITEM_PPID_OFF)
    }

    /// The raw UID ([`UID_UNSET`] when not set).
    #[inline]
    pub fn uid(&self) -> u32 {
        rd_u32(self.item, ITEM_UID_OFF)
    }

    /// The UID, or `None` if it is [`UID_UNSET`].
    #[inline]
    pub fn uid_opt(&self) -> Option<u32> {
        Some(self.uid()).filter(|&u| u != UID_UNSET)
    }

    /// Start time in jiffies since boot (0 when unknown / non-Linux).
    #[inline]
    pub fn starttime(&self) -> u64 {
        rd_u64(self.item, ITEM_STARTTIME_OFF)
    }

    /// The process name (no NUL; 1..=15 bytes for a known PID).
    #[inline]
    pub fn comm(&self) -> &'a [u8] {
        self.comm
    }

    /// The cgroup path (no NUL; may be empty).
    #[inline]
    pub fn cgroup_path(&self) -> &'a [u8] {
        self.cgroup_path
    }

    /// The cgroup name (no NUL; may be empty).
    #[inline]
    pub fn cgroup_name(&self) -> &'a [u8] {
        self.cgroup_name
    }

    item_labels!();

    /// Copies the item into an owned [`AppsLookupItem`].
    pub fn to_owned(&self) -> AppsLookupItem {
        AppsLookupItem {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator(),
            pid: self.pid(),
            ppid: self.ppid(),
            uid: self.uid(),
            starttime: self.starttime(),
            comm: self.comm.to_vec(),
            cgroup_path: self.cgroup_path.to_vec(),
            cgroup_name: self.cgroup_name.to_vec(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}

/// Cgroup-status field rules of a `KNOWN` PID item.
fn check_cgroup_rules(
    cgroup_status: CgroupStatus,
    orchestrator: u16,
    path_len: u32,
    name_len: u32,
    label_count: usize,
) -> Result<(), DecodeError> {
    let plain = |which: &'static str| -> Result<(), DecodeError> {
        if orchestrator != 0 {
            return Err(invalid(which));
        }
        if name_len != 0 || label_count != 0 {
            return Err(invalid(which));
        }
        Ok(())
    };
    match cgroup_status {
        CgroupStatus::Known if path_len == 0 => Err(invalid(
            "cgroup_path must not be empty when cgroup_status is KNOWN",
        )),
        CgroupStatus::Known => Ok(()),
        CgroupStatus::UnknownRetryLater => plain(
            "cgroup_status UNKNOWN_RETRY_LATER requires orchestrator 0, an empty cgroup_name and no labels",
        ),
        CgroupStatus::UnknownPermanent if path_len == 0 => Err(invalid(
            "cgroup_path must not be empty when cgroup_status is UNKNOWN_PERMANENT",
        )),
        CgroupStatus::UnknownPermanent => plain(
            "cgroup_status UNKNOWN_PERMANENT requires orchestrator 0, an empty cgroup_name and no labels",
        ),
        CgroupStatus::HostRoot if path_len != 0 => Err(invalid(
            "cgroup_path must be empty when cgroup_status is HOST_ROOT",
        )),
        CgroupStatus::HostRoot => plain(
            "cgroup_status HOST_ROOT requires orchestrator 0, an empty cgroup_name and no labels",
        ),
    }
}

/// Field rules of an `UNKNOWN`, `PAYLOAD_EXCEEDED` or `OVERSIZED_ITEM` item.
fn check_unknown_pid_rules(
    item: &[u8],
    cgroup_status: CgroupStatus,
    orchestrator: u16,
    comm_len: u32,
    path_len: u32,
    name_len: u32,
    label_count: usize,
) -> Result<(), DecodeError> {
    if orchestrator != 0 {
        return Err(invalid(
            "orchestrator must be 0 when pid status is not KNOWN",
        ));
    }
    if cgroup_status != CgroupStatus::Known {
        return Err(invalid(
            "cgroup_status must be 0 when pid status is not KNOWN",
        ));
    }
    if rd_u32(item, ITEM_PPID_OFF) != 0 {
        return Err(invalid("ppid must be 0 when pid status is not KNOWN"));
    }
    if rd_u32(item, ITEM_UID_OFF) != UID_UNSET {
        return Err(invalid(
            "uid must be UID_UNSET when pid status is not KNOWN",
        ));
    }
    if rd_u64(item, ITEM_STARTTIME_OFF) != 0 {
        return Err(invalid("starttime must be 0 when pid status is not KNOWN"));
    }
    if comm_len != 0 || path_len != 0 || name_len != 0 {
        return Err(invalid(
            "strings must be empty when pid status is not KNOWN",
        ));
    }
    if label_count != 0 {
        return Err(invalid(
            "label_count must be 0 when pid status is not KNOWN",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{put_u16, put_u32, put_u64};
    use crate::codec::lookup::{LOOKUP_LABEL_ENTRY_SIZE, MAX_LABELS, orchestrator_name};
    use proptest::prelude::*;

    #[test]
    fn set_generation_keeps_items() {
        let mut req = Vec::new();
        encode_apps_lookup_request(&[7, 8], &mut req).unwrap();
        let view = AppsLookupRequestView::decode(&req).unwrap();
        let mut b = AppsLookupBuilder::new();
        b.reset(1, &view);
        b.add_request_unknown(&view, 0).unwrap();
        b.add_request_unknown(&view, 1).unwrap();
        b.set_generation(u64::MAX);
        let resp = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(resp.generation(), u64::MAX);
        assert_eq!(resp.item(1).pid(), 8);
    }

    // ----- conformance -------------------------------------------------

    struct ReqVector {
        name: &'static str,
        bytes: &'static [u8],
        pids: &'static [u32],
    }

    struct ExpItem {
        status: &'static str,
        cgroup_status: &'static str,
        orchestrator: &'static str,
        pid: u32,
        ppid: u32,
        uid: u32,
        starttime: u64,
        comm: &'static str,
        cgroup_path: &'static str,
        cgroup_name: &'static str,
        labels: &'static [(&'static str, &'static str)],
    }

    struct RespVector {
        name: &'static str,
        bytes: &'static [u8],
        generation: u64,
        items: &'static [ExpItem],
    }

    /// Generated from testdata/conformance/vectors.json.
    const REQ_VECTORS: &[ReqVector] = &[
        ReqVector {
            name: "apps_lookup_req",
            bytes: include_bytes!("../../../../testdata/conformance/vectors/apps_lookup_req.bin"),
            pids: &[0, 1234, 4321],
        },
        ReqVector {
            name: "apps_lookup_req_empty",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_req_empty.bin"
            ),
            pids: &[],
        },
    ];

    /// Generated from testdata/conformance/vectors.json.
    const RESP_VECTORS: &[RespVector] = &[
        RespVector {
            name: "apps_lookup_resp_known_full",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_known_full.bin"
            ),
            generation: 200,
            items: &[ExpItem {
                status: "KNOWN",
                cgroup_status: "KNOWN",
                orchestrator: "DOCKER",
                pid: 1234,
                ppid: 1,
                uid: 1000,
                starttime: 123456,
                comm: "123456789012345",
                cgroup_path: "/docker/abc",
                cgroup_name: "container-a",
                labels: &[("image", "nginx:latest"), ("service", "web")],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_known_retry",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_known_retry.bin"
            ),
            generation: 201,
            items: &[ExpItem {
                status: "KNOWN",
                cgroup_status: "UNKNOWN_RETRY_LATER",
                orchestrator: "UNKNOWN",
                pid: 1235,
                ppid: 1,
                uid: 1000,
                starttime: 123457,
                comm: "app",
                cgroup_path: "/pending",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_known_permanent",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_known_permanent.bin"
            ),
            generation: 202,
            items: &[ExpItem {
                status: "KNOWN",
                cgroup_status: "UNKNOWN_PERMANENT",
                orchestrator: "UNKNOWN",
                pid: 1236,
                ppid: 1,
                uid: 1000,
                starttime: 123458,
                comm: "app2",
                cgroup_path: "/permanent",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_known_host_root",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_known_host_root.bin"
            ),
            generation: 203,
            items: &[ExpItem {
                status: "KNOWN",
                cgroup_status: "HOST_ROOT",
                orchestrator: "UNKNOWN",
                pid: 1237,
                ppid: 1,
                uid: 0,
                starttime: 123459,
                comm: "sshd",
                cgroup_path: "",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_unknown_pid",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_unknown_pid.bin"
            ),
            generation: 204,
            items: &[ExpItem {
                status: "UNKNOWN",
                cgroup_status: "KNOWN",
                orchestrator: "UNKNOWN",
                pid: 0,
                ppid: 0,
                uid: UID_UNSET,
                starttime: 0,
                comm: "",
                cgroup_path: "",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_payload_exceeded",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_payload_exceeded.bin"
            ),
            generation: 205,
            items: &[ExpItem {
                status: "PAYLOAD_EXCEEDED",
                cgroup_status: "KNOWN",
                orchestrator: "UNKNOWN",
                pid: 1238,
                ppid: 0,
                uid: UID_UNSET,
                starttime: 0,
                comm: "",
                cgroup_path: "",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_oversized_item",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_oversized_item.bin"
            ),
            generation: 206,
            items: &[ExpItem {
                status: "OVERSIZED_ITEM",
                cgroup_status: "KNOWN",
                orchestrator: "UNKNOWN",
                pid: 1239,
                ppid: 0,
                uid: UID_UNSET,
                starttime: 0,
                comm: "",
                cgroup_path: "",
                cgroup_name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "apps_lookup_resp_empty",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/apps_lookup_resp_empty.bin"
            ),
            generation: 207,
            items: &[],
        },
    ];

    impl ExpItem {
        fn entry(&self) -> AppsLookupEntry<'static> {
            AppsLookupEntry {
                status: PidStatus::from_name(self.status).unwrap(),
                cgroup_status: CgroupStatus::from_name(self.cgroup_status).unwrap(),
                orchestrator: Orchestrator::from_name(self.orchestrator).unwrap().as_u16(),
                ppid: self.ppid,
                uid: self.uid,
                starttime: self.starttime,
                comm: self.comm.as_bytes(),
                cgroup_path: self.cgroup_path.as_bytes(),
                cgroup_name: self.cgroup_name.as_bytes(),
            }
        }
    }

    #[test]
    fn conformance_requests() {
        for v in REQ_VECTORS {
            let view = AppsLookupRequestView::decode(v.bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(view.iter().collect::<Vec<_>>(), v.pids, "{}", v.name);
            let mut out = Vec::new();
            encode_apps_lookup_request(v.pids, &mut out).unwrap();
            assert_eq!(out, v.bytes, "{}: encode", v.name);
            assert_eq!(apps_lookup_request_len(v.pids.len()), Some(v.bytes.len()));
            let mut out2 = Vec::new();
            view.to_owned().encode(&mut out2).unwrap();
            assert_eq!(out2, v.bytes, "{}: re-encode", v.name);
        }
    }

    #[test]
    fn conformance_responses() {
        for v in RESP_VECTORS {
            let view = AppsLookupResponseView::decode(v.bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(view.generation(), v.generation, "{}", v.name);
            assert_eq!(view.len(), v.items.len(), "{}", v.name);
            for (got, want) in view.items().zip(v.items) {
                assert_eq!(got.status().as_str(), want.status, "{}", v.name);
                assert_eq!(
                    got.cgroup_status().as_str(),
                    want.cgroup_status,
                    "{}",
                    v.name
                );
                assert_eq!(
                    orchestrator_name(got.orchestrator()),
                    Some(want.orchestrator),
                    "{}",
                    v.name
                );
                assert_eq!(
                    (got.pid(), got.ppid(), got.uid(), got.starttime()),
                    (want.pid, want.ppid, want.uid, want.starttime),
                    "{}",
                    v.name
                );
                assert_eq!(got.comm(), want.comm.as_bytes(), "{}", v.name);
                assert_eq!(got.cgroup_path(), want.cgroup_path.as_bytes(), "{}", v.name);
                assert_eq!(got.cgroup_name(), want.cgroup_name.as_bytes(), "{}", v.name);
                let labels: Vec<(&[u8], &[u8])> =
                    got.labels().map(|l| (l.key(), l.value())).collect();
                let wl: Vec<(&[u8], &[u8])> = want
                    .labels
                    .iter()
                    .map(|(k, x)| (k.as_bytes(), x.as_bytes()))
                    .collect();
                assert_eq!(labels, wl, "{}", v.name);
            }
            let mut b = AppsLookupBuilder::new();
            b.reset_for_count(v.generation, u32::try_from(v.items.len()).unwrap());
            for it in v.items {
                let st = b.add(it.pid, &it.entry(), it.labels).unwrap();
                assert_eq!(st.as_str(), it.status);
            }
            assert_eq!(b.finish().unwrap(), v.bytes, "{}: encode", v.name);
            let mut out = Vec::new();
            view.to_owned().encode(&mut out).unwrap();
            assert_eq!(out, v.bytes, "{}: re-encode", v.name);
        }
    }

    fn vector(name: &str) -> &'static RespVector {
        RESP_VECTORS.iter().find(|v| v.name == name).unwrap()
    }

    fn known_entry() -> AppsLookupEntry<'static> {
        AppsLookupEntry {
            status: PidStatus::Known,
            cgroup_status: CgroupStatus::Known,
            orchestrator: Orchestrator::Docker.into(),
            ppid: 1,
            uid: 1000,
            starttime: 42,
            comm: b"bench",
            cgroup_path: b"/sys/fs/cgroup/bench",
            cgroup_name: b"bench-container",
        }
    }

    /// The PAYLOAD_EXCEEDED vector is what the builder produces when a
    /// KNOWN item does not fit the current budget (but fits the maximum).
    #[test]
    fn conformance_payload_exceeded_from_budget() {
        let v = vector("apps_lookup_resp_payload_exceeded");
        let mut b = AppsLookupBuilder::with_budget(v.bytes.len(), 1 << 20);
        b.reset_for_count(205, 1);
        assert_eq!(
            b.add(1238, &known_entry(), NO_LABELS).unwrap(),
            PidStatus::PayloadExceeded
        );
        assert_eq!(b.finish().unwrap(), v.bytes);
    }

    /// The OVERSIZED_ITEM vector is what the builder produces when a KNOWN
    /// item cannot fit alone within the maximum budget.
    #[test]
    fn conformance_oversized_from_budget() {
        let v = vector("apps_lookup_resp_oversized_item");
        let mut b = AppsLookupBuilder::with_budget(v.bytes.len(), v.bytes.len());
        b.reset_for_count(206, 1);
        assert_eq!(
            b.add(1239, &known_entry(), [("image", "bench:latest")])
                .unwrap(),
            PidStatus::OversizedItem
        );
        assert_eq!(b.finish().unwrap(), v.bytes);
    }

    // ----- helpers -----------------------------------------------------

    fn encode_req(pids: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_apps_lookup_request(pids, &mut out).unwrap();
        out
    }

    fn one_item(pid: u32, e: &AppsLookupEntry<'_>, labels: &[(&str, &str)]) -> Vec<u8> {
        let mut b = AppsLookupBuilder::new();
        b.reset_for_count(7, 1);
        b.add(pid, e, labels).unwrap();
        b.finish().unwrap().to_vec()
    }

    /// Offset of the single item in a one-item response.
    const ITEM0: usize = APPS_LOOKUP_RESP_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE;

    fn small_known() -> AppsLookupEntry<'static> {
        AppsLookupEntry {
            comm: b"app",
            cgroup_path: b"/p",
            cgroup_name: b"n",
            ..known_entry()
        }
    }

    fn known() -> Vec<u8> {
        one_item(10, &small_known(), &[])
    }

    /// comm 60..63, path 64..66, name 67..68, strings end at 69, table at 72.
    fn known_labels() -> Vec<u8> {
        one_item(10, &small_known(), &[("key", "value"), ("k2", "")])
    }

    fn unknown() -> Vec<u8> {
        one_item(10, &AppsLookupEntry::UNKNOWN, &[])
    }

    fn resp_err(bytes: &[u8]) -> DecodeError {
        AppsLookupResponseView::decode(bytes).unwrap_err()
    }

    fn req_err(bytes: &[u8]) -> DecodeError {
        AppsLookupRequestView::decode(bytes).unwrap_err()
    }

    fn rule_of(bytes: &[u8]) -> &'static str {
        match resp_err(bytes) {
            DecodeError::InvalidField { rule } => rule,
            e => panic!("unexpected {e:?}"),
        }
    }

    // ----- requests ---------------------------------------------------------

    #[test]
    fn request_round_trip_and_access() {
        let pids = [0u32, 1, 4_194_304, u32::MAX];
        let bytes = encode_req(&pids);
        assert_eq!(bytes.len(), apps_lookup_request_len(4).unwrap());
        let v = AppsLookupRequestView::decode(&bytes).unwrap();
        assert_eq!(v.len(), 4);
        assert!(!v.is_empty());
        assert_eq!(v.pid(3), u32::MAX);
        assert_eq!(v.get(4), None);
        assert_eq!(
            v.iter().rev().collect::<Vec<_>>(),
            [u32::MAX, 4_194_304, 1, 0]
        );
        assert_eq!(v.into_iter().len(), 4);
        assert_eq!(
            v.to_owned(),
            AppsLookupRequest {
                pids: pids.to_vec()
            }
        );
        let bytes = encode_req(&[]);
        assert!(AppsLookupRequestView::decode(&bytes).unwrap().is_empty());
        let many: Vec<u32> = (0..10_000).collect();
        let bytes = encode_req(&many);
        assert!(
            AppsLookupRequestView::decode(&bytes)
                .unwrap()
                .iter()
                .eq(many.iter().copied())
        );
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn request_pid_index_panics() {
        let bytes = encode_req(&[1]);
        AppsLookupRequestView::decode(&bytes).unwrap().pid(1);
    }

    #[test]
    fn request_sizes() {
        assert_eq!(apps_lookup_request_len(0), Some(16));
        assert_eq!(apps_lookup_request_len(usize::MAX), None);
        assert_eq!(apps_lookup_request_max_items(1024), 63);
        assert_eq!(apps_lookup_request_max_items(15), 0);
        assert_eq!(
            apps_lookup_request_len(apps_lookup_request_max_items(1024)).unwrap(),
            1024
        );
        let mut out = vec![1u8];
        encode_apps_lookup_request(&[5], &mut out).unwrap();
        assert_eq!(&out[1..], encode_req(&[5]));
    }

    #[test]
    fn req_truncated_header() {
        assert!(matches!(
            req_err(&encode_req(&[])[..15]),
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn req_bad_layout() {
        let mut bytes = encode_req(&[1]);
        put_u16(&mut bytes, 0, 9);
        assert!(matches!(
            req_err(&bytes),
            DecodeError::BadLayoutVersion { found: 9, .. }
        ));
    }

    #[test]
    fn req_non_zero_flags_and_reserved() {
        for (off, field) in [(2usize, "flags"), (8, "reserved0"), (12, "reserved1")] {
            let mut bytes = encode_req(&[1]);
            bytes[off] = 1;
            assert_eq!(req_err(&bytes), DecodeError::NonZeroReserved { field });
        }
    }

    #[test]
    fn req_truncated_directory() {
        let bytes = encode_req(&[1, 2]);
        assert!(matches!(
            req_err(&bytes[..24]),
            DecodeError::Truncated { .. }
        ));
        let mut bytes = encode_req(&[]);
        put_u32(&mut bytes, 4, u32::MAX);
        assert!(matches!(req_err(&bytes), DecodeError::Truncated { .. }));
    }

    #[test]
    fn req_key_out_of_bounds_and_overflow() {
        let mut bytes = encode_req(&[1]);
        put_u32(&mut bytes, 16, 8);
        assert_eq!(
            req_err(&bytes),
            DecodeError::OutOfBounds {
                what: "apps lookup key"
            }
        );
        put_u32(&mut bytes, 16, 0xFFFF_FFF8);
        put_u32(&mut bytes, 20, u32::MAX);
        assert_eq!(
            req_err(&bytes),
            DecodeError::OutOfBounds {
                what: "apps lookup key"
            }
        );
    }

    #[test]
    fn req_unaligned_key() {
        let mut bytes = encode_req(&[1, 2]);
        put_u32(&mut bytes, 24, 4);
        assert_eq!(
            req_err(&bytes),
            DecodeError::BadAlignment {
                what: "apps lookup key"
            }
        );
    }

    #[test]
    fn req_bad_key_length() {
        let mut bytes = encode_req(&[1, 2]);
        put_u32(&mut bytes, 20, 7);
        assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
        put_u32(&mut bytes, 20, 16);
        assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
    }

    #[test]
    fn req_key_reserved() {
        let mut bytes = encode_req(&[1]);
        put_u32(&mut bytes, 24 + 4, 1);
        assert_eq!(
            req_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "key reserved"
            }
        );
    }

    // ----- responses: round trips and boundaries ----------------------------

    #[test]
    fn item_header_is_60_bytes() {
        let bytes = unknown();
        assert_eq!(bytes.len(), ITEM0 + APPS_LOOKUP_ITEM_HDR_SIZE + 3);
        assert_eq!(rd_u32(&bytes, ITEM0 + ITEM_COMM_OFF), 60);
        assert_eq!(rd_u32(&bytes, ITEM0 + ITEM_UID_OFF), UID_UNSET);
    }

    #[test]
    fn response_round_trip_and_access() {
        let full = AppsLookupItem {
            status: PidStatus::Known,
            cgroup_status: CgroupStatus::Known,
            orchestrator: 0xABCD,
            pid: 77,
            ppid: 1,
            uid: 0,
            starttime: u64::MAX,
            comm: b"123456789012345".to_vec(),
            cgroup_path: b"/docker/abc".to_vec(),
            cgroup_name: b"".to_vec(),
            labels: vec![Label::new("image", ""), Label::new("x", "y")],
        };
        let resp = AppsLookupResponse {
            generation: 0,
            items: vec![
                full.clone(),
                AppsLookupItem::unknown(5, PidStatus::Unknown),
                AppsLookupItem {
                    cgroup_status: CgroupStatus::UnknownRetryLater,
                    cgroup_path: Vec::new(),
                    orchestrator: 0,
                    labels: vec![],
                    ..full.clone()
                },
                AppsLookupItem {
                    cgroup_status: CgroupStatus::UnknownPermanent,
                    orchestrator: 0,
                    labels: vec![],
                    ..full.clone()
                },
                AppsLookupItem {
                    cgroup_status: CgroupStatus::HostRoot,
                    cgroup_path: Vec::new(),
                    orchestrator: 0,
                    labels: vec![],
                    ..full.clone()
                },
                AppsLookupItem::unknown(6, PidStatus::OversizedItem),
            ],
        };
        let mut out = Vec::new();
        resp.encode(&mut out).unwrap();
        let v = AppsLookupResponseView::decode(&out).unwrap();
        assert_eq!(v.to_owned(), resp);
        assert_eq!(v.len(), 6);
        let i0 = v.item(0);
        assert_eq!(i0.orchestrator_kind(), None);
        assert_eq!(full.orchestrator_kind(), None);
        assert_eq!(i0.uid_opt(), Some(0));
        assert_eq!(v.item(1).uid_opt(), None);
        assert_eq!(i0.label(0).unwrap().to_owned(), Label::new("image", ""));
        assert!(i0.label(2).is_none());
        assert_eq!(i0.as_bytes().len(), v.dir.raw_entry(0).1);
        assert!(v.get(6).is_none());
        assert_eq!(
            v.items().next_back().unwrap().status(),
            PidStatus::OversizedItem
        );
        assert_eq!(v.into_iter().count(), 6);
        assert!(!v.is_empty());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn response_item_index_panics() {
        let bytes = known();
        AppsLookupResponseView::decode(&bytes).unwrap().item(1);
    }

    #[test]
    fn response_boundaries() {
        let mut b = AppsLookupBuilder::default();
        assert_eq!(b.finish().unwrap().len(), APPS_LOOKUP_RESP_HDR_SIZE);
        b.reset_for_count(3, 0);
        let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert!(v.is_empty());
        assert_eq!(v.generation(), 3);
        // one-byte comm, long cgroup strings, many labels
        let long = vec![b'p'; 70_000];
        let labels: Vec<Label> = (0..MAX_LABELS)
            .map(|i| Label::new(format!("{i}"), ""))
            .collect();
        let e = AppsLookupEntry {
            comm: b"x",
            cgroup_path: &long,
            cgroup_name: &long,
            ..known_entry()
        };
        b.reset_for_count(1, 1);
        assert_eq!(b.add(1, &e, &labels).unwrap(), PidStatus::Known);
        let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        let it = v.item(0);
        assert_eq!(
            (it.comm(), it.cgroup_path(), it.cgroup_name()),
            (&b"x"[..], &long[..], &long[..])
        );
        assert_eq!(it.label_count(), MAX_LABELS);
        assert!(it.labels().zip(&labels).all(|(a, b)| a.key() == &b.key[..]));
        let mut too_many = labels;
        too_many.push(Label::new("a", "b"));
        b.reset_for_count(1, 1);
        assert!(matches!(
            b.add(1, &e, &too_many),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn many_items_up_to_budget() {
        let pids: Vec<u32> = (0..3000).map(|i| 1000 + i).collect();
        let req_bytes = encode_req(&pids);
        let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
        for budget in [250_000usize, 300_000, 1 << 20] {
            let mut b = AppsLookupBuilder::with_budget(budget, 1 << 20);
            b.reset(1, &req);
            assert_eq!(b.item_count(), 3000);
            for i in 0..req.len() {
                if i % 2 == 0 {
                    b.add_request_item(&req, i, &known_entry(), [("image", "bench:latest")])
                        .unwrap();
                } else {
                    b.add_request_unknown(&req, i).unwrap();
                }
            }
            assert_eq!(b.added(), 3000);
            let bytes = b.finish().unwrap();
            assert!(bytes.len() <= budget);
            let v = AppsLookupResponseView::decode(bytes).unwrap();
            assert!(v.items().zip(req.iter()).all(|(i, p)| i.pid() == p));
            let first_pe = v
                .items()
                .position(|i| i.status() == PidStatus::PayloadExceeded);
            match first_pe {
                None => assert_eq!(budget, 1 << 20),
                Some(k) => {
                    assert!(k > 0);
                    assert!(
                        v.items()
                            .skip(k)
                            .all(|i| i.status() == PidStatus::PayloadExceeded)
                    );
                }
            }
        }
    }

    // ----- builder behaviour ----------------------------------------------

    #[test]
    fn builder_payload_exceeded_tail_and_oversized() {
        let req_bytes = encode_req(&[1, 2, 3, 4]);
        let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
        // header 16 + dir 32, item 0 full, then three minimal items
        let full0 = APPS_LOOKUP_MIN_ITEM_SIZE + 3 + 2 + 1; // "app", "/p", "n"
        let budget = 48 + full0.next_multiple_of(8) + 64 + 64 + 63;
        let mut b = AppsLookupBuilder::with_budget(budget, budget);
        b.reset(9, &req);
        let huge_comm_item = AppsLookupEntry {
            cgroup_path: &[b'x'; 400],
            ..small_known()
        };
        assert_eq!(
            b.add_request_item(&req, 0, &small_known(), NO_LABELS)
                .unwrap(),
            PidStatus::Known
        );
        assert_eq!(
            b.add_request_item(&req, 1, &huge_comm_item, NO_LABELS)
                .unwrap(),
            PidStatus::OversizedItem
        );
        assert!(!b.is_exceeded());
        assert_eq!(
            b.add_request_item(&req, 2, &small_known(), NO_LABELS)
                .unwrap(),
            PidStatus::PayloadExceeded
        );
        assert!(b.is_exceeded());
        assert_eq!(
            b.add_request_unknown(&req, 3).unwrap(),
            PidStatus::PayloadExceeded
        );
        let bytes = b.finish().unwrap();
        assert_eq!(bytes.len(), budget);
        let v = AppsLookupResponseView::decode(bytes).unwrap();
        let st: Vec<_> = v.items().map(|i| (i.pid(), i.status())).collect();
        assert_eq!(
            st,
            [
                (1, PidStatus::Known),
                (2, PidStatus::OversizedItem),
                (3, PidStatus::PayloadExceeded),
                (4, PidStatus::PayloadExceeded)
            ]
        );
        assert!(
            v.items()
                .skip(1)
                .all(|i| i.uid() == UID_UNSET && i.comm().is_empty())
        );
    }

    #[test]
    fn builder_explicit_payload_exceeded_marks_the_rest() {
        let mut b = AppsLookupBuilder::new();
        b.reset_for_count(1, 2);
        let pe = AppsLookupEntry {
            status: PidStatus::PayloadExceeded,
            ..AppsLookupEntry::UNKNOWN
        };
        assert_eq!(
            b.add(1, &pe, NO_LABELS).unwrap(),
            PidStatus::PayloadExceeded
        );
        assert!(b.is_exceeded());
        assert_eq!(
            b.add(2, &known_entry(), NO_LABELS).unwrap(),
            PidStatus::PayloadExceeded
        );
        assert!(b.finish().is_ok());
    }

    #[test]
    fn builder_over_budget_reports_limit() {
        let mut b = AppsLookupBuilder::with_budget(100, 100);
        b.reset_for_count(1, 2);
        assert!(b.is_over_budget());
        assert_eq!(b.add_unknown(1).unwrap(), PidStatus::PayloadExceeded);
        assert_eq!(
            b.add(2, &known_entry(), NO_LABELS).unwrap(),
            PidStatus::PayloadExceeded
        );
        assert!(matches!(b.finish(), Err(Error::LimitExceeded { .. })));
        assert!(b.encoded_len() > 100);
        assert_eq!((b.budget(), b.max_budget()), (100, 100));
    }

    #[test]
    fn builder_rejects_invalid_entries() {
        let mut b = AppsLookupBuilder::from_vec(Vec::with_capacity(128));
        b.reset_for_count(1, 1);
        let bad = |b: &mut AppsLookupBuilder, e: AppsLookupEntry<'_>, l: &[(&str, &str)]| {
            let r = b.add(1, &e, l);
            assert!(matches!(r, Err(Error::InvalidArgument(_))), "{e:?}: {r:?}");
        };
        let k = known_entry();
        let u = AppsLookupEntry::UNKNOWN;
        bad(&mut b, AppsLookupEntry { comm: b"a\0", ..k }, &[]);
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_path: b"/\0",
                ..k
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_name: b"\0",
                ..k
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                comm: b"1234567890123456",
                ..k
            },
            &[],
        );
        bad(&mut b, AppsLookupEntry { comm: b"", ..k }, &[]);
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_path: b"",
                ..k
            },
            &[],
        );
        bad(&mut b, k, &[("", "v")]);
        let retry = AppsLookupEntry {
            cgroup_status: CgroupStatus::UnknownRetryLater,
            orchestrator: 0,
            cgroup_name: b"",
            ..k
        };
        bad(
            &mut b,
            AppsLookupEntry {
                orchestrator: 1,
                ..retry
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_name: b"n",
                ..retry
            },
            &[],
        );
        bad(&mut b, retry, &[("k", "v")]);
        let perm = AppsLookupEntry {
            cgroup_status: CgroupStatus::UnknownPermanent,
            ..retry
        };
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_path: b"",
                ..perm
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                orchestrator: 2,
                ..perm
            },
            &[],
        );
        let root = AppsLookupEntry {
            cgroup_status: CgroupStatus::HostRoot,
            cgroup_path: b"",
            ..retry
        };
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_path: b"/",
                ..root
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_name: b"x",
                ..root
            },
            &[],
        );
        bad(&mut b, AppsLookupEntry { ppid: 1, ..u }, &[]);
        bad(&mut b, AppsLookupEntry { uid: 0, ..u }, &[]);
        bad(&mut b, AppsLookupEntry { starttime: 1, ..u }, &[]);
        bad(
            &mut b,
            AppsLookupEntry {
                orchestrator: 1,
                ..u
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_status: CgroupStatus::HostRoot,
                ..u
            },
            &[],
        );
        bad(&mut b, AppsLookupEntry { comm: b"x", ..u }, &[]);
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_path: b"x",
                ..u
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                cgroup_name: b"x",
                ..u
            },
            &[],
        );
        bad(
            &mut b,
            AppsLookupEntry {
                status: PidStatus::PayloadExceeded,
                ..u
            },
            &[("k", "v")],
        );
        assert_eq!(b.added(), 0);
        assert!(matches!(b.finish(), Err(Error::InvalidState(_))));
        // the valid variants pass
        for e in [
            retry,
            AppsLookupEntry {
                cgroup_path: b"",
                ..retry
            },
            perm,
            root,
        ] {
            b.reset_for_count(1, 1);
            assert_eq!(b.add(1, &e, NO_LABELS).unwrap(), PidStatus::Known);
            let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
            assert_eq!(v.item(0).cgroup_status(), e.cgroup_status);
        }
        // order and count
        let req_bytes = encode_req(&[5, 6]);
        let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
        b.reset(1, &req);
        assert!(matches!(
            b.add_request_unknown(&req, 1),
            Err(Error::InvalidArgument(_))
        ));
        b.add_request_unknown(&req, 0).unwrap();
        assert!(matches!(
            b.add_request_unknown(&req, 2),
            Err(Error::InvalidArgument(_))
        ));
        b.add_unknown(6).unwrap();
        assert!(matches!(b.add_unknown(7), Err(Error::InvalidState(_))));
        assert!(b.finish().is_ok());
        assert!(b.into_vec().capacity() >= 128);
    }

    #[test]
    fn owned_encode_rejects_invalid_items() {
        let mut item = AppsLookupItem::unknown(1, PidStatus::Known);
        item.cgroup_path = b"/p".to_vec();
        let resp = AppsLookupResponse {
            generation: 1,
            items: vec![item],
        };
        let mut out = Vec::new();
        assert!(matches!(
            resp.encode(&mut out),
            Err(Error::InvalidArgument(_))
        )); // empty comm
        assert!(out.is_empty());
    }

    // ----- response rejections ----------------------------------------------

    #[test]
    fn resp_truncated_header() {
        assert!(matches!(
            resp_err(&known()[..15]),
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn resp_bad_layout() {
        let mut bytes = known();
        put_u16(&mut bytes, 0, 2);
        assert!(matches!(
            resp_err(&bytes),
            DecodeError::BadLayoutVersion { found: 2, .. }
        ));
    }

    #[test]
    fn resp_non_zero_flags() {
        let mut bytes = known();
        put_u16(&mut bytes, 2, 0x8000);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved { field: "flags" }
        );
    }

    #[test]
    fn resp_truncated_directory() {
        let bytes = known();
        assert!(matches!(
            resp_err(&bytes[..20]),
            DecodeError::Truncated { .. }
        ));
        let mut bytes = bytes;
        put_u32(&mut bytes, 4, u32::MAX);
        assert!(matches!(resp_err(&bytes), DecodeError::Truncated { .. }));
    }

    #[test]
    fn resp_item_out_of_bounds_and_overflow() {
        let mut bytes = known();
        let len = bytes.len() - ITEM0;
        put_u32(&mut bytes, 20, u32::try_from(len + 1).unwrap());
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "lookup item range"
            }
        );
        put_u32(&mut bytes, 16, 0xFFFF_FFF8);
        put_u32(&mut bytes, 20, u32::MAX);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "lookup item range"
            }
        );
    }

    #[test]
    fn resp_overlapping_items() {
        let mut b = AppsLookupBuilder::new();
        b.reset_for_count(1, 2);
        b.add_unknown(1).unwrap();
        b.add_unknown(2).unwrap();
        let mut bytes = b.finish().unwrap().to_vec();
        put_u32(&mut bytes, 16 + 8, 0);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::Overlap {
                what: "lookup item ranges"
            }
        );
    }

    #[test]
    fn resp_unaligned_item() {
        let mut bytes = known();
        put_u32(&mut bytes, 16, 2);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::BadAlignment {
                what: "lookup item range"
            }
        );
    }

    #[test]
    fn resp_short_item() {
        let mut bytes = known();
        put_u32(&mut bytes, 20, 59);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::Truncated {
                what: "apps lookup item",
                need: 60,
                have: 59
            }
        );
    }

    #[test]
    fn resp_item_bad_layout() {
        let mut bytes = known();
        put_u16(&mut bytes, ITEM0, 0);
        assert!(matches!(
            resp_err(&bytes),
            DecodeError::BadLayoutVersion { found: 0, .. }
        ));
    }

    #[test]
    fn resp_unknown_statuses() {
        let mut bytes = known();
        put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, 4);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::UnknownStatus {
                what: PidStatus::WHAT,
                found: 4
            }
        );
        let mut bytes = known();
        put_u16(&mut bytes, ITEM0 + ITEM_CGROUP_STATUS_OFF, 4);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::UnknownStatus {
                what: CgroupStatus::WHAT,
                found: 4
            }
        );
    }

    #[test]
    fn resp_item_reserved() {
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_RESERVED0_OFF, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "item reserved0"
            }
        );
        let mut bytes = known();
        put_u16(&mut bytes, ITEM0 + ITEM_RESERVED1_OFF, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "item reserved1"
            }
        );
    }

    #[test]
    fn resp_comm_length() {
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_COMM_LEN, 16);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::BadLength {
                what: "comm_length must be <= 15"
            }
        );
        // KNOWN pid with empty comm: point comm at the path's NUL... use a fresh NUL
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_COMM_LEN, 0);
        bytes[ITEM0 + 60] = 0;
        assert!(
            matches!(resp_err(&bytes), DecodeError::BadLength { what } if what.contains("KNOWN"))
        );
    }

    #[test]
    fn resp_unknown_pid_field_rules() {
        type Mutation = fn(&mut Vec<u8>);
        let cases: [(&str, Mutation); 8] = [
            ("orchestrator", |b| put_u16(b, ITEM0 + ITEM_ORCH_OFF, 1)),
            ("cgroup_status", |b| {
                put_u16(b, ITEM0 + ITEM_CGROUP_STATUS_OFF, 3)
            }),
            ("ppid", |b| put_u32(b, ITEM0 + ITEM_PPID_OFF, 1)),
            ("uid", |b| put_u32(b, ITEM0 + ITEM_UID_OFF, 0)),
            ("starttime", |b| put_u64(b, ITEM0 + ITEM_STARTTIME_OFF, 1)),
            ("strings", |b| {
                // comm "x": move path and name one byte later
                put_u32(b, ITEM0 + ITEM_COMM_LEN, 1);
            }),
            ("strings", |b| put_u32(b, ITEM0 + ITEM_PATH_LEN, 1)),
            ("label_count", |b| put_u16(b, ITEM0 + ITEM_LABEL_COUNT, 1)),
        ];
        for status in [
            PidStatus::Unknown,
            PidStatus::PayloadExceeded,
            PidStatus::OversizedItem,
        ] {
            for (prefix, f) in &cases {
                let mut bytes = unknown();
                put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, status.as_u16());
                assert!(AppsLookupResponseView::decode(&bytes).is_ok());
                f(&mut bytes);
                assert!(rule_of(&bytes).starts_with(prefix), "{status}: {prefix}");
            }
        }
    }

    #[test]
    fn resp_cgroup_status_field_rules() {
        // KNOWN cgroup with an empty path
        let mut bytes = one_item(
            1,
            &AppsLookupEntry {
                cgroup_path: b"/",
                ..small_known()
            },
            &[],
        );
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
        bytes[ITEM0 + 64] = 0;
        assert!(rule_of(&bytes).contains("KNOWN"));
        let retry = AppsLookupEntry {
            cgroup_status: CgroupStatus::UnknownRetryLater,
            orchestrator: 0,
            cgroup_name: b"",
            ..small_known()
        };
        // UNKNOWN_RETRY_LATER with an orchestrator, a name or labels
        let mut bytes = one_item(1, &retry, &[]);
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 1);
        assert!(rule_of(&bytes).contains("UNKNOWN_RETRY_LATER"));
        let mut bytes = one_item(
            1,
            &AppsLookupEntry {
                cgroup_name: b"n",
                ..small_known()
            },
            &[],
        );
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
        put_u16(
            &mut bytes,
            ITEM0 + ITEM_CGROUP_STATUS_OFF,
            CgroupStatus::UnknownRetryLater.as_u16(),
        );
        assert!(rule_of(&bytes).contains("UNKNOWN_RETRY_LATER"));
        // UNKNOWN_PERMANENT with labels, and with an empty path
        let mut bytes = known_labels();
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
        bytes[ITEM0 + 67] = 0;
        put_u16(
            &mut bytes,
            ITEM0 + ITEM_CGROUP_STATUS_OFF,
            CgroupStatus::UnknownPermanent.as_u16(),
        );
        assert!(rule_of(&bytes).contains("UNKNOWN_PERMANENT"));
        let perm = AppsLookupEntry {
            cgroup_status: CgroupStatus::UnknownPermanent,
            ..retry
        };
        let mut bytes = one_item(1, &perm, &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
        bytes[ITEM0 + 64] = 0;
        assert!(rule_of(&bytes).contains("UNKNOWN_PERMANENT"));
        // HOST_ROOT with a path, with an orchestrator
        let mut bytes = one_item(1, &perm, &[]);
        put_u16(
            &mut bytes,
            ITEM0 + ITEM_CGROUP_STATUS_OFF,
            CgroupStatus::HostRoot.as_u16(),
        );
        assert!(rule_of(&bytes).contains("HOST_ROOT"));
        let root = AppsLookupEntry {
            cgroup_status: CgroupStatus::HostRoot,
            cgroup_path: b"",
            ..retry
        };
        let mut bytes = one_item(1, &root, &[]);
        assert!(AppsLookupResponseView::decode(&bytes).is_ok());
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 4);
        assert!(rule_of(&bytes).contains("HOST_ROOT"));
    }

    #[test]
    fn resp_string_offset_before_header_end() {
        let mut bytes = unknown();
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 59);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "cgroup_name"
            }
        );
    }

    #[test]
    fn resp_string_overflow_and_out_of_bounds() {
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, u32::MAX);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, u32::MAX);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "cgroup_path"
            }
        );
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 68);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "cgroup_name"
            }
        );
    }

    #[test]
    fn resp_missing_nul() {
        let mut bytes = known();
        bytes[ITEM0 + 63] = b'!';
        assert_eq!(resp_err(&bytes), DecodeError::MissingNul { what: "comm" });
    }

    #[test]
    fn resp_interior_nul() {
        let mut bytes = known();
        bytes[ITEM0 + 61] = 0;
        assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "comm" });
        let mut bytes = known();
        bytes[ITEM0 + 65] = 0;
        assert_eq!(
            resp_err(&bytes),
            DecodeError::InteriorNul {
                what: "cgroup_path"
            }
        );
    }

    #[test]
    fn resp_overlapping_strings() {
        // two empty strings sharing a NUL
        let mut bytes = unknown();
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 61);
        assert!(matches!(resp_err(&bytes), DecodeError::Overlap { .. }));
        // path inside comm
        let mut bytes = known();
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, 61);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 2);
        assert!(matches!(resp_err(&bytes), DecodeError::Overlap { .. }));
    }

    #[test]
    fn resp_labels_fixture_and_known_full_vector_layout() {
        let bytes = known_labels();
        let v = AppsLookupResponseView::decode(&bytes).unwrap();
        assert_eq!(v.item(0).table, 72);
        assert_eq!(
            bytes.len(),
            ITEM0 + 72 + 2 * LOOKUP_LABEL_ENTRY_SIZE + 4 + 6 + 3 + 1
        );
    }

    #[test]
    fn resp_non_canonical_label_table_offset() {
        let mut bytes = known_labels();
        let table = ITEM0 + 72;
        bytes.splice(table..table, [0u8; 8]);
        for e in 0..2 {
            for f in [0, 8] {
                let at = table + 8 + e * LOOKUP_LABEL_ENTRY_SIZE + f;
                let v = rd_u32(&bytes, at);
                put_u32(&mut bytes, at, v + 8);
            }
        }
        let len = rd_u32(&bytes, 20);
        put_u32(&mut bytes, 20, len + 8);
        assert!(rule_of(&bytes).starts_with("non-canonical"));
    }

    #[test]
    fn resp_non_zero_label_padding() {
        let mut bytes = known_labels();
        bytes[ITEM0 + 70] = 1;
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "label table padding"
            }
        );
    }

    #[test]
    fn resp_empty_label_key() {
        let mut bytes = known_labels();
        put_u32(&mut bytes, ITEM0 + 72 + 16 + 4, 0);
        assert!(matches!(resp_err(&bytes), DecodeError::BadLength { .. }));
    }

    #[test]
    fn resp_label_table_overflow() {
        let mut bytes = known_labels();
        put_u16(&mut bytes, ITEM0 + ITEM_LABEL_COUNT, 40);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "label table"
            }
        );
    }

    #[test]
    fn resp_label_strings_out_of_bounds_missing_nul_interior_nul() {
        let mut bytes = known_labels();
        put_u32(&mut bytes, ITEM0 + 72 + 16 + 12, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "label value"
            }
        );
        let mut bytes = known_labels();
        bytes[ITEM0 + 113] = b'x'; // NUL after "value"
        assert_eq!(
            resp_err(&bytes),
            DecodeError::MissingNul {
                what: "label value"
            }
        );
        let mut bytes = known_labels();
        bytes[ITEM0 + 105] = 0; // inside "key"
        assert_eq!(
            resp_err(&bytes),
            DecodeError::InteriorNul { what: "label key" }
        );
        let mut bytes = known_labels();
        put_u32(&mut bytes, ITEM0 + 72 + 8, 104); // value points at the key
        assert!(rule_of(&bytes).contains("table order"));
    }

    // ----- property tests ------------------------------------------------

    fn bytes_no_nul(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, min..=max)
    }

    fn arb_item() -> impl Strategy<Value = AppsLookupItem> {
        (
            (
                0u16..4,
                0u16..4,
                any::<u16>(),
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<u64>(),
            ),
            bytes_no_nul(1, 15),
            bytes_no_nul(1, 40),
            bytes_no_nul(0, 20),
            proptest::collection::vec((bytes_no_nul(1, 10), bytes_no_nul(0, 10)), 0..4),
        )
            .prop_map(
                |((s, cs, orch, pid, ppid, uid, starttime), comm, path, name, labels)| {
                    let status = PidStatus::from_u16(s).unwrap();
                    if status != PidStatus::Known {
                        return AppsLookupItem::unknown(pid, status);
                    }
                    let cgroup_status = CgroupStatus::from_u16(cs).unwrap();
                    let labels: Vec<Label> =
                        labels.into_iter().map(|(k, v)| Label::new(k, v)).collect();
                    let mut it = AppsLookupItem {
                        status,
                        cgroup_status,
                        orchestrator: orch,
                        pid,
                        ppid,
                        uid,
                        starttime,
                        comm,
                        cgroup_path: path,
                        cgroup_name: name,
                        labels,
                    };
                    if cgroup_status != CgroupStatus::Known {
                        it.orchestrator = 0;
                        it.cgroup_name.clear();
                        it.labels.clear();
                    }
                    if cgroup_status == CgroupStatus::HostRoot
                        || (cgroup_status == CgroupStatus::UnknownRetryLater && s % 2 == 0)
                    {
                        it.cgroup_path.clear();
                    }
                    it
                },
            )
    }

    fn touch(bytes: &[u8]) {
        if let Ok(v) = AppsLookupResponseView::decode(bytes) {
            for it in v.items() {
                let _ = (
                    it.status(),
                    it.cgroup_status(),
                    it.orchestrator(),
                    it.pid(),
                    it.ppid(),
                    it.uid(),
                    it.starttime(),
                );
                let _ = (
                    it.comm().len(),
                    it.cgroup_path().len(),
                    it.cgroup_name().len(),
                );
                for l in it.labels() {
                    let _ = (l.key().len(), l.value().len());
                }
                let _ = it.to_owned();
            }
        }
        if let Ok(v) = AppsLookupRequestView::decode(bytes) {
            let _ = v.to_owned();
        }
    }

    proptest! {
        #[test]
        fn prop_request_round_trip(pids in proptest::collection::vec(any::<u32>(), 0..100)) {
            let bytes = encode_req(&pids);
            prop_assert_eq!(AppsLookupRequestView::decode(&bytes).unwrap().to_owned().pids, pids);
        }

        #[test]
        fn prop_response_round_trip(generation in any::<u64>(), items in proptest::collection::vec(arb_item(), 0..20)) {
            let resp = AppsLookupResponse { generation, items };
            let mut out = Vec::new();
            resp.encode(&mut out).unwrap();
            prop_assert_eq!(AppsLookupResponseView::decode(&out).unwrap().to_owned(), resp);
        }

        #[test]
        fn prop_builder_budget(items in proptest::collection::vec(arb_item(), 1..20), budget in 0usize..3000, extra in 0usize..1000) {
            let mut b = AppsLookupBuilder::with_budget(budget, budget + extra);
            b.reset_for_count(3, u32::try_from(items.len()).unwrap());
            let mut statuses = Vec::new();
            for it in &items {
                statuses.push(b.add_item(it).unwrap());
            }
            match b.finish() {
                Ok(bytes) => {
                    prop_assert!(bytes.len() <= budget);
                    let v = AppsLookupResponseView::decode(bytes).unwrap();
                    prop_assert_eq!(v.len(), items.len());
                    let mut exceeded = false;
                    for ((got, want), st) in v.items().zip(&items).zip(&statuses) {
                        prop_assert_eq!(got.pid(), want.pid);
                        prop_assert_eq!(got.status(), *st);
                        if exceeded {
                            prop_assert_eq!(got.status(), PidStatus::PayloadExceeded);
                        }
                        exceeded |= got.status() == PidStatus::PayloadExceeded;
                        if got.status() == want.status {
                            prop_assert_eq!(got.to_owned(), want.clone());
                        }
                    }
                }
                Err(Error::LimitExceeded { .. }) => prop_assert!(b.is_over_budget()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            touch(&bytes);
        }

        #[test]
        fn prop_mutated_bytes_never_panic(items in proptest::collection::vec(arb_item(), 1..5), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
            let mut out = Vec::new();
            AppsLookupResponse { generation: 1, items }.encode(&mut out).unwrap();
            for (at, v) in flips {
                let n = out.len();
                out[at % n] = v;
            }
            touch(&out);
            touch(&out[..cut % (out.len() + 1)]);
            let mut req = encode_req(&[1, 2, 3]);
            let n = req.len();
            req[cut % n] ^= 0xA5;
            touch(&req);
        }
    }
}
