//! Request round trips, boundaries and rejections.

use super::*;

#[test]
fn request_round_trip_and_access() {
    let paths: [&[u8]; 3] = [
        b"/a",
        b"/system.slice/x.service",
        b"/sys/fs/cgroup/very/long/path/here",
    ];
    let bytes = encode_req(&paths);
    let v = CgroupsLookupRequestView::decode(&bytes).unwrap();
    assert_eq!(v.len(), 3);
    assert!(!v.is_empty());
    assert_eq!(v.key(1), paths[1]);
    assert_eq!(v.get(2), Some(paths[2]));
    assert_eq!(v.get(3), None);
    assert_eq!(v.iter().next_back(), Some(paths[2]));
    assert_eq!(v.iter().len(), 3);
    assert_eq!(v.into_iter().count(), 3);
    assert_eq!(
        v.to_owned().paths,
        paths.iter().map(|p| p.to_vec()).collect::<Vec<_>>()
    );
}

#[test]
#[should_panic(expected = "out of range")]
fn request_key_index_panics() {
    let bytes = encode_req(&[b"/a"]);
    CgroupsLookupRequestView::decode(&bytes).unwrap().key(1);
}

#[test]
fn request_boundaries() {
    // zero keys
    let bytes = encode_req(&[]);
    assert_eq!(bytes.len(), CGROUPS_LOOKUP_REQ_HDR_SIZE);
    assert!(CgroupsLookupRequestView::decode(&bytes).unwrap().is_empty());
    // minimal key: one byte + NUL
    let bytes = encode_req(&[b"x"]);
    assert_eq!(bytes.len(), cgroups_lookup_single_request_len(1).unwrap());
    assert_eq!(
        CgroupsLookupRequestView::decode(&bytes).unwrap().key(0),
        b"x"
    );
    // long key
    let long = vec![b'p'; 100_000];
    let bytes = encode_req(&[&long, b"/b"]);
    let v = CgroupsLookupRequestView::decode(&bytes).unwrap();
    assert_eq!(v.key(0), &long[..]);
    assert_eq!(v.key(1), b"/b");
    // many keys
    let many: Vec<String> = (0..5000)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect();
    let mut out = Vec::new();
    encode_cgroups_lookup_request(&many, &mut out).unwrap();
    let v = CgroupsLookupRequestView::decode(&out).unwrap();
    assert!(v.iter().zip(&many).all(|(k, p)| k == p.as_bytes()));
}

