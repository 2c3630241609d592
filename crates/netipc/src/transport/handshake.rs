//! The platform-neutral half of the HELLO / HELLO_ACK exchange: whole
//! message encoding, the client's validation of a HELLO_ACK, and the
//! mapping of rejection statuses to errors. The server decision itself is
//! the pure [`crate::wire::negotiate`]; the transports move the bytes.

use crate::error::{DecodeError, Error, Limit, Result, Violation};
use crate::protocol::{
    CODE_HELLO, CODE_HELLO_ACK, HEADER_LEN, KIND_CONTROL, STATUS_AUTH_FAILED, STATUS_INCOMPATIBLE,
    STATUS_LIMIT_EXCEEDED, STATUS_OK, STATUS_UNSUPPORTED,
};
use crate::wire::hello::{HELLO_ACK_LEN, HELLO_LEN};
use crate::wire::{Header, Hello, HelloAck};

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
