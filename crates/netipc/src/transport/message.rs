//! The received [`Message`], shared by every transport.

use crate::error::Result;
use crate::protocol::{KIND_REQUEST, STATUS_OK};
use crate::wire::{BatchView, Header};

/// A received message: its header and a payload borrowed from the
/// session's receive buffer (valid until the next receive).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The outer header.
    pub header: Header,
    /// The payload (batch directory included for batches).
    pub payload: &'a [u8],
    batch: Option<BatchView<'a>>,
}

impl<'a> Message<'a> {
    /// Wraps a complete message, validating its batch directory when it
    /// has one. Error replies (`transport_status != OK`) on the response
    /// side are exempt: some peers keep the BATCH flag and the request's
    /// item count on them.
    pub(crate) fn new(header: Header, payload: &'a [u8]) -> Result<Self> {
        let batch = if header.has_batch_directory()
            && (header.kind == KIND_REQUEST || header.transport_status == STATUS_OK)
        {
            Some(BatchView::decode(payload, header.item_count)?)
        } else {
            None
        };
        Ok(Message {
            header,
            payload,
            batch,
        })
    }

    /// Whether the envelope status is OK.
    #[inline]
    pub fn is_ok(&self) -> bool {
        self.header.transport_status == STATUS_OK
    }

    /// The batch view when the message carries a batch directory.
    #[inline]
    pub fn batch(&self) -> Option<BatchView<'a>> {
        self.batch
    }

    /// Number of items: the batch item count, or 1 for a single message.
    #[inline]
    pub fn item_count(&self) -> usize {
        self.batch.map_or(1, |b| b.len())
    }

    /// Item `index`: a batch item, or the whole payload as item 0 of a
    /// single message.
    pub fn item(&self, index: usize) -> Option<&'a [u8]> {
        match self.batch {
            Some(b) => b.item(index),
            None if index == 0 => Some(self.payload),
            None => None,
        }
    }

    /// Iterates over the items (see [`Message::item`]).
    pub fn items(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (batch, single) = match self.batch {
            Some(b) => (Some(b.iter()), None),
            None => (None, Some(self.payload)),
        };
        batch.into_iter().flatten().chain(single)
    }
}
