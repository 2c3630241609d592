//! Message framing over one connected session: single packets, transparent
//! chunking, batch payloads, and the SHM data plane when negotiated.
//!
//! Send never copies a payload on UDS: each datagram is gathered from the
//! encoded header and a slice of the caller's payload (`sendmsg` iovecs).
//! Receive reads the first datagram into a reusable buffer, validates the
//! outer header and the receiver's directional limits *before* growing
//! that buffer, then scatters every continuation straight into place,
//! validating each chunk header against the message in progress.

use std::cell::Cell;
use std::io::IoSlice;
use std::ops::Range;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use crate::bytes::to_u32;
use crate::error::{DecodeError, Error, Result, Violation};
use crate::protocol::{FLAG_BATCH, HEADER_LEN};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::envelope::{batch_layout, check_incoming, check_outgoing, out_u32};
use crate::transport::shm::ShmRegion;
use crate::wire::{BatchBuilder, ChunkHeader, ChunkPlan, Header, Limits};

use crate::transport::shm::spin::SpinTuner;

use super::io::{UDS_MAX_SPIN, recv_packet_spin, recv_packet_split, send_packet};

/// One side of an established session: the socket, the negotiated
/// framing parameters and the reusable buffers.
pub(crate) struct Channel {
    fd: OwnedFd,
    packet_size: usize,
    send_kind: u16,
    send_limits: Limits,
    recv_kind: u16,
    recv_limits: Limits,
    rx: Vec<u8>,
    last_header: Option<Header>,
    tx: Vec<u8>,
    shm: Option<ShmRegion>,
    send_timeout: Option<Duration>,
    broken: Cell<bool>,
    /// Pre-poll spin learner of UDS receives (unused on SHM, whose
    /// region has its own).
    spin: SpinTuner,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("fd", &self.fd)
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

impl Channel {
    /// Wraps a connected socket with the values agreed in the handshake.
    ///
    /// `packet_size` must be greater than 32 (the handshake guarantees it).
    pub fn new(
        fd: OwnedFd,
        packet_size: u32,
        send_kind: u16,
        send_limits: Limits,
        recv_kind: u16,
        recv_limits: Limits,
        shm: Option<ShmRegion>,
    ) -> Self {
        Channel {
            fd,
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
            spin: SpinTuner::new(UDS_MAX_SPIN),
        }
    }

    /// The session socket.
    #[inline]
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Whether the SHM data plane is active.
    #[inline]
    pub fn is_shm(&self) -> bool {
        self.shm.is_some()
    }

    /// The SHM region file of an SHM session.
    pub fn shm_path(&self) -> Option<&std::path::Path> {
        self.shm.as_ref().map(|r| r.path())
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
    /// final error reply to the request that ended it. On UDS this is one
    /// datagram; on SHM it is published in the region.
    pub fn send_final(&mut self, header: &Header) -> Result<()> {
        if header.payload_len != 0 || header.kind != self.send_kind {
            return Err(Error::InvalidArgument(
                "final reply must be an empty response",
            ));
        }
        let hdr = header.encode();
        match self.shm.as_mut() {
            Some(region) => region.send(&hdr),
            None => send_packet(
                self.fd.as_fd(),
                &[IoSlice::new(&hdr)],
                HEADER_LEN,
                Deadline::from_timeout(self.send_timeout),
            ),
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

    /// Sends one message (header + payload).
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
            self.send_uds(header, payload)
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
                    self.send_uds(&base, &tx[start..])
                }
            }
            Ok(_) => Err(Error::InvalidState("batch size mismatch")),
            Err(e) => Err(e),
        };
        self.tx = tx;
        r
    }

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

    fn send_uds(&mut self, header: &Header, payload: &[u8]) -> Result<()> {
        let len = payload.len();
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState(
                "packet size too small or too many chunks",
            ));
        };
        let total = out_u32(HEADER_LEN.saturating_add(len), "message longer than 4 GiB")?;
        let deadline = Deadline::from_timeout(self.send_timeout);
        let fd = self.fd.as_fd();
        let hdr = header.encode();
        let first = plan.range(len, 0);
        let first_len = HEADER_LEN + first.len();
        if let Err(e) = send_packet(
            fd,
            &[IoSlice::new(&hdr), IoSlice::new(&payload[first])],
            first_len,
            deadline,
        ) {
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
            let n = HEADER_LEN + r.len();
            if let Err(e) = send_packet(
                fd,
                &[IoSlice::new(&ch), IoSlice::new(&payload[r])],
                n,
                deadline,
            ) {
                // Part of the message is on the wire: the stream is unusable.
                self.broken.set(true);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Receives one message; returns its header and the payload range in
    /// the receive buffer (see [`Channel::payload`]).
    ///
    /// A timeout or abort before any byte of the message was consumed
    /// leaves the session usable; every other failure ends it.
    pub fn recv(
        &mut self,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<(Header, Range<usize>)> {
        self.ensure_usable()?;
        let mut consumed = false;
        let r = if self.shm.is_some() {
            self.recv_shm(deadline, abort, &mut consumed)
        } else {
            self.recv_uds(deadline, abort, &mut consumed)
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
        region.recv(&mut self.rx, deadline, abort, self.fd.as_fd())?;
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

    fn recv_uds(
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
        let fd = self.fd.as_fd();
        let got = recv_packet_spin(
            fd,
            &mut self.rx[..first_cap],
            deadline,
            abort,
            &mut self.spin,
        )?;
        *consumed = true;
        let header = Header::decode(&self.rx[..got.stored])?;
        self.last_header = Some(header);
        check_incoming(&header, self.recv_kind, self.recv_limits)?;
        let len = header.payload_len as usize;
        let total = HEADER_LEN + len;
        let Some(plan) = ChunkPlan::new(len, self.packet_size) else {
            return Err(Error::InvalidState("packet size too small"));
        };
        if !plan.is_chunked() {
            if got.real != total {
                return Err(Violation::PacketLength.into());
            }
            return Ok((header, HEADER_LEN..total));
        }
        // A chunked message fills its first packet completely.
        if got.real != self.packet_size {
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
            let dst = HEADER_LEN + r.start..HEADER_LEN + r.end;
            let mut ch = [0u8; HEADER_LEN];
            let got = recv_packet_split(fd, &mut ch, &mut self.rx[dst], deadline, abort)?;
            if got.stored < HEADER_LEN {
                return Err(DecodeError::Truncated {
                    what: "chunk header",
                    need: HEADER_LEN,
                    have: got.stored,
                }
                .into());
            }
            let c = ChunkHeader::decode(&ch)?;
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
            if got.real != HEADER_LEN + r.len() {
                return Err(Violation::PacketLength.into());
            }
        }
        Ok((header, HEADER_LEN..total))
    }
}
