//! Envelope rules a session applies to every message it sends or
//! receives, whatever carries it (UDS packets, SHM, Named Pipe messages):
//! one place for the kind, length, batch and limit checks, and for sizing
//! an outgoing batch before it is built.

use crate::error::{Error, Result, Violation};
use crate::protocol::{DIR_ENTRY_SIZE, HEADER_LEN, ITEM_ALIGN, KIND_REQUEST};
use crate::wire::{Header, Limits};

/// Converts an outgoing length to `u32`; a caller error when it does not fit.
pub(crate) fn out_u32(n: usize, what: &'static str) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument(what))
}

/// Local checks on an outgoing message of `payload_len` bytes from a side
/// that sends `send_kind` under `send_limits`. Failures are caller errors:
/// nothing was sent and the session stays intact.
pub(crate) fn check_outgoing(
    header: &Header,
    payload_len: usize,
    send_kind: u16,
    send_limits: Limits,
) -> Result<()> {
    if header.kind != send_kind {
        return Err(Error::InvalidArgument(
            "message kind does not match this side",
        ));
    }
    if header.payload_len as usize != payload_len {
        return Err(Error::InvalidArgument(
            "header payload_len does not match the payload",
        ));
    }
    if header.is_batch_flagged() && header.item_count == 0 {
        return Err(Error::InvalidArgument("BATCH with item_count 0"));
    }
    header.check_limits(send_limits, send_kind == KIND_REQUEST)?;
    // total_message_len must fit in u32.
    out_u32(
        HEADER_LEN.saturating_add(payload_len),
        "message longer than 4 GiB",
    )?;
    Ok(())
}

/// Checks an incoming header against a side that receives `recv_kind`
/// under `recv_limits`. Failures are protocol violations by the peer.
pub(crate) fn check_incoming(header: &Header, recv_kind: u16, recv_limits: Limits) -> Result<()> {
    header.check_limits(recv_limits, recv_kind == KIND_REQUEST)?;
    if header.kind != recv_kind {
        return Err(Violation::UnexpectedKind.into());
    }
    if header.is_batch_flagged() && header.item_count == 0 {
        return Err(Violation::EmptyBatch.into());
    }
    Ok(())
}

/// Item count and payload size of the batch `items` would make (directory
/// plus 8-byte aligned items, padded to 8), computed before anything is
/// built so an oversized batch never is. The size fits in `u32`.
pub(crate) fn batch_layout(items: &[&[u8]]) -> Result<(u32, usize)> {
    let count = out_u32(items.len(), "too many batch items")?;
    let mut size = (count as usize)
        .checked_mul(DIR_ENTRY_SIZE)
        .ok_or(Error::InvalidArgument("batch too large"))?;
    for it in items {
        size = size
            .next_multiple_of(ITEM_ALIGN)
            .checked_add(it.len())
            .ok_or(Error::InvalidArgument("batch too large"))?;
    }
    size = size.next_multiple_of(ITEM_ALIGN);
    out_u32(size, "batch longer than 4 GiB")?;
    Ok((count, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{FLAG_BATCH, KIND_RESPONSE};
    use crate::wire::BatchBuilder;

    const LIMITS: Limits = Limits {
        max_payload: 64,
        max_items: 4,
    };

    #[test]
    fn outgoing_rules() {
        let h = Header::request(1, 1, 8);
        assert!(check_outgoing(&h, 8, KIND_REQUEST, LIMITS).is_ok());
        assert!(matches!(
            check_outgoing(&h, 8, KIND_RESPONSE, LIMITS),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            check_outgoing(&h, 9, KIND_REQUEST, LIMITS),
            Err(Error::InvalidArgument(_))
        ));
        let mut b = h;
        b.flags = FLAG_BATCH;
        b.item_count = 0;
        assert!(matches!(
            check_outgoing(&b, 8, KIND_REQUEST, LIMITS),
            Err(Error::InvalidArgument(_))
        ));
        let big = Header::request(1, 1, 65);
        assert!(matches!(
            check_outgoing(&big, 65, KIND_REQUEST, LIMITS),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn incoming_rules() {
        let h = Header::response(1, 1, 8);
        assert!(check_incoming(&h, KIND_RESPONSE, LIMITS).is_ok());
        assert!(matches!(
            check_incoming(&h, KIND_REQUEST, LIMITS),
            Err(Error::Protocol(Violation::UnexpectedKind))
        ));
        let mut b = h;
        b.flags = FLAG_BATCH;
        b.item_count = 0;
        assert!(matches!(
            check_incoming(&b, KIND_RESPONSE, LIMITS),
            Err(Error::Protocol(Violation::EmptyBatch))
        ));
        let mut many = h;
        many.item_count = 5;
        assert!(matches!(
            check_incoming(&many, KIND_RESPONSE, LIMITS),
            Err(Error::LimitExceeded { .. })
        ));
    }

    #[test]
    fn layout_matches_the_builder() {
        let items: [&[u8]; 3] = [b"a", b"0123456789", b""];
        let (count, size) = batch_layout(&items).unwrap();
        let mut v = Vec::new();
        let mut b = BatchBuilder::new(&mut v, count);
        for it in items {
            b.add(it).unwrap();
        }
        assert_eq!(b.finish().unwrap(), size);
    }
}
