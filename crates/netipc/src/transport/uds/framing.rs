//! The UDS side of message framing: [`UdsLink`], the SEQPACKET socket as a
//! [`PacketLink`] for the shared [`Channel`](crate::transport::channel)
//! state machine, with the POSIX SHM region as its data-plane upgrade.
//!
//! Send never copies a payload: each datagram is gathered from the
//! encoded header and a slice of the caller's payload (`sendmsg` iovecs).
//! Continuations are scattered by `recvmsg` straight into their place in
//! the message buffer. The first packet of each message is preceded by
//! the adaptive spin of [`recv_packet_spin`].

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::error::Result;
use crate::protocol::HEADER_LEN;
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::channel::{Packet, PacketLink};
use crate::transport::shm::ShmRegion;
use crate::transport::shm::spin::SpinTuner;

use super::io::{
    Received, UDS_MAX_SPIN, recv_packet_spin, recv_packet_split, send_packet,
    send_packet_or_readable,
};

/// A session's framing over a SEQPACKET socket.
pub(crate) type Channel = crate::transport::channel::Channel<UdsLink>;

/// A connected SEQPACKET socket and the spin learner of its receives.
#[derive(Debug)]
pub(crate) struct UdsLink {
    fd: OwnedFd,
    /// Pre-poll spin learner of UDS receives (unused on SHM, whose
    /// region has its own).
    spin: SpinTuner,
}

impl UdsLink {
    /// Wraps a connected session socket.
    pub fn new(fd: OwnedFd) -> Self {
        UdsLink {
            fd,
            spin: SpinTuner::new(UDS_MAX_SPIN),
        }
    }
}

#[inline]
fn packet(got: Received) -> Packet {
    Packet {
        stored: got.stored,
        truncated: got.real > got.stored,
    }
}

impl PacketLink for UdsLink {
    type Shm = ShmRegion;

    #[inline]
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Deadline) -> Result<()> {
        send_packet(
            self.fd.as_fd(),
            &[IoSlice::new(head), IoSlice::new(body)],
            head.len() + body.len(),
            deadline,
        )
    }

    fn send_packet_or_readable(
        &mut self,
        head: &[u8],
        body: &[u8],
        deadline: Deadline,
    ) -> Result<bool> {
        send_packet_or_readable(
            self.fd.as_fd(),
            &[IoSlice::new(head), IoSlice::new(body)],
            head.len() + body.len(),
            deadline,
        )
    }

    #[inline]
    fn recv_first(
        &mut self,
        buf: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet> {
        recv_packet_spin(self.fd.as_fd(), buf, deadline, abort, &mut self.spin).map(packet)
    }

    #[inline]
    fn recv_split(
        &mut self,
        head: &mut [u8; HEADER_LEN],
        body: &mut [u8],
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<Packet> {
        recv_packet_split(self.fd.as_fd(), head, body, deadline, abort).map(packet)
    }

    #[inline]
    fn shm_send(shm: &mut ShmRegion, message: &[u8]) -> Result<()> {
        shm.send(message)
    }

    #[inline]
    fn shm_recv(
        &self,
        shm: &mut ShmRegion,
        out: &mut Vec<u8>,
        deadline: Deadline,
        abort: Option<&AbortHandle>,
    ) -> Result<()> {
        shm.recv(out, deadline, abort, self.fd.as_fd())
    }
}

impl Channel {
    /// The session socket.
    #[inline]
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.link().fd.as_fd()
    }

    /// The SHM region file of an SHM session.
    pub fn shm_path(&self) -> Option<&std::path::Path> {
        self.shm().map(|r| r.path())
    }
}
