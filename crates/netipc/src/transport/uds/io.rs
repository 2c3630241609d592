//! Socket-level primitives of the UDS transport: packet send and receive
//! with optional deadlines and abort handles, and readiness waits.
//!
//! Sockets are kept in blocking mode. A call without a deadline and
//! without an abort handle is one plain blocking syscall; a call with
//! either polls the socket together with the abort eventfd and then
//! performs a non-blocking syscall.
//!
//! The first packet of a message can be received with an adaptive
//! pre-poll spin ([`recv_packet_spin`]): waking a thread blocked in the
//! kernel costs tens of microseconds on some machines (virtual CPUs that
//! idle), far more than a round trip to a busy peer. So while a
//! session's recent waits were short, the receiver first retries a
//! non-blocking receive (`MSG_DONTWAIT`) for a time budget learned per
//! session (the same learner as the SHM spin, `shm/spin.rs`, capped at
//! [`UDS_MAX_SPIN`]); when waits are long (idle or slow peer) or spins
//! keep failing (oversubscribed CPUs) the budget collapses to half a
//! microsecond (one full-budget probe every 32 receives), so an idle
//! session blocks in the kernel and costs no CPU. Retries yield the CPU
//! rather than pause, so a spinner never holds a core its peer needs.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::net::{
    RecvAncillaryBuffer, RecvFlags, ReturnFlags, SendAncillaryBuffer, SendFlags, recv, recvmsg,
    sendmsg,
};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::shm::spin::SpinTuner;

/// Upper bound of one pre-poll spin of a UDS receive.
///
/// Longer than the SHM default: each retry is a syscall, and the peer's
/// turn around includes its own send and receive syscalls.
pub(crate) const UDS_MAX_SPIN: Duration = Duration::from_micros(50);

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
        let timeout = poll_timeout(deadline)?;
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
    while !sendmsg_once(fd, iov, total, flags)? {
        if !timed {
            return Err(map_errno(Errno::AGAIN));
        }
        wait(fd, PollFlags::OUT, deadline, None)?;
    }
    Ok(())
}