#[test]
fn request_encoder_rejects_bad_paths_without_writing() {
    let mut out = vec![9u8];
    let empty: [&[u8]; 2] = [b"/a", b""];
    assert!(matches!(
        encode_cgroups_lookup_request(&empty, &mut out),
        Err(Error::InvalidArgument(_))
    ));
    let nul: [&[u8]; 1] = [b"/a\0b"];
    assert!(matches!(
        encode_cgroups_lookup_request(&nul, &mut out),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(out, [9]);
}

#[test]
fn request_encoder_appends() {
    let mut out = vec![0xEEu8; 3];
    encode_cgroups_lookup_request(&["/a", "/bb"], &mut out).unwrap();
    assert_eq!(&out[3..], encode_req(&[b"/a", b"/bb"]));
}

#[test]
fn request_builder_budget_split() {
    let paths: Vec<String> = (0..100)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect();
    let budget = 256;
    let mut b = CgroupsLookupRequestBuilder::with_budget(budget);
    let mut requests = Vec::new();
    let mut i = 0;
    while i < paths.len() {
        if b.push(paths[i].as_bytes()).unwrap() {
            i += 1;
            continue;
        }
        assert!(!b.is_empty(), "a single key must fit");
        let mut out = Vec::new();
        b.finish(&mut out);
        assert!(out.len() <= budget);
        assert_eq!(out.len(), b.encoded_len());
        requests.push(out);
        b.clear();
    }
    let mut out = Vec::new();
    b.finish(&mut out);
    requests.push(out);
    let mut all = Vec::new();
    for r in &requests {
        assert!(r.len() <= budget);
        let v = CgroupsLookupRequestView::decode(r).unwrap();
        all.extend(v.iter().map(<[u8]>::to_vec));
    }
    assert_eq!(
        all,
        paths
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect::<Vec<_>>()
    );
    assert!(requests.len() > 1);
}

#[test]
fn request_builder_fits_exactly() {
    let mut b =
        CgroupsLookupRequestBuilder::with_budget(cgroups_lookup_single_request_len(5).unwrap());
    assert!(!b.fits(6));
    assert!(b.fits(5));
    assert!(!b.push(b"/abcde").unwrap());
    assert!(b.push(b"/abcd").unwrap());
    assert!(!b.push(b"/").unwrap());
    assert!(matches!(b.push(b""), Err(Error::InvalidArgument(_))));
    assert!(matches!(b.push(b"/\0"), Err(Error::InvalidArgument(_))));
    assert_eq!(b.len(), 1);
    b.set_budget(usize::MAX);
    assert_eq!(b.budget(), MAX_BUDGET);
    assert!(b.push(b"/").unwrap());
    assert_eq!(b.encoded_len_with(usize::MAX), None);
    assert!(!CgroupsLookupRequestBuilder::default().fits(usize::MAX));
}

#[test]
fn req_truncated_header() {
    let bytes = encode_req(&[]);
    assert!(matches!(
        req_err(&bytes[..15]),
        DecodeError::Truncated { .. }
    ));
}

#[test]
fn req_bad_layout() {
    let mut bytes = encode_req(&[b"/a"]);
    put_u16(&mut bytes, 0, 2);
    assert!(matches!(
        req_err(&bytes),
        DecodeError::BadLayoutVersion { found: 2, .. }
    ));
}

#[test]
fn req_non_zero_flags_and_reserved() {
    for (off, field) in [(2usize, "flags"), (8, "reserved0"), (12, "reserved1")] {
        let mut bytes = encode_req(&[b"/a"]);
        bytes[off] = 1;
        assert_eq!(req_err(&bytes), DecodeError::NonZeroReserved { field });
    }
}

#[test]
fn req_truncated_directory() {
    let bytes = encode_req(&[b"/a", b"/b"]);
    assert!(matches!(
        req_err(&bytes[..20]),
        DecodeError::Truncated { .. }
    ));
    // an item_count whose directory cannot exist (count * 8 is checked)
    let mut bytes = encode_req(&[]);
    put_u32(&mut bytes, 4, u32::MAX);
    assert!(matches!(req_err(&bytes), DecodeError::Truncated { .. }));
}

#[test]
fn req_key_out_of_bounds_and_overflow() {
    let mut bytes = encode_req(&[b"/a"]);
    put_u32(&mut bytes, 20, 4);
    assert_eq!(
        req_err(&bytes),
        DecodeError::OutOfBounds {
            what: "cgroups lookup key"
        }
    );
    let mut bytes = encode_req(&[b"/a"]);
    put_u32(&mut bytes, 16, 0xFFFF_FFF8);
    put_u32(&mut bytes, 20, u32::MAX);
    assert_eq!(
        req_err(&bytes),
        DecodeError::OutOfBounds {
            what: "cgroups lookup key"
        }
    );
}

#[test]
fn req_unaligned_key() {
    let mut bytes = encode_req(&[b"/a"]);
    put_u32(&mut bytes, 16, 1);
    assert_eq!(
        req_err(&bytes),
        DecodeError::BadAlignment {
            what: "cgroups lookup key"
        }
    );
}

#[test]
fn req_short_key() {
    let mut bytes = encode_req(&[b"/a"]);
    put_u32(&mut bytes, 20, 1);
    assert!(matches!(req_err(&bytes), DecodeError::BadLength { .. }));
}

#[test]
fn req_missing_nul() {
    let mut bytes = encode_req(&[b"/a"]);
    let last = bytes.len() - 1;
    bytes[last] = b'x';
    assert_eq!(
        req_err(&bytes),
        DecodeError::MissingNul {
            what: "cgroups lookup key"
        }
    );
}

#[test]
fn req_interior_nul() {
    let mut bytes = encode_req(&[b"/ab"]);
    bytes[24 + 1] = 0;
    assert_eq!(
        req_err(&bytes),
        DecodeError::InteriorNul {
            what: "cgroups lookup key"
        }
    );
}
