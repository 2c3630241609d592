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

use super::pipe::Pipe;
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
            pkt: Vec::new(),
        }
    }
}

impl PacketLink for PipeLink {
    type Shm = WinShmRegion;

    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Deadline) -> Result<()> {
        self.tx.clear();
        self.tx.extend_from_slice(head);
        self.tx.extend_from_slice(body);
        self.pipe.write(&self.tx, deadline)
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
