//! The message framing state machine shared by every packet transport
//! (UDS `SOCK_SEQPACKET` sockets, Named Pipes in message mode), generic
//! over the [`PacketLink`] that moves single packets, and the hand-over
//! to the per-session SHM data plane when one was negotiated.
//!
//! A message longer than the agreed packet size travels as a full first
//! packet (outer header + the first payload bytes) followed by
//! continuation packets (chunk header + payload). Receive reads the first
//! packet into a reusable buffer, validates the outer header and the
//! receiver's directional limits *before* growing that buffer, then lets
//! the link place every continuation straight at its offset, validating
//! each chunk header against the message in progress.
//!
//! Session-breaking rules: a timeout or abort before any byte of a
//! message moved leaves the session usable; every other failure, and any
//! failure once part of a message moved, ends it (later calls fail with
//! [`Error::InvalidState`]).
//!
//! The channel is monomorphized per link: the hot path has no dynamic
//! dispatch and, once the buffers reached their working size, allocates
//! nothing.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use crate::bytes::to_u32;
use crate::error::{DecodeError, Error, Result, Violation};
use crate::protocol::{FLAG_BATCH, HEADER_LEN, KIND_REQUEST, KIND_RESPONSE};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::envelope::{batch_layout, check_incoming, check_outgoing, out_u32};
use crate::transport::session_core::{request_limits, response_limits};
use crate::wire::{BatchBuilder, ChunkHeader, ChunkPlan, Header, HelloAck, Limits};

/// What one packet receive stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Bytes stored in the buffers.
    pub stored: usize,
    /// The packet was longer than the buffers (its excess is lost).
    pub truncated: bool,
}

/// One connected packet-preserving link (a SEQPACKET socket, a
/// message-mode pipe) and the SHM region type its sessions may upgrade to.
///
/// Receives fail with [`Error::Timeout`] at the deadline and
/// [`Error::Aborted`] when the abort handle is triggered, before anything
/// was consumed; a closed peer is [`Error::PeerClosed`].
pub(crate) trait PacketLink {
    /// The per-session shared-memory region of this platform.
    type Shm;

    /// Sends one packet made of `head` then `body` (all or nothing).
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Deadline) -> Result<()>;

    /// Receives the first packet of a message into `buf`.
    fn recv_first(
        &mut self,
        buf: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet>;

    /// Receives one continuation packet: its first [`HEADER_LEN`] bytes
    /// into `head`, the rest into `body`.
    fn recv_split(
        &mut self,
        head: &mut [u8; HEADER_LEN],
        body: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet>;

    /// [`send_packet`](PacketLink::send_packet) for a sender that can
    /// receive first: while the link cannot take the packet and data waits
    /// to be received, returns `Ok(false)` without sending. Links that
    /// cannot watch both directions just send (this default).
    fn send_packet_or_readable(
        &mut self,
        head: &[u8],
        body: &[u8],
        deadline: Deadline,
    ) -> Result<bool> {
        self.send_packet(head, body, deadline).map(|()| true)
    }

    /// Publishes one whole message (header + payload) in the region.
    fn shm_send(shm: &mut Self::Shm, message: &[u8]) -> Result<()>;

    /// Receives one whole message from the region into `out`; the link
    /// only tells whether the peer is gone.
    fn shm_recv(
        &self,
        shm: &mut Self::Shm,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<()>;
}

/// One side of an established session: the link, the negotiated framing
/// parameters and the reusable buffers.
pub(crate) struct Channel<L: PacketLink> {
    link: L,
    packet_size: usize,
    send_kind: u16,
    send_limits: Limits,
    recv_kind: u16,
    recv_limits: Limits,
    /// The message being received (header + payload).
    rx: Vec<u8>,
    /// The header of the last message whose outer header decoded.
    last_header: Option<Header>,
    /// An outgoing batch payload (or whole SHM message) being built.
    tx: Vec<u8>,
    shm: Option<L::Shm>,
    send_timeout: Option<Duration>,
    broken: Cell<bool>,
    /// Messages received while a send waited for room (oldest first),
    /// handed out by the next receives.
    drained: VecDeque<Drained>,
    /// How many messages a waiting send may receive ahead (see
    /// [`Channel::allow_drain`]).
    drain_allow: usize,
}

/// A message received ahead, while a send waited.
struct Drained {
    header: Header,
    /// The whole message (header + payload).
    buf: Vec<u8>,
    payload: Range<usize>,
}

impl<L: PacketLink + std::fmt::Debug> std::fmt::Debug for Channel<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("link", &self.link)
            .field("packet_size", &self.packet_size)
            .field("send_limits", &self.send_limits)
            .field("recv_limits", &self.recv_limits)
            .field("shm", &self.shm.is_some())
            .field("broken", &self.broken.get())
            .finish_non_exhaustive()
    }
}

