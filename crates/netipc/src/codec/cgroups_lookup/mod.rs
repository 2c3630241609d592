//! `CGROUPS_LOOKUP` (method 4): cgroup path keys in, cgroup metadata out.
//!
//! - Requests: [`encode_cgroups_lookup_request`], the budget-aware
//!   [`CgroupsLookupRequestBuilder`] (used to split a logical lookup into
//!   requests that fit a payload budget), and the zero-copy
//!   [`CgroupsLookupRequestView`].
//! - Responses: the reusable [`CgroupsLookupBuilder`] (server side, with
//!   `PAYLOAD_EXCEEDED` / `OVERSIZED_ITEM` budget handling), the owned
//!   [`CgroupsLookupResponse`] encoder and the zero-copy
//!   [`CgroupsLookupResponseView`] / [`CgroupsLookupItemView`].
//!
//! Request keys are `path bytes + NUL`, their directory length includes the
//! NUL and must be at least 2. Response items have a 28-byte header, a path
//! (always at least one byte, echoing the request key), a name (may be
//! empty) and labels; non-`KNOWN` items carry only the path.
//!
//! Files: `request` (path validation, encoder, request builder and view), `owned`
//! (owned response types with their encoder), `builder` (the response
//! builder) and `view` (response and item views).

use crate::codec::lookup::{LOOKUP_REQ_HDR_SIZE, LOOKUP_RESP_HDR_SIZE};

mod builder;
mod owned;
mod request;
mod view;

#[cfg(test)]
mod tests;

pub use builder::CgroupsLookupBuilder;
pub use owned::{CgroupsLookupItem, CgroupsLookupResponse};
pub use request::{
    CgroupsLookupKeys, CgroupsLookupRequest, CgroupsLookupRequestBuilder, CgroupsLookupRequestView,
    cgroups_lookup_request_len, cgroups_lookup_single_request_len, encode_cgroups_lookup_request,
};
pub use view::{CgroupsLookupItemView, CgroupsLookupItems, CgroupsLookupResponseView};

/// Size of the fixed `CGROUPS_LOOKUP` request header.
pub const CGROUPS_LOOKUP_REQ_HDR_SIZE: usize = LOOKUP_REQ_HDR_SIZE;
/// Size of the fixed `CGROUPS_LOOKUP` response header.
pub const CGROUPS_LOOKUP_RESP_HDR_SIZE: usize = LOOKUP_RESP_HDR_SIZE;
/// Size of the fixed per-item response header.
pub const CGROUPS_LOOKUP_ITEM_HDR_SIZE: usize = 28;
/// Smallest valid request key directory length (one path byte + NUL).
pub const CGROUPS_LOOKUP_MIN_KEY_LEN: usize = 2;

/// Item header: `status` offset.
const ITEM_STATUS_OFF: usize = 2;
/// Item header: `orchestrator` offset.
const ITEM_ORCH_OFF: usize = 4;
/// Item header: `reserved0` offset.
const ITEM_RESERVED0_OFF: usize = 6;
/// Item header: `path_offset` offset.
const ITEM_PATH_OFF: usize = 8;
/// Item header: `path_length` offset.
const ITEM_PATH_LEN: usize = 12;
/// Item header: `name_offset` offset.
const ITEM_NAME_OFF: usize = 16;
/// Item header: `name_length` offset.
const ITEM_NAME_LEN: usize = 20;
/// Item header: `label_count` offset.
const ITEM_LABEL_COUNT: usize = 24;
/// Item header: `reserved1` offset.
const ITEM_RESERVED1_OFF: usize = 26;

/// Error-message names.
const REQ_WHAT: &str = "cgroups lookup request";
const RESP_WHAT: &str = "cgroups lookup response";
const KEY_WHAT: &str = "cgroups lookup key";
const ITEM_WHAT: &str = "cgroups lookup item";
