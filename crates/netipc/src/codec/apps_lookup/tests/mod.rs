//! Unit, conformance and property tests of the apps lookup codec.

use super::*;
use crate::bytes::{put_u16, put_u32, put_u64};
use crate::codec::lookup::directory::rd_u32;
use crate::codec::lookup::{
    CgroupStatus, LOOKUP_DIR_ENTRY_SIZE, Label, NO_LABELS, Orchestrator, PidStatus,
};
use crate::codec::lookup::{LOOKUP_LABEL_ENTRY_SIZE, MAX_LABELS, orchestrator_name};
use crate::error::{DecodeError, Error};
use proptest::prelude::*;

#[test]
fn set_generation_keeps_items() {
    let mut req = Vec::new();
    encode_apps_lookup_request(&[7, 8], &mut req).unwrap();
    let view = AppsLookupRequestView::decode(&req).unwrap();
    let mut b = AppsLookupBuilder::new();
    b.reset(1, &view);
    b.add_request_unknown(&view, 0).unwrap();
    b.add_request_unknown(&view, 1).unwrap();
    b.set_generation(u64::MAX);
    let resp = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    assert_eq!(resp.generation(), u64::MAX);
    assert_eq!(resp.item(1).pid(), 8);
}

fn known_entry() -> AppsLookupEntry<'static> {
    AppsLookupEntry {
        status: PidStatus::Known,
        cgroup_status: CgroupStatus::Known,
        orchestrator: Orchestrator::Docker.into(),
        ppid: 1,
        uid: 1000,
        starttime: 42,
        comm: b"bench",
        cgroup_path: b"/sys/fs/cgroup/bench",
        cgroup_name: b"bench-container",
    }
}

fn encode_req(pids: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_apps_lookup_request(pids, &mut out).unwrap();
    out
}

fn one_item(pid: u32, e: &AppsLookupEntry<'_>, labels: &[(&str, &str)]) -> Vec<u8> {
    let mut b = AppsLookupBuilder::new();
    b.reset_for_count(7, 1);
    b.add(pid, e, labels).unwrap();
    b.finish().unwrap().to_vec()
}

/// Offset of the single item in a one-item response.
const ITEM0: usize = APPS_LOOKUP_RESP_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE;

fn small_known() -> AppsLookupEntry<'static> {
    AppsLookupEntry {
        comm: b"app",
        cgroup_path: b"/p",
        cgroup_name: b"n",
        ..known_entry()
    }
}

fn known() -> Vec<u8> {
    one_item(10, &small_known(), &[])
}

/// comm 60..63, path 64..66, name 67..68, strings end at 69, table at 72.
fn known_labels() -> Vec<u8> {
    one_item(10, &small_known(), &[("key", "value"), ("k2", "")])
}

fn unknown() -> Vec<u8> {
    one_item(10, &AppsLookupEntry::UNKNOWN, &[])
}

fn resp_err(bytes: &[u8]) -> DecodeError {
    AppsLookupResponseView::decode(bytes).unwrap_err()
}

fn req_err(bytes: &[u8]) -> DecodeError {
    AppsLookupRequestView::decode(bytes).unwrap_err()
}

fn rule_of(bytes: &[u8]) -> &'static str {
    match resp_err(bytes) {
        DecodeError::InvalidField { rule } => rule,
        e => panic!("unexpected {e:?}"),
    }
}

mod conformance;
mod proptests;
mod rejections;
mod requests;
mod responses;