/// Whether an error leaves the byte stream in a known state.
#[inline]
fn is_wait_error(e: &Error) -> bool {
    matches!(e, Error::Timeout | Error::Aborted)
}

impl<L: PacketLink> Channel<L> {
    /// Wraps a connected link with the values agreed in the handshake.
    ///
    /// `packet_size` must be greater than 32 (the handshake guarantees it).
    pub fn new(
        link: L,
        packet_size: u32,
        send_kind: u16,
        send_limits: Limits,
        recv_kind: u16,
        recv_limits: Limits,
        shm: Option<L::Shm>,
    ) -> Self {
        Channel {
            link,
            packet_size: packet_size as usize,
            send_kind,
            send_limits,
            recv_kind,
            recv_limits,
            rx: Vec::new(),
            last_header: None,
            tx: Vec::new(),
            shm,
            send_timeout: None,
            broken: Cell::new(false),
            drained: VecDeque::new(),
            drain_allow: 0,
        }
    }

    /// Lets the next sends receive up to `answers` messages ahead while
    /// they wait for room (a client passes the number of its requests in
    /// flight: each has exactly one answer coming). A pipelining client
    /// that sends more than the socket buffers hold, against a server that
    /// answers in order and blocks sending answers nobody reads, would
    /// otherwise wait forever (each side's send waiting on the other's
    /// receive). The messages received ahead are handed out, in order, by
    /// the next [`recv`](Channel::recv)s; their memory is bounded by
    /// `answers` times the agreed response size. Links that cannot watch
    /// both directions ignore it (both links here can: a UDS send waits
    /// for room or data, a Named Pipe write stays pending while reads go
    /// on).
    pub fn allow_drain(&mut self, answers: usize) {
        self.drain_allow = answers;
    }

    /// The client side of a session established by `ack`: sends
    /// requests, receives responses.
    pub fn client(link: L, ack: &HelloAck, shm: Option<L::Shm>) -> Self {
        let (req, resp) = (request_limits(ack), response_limits(ack));
        Channel::new(
            link,
            ack.agreed_packet_size,
            KIND_REQUEST,
            req,
            KIND_RESPONSE,
            resp,
            shm,
        )
    }

    /// The server side of a session established by `ack`: receives
    /// requests, sends responses.
    pub fn server(link: L, ack: &HelloAck, shm: Option<L::Shm>) -> Self {
        let (req, resp) = (request_limits(ack), response_limits(ack));
        Channel::new(
            link,
            ack.agreed_packet_size,
            KIND_RESPONSE,
            resp,
            KIND_REQUEST,
            req,
            shm,
        )
    }

    /// The link under the session.
    #[inline]
    pub fn link(&self) -> &L {
        &self.link
    }

    /// The SHM region, when the data plane runs over it.
    #[inline]
    #[cfg_attr(all(windows, not(test)), allow(dead_code))] // UDS: shm_path
    pub fn shm(&self) -> Option<&L::Shm> {
        self.shm.as_ref()
    }

    /// Whether the SHM data plane is active.
    #[inline]
    pub fn is_shm(&self) -> bool {
        self.shm.is_some()
    }

    /// Whether an earlier failure ended the session.
    #[inline]
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// Marks the session failed.
    #[inline]
    pub fn set_broken(&self) {
        self.broken.set(true);
    }

    /// Sets the per-message send timeout (`None` blocks).
    pub fn set_send_timeout(&mut self, t: Option<Duration>) {
        self.send_timeout = t;
    }

