//! The receive path: the first packet and its early header and limit
//! checks, continuation chunks placed at their offsets, and SHM messages.

use std::ops::Range;

use crate::bytes::to_u32;
use crate::error::{DecodeError, Error, Result, Violation};
use crate::protocol::HEADER_LEN;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::envelope::check_incoming;
use crate::wire::{ChunkHeader, ChunkPlan, Header};

use super::{Channel, PacketLink, is_wait_error};

impl<L: PacketLink> Channel<L> {
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

    pub(super) fn recv_packets(
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
