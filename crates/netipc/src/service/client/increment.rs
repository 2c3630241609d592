//! The INCREMENT test-method client.

use std::path::Path;

use crate::codec::increment::{
    INCREMENT_PAYLOAD_SIZE, decode_increment, encode_increment, encode_increment_array,
};
use crate::error::{Error, Result};
use crate::protocol::{DIR_ENTRY_SIZE, ITEM_ALIGN, METHOD_INCREMENT};
use crate::wire::{BatchBuilder, BatchView};

use super::config::{ClientConfig, Schema};
use super::core::{CallCtx, Core};

const SCHEMA: Schema = Schema::fixed(METHOD_INCREMENT, INCREMENT_PAYLOAD_SIZE).with_batch();

/// Bytes one INCREMENT item takes in a batch payload (directory entry plus
/// the aligned item).
const BATCH_ITEM_BYTES: usize =
    DIR_ENTRY_SIZE + INCREMENT_PAYLOAD_SIZE.next_multiple_of(ITEM_ALIGN);

/// Client of an INCREMENT service (u64 in, u64 out).
///
/// Warm calls do not allocate. See the [module docs](super) for the
/// lifecycle, retry and error rules.
#[derive(Debug)]
pub struct IncrementClient {
    core: Core,
    tx: Vec<u8>,
    rx: Vec<u8>,
    results: Vec<u64>,
}

impl IncrementClient {
    /// Creates a disconnected client for `{run_dir}/{service}.sock` (no
    /// I/O; the service need not exist yet). Fails on an invalid service
    /// name or configuration.
    pub fn new(run_dir: impl AsRef<Path>, service: &str, config: ClientConfig) -> Result<Self> {
        Ok(IncrementClient {
            core: Core::new(run_dir.as_ref(), service, &config, SCHEMA)?,
            tx: Vec::new(),
            rx: Vec::new(),
            results: Vec::new(),
        })
    }

    fn release_buffers(&mut self) {
        self.tx = Vec::new();
        self.rx = Vec::new();
        self.results = Vec::new();
    }

    /// Sends `value` and returns the server's answer (conventionally
    /// `value + 1`; whatever the server says is returned). The response is
    /// checked to carry this request's code and message id.
    pub fn call(&mut self, value: u64) -> Result<u64> {
        let mut ctx = self.core.begin()?;
        let req = encode_increment_array(value);
        let r = self
            .core
            .exchange(&mut ctx, &req, 1, &mut self.rx)
            .and_then(|()| decode_increment(&self.rx).map_err(Error::from));
        self.core.finish(r)
    }

    /// Sends `values` as Level 1 batch messages and returns the answers in
    /// request order (valid until the next call on this client).
    ///
    /// A batch travels as one message when it fits the agreed batch-item
    /// limit and the agreed request and response payload budgets;
    /// otherwise it is split into several batch messages, sent one after
    /// the other (each item is still answered exactly by position). Each
    /// response's item count is verified. An empty slice returns an empty
    /// result without I/O.
    pub fn call_batch(&mut self, values: &[u64]) -> Result<&[u64]> {
        let mut ctx = self.core.begin()?;
        self.results.clear();
        let r = self.batch(&mut ctx, values);
        self.core.finish(r)?;
        Ok(&self.results)
    }

    fn batch(&mut self, ctx: &mut CallCtx, values: &[u64]) -> Result<()> {
        let mut next = 0;
        while next < values.len() {
            let (req, resp) = self.core.limits()?;
            let budget = req.max_payload.min(resp.max_payload) as usize;
            let n = (values.len() - next)
                .min(req.max_items as usize)
                .min(budget / BATCH_ITEM_BYTES)
                .max(1);
            let chunk = &values[next..next + n];
            let count = u32::try_from(n).unwrap_or(u32::MAX);
            self.tx.clear();
            if let [one] = chunk {
                encode_increment(*one, &mut self.tx);
            } else {
                let area =
                    BatchBuilder::append_uniform(&mut self.tx, count, INCREMENT_PAYLOAD_SIZE)?;
                let slots = self.tx.get_mut(area..).unwrap_or_default();
                for (slot, v) in slots.chunks_exact_mut(INCREMENT_PAYLOAD_SIZE).zip(chunk) {
                    slot.copy_from_slice(&encode_increment_array(*v));
                }
            }
            self.core.exchange(ctx, &self.tx, count, &mut self.rx)?;
            if n == 1 {
                self.results.push(decode_increment(&self.rx)?);
            } else {
                let view = BatchView::decode(&self.rx, count)?;
                self.results.reserve(n);
                for item in view.iter() {
                    self.results.push(decode_increment(item)?);
                }
            }
            next += n;
        }
        Ok(())
    }
}

client_common!(IncrementClient);
