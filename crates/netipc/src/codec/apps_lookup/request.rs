//! `APPS_LOOKUP` requests: size helpers, the encoder, the owned request and
//! the zero-copy view.

use crate::bytes::Writer;
use crate::error::{DecodeError, Error};

use crate::codec::lookup::directory::{Directory, rd_u32, u32_sat, write_request_header};
use crate::codec::lookup::{LOOKUP_DIR_ENTRY_SIZE, MAX_BUDGET, directory_view};

use super::{APPS_LOOKUP_KEY_SIZE, APPS_LOOKUP_REQ_HDR_SIZE, KEY_RESERVED_OFF, KEY_WHAT, REQ_WHAT};

/// Exact encoded size of a request for `count` PIDs, or `None` if it
/// overflows or exceeds `u32::MAX`.
#[inline]
pub fn apps_lookup_request_len(count: usize) -> Option<usize> {
    count
        .checked_mul(LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_SIZE)
        .and_then(|n| n.checked_add(APPS_LOOKUP_REQ_HDR_SIZE))
        .filter(|&n| n <= MAX_BUDGET)
}

/// Most PIDs one request may hold within a `budget`-byte payload.
#[inline]
pub fn apps_lookup_request_max_items(budget: usize) -> usize {
    budget
        .min(MAX_BUDGET)
        .saturating_sub(APPS_LOOKUP_REQ_HDR_SIZE)
        / (LOOKUP_DIR_ENTRY_SIZE + APPS_LOOKUP_KEY_SIZE)
}

/// Encodes a request for `pids`, appending the payload to `out`.
///
/// Fails with `InvalidArgument` only if the request would exceed
/// `u32::MAX` bytes; `out` is then unchanged.
pub fn encode_apps_lookup_request(pids: &[u32], out: &mut Vec<u8>) -> Result<(), Error> {
    let len = apps_lookup_request_len(pids.len())
        .ok_or(Error::InvalidArgument("apps lookup request too large"))?;
    out.reserve(len);
    write_request_header(out, u32_sat(pids.len()));
    let mut w = Writer::new(out);
    for i in 0..pids.len() {
        w.u32(u32_sat(i * APPS_LOOKUP_KEY_SIZE));
        w.u32(u32_sat(APPS_LOOKUP_KEY_SIZE));
    }
    for &pid in pids {
        w.u32(pid);
        w.u32(0);
    }
    Ok(())
}

/// An owned `APPS_LOOKUP` request: the PIDs to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AppsLookupRequest {
    /// PIDs in request order.
    pub pids: Vec<u32>,
}

impl AppsLookupRequest {
    /// Encodes the request, appending the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_apps_lookup_request(&self.pids, out)
    }
}

/// A decoded `APPS_LOOKUP` request.
///
/// **Borrowed / ephemeral**: the view borrows the payload bytes it was
/// decoded from and is valid only while that buffer is alive and
/// unchanged. In a Level 2 server callback it is valid only for the
/// duration of the callback; with caller-managed buffers, until the caller
/// reuses or frees them. Copy the PIDs (or call
/// [`to_owned`](Self::to_owned)) if they are needed later.
///
/// Decoding validated every key, so access is infallible.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupRequestView<'a> {
    pub(super) dir: Directory<'a>,
}

impl<'a> AppsLookupRequestView<'a> {
    /// Decodes and fully validates a request payload.
    ///
    /// Rejects: a truncated header or directory (`Truncated`), a layout
    /// other than 1 (`BadLayoutVersion`), non-zero flags, reserved words or
    /// key `reserved` fields (`NonZeroReserved`), directory overflow or keys
    /// out of bounds (`OutOfBounds`), key offsets not 8-byte aligned
    /// (`BadAlignment`) and directory lengths other than 8 (`BadLength`).
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let dir = Directory::parse_request(payload, REQ_WHAT)?;
        for i in 0..dir.count() {
            let (off, end) = dir.entry_range(i, KEY_WHAT)?;
            if end - off != APPS_LOOKUP_KEY_SIZE {
                return Err(DecodeError::BadLength {
                    what: "apps lookup key length must be 8",
                });
            }
            if rd_u32(dir.range(off, end), KEY_RESERVED_OFF) != 0 {
                return Err(DecodeError::NonZeroReserved {
                    field: "key reserved",
                });
            }
        }
        Ok(AppsLookupRequestView { dir })
    }

    /// Copies the request into an owned [`AppsLookupRequest`].
    pub fn to_owned(&self) -> AppsLookupRequest {
        AppsLookupRequest {
            pids: self.iter().collect(),
        }
    }

    #[inline]
    fn pid_at(&self, i: usize) -> u32 {
        rd_u32(self.dir.slice(i), 0)
    }
}

directory_view! {
    AppsLookupRequestView => AppsLookupPids, u32, pid_at;
    /// Number of PIDs.
    len;
    /// Whether the request has no PIDs (a no-op probe).
    is_empty;
    /// PID `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pid, "apps lookup key index out of range";
    /// PID `i`, or `None` if `i` is out of range.
    get;
    /// Iterates over the PIDs in request order.
    iter;
    /// Iterator over the PIDs of an [`AppsLookupRequestView`].
    iterator;
}
