//! Message framing over a pipe: transparent chunking on send, chunk
//! reassembly and validation on receive, the Win SHM data plane when
//! negotiated, and the session-breaking rules.
//!
//! The rules are those of the UDS transport: a message longer than the
//! agreed packet size travels as a full first packet (outer header + the
//! first payload bytes) followed by continuation packets (chunk header +
//! payload), each one pipe message. Every received packet is checked
//! against the header it continues; any violation ends the session.
//!
//! On an SHM session every message (batches included) travels whole
//! through the region; the pipe then only tells whether the peer is gone.

use std::cell::{Cell, OnceCell};
use std::ops::Range;
use std::time::Duration;

use crate::error::{DecodeError, Error, Result, Violation};
use crate::protocol::{FLAG_BATCH, HEADER_LEN};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::envelope::{batch_layout, check_incoming, check_outgoing};
use crate::wire::{BatchBuilder, ChunkHeader, ChunkPlan, Header, Limits};

use super::pipe::Pipe;
use super::shm::WinShmRegion;

/// One side of an established session.
#[derive(Debug)]
pub(crate) struct Channel {
    pipe: Pipe,
    packet_size: usize,
    send_kind: u16,
    recv_kind: u16,
    send_limits: Limits,
    recv_limits: Limits,
    /// The message being received (header + payload).
    rx: Vec<u8>,
    /// One continuation packet.
    pkt: Vec<u8>,
    /// One outgoing packet.
    tx: Vec<u8>,
    /// An outgoing batch payload being built.
    batch: Vec<u8>,
    broken: Cell<bool>,
    send_timeout: Option<Duration>,
    /// The header of the last message received (kept when its payload
    /// then failed a check).
    last_header: Option<Header>,
    /// Set by [`super::SessionShutdown`]: receives also wait on it.
    stop: OnceCell<AbortHandle>,
    shm: Option<WinShmRegion>,
}

impl Channel {
    pub(crate) fn new(
        pipe: Pipe,
        packet_size: u32,
        send_kind: u16,
        recv_kind: u16,
        send_limits: Limits,
        recv_limits: Limits,
        shm: Option<WinShmRegion>,
    ) -> Self {
        Channel {
            pipe,
            packet_size: packet_size as usize,
            send_kind,
            recv_kind,
            send_limits,
            recv_limits,
            rx: Vec::new(),
            pkt: Vec::new(),
            tx: Vec::new(),
            batch: Vec::new(),
            broken: Cell::new(false),
            send_timeout: None,
            last_header: None,
            stop: OnceCell::new(),
            shm,
        }
    }

    /// Whether the SHM data plane is active.
    pub(crate) fn is_shm(&self) -> bool {
        self.shm.is_some()
    }

    /// The SHM region, when the data plane runs over it.
    #[cfg(test)]
    pub(crate) fn shm(&self) -> Option<&WinShmRegion> {
        self.shm.as_ref()
    }

    pub(crate) fn pipe(&self) -> &Pipe {
        &self.pipe
    }

    pub(crate) fn set_broken(&self) {
        self.broken.set(true);
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.broken.get()
    }

    pub(crate) fn set_send_timeout(&mut self, t: Option<Duration>) {
        self.send_timeout = t;
    }

    /// The stop event receives wait on, created on first use.
    pub(crate) fn stop_handle(&self) -> Result<AbortHandle> {
        if let Some(h) = self.stop.get() {
            return Ok(h.clone());
        }
        let h = AbortHandle::new()?;
        Ok(self.stop.get_or_init(|| h).clone())
    }

    /// The header of the last message received, including one whose
    /// payload then failed a check.
    pub(crate) fn last_header(&self) -> Option<Header> {
        self.last_header
    }

    /// Sends one header-only message even though the session failed: the
    /// final error reply to the request that ended it.
    pub(crate) fn send_final(&mut self, header: &Header) -> Result<()> {
        if header.payload_len != 0 || header.kind != self.send_kind {
            return Err(Error::InvalidArgument(
                "final reply must be an empty response",
            ));
        }
        if let Some(region) = self.shm.as_mut() {
            return region.send(&header.encode());
        }
        let deadline = Deadline::from_timeout(self.send_timeout);
        self.pipe.write(&header.encode(), deadline)
    }

