//! `CGROUPS_LOOKUP` (method 4): cgroup path keys in, cgroup metadata out.
//!
//! - Requests: [`encode_cgroups_lookup_request`], the budget-aware
//!   [`CgroupsLookupRequestBuilder`] (used to split a logical lookup into
//!   requests that fit a payload budget), and the zero-copy
//!   [`CgroupsLookupRequestView`].
//! - Responses: the reusable [`CgroupsLookupBuilder`] (server side, with
//!   `PAYLOAD_EXCEEDED` / `OVERSIZED_ITEM` budget handling), the owned
//!   [`CgroupsLookupResponse`] encoder and the zero-copy
//!   [`CgroupsLookupResponseView`] / [`CgroupsLookupItemView`].
//!
//! Request keys are `path bytes + NUL`, their directory length includes the
//! NUL and must be at least 2. Response items have a 28-byte header, a path
//! (always at least one byte, echoing the request key), a name (may be
//! empty) and labels; non-`KNOWN` items carry only the path.

use crate::bytes::{FixedWriter, Writer, check_no_interior_nul};
use crate::error::{DecodeError, Error};
use crate::protocol::LAYOUT_VERSION;

use super::lookup::directory::{
    Directory, check_layout, packed_len, pad_from, patch_entry, rd_u16, rd_u32, u16_sat, u32_sat,
    us, write_request_header,
};
use super::lookup::labels::{
    Span, check_disjoint, check_labels, check_string, item_len_with_labels,
};
use super::lookup::packed::packed_strings;
use super::lookup::response::{Placement, ResponseCore};
use super::lookup::{
    IntoItemLabels, ItemLabels, LOOKUP_DIR_ENTRY_SIZE, LOOKUP_REQ_HDR_SIZE, LOOKUP_RESP_HDR_SIZE,
    Label, LookupStatus, MAX_BUDGET, Orchestrator, directory_view, item_labels, response_builder,
    response_view,
};

/// Size of the fixed `CGROUPS_LOOKUP` request header.
pub const CGROUPS_LOOKUP_REQ_HDR_SIZE: usize = LOOKUP_REQ_HDR_SIZE;
/// Size of the fixed `CGROUPS_LOOKUP` response header.
pub const CGROUPS_LOOKUP_RESP_HDR_SIZE: usize = LOOKUP_RESP_HDR_SIZE;
/// Size of the fixed per-item response header.
pub const CGROUPS_LOOKUP_ITEM_HDR_SIZE: usize = 28;
/// Smallest valid request key directory length (one path byte + NUL).
pub const CGROUPS_LOOKUP_MIN_KEY_LEN: usize = 2;

/// Item header: `status` offset.
const ITEM_STATUS_OFF: usize = 2;
/// Item header: `orchestrator` offset.
const ITEM_ORCH_OFF: usize = 4;
/// Item header: `reserved0` offset.
const ITEM_RESERVED0_OFF: usize = 6;
/// Item header: `path_offset` offset.
const ITEM_PATH_OFF: usize = 8;
/// Item header: `path_length` offset.
const ITEM_PATH_LEN: usize = 12;
/// Item header: `name_offset` offset.
const ITEM_NAME_OFF: usize = 16;
/// Item header: `name_length` offset.
const ITEM_NAME_LEN: usize = 20;
/// Item header: `label_count` offset.
const ITEM_LABEL_COUNT: usize = 24;
/// Item header: `reserved1` offset.
const ITEM_RESERVED1_OFF: usize = 26;

/// Error-message names.
const REQ_WHAT: &str = "cgroups lookup request";
const RESP_WHAT: &str = "cgroups lookup response";
const KEY_WHAT: &str = "cgroups lookup key";
const ITEM_WHAT: &str = "cgroups lookup item";

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/// Checks an application-supplied path: non-empty, no NUL byte.
fn validate_path(path: &[u8]) -> Result<(), Error> {
    if path.is_empty() {
        return Err(Error::InvalidArgument("cgroup path must not be empty"));
    }
    if crate::bytes::has_nul(path) {
        return Err(Error::InvalidArgument("cgroup path contains a NUL byte"));
    }
    Ok(())
}

/// Size of a request holding exactly one key of `path_len` bytes (without
/// its NUL), or `None` on overflow. A key whose single-key request exceeds
/// the maximum request budget is an `OVERSIZED_ITEM` for Level 2.
#[inline]
pub fn cgroups_lookup_single_request_len(path_len: usize) -> Option<usize> {
    path_len.checked_add(1 + CGROUPS_LOOKUP_REQ_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE)
}

/// Validates `paths` and returns the exact encoded request size.
///
/// Fails with `InvalidArgument` on an empty path, a path containing NUL,
/// or a request whose size does not fit a `u32`.
pub fn cgroups_lookup_request_len<P: AsRef<[u8]>>(paths: &[P]) -> Result<usize, Error> {
    for p in paths {
        validate_path(p.as_ref())?;
    }
    let too_large = Error::InvalidArgument("cgroups lookup request too large");
    let keys =
        packed_len(paths.iter().map(|p| p.as_ref().len().saturating_add(1))).ok_or(too_large)?;
    paths
        .len()
        .checked_mul(LOOKUP_DIR_ENTRY_SIZE)
        .and_then(|d| d.checked_add(CGROUPS_LOOKUP_REQ_HDR_SIZE))
        .and_then(|d| d.checked_add(keys))
        .filter(|&n| n <= MAX_BUDGET)
        .ok_or(Error::InvalidArgument("cgroups lookup request too large"))
}

/// Encodes a request for `paths`, appending the payload to `out`.
///
/// Every path is validated (non-empty, no NUL) before anything is written;
/// on error `out` is unchanged.
pub fn encode_cgroups_lookup_request<P: AsRef<[u8]>>(
    paths: &[P],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let len = cgroups_lookup_request_len(paths)?;
    let base = out.len();
    out.reserve(len);
    write_request_header(out, u32_sat(paths.len()));
    Writer::new(out).zeros(paths.len() * LOOKUP_DIR_ENTRY_SIZE);
    let area = out.len();
    for (i, p) in paths.iter().enumerate() {
        let p = p.as_ref();
        pad_from(out, area);
        let off = out.len() - area;
        let mut w = Writer::new(out);
        w.bytes(p);
        w.zeros(1);
        patch_entry(out, base, CGROUPS_LOOKUP_REQ_HDR_SIZE, i, off, p.len() + 1);
    }
    debug_assert_eq!(out.len() - base, len);
    Ok(())
}

/// An owned `CGROUPS_LOOKUP` request: the cgroup paths to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CgroupsLookupRequest {
    /// Cgroup paths (non-empty, no NUL), without terminators.
    pub paths: Vec<Vec<u8>>,
}

impl CgroupsLookupRequest {
    /// Encodes the request, appending the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_cgroups_lookup_request(&self.paths, out)
    }
}

/// Incremental, budget-aware request encoder.
///
/// Level 2 uses it to split a logical lookup into requests that fit the
/// request payload budget: [`push`](Self::push) adds the next key only if
/// the request still fits the budget afterwards. A key that does not fit
/// even into an empty builder at the maximum budget is an
/// `OVERSIZED_ITEM` (see [`cgroups_lookup_single_request_len`]).
///
/// The builder keeps its buffers across [`clear`](Self::clear), so steady
/// state use does not allocate.
#[derive(Debug, Clone)]
pub struct CgroupsLookupRequestBuilder {
    keys: Vec<u8>,
    entries: Vec<(u32, u32)>,
    budget: usize,
}

impl Default for CgroupsLookupRequestBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CgroupsLookupRequestBuilder {
    /// An empty builder with an unlimited (`u32::MAX`) budget.
    pub fn new() -> Self {
        Self::with_budget(MAX_BUDGET)
    }

    /// An empty builder whose encoded request must stay within `budget`
    /// bytes (clamped to `u32::MAX`).
    pub fn with_budget(budget: usize) -> Self {
        CgroupsLookupRequestBuilder {
            keys: Vec::new(),
            entries: Vec::new(),
            budget: budget.min(MAX_BUDGET),
        }
    }

