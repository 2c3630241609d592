//! The send path: one message as packets (chunked when it does not fit
//! in one) or as one SHM publication, and the receive-ahead a waiting send
//! may do.

use crate::error::{Error, Result, Violation};
use crate::protocol::{FLAG_BATCH, HEADER_LEN};
use crate::transport::abort::Deadline;
use crate::transport::envelope::{batch_layout, check_outgoing, out_u32};
use crate::wire::{BatchBuilder, ChunkHeader, ChunkPlan, Header};

use super::{Channel, Drained, PacketLink, is_wait_error};

impl<L: PacketLink> Channel<L> {
    /// Sends one message (header + payload), chunked when it does not fit
    /// in one packet.
    pub fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.ensure_usable()?;
        check_outgoing(header, payload.len(), self.send_kind, self.send_limits)?;
        if self.shm.is_some() {
            let mut tx = std::mem::take(&mut self.tx);
            tx.clear();
            tx.extend_from_slice(&header.encode());
            tx.extend_from_slice(payload);
            let r = self.send_shm(&tx);
            self.tx = tx;
            r
        } else {
            self.send_packets(header, payload)
        }
    }

    /// Builds a batch payload from `items` and sends it.
    ///
    /// `base` supplies kind, code, status and message id; flags, item
    /// count and payload length are filled in. One item travels as a plain
    /// single message (peers treat BATCH with one item as single anyway).
    pub fn send_batch(&mut self, mut base: Header, items: &[&[u8]]) -> Result<()> {
        self.ensure_usable()?;
        match items {
            [] => return Err(Error::InvalidArgument("a batch needs at least one item")),
            [one] => {
                base.flags &= !FLAG_BATCH;
                base.item_count = 1;
                base.payload_len = out_u32(one.len(), "payload longer than 4 GiB")?;
                return self.send(&base, one);
            }
            _ => {}
        }
        let (count, size) = batch_layout(items)?;
        base.flags |= FLAG_BATCH;
        base.item_count = count;
        base.payload_len = out_u32(size, "batch longer than 4 GiB")?;
        check_outgoing(&base, size, self.send_kind, self.send_limits)?;

        let mut tx = std::mem::take(&mut self.tx);
        tx.clear();
        let shm = self.shm.is_some();
        if shm {
            // The whole message is built in place: header, then payload.
            tx.resize(HEADER_LEN, 0);
        }
        let start = tx.len();
        let built = (|| {
            let mut b = BatchBuilder::new(&mut tx, count);
            for it in items {
                b.add(it)?;
            }
            b.finish()
        })();
        let r = match built {
            Ok(n) if n == size => {
                if shm {
                    base.encode_into(&mut tx[..HEADER_LEN]);
                    self.send_shm(&tx)
                } else {
                    self.send_packets(&base, &tx[start..])
                }
            }
            Ok(_) => Err(Error::InvalidState("batch size mismatch")),
            Err(e) => Err(e),
        };
        self.tx = tx;
        r
    }

    /// Publishes one whole message in the SHM region.
    fn send_shm(&mut self, message: &[u8]) -> Result<()> {
        let Some(region) = self.shm.as_mut() else {
            return Err(Error::InvalidState("no SHM region"));
        };
        match L::shm_send(region, message) {
            Ok(()) => Ok(()),
            // Caller misuse (second request in flight, answer without a
            // request): the region is unchanged.
            Err(e @ (Error::Protocol(Violation::ShmBusy) | Error::InvalidState(_))) => Err(e),
            Err(e) => {
                self.broken.set(true);
                Err(e)
            }
        }
    }

    /// Sends one message as packets: the outer header with the first
    /// payload bytes, then continuations.
    fn send_packets(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        let len = payload.len();
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState(
                "packet size too small or too many chunks",
            ));
        };
        let total = out_u32(HEADER_LEN.saturating_add(len), "message longer than 4 GiB")?;
        let deadline = Deadline::from_timeout(self.send_timeout);
        let hdr = header.encode();
        if let Err(e) = self.send_packet(&hdr, &payload[plan.range(len, 0)], deadline) {
            if !is_wait_error(&e) {
                self.broken.set(true);
            }
            return Err(e);
        }
        for index in 1..plan.chunk_count {
            let r = plan.range(len, index);
            let ch = ChunkHeader {
                message_id: header.message_id,
                total_message_len: total,
                chunk_index: index,
                chunk_count: plan.chunk_count,
                chunk_payload_len: r.len() as u32,
            }
            .encode();
            if let Err(e) = self.send_packet(&ch, &payload[r], deadline) {
                // Part of the message is on the wire: the stream is unusable.
                self.broken.set(true);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends one packet; while the link has no room, receives the
    /// messages [`allow_drain`](Channel::allow_drain) lets it take ahead.
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Deadline) -> Result<()> {
        while self.drained.len() < self.drain_allow {
            if self.link.send_packet_or_readable(head, body, deadline)? {
                return Ok(());
            }
            self.drain_one(deadline)?;
        }
        self.link.send_packet(head, body, deadline)
    }

    /// Receives one whole message ahead, while a send waits for room.
    fn drain_one(&mut self, deadline: Deadline) -> Result<()> {
        let mut consumed = false;
        let (header, payload) = self
            .recv_packets(deadline, None, &mut consumed)
            .inspect_err(|_| {
                // Any failure here ends the session: part of an incoming
                // message may have been read, and the packet being sent
                // may be half written (a Named Pipe write stays pending
                // while messages are taken ahead).
                self.broken.set(true);
            })?;
        let mut buf = std::mem::take(&mut self.rx);
        buf.truncate(payload.end);
        self.drained.push_back(Drained {
            header,
            buf,
            payload,
        });
        Ok(())
    }
}
