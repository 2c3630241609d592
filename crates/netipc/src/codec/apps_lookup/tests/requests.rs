//! Request encoding, access and rejections.

use super::*;

#[test]
fn request_round_trip_and_access() {
    let pids = [0u32, 1, 4_194_304, u32::MAX];
    let bytes = encode_req(&pids);
    assert_eq!(bytes.len(), apps_lookup_request_len(4).unwrap());
    let v = AppsLookupRequestView::decode(&bytes).unwrap();
    assert_eq!(v.len(), 4);
    assert!(!v.is_empty());
    assert_eq!(v.pid(3), u32::MAX);
    assert_eq!(v.get(4), None);
    assert_eq!(
        v.iter().rev().collect::<Vec<_>>(),
        [u32::MAX, 4_194_304, 1, 0]
    );
    assert_eq!(v.into_iter().len(), 4);
    assert_eq!(
        v.to_owned(),
        AppsLookupRequest {
            pids: pids.to_vec()
        }
    );
    let bytes = encode_req(&[]);
    assert!(AppsLookupRequestView::decode(&bytes).unwrap().is_empty());
    let many: Vec<u32> = (0..10_000).collect();
    let bytes = encode_req(&many);
    assert!(
        AppsLookupRequestView::decode(&bytes)
            .unwrap()
            .iter()
            .eq(many.iter().copied())
    );
}

#[test]
#[should_panic(expected = "out of range")]
fn request_pid_index_panics() {
    let bytes = encode_req(&[1]);
    AppsLookupRequestView::decode(&bytes).unwrap().pid(1);
}

#[test]
fn request_sizes() {
    assert_eq!(apps_lookup_request_len(0), Some(16));
    assert_eq!(apps_lookup_request_len(usize::MAX), None);
    assert_eq!(apps_lookup_request_max_items(1024), 63);
    assert_eq!(apps_lookup_request_max_items(15), 0);
    assert_eq!(
        apps_lookup_request_len(apps_lookup_request_max_items(1024)).unwrap(),
        1024
    );
    let mut out = vec![1u8];
    encode_apps_lookup_request(&[5], &mut out).unwrap();
    assert_eq!(&out[1..], encode_req(&[5]));
}

#[test]
fn req_truncated_header() {
    assert!(matches!(
        req_err(&encode_req(&[])[..15]),
        DecodeError::Truncated { .. }
    ));
}

#[test]
fn req_bad_layout() {
    let mut bytes = encode_req(&[1]);
    put_u16(&mut bytes, 0, 9);
    assert!(matches!(
        req_err(&bytes),
        DecodeError::BadLayoutVersion { found: 9, .. }
    ));
}

#[test]
fn req_non_zero_flags_and_reserved() {
    for (off, field) in [(2usize, "flags"), (8, "reserved0"), (12, "reserved1")] {
        let mut bytes = encode_req(&[1]);
        bytes[off] = 1;
        assert_eq!(req_err(&bytes), DecodeError::NonZeroReserved { field });
    }
}

#[test]
fn req_truncated_directory() {
    let bytes = encode_req(&[1, 2]);
    assert!(matches!(
        req_err(&bytes[..24]),
        DecodeError::Truncated { .. }
    ));
    let mut bytes = encode_req(&[]);
    put_u32(&mut bytes, 4, u32::MAX);
    assert!(matches!(req_err(&bytes), DecodeError::Truncated { .. }));
}

#[test]
fn req_key_out_of_bounds_and_overflow() {
    let mut bytes = encode_req(&[1]);
    put_u32(&mut bytes, 16, 8);
    assert_eq!(
        req_err(&bytes),
        DecodeError::OutOfBounds {
            what: "apps lookup key"
        }
    );
    put_u32(&mut bytes, 16, 0xFFFF_FFF8);
    put_u32(&mut bytes, 20, u32::MAX);
    assert_eq!(
        req_err(&bytes),
        DecodeError::OutOfBounds {
            what: "apps lookup key"
        }
    );
}

#[test]
fn req_unaligned_key() {
    let mut bytes = encode_req(&[1, 2]);
    put_u32(&mut bytes, 24, 4);
    assert_eq!(
        req_err(&bytes),
        DecodeError::BadAlignment {
            what: "apps lookup key"
        }
    );
}

#[test]
fn req_bad_key_length() {
    let mut bytes = encode_req(&[1, 2]);
    put_u32(&mut bytes, 20, 7);
    assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
    put_u32(&mut bytes, 20, 16);
    assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
}

#[test]
fn req_key_reserved() {
    let mut bytes = encode_req(&[1]);
    put_u32(&mut bytes, 24 + 4, 1);
    assert_eq!(
        req_err(&bytes),
        DecodeError::NonZeroReserved {
            field: "key reserved"
        }
    );
}
