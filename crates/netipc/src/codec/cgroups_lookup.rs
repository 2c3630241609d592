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

use crate::bytes::{Writer, check_no_interior_nul};
use crate::error::{DecodeError, Error};
use crate::protocol::LAYOUT_VERSION;

use super::lookup::directory::{
    Directory, check_layout, packed_len, pad_from, patch_entry, rd_u16, rd_u32, u16_sat, u32_sat,
    us, write_request_header,
};
use super::lookup::labels::{
    Span, check_disjoint, check_labels, check_string, item_len_with_labels, measure_labels,
    write_labels,
};
use super::lookup::response::{Placement, ResponseCore};
use super::lookup::{
    LOOKUP_DIR_ENTRY_SIZE, LOOKUP_REQ_HDR_SIZE, LOOKUP_RESP_HDR_SIZE, Label, LabelSource,
    LabelView, LabelsIter, LookupStatus, MAX_BUDGET, Orchestrator, index_iter,
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
    if path.contains(&0) {
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
            match dir.slice(i).split_last() {
                Some((0, path)) => check_no_interior_nul(path, KEY_WHAT)?,
                _ => return Err(DecodeError::MissingNul { what: KEY_WHAT }),
            }
        }
        Ok(CgroupsLookupRequestView { dir })
    }

    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.dir.count()
    }

    /// Whether the request has no keys (a no-op probe).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.dir.count() == 0
    }

    /// Path of key `i`, without its NUL.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    #[inline]
    pub fn key(&self, i: usize) -> &'a [u8] {
        assert!(i < self.len(), "cgroups lookup key index out of range");
        self.key_at(i)
    }

    /// Path of key `i`, or `None` if `i` is out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        (i < self.len()).then(|| self.key_at(i))
    }

    /// Iterates over the paths in request order.
    #[inline]
    pub fn iter(&self) -> CgroupsLookupKeys<'a> {
        CgroupsLookupKeys::new(*self)
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

index_iter!(
    /// Iterator over the paths of a [`CgroupsLookupRequestView`]
    /// (borrowed from the payload, see the view's lifetime contract).
    CgroupsLookupKeys,
    CgroupsLookupRequestView,
    &'a [u8],
    key_at
);

impl<'a> IntoIterator for CgroupsLookupRequestView<'a> {
    type Item = &'a [u8];
    type IntoIter = CgroupsLookupKeys<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
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
///   `PAYLOAD_EXCEEDED` once the builder is in exceeded mode).
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

impl Default for CgroupsLookupBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CgroupsLookupBuilder {
    /// A builder with an unlimited budget, ready for an empty response.
    pub fn new() -> Self {
        Self::from_vec(Vec::new())
    }

    /// A builder with the given budgets (see [`set_budget`](Self::set_budget)).
    pub fn with_budget(budget: usize, max_budget: usize) -> Self {
        let mut b = Self::new();
        b.set_budget(budget, max_budget);
        b
    }

    /// A builder that reuses `buf` as its payload buffer (contents dropped).
    pub fn from_vec(buf: Vec<u8>) -> Self {
        CgroupsLookupBuilder {
            core: ResponseCore::new(buf),
            key_lens: Vec::new(),
        }
    }

    /// Returns the payload buffer.
    pub fn into_vec(self) -> Vec<u8> {
        self.core.into_vec()
    }

    /// Sets the current response budget and the configured maximum budget
    /// in bytes (clamped to `u32::MAX`; `max_budget` is raised to `budget`
    /// if lower). Takes effect at the next reset.
    pub fn set_budget(&mut self, budget: usize, max_budget: usize) {
        self.core.set_budget(budget, max_budget);
    }

    /// The current response budget.
    pub fn budget(&self) -> usize {
        self.core.budget()
    }

    /// The maximum budget used for the `OVERSIZED_ITEM` decision.
    pub fn max_budget(&self) -> usize {
        self.core.max_budget()
    }