/// Sends one whole datagram of `total` bytes (retrying `EINTR`): `false`
/// when the socket had no room (`EAGAIN`).
fn sendmsg_once(
    fd: BorrowedFd<'_>,
    iov: &[IoSlice<'_>],
    total: usize,
    flags: SendFlags,
) -> Result<bool> {
    loop {
        match sendmsg(fd, iov, &mut SendAncillaryBuffer::default(), flags) {
            Ok(n) if n == total => return Ok(true),
            Ok(_) => {
                return Err(Error::Io(std::io::Error::other(
                    "short send on a SOCK_SEQPACKET socket",
                )));
            }
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return Ok(false),
            Err(e) => return Err(map_errno(e)),
        }
    }
}

/// [`send_packet`] for a sender that can receive first: while the socket's
/// send buffer is full, the socket is also watched for data (or hang-up),
/// and `Ok(false)` is returned, nothing sent, as soon as some arrives.
/// `Ok(true)`: the datagram was sent.
pub(crate) fn send_packet_or_readable(
    fd: BorrowedFd<'_>,
    iov: &[IoSlice<'_>],
    total: usize,
    deadline: Deadline,
) -> Result<bool> {
    loop {
        if sendmsg_once(fd, iov, total, SendFlags::NOSIGNAL | SendFlags::DONTWAIT)? {
            return Ok(true);
        }
        let timeout = poll_timeout(deadline)?;
        let mut fds = [PollFd::new(&fd, PollFlags::OUT | PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let revents = fds[0].revents();
        // Writable: try the send again (also when data waits: progress
        // first). Readable, hang-up or error without room: the caller
        // receives. Nothing (time-out): the deadline check above ends it.
        if !revents.contains(PollFlags::OUT) && !revents.is_empty() {
            return Ok(false);
        }
    }
}

/// The `poll` timeout left until `deadline` (`None`: forever), or
/// [`Error::Timeout`] when it passed.
fn poll_timeout(deadline: Deadline) -> Result<Option<rustix::time::Timespec>> {
    Ok(deadline.remaining()?.map(|d| {
        rustix::time::Timespec::try_from(d).unwrap_or(rustix::time::Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0,
        })
    }))
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

/// One non-blocking receive: `None` when no datagram is queued.
#[inline]
fn try_recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Option<Result<Received>> {
    loop {
        match recv(fd, &mut *buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
            Ok((_, 0)) => return Some(Err(Error::PeerClosed)),
            Ok((stored, real)) => return Some(Ok(Received { stored, real })),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => return None,
            Err(e) => return Some(Err(map_errno(e))),
        }
    }
}

/// Nanoseconds since `start`, saturated.
#[inline]
fn elapsed_ns(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// [`recv_packet`] preceded by the adaptive spin `tuner` learns: one
/// non-blocking receive, then (if nothing was queued) non-blocking
/// receives for the tuner's budget, then the blocking (or polled)
/// receive. Deadline and abort keep their meaning: an abort triggered
/// or a deadline passed before the call fails it before anything is
/// consumed, and an abort triggered during the spin ends the spin.
pub(crate) fn recv_packet_spin(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    deadline: Deadline,
    abort: Option<&AbortHandle>,
    tuner: &mut SpinTuner,
) -> Result<Received> {
    if let Some(a) = abort {
        a.check()?;
    }
    if deadline.instant().is_some() {
        deadline.remaining()?;
    }
    if let Some(r) = try_recv(fd, buf) {
        tuner.record(0, true);
        return r;
    }
    let start = Instant::now();
    let budget = tuner.next_budget_ns();
    if budget > 0 {
        loop {
            if let Some(r) = try_recv(fd, buf) {
                tuner.record(elapsed_ns(start), true);
                return r;
            }
            if abort.is_some_and(AbortHandle::is_triggered) || elapsed_ns(start) >= budget {
                break;
            }
            // Not a busy pause: on oversubscribed CPUs the peer may be
            // waiting for this very core.
            std::thread::yield_now();
        }
    }
    let r = recv_packet(fd, buf, deadline, abort);
    tuner.record(elapsed_ns(start), false);
    r
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{AddressFamily, SocketFlags, SocketType, send, socketpair};
    use std::os::fd::OwnedFd;

    fn pair() -> (OwnedFd, OwnedFd) {
        socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap()
    }

    #[test]
    fn spin_receive_takes_a_queued_packet() {
        let (a, b) = pair();
        let mut tuner = SpinTuner::new(UDS_MAX_SPIN);
        send(&a, b"hello", SendFlags::NOSIGNAL).unwrap();
        let mut buf = [0u8; 3];
        let got = recv_packet_spin(b.as_fd(), &mut buf, Deadline::NEVER, None, &mut tuner).unwrap();
        // Truncation is reported exactly as by the blocking receive.
        assert_eq!(got, Received { stored: 3, real: 5 });
        assert_eq!(&buf, b"hel");
    }

    #[test]
    fn spin_receive_gets_a_later_packet() {
        let (a, b) = pair();
        let mut tuner = SpinTuner::new(UDS_MAX_SPIN);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            // Sent only once the receiver is known to be waiting.
            rx.recv().unwrap();
            send(&a, b"late", SendFlags::NOSIGNAL).unwrap();
            a
        });
        tx.send(()).unwrap();
        let mut buf = [0u8; 8];
        let got = recv_packet_spin(
            b.as_fd(),
            &mut buf,
            Deadline::after(Duration::from_secs(30)),
            None,
            &mut tuner,
        )
        .unwrap();
        assert_eq!(got, Received { stored: 4, real: 4 });
        let a = t.join().unwrap();
        drop(a);
        // The peer closed: a zero-length read.
        assert!(matches!(
            recv_packet_spin(b.as_fd(), &mut buf, Deadline::NEVER, None, &mut tuner),
            Err(Error::PeerClosed)
        ));
    }

    #[test]
    fn spin_receive_keeps_deadline_and_abort() {
        let (a, b) = pair();
        let mut tuner = SpinTuner::new(UDS_MAX_SPIN);
        let mut buf = [0u8; 8];
        // Nothing queued: the deadline ends the wait.
        let d = Deadline::after(Duration::from_millis(20));
        assert!(matches!(
            recv_packet_spin(b.as_fd(), &mut buf, d, None, &mut tuner),
            Err(Error::Timeout)
        ));
        // A passed deadline or a triggered abort fails before consuming.
        send(&a, b"kept", SendFlags::NOSIGNAL).unwrap();
        let passed = Deadline::after(Duration::ZERO);
        assert!(matches!(
            recv_packet_spin(b.as_fd(), &mut buf, passed, None, &mut tuner),
            Err(Error::Timeout)
        ));
        let abort = AbortHandle::new().unwrap();
        abort.trigger();
        assert!(matches!(
            recv_packet_spin(
                b.as_fd(),
                &mut buf,
                Deadline::NEVER,
                Some(&abort),
                &mut tuner
            ),
            Err(Error::Aborted)
        ));
        abort.clear();
        let got = recv_packet_spin(
            b.as_fd(),
            &mut buf,
            Deadline::NEVER,
            Some(&abort),
            &mut tuner,
        )
        .unwrap();
        assert_eq!(&buf[..got.stored], b"kept");
        // An abort triggered while waiting ends the wait.
        let trigger = abort.clone();
        let t = std::thread::spawn(move || trigger.trigger());
        assert!(matches!(
            recv_packet_spin(
                b.as_fd(),
                &mut buf,
                Deadline::NEVER,
                Some(&abort),
                &mut tuner
            ),
            Err(Error::Aborted)
        ));
        t.join().unwrap();
    }
}
