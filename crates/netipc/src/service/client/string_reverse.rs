//! The STRING_REVERSE test-method client.

use std::path::Path;

use crate::codec::string_reverse::{
    STRING_REVERSE_HDR_SIZE, StringReverseView, encode_string_reverse, string_reverse_payload_len,
};
use crate::error::{Error, Result};
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, METHOD_STRING_REVERSE};
use crate::wire::{BatchBuilder, BatchView};

use super::config::{ClientConfig, Schema};
use super::core::{CallCtx, Core};
use super::stitch::{Store, range_in, store_view};

const SCHEMA: Schema =
    Schema::dynamic(METHOD_STRING_REVERSE, STRING_REVERSE_HDR_SIZE + 1).with_batch();

/// Payload length of one string, or `InvalidArgument` (before any I/O).
fn item_len(text: &[u8]) -> Result<usize> {
    string_reverse_payload_len(text.len())
        .filter(|&n| u32::try_from(n).is_ok())
        .ok_or(Error::InvalidArgument("STRING_REVERSE text too long"))
}

/// Client of a STRING_REVERSE service (bytes in, bytes out).
///
/// See the [module docs](super) for the lifecycle, retry and error rules.
#[derive(Debug)]
pub struct StringReverseClient {
    core: Core,
    tx: Vec<u8>,
    rx: Vec<u8>,
    store: Store,
    ranges: Vec<(u32, u32)>,
}

store_view! {
    /// The answers of one [`StringReverseClient::call_batch`], in request
    /// order.
    ///
    /// **Borrowed**: it borrows the client's storage and is valid until the
    /// next call on the same client (`'a` is that borrow). Copy strings
    /// (`to_owned`) that are needed longer.
    pub struct StringReverseBatchView {}
    items: StringReverseView = |b| StringReverseView::decode(b).ok(),
        "STRING_REVERSE batch index";
    /// Number of answers (equal to the number of strings sent).
    len;
    /// Whether the batch was empty.
    is_empty;
    /// Answer `i`, or `None` if out of range.
    get;
    /// Answer `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    item;
    /// Iterates over the answers in request order.
    iter;
}

impl StringReverseClient {
    /// Creates a disconnected client for `{run_dir}/{service}.sock` (no
    /// I/O; the service need not exist yet). Fails on an invalid service
    /// name or configuration.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(StringReverseClient {
            core: Core::new(run_dir.as_ref(), service, &config, SCHEMA)?,
            tx: Vec::new(),
            rx: Vec::new(),
            store: Store::default(),
            ranges: Vec::new(),
        })
    }

    fn release_buffers(&mut self) {
        self.tx = Vec::new();
        self.rx = Vec::new();
        self.store.release();
        self.ranges = Vec::new();
    }

    /// Sends `text` and returns the server's answer (conventionally the
    /// byte-reversed string), valid until the next call on this client.
    /// A string larger than the agreed request budget grows the budget by
    /// reconnecting (see the module docs).
    pub fn call(&mut self, text: &[u8]) -> Result<StringReverseView<'_>> {
        let mut ctx = self.core.begin()?;
        self.tx.clear();
        let r = encode_string_reverse(text, &mut self.tx)
            .and_then(|()| self.core.exchange(&mut ctx, &self.tx, 1, &mut self.rx));
        if let Err(e) = r {
            self.core.note_failure();
            return Err(e);
        }
        match StringReverseView::decode(&self.rx) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.core.note_failure();
                Err(e.into())
            }
        }
    }

    /// Sends `texts` as Level 1 batch messages and returns the answers in
    /// request order.
    ///
    /// Consecutive strings travel in one batch message as long as it fits
    /// the agreed batch-item limit and the agreed request and response
    /// payload budgets; a larger batch is split into several messages. A
    /// single string larger than the budgets travels alone (and may grow
    /// the budgets). Every answer is validated; an empty slice returns an
    /// empty view without I/O.
    pub fn call_batch<T: AsRef<[u8]>>(
        &mut self,
        texts: &[T],
    ) -> Result<StringReverseBatchView<'_>> {
        let mut ctx = self.core.begin()?;
        let r = self.batch(&mut ctx, texts);
        self.core.finish(r)?;
        Ok(StringReverseBatchView { store: &self.store })
    }

    fn batch<T: AsRef<[u8]>>(&mut self, ctx: &mut CallCtx, texts: &[T]) -> Result<()> {
        self.store.reset();
        for t in texts {
            item_len(t.as_ref())?;
        }
        let mut next = 0;
        while next < texts.len() {
            let (req, resp) = self.core.limits()?;
            let budget = req.max_payload.min(resp.max_payload) as usize;
            let mut n = 0usize;
            let mut packed = 0usize;
            while next + n < texts.len() && n < req.max_items as usize {
                let item = item_len(texts[next + n].as_ref())?.next_multiple_of(ITEM_ALIGN);
                let size = (n + 1)
                    .saturating_mul(DIR_ENTRY_SIZE)
                    .saturating_add(packed)
                    .saturating_add(item);
                if n > 0 && size > budget {
                    break;
                }
                packed = packed.saturating_add(item);
                n += 1;
            }
            let n = n.max(1);
            let chunk = &texts[next..next + n];
            let count = u32::try_from(n).unwrap_or(u32::MAX);
            self.tx.clear();
            if let [one] = chunk {
                encode_string_reverse(one.as_ref(), &mut self.tx)?;
            } else {
                let mut b = BatchBuilder::new(&mut self.tx, count);
                for t in chunk {
                    b.add_with(|buf| encode_string_reverse(t.as_ref(), buf))?;
                }
                b.finish()?;
            }
            self.core
                .exchange(ctx, &self.tx, count, self.store.slot())?;
            let payload = self.store.current();
            self.ranges.clear();
            if n == 1 {
                StringReverseView::decode(payload)?;
                self.ranges
                    .push(range_in(payload, payload).unwrap_or((0, 0)));
            } else {
                let view = BatchView::decode(payload, count)?;
                for i in 0..n {
                    let item = view
                        .item(i)
                        .ok_or(Error::InvalidState("batch item missing"))?;
                    StringReverseView::decode(item)?;
                    let r = range_in(payload, item)
                        .ok_or(Error::InvalidState("batch item outside its payload"))?;
                    self.ranges.push(r);
                }
            }
            self.store.commit(&self.ranges);
            next += n;
        }
        Ok(())
    }
}

client_common!(StringReverseClient);