    /// Changes the budget (clamped to `u32::MAX`); keys already pushed stay.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget.min(MAX_BUDGET);
    }

    /// The request budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Removes every key, keeping the allocations and the budget.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.entries.clear();
    }

    /// Number of keys pushed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key was pushed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Size of the request encoded now.
    pub fn encoded_len(&self) -> usize {
        CGROUPS_LOOKUP_REQ_HDR_SIZE + self.entries.len() * LOOKUP_DIR_ENTRY_SIZE + self.keys.len()
    }

    /// Size the request would have with one more key of `path_len` bytes
    /// (without NUL), or `None` on overflow.
    pub fn encoded_len_with(&self, path_len: usize) -> Option<usize> {
        (self.entries.len() + 1)
            .checked_mul(LOOKUP_DIR_ENTRY_SIZE)?
            .checked_add(CGROUPS_LOOKUP_REQ_HDR_SIZE)?
            .checked_add(
                self.keys
                    .len()
                    .checked_next_multiple_of(crate::protocol::ITEM_ALIGN)?,
            )?
            .checked_add(path_len)?
            .checked_add(1)
    }

    /// Whether one more key of `path_len` bytes would still fit the budget.
    pub fn fits(&self, path_len: usize) -> bool {
        self.encoded_len_with(path_len)
            .is_some_and(|n| n <= self.budget)
    }

    /// Validates `path` and appends it if the request still fits the budget.
    ///
    /// Returns `Ok(true)` if added, `Ok(false)` if it does not fit (nothing
    /// changes; finish this request and start the next one with this key),
    /// and `InvalidArgument` if the path is empty or contains NUL.
    pub fn push(&mut self, path: &[u8]) -> Result<bool, Error> {
        validate_path(path)?;
        if !self.fits(path.len()) {
            return Ok(false);
        }
        pad_from(&mut self.keys, 0);
        let off = self.keys.len();
        self.keys.extend_from_slice(path);
        self.keys.push(0);
        self.entries.push((u32_sat(off), u32_sat(path.len() + 1)));
        Ok(true)
    }

    /// Appends the encoded request to `out`.
    pub fn finish(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        write_request_header(out, u32_sat(self.entries.len()));
        let mut w = Writer::new(out);
        for &(off, len) in &self.entries {
            w.u32(off);
            w.u32(len);
        }
        w.bytes(&self.keys);
    }
}

/// A decoded `CGROUPS_LOOKUP` request.
///
/// **Borrowed / ephemeral**: the view borrows the payload bytes it was
/// decoded from and is valid only while that buffer is alive and
/// unchanged. In a Level 2 server callback it is valid only for the
/// duration of the callback; with caller-managed buffers, until the caller
/// reuses or frees them. Copy the keys (or call
/// [`to_owned`](Self::to_owned)) immediately if they are needed later.
///
/// Decoding validated every key, so access is infallible and allocation
/// free.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupRequestView<'a> {
    dir: Directory<'a>,
}

impl<'a> CgroupsLookupRequestView<'a> {
    /// Decodes and fully validates a request payload.
    ///
    /// Rejects: a truncated header or directory (`Truncated`), a layout
    /// other than 1 (`BadLayoutVersion`), non-zero flags or reserved words
    /// (`NonZeroReserved`), directory overflow or keys out of bounds
    /// (`OutOfBounds`), key offsets not 8-byte aligned (`BadAlignment`),
    /// key lengths below 2 (`BadLength`), a key not ending in NUL
    /// (`MissingNul`) and a NUL inside a path (`InteriorNul`).
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let dir = Directory::parse_request(payload, REQ_WHAT)?;
        for i in 0..dir.count() {
            let (off, end) = dir.entry_range(i, KEY_WHAT)?;
            if end - off < CGROUPS_LOOKUP_MIN_KEY_LEN {
                return Err(DecodeError::BadLength {
                    what: "cgroups lookup key length must be >= 2",
                });
            }
            match dir.range(off, end).split_last() {
                Some((0, path)) => check_no_interior_nul(path, KEY_WHAT)?,
                _ => return Err(DecodeError::MissingNul { what: KEY_WHAT }),
            }
        }
        Ok(CgroupsLookupRequestView { dir })
    }

    /// Copies the request into an owned [`CgroupsLookupRequest`].
    pub fn to_owned(&self) -> CgroupsLookupRequest {
        CgroupsLookupRequest {
            paths: self.iter().map(<[u8]>::to_vec).collect(),
        }
    }

    #[inline]
    fn key_at(&self, i: usize) -> &'a [u8] {
        let k = self.dir.slice(i);
        k.split_last().map_or(k, |(_, path)| path)
    }
}

directory_view! {
    CgroupsLookupRequestView => CgroupsLookupKeys, &'a [u8], key_at;
    /// Number of keys.
    len;
    /// Whether the request has no keys (a no-op probe).
    is_empty;
    /// Path of key `i`, without its NUL.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    key, "cgroups lookup key index out of range";
    /// Path of key `i`, or `None` if `i` is out of range.
    get;
    /// Iterates over the paths in request order.
    iter;
    /// Iterator over the paths of a [`CgroupsLookupRequestView`]
    /// (borrowed from the payload, see the view's lifetime contract).
    iterator;
}

// ---------------------------------------------------------------------------
// Responses: owned types
// ---------------------------------------------------------------------------

/// An owned `CGROUPS_LOOKUP` response item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CgroupsLookupItem {
    /// Item status.
    pub status: LookupStatus,
    /// Raw orchestrator value (0 unless `KNOWN`).
    pub orchestrator: u16,
    /// Echoed request path (non-empty, no NUL).
    pub path: Vec<u8>,
    /// Cgroup name (may be empty; empty unless `KNOWN`).
    pub name: Vec<u8>,
    /// Labels (none unless `KNOWN`).
    pub labels: Vec<Label>,
}

impl CgroupsLookupItem {
    /// A `KNOWN` item.
    pub fn known(
        path: impl Into<Vec<u8>>,
        orchestrator: u16,
        name: impl Into<Vec<u8>>,
        labels: Vec<Label>,
    ) -> Self {
        CgroupsLookupItem {
            status: LookupStatus::Known,
            orchestrator,
            path: path.into(),
            name: name.into(),
            labels,
        }
    }

    /// A non-enriched item with `status` that only echoes `path`.
    pub fn unknown(path: impl Into<Vec<u8>>, status: LookupStatus) -> Self {
        CgroupsLookupItem {
            status,
            orchestrator: 0,
            path: path.into(),
            name: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// The orchestrator as a known enum value, if it is one.
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }
}

/// An owned `CGROUPS_LOOKUP` response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CgroupsLookupResponse {
    /// Advisory provider generation.
    pub generation: u64,
    /// One item per request key, in request order.
    pub items: Vec<CgroupsLookupItem>,
}

impl CgroupsLookupResponse {
    /// Encodes the response with an unlimited budget, appending the payload
    /// to `out` (every item keeps its status). Fails with
    /// `InvalidArgument` if an item is invalid; `out` is then unchanged.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut b = CgroupsLookupBuilder::new();
        b.core.set_verbatim(true);
        b.reset_for_paths(
            self.generation,
            &self.items.iter().map(|i| &i.path[..]).collect::<Vec<_>>(),
        )?;
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
    core: ResponseCore,
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
    /// [`LabelSource`](super::lookup::LabelSource), validated here, or a
    /// [`&LabelSet`](super::lookup::LabelSet), validated when it was built
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
        self.add(path, status, 0, &[], super::lookup::NO_LABELS)
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
        self.add_request_item(request, index, status, 0, &[], super::lookup::NO_LABELS)
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
        let full = (status == LookupStatus::Known).then(|| {
            path.len()
                .checked_add(name.len())
                .and_then(|n| n.checked_add(CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2))
                .and_then(|end| item_len_with_labels(end, label_count, label_bytes))
                .unwrap_or(usize::MAX)
        });
        let placement = self
            .core
            .place(min, full, status == LookupStatus::PayloadExceeded);
        let (buf, start) = self.core.begin_item();
        let encoded = match placement {
            Placement::Full => {
                write_item(buf, status, orchestrator, path, name, label_count);
                labels.write(buf, start, label_count);
                status
            }
            Placement::Minimal => {
                write_item(buf, status, 0, path, &[], 0);
                status
            }
            Placement::PayloadExceeded => {
                write_item(buf, LookupStatus::PayloadExceeded, 0, path, &[], 0);
                LookupStatus::PayloadExceeded
            }
            Placement::Oversized => {
                write_item(buf, LookupStatus::OversizedItem, 0, path, &[], 0);
                LookupStatus::OversizedItem
            }
        };
        self.core.end_item(start);
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

// ---------------------------------------------------------------------------
// Responses: views
// ---------------------------------------------------------------------------

response_view! {
    /// A decoded `CGROUPS_LOOKUP` response.
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
    pub struct CgroupsLookupResponseView;
    /// Decodes and fully validates a response payload.
    ///
    /// Rejects (error variant in parentheses): truncated header or
    /// directory (`Truncated`); layout other than 1 in the header or an
    /// item (`BadLayoutVersion`); non-zero flags or reserved fields
    /// (`NonZeroReserved`); directory overflow or item ranges out of
    /// bounds (`OutOfBounds`); overlapping or out-of-order item ranges
    /// (`Overlap`); unaligned item offsets (`BadAlignment`); items shorter
    /// than 28 bytes (`Truncated`); unknown status values
    /// (`UnknownStatus`); an empty path (`BadLength`); a non-`KNOWN` item
    /// with a non-zero orchestrator, a non-empty name or labels
    /// (`InvalidField`); string offsets before byte 28 and strings out of
    /// bounds (`OutOfBounds`); missing NULs (`MissingNul`); interior NULs
    /// (`InteriorNul`); overlapping strings including their NULs
    /// (`Overlap`); and every label-table rule (see the `lookup` module).
    decode(RESP_WHAT, CGROUPS_LOOKUP_ITEM_HDR_SIZE, ITEM_WHAT);
    item: CgroupsLookupItemView, "cgroups lookup item index out of range";
    iter: CgroupsLookupItems;
    owned: CgroupsLookupResponse;
}

/// One decoded `CGROUPS_LOOKUP` response item.
///
/// **Borrowed / ephemeral**: same lifetime contract as the
/// [`CgroupsLookupResponseView`] it came from; its strings point into the
/// payload bytes. Copy them (or call [`to_owned`](Self::to_owned)) if they
/// are needed after the buffer may be reused.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupItemView<'a> {
    item: &'a [u8],
    status: LookupStatus,
    orchestrator: u16,
    path: &'a [u8],
    name: &'a [u8],
    label_count: usize,
    table: usize,
}