    /// Starts a response to `request` with the given generation.
    pub fn reset(&mut self, generation: u64, request: &CgroupsLookupRequestView<'_>) {
        self.key_lens.clear();
        self.key_lens
            .extend(request.iter().map(|k| u32_sat(k.len())));
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

    /// Number of items the response must hold.
    pub fn item_count(&self) -> usize {
        self.core.count()
    }

    /// Number of items added so far.
    pub fn added(&self) -> usize {
        self.core.next_index()
    }

    /// Whether the budget was reached: every further item is encoded as
    /// `PAYLOAD_EXCEEDED`.
    pub fn is_exceeded(&self) -> bool {
        self.core.is_exceeded()
    }

    /// Whether even the all-`PAYLOAD_EXCEEDED` response exceeds the budget
    /// (then [`finish`](Self::finish) fails with `LimitExceeded`).
    pub fn is_over_budget(&self) -> bool {
        self.core.is_over_budget()
    }

    /// Current payload length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.core.len()
    }

    /// Adds the next item with a raw `path` (validated: non-empty, no NUL,
    /// and as long as the request key it echoes).
    ///
    /// `name` and `labels` must be empty and `orchestrator` 0 unless
    /// `status` is `KNOWN`. Returns the status actually encoded.
    pub fn add<I>(
        &mut self,
        path: &[u8],
        status: LookupStatus,
        orchestrator: u16,
        name: &[u8],
        labels: I,
    ) -> Result<LookupStatus, Error>
    where
        I: IntoIterator,
        I::IntoIter: Clone,
        I::Item: LabelSource,
    {
        validate_path(path)?;
        self.add_inner(path, status, orchestrator, name, labels.into_iter())
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
        I: IntoIterator,
        I::IntoIter: Clone,
        I::Item: LabelSource,
    {
        let path = self.request_path(request, index)?;
        self.add_inner(path, status, orchestrator, name, labels.into_iter())
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

    /// The finished payload.
    ///
    /// Fails with `InvalidState` if fewer items than the request holds were
    /// added, and with `LimitExceeded` if even the all-minimal response
    /// exceeds the budget.
    pub fn finish(&self) -> Result<&[u8], Error> {
        self.core.finish()
    }

    fn request_path<'r>(
        &self,
        request: &CgroupsLookupRequestView<'r>,
        index: usize,
    ) -> Result<&'r [u8], Error> {
        if index != self.core.next_index() {
            return Err(Error::InvalidArgument(
                "request items must be added in request order",
            ));
        }
        request
            .get(index)
            .ok_or(Error::InvalidArgument("request item index out of range"))
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
        I: Iterator + Clone,
        I::Item: LabelSource,
    {
        let i = self.core.check_room()?;
        if self.key_lens.get(i).map(|&l| us(l)) != Some(path.len()) {
            return Err(Error::InvalidArgument(
                "path length differs from the request key it echoes",
            ));
        }
        if name.contains(&0) {
            return Err(Error::InvalidArgument("cgroup name contains a NUL byte"));
        }
        let (label_count, label_bytes) = measure_labels(labels.clone())?;
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
        let placement = self.core.place(min, full);
        let (buf, start) = self.core.begin_item();
        let encoded = match placement {
            Placement::Full => {
                write_item(buf, status, orchestrator, path, name, label_count);
                write_labels(buf, start, labels, label_count);
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
    let mut w = Writer::new(out);
    w.u16(LAYOUT_VERSION);
    w.u16(status.as_u16());
    w.u16(orchestrator);
    w.u16(0);
    w.u32(u32_sat(CGROUPS_LOOKUP_ITEM_HDR_SIZE));
    w.u32(u32_sat(path.len()));
    w.u32(u32_sat(name_off));
    w.u32(u32_sat(name.len()));
    w.u16(u16_sat(labels));
    w.u16(0);
    w.bytes(path);
    w.zeros(1);
    w.bytes(name);
    w.zeros(1);
}

// ---------------------------------------------------------------------------
// Responses: views
// ---------------------------------------------------------------------------

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
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupResponseView<'a> {
    dir: Directory<'a>,
    generation: u64,
}

impl<'a> CgroupsLookupResponseView<'a> {
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
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let (dir, generation) = Directory::parse_response(payload, RESP_WHAT)?;
        dir.validate_items(CGROUPS_LOOKUP_ITEM_HDR_SIZE, ITEM_WHAT, |item| {
            CgroupsLookupItemView::parse_checked(item).map(|_| ())
        })?;
        Ok(CgroupsLookupResponseView { dir, generation })
    }

    /// The advisory provider generation (any value, including 0).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.dir.count()
    }

    /// Whether the response has no items.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.dir.count() == 0
    }

