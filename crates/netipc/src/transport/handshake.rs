//! The platform-neutral half of the HELLO / HELLO_ACK exchange: whole
//! message encoding, the client's validation of a HELLO_ACK and its SHM
//! attach retries, the server's checks of a HELLO and its answer, and the
//! mapping of rejection statuses to errors. The server decision itself is
//! the pure [`crate::wire::negotiate`]; the transports move the bytes.

use std::time::{Duration, Instant};

use crate::error::{DecodeError, Error, Limit, Result, Violation};
use crate::protocol::{
    CODE_HELLO, CODE_HELLO_ACK, HEADER_LEN, KIND_CONTROL, PROFILE_BASELINE, STATUS_AUTH_FAILED,
    STATUS_INCOMPATIBLE, STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::transport::abort::Deadline;
use crate::transport::config::{SHM_ATTACH_RETRY, ServerConfig};
use crate::wire::hello::{HELLO_ACK_LEN, HELLO_LEN};
use crate::wire::{Header, Hello, HelloAck, Negotiation, negotiate};

/// Length of a HELLO message (header + payload).
pub const HELLO_MSG_LEN: usize = HEADER_LEN + HELLO_LEN;
/// Length of a HELLO_ACK message (header + payload).
pub const HELLO_ACK_MSG_LEN: usize = HEADER_LEN + HELLO_ACK_LEN;

/// Maps a non-OK handshake `transport_status` to the crate error.
///
/// `LIMIT_EXCEEDED` names the request payload (the only limit a server
/// rejects in a handshake); `max` is 0 because a rejection does not
/// disclose the server's budget.
pub fn handshake_status_error(status: u16, proposed_request_payload: u32) -> Error {
    match status {
        STATUS_AUTH_FAILED => Error::AuthFailed,
        STATUS_UNSUPPORTED => Error::Unsupported,
        STATUS_INCOMPATIBLE => Error::Incompatible,
        STATUS_LIMIT_EXCEEDED => Error::LimitExceeded {
            limit: Limit::RequestPayload,
            max: 0,
            actual: proposed_request_payload.into(),
        },
        s => Error::Status(s),
    }
}

/// The function type behind a [`RejectHook`]: `(status, hello)`.
pub type RejectFn = dyn Fn(u16, &crate::wire::Hello) + Send + Sync;

/// A callback run before a handshake rejection is sent.
#[derive(Clone)]
pub struct RejectHook(pub std::sync::Arc<RejectFn>);

impl std::fmt::Debug for RejectHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RejectHook(..)")
    }
}

/// Encodes a whole HELLO message.
pub(crate) fn encode_hello(hello: &Hello) -> [u8; HELLO_MSG_LEN] {
    let mut msg = [0u8; HELLO_MSG_LEN];
    Header::control(CODE_HELLO, STATUS_OK, HELLO_LEN as u32).encode_into(&mut msg);
    msg[HEADER_LEN..].copy_from_slice(&hello.encode());
    msg
}

/// Encodes a whole HELLO_ACK message with `status`.
pub(crate) fn encode_ack(status: u16, ack: &HelloAck) -> [u8; HELLO_ACK_MSG_LEN] {
    let mut msg = [0u8; HELLO_ACK_MSG_LEN];
    Header::control(CODE_HELLO_ACK, status, HELLO_ACK_LEN as u32).encode_into(&mut msg);
    msg[HEADER_LEN..].copy_from_slice(&ack.encode());
    msg
}

/// Validates a received HELLO_ACK message (`bytes` as stored, `real` its
/// message length) against the HELLO we sent and our response ceiling.
///
/// The transport status is read first: a rejection is accepted with or
/// without its payload.
pub(crate) fn check_ack_bytes(
    bytes: &[u8],
    real: usize,
    hello: &Hello,
    response_payload_cap: u32,
) -> Result<HelloAck> {
    let header = match Header::decode(bytes) {
        Ok(h) => h,
        Err(DecodeError::BadVersion { .. }) => return Err(Error::Incompatible),
        Err(e) => return Err(e.into()),
    };
    if header.kind != KIND_CONTROL || header.code != CODE_HELLO_ACK {
        return Err(Violation::Handshake.into());
    }
    if header.transport_status != STATUS_OK {
        return Err(handshake_status_error(
            header.transport_status,
            hello.max_request_payload_bytes,
        ));
    }
    if header.payload_len as usize != HELLO_ACK_LEN || real != HELLO_ACK_MSG_LEN {
        return Err(Violation::Handshake.into());
    }
    let ack = HelloAck::decode(&bytes[HEADER_LEN..])?;
    let p = ack.agreed_packet_size;
    if p as usize <= HEADER_LEN || p > hello.packet_size {
        return Err(Violation::Handshake.into());
    }
    let sel = ack.selected_profile;
    if !sel.is_power_of_two() || sel & hello.supported_profiles == 0 {
        return Err(Violation::Handshake.into());
    }
    if ack.agreed_max_request_batch_items != ack.agreed_max_response_batch_items {
        return Err(Violation::Handshake.into());
    }
    if ack.agreed_max_request_payload_bytes > hello.max_request_payload_bytes {
        return Err(Violation::Handshake.into());
    }
    if ack.agreed_max_response_payload_bytes > response_payload_cap {
        return Err(Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: response_payload_cap.into(),
            actual: ack.agreed_max_response_payload_bytes.into(),
        });
    }
    Ok(ack)
}

