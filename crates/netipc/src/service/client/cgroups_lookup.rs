//! The `cgroups-lookup` client: path keys in, one stitched logical result
//! out.

use std::path::Path;

use crate::codec::cgroups_lookup::{
    CGROUPS_LOOKUP_ITEM_HDR_SIZE, CGROUPS_LOOKUP_MIN_KEY_LEN, CGROUPS_LOOKUP_REQ_HDR_SIZE,
    CgroupsLookupBuilder, CgroupsLookupItemView, CgroupsLookupRequestBuilder,
    CgroupsLookupResponseView, cgroups_lookup_single_request_len,
};
use crate::codec::lookup::{LOOKUP_DIR_ENTRY_SIZE, LOOKUP_RESP_HDR_SIZE, LookupStatus};
use crate::error::{Error, Result};
use crate::protocol::{ITEM_ALIGN, METHOD_CGROUPS_LOOKUP};

use super::config::{ClientConfig, Schema};
use super::core::{CallCtx, Core};
use super::stitch::{MIN_SHAPE_SHARE, Scan, ScannedItem, Stitch, range_in, scan_items, store_view};

/// The smallest request: one one-byte path.
const MIN_REQUEST: usize =
    CGROUPS_LOOKUP_REQ_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE + CGROUPS_LOOKUP_MIN_KEY_LEN;

const SCHEMA: Schema = Schema::dynamic(METHOD_CGROUPS_LOOKUP, MIN_REQUEST);

/// Bytes a non-enriched response item for a path of `len` bytes takes
/// (directory entry plus the aligned minimal item: header, path, empty
/// name, their NULs).
fn min_response_item(len: usize) -> usize {
    LOOKUP_DIR_ENTRY_SIZE.saturating_add(
        CGROUPS_LOOKUP_ITEM_HDR_SIZE
            .saturating_add(len)
            .saturating_add(2)
            .next_multiple_of(ITEM_ALIGN),
    )
}

fn request_len(path: &[u8]) -> usize {
    cgroups_lookup_single_request_len(path.len()).unwrap_or(usize::MAX)
}

/// Validates a caller key: non-empty, no NUL.
fn validate(path: &[u8]) -> Result<()> {
    if path.is_empty() {
        return Err(Error::InvalidArgument("cgroup path must not be empty"));
    }
    if path.contains(&0) {
        return Err(Error::InvalidArgument("cgroup path contains a NUL byte"));
    }
    Ok(())
}

impl<'p, P: AsRef<[u8]>> ScannedItem<'p, P> for CgroupsLookupItemView<'p> {
    fn echoes(&self, path: &P) -> bool {
        self.path() == path.as_ref()
    }

    fn payload_exceeded(&self) -> bool {
        self.status() == LookupStatus::PayloadExceeded
    }

    fn bytes(&self) -> &'p [u8] {
        self.as_bytes()
    }
}

/// Decodes one subresponse for `keys`, checks its count and every echoed
/// path, and records the items before the `PAYLOAD_EXCEEDED` suffix.
fn scan<P: AsRef<[u8]>>(payload: &[u8], keys: &[P], ranges: &mut Vec<(u32, u32)>) -> Result<Scan> {
    let v = CgroupsLookupResponseView::decode(payload)?;
    scan_items(payload, v.generation(), v.items(), keys, ranges)
}

/// Client of a `cgroups-lookup` service (`CGROUPS_LOOKUP`, method 4).
///
/// One [`lookup`](Self::lookup) is one logical call that may use several
/// Level 1 requests (see its docs). See the [module docs](super) for the
/// lifecycle, retry and error rules.
#[derive(Debug)]
pub struct CgroupsLookupClient {
    core: Core,
    tx: Vec<u8>,
    stitch: Stitch,
    request: CgroupsLookupRequestBuilder,
    local: CgroupsLookupBuilder,
}

store_view! {
    /// The stitched result of one [`CgroupsLookupClient::lookup`]: one item
    /// per requested path, in request order.
    ///
    /// **Borrowed**: it borrows the client's storage and is valid until the
    /// next call on the same client (`'a` is that borrow). Item access is
    /// O(1) and allocation free; copy (`to_owned`) what is needed longer.
    pub struct CgroupsLookupResultView { generation: u64 }
    items: CgroupsLookupItemView = |b| Some(CgroupsLookupItemView::parse_trusted(b)),
        "cgroups lookup result index";
    /// Number of items (equal to the number of paths requested).
    len;
    /// Whether no path was requested.
    is_empty;
    /// Item `i`, or `None` if out of range.
    get;
    /// Item `i` (its status may be `OVERSIZED_ITEM`, never
    /// `PAYLOAD_EXCEEDED`).
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    item;
    /// Iterates over the items in request order.
    iter;
}

