//! Socket-level primitives of the UDS transport: packet send and receive
//! with optional deadlines and abort handles, and readiness waits.
//!
//! Sockets are kept in blocking mode. A call without a deadline and
//! without an abort handle is one plain blocking syscall (the hot path);
//! a call with either polls the socket together with the abort eventfd
//! and then performs a non-blocking syscall.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendFlags, recv, recvmsg,
    sendmsg,
};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};

/// Maps a socket errno to the crate error: a closed peer (`EPIPE`) is
/// [`Error::PeerClosed`], everything else is a transport error.
pub(crate) fn map_errno(e: Errno) -> Error {
    if e == Errno::PIPE {
        Error::PeerClosed
    } else {
        Error::Io(e.into())
    }
}

/// Whether a wait needs `poll` (a deadline or an abort handle is present).
#[inline]
pub(crate) fn needs_poll(deadline: Deadline, abort: Option<&AbortHandle>) -> bool {
    abort.is_some() || deadline.instant().is_some()
}

/// Waits until `fd` reports one of `events` (or hang-up/error), the
/// deadline passes ([`Error::Timeout`]) or the abort handle fires
/// ([`Error::Aborted`]).
pub(crate) fn wait(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<()> {
    loop {
        if let Some(a) = abort {
            a.check()?;
        }
        let timeout = deadline.remaining()?.map(|d| {
            rustix::time::Timespec::try_from(d).unwrap_or(rustix::time::Timespec {
                tv_sec: i64::MAX,
                tv_nsec: 0,
            })
        });
        let (ready, aborted) = match abort {
            Some(a) => {
                let mut fds = [PollFd::new(&fd, events), PollFd::new(a, PollFlags::IN)];
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) => (!fds[0].revents().is_empty(), !fds[1].revents().is_empty()),
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            None => {
                let mut fds = [PollFd::new(&fd, events)];
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) => (!fds[0].revents().is_empty(), false),
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if aborted || abort.is_some_and(AbortHandle::is_triggered) {
            return Err(Error::Aborted);
        }
        if ready {
            return Ok(());
        }
        // Timed out (or woke spuriously): the loop re-checks the deadline.
    }
}

/// Sends one SEQPACKET datagram made of `iov` (all or nothing).
///
/// Without a deadline the send blocks; with one, a full socket buffer is
/// waited for until the deadline. `total` is the datagram length.
pub(crate) fn send_packet(
    fd: BorrowedFd<'_>,
    iov: &[IoSlice<'_>],
    total: usize,
    deadline: Deadline,
) -> Result<()> {
    let timed = deadline.instant().is_some();
    let flags = if timed {
        SendFlags::NOSIGNAL | SendFlags::DONTWAIT
    } else {
        SendFlags::NOSIGNAL
    };
    loop {
        match sendmsg(fd, iov, &mut SendAncillaryBuffer::default(), flags) {
            Ok(n) if n == total => return Ok(()),
            Ok(_) => {
                return Err(Error::Io(std::io::Error::other(
                    "short send on a SOCK_SEQPACKET socket",
                )));
            }
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) if timed => wait(fd, PollFlags::OUT, deadline, None)?,
            Err(e) => return Err(map_errno(e)),
        }
    }
}

/// The outcome of a packet receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes stored in the buffers.
    pub stored: usize,
    /// The real datagram length (greater than `stored` when truncated).
    pub real: usize,
}

/// Receives one datagram into `buf`.
///
/// A zero-length read is the peer closing ([`Error::PeerClosed`]). The
/// returned real length exceeds `buf.len()` when the datagram was larger
/// (its excess is discarded by the kernel).
pub(crate) fn recv_packet(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<Received> {
    let polled = needs_poll(deadline, abort);
    loop {
        if polled {
            wait(fd, PollFlags::IN, deadline, abort)?;
        }
        let flags = if polled {
            RecvFlags::TRUNC | RecvFlags::DONTWAIT
        } else {
            RecvFlags::TRUNC
        };
        match recv(fd, &mut *buf, flags) {
            Ok((_, 0)) => return Err(Error::PeerClosed),
            Ok((stored, real)) => return Ok(Received { stored, real }),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) if polled => continue,
            Err(e) => return Err(map_errno(e)),
        }
    }
}

/// Receives one datagram scattered into `head` then `body`.
///
/// Same conventions as [`recv_packet`].
pub(crate) fn recv_packet_split(
    fd: BorrowedFd<'_>,
    head: &mut [u8],
    body: &mut [u8],
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<Received> {
    let polled = needs_poll(deadline, abort);
    let capacity = head.len() + body.len();
    loop {
        if polled {
            wait(fd, PollFlags::IN, deadline, abort)?;
        }
        let flags = if polled {
            RecvFlags::TRUNC | RecvFlags::DONTWAIT
        } else {
            RecvFlags::TRUNC
        };
        let mut iov = [IoSliceMut::new(&mut *head), IoSliceMut::new(&mut *body)];
        let mut no_control: [MaybeUninit<u8>; 0] = [];
        let mut control = RecvAncillaryBuffer::new(&mut no_control);
        match recvmsg(fd, &mut iov, &mut control, flags) {
            Ok(r) if r.bytes == 0 => return Err(Error::PeerClosed),
            Ok(r) => {
                let stored = r.bytes.min(capacity);
                // A kernel that does not report the real length still sets
                // MSG_TRUNC in the returned flags.
                let real = if r.flags.contains(ReturnFlags::TRUNC) && r.bytes <= capacity {
                    capacity.saturating_add(1)
                } else {
                    r.bytes
                };
                return Ok(Received { stored, real });
            }
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) if polled => continue,
            Err(e) => return Err(map_errno(e)),
        }
    }
}

/// The largest packet size a SEQPACKET datagram on `fd` can carry:
/// `SO_SNDBUF - 32` (measured: larger sends fail with `EMSGSIZE`).
/// Falls back to `65536 - 32` when the buffer size cannot be read.
pub(crate) fn max_packet_size(fd: impl AsFd) -> u32 {
    let sndbuf = rustix::net::sockopt::socket_send_buffer_size(fd).unwrap_or(65536);
    let cap = sndbuf.saturating_sub(crate::protocol::HEADER_LEN);
    u32::try_from(cap).unwrap_or(u32::MAX)
}

/// The packet size to propose: `min(configured, SO_SNDBUF - 32)`, where a
/// configured value of 0 means "automatic".
pub(crate) fn proposed_packet_size(fd: impl AsFd, configured: u32) -> u32 {
    let max = max_packet_size(fd);
    if configured == 0 {
        max
    } else {
        configured.min(max)
    }
}
