//! The HELLO / HELLO_ACK exchange, both sides.
//!
//! The server decision itself is the pure [`crate::wire::negotiate`]; this
//! module moves the bytes, applies the deadline, provisions SHM before a
//! successful HELLO_ACK, and validates the ACK on the client side.

use std::io::IoSlice;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType, connect, socket_with};

use crate::error::{DecodeError, Error, Result, Violation};
use crate::protocol::{
    CODE_HELLO, HEADER_LEN, KIND_CONTROL, PROFILE_BASELINE, STATUS_INCOMPATIBLE, STATUS_OK,
    STATUS_UNSUPPORTED,
};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::endpoint::Endpoint;
use crate::transport::shm::ShmRegion;
use crate::wire::hello::HELLO_LEN;
use crate::wire::{Header, Hello, HelloAck, Negotiation, negotiate};

use crate::transport::handshake::{
    HELLO_ACK_MSG_LEN, HELLO_MSG_LEN, check_ack_bytes, handshake_status_error,
};
pub(crate) use crate::transport::handshake::{encode_ack, encode_hello};

use super::config::{ClientConfig, SHM_ATTACH_RETRY, SHM_PROFILES, ServerConfig};
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
    let bound = Instant::now().checked_add(cfg.shm_attach_timeout);
    let limit = match (deadline.instant(), bound) {
        (Some(d), Some(b)) if d < b => deadline,
        _ => Deadline::after(cfg.shm_attach_timeout),
    };
    loop {
        match ShmRegion::attach(
            endpoint,
            ack.session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
            &cfg.shm,
        ) {
            Ok(region) => return Ok(region),
            Err(Error::ShmNotReady) => match pause(SHM_ATTACH_RETRY, limit, abort) {
                Ok(()) => {}
                Err(Error::Timeout) => {
                    return Err(Error::ShmAttach("SHM region not ready in time"));
                }
                Err(e) => return Err(e),
            },
            Err(e @ Error::ShmAttach(_)) => return Err(e),
            Err(_) => return Err(Error::ShmAttach("attaching the SHM region failed")),
        }
    }
}

/// What a successful server handshake produced.
pub(crate) struct ServerParts {
    pub ack: HelloAck,
    pub shm: Option<ShmRegion>,
}

/// Sends a rejection HELLO_ACK (full 48-byte payload, layout 1, zeros).
/// Send failures are ignored: the connection is closed right after.
fn send_rejection(fd: BorrowedFd<'_>, status: u16, deadline: Deadline) {
    let msg = encode_ack(status, &HelloAck::rejection());
    let _ = send_packet(fd, &[IoSlice::new(&msg)], msg.len(), deadline);
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
    let bytes = &buf[..got.stored];
    let header = match Header::decode(bytes) {
        Ok(h) => h,
        Err(DecodeError::BadVersion { .. }) => {
            send_rejection(fd, STATUS_INCOMPATIBLE, deadline);
            return Err(Error::Incompatible);
        }
        Err(e) => return Err(e.into()),
    };
    if header.kind != KIND_CONTROL {
        return Err(Violation::UnexpectedKind.into());
    }
    if header.code != CODE_HELLO {
        return Err(Violation::UnexpectedCode.into());
    }
    if header.payload_len as usize != HELLO_LEN || got.real < HELLO_MSG_LEN {
        return Err(DecodeError::Truncated {
            what: "hello",
            need: HELLO_MSG_LEN,
            have: got.real.min(HEADER_LEN + header.payload_len as usize),
        }
        .into());
    }
    if got.real != HELLO_MSG_LEN {
        return Err(Violation::PacketLength.into());
    }
    let packet = proposed_packet_size(fd, cfg.packet_size);
    let mut ack = match negotiate(
        &bytes[HEADER_LEN..HELLO_MSG_LEN],
        &cfg.offer(packet),
        session_id,
    ) {
        Negotiation::Accept(ack) => ack,
        Negotiation::Reject(status) => {
            let hello = Hello::decode(&bytes[HEADER_LEN..]).ok();
            if let (Some(hook), Some(h)) = (&cfg.on_reject, &hello) {
                (hook.0)(status, h);
            }
            send_rejection(fd, status, deadline);
            let proposed = hello.map_or(0, |h| h.max_request_payload_bytes);
            return Err(handshake_status_error(status, proposed));
        }
        Negotiation::Drop => return Err(Violation::Handshake.into()),
    };
    let shm = if ack.selected_profile & SHM_PROFILES != 0 {
        // The region must exist before a successful HELLO_ACK names it.
        match ShmRegion::create(
            endpoint,
            session_id,
            ack.agreed_max_request_payload_bytes,
            ack.agreed_max_response_payload_bytes,
            &cfg.shm,
        ) {
            Ok(region) => Some(region),
            Err(_) if ack.intersection_profiles & PROFILE_BASELINE != 0 => {
                ack.selected_profile = PROFILE_BASELINE;
                None
            }
            Err(e) => {
                send_rejection(fd, STATUS_UNSUPPORTED, deadline);
                return Err(e);
            }
        }
    } else {
        None
    };
    let msg = encode_ack(STATUS_OK, &ack);
    send_packet(fd, &[IoSlice::new(&msg)], msg.len(), deadline)?;
    Ok(ServerParts { ack, shm })
}