    /// Item `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    #[inline]
    pub fn item(&self, i: usize) -> CgroupsLookupItemView<'a> {
        assert!(i < self.len(), "cgroups lookup item index out of range");
        self.item_at(i)
    }

    /// Item `i`, or `None` if `i` is out of range.
    #[inline]
    pub fn get(&self, i: usize) -> Option<CgroupsLookupItemView<'a>> {
        (i < self.len()).then(|| self.item_at(i))
    }

    /// Iterates over the items in order.
    #[inline]
    pub fn items(&self) -> CgroupsLookupItems<'a> {
        CgroupsLookupItems::new(*self)
    }

    /// Copies the response into an owned [`CgroupsLookupResponse`].
    pub fn to_owned(&self) -> CgroupsLookupResponse {
        CgroupsLookupResponse {
            generation: self.generation,
            items: self.items().map(|i| i.to_owned()).collect(),
        }
    }

    #[inline]
    fn item_at(&self, i: usize) -> CgroupsLookupItemView<'a> {
        CgroupsLookupItemView::parse_trusted(self.dir.slice(i))
    }
}

index_iter!(
    /// Iterator over the items of a [`CgroupsLookupResponseView`]
    /// (borrowed from the payload, see the view's lifetime contract).
    CgroupsLookupItems,
    CgroupsLookupResponseView,
    CgroupsLookupItemView<'a>,
    item_at
);

impl<'a> IntoIterator for CgroupsLookupResponseView<'a> {
    type Item = CgroupsLookupItemView<'a>;
    type IntoIter = CgroupsLookupItems<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.items()
    }
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
    fn parse_checked(item: &'a [u8]) -> Result<Self, DecodeError> {
        check_layout(rd_u16(item, 0), ITEM_WHAT)?;
        let raw_status = rd_u16(item, ITEM_STATUS_OFF);
        let status = LookupStatus::from_u16(raw_status).ok_or(DecodeError::UnknownStatus {
            what: LookupStatus::WHAT,
            found: u32::from(raw_status),
        })?;
        let orchestrator = rd_u16(item, ITEM_ORCH_OFF);
        if rd_u16(item, ITEM_RESERVED0_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved0",
            });
        }
        if rd_u16(item, ITEM_RESERVED1_OFF) != 0 {
            return Err(DecodeError::NonZeroReserved {
                field: "item reserved1",
            });
        }
        let path_len = rd_u32(item, ITEM_PATH_LEN);
        let name_len = rd_u32(item, ITEM_NAME_LEN);
        let label_count = usize::from(rd_u16(item, ITEM_LABEL_COUNT));
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
        let path = check_string(item, hdr, rd_u32(item, ITEM_PATH_OFF), path_len, "path")?;
        let name = check_string(item, hdr, rd_u32(item, ITEM_NAME_OFF), name_len, "name")?;
        check_disjoint(&[path, name], "path and name strings")?;
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
    fn parse_trusted(item: &'a [u8]) -> Self {
        let span = |off_at, len_at| {
            let start = us(rd_u32(item, off_at));
            Span {
                start,
                end: start
                    .saturating_add(us(rd_u32(item, len_at)))
                    .saturating_add(1),
            }
        };
        let path = span(ITEM_PATH_OFF, ITEM_PATH_LEN);
        let name = span(ITEM_NAME_OFF, ITEM_NAME_LEN);
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

    /// Number of labels.
    #[inline]
    pub fn label_count(&self) -> usize {
        self.label_count
    }

    /// Label `i`, or `None` if out of range.
    #[inline]
    pub fn label(&self, i: usize) -> Option<LabelView<'a>> {
        (i < self.label_count).then(|| LabelsIter::at(self.item, self.table, i))
    }

    /// Iterates over the labels in table order.
    #[inline]
    pub fn labels(&self) -> LabelsIter<'a> {
        LabelsIter::new(self.item, self.table, self.label_count)
    }

    /// The raw item bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.item
    }

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
