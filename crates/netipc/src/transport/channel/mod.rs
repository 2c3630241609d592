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
//!
//! This file holds the link trait, the channel and its state; `send`
//! frames outgoing messages (packets or SHM) and `recv` reassembles and
//! validates incoming ones.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ops::Range;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::protocol::{HEADER_LEN, KIND_REQUEST, KIND_RESPONSE};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::session_core::{request_limits, response_limits};
use crate::wire::{Header, HelloAck, Limits};

mod recv;
mod send;

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
}
