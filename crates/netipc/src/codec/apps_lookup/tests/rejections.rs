//! Response decoder rejections.

use super::*;
use crate::codec::lookup::test_support::{check_envelope_rejections, check_label_rejections};

#[test]
fn resp_envelope_rejections() {
    let mut b = AppsLookupBuilder::new();
    b.reset_for_count(1, 2);
    b.add_unknown(1).unwrap();
    b.add_unknown(2).unwrap();
    check_envelope_rejections(
        &known(),
        b.finish().unwrap(),
        APPS_LOOKUP_ITEM_HDR_SIZE,
        ITEM_WHAT,
        |bytes| AppsLookupResponseView::decode(bytes).map(drop),
    );
}

#[test]
fn resp_unknown_statuses() {
    let mut bytes = known();
    put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, 4);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::UnknownStatus {
            what: PidStatus::WHAT,
            found: 4
        }
    );
    let mut bytes = known();
    put_u16(&mut bytes, ITEM0 + ITEM_CGROUP_STATUS_OFF, 4);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::UnknownStatus {
            what: CgroupStatus::WHAT,
            found: 4
        }
    );
}

#[test]
fn resp_item_reserved() {
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_RESERVED0_OFF, 1);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::NonZeroReserved {
            field: "item reserved0"
        }
    );
    let mut bytes = known();
    put_u16(&mut bytes, ITEM0 + ITEM_RESERVED1_OFF, 1);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::NonZeroReserved {
            field: "item reserved1"
        }
    );
}

#[test]
fn resp_comm_length() {
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_COMM_LEN, 16);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::BadLength {
            what: "comm_length must be <= 15"
        }
    );
    // KNOWN pid with empty comm: point comm at the path's NUL... use a fresh NUL
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_COMM_LEN, 0);
    bytes[ITEM0 + 60] = 0;
    assert!(matches!(resp_err(&bytes), DecodeError::BadLength { what } if what.contains("KNOWN")));
}

#[test]
fn resp_unknown_pid_field_rules() {
    type Mutation = fn(&mut Vec<u8>);
    let cases: [(&str, Mutation); 8] = [
        ("orchestrator", |b| put_u16(b, ITEM0 + ITEM_ORCH_OFF, 1)),
        ("cgroup_status", |b| {
            put_u16(b, ITEM0 + ITEM_CGROUP_STATUS_OFF, 3)
        }),
        ("ppid", |b| put_u32(b, ITEM0 + ITEM_PPID_OFF, 1)),
        ("uid", |b| put_u32(b, ITEM0 + ITEM_UID_OFF, 0)),
        ("starttime", |b| put_u64(b, ITEM0 + ITEM_STARTTIME_OFF, 1)),
        ("strings", |b| {
            // comm "x": move path and name one byte later
            put_u32(b, ITEM0 + ITEM_COMM_LEN, 1);
        }),
        ("strings", |b| put_u32(b, ITEM0 + ITEM_PATH_LEN, 1)),
        ("label_count", |b| put_u16(b, ITEM0 + ITEM_LABEL_COUNT, 1)),
    ];
    for status in [
        PidStatus::Unknown,
        PidStatus::PayloadExceeded,
        PidStatus::OversizedItem,
    ] {
        for (prefix, f) in &cases {
            let mut bytes = unknown();
            put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, status.as_u16());
            assert!(AppsLookupResponseView::decode(&bytes).is_ok());
            f(&mut bytes);
            assert!(rule_of(&bytes).starts_with(prefix), "{status}: {prefix}");
        }
    }
}

