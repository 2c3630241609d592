//! `CGROUPS_LOOKUP` requests: path validation, size helpers, the encoder,
//! the budget-aware request builder and the zero-copy view.

use crate::bytes::{Writer, check_no_interior_nul};
use crate::error::{DecodeError, Error};

use crate::codec::lookup::directory::{
    Directory, packed_len, pad_from, put_request_header, u32_sat, write_request_header,
};
use crate::codec::lookup::{LOOKUP_DIR_ENTRY_SIZE, MAX_BUDGET, directory_view};
use crate::protocol::ITEM_ALIGN;

use super::{CGROUPS_LOOKUP_MIN_KEY_LEN, CGROUPS_LOOKUP_REQ_HDR_SIZE, KEY_WHAT, REQ_WHAT};

/// Checks an application-supplied path: non-empty, no NUL byte.
pub(super) fn validate_path(path: &[u8]) -> Result<(), Error> {
    if path.is_empty() {
        return Err(Error::InvalidArgument("cgroup path must not be empty"));
    }
    if crate::bytes::has_nul(path) {
        return Err(Error::InvalidArgument("cgroup path contains a NUL byte"));
    }
    Ok(())
}

/// Size of a request holding exactly one key of `path_len` bytes (without
/// its NUL), or `None` on overflow. A key whose single-key request exceeds
/// the maximum request budget is an `OVERSIZED_ITEM` for Level 2.
#[inline]
pub fn cgroups_lookup_single_request_len(path_len: usize) -> Option<usize> {
    path_len.checked_add(1 + CGROUPS_LOOKUP_REQ_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE)
}

/// Validates `paths` and returns the exact encoded request size.
///
/// Fails with `InvalidArgument` on an empty path, a path containing NUL,
/// or a request whose size does not fit a `u32`.
pub fn cgroups_lookup_request_len<P: AsRef<[u8]>>(paths: &[P]) -> Result<usize, Error> {
    for p in paths {
        validate_path(p.as_ref())?;
    }
    let too_large = Error::InvalidArgument("cgroups lookup request too large");
    let keys =
        packed_len(paths.iter().map(|p| p.as_ref().len().saturating_add(1))).ok_or(too_large)?;
    paths
        .len()
        .checked_mul(LOOKUP_DIR_ENTRY_SIZE)
        .and_then(|d| d.checked_add(CGROUPS_LOOKUP_REQ_HDR_SIZE))
        .and_then(|d| d.checked_add(keys))
        .filter(|&n| n <= MAX_BUDGET)
        .ok_or(Error::InvalidArgument("cgroups lookup request too large"))
}

/// Encodes a request for `paths`, appending the payload to `out`.
///
/// Every path is validated (non-empty, no NUL) before anything is written;
/// on error `out` is unchanged.
pub fn encode_cgroups_lookup_request<P: AsRef<[u8]>>(
    paths: &[P],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let len = cgroups_lookup_request_len(paths)?;
    let base = out.len();
    // Laid out at once (zeroed: padding and NULs), then filled in place.
    out.resize(base + len, 0);
    let Some(payload) = out.get_mut(base..) else {
        return Ok(()); // cannot happen: just resized
    };
    let area = CGROUPS_LOOKUP_REQ_HDR_SIZE + paths.len() * LOOKUP_DIR_ENTRY_SIZE;
    let (head, keys) = payload.split_at_mut(area.min(payload.len()));
    let (hdr, dir) = head.split_at_mut(CGROUPS_LOOKUP_REQ_HDR_SIZE.min(head.len()));
    put_request_header(hdr, u32_sat(paths.len()));
    let mut at = 0usize;
    for (p, e) in paths
        .iter()
        .zip(dir.chunks_exact_mut(LOOKUP_DIR_ENTRY_SIZE))
    {
        let p = p.as_ref();
        let end = at + p.len();
        if let Some(key) = keys.get_mut(at..end) {
            key.copy_from_slice(p);
        }
        e[..4].copy_from_slice(&u32_sat(at).to_ne_bytes());
        e[4..].copy_from_slice(&u32_sat(p.len() + 1).to_ne_bytes());
        // The key's NUL is already there; the next key starts aligned.
        at = (end + 1).next_multiple_of(ITEM_ALIGN);
    }
    debug_assert_eq!(out.len() - base, len);
    Ok(())
}

/// An owned `CGROUPS_LOOKUP` request: the cgroup paths to look up.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CgroupsLookupRequest {
    /// Cgroup paths (non-empty, no NUL), without terminators.
    pub paths: Vec<Vec<u8>>,
}

impl CgroupsLookupRequest {
    /// Encodes the request, appending the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        encode_cgroups_lookup_request(&self.paths, out)
    }
}

/// Incremental, budget-aware request encoder.
///
/// Level 2 uses it to split a logical lookup into requests that fit the
/// request payload budget: [`push`](Self::push) adds the next key only if
/// the request still fits the budget afterwards. A key that does not fit
/// even into an empty builder at the maximum budget is an
/// `OVERSIZED_ITEM` (see [`cgroups_lookup_single_request_len`]).
///
/// The builder keeps its buffers across [`clear`](Self::clear), so steady
/// state use does not allocate.
#[derive(Debug, Clone)]
pub struct CgroupsLookupRequestBuilder {
    keys: Vec<u8>,
    entries: Vec<(u32, u32)>,
    budget: usize,
}

impl Default for CgroupsLookupRequestBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl CgroupsLookupRequestBuilder {
    /// An empty builder with an unlimited (`u32::MAX`) budget.
    pub fn new() -> Self {
        Self::with_budget(MAX_BUDGET)
    }