impl CgroupsLookupResultView<'_> {
    /// The provider generation shared by every subresponse (0 when the
    /// call needed no request, which cannot happen: an all-local result
    /// is completed by an empty probe request).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl CgroupsLookupClient {
    /// Creates a disconnected client for `{run_dir}/{service}.sock` (no
    /// I/O; the service need not exist yet). Fails on an invalid service
    /// name or configuration.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(CgroupsLookupClient {
            core: Core::new(run_dir.as_ref(), service, &config, SCHEMA)?,
            tx: Vec::new(),
            stitch: Stitch::default(),
            request: CgroupsLookupRequestBuilder::new(),
            local: CgroupsLookupBuilder::new(),
        })
    }

    fn release_buffers(&mut self) {
        self.tx = Vec::new();
        self.stitch = Stitch::default();
        self.request = CgroupsLookupRequestBuilder::new();
        self.local = CgroupsLookupBuilder::new();
    }

    /// Looks up `paths` and returns one item per path, in order.
    ///
    /// - Every path is validated first: an empty path or one containing a
    ///   NUL fails the whole call with [`Error::InvalidArgument`] before
    ///   any I/O; more paths than the configured item ceiling fail with
    ///   [`Error::LimitExceeded`] (`Limit::LookupCeiling`).
    /// - Paths are split into requests that fit the agreed request budget
    ///   (and whose non-enriched answers take at most half the agreed
    ///   response budget).
    ///   A path too long for any single request becomes a local
    ///   `OVERSIZED_ITEM` item echoing it; later paths are still looked up.
    /// - Items answered `PAYLOAD_EXCEEDED` are re-asked (only that suffix)
    ///   and stitched in place; `OVERSIZED_ITEM` answers are final. When
    ///   the first item of a response is `PAYLOAD_EXCEEDED`, that key is
    ///   re-asked alone; if it still does not fit, the response budget is
    ///   grown by reconnecting, and the call fails with
    ///   [`Error::LimitExceeded`] (`Limit::ResponsePayload`) when growth
    ///   stops.
    /// - Every subresponse must echo its paths in order, hold exactly the
    ///   requested item count and carry the same generation
    ///   ([`Violation::EchoMismatch`](crate::Violation::EchoMismatch), [`Violation::ItemCountMismatch`](crate::Violation::ItemCountMismatch),
    ///   [`Violation::GenerationMismatch`](crate::Violation::GenerationMismatch) fail the whole call).
    /// - The subcall and stitched-bytes ceilings fail the call with
    ///   [`Error::LimitExceeded`] (`Limit::LookupCeiling`).
    ///
    /// An empty `paths` (or one whose every path is oversized) sends one
    /// empty probe request to learn the provider generation.
    pub fn lookup<P: AsRef<[u8]>>(&mut self, paths: &[P]) -> Result<CgroupsLookupResultView<'_>> {
        let mut ctx = self.core.begin()?;
        let r = self.run(&mut ctx, paths);
        self.core.finish(r)?;
        Ok(CgroupsLookupResultView {
            store: &self.stitch.store,
            generation: self.stitch.generation(),
        })
    }

    fn run<P: AsRef<[u8]>>(&mut self, ctx: &mut CallCtx, paths: &[P]) -> Result<()> {
        for p in paths {
            validate(p.as_ref())?;
        }
        self.stitch.begin(&self.core, paths.len())?;
        let mut next = 0;
        // Re-ask one key alone after a first-item PAYLOAD_EXCEEDED.
        let mut alone = false;
        while next < paths.len() {
            let (req, resp) = self.core.limits()?;
            let req_budget = req.max_payload as usize;
            let resp_budget = resp.max_payload as usize;
            let first = paths[next].as_ref();
            if request_len(first) > req_budget {
                self.oversized(first)?;
                next += 1;
                continue;
            }
            self.request.clear();
            self.request.set_budget(req_budget);
            let resp_share = resp_budget / MIN_SHAPE_SHARE;
            let mut resp_min = LOOKUP_RESP_HDR_SIZE;
            let mut end = next;
            while end < paths.len() {
                let p = paths[end].as_ref();
                if request_len(p) > req_budget {
                    break;
                }
                let m = min_response_item(p.len());
                if end > next && (alone || resp_min.saturating_add(m) > resp_share) {
                    break;
                }
                if !self.request.push(p)? {
                    break;
                }
                resp_min = resp_min.saturating_add(m);
                end += 1;
            }
            if end == next {
                return Err(Error::InvalidState("lookup request holds no key"));
            }
            self.tx.clear();
            self.request.finish(&mut self.tx);
            let keys = &paths[next..end];
            let accepted = self.stitch.subcall(
                &mut self.core,
                ctx,
                &self.tx,
                keys.len(),
                &mut |payload, ranges| scan(payload, keys, ranges),
            )?;
            alone = accepted == 0;
            next += accepted;
        }
        if self.stitch.subcalls() == 0 {
            self.request.clear();
            self.tx.clear();
            self.request.finish(&mut self.tx);
            let none: &[&[u8]] = &[];
            self.stitch
                .subcall(&mut self.core, ctx, &self.tx, 0, &mut |payload, ranges| {
                    scan(payload, none, ranges)
                })?;
        }
        Ok(())
    }

    /// Appends a local `OVERSIZED_ITEM` item echoing `path` (encoded by the
    /// codec's response builder).
    fn oversized(&mut self, path: &[u8]) -> Result<()> {
        self.local.reset_for_paths(0, std::slice::from_ref(&path))?;
        self.local.add_unknown(path, LookupStatus::OversizedItem)?;
        let payload = self.local.finish()?;
        let view = CgroupsLookupResponseView::decode(payload)?;
        let item = view
            .get(0)
            .ok_or(Error::InvalidState("local item missing"))?;
        let range =
            range_in(payload, item.as_bytes()).ok_or(Error::InvalidState("local item range"))?;
        self.stitch.push_local(&self.core, payload, range)
    }
}

client_common!(CgroupsLookupClient);
