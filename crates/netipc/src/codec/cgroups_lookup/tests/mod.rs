//! Unit, conformance and property tests of the cgroups lookup codec.

use super::*;
use crate::bytes::{put_u16, put_u32};
use crate::codec::lookup::{LOOKUP_DIR_ENTRY_SIZE, Label, LookupStatus, MAX_BUDGET, Orchestrator};
use crate::codec::lookup::{LOOKUP_LABEL_ENTRY_SIZE, MAX_LABELS, NO_LABELS, orchestrator_name};
use crate::error::{DecodeError, Error};
use proptest::prelude::*;

fn encode_req(paths: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_cgroups_lookup_request(paths, &mut out).unwrap();
    out
}

fn one_item(
    status: LookupStatus,
    orch: u16,
    path: &[u8],
    name: &[u8],
    labels: &[(&str, &str)],
) -> Vec<u8> {
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(7, &[path]).unwrap();
    b.add(path, status, orch, name, labels).unwrap();
    b.finish().unwrap().to_vec()
}

/// Offset of the single item in a one-item response.
const ITEM0: usize = CGROUPS_LOOKUP_RESP_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE;

fn resp_err(bytes: &[u8]) -> DecodeError {
    CgroupsLookupResponseView::decode(bytes).unwrap_err()
}

fn req_err(bytes: &[u8]) -> DecodeError {
    CgroupsLookupRequestView::decode(bytes).unwrap_err()
}

fn known_labels() -> Vec<u8> {
    // path "/a", name "n": strings end at 28 + 3 + 2 = 33, table at 40.
    one_item(
        LookupStatus::Known,
        3,
        b"/a",
        b"n",
        &[("key", "value"), ("k2", "")],
    )
}

mod conformance;
mod proptests;
mod rejections;
mod requests;
mod responses;