/// Attaches a session's SHM region with `attach`, retrying "not ready"
/// every [`SHM_ATTACH_RETRY`] (each wait is `pause(limit)`, which fails
/// with [`Error::Timeout`] once `limit` passed) up to `timeout` or the
/// caller's earlier `deadline`. Any failure is [`Error::ShmAttach`] (or
/// the abort of the wait): the caller closes the session and reconnects
/// without SHM.
pub(crate) fn attach_with_retry<S>(
    timeout: Duration,
    deadline: Deadline,
    mut attach: impl FnMut() -> Result<S>,
    mut pause: impl FnMut(Duration, Deadline) -> Result<()>,
) -> Result<S> {
    let bound = Instant::now().checked_add(timeout);
    let limit = match (deadline.instant(), bound) {
        (Some(d), Some(b)) if d < b => deadline,
        _ => Deadline::after(timeout),
    };
    loop {
        match attach() {
            Ok(region) => return Ok(region),
            Err(Error::ShmNotReady) => match pause(SHM_ATTACH_RETRY, limit) {
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

/// The server side of the handshake once the HELLO packet was read
/// (`bytes` as stored, `truncated` when the packet was longer).
///
/// Malformed HELLOs (bad magic / header_len / kind / code, truncated or
/// over-long) fail without an answer; a wrong header version is rejected
/// with INCOMPATIBLE; negotiation rejections (decided with the offer of
/// `cfg` for `packet_size`) run `cfg.on_reject`, are answered and the
/// mapped error returned. When a profile in `shm_profiles` is selected,
/// `create_shm` provisions the region before the HELLO_ACK names it; if
/// that fails the session continues on the baseline when the client
/// supports it, else the client gets UNSUPPORTED. `send` writes one whole
/// message; the send failures of rejections are ignored (the connection is
/// closed right after).
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer_hello<S>(
    bytes: &[u8],
    truncated: bool,
    cfg: &ServerConfig,
    packet_size: u32,
    session_id: u64,
    shm_profiles: u32,
    create_shm: impl FnOnce(&HelloAck) -> Result<S>,
    mut send: impl FnMut(&[u8]) -> Result<()>,
) -> Result<(HelloAck, Option<S>)> {
    let mut reject = |status| {
        let _ = send(&encode_ack(status, &HelloAck::rejection()));
    };
    let header = match Header::decode(bytes) {
        Ok(h) => h,
        Err(DecodeError::BadVersion { .. }) => {
            reject(STATUS_INCOMPATIBLE);
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
    if header.payload_len as usize != HELLO_LEN || bytes.len() < HELLO_MSG_LEN {
        return Err(DecodeError::Truncated {
            what: "hello",
            need: HELLO_MSG_LEN,
            have: bytes.len().min(HEADER_LEN + header.payload_len as usize),
        }
        .into());
    }
    if truncated || bytes.len() != HELLO_MSG_LEN {
        return Err(Violation::PacketLength.into());
    }
    let payload = &bytes[HEADER_LEN..];
    let mut ack = match negotiate(payload, &cfg.offer_with(packet_size), session_id) {
        Negotiation::Accept(ack) => ack,
        Negotiation::Reject(status) => {
            let hello = Hello::decode(payload).ok();
            if let (Some(hook), Some(h)) = (&cfg.on_reject, &hello) {
                (hook.0)(status, h);
            }
            reject(status);
            let proposed = hello.map_or(0, |h| h.max_request_payload_bytes);
            return Err(handshake_status_error(status, proposed));
        }
        Negotiation::Drop => return Err(Violation::Handshake.into()),
    };
    let shm = if ack.selected_profile & shm_profiles != 0 {
        match create_shm(&ack) {
            Ok(region) => Some(region),
            Err(_) if ack.intersection_profiles & PROFILE_BASELINE != 0 => {
                ack.selected_profile = PROFILE_BASELINE;
                None
            }
            Err(e) => {
                reject(STATUS_UNSUPPORTED);
                return Err(e);
            }
        }
    } else {
        None
    };
    send(&encode_ack(STATUS_OK, &ack))?;
    Ok((ack, shm))
}
