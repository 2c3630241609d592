//! The HELLO / HELLO_ACK exchange, both sides.
//!
//! The server decision itself is the pure [`crate::wire::negotiate`]; this
//! module moves the bytes, applies the deadline, provisions SHM before a
//! successful HELLO_ACK, and validates the ACK on the client side.

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType, connect, socket_with};

use crate::error::{Error, Result};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::shm::ShmRegion;
use crate::wire::{Hello, HelloAck};

pub(crate) use crate::transport::handshake::encode_hello;
use crate::transport::handshake::{
    HELLO_ACK_MSG_LEN, HELLO_MSG_LEN, answer_hello, attach_with_retry, check_ack_bytes,
};

use super::config::{ClientConfig, SHM_PROFILES, ServerConfig};
use super::io::{proposed_packet_size, recv_packet, send_packet};

/// Sleeps `step` (bounded by the deadline), waking early on abort.
pub(crate) fn pause(step: Duration, deadline: Deadline, abort: Option<&AbortHandle>) -> Result<()> {
    let t = match deadline.remaining()? {
        Some(left) => left.min(step),
        None => step,
    };
    match abort {
        Some(a) => {
            a.check()?;
            let ts = rustix::time::Timespec::try_from(t).unwrap_or(rustix::time::Timespec {
                tv_sec: 0,
                tv_nsec: 5_000_000,
            });
            let mut fds = [PollFd::new(a, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            a.check()
        }
        None => {
            std::thread::sleep(t);
            Ok(())
        }
    }
}

/// Connects a SEQPACKET socket to `path` and returns it in blocking mode.
///
/// `ENOENT` / `ECONNREFUSED` mean nobody serves the endpoint:
/// [`Error::NotFound`]. A full accept backlog is retried until the
/// deadline.
pub(crate) fn connect_path(
    path: &Path,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<OwnedFd> {
    let fd = socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    let addr = SocketAddrUnix::new(path)?;
    loop {
        if let Some(a) = abort {
            a.check()?;
        }
        match connect(&fd, &addr) {
            Ok(()) => break,
            Err(Errno::NOENT | Errno::CONNREFUSED) => return Err(Error::NotFound),
            Err(Errno::INTR) => continue,
            // Backlog full: the server is alive but busy.
            Err(Errno::AGAIN) => pause(Duration::from_millis(1), deadline, abort)?,
            Err(Errno::INPROGRESS) => {
                super::io::wait(fd.as_fd(), PollFlags::OUT, deadline, abort)?;
                match rustix::net::sockopt::socket_error(&fd)? {
                    Ok(()) => break,
                    Err(Errno::NOENT | Errno::CONNREFUSED) => return Err(Error::NotFound),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    rustix::io::ioctl_fionbio(&fd, false)?;
    Ok(fd)
}

/// Validates a received HELLO_ACK message against the HELLO we sent and
/// `cfg`'s response ceiling (see [`check_ack_bytes`]).
pub(crate) fn check_ack(
    bytes: &[u8],
    real: usize,
    hello: &Hello,
    cfg: &ClientConfig,
) -> Result<HelloAck> {
    check_ack_bytes(bytes, real, hello, cfg.response_payload_cap)
}

/// What a successful client handshake produced.
pub(crate) struct ClientParts {
    pub fd: OwnedFd,
    pub ack: HelloAck,
    pub shm: Option<ShmRegion>,
}

/// Connects, exchanges HELLO / HELLO_ACK and attaches SHM when selected.
pub(crate) fn client_handshake(
    endpoint: &Endpoint,
    cfg: &ClientConfig,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<ClientParts> {
    cfg.validate()?;
    let fd = connect_path(&endpoint.socket_path(), deadline, abort)?;
    let hello = cfg.hello_with(proposed_packet_size(&fd, cfg.packet_size));
    let msg = encode_hello(&hello);
    send_packet(fd.as_fd(), &[IoSlice::new(&msg)], msg.len(), deadline)?;
    // One spare byte detects an over-long reply.
    let mut buf = [0u8; HELLO_ACK_MSG_LEN + 1];
    let got = recv_packet(fd.as_fd(), &mut buf, deadline, abort)?;
    let ack = check_ack(&buf[..got.stored], got.real, &hello, cfg)?;
    let shm = if ack.selected_profile & SHM_PROFILES != 0 {
        Some(attach_shm(endpoint, &ack, cfg, deadline, abort)?)
    } else {
        None
    };
    Ok(ClientParts { fd, ack, shm })
}

/// Attaches the session's SHM region, retrying "not ready" every 5 ms up
/// to `cfg.shm_attach_timeout` (or the caller's earlier deadline). Any
/// failure is [`Error::ShmAttach`]: the caller must close this session and
/// reconnect without SHM.
fn attach_shm(
    endpoint: &Endpoint,
    ack: &HelloAck,
    cfg: &ClientConfig,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<ShmRegion> {
    let attach = || {
        ShmRegion::attach(
            endpoint,
            ack.session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
            &cfg.shm,
        )
    };
    let wait = |step, limit| pause(step, limit, abort);
    attach_with_retry(cfg.shm_attach_timeout, deadline, attach, wait)
}

/// What a successful server handshake produced.
pub(crate) struct ServerParts {
    pub ack: HelloAck,
    pub shm: Option<ShmRegion>,
}

/// Runs the server side of the handshake on an accepted connection.
///
/// Malformed HELLOs (bad magic / header_len / kind / code, truncated or
/// over-long) are closed without an answer; a wrong header version is
/// rejected with INCOMPATIBLE; negotiation rejections are answered and the
/// mapped error returned. In every failure case the caller drops `fd`.
pub(crate) fn server_handshake(
    fd: BorrowedFd<'_>,
    endpoint: &Endpoint,
    cfg: &ServerConfig,
    session_id: u64,
    deadline: Deadline,
    abort: Option<&AbortHandle>,
) -> Result<ServerParts> {
    cfg.validate()?;
    let mut buf = [0u8; HELLO_MSG_LEN + 1];
    let got = recv_packet(fd, &mut buf, deadline, abort)?;
    let create = |ack: &HelloAck| {
        ShmRegion::create(
            endpoint,
            session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
            &cfg.shm,
        )
    };
    let send = |msg: &[u8]| send_packet(fd, &[IoSlice::new(msg)], msg.len(), deadline);
    let (ack, shm) = answer_hello(
        &buf[..got.stored],
        got.real > got.stored,
        cfg,
        proposed_packet_size(fd, cfg.packet_size),
        session_id,
        SHM_PROFILES,
        create,
        send,
    )?;
    Ok(ServerParts { ack, shm })
}
