//! The two message areas of a per-session SHM region, and the rules on
//! them that are the same on every platform (POSIX SHM, Win SHM): how a
//! server sizes and places them, and the attach-time checks a client
//! applies to the offsets and capacities a peer wrote.
//!
//! Each platform adds the parts tied to its own header (`for_payloads`,
//! `mapped_len`, `validate` in `shm::layout` / `windows::shm::layout`).
//! Pure (no I/O, no `unsafe`).

use crate::bytes::align64;
use crate::error::{Error, Result};
use crate::protocol::HEADER_LEN;

/// Where the two message areas sit in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionLayout {
    /// Byte offset of the request area.
    pub request_offset: u32,
    /// Size of the request area.
    pub request_capacity: u32,
    /// Byte offset of the response area.
    pub response_offset: u32,
    /// Size of the response area.
    pub response_capacity: u32,
}

/// `align64(32 + payload)` as a `u32`, or `None` on overflow.
fn area_capacity(max_payload: u32) -> Option<u32> {
    let need = usize::try_from(max_payload).ok()?.checked_add(HEADER_LEN)?;
    u32::try_from(align64(need)?).ok()
}

/// What a region header says about itself, next to what this side expects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity {
    /// `magic` as read, and the expected value.
    pub magic: (u32, u32),
    /// `version` as read, and the expected value.
    pub version: (u32, u32),
    /// `header_len` as read, and the expected value.
    pub header_len: (usize, usize),
}

impl Identity {
    /// Attach rules on the header's identity: an all-zero magic is
    /// `ShmNotReady` (the creator has not written the header yet); a
    /// different magic, version or header length is `ShmAttach(rule)`.
    pub(crate) fn check(&self) -> Result<()> {
        if self.magic.0 == 0 {
            return Err(Error::ShmNotReady);
        }
        if self.magic.0 != self.magic.1 {
            return Err(Error::ShmAttach("bad region magic"));
        }
        if self.version.0 != self.version.1 {
            return Err(Error::ShmAttach("unsupported region version"));
        }
        if self.header_len.0 != self.header_len.1 {
            return Err(Error::ShmAttach("bad region header_len"));
        }
        Ok(())
    }
}

impl RegionLayout {
    /// The layout a server creates for the agreed payload budgets: each
    /// area `align64(32 + budget)` (one whole message, envelope included),
    /// request area right after a header of `header_len` bytes, response
    /// area right after it.
    ///
    /// Fails with `InvalidArgument` if the region would not fit `u32`
    /// offsets.
    pub(crate) fn after_header(
        header_len: usize,
        max_request_payload: u32,
        max_response_payload: u32,
    ) -> Result<Self> {
        const TOO_BIG: Error = Error::InvalidArgument("SHM payload budgets too large for a region");
        let request_capacity = area_capacity(max_request_payload).ok_or(TOO_BIG)?;
        let response_capacity = area_capacity(max_response_payload).ok_or(TOO_BIG)?;
        let request_offset = u32::try_from(header_len).map_err(|_| TOO_BIG)?;
        let response_offset = request_offset
            .checked_add(request_capacity)
            .ok_or(TOO_BIG)?;
        // The end of the response area must fit too, so that every offset a
        // peer could compute stays representable.
        response_offset
            .checked_add(response_capacity)
            .ok_or(TOO_BIG)?;
        Ok(RegionLayout {
            request_offset,
            request_capacity,
            response_offset,
            response_capacity,
        })
    }

    /// End of the request area (exclusive).
    pub fn request_end(&self) -> u64 {
        u64::from(self.request_offset) + u64::from(self.request_capacity)
    }

    /// End of the response area (exclusive).
    pub fn response_end(&self) -> u64 {
        u64::from(self.response_offset) + u64::from(self.response_capacity)
    }

    /// Bytes that must be mapped to cover a header of `header_len` bytes
    /// and both areas.
    pub(crate) fn mapped_len_after(&self, header_len: usize) -> u64 {
        self.request_end()
            .max(self.response_end())
            .max(header_len as u64)
    }

    /// Attach rule: neither area starts inside a header of `header_len`
    /// bytes.
    pub(crate) fn check_past_header(&self, header_len: usize) -> Result<()> {
        let min_off = header_len as u64;
        if u64::from(self.request_offset) < min_off || u64::from(self.response_offset) < min_off {
            return Err(Error::ShmAttach("area offset inside the region header"));
        }
        Ok(())
    }

    /// Attach rule: both areas start on a multiple of `align`.
    pub(crate) fn check_offsets_aligned(&self, align: u32) -> Result<()> {
        if self.request_offset % align != 0 || self.response_offset % align != 0 {
            return Err(Error::ShmAttach("area offset not 64-byte aligned"));
        }
        Ok(())
    }

    /// Attach rule: neither area is empty.
    pub(crate) fn check_not_empty(&self) -> Result<()> {
        if self.request_capacity == 0 || self.response_capacity == 0 {
            return Err(Error::ShmAttach("zero area capacity"));
        }
        Ok(())
    }

    /// Attach rules: the response area starts at or after
    /// `request_region_end` (the end of the request area, as the platform
    /// rounds it), and both areas end within `len` accessible bytes
    /// (`outside` names that rule).
    pub(crate) fn check_placement(
        &self,
        request_region_end: u64,
        len: u64,
        outside: &'static str,
    ) -> Result<()> {
        if u64::from(self.response_offset) < request_region_end {
            return Err(Error::ShmAttach("response area overlaps the request area"));
        }
        if self.request_end() > len || self.response_end() > len {
            return Err(Error::ShmAttach(outside));
        }
        Ok(())
    }

    /// Attach rule: each area holds one whole message of the agreed
    /// payload budget.
    pub(crate) fn check_room(
        &self,
        max_request_payload: u32,
        max_response_payload: u32,
    ) -> Result<()> {
        let need = |payload: u32| u64::from(payload) + HEADER_LEN as u64;
        if u64::from(self.request_capacity) < need(max_request_payload) {
            return Err(Error::ShmAttach(
                "request area smaller than the agreed payload",
            ));
        }
        if u64::from(self.response_capacity) < need(max_response_payload) {
            return Err(Error::ShmAttach(
                "response area smaller than the agreed payload",
            ));
        }
        Ok(())
    }

    /// The (offset, capacity) and sequence number of the area a side
    /// sends into, then of the one it receives from: a client sends
    /// requests, a server responses (`req_seq`, `resp_seq` are the
    /// sequence numbers of the request and response areas).
    pub(crate) fn directions<S>(&self, client: bool, req_seq: S, resp_seq: S) -> Directions<S> {
        let req = (self.request_offset as usize, self.request_capacity as usize);
        let resp = (
            self.response_offset as usize,
            self.response_capacity as usize,
        );
        if client {
            ((req, req_seq), (resp, resp_seq))
        } else {
            ((resp, resp_seq), (req, req_seq))
        }
    }
}

/// `((tx offset, tx capacity), tx sequence), ((rx offset, rx capacity), rx
/// sequence)` of one side of a region.
pub(crate) type Directions<S> = (((usize, usize), S), ((usize, usize), S));