#[test]
fn resp_cgroup_status_field_rules() {
    // KNOWN cgroup with an empty path
    let mut bytes = one_item(
        1,
        &AppsLookupEntry {
            cgroup_path: b"/",
            ..small_known()
        },
        &[],
    );
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
    bytes[ITEM0 + 64] = 0;
    assert!(rule_of(&bytes).contains("KNOWN"));
    let retry = AppsLookupEntry {
        cgroup_status: CgroupStatus::UnknownRetryLater,
        orchestrator: 0,
        cgroup_name: b"",
        ..small_known()
    };
    // UNKNOWN_RETRY_LATER with an orchestrator, a name or labels
    let mut bytes = one_item(1, &retry, &[]);
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 1);
    assert!(rule_of(&bytes).contains("UNKNOWN_RETRY_LATER"));
    let mut bytes = one_item(
        1,
        &AppsLookupEntry {
            cgroup_name: b"n",
            ..small_known()
        },
        &[],
    );
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
    put_u16(
        &mut bytes,
        ITEM0 + ITEM_CGROUP_STATUS_OFF,
        CgroupStatus::UnknownRetryLater.as_u16(),
    );
    assert!(rule_of(&bytes).contains("UNKNOWN_RETRY_LATER"));
    // UNKNOWN_PERMANENT with labels, and with an empty path
    let mut bytes = known_labels();
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
    bytes[ITEM0 + 67] = 0;
    put_u16(
        &mut bytes,
        ITEM0 + ITEM_CGROUP_STATUS_OFF,
        CgroupStatus::UnknownPermanent.as_u16(),
    );
    assert!(rule_of(&bytes).contains("UNKNOWN_PERMANENT"));
    let perm = AppsLookupEntry {
        cgroup_status: CgroupStatus::UnknownPermanent,
        ..retry
    };
    let mut bytes = one_item(1, &perm, &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
    bytes[ITEM0 + 64] = 0;
    assert!(rule_of(&bytes).contains("UNKNOWN_PERMANENT"));
    // HOST_ROOT with a path, with an orchestrator
    let mut bytes = one_item(1, &perm, &[]);
    put_u16(
        &mut bytes,
        ITEM0 + ITEM_CGROUP_STATUS_OFF,
        CgroupStatus::HostRoot.as_u16(),
    );
    assert!(rule_of(&bytes).contains("HOST_ROOT"));
    let root = AppsLookupEntry {
        cgroup_status: CgroupStatus::HostRoot,
        cgroup_path: b"",
        ..retry
    };
    let mut bytes = one_item(1, &root, &[]);
    assert!(AppsLookupResponseView::decode(&bytes).is_ok());
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 4);
    assert!(rule_of(&bytes).contains("HOST_ROOT"));
}

#[test]
fn resp_string_offset_before_header_end() {
    let mut bytes = unknown();
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 59);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::OutOfBounds {
            what: "cgroup_name"
        }
    );
}

#[test]
fn resp_string_overflow_and_out_of_bounds() {
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, u32::MAX);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, u32::MAX);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::OutOfBounds {
            what: "cgroup_path"
        }
    );
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 68);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::OutOfBounds {
            what: "cgroup_name"
        }
    );
}

#[test]
fn resp_missing_nul() {
    let mut bytes = known();
    bytes[ITEM0 + 63] = b'!';
    assert_eq!(resp_err(&bytes), DecodeError::MissingNul { what: "comm" });
}

#[test]
fn resp_interior_nul() {
    let mut bytes = known();
    bytes[ITEM0 + 61] = 0;
    assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "comm" });
    let mut bytes = known();
    bytes[ITEM0 + 65] = 0;
    assert_eq!(
        resp_err(&bytes),
        DecodeError::InteriorNul {
            what: "cgroup_path"
        }
    );
}

#[test]
fn resp_overlapping_strings() {
    // two empty strings sharing a NUL
    let mut bytes = unknown();
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 61);
    assert!(matches!(resp_err(&bytes), DecodeError::Overlap { .. }));
    // path inside comm
    let mut bytes = known();
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, 61);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 2);
    assert!(matches!(resp_err(&bytes), DecodeError::Overlap { .. }));
}

#[test]
fn resp_labels_fixture_and_known_full_vector_layout() {
    let bytes = known_labels();
    let v = AppsLookupResponseView::decode(&bytes).unwrap();
    assert_eq!(v.item(0).table, 72);
    assert_eq!(
        bytes.len(),
        ITEM0 + 72 + 2 * LOOKUP_LABEL_ENTRY_SIZE + 4 + 6 + 3 + 1
    );
}

#[test]
fn resp_label_rejections() {
    check_label_rejections(&known_labels(), 72, ITEM_LABEL_COUNT, |bytes| {
        AppsLookupResponseView::decode(bytes).map(drop)
    });
}
