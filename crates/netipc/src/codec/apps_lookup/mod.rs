//! `APPS_LOOKUP` (method 5): PID keys in, process and cgroup metadata out.
//!
//! - Requests: [`encode_apps_lookup_request`], the size helpers
//!   [`apps_lookup_request_len`] / [`apps_lookup_request_max_items`] (used
//!   to split a logical lookup to a payload budget), and the zero-copy
//!   [`AppsLookupRequestView`].
//! - Responses: the reusable [`AppsLookupBuilder`] (server side, with
//!   `PAYLOAD_EXCEEDED` / `OVERSIZED_ITEM` budget handling), the owned
//!   [`AppsLookupResponse`] encoder and the zero-copy
//!   [`AppsLookupResponseView`] / [`AppsLookupItemView`].
//!
//! Request keys are fixed 8-byte binary structs (`pid: u32`,
//! `reserved: u32 = 0`), not strings: their directory length is always 8.
//! Response items have a 60-byte header (an explicit wire size, never the
//! size of a padded struct), then `comm`, `cgroup_path` and `cgroup_name`
//! strings (each with its NUL, even when empty) and labels.
//!
//! Files: `request` (size helpers, encoder, owned request and view), `owned`
//! (builder entries and owned response types with their encoder), `builder`
//! (the response builder) and `view` (response and item views).

use crate::codec::lookup::{LOOKUP_REQ_HDR_SIZE, LOOKUP_RESP_HDR_SIZE, PidStatus};
use crate::protocol::LAYOUT_VERSION;

mod builder;
mod owned;
mod request;
mod view;

#[cfg(test)]
mod tests;

pub use builder::AppsLookupBuilder;
pub use owned::{AppsLookupEntry, AppsLookupItem, AppsLookupResponse};
pub use request::{
    AppsLookupPids, AppsLookupRequest, AppsLookupRequestView, apps_lookup_request_len,
    apps_lookup_request_max_items, encode_apps_lookup_request,
};
pub use view::{AppsLookupItemView, AppsLookupItems, AppsLookupResponseView};

/// Size of the fixed `APPS_LOOKUP` request header.
pub const APPS_LOOKUP_REQ_HDR_SIZE: usize = LOOKUP_REQ_HDR_SIZE;
/// Size of the fixed `APPS_LOOKUP` response header.
pub const APPS_LOOKUP_RESP_HDR_SIZE: usize = LOOKUP_RESP_HDR_SIZE;
/// Wire size of the per-item response header (natural C alignment would
/// pad a struct to 64; the wire uses 60).
pub const APPS_LOOKUP_ITEM_HDR_SIZE: usize = 60;
/// Size of one request key (`pid: u32`, `reserved: u32`).
pub const APPS_LOOKUP_KEY_SIZE: usize = 8;
/// The `uid` value meaning "not set".
pub const UID_UNSET: u32 = 0xFFFF_FFFF;
/// Longest `comm` (Linux `TASK_COMM_LEN - 1`).
pub const APPS_LOOKUP_COMM_MAX_LEN: usize = 15;
/// Size of the minimal (non-enriched) item: header plus three empty
/// strings' NULs.
pub const APPS_LOOKUP_MIN_ITEM_SIZE: usize = APPS_LOOKUP_ITEM_HDR_SIZE + 3;

/// Request key: `reserved` offset.
const KEY_RESERVED_OFF: usize = 4;
/// Item header field offsets.
const ITEM_STATUS_OFF: usize = 2;
const ITEM_ORCH_OFF: usize = 4;
const ITEM_CGROUP_STATUS_OFF: usize = 6;
const ITEM_PID_OFF: usize = 8;
const ITEM_PPID_OFF: usize = 12;
const ITEM_UID_OFF: usize = 16;
const ITEM_RESERVED0_OFF: usize = 20;
const ITEM_STARTTIME_OFF: usize = 24;
const ITEM_COMM_OFF: usize = 32;
const ITEM_COMM_LEN: usize = 36;
const ITEM_PATH_OFF: usize = 40;
const ITEM_PATH_LEN: usize = 44;
const ITEM_NAME_OFF: usize = 48;
const ITEM_NAME_LEN: usize = 52;
const ITEM_LABEL_COUNT: usize = 56;
const ITEM_RESERVED1_OFF: usize = 58;

/// The minimal item (the values of `AppsLookupEntry::UNKNOWN`, empty
/// strings, no labels) of PID 0 with status `UNKNOWN`.
pub(super) const MINIMAL_ITEM: [u8; APPS_LOOKUP_MIN_ITEM_SIZE] = {
    const fn put(
        mut it: [u8; APPS_LOOKUP_MIN_ITEM_SIZE],
        at: usize,
        b: &[u8],
    ) -> [u8; APPS_LOOKUP_MIN_ITEM_SIZE] {
        let mut i = 0;
        while i < b.len() {
            it[at + i] = b[i];
            i += 1;
        }
        it
    }
    let hdr = APPS_LOOKUP_ITEM_HDR_SIZE as u32;
    let mut it = [0u8; APPS_LOOKUP_MIN_ITEM_SIZE];
    it = put(it, 0, &LAYOUT_VERSION.to_ne_bytes());
    it = put(
        it,
        ITEM_STATUS_OFF,
        &PidStatus::Unknown.as_u16().to_ne_bytes(),
    );
    it = put(it, ITEM_UID_OFF, &UID_UNSET.to_ne_bytes());
    it = put(it, ITEM_COMM_OFF, &hdr.to_ne_bytes());
    it = put(it, ITEM_PATH_OFF, &(hdr + 1).to_ne_bytes());
    put(it, ITEM_NAME_OFF, &(hdr + 2).to_ne_bytes())
};

/// Error-message names.
const REQ_WHAT: &str = "apps lookup request";
const RESP_WHAT: &str = "apps lookup response";
const KEY_WHAT: &str = "apps lookup key";
const ITEM_WHAT: &str = "apps lookup item";