    /// The payload bytes of the last received message.
    #[inline]
    pub fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.rx[range]
    }

    /// The header of the last message whose outer header decoded, even if
    /// the message was then rejected (limits, kind, chunks).
    #[inline]
    pub fn last_header(&self) -> Option<Header> {
        self.last_header
    }

    /// Sends one header-only message even though the session failed: the
    /// final error reply to the request that ended it (one packet, or one
    /// publication in the SHM region).
    pub fn send_final(&mut self, header: &Header) -> Result<()> {
        if header.payload_len != 0 || header.kind != self.send_kind {
            return Err(Error::InvalidArgument(
                "final reply must be an empty response",
            ));
        }
        let hdr = header.encode();
        match self.shm.as_mut() {
            Some(region) => L::shm_send(region, &hdr),
            None => {
                let deadline = Deadline::from_timeout(self.send_timeout);
                self.link.send_packet(&hdr, &[], deadline)
            }
        }
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

    /// Receives one message; returns its header and the payload range in
    /// the receive buffer (see [`Channel::payload`]).
    ///
    /// The deadline covers the first packet and every continuation. A
    /// timeout or abort before any byte of the message was consumed
    /// leaves the session usable; every other failure ends it.
    pub fn recv(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<(Header, Range<usize>)> {
        self.ensure_usable()?;
        if let Some(d) = self.drained.pop_front() {
            self.rx = d.buf;
            return Ok((d.header, d.payload));
        }
        let mut consumed = false;
        let r = if self.shm.is_some() {
            self.recv_shm(deadline, abort, &mut consumed)
        } else {
            self.recv_packets(deadline, abort, &mut consumed)
        };
        if let Err(e) = &r {
            // On SHM, InvalidState is caller misuse reported by the region
            // before it touched anything.
            let misuse = self.shm.is_some() && matches!(e, Error::InvalidState(_));
            if consumed || !(is_wait_error(e) || misuse) {
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
        let Some(region) = self.shm.as_mut() else {
            return Err(Error::InvalidState("no SHM region"));
        };
        self.link.shm_recv(region, &mut self.rx, deadline, abort)?;
        *consumed = true;
        let header = Header::decode(&self.rx)?;
        self.last_header = Some(header);
        check_incoming(&header, self.recv_kind, self.recv_limits)?;
        let end = header.total_len();
        if self.rx.len() != end {
            return Err(Violation::PacketLength.into());
        }
        Ok((header, HEADER_LEN..end))
    }

    fn recv_packets(
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
        let got = self
            .link
            .recv_first(&mut self.rx[..first_cap], deadline, abort)?;
        *consumed = true;
        // The header is judged first, also in a packet longer than the
        // buffer: a request over the budget is LIMIT_EXCEEDED (and can be
        // answered), not just a bad packet.
        let header = Header::decode(&self.rx[..got.stored])?;
        self.last_header = Some(header);
        check_incoming(&header, self.recv_kind, self.recv_limits)?;
        if got.truncated {
            return Err(Violation::PacketLength.into());
        }
        let len = header.payload_len as usize;
        let total = HEADER_LEN + len;
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState("packet size too small"));
        };
        if !plan.is_chunked() {
            if got.stored != total {
                return Err(Violation::PacketLength.into());
            }
            return Ok((header, HEADER_LEN..total));
        }
        // A chunked message fills its first packet completely.
        if got.stored != self.packet_size {
            return Err(Violation::PacketLength.into());
        }
        let total_u32 = to_u32(total, "message length")?;
        // Limits were checked above: this allocation is bounded by the
        // negotiated payload ceiling.
        if self.rx.len() < total {
            self.rx.resize(total, 0);
        }
        for index in 1..plan.chunk_count {
            let r = plan.range(len, index);
            let expected = HEADER_LEN + r.len();
            let dst = HEADER_LEN + r.start..HEADER_LEN + r.end;
            let mut ch = [0u8; HEADER_LEN];
            let got = self
                .link
                .recv_split(&mut ch, &mut self.rx[dst], deadline, abort)?;
            if got.stored < HEADER_LEN {
                return Err(DecodeError::Truncated {
                    what: "chunk header",
                    need: HEADER_LEN,
                    have: got.stored,
                }
                .into());
            }
            check_chunk(
                &ChunkHeader::decode(&ch)?,
                &header,
                index,
                &plan,
                total_u32,
                r.len(),
            )?;
            if got.truncated || got.stored != expected {
                return Err(Violation::PacketLength.into());
            }
        }
        Ok((header, HEADER_LEN..total))
    }
}

/// Checks continuation `index` (carrying `len` payload bytes) against the
/// message it continues.
fn check_chunk(
    c: &ChunkHeader,
    header: &Header,
    index: u32,
    plan: &ChunkPlan,
    total: u32,
    len: usize,
) -> Result<()> {
    if c.message_id != header.message_id {
        return Err(Violation::ChunkMessageId.into());
    }
    if c.chunk_index != index {
        return Err(Violation::ChunkIndex.into());
    }
    if c.chunk_count != plan.chunk_count {
        return Err(Violation::ChunkCount.into());
    }
    if c.total_message_len != total {
        return Err(Violation::ChunkTotalLen.into());
    }
    if c.chunk_payload_len as usize != len {
        return Err(Violation::ChunkPayloadLen.into());
    }
    Ok(())
}
