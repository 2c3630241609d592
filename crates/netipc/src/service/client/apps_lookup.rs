//! The `apps-lookup` client: PID keys in, one stitched logical result out.

use std::path::Path;

use crate::codec::apps_lookup::{
    APPS_LOOKUP_KEY_SIZE, APPS_LOOKUP_MIN_ITEM_SIZE, APPS_LOOKUP_REQ_HDR_SIZE, AppsLookupItemView,
    AppsLookupResponseView, apps_lookup_request_max_items, encode_apps_lookup_request,
};
use crate::codec::lookup::{LOOKUP_DIR_ENTRY_SIZE, LOOKUP_RESP_HDR_SIZE, PidStatus};
use crate::error::Result;
use crate::protocol::{ITEM_ALIGN, METHOD_APPS_LOOKUP};

use super::config::{ClientConfig, Schema};
use super::core::{CallCtx, Core};
use super::stitch::{MIN_SHAPE_SHARE, Scan, ScannedItem, Stitch, scan_items, store_view};

/// The smallest request: one PID.
const MIN_REQUEST: usize = APPS_LOOKUP_REQ_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_SIZE;

const SCHEMA: Schema = Schema::dynamic(METHOD_APPS_LOOKUP, MIN_REQUEST);

/// Bytes a non-enriched response item takes (directory entry plus the
/// aligned minimal item).
const MIN_RESPONSE_ITEM: usize =
    LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_MIN_ITEM_SIZE.next_multiple_of(ITEM_ALIGN);

impl<'p> ScannedItem<'p, u32> for AppsLookupItemView<'p> {
    fn echoes(&self, pid: &u32) -> bool {
        self.pid() == *pid
    }

    fn payload_exceeded(&self) -> bool {
        self.status() == PidStatus::PayloadExceeded
    }

    fn bytes(&self) -> &'p [u8] {
        self.as_bytes()
    }
}

/// Decodes one subresponse for `pids`, checks its count and every echoed
/// PID, and records the items before the `PAYLOAD_EXCEEDED` suffix.
fn scan(payload: &[u8], pids: &[u32], ranges: &mut Vec<(u32, u32)>) -> Result<Scan> {
    let v = AppsLookupResponseView::decode(payload)?;
    scan_items(payload, v.generation(), v.items(), pids, ranges)
}

/// Client of an `apps-lookup` service (`APPS_LOOKUP`, method 5).
///
/// One [`lookup`](Self::lookup) is one logical call that may use several
/// Level 1 requests (see its docs). See the [module docs](super) for the
/// lifecycle, retry and error rules.
#[derive(Debug)]
pub struct AppsLookupClient {
    core: Core,
    tx: Vec<u8>,
    stitch: Stitch,
}

store_view! {
    /// The stitched result of one [`AppsLookupClient::lookup`]: one item per
    /// requested PID, in request order.
    ///
    /// **Borrowed**: it borrows the client's storage and is valid until the
    /// next call on the same client (`'a` is that borrow). Item access is
    /// O(1) and allocation free; copy (`to_owned`) what is needed longer.
    pub struct AppsLookupResultView { generation: u64 }
    items: AppsLookupItemView = |b| Some(AppsLookupItemView::parse_trusted(b)),
        "apps lookup result index";
    /// Number of items (equal to the number of PIDs requested).
    len;
    /// Whether no PID was requested.
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

impl AppsLookupResultView<'_> {
    /// The provider generation shared by every subresponse.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl AppsLookupClient {
    /// Creates a disconnected client for `{run_dir}/{service}.sock` (no
    /// I/O; the service need not exist yet). Fails on an invalid service
    /// name or configuration.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(AppsLookupClient {
            core: Core::new(run_dir.as_ref(), service, &config, SCHEMA)?,
            tx: Vec::new(),
            stitch: Stitch::default(),
        })
    }

    fn release_buffers(&mut self) {
        self.tx = Vec::new();
        self.stitch = Stitch::default();
    }

    /// Looks up `pids` and returns one item per PID, in order.
    ///
    /// - More PIDs than the configured item ceiling fail with
    ///   [`Error::LimitExceeded`](crate::Error::LimitExceeded) (`Limit::LookupCeiling`) before any I/O.
    /// - PIDs are split into requests that fit the agreed request budget
    ///   (and whose non-enriched answers take at most half the agreed
    ///   response budget).
    /// - Items answered `PAYLOAD_EXCEEDED` are re-asked (only that suffix)
    ///   and stitched in place; `OVERSIZED_ITEM` answers are final. When
    ///   the first item of a response is `PAYLOAD_EXCEEDED`, that key is
    ///   re-asked alone; if it still does not fit, the response budget is
    ///   grown by reconnecting, and the call fails with
    ///   [`Error::LimitExceeded`](crate::Error::LimitExceeded) (`Limit::ResponsePayload`) when growth
    ///   stops.
    /// - Every subresponse must echo its PIDs in order, hold exactly the
    ///   requested item count and carry the same generation
    ///   ([`Violation::EchoMismatch`](crate::Violation::EchoMismatch), [`Violation::ItemCountMismatch`](crate::Violation::ItemCountMismatch),
    ///   [`Violation::GenerationMismatch`](crate::Violation::GenerationMismatch) fail the whole call).
    /// - The subcall and stitched-bytes ceilings fail the call with
    ///   [`Error::LimitExceeded`](crate::Error::LimitExceeded) (`Limit::LookupCeiling`).
    ///
    /// An empty `pids` sends one empty probe request to learn the provider
    /// generation.
    pub fn lookup(&mut self, pids: &[u32]) -> Result<AppsLookupResultView<'_>> {
        let mut ctx = self.core.begin()?;
        let r = self.run(&mut ctx, pids);
        self.core.finish(r)?;
        Ok(AppsLookupResultView {
            store: &self.stitch.store,
            generation: self.stitch.generation(),
        })
    }

    fn run(&mut self, ctx: &mut CallCtx, pids: &[u32]) -> Result<()> {
        self.stitch.begin(&self.core, pids.len())?;
        let mut next = 0;
        // Re-ask one key alone after a first-item PAYLOAD_EXCEEDED.
        let mut alone = false;
        loop {
            let (req, resp) = self.core.limits()?;
            let by_request = apps_lookup_request_max_items(req.max_payload as usize);
            let by_response = (resp.max_payload as usize / MIN_SHAPE_SHARE)
                .saturating_sub(LOOKUP_RESP_HDR_SIZE)
                / MIN_RESPONSE_ITEM;
            let n = (pids.len() - next).min(by_request).min(by_response.max(1));
            let n = match (next < pids.len(), alone) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => n.max(1),
            };
            let keys = &pids[next..next + n];
            self.tx.clear();
            encode_apps_lookup_request(keys, &mut self.tx)?;
            let accepted = self.stitch.subcall(
                &mut self.core,
                ctx,
                &self.tx,
                keys.len(),
                &mut |payload, ranges| scan(payload, keys, ranges),
            )?;
            alone = accepted == 0;
            next += accepted;
            if next >= pids.len() {
                return Ok(());
            }
        }
    }
}

client_common!(AppsLookupClient);
