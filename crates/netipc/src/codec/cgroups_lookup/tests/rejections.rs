//! Response decoder rejections.

use super::*;
use crate::codec::lookup::test_support::{check_envelope_rejections, check_label_rejections};

#[test]
fn resp_envelope_rejections() {
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(1, &["/a", "/b"]).unwrap();
    b.add_unknown(b"/a", LookupStatus::UnknownRetryLater)
        .unwrap();
    b.add_unknown(b"/b", LookupStatus::UnknownRetryLater)
        .unwrap();
    check_envelope_rejections(
        &one_item(LookupStatus::Known, 0, b"/a", b"", &[]),
        b.finish().unwrap(),
        CGROUPS_LOOKUP_ITEM_HDR_SIZE,
        ITEM_WHAT,
        |bytes| CgroupsLookupResponseView::decode(bytes).map(drop),
    );
}

#[test]
fn resp_unknown_status() {
    let mut bytes = one_item(LookupStatus::UnknownRetryLater, 0, b"/a", b"", &[]);
    put_u16(&mut bytes, ITEM0 + ITEM_STATUS_OFF, 5);
    assert!(matches!(
        resp_err(&bytes),
        DecodeError::UnknownStatus { found: 5, .. }
    ));
}

#[test]
fn resp_item_reserved() {
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    put_u16(&mut bytes, ITEM0 + ITEM_RESERVED0_OFF, 1);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::NonZeroReserved {
            field: "item reserved0"
        }
    );
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    put_u16(&mut bytes, ITEM0 + ITEM_RESERVED1_OFF, 1);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::NonZeroReserved {
            field: "item reserved1"
        }
    );
}

#[test]
fn resp_empty_path() {
    let mut bytes = one_item(LookupStatus::UnknownPermanent, 0, b"/", b"", &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, 0);
    assert!(matches!(resp_err(&bytes), DecodeError::BadLength { .. }));
}

#[test]
fn resp_non_known_field_rules() {
    let rule_of = |bytes: &[u8]| match resp_err(bytes) {
        DecodeError::InvalidField { rule } => rule,
        e => panic!("unexpected {e:?}"),
    };
    // orchestrator
    let mut bytes = one_item(LookupStatus::UnknownRetryLater, 0, b"/a", b"", &[]);
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 1);
    assert!(rule_of(&bytes).starts_with("orchestrator"));
    // name: take a KNOWN item with a name and relabel it
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"n", &[]);
    put_u16(
        &mut bytes,
        ITEM0 + ITEM_STATUS_OFF,
        LookupStatus::PayloadExceeded.as_u16(),
    );
    assert!(rule_of(&bytes).starts_with("name"));
    // labels
    let mut bytes = known_labels();
    put_u16(
        &mut bytes,
        ITEM0 + ITEM_STATUS_OFF,
        LookupStatus::OversizedItem.as_u16(),
    );
    put_u16(&mut bytes, ITEM0 + ITEM_ORCH_OFF, 0);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
    bytes[ITEM0 + 31] = 0;
    assert!(rule_of(&bytes).starts_with("label_count"));
    // the same bytes with label_count 0 are valid again
    put_u16(&mut bytes, ITEM0 + ITEM_LABEL_COUNT, 0);
    assert!(CgroupsLookupResponseView::decode(&bytes).is_ok());
}

#[test]
fn resp_string_offset_before_header_end() {
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 27);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 0);
    assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "name" });
}

#[test]
fn resp_string_overflow_and_out_of_bounds() {
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_OFF, u32::MAX);
    put_u32(&mut bytes, ITEM0 + ITEM_PATH_LEN, u32::MAX);
    assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "path" });
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    // name "" at 31: length 1 needs bytes 31..33, the item ends at 32
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 1);
    assert_eq!(resp_err(&bytes), DecodeError::OutOfBounds { what: "name" });
}

#[test]
fn resp_missing_nul() {
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"n", &[]);
    bytes[ITEM0 + 30] = b'x'; // the path's NUL
    assert_eq!(resp_err(&bytes), DecodeError::MissingNul { what: "path" });
}

#[test]
fn resp_interior_nul() {
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"nm", &[]);
    bytes[ITEM0 + 28 + 1] = 0;
    assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "path" });
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"nm", &[]);
    bytes[ITEM0 + 31] = 0;
    assert_eq!(resp_err(&bytes), DecodeError::InteriorNul { what: "name" });
}

#[test]
fn resp_overlapping_strings() {
    // two empty strings sharing one NUL: name points at the path's NUL
    let mut bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 30);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::Overlap {
            what: "path and name strings"
        }
    );
    // name is a suffix of the path
    let mut bytes = one_item(LookupStatus::Known, 0, b"/ab", b"", &[]);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_OFF, 29);
    put_u32(&mut bytes, ITEM0 + ITEM_NAME_LEN, 2);
    assert_eq!(
        resp_err(&bytes),
        DecodeError::Overlap {
            what: "path and name strings"
        }
    );
}

#[test]
fn resp_labels_valid_fixture() {
    let bytes = known_labels();
    let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
    let it = v.item(0);
    assert_eq!(it.label_count(), 2);
    assert_eq!(it.label(0).unwrap().key(), b"key");
    // strings end at 33, the table starts at 40
    assert_eq!(it.table, 40);
    assert_eq!(
        bytes.len(),
        ITEM0 + 40 + 2 * LOOKUP_LABEL_ENTRY_SIZE + 4 + 6 + 3 + 1
    );
}

#[test]
fn resp_label_rejections() {
    check_label_rejections(&known_labels(), 40, ITEM_LABEL_COUNT, |bytes| {
        CgroupsLookupResponseView::decode(bytes).map(drop)
    });
}

#[test]
fn resp_accepts_unknown_orchestrator_and_any_generation() {
    let mut bytes = one_item(LookupStatus::Known, 0xBEEF, b"/a", b"", &[]);
    put_u32(&mut bytes, 8, 0);
    put_u32(&mut bytes, 12, 0);
    let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
    assert_eq!(v.generation(), 0);
    assert_eq!(v.item(0).orchestrator(), 0xBEEF);
}