    /// An empty builder whose encoded request must stay within `budget`
    /// bytes (clamped to `u32::MAX`).
    pub fn with_budget(budget: usize) -> Self {
        CgroupsLookupRequestBuilder {
            keys: Vec::new(),
            entries: Vec::new(),
            budget: budget.min(MAX_BUDGET),
        }
    }

    /// Changes the budget (clamped to `u32::MAX`); keys already pushed stay.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget.min(MAX_BUDGET);
    }

    /// The request budget in bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Removes every key, keeping the allocations and the budget.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.entries.clear();
    }

    /// Number of keys pushed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key was pushed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Size of the request encoded now.
    pub fn encoded_len(&self) -> usize {
        CGROUPS_LOOKUP_REQ_HDR_SIZE + self.entries.len() * LOOKUP_DIR_ENTRY_SIZE + self.keys.len()
    }

    /// Size the request would have with one more key of `path_len` bytes
    /// (without NUL), or `None` on overflow.
    pub fn encoded_len_with(&self, path_len: usize) -> Option<usize> {
        (self.entries.len() + 1)
            .checked_mul(LOOKUP_DIR_ENTRY_SIZE)?
            .checked_add(CGROUPS_LOOKUP_REQ_HDR_SIZE)?
            .checked_add(
                self.keys
                    .len()
                    .checked_next_multiple_of(crate::protocol::ITEM_ALIGN)?,
            )?
            .checked_add(path_len)?
            .checked_add(1)
    }

    /// Whether one more key of `path_len` bytes would still fit the budget.
    pub fn fits(&self, path_len: usize) -> bool {
        self.encoded_len_with(path_len)
            .is_some_and(|n| n <= self.budget)
    }

    /// Validates `path` and appends it if the request still fits the budget.
    ///
    /// Returns `Ok(true)` if added, `Ok(false)` if it does not fit (nothing
    /// changes; finish this request and start the next one with this key),
    /// and `InvalidArgument` if the path is empty or contains NUL.
    pub fn push(&mut self, path: &[u8]) -> Result<bool, Error> {
        validate_path(path)?;
        if !self.fits(path.len()) {
            return Ok(false);
        }
        pad_from(&mut self.keys, 0);
        let off = self.keys.len();
        self.keys.extend_from_slice(path);
        self.keys.push(0);
        self.entries.push((u32_sat(off), u32_sat(path.len() + 1)));
        Ok(true)
    }

    /// Appends the encoded request to `out`.
    pub fn finish(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        write_request_header(out, u32_sat(self.entries.len()));
        let mut w = Writer::new(out);
        for &(off, len) in &self.entries {
            w.u32(off);
            w.u32(len);
        }
        w.bytes(&self.keys);
    }
}

/// A decoded `CGROUPS_LOOKUP` request.
///
/// **Borrowed / ephemeral**: the view borrows the payload bytes it was
/// decoded from and is valid only while that buffer is alive and
/// unchanged. In a Level 2 server callback it is valid only for the
/// duration of the callback; with caller-managed buffers, until the caller
/// reuses or frees them. Copy the keys (or call
/// [`to_owned`](Self::to_owned)) immediately if they are needed later.
///
/// Decoding validated every key, so access is infallible and allocation
/// free.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupRequestView<'a> {
    pub(super) dir: Directory<'a>,
}

impl<'a> CgroupsLookupRequestView<'a> {
    /// Decodes and fully validates a request payload.
    ///
    /// Rejects: a truncated header or directory (`Truncated`), a layout
    /// other than 1 (`BadLayoutVersion`), non-zero flags or reserved words
    /// (`NonZeroReserved`), directory overflow or keys out of bounds
    /// (`OutOfBounds`), key offsets not 8-byte aligned (`BadAlignment`),
    /// key lengths below 2 (`BadLength`), a key not ending in NUL
    /// (`MissingNul`) and a NUL inside a path (`InteriorNul`).
    pub fn decode(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let dir = Directory::parse_request(payload, REQ_WHAT)?;
        for i in 0..dir.count() {
            let (off, end) = dir.entry_range(i, KEY_WHAT)?;
            if end - off < CGROUPS_LOOKUP_MIN_KEY_LEN {
                return Err(DecodeError::BadLength {
                    what: "cgroups lookup key length must be >= 2",
                });
            }
            match dir.range(off, end).split_last() {
                Some((0, path)) => check_no_interior_nul(path, KEY_WHAT)?,
                _ => return Err(DecodeError::MissingNul { what: KEY_WHAT }),
            }
        }
        Ok(CgroupsLookupRequestView { dir })
    }

    /// Copies the request into an owned [`CgroupsLookupRequest`].
    pub fn to_owned(&self) -> CgroupsLookupRequest {
        CgroupsLookupRequest {
            paths: self.iter().map(<[u8]>::to_vec).collect(),
        }
    }

    #[inline]
    fn key_at(&self, i: usize) -> &'a [u8] {
        let k = self.dir.slice(i);
        k.split_last().map_or(k, |(_, path)| path)
    }
}

directory_view! {
    CgroupsLookupRequestView => CgroupsLookupKeys, &'a [u8], key_at;
    /// Number of keys.
    len;
    /// Whether the request has no keys (a no-op probe).
    is_empty;
    /// Path of key `i`, without its NUL.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    key, "cgroups lookup key index out of range";
    /// Path of key `i`, or `None` if `i` is out of range.
    get;
    /// Iterates over the paths in request order.
    iter;
    /// Iterator over the paths of a [`CgroupsLookupRequestView`]
    /// (borrowed from the payload, see the view's lifetime contract).
    iterator;
}