    pub(crate) fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.rx[range]
    }

    fn ensure_usable(&self) -> Result<()> {
        if self.broken.get() {
            Err(Error::InvalidState(
                "session ended by an earlier failure; reconnect",
            ))
        } else {
            Ok(())
        }
    }

    /// Sends one message (header + payload), chunked when it does not fit
    /// in one packet. A timeout before the first packet leaves the session
    /// usable; any later failure ends it.
    pub(crate) fn send(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        self.ensure_usable()?;
        check_outgoing(header, payload.len(), self.send_kind, self.send_limits)?;
        if self.shm.is_some() {
            let mut tx = std::mem::take(&mut self.tx);
            tx.clear();
            tx.extend_from_slice(&header.encode());
            tx.extend_from_slice(payload);
            let r = self.send_shm(&tx);
            self.tx = tx;
            return r;
        }
        let deadline = Deadline::from_timeout(self.send_timeout);
        let len = payload.len();
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState("packet size too small"));
        };
        let total = (HEADER_LEN + len) as u32;
        let mut tx = std::mem::take(&mut self.tx);
        let mut sent_any = false;
        let mut result = Ok(());
        for index in 0..plan.chunk_count {
            let r = plan.range(len, index);
            tx.clear();
            if index == 0 {
                tx.extend_from_slice(&header.encode());
            } else {
                let ch = ChunkHeader {
                    message_id: header.message_id,
                    total_message_len: total,
                    chunk_index: index,
                    chunk_count: plan.chunk_count,
                    chunk_payload_len: r.len() as u32,
                };
                tx.extend_from_slice(&ch.encode());
            }
            tx.extend_from_slice(&payload[r]);
            result = self.pipe.write(&tx, deadline);
            if result.is_err() {
                break;
            }
            sent_any = true;
        }
        self.tx = tx;
        if let Err(e) = &result {
            if sent_any || !matches!(e, Error::Timeout) {
                self.broken.set(true);
            }
        }
        result
    }

    /// Builds a batch payload from `items` and sends it.
    ///
    /// `base` supplies kind, code, status and message id; flags, item
    /// count and payload length are filled in. One item travels as a plain
    /// single message (peers treat BATCH with one item as single anyway).
    pub(crate) fn send_batch(&mut self, mut base: Header, items: &[&[u8]]) -> Result<()> {
        self.ensure_usable()?;
        let too_long = |_| Error::InvalidArgument("batch longer than 4 GiB");
        match items {
            [] => return Err(Error::InvalidArgument("a batch needs at least one item")),
            [one] => {
                base.flags &= !FLAG_BATCH;
                base.item_count = 1;
                base.payload_len = u32::try_from(one.len()).map_err(too_long)?;
                return self.send(&base, one);
            }
            _ => {}
        }
        let (count, size) = batch_layout(items)?;
        base.flags |= FLAG_BATCH;
        base.item_count = count;
        base.payload_len = u32::try_from(size).map_err(too_long)?;
        check_outgoing(&base, size, self.send_kind, self.send_limits)?;

        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let shm = self.shm.is_some();
        if shm {
            // The whole message is built in place: header, then payload.
            batch.resize(HEADER_LEN, 0);
        }
        let built = (|| {
            let mut b = BatchBuilder::new(&mut batch, count);
            for it in items {
                b.add(it)?;
            }
            b.finish()
        })();
        let r = match built {
            Ok(n) if n == size && shm => {
                base.encode_into(&mut batch[..HEADER_LEN]);
                self.send_shm(&batch)
            }
            Ok(n) if n == size => self.send(&base, &batch),
            Ok(_) => Err(Error::InvalidState("batch size mismatch")),
            Err(e) => Err(e),
        };
        self.batch = batch;
        r
    }

    /// Publishes one whole message in the SHM region.
    fn send_shm(&mut self, message: &[u8]) -> Result<()> {
        let Some(region) = self.shm.as_mut() else {
            return Err(Error::InvalidState("no SHM region"));
        };
        match region.send(message) {
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

    /// Receives one message; returns its header and the payload range in
    /// the receive buffer (see [`Channel::payload`]).
    ///
    /// The deadline covers the first packet and every continuation. A
    /// timeout or abort before any byte of the message was consumed leaves
    /// the session usable; every other failure ends it.
    pub(crate) fn recv(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<(Header, Range<usize>)> {
        self.ensure_usable()?;
        let mut consumed = false;
        let r = if self.shm.is_some() {
            self.recv_shm(deadline, abort, &mut consumed)
        } else {
            self.recv_inner(deadline, abort, &mut consumed)
        };
        if let Err(e) = &r {
            // On SHM, InvalidState is caller misuse reported by the region
            // before it touched anything.
            let misuse = self.shm.is_some() && matches!(e, Error::InvalidState(_));
            if consumed || !(matches!(e, Error::Timeout | Error::Aborted) || misuse) {
                self.broken.set(true);
            }
        }
        r
    }

    fn recv_shm(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        consumed: &mut bool,
    ) -> Result<(Header, Range<usize>)> {
        let Channel {
            shm,
            pipe,
            rx,
            stop,
            ..
        } = self;
        let Some(region) = shm.as_mut() else {
            return Err(Error::InvalidState("no SHM region"));
        };
        // A stopped session ends its wait like a gone peer (a message
        // already published is still read first).
        let stop = stop.get();
        let peer_gone = || pipe.peer_closed() || stop.is_some_and(AbortHandle::is_triggered);
        region.recv(rx, deadline, abort, &peer_gone)?;
        *consumed = true;
        let header = Header::decode(rx)?;
        self.last_header = Some(header);
        check_incoming(&header, self.recv_kind, self.recv_limits)?;
        let end = HEADER_LEN + header.payload_len as usize;
        if self.rx.len() != end {
            return Err(Violation::PacketLength.into());
        }
        Ok((header, HEADER_LEN..end))
    }

    fn recv_inner(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
        consumed: &mut bool,
    ) -> Result<(Header, Range<usize>)> {
        // The first packet can never legitimately exceed the packet size,
        // nor the header plus the largest payload we accept.
        let first_cap = self
            .packet_size
            .min(HEADER_LEN.saturating_add(self.recv_limits.max_payload as usize));
        if self.rx.len() < first_cap {
            self.rx.resize(first_cap, 0);
        }
        let stop = self.stop.get();
        let got = self
            .pipe
            .read_or_stop(&mut self.rx[..first_cap], deadline, abort, stop)?;
        *consumed = true;
        // The header is judged first, also in a packet longer than the
        // buffer: a request over the budget is LIMIT_EXCEEDED (and can be
        // answered), not just a bad packet.
        let header = Header::decode(&self.rx[..got.n])?;
        self.last_header = Some(header);
        check_incoming(&header, self.recv_kind, self.recv_limits)?;
        if got.more {
            return Err(Violation::PacketLength.into());
        }
        let len = header.payload_len as usize;
        let total = HEADER_LEN + len;
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState("packet size too small"));
        };
        if !plan.is_chunked() {
            if got.n != total {
                return Err(Violation::PacketLength.into());
            }
            return Ok((header, HEADER_LEN..total));
        }
        // A chunked message fills its first packet completely.
        if got.n != self.packet_size {
            return Err(Violation::PacketLength.into());
        }
        let total_u32 = u32::try_from(total).map_err(|_| Violation::PacketLength)?;
        // Limits were checked above: this allocation is bounded by the
        // negotiated payload ceiling.
        if self.rx.len() < total {
            self.rx.resize(total, 0);
        }
        if self.pkt.len() < self.packet_size {
            self.pkt.resize(self.packet_size, 0);
        }
        for index in 1..plan.chunk_count {
            let r = plan.range(len, index);
            let got =
                self.pipe
                    .read_or_stop(&mut self.pkt[..self.packet_size], deadline, abort, stop)?;
            if got.more {
                return Err(Violation::PacketLength.into());
            }
            if got.n < HEADER_LEN {
                return Err(DecodeError::Truncated {
                    what: "chunk header",
                    need: HEADER_LEN,
                    have: got.n,
                }
                .into());
            }
            let c = ChunkHeader::decode(&self.pkt[..HEADER_LEN])?;
            if c.message_id != header.message_id {
                return Err(Violation::ChunkMessageId.into());
            }
            if c.chunk_index != index {
                return Err(Violation::ChunkIndex.into());
            }
            if c.chunk_count != plan.chunk_count {
                return Err(Violation::ChunkCount.into());
            }
            if c.total_message_len != total_u32 {
                return Err(Violation::ChunkTotalLen.into());
            }
            if c.chunk_payload_len as usize != r.len() {
                return Err(Violation::ChunkPayloadLen.into());
            }
            if got.n != HEADER_LEN + r.len() {
                return Err(Violation::PacketLength.into());
            }
            self.rx[HEADER_LEN + r.start..HEADER_LEN + r.end]
                .copy_from_slice(&self.pkt[HEADER_LEN..got.n]);
        }
        Ok((header, HEADER_LEN..total))
    }
}
