//! The Named Pipe side of message framing: [`PipeLink`], a message-mode
//! pipe as a [`PacketLink`] for the shared
//! [`Channel`](crate::transport::channel) state machine (same chunking and
//! checks as on UDS, one pipe message per packet), with the Win SHM region
//! as its data-plane upgrade.
//!
//! A pipe read cannot scatter: an outgoing packet is assembled in one
//! reusable buffer, and a continuation is read whole into another, then
//! split into the chunk header and its place in the message. Receives
//! also wait on the session's stop event (see [`super::SessionShutdown`]).

use std::cell::OnceCell;

use crate::error::Result;
use crate::protocol::HEADER_LEN;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::channel::{Packet, PacketLink};

use super::pipe::{PendingWrite, Pipe, wait_ms};
use super::shm::WinShmRegion;

/// A session's framing over a message-mode pipe.
pub(crate) type Channel = crate::transport::channel::Channel<PipeLink>;

/// A connected pipe, its stop event and its packet buffers.
#[derive(Debug)]
pub(crate) struct PipeLink {
    pipe: Pipe,
    /// Set by [`super::SessionShutdown`]: receives also wait on it.
    stop: OnceCell<AbortHandle>,
    /// One outgoing packet.
    tx: Vec<u8>,
    /// A write of `tx` left pending while received messages are taken
    /// ahead (see `send_packet_or_readable`).
    pending: Option<PendingWrite>,
    /// One continuation packet.
    pkt: Vec<u8>,
}

impl PipeLink {
    /// Wraps a connected pipe.
    pub(crate) fn new(pipe: Pipe) -> Self {
        PipeLink {
            pipe,
            stop: OnceCell::new(),
            tx: Vec::new(),
            pending: None,
            pkt: Vec::new(),
        }
    }

    /// Waits for the pending write of `tx`, until `deadline` (cancelled
    /// and collected on time-out).
    fn finish_write(&mut self, deadline: Deadline) -> Result<()> {
        let Some(mut w) = self.pending.take() else {
            return Ok(());
        };
        loop {
            let ms = match wait_ms(deadline) {
                Ok(ms) => ms,
                Err(e) => {
                    self.pipe.cancel_write(&mut w);
                    return Err(e);
                }
            };
            if self.pipe.poll_write(&mut w, ms)?.is_some() {
                return Ok(());
            }
        }
    }
}

impl Drop for PipeLink {
    fn drop(&mut self) {
        // The kernel must be done with `tx` and the OVERLAPPED first.
        if let Some(mut w) = self.pending.take() {
            self.pipe.cancel_write(&mut w);
        }
    }
}

/// How often a write left pending looks for messages to take ahead.
const PENDING_WRITE_POLL_MS: u32 = 2;

impl PacketLink for PipeLink {
    type Shm = WinShmRegion;

    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Deadline) -> Result<()> {
        if self.pending.is_some() {
            // The same packet, started by send_packet_or_readable.
            return self.finish_write(deadline);
        }
        self.tx.clear();
        self.tx.extend_from_slice(head);
        self.tx.extend_from_slice(body);
        self.pipe.write(&self.tx, deadline)
    }

    /// The write is started once and left pending while messages wait to
    /// be read (a pipe is full duplex: reads go on beside it); the next
    /// call for the same packet goes on waiting for it.
    fn send_packet_or_readable(
        &mut self,
        head: &[u8],
        body: &[u8],
        deadline: Deadline,
    ) -> Result<bool> {
        if self.pending.is_none() {
            deadline.remaining()?;
            self.tx.clear();
            self.tx.extend_from_slice(head);
            self.tx.extend_from_slice(body);
            self.pending = Some(self.pipe.start_write(&self.tx)?);
        }
        loop {
            let slice = match wait_ms(deadline) {
                Ok(ms) => ms.min(PENDING_WRITE_POLL_MS),
                Err(e) => {
                    if let Some(mut w) = self.pending.take() {
                        self.pipe.cancel_write(&mut w);
                    }
                    return Err(e);
                }
            };
            let Some(w) = self.pending.as_mut() else {
                return Ok(true);
            };
            match self.pipe.poll_write(w, slice) {
                Ok(Some(())) => {
                    self.pending = None;
                    return Ok(true);
                }
                Ok(None) => {}
                Err(e) => {
                    self.pending = None;
                    return Err(e);
                }
            }
            if self.pipe.readable() {
                return Ok(false);
            }
        }
    }

    fn recv_first(
        &mut self,
        buf: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet> {
        let got = self
            .pipe
            .read_or_stop(buf, deadline, abort, self.stop.get())?;
        Ok(Packet {
            stored: got.n,
            truncated: got.more,
        })
    }

    fn recv_split(
        &mut self,
        head: &mut [u8; HEADER_LEN],
        body: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet> {
        let cap = HEADER_LEN + body.len();
        if self.pkt.len() < cap {
            self.pkt.resize(cap, 0);
        }
        let got = self
            .pipe
            .read_or_stop(&mut self.pkt[..cap], deadline, abort, self.stop.get())?;
        let h = got.n.min(HEADER_LEN);
        head[..h].copy_from_slice(&self.pkt[..h]);
        let b = got.n - h;
        body[..b].copy_from_slice(&self.pkt[HEADER_LEN..HEADER_LEN + b]);
        Ok(Packet {
            stored: got.n,
            truncated: got.more,
        })
    }

    fn shm_send(shm: &mut WinShmRegion, message: &[u8]) -> Result<()> {
        shm.send(message)
    }

    fn shm_recv(
        &self,
        shm: &mut WinShmRegion,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<()> {
        // A stopped session ends its wait like a gone peer (a message
        // already published is still read first).
        let stop = self.stop.get();
        let peer_gone = || self.pipe.peer_closed() || stop.is_some_and(AbortHandle::is_triggered);
        shm.recv(out, deadline, abort, &peer_gone)
    }
}

impl Channel {
    /// The session pipe.
    pub(crate) fn pipe(&self) -> &Pipe {
        &self.link().pipe
    }

    /// The stop event receives wait on, created on first use.
    pub(crate) fn stop_handle(&self) -> Result<AbortHandle> {
        let stop = &self.link().stop;
        if let Some(h) = stop.get() {
            return Ok(h.clone());
        }
        let h = AbortHandle::new()?;
        Ok(stop.get_or_init(|| h).clone())
    }
}