impl<'a> CgroupsLookupItemView<'a> {
    /// Validates one item (at least 28 bytes, checked by the caller).
    ///
    /// Inlined into its one caller, the response decoder, which only
    /// needs the verdict: the view fields are then never computed.
    #[inline(always)]
    fn parse_checked(item: &'a [u8]) -> Result<Self, DecodeError> {
        // The caller checked the length: the header fields are read from a
        // fixed-size array, so their bounds checks fold away.
        let Some(h) = item.first_chunk::<CGROUPS_LOOKUP_ITEM_HDR_SIZE>() else {
            return Err(DecodeError::Truncated {
                what: ITEM_WHAT,
                need: CGROUPS_LOOKUP_ITEM_HDR_SIZE,
                have: item.len(),
            });
        };
        check_layout(rd_u16(h, 0), ITEM_WHAT)?;
        let raw_status = rd_u16(h, ITEM_STATUS_OFF);
        let status = LookupStatus::from_u16(raw_status).ok_or(DecodeError::UnknownStatus {
            what: LookupStatus::WHAT,
            found: u32::from(raw_status),
        })?;
        let orchestrator = rd_u16(h, ITEM_ORCH_OFF);
        if rd_u16(h, ITEM_RESERVED0_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved0",
            });
        }
        if rd_u16(h, ITEM_RESERVED1_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved1",
            });
        }
        let path_len = rd_u32(h, ITEM_PATH_LEN);
        let name_len = rd_u32(h, ITEM_NAME_LEN);
        let label_count = usize::from(rd_u16(h, ITEM_LABEL_COUNT));
        if path_len == 0 {
            return Err(DecodeError::BadLength {
                what: "cgroups lookup path_length must be >= 1",
            });
        }
        if status != LookupStatus::Known {
            if orchestrator != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "orchestrator must be 0 when status is not KNOWN",
                });
            }
            if name_len != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "name must be empty when status is not KNOWN",
                });
            }
            if label_count != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "label_count must be 0 when status is not KNOWN",
                });
            }
        }
        let hdr = CGROUPS_LOOKUP_ITEM_HDR_SIZE;
        let (path_off, name_off) = (rd_u32(h, ITEM_PATH_OFF), rd_u32(h, ITEM_NAME_OFF));
        let [path, name] =
            match packed_strings(item, hdr, [(path_off, path_len), (name_off, name_len)]) {
                Some(spans) => spans,
                None => {
                    let path = check_string(item, hdr, path_off, path_len, "path")?;
                    let name = check_string(item, hdr, name_off, name_len, "name")?;
                    check_disjoint(&[path, name], "path and name strings")?;
                    [path, name]
                }
            };
        let table = check_labels(item, path.end.max(name.end), label_count)?;
        Ok(Self::from_parts(
            item,
            status,
            orchestrator,
            path,
            name,
            label_count,
            table,
        ))
    }

    /// Re-reads an item that [`parse_checked`](Self::parse_checked) accepted.
    pub(crate) fn parse_trusted(item: &'a [u8]) -> Self {
        let path = Span::trusted(item, ITEM_PATH_OFF, ITEM_PATH_LEN);
        let name = Span::trusted(item, ITEM_NAME_OFF, ITEM_NAME_LEN);
        let table = path
            .end
            .max(name.end)
            .next_multiple_of(crate::protocol::ITEM_ALIGN);
        Self::from_parts(
            item,
            LookupStatus::from_u16(rd_u16(item, ITEM_STATUS_OFF)).unwrap_or(LookupStatus::Known),
            rd_u16(item, ITEM_ORCH_OFF),
            path,
            name,
            usize::from(rd_u16(item, ITEM_LABEL_COUNT)),
            table,
        )
    }

    #[inline(always)]
    fn from_parts(
        item: &'a [u8],
        status: LookupStatus,
        orchestrator: u16,
        path: Span,
        name: Span,
        label_count: usize,
        table: usize,
    ) -> Self {
        CgroupsLookupItemView {
            item,
            status,
            orchestrator,
            path: path.bytes(item),
            name: name.bytes(item),
            label_count,
            table,
        }
    }

    /// The item status.
    #[inline]
    pub fn status(&self) -> LookupStatus {
        self.status
    }

    /// The raw orchestrator value (unknown values are passed through).
    #[inline]
    pub fn orchestrator(&self) -> u16 {
        self.orchestrator
    }

    /// The orchestrator as a known enum value, if it is one.
    #[inline]
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }

    /// The echoed path (no NUL, never empty).
    #[inline]
    pub fn path(&self) -> &'a [u8] {
        self.path
    }

    /// The cgroup name (no NUL, may be empty).
    #[inline]
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    item_labels!();

    /// Copies the item into an owned [`CgroupsLookupItem`].
    pub fn to_owned(&self) -> CgroupsLookupItem {
        CgroupsLookupItem {
            status: self.status,
            orchestrator: self.orchestrator,
            path: self.path.to_vec(),
            name: self.name.to_vec(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{put_u16, put_u32};
    use crate::codec::lookup::{LOOKUP_LABEL_ENTRY_SIZE, MAX_LABELS, NO_LABELS, orchestrator_name};
    use proptest::prelude::*;

    // ----- conformance -------------------------------------------------

    struct ReqVector {
        name: &'static str,
        bytes: &'static [u8],
        paths: &'static [&'static str],
    }

    struct ExpItem {
        status: &'static str,
        orchestrator: &'static str,
        path: &'static str,
        name: &'static str,
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
            name: "cgroups_lookup_req",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_req.bin"
            ),
            paths: &["/sys/fs/cgroup/a", "/system.slice/docker-abc.scope"],
        },
        ReqVector {
            name: "cgroups_lookup_req_empty",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_req_empty.bin"
            ),
            paths: &[],
        },
    ];

    /// Generated from testdata/conformance/vectors.json.
    const RESP_VECTORS: &[RespVector] = &[
        RespVector {
            name: "cgroups_lookup_resp_known_with_labels",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_known_with_labels.bin"
            ),
            generation: 100,
            items: &[ExpItem {
                status: "KNOWN",
                orchestrator: "K8S",
                path: "/kubepods.slice/pod-a",
                name: "pod-a",
                labels: &[("namespace", "default"), ("pod", "web")],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_known_no_labels",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_known_no_labels.bin"
            ),
            generation: 101,
            items: &[ExpItem {
                status: "KNOWN",
                orchestrator: "DOCKER",
                path: "/docker/abc",
                name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_unknown_retry",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_unknown_retry.bin"
            ),
            generation: 102,
            items: &[ExpItem {
                status: "UNKNOWN_RETRY_LATER",
                orchestrator: "UNKNOWN",
                path: "/missing/retry",
                name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_unknown_permanent",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_unknown_permanent.bin"
            ),
            generation: 103,
            items: &[ExpItem {
                status: "UNKNOWN_PERMANENT",
                orchestrator: "UNKNOWN",
                path: "/gone",
                name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_payload_exceeded",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_payload_exceeded.bin"
            ),
            generation: 104,
            items: &[ExpItem {
                status: "PAYLOAD_EXCEEDED",
                orchestrator: "UNKNOWN",
                path: "/payload-exceeded",
                name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_oversized_item",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_oversized_item.bin"
            ),
            generation: 105,
            items: &[ExpItem {
                status: "OVERSIZED_ITEM",
                orchestrator: "UNKNOWN",
                path: "/oversized",
                name: "",
                labels: &[],
            }],
        },
        RespVector {
            name: "cgroups_lookup_resp_empty",
            bytes: include_bytes!(
                "../../../../testdata/conformance/vectors/cgroups_lookup_resp_empty.bin"
            ),
            generation: 106,
            items: &[],
        },
    ];

    fn orch_value(name: &str) -> u16 {
        Orchestrator::from_name(name)
            .expect("orchestrator name")
            .as_u16()
    }

    #[test]
    fn set_generation_keeps_items() {
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&["/a", "/b"], &mut req).unwrap();
        let view = CgroupsLookupRequestView::decode(&req).unwrap();
        let mut b = CgroupsLookupBuilder::new();
        b.reset(0, &view);
        b.add_request_unknown(&view, 0, LookupStatus::UnknownRetryLater)
            .unwrap();
        b.set_generation(77);
        b.add_request_unknown(&view, 1, LookupStatus::UnknownRetryLater)
            .unwrap();
        let resp = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(resp.generation(), 77);
        assert_eq!(resp.len(), 2);
        assert_eq!(resp.item(1).path(), b"/b");
    }

    #[test]
    fn conformance_requests() {
        for v in REQ_VECTORS {
            let view = CgroupsLookupRequestView::decode(v.bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            let got: Vec<&[u8]> = view.iter().collect();
            let want: Vec<&[u8]> = v.paths.iter().map(|p| p.as_bytes()).collect();
            assert_eq!(got, want, "{}", v.name);
            // encode
            let mut out = Vec::new();
            encode_cgroups_lookup_request(v.paths, &mut out).unwrap();
            assert_eq!(out, v.bytes, "{}: encode", v.name);
            assert_eq!(cgroups_lookup_request_len(v.paths).unwrap(), v.bytes.len());
            // request builder
            let mut b = CgroupsLookupRequestBuilder::new();
            for p in v.paths {
                assert!(b.push(p.as_bytes()).unwrap());
            }
            let mut out2 = Vec::new();
            b.finish(&mut out2);
            assert_eq!(out2, v.bytes, "{}: builder", v.name);
            assert_eq!(b.encoded_len(), v.bytes.len());
            // re-encode
            let mut out3 = Vec::new();
            view.to_owned().encode(&mut out3).unwrap();
            assert_eq!(out3, v.bytes, "{}: re-encode", v.name);
        }
    }

    #[test]
    fn conformance_responses() {
        for v in RESP_VECTORS {
            let view = CgroupsLookupResponseView::decode(v.bytes)
                .unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(view.generation(), v.generation, "{}", v.name);
            assert_eq!(view.len(), v.items.len(), "{}", v.name);
            for (got, want) in view.items().zip(v.items) {
                assert_eq!(got.status().as_str(), want.status, "{}", v.name);
                assert_eq!(
                    orchestrator_name(got.orchestrator()),
                    Some(want.orchestrator),
                    "{}",
                    v.name
                );
                assert_eq!(got.path(), want.path.as_bytes(), "{}", v.name);
                assert_eq!(got.name(), want.name.as_bytes(), "{}", v.name);
                let labels: Vec<(&[u8], &[u8])> =
                    got.labels().map(|l| (l.key(), l.value())).collect();
                let wl: Vec<(&[u8], &[u8])> = want
                    .labels
                    .iter()
                    .map(|(k, x)| (k.as_bytes(), x.as_bytes()))
                    .collect();
                assert_eq!(labels, wl, "{}", v.name);
            }
            // encode with the builder
            let paths: Vec<&str> = v.items.iter().map(|i| i.path).collect();
            let mut b = CgroupsLookupBuilder::new();
            b.reset_for_paths(v.generation, &paths).unwrap();
            for it in v.items {
                let status = LookupStatus::from_name(it.status).unwrap();
                let got = b
                    .add(
                        it.path.as_bytes(),
                        status,
                        orch_value(it.orchestrator),
                        it.name.as_bytes(),
                        it.labels,
                    )
                    .unwrap();
                assert_eq!(got, status);
            }
            assert_eq!(b.finish().unwrap(), v.bytes, "{}: encode", v.name);
            // re-encode through the owned type
            let mut out = Vec::new();
            view.to_owned().encode(&mut out).unwrap();
            assert_eq!(out, v.bytes, "{}: re-encode", v.name);
        }
    }

    fn vector(name: &str) -> &'static RespVector {
        RESP_VECTORS.iter().find(|v| v.name == name).unwrap()
    }

    /// The PAYLOAD_EXCEEDED vector is what the builder produces when a
    /// KNOWN item does not fit the current budget (but fits the maximum).
    #[test]
    fn conformance_payload_exceeded_from_budget() {
        let v = vector("cgroups_lookup_resp_payload_exceeded");
        let mut b = CgroupsLookupBuilder::with_budget(v.bytes.len(), 1 << 20);
        b.reset_for_paths(104, &["/payload-exceeded"]).unwrap();
        let got = b
            .add(
                b"/payload-exceeded",
                LookupStatus::Known,
                Orchestrator::K8s.into(),
                b"pod",
                [("a", "b")],
            )
            .unwrap();
        assert_eq!(got, LookupStatus::PayloadExceeded);
        assert!(b.is_exceeded());
        assert_eq!(b.finish().unwrap(), v.bytes);
    }

    /// The OVERSIZED_ITEM vector is what the builder produces when a KNOWN
    /// item cannot fit alone within the maximum budget.
    #[test]
    fn conformance_oversized_from_budget() {
        let v = vector("cgroups_lookup_resp_oversized_item");
        let mut b = CgroupsLookupBuilder::with_budget(v.bytes.len(), v.bytes.len());
        b.reset_for_paths(105, &["/oversized"]).unwrap();
        let got = b
            .add(
                b"/oversized",
                LookupStatus::Known,
                Orchestrator::Docker.into(),
                b"name",
                NO_LABELS,
            )
            .unwrap();
        assert_eq!(got, LookupStatus::OversizedItem);
        assert!(!b.is_exceeded());
        assert_eq!(b.finish().unwrap(), v.bytes);
    }

    // ----- helpers -----------------------------------------------------

    fn encode_req(paths: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_cgroups_lookup_request(paths, &mut out).unwrap();
        out
    }

    fn one_item(
        status: LookupStatus,
        orch: u16,
        path: &[u8],
        name: &[u8],
        labels: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(7, &[path]).unwrap();
        b.add(path, status, orch, name, labels).unwrap();
        b.finish().unwrap().to_vec()
    }

    /// Offset of the single item in a one-item response.
    const ITEM0: usize = CGROUPS_LOOKUP_RESP_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE;

    fn resp_err(bytes: &[u8]) -> DecodeError {
        CgroupsLookupResponseView::decode(bytes).unwrap_err()
    }

    fn req_err(bytes: &[u8]) -> DecodeError {
        CgroupsLookupRequestView::decode(bytes).unwrap_err()
    }

    fn known_labels() -> Vec<u8> {
        // path "/a", name "n": strings end at 28 + 3 + 2 = 33, table at 40.
        one_item(
            LookupStatus::Known,
            3,
            b"/a",
            b"n",
            &[("key", "value"), ("k2", "")],
        )
    }

    // ----- request round trips and boundaries ---------------------------

    #[test]
    fn request_round_trip_and_access() {
        let paths: [&[u8]; 3] = [
            b"/a",
            b"/system.slice/x.service",
            b"/sys/fs/cgroup/very/long/path/here",
        ];
        let bytes = encode_req(&paths);
        let v = CgroupsLookupRequestView::decode(&bytes).unwrap();
        assert_eq!(v.len(), 3);
        assert!(!v.is_empty());
        assert_eq!(v.key(1), paths[1]);
        assert_eq!(v.get(2), Some(paths[2]));
        assert_eq!(v.get(3), None);
        assert_eq!(v.iter().next_back(), Some(paths[2]));
        assert_eq!(v.iter().len(), 3);
        assert_eq!(v.into_iter().count(), 3);
        assert_eq!(
            v.to_owned().paths,
            paths.iter().map(|p| p.to_vec()).collect::<Vec<_>>()
        );
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn request_key_index_panics() {
        let bytes = encode_req(&[b"/a"]);
        CgroupsLookupRequestView::decode(&bytes).unwrap().key(1);
    }

    #[test]
    fn request_boundaries() {
        // zero keys
        let bytes = encode_req(&[]);
        assert_eq!(bytes.len(), CGROUPS_LOOKUP_REQ_HDR_SIZE);
        assert!(CgroupsLookupRequestView::decode(&bytes).unwrap().is_empty());
        // minimal key: one byte + NUL
        let bytes = encode_req(&[b"x"]);
        assert_eq!(bytes.len(), cgroups_lookup_single_request_len(1).unwrap());
        assert_eq!(
            CgroupsLookupRequestView::decode(&bytes).unwrap().key(0),
            b"x"
        );
        // long key
        let long = vec![b'p'; 100_000];
        let bytes = encode_req(&[&long, b"/b"]);
        let v = CgroupsLookupRequestView::decode(&bytes).unwrap();
        assert_eq!(v.key(0), &long[..]);
        assert_eq!(v.key(1), b"/b");
        // many keys
        let many: Vec<String> = (0..5000)
            .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
            .collect();
        let mut out = Vec::new();
        encode_cgroups_lookup_request(&many, &mut out).unwrap();
        let v = CgroupsLookupRequestView::decode(&out).unwrap();
        assert!(v.iter().zip(&many).all(|(k, p)| k == p.as_bytes()));
    }

    #[test]
    fn request_encoder_rejects_bad_paths_without_writing() {
        let mut out = vec![9u8];
        let empty: [&[u8]; 2] = [b"/a", b""];
        assert!(matches!(
            encode_cgroups_lookup_request(&empty, &mut out),
            Err(Error::InvalidArgument(_))
        ));
        let nul: [&[u8]; 1] = [b"/a\0b"];
        assert!(matches!(
            encode_cgroups_lookup_request(&nul, &mut out),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(out, [9]);
    }

    #[test]
    fn request_encoder_appends() {
        let mut out = vec![0xEEu8; 3];
        encode_cgroups_lookup_request(&["/a", "/bb"], &mut out).unwrap();
        assert_eq!(&out[3..], encode_req(&[b"/a", b"/bb"]));
    }

    #[test]
    fn request_builder_budget_split() {
        let paths: Vec<String> = (0..100)
            .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
            .collect();
        let budget = 256;
        let mut b = CgroupsLookupRequestBuilder::with_budget(budget);
        let mut requests = Vec::new();
        let mut i = 0;
        while i < paths.len() {
            if b.push(paths[i].as_bytes()).unwrap() {
                i += 1;
                continue;
            }
            assert!(!b.is_empty(), "a single key must fit");
            let mut out = Vec::new();
            b.finish(&mut out);
            assert!(out.len() <= budget);
            assert_eq!(out.len(), b.encoded_len());
            requests.push(out);
            b.clear();
        }
        let mut out = Vec::new();
        b.finish(&mut out);
        requests.push(out);
        let mut all = Vec::new();
        for r in &requests {
            assert!(r.len() <= budget);
            let v = CgroupsLookupRequestView::decode(r).unwrap();
            all.extend(v.iter().map(<[u8]>::to_vec));
        }
        assert_eq!(
            all,
            paths
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        assert!(requests.len() > 1);
    }

    #[test]
    fn request_builder_fits_exactly() {
        let mut b =
            CgroupsLookupRequestBuilder::with_budget(cgroups_lookup_single_request_len(5).unwrap());
        assert!(!b.fits(6));
        assert!(b.fits(5));
        assert!(!b.push(b"/abcde").unwrap());
        assert!(b.push(b"/abcd").unwrap());
        assert!(!b.push(b"/").unwrap());
        assert!(matches!(b.push(b""), Err(Error::InvalidArgument(_))));
        assert!(matches!(b.push(b"/\0"), Err(Error::InvalidArgument(_))));
        assert_eq!(b.len(), 1);
        b.set_budget(usize::MAX);
        assert_eq!(b.budget(), MAX_BUDGET);
        assert!(b.push(b"/").unwrap());
        assert_eq!(b.encoded_len_with(usize::MAX), None);
        assert!(!CgroupsLookupRequestBuilder::default().fits(usize::MAX));
    }

    // ----- request rejections -------------------------------------------

    #[test]
    fn req_truncated_header() {
        let bytes = encode_req(&[]);
        assert!(matches!(
            req_err(&bytes[..15]),
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn req_bad_layout() {
        let mut bytes = encode_req(&[b"/a"]);
        put_u16(&mut bytes, 0, 2);
        assert!(matches!(
            req_err(&bytes),
            DecodeError::BadLayoutVersion { found: 2, .. }
        ));
    }

    #[test]
    fn req_non_zero_flags_and_reserved() {
        for (off, field) in [(2usize, "flags"), (8, "reserved0"), (12, "reserved1")] {
            let mut bytes = encode_req(&[b"/a"]);
            bytes[off] = 1;
            assert_eq!(req_err(&bytes), DecodeError::NonZeroReserved { field });
        }
    }

    #[test]
    fn req_truncated_directory() {
        let bytes = encode_req(&[b"/a", b"/b"]);
        assert!(matches!(
            req_err(&bytes[..20]),
            DecodeError::Truncated { .. }
        ));
        // an item_count whose directory cannot exist (count * 8 is checked)
        let mut bytes = encode_req(&[]);
        put_u32(&mut bytes, 4, u32::MAX);
        assert!(matches!(req_err(&bytes), DecodeError::Truncated { .. }));
    }

    #[test]
    fn req_key_out_of_bounds_and_overflow() {
        let mut bytes = encode_req(&[b"/a"]);
        put_u32(&mut bytes, 20, 4);
        assert_eq!(
            req_err(&bytes),
            DecodeError::OutOfBounds {
                what: "cgroups lookup key"
            }
        );
        let mut bytes = encode_req(&[b"/a"]);
        put_u32(&mut bytes, 16, 0xFFFF_FFF8);
        put_u32(&mut bytes, 20, u32::MAX);
        assert_eq!(
            req_err(&bytes),
            DecodeError::OutOfBounds {
                what: "cgroups lookup key"
            }
        );
    }

    #[test]
    fn req_unaligned_key() {
        let mut bytes = encode_req(&[b"/a"]);
        put_u32(&mut bytes, 16, 1);
        assert_eq!(
            req_err(&bytes),
            DecodeError::BadAlignment {
                what: "cgroups lookup key"
            }
        );
    }

    #[test]
    fn req_short_key() {
        let mut bytes = encode_req(&[b"/a"]);
        put_u32(&mut bytes, 20, 1);
        assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
    }

    #[test]
    fn req_missing_nul() {
        let mut bytes = encode_req(&[b"/a"]);
        let last = bytes.len() - 1;
        bytes[last] = b'x';
        assert_eq!(
            req_err(&bytes),
            DecodeError::MissingNul {
                what: "cgroups lookup key"
            }
        );
    }

    #[test]
    fn req_interior_nul() {
        let mut bytes = encode_req(&[b"/ab"]);
        bytes[24 + 1] = 0;
        assert_eq!(
            req_err(&bytes),
            DecodeError::InteriorNul {
                what: "cgroups lookup key"
            }
        );
    }

    // ----- response round trips and boundaries ----------------------------

    #[test]
    fn response_round_trip_and_access() {
        let resp = CgroupsLookupResponse {
            generation: u64::MAX,
            items: vec![
                CgroupsLookupItem::known(
                    "/kubepods/pod-a",
                    Orchestrator::K8s.into(),
                    "pod-a",
                    vec![Label::new("namespace", "default"), Label::new("empty", "")],
                ),
                CgroupsLookupItem::unknown("/gone", LookupStatus::UnknownPermanent),
                CgroupsLookupItem::known("/x", 999, "", vec![]),
                CgroupsLookupItem::unknown("/later", LookupStatus::UnknownRetryLater),
            ],
        };
        let mut out = Vec::new();
        resp.encode(&mut out).unwrap();
        let v = CgroupsLookupResponseView::decode(&out).unwrap();
        assert_eq!(v.to_owned(), resp);
        assert_eq!(v.generation(), u64::MAX);
        assert_eq!(v.len(), 4);
        let i0 = v.item(0);
        assert_eq!(i0.orchestrator_kind(), Some(Orchestrator::K8s));
        assert_eq!(i0.label_count(), 2);
        assert_eq!(i0.label(1).unwrap().to_owned(), Label::new("empty", ""));
        assert!(i0.label(2).is_none());
        assert_eq!(i0.labels().len(), 2);
        assert_eq!(i0.as_bytes().len(), v.dir.raw_entry(0).1);
        assert_eq!(v.item(2).orchestrator(), 999);
        assert_eq!(v.item(2).orchestrator_kind(), None);
        assert_eq!(resp.items[2].orchestrator_kind(), None);
        assert!(v.get(4).is_none());
        assert_eq!(
            v.items().next_back().unwrap().status(),
            LookupStatus::UnknownRetryLater
        );
        assert_eq!(v.into_iter().count(), 4);
        // item offsets are 8-aligned and the last item is unpadded
        for i in 0..v.len() {
            assert_eq!(v.dir.raw_entry(i).0 % 8, 0);
        }
        let (off, len) = v.dir.raw_entry(3);
        assert_eq!(ITEM0 + 3 * 8 + off + len, out.len());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn response_item_index_panics() {
        let bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        CgroupsLookupResponseView::decode(&bytes).unwrap().item(1);
    }

    #[test]
    fn response_boundaries() {
        // zero items
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths::<&[u8]>(0, &[]).unwrap();
        let bytes = b.finish().unwrap().to_vec();
        assert_eq!(bytes.len(), CGROUPS_LOOKUP_RESP_HDR_SIZE);
        let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
        assert!(v.is_empty());
        assert_eq!(v.generation(), 0);
        // a fresh builder finishes an empty response
        assert_eq!(
            CgroupsLookupBuilder::default().finish().unwrap().len(),
            CGROUPS_LOOKUP_RESP_HDR_SIZE
        );
        // minimal item: one path byte, empty name with its own NUL
        let bytes = one_item(LookupStatus::Known, 0, b"/", b"", &[]);
        assert_eq!(bytes.len(), ITEM0 + CGROUPS_LOOKUP_ITEM_HDR_SIZE + 3);
        let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
        assert_eq!(v.item(0).name(), b"");
        // long strings
        let long_path = vec![b'p'; 70_000];
        let long_name = vec![b'n'; 70_000];
        let long_val = vec![b'v'; 70_000];
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(1, &[&long_path]).unwrap();
        b.add(
            &long_path,
            LookupStatus::Known,
            1,
            &long_name,
            [(&b"k"[..], &long_val[..])],
        )
        .unwrap();
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        let it = v.item(0);
        assert_eq!((it.path(), it.name()), (&long_path[..], &long_name[..]));
        assert_eq!(it.label(0).unwrap().value(), &long_val[..]);
    }

    #[test]
    fn response_max_label_count() {
        let labels: Vec<Label> = (0..MAX_LABELS)
            .map(|i| Label::new(format!("k{i}"), ""))
            .collect();
        let bytes = one_item(LookupStatus::Known, 1, b"/a", b"n", &[]);
        assert!(CgroupsLookupResponseView::decode(&bytes).is_ok());
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(1, &["/a"]).unwrap();
        b.add(b"/a", LookupStatus::Known, 1, b"n", &labels).unwrap();
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        let it = v.item(0);
        assert_eq!(it.label_count(), MAX_LABELS);
        assert!(
            it.labels()
                .zip(&labels)
                .all(|(a, b)| a.key() == &b.key[..] && a.value().is_empty())
        );
        // one more is rejected by the builder
        let mut too_many = labels;
        too_many.push(Label::new("x", "y"));
        b.reset_for_paths(1, &["/a"]).unwrap();
        assert!(matches!(
            b.add(b"/a", LookupStatus::Known, 1, b"n", &too_many),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn many_items_up_to_budget() {
        let paths: Vec<String> = (0..2000)
            .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
            .collect();
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&paths, &mut req).unwrap();
        let req = CgroupsLookupRequestView::decode(&req).unwrap();
        for budget in [150_000usize, 200_000, 1 << 20] {
            let mut b = CgroupsLookupBuilder::with_budget(budget, 1 << 20);
            b.reset(9, &req);
            let labels = [("namespace", "bench"), ("image", "bench:latest")];
            for i in 0..req.len() {
                b.add_request_item(
                    &req,
                    i,
                    LookupStatus::Known,
                    Orchestrator::K8s.into(),
                    b"bench-pod",
                    labels,
                )
                .unwrap();
            }
            let bytes = b.finish().unwrap();
            assert!(bytes.len() <= budget);
            let v = CgroupsLookupResponseView::decode(bytes).unwrap();
            assert_eq!(v.len(), req.len());
            let known = v
                .items()
                .take_while(|i| i.status() == LookupStatus::Known)
                .count();
            assert!(
                v.items()
                    .skip(known)
                    .all(|i| i.status() == LookupStatus::PayloadExceeded)
            );
            assert!(v.items().zip(req.iter()).all(|(i, k)| i.path() == k));
            if budget == 1 << 20 {
                assert_eq!(known, req.len());
            } else {
                assert!(known > 0 && known < req.len());
                // the minimal tail was reserved: it fits and takes the rest
                assert!(bytes.len() > budget - 152);
            }
        }
    }

    // ----- builder behaviour ----------------------------------------------

    #[test]
    fn builder_request_items_and_payload_exceeded_tail() {
        let req_bytes = encode_req(&[b"/a", b"/bb", b"/ccc", b"/dddd"]);
        let req = CgroupsLookupRequestView::decode(&req_bytes).unwrap();
        // header 16 + dir 32 = 48; item0 full: 28+3+6+8-aligned... pick a
        // budget that fits item 0 in full but not item 1.
        let big = vec![b'n'; 40];
        let min = |p: usize| CGROUPS_LOOKUP_ITEM_HDR_SIZE + p + 2;
        let full0 = CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2 + 1 + 40 + 1; // 72
        let tail = min(3).next_multiple_of(8) + min(4).next_multiple_of(8) + min(5);
        let budget = 48 + full0 + tail;
        let mut b = CgroupsLookupBuilder::with_budget(budget, 1 << 20);
        b.reset(5, &req);
        assert_eq!(b.item_count(), 4);
        let s = |b: &mut CgroupsLookupBuilder, i| {
            b.add_request_item(&req, i, LookupStatus::Known, 2, &big, NO_LABELS)
        };
        assert_eq!(s(&mut b, 0).unwrap(), LookupStatus::Known);
        assert_eq!(s(&mut b, 1).unwrap(), LookupStatus::PayloadExceeded);
        // once exceeded, every later item is PAYLOAD_EXCEEDED, whatever it asks
        assert_eq!(
            b.add_request_unknown(&req, 2, LookupStatus::UnknownPermanent)
                .unwrap(),
            LookupStatus::PayloadExceeded
        );
        assert_eq!(
            b.add_unknown(b"/dddd", LookupStatus::UnknownRetryLater)
                .unwrap(),
            LookupStatus::PayloadExceeded
        );
        assert_eq!(b.added(), 4);
        let bytes = b.finish().unwrap();
        assert_eq!(bytes.len(), budget);
        let v = CgroupsLookupResponseView::decode(bytes).unwrap();
        let st: Vec<_> = v.items().map(|i| i.status()).collect();
        assert_eq!(
            st,
            [
                LookupStatus::Known,
                LookupStatus::PayloadExceeded,
                LookupStatus::PayloadExceeded,
                LookupStatus::PayloadExceeded
            ]
        );
        assert!(
            v.items().zip(req.iter()).all(|(i, k)| i.path() == k
                && (i.status() == LookupStatus::Known || i.name().is_empty()))
        );
    }

    #[test]
    fn builder_explicit_payload_exceeded_marks_the_rest() {
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(1, &["/a", "/b", "/c"]).unwrap();
        assert_eq!(
            b.add_unknown(b"/a", LookupStatus::OversizedItem).unwrap(),
            LookupStatus::OversizedItem
        );
        assert!(!b.is_exceeded());
        assert_eq!(
            b.add_unknown(b"/b", LookupStatus::PayloadExceeded).unwrap(),
            LookupStatus::PayloadExceeded
        );
        assert!(b.is_exceeded());
        assert_eq!(
            b.add(b"/c", LookupStatus::Known, 1, b"n", NO_LABELS)
                .unwrap(),
            LookupStatus::PayloadExceeded
        );
        assert!(b.finish().is_ok());
    }

    #[test]
    fn builder_first_item_payload_exceeded() {
        // Budget holds only the minimal shapes: the first KNOWN item does not fit.
        let mut b =
            CgroupsLookupBuilder::with_budget(ITEM0 + CGROUPS_LOOKUP_ITEM_HDR_SIZE + 4, 1 << 20);
        b.reset_for_paths(1, &["/a"]).unwrap();
        assert_eq!(
            b.add(b"/a", LookupStatus::Known, 1, b"x", NO_LABELS)
                .unwrap(),
            LookupStatus::PayloadExceeded
        );
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(v.item(0).status(), LookupStatus::PayloadExceeded);
    }

    #[test]
    fn builder_oversized_does_not_stop_later_items() {
        let huge = vec![b'n'; 2000];
        let mut b = CgroupsLookupBuilder::with_budget(1024, 1024);
        assert_eq!((b.budget(), b.max_budget()), (1024, 1024));
        b.reset_for_paths(1, &["/a", "/b", "/c"]).unwrap();
        assert_eq!(
            b.add(b"/a", LookupStatus::Known, 1, b"ok", NO_LABELS)
                .unwrap(),
            LookupStatus::Known
        );
        assert_eq!(
            b.add(b"/b", LookupStatus::Known, 1, &huge, NO_LABELS)
                .unwrap(),
            LookupStatus::OversizedItem
        );
        assert!(!b.is_exceeded());
        assert_eq!(
            b.add(b"/c", LookupStatus::Known, 1, b"ok", NO_LABELS)
                .unwrap(),
            LookupStatus::Known
        );
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        let st: Vec<_> = v.items().map(|i| i.status()).collect();
        assert_eq!(
            st,
            [
                LookupStatus::Known,
                LookupStatus::OversizedItem,
                LookupStatus::Known
            ]
        );
        assert_eq!(v.item(1).path(), b"/b");
        assert_eq!(v.item(1).orchestrator(), 0);
    }

    #[test]
    fn builder_over_budget_reports_limit() {
        let mut b = CgroupsLookupBuilder::with_budget(40, 40);
        b.reset_for_paths(1, &["/aaaaaaaaaaaaaaa"]).unwrap();
        assert!(b.is_over_budget());
        assert_eq!(
            b.add_unknown(b"/aaaaaaaaaaaaaaa", LookupStatus::UnknownRetryLater)
                .unwrap(),
            LookupStatus::PayloadExceeded
        );
        assert!(matches!(b.finish(), Err(Error::LimitExceeded { .. })));
        assert!(b.encoded_len() > 40);
    }

    #[test]
    fn builder_rejects_invalid_input_without_state_change() {
        let req_bytes = encode_req(&[b"/a", b"/b"]);
        let req = CgroupsLookupRequestView::decode(&req_bytes).unwrap();
        let mut b = CgroupsLookupBuilder::from_vec(Vec::with_capacity(64));
        b.reset(1, &req);
        let len = b.encoded_len();
        let bad = |r: Result<LookupStatus, Error>| {
            assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}")
        };
        bad(b.add(b"", LookupStatus::Known, 0, b"", NO_LABELS));
        bad(b.add(b"/\0", LookupStatus::Known, 0, b"", NO_LABELS));
        bad(b.add(b"/ab", LookupStatus::Known, 0, b"", NO_LABELS)); // length differs from the key
        bad(b.add(b"/a", LookupStatus::Known, 0, b"n\0", NO_LABELS));
        bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("", "v")]));
        bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("k\0", "v")]));
        bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("k", "v\0")]));
        bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 1, b"", NO_LABELS));
        bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 0, b"n", NO_LABELS));
        bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 0, b"", [("k", "v")]));
        bad(b.add_unknown(b"/a", LookupStatus::Known));
        bad(b.add_request_unknown(&req, 0, LookupStatus::Known));
        bad(b.add_request_item(&req, 1, LookupStatus::Known, 0, b"", NO_LABELS)); // out of order
        assert_eq!(b.encoded_len(), len);
        assert_eq!(b.added(), 0);
        assert!(matches!(b.finish(), Err(Error::InvalidState(_))));
        b.add_request_unknown(&req, 0, LookupStatus::UnknownRetryLater)
            .unwrap();
        bad(b.add_request_item(&req, 2, LookupStatus::Known, 0, b"", NO_LABELS)); // out of range
        b.add_request_item(&req, 1, LookupStatus::Known, 0, b"", NO_LABELS)
            .unwrap();
        assert!(matches!(
            b.add_unknown(b"/c", LookupStatus::UnknownRetryLater),
            Err(Error::InvalidState(_))
        ));
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(v.len(), 2);
        // reuse: the buffer comes back
        assert!(b.into_vec().capacity() >= 64);
    }

    #[test]
    fn builder_reuse_across_resets() {
        let mut b = CgroupsLookupBuilder::new();
        for round in 0..3u64 {
            b.reset_for_paths(round, &["/x", "/y"]).unwrap();
            b.add(b"/x", LookupStatus::Known, 1, b"n", [("k", "v")])
                .unwrap();
            b.add_unknown(b"/y", LookupStatus::UnknownPermanent)
                .unwrap();
            let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
            assert_eq!(v.generation(), round);
            assert_eq!(v.len(), 2);
        }
    }

    #[test]
    fn owned_encode_rejects_invalid_items() {
        let resp = CgroupsLookupResponse {
            generation: 1,
            items: vec![CgroupsLookupItem {
                status: LookupStatus::UnknownPermanent,
                orchestrator: 0,
                path: b"/p".to_vec(),
                name: b"x".to_vec(),
                labels: vec![],
            }],
        };
        let mut out = Vec::new();
        assert!(matches!(
            resp.encode(&mut out),
            Err(Error::InvalidArgument(_))
        ));
        assert!(out.is_empty());
    }

    // ----- response rejections ----------------------------------------------

    #[test]
    fn resp_truncated_header() {
        let bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        assert!(matches!(
            resp_err(&bytes[..15]),
            DecodeError::Truncated { .. }
        ));
    }

    #[test]
    fn resp_bad_layout() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, 0, 0);
        assert!(matches!(
            resp_err(&bytes),
            DecodeError::BadLayoutVersion { found: 0, .. }
        ));
    }

    #[test]
    fn resp_non_zero_flags() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, 2, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved { field: "flags" }
        );
    }

    #[test]
    fn resp_truncated_directory() {
        let bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
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
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
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
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(1, &["/a", "/b"]).unwrap();
        b.add_unknown(b"/a", LookupStatus::UnknownRetryLater)
            .unwrap();
        b.add_unknown(b"/b", LookupStatus::UnknownRetryLater)
            .unwrap();
        let mut bytes = b.finish().unwrap().to_vec();
        // item 1 now starts inside item 0
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
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u32(&mut bytes, 16, 4);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::BadAlignment {
                what: "lookup item range"
            }
        );
    }

    #[test]
    fn resp_short_item() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u32(&mut bytes, 20, 27);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::Truncated {
                what: "cgroups lookup item",
                need: 28,
                have: 27
            }
        );
    }

    #[test]
    fn resp_item_bad_layout() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, ITEM0, 2);
        assert!(matches!(
            resp_err(&bytes),
            DecodeError::BadLayoutVersion { found: 2, .. }
        ));
    }

    #[test]
    fn resp_unknown_status() {
        let mut bytes = one_item(LookupStatus::UnknownRetryLater, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, 5);
        assert!(matches!(
            resp_err(&bytes),
            DecodeError::UnknownStatus { found: 5, .. }
        ));
    }

    #[test]
    fn resp_item_reserved() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, ITEM0 + ITEM_RESERVED0_OFF, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "item reserved0"
            }
        );
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, ITEM0 + ITEM_RESERVED1_OFF, 1);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::NonZeroReserved {
                field: "item reserved1"
            }
        );
    }

    #[test]
    fn resp_empty_path() {
        let mut bytes = one_item(LookupStatus::UnknownPermanent, 0, b"/", b"", &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
        assert!(matches!(resp_err(&bytes), DecodeError::BadLength { .. }));
    }

    #[test]
    fn resp_non_known_field_rules() {
        let rule_of = |bytes: &[u8]| match resp_err(bytes) {
            DecodeError::InvalidField { rule } => rule,
            e => panic!("unexpected {e:?}"),
        };
        // orchestrator
        let mut bytes = one_item(LookupStatus::UnknownRetryLater, 0, b"/a", b"", &[]);
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 1);
        assert!(rule_of(&bytes).starts_with("orchestrator"));
        // name: take a KNOWN item with a name and relabel it
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"n", &[]);
        put_u16(
            &mut bytes,
            ITEM0 + ITEM_STATUS_OFF,
            LookupStatus::PayloadExceeded.as_u16(),
        );
        assert!(rule_of(&bytes).starts_with("name"));
        // labels
        let mut bytes = known_labels();
        put_u16(
            &mut bytes,
            ITEM0 + ITEM_STATUS_OFF,
            LookupStatus::OversizedItem.as_u16(),
        );
        put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
        bytes[ITEM0 + 31] = 0;
        assert!(rule_of(&bytes).starts_with("label_count"));
        // the same bytes with label_count 0 are valid again
        put_u16(&mut bytes, ITEM0 + ITEM_LABEL_COUNT, 0);
        assert!(CgroupsLookupResponseView::decode(&bytes).is_ok());
    }

    #[test]
    fn resp_string_offset_before_header_end() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 27);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
        assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "name" });
    }

    #[test]
    fn resp_string_overflow_and_out_of_bounds() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, u32::MAX);
        put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, u32::MAX);
        assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "path" });
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        // name "" at 31: length 1 needs bytes 31..33, the item ends at 32
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 1);
        assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "name" });
    }

    #[test]
    fn resp_missing_nul() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"n", &[]);
        bytes[ITEM0 + 30] = b'x'; // the path's NUL
        assert_eq!(resp_err(&bytes), DecodeError::MissingNul { what: "path" });
    }

    #[test]
    fn resp_interior_nul() {
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"nm", &[]);
        bytes[ITEM0 + 28 + 1] = 0;
        assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "path" });
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"nm", &[]);
        bytes[ITEM0 + 31] = 0;
        assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "name" });
    }

    #[test]
    fn resp_overlapping_strings() {
        // two empty strings sharing one NUL: name points at the path's NUL
        let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 30);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::Overlap {
                what: "path and name strings"
            }
        );
        // name is a suffix of the path
        let mut bytes = one_item(LookupStatus::Known, 0, b"/ab", b"", &[]);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 29);
        put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 2);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::Overlap {
                what: "path and name strings"
            }
        );
    }

    #[test]
    fn resp_labels_valid_fixture() {
        let bytes = known_labels();
        let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
        let it = v.item(0);
        assert_eq!(it.label_count(), 2);
        assert_eq!(it.label(0).unwrap().key(), b"key");
        // strings end at 33, the table starts at 40
        assert_eq!(it.table, 40);
        assert_eq!(
            bytes.len(),
            ITEM0 + 40 + 2 * LOOKUP_LABEL_ENTRY_SIZE + 4 + 6 + 3 + 1
        );
    }

    #[test]
    fn resp_non_canonical_label_table_offset() {
        // Move the table 8 bytes later (what an encoder aligning it to 16
        // would do): insert 8 zero bytes and shift every string offset.
        let mut bytes = known_labels();
        let table = ITEM0 + 40;
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
        assert!(
            matches!(resp_err(&bytes), DecodeError::InvalidField { rule } if rule.starts_with("non-canonical"))
        );
    }

    #[test]
    fn resp_non_zero_label_padding() {
        let mut bytes = known_labels();
        bytes[ITEM0 + 35] = 1;
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
        put_u32(&mut bytes, ITEM0 + 40 + 4, 0);
        assert!(matches!(resp_err(&bytes), DecodeError::BadLength { .. }));
    }

    #[test]
    fn resp_label_table_overflow() {
        let mut bytes = known_labels();
        put_u16(&mut bytes, ITEM0 + ITEM_LABEL_COUNT, u16::MAX);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "label table"
            }
        );
    }

    #[test]
    fn resp_label_string_out_of_bounds() {
        let mut bytes = known_labels();
        // the last value claims more bytes than the item has
        put_u32(&mut bytes, ITEM0 + 40 + 16 + 12, 5);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds {
                what: "label value"
            }
        );
        let mut bytes = known_labels();
        put_u32(&mut bytes, ITEM0 + 40 + 4, u32::MAX);
        assert_eq!(
            resp_err(&bytes),
            DecodeError::OutOfBounds { what: "label key" }
        );
    }

    #[test]
    fn resp_label_missing_nul() {
        let mut bytes = known_labels();
        // NUL of the first key ("key" at 72..75, NUL at 75)
        bytes[ITEM0 + 72 + 3] = b'x';
        assert_eq!(
            resp_err(&bytes),
            DecodeError::MissingNul { what: "label key" }
        );
    }

    #[test]
    fn resp_label_interior_nul() {
        let mut bytes = known_labels();
        bytes[ITEM0 + 76 + 1] = 0; // inside "value"
        assert_eq!(
            resp_err(&bytes),
            DecodeError::InteriorNul {
                what: "label value"
            }
        );
    }

    #[test]
    fn resp_label_strings_out_of_order() {
        let mut bytes = known_labels();
        // the second key points back at the first key
        put_u32(&mut bytes, ITEM0 + 40 + 16, 72);
        assert!(
            matches!(resp_err(&bytes), DecodeError::InvalidField { rule } if rule.contains("table order"))
        );
    }

    #[test]
    fn resp_accepts_unknown_orchestrator_and_any_generation() {
        let mut bytes = one_item(LookupStatus::Known, 0xBEEF, b"/a", b"", &[]);
        put_u32(&mut bytes, 8, 0);
        put_u32(&mut bytes, 12, 0);
        let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
        assert_eq!(v.generation(), 0);
        assert_eq!(v.item(0).orchestrator(), 0xBEEF);
    }

    // ----- property tests ------------------------------------------------

    fn bytes_no_nul(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, min..=max)
    }

    fn arb_item() -> impl Strategy<Value = CgroupsLookupItem> {
        (
            0u16..5,
            any::<u16>(),
            bytes_no_nul(1, 40),
            bytes_no_nul(0, 20),
            proptest::collection::vec((bytes_no_nul(1, 12), bytes_no_nul(0, 12)), 0..5),
        )
            .prop_map(|(s, orch, path, name, labels)| {
                let status = LookupStatus::from_u16(s).unwrap();
                if status == LookupStatus::Known {
                    CgroupsLookupItem::known(
                        path,
                        orch,
                        name,
                        labels.into_iter().map(|(k, v)| Label::new(k, v)).collect(),
                    )
                } else {
                    CgroupsLookupItem::unknown(path, status)
                }
            })
    }

    /// Decodes and touches every field; must never panic.
    fn touch(bytes: &[u8]) {
        if let Ok(v) = CgroupsLookupResponseView::decode(bytes) {
            for it in v.items() {
                let _ = (
                    it.status(),
                    it.orchestrator(),
                    it.path().len(),
                    it.name().len(),
                );
                for l in it.labels() {
                    let _ = (l.key().len(), l.value().len());
                }
                let _ = it.to_owned();
            }
        }
        if let Ok(v) = CgroupsLookupRequestView::decode(bytes) {
            let _ = v.to_owned();
        }
    }

    proptest! {
        #[test]
        fn prop_request_round_trip(paths in proptest::collection::vec(bytes_no_nul(1, 60), 0..40)) {
            let mut out = Vec::new();
            encode_cgroups_lookup_request(&paths, &mut out).unwrap();
            let v = CgroupsLookupRequestView::decode(&out).unwrap();
            prop_assert_eq!(v.to_owned().paths, paths);
        }

        #[test]
        fn prop_response_round_trip(generation in any::<u64>(), items in proptest::collection::vec(arb_item(), 0..20)) {
            let resp = CgroupsLookupResponse { generation, items };
            let mut out = Vec::new();
            resp.encode(&mut out).unwrap();
            let v = CgroupsLookupResponseView::decode(&out).unwrap();
            prop_assert_eq!(v.to_owned(), resp);
        }

        #[test]
        fn prop_builder_budget(items in proptest::collection::vec(arb_item(), 1..20), budget in 0usize..3000, extra in 0usize..2000) {
            let paths: Vec<&[u8]> = items.iter().map(|i| &i.path[..]).collect();
            let mut b = CgroupsLookupBuilder::with_budget(budget, budget + extra);
            b.reset_for_paths(3, &paths).unwrap();
            let mut statuses = Vec::new();
            for it in &items {
                statuses.push(b.add_item(it).unwrap());
            }
            match b.finish() {
                Ok(bytes) => {
                    prop_assert!(bytes.len() <= budget);
                    let v = CgroupsLookupResponseView::decode(bytes).unwrap();
                    prop_assert_eq!(v.len(), items.len());
                    let mut exceeded = false;
                    for ((got, want), st) in v.items().zip(&items).zip(&statuses) {
                        prop_assert_eq!(got.path(), &want.path[..]);
                        prop_assert_eq!(got.status(), *st);
                        if exceeded {
                            prop_assert_eq!(got.status(), LookupStatus::PayloadExceeded);
                        }
                        exceeded |= got.status() == LookupStatus::PayloadExceeded;
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
        fn prop_mutated_bytes_never_panic(items in proptest::collection::vec(arb_item(), 1..6), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
            let mut out = Vec::new();
            CgroupsLookupResponse { generation: 1, items }.encode(&mut out).unwrap();
            for (at, v) in flips {
                let n = out.len();
                out[at % n] = v;
            }
            touch(&out);
            touch(&out[..cut % (out.len() + 1)]);
            let mut req = Vec::new();
            encode_cgroups_lookup_request(&[b"/a".as_slice(), b"/bcd"], &mut req).unwrap();
            let n = req.len();
            req[cut % n] ^= 0x5A;
            touch(&req);
        }
    }
}
