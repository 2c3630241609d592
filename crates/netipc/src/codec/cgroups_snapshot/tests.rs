//! Unit and property tests of the snapshot codec.

use super::layout::{finished_len, item_size, packed_item_end};

use super::*;
use crate::codec::corpus::{bench_snapshot, cgroups_corpus_snapshot};
use crate::error::{Error, Limit};
use crate::protocol::DIR_ENTRY_SIZE;
use proptest::prelude::*;

const REQ: &[u8] = include_bytes!("../../../../../testdata/conformance/vectors/cgroups_req.bin");
const RESP: &[u8] = include_bytes!("../../../../../testdata/conformance/vectors/cgroups_resp.bin");
const RESP_EMPTY: &[u8] =
    include_bytes!("../../../../../testdata/conformance/vectors/cgroups_resp_empty.bin");

fn item(hash: u32, options: u32, enabled: u32, name: &str, path: &str) -> CgroupItem {
    CgroupItem {
        hash,
        options,
        enabled,
        name: name.as_bytes().to_vec(),
        path: path.as_bytes().to_vec(),
    }
}

fn vector_snapshot() -> CgroupsSnapshot {
    CgroupsSnapshot {
        systemd_enabled: 1,
        generation: 999,
        items: vec![
            item(100, 0, 1, "init.scope", "/sys/fs/cgroup/init.scope"),
            item(
                200,
                2,
                0,
                "system.slice/docker-abc.scope",
                "/sys/fs/cgroup/system.slice/docker-abc.scope",
            ),
            item(300, 0, 1, "", ""),
        ],
    }
}

fn enc(snap: &CgroupsSnapshot) -> Vec<u8> {
    let mut out = Vec::new();
    encode_snapshot(snap, &mut out).unwrap();
    out
}

fn build(snap: &CgroupsSnapshot) -> Vec<u8> {
    let mut b = CgroupsSnapshotBuilder::default();
    b.reset(snap.systemd_enabled, snap.generation);
    for it in &snap.items {
        b.add(it).unwrap();
    }
    b.into_bytes()
}

/// Asserts every encoder produces `bytes` and decoding gives `snap`.
fn check_all_paths(snap: &CgroupsSnapshot, bytes: &[u8]) {
    let v = decode_snapshot(bytes).unwrap();
    assert_eq!(&v.to_owned(), snap);
    assert_eq!(v.len(), snap.items.len());
    assert_eq!(enc(snap), bytes);
    assert_eq!(build(snap), bytes);
    assert_eq!(Some(bytes.len()), snap.encoded_len());
    // decode -> re-encode
    assert_eq!(enc(&v.to_owned()), bytes);
}

// -- simple_hash ------------------------------------------------------

#[test]
fn simple_hash_is_fnv1_32() {
    assert_eq!(simple_hash(b""), 0x811c_9dc5);
    assert_eq!(simple_hash(b"a"), 0x050c_5d7e);
    assert_eq!(simple_hash(b"foobar"), 0x31f0_b262);
}

// -- request ----------------------------------------------------------

#[test]
fn conformance_request() {
    let r = decode_snapshot_request(REQ).unwrap();
    assert_eq!(
        r,
        CgroupsSnapshotRequest {
            layout_version: 1,
            flags: 0
        }
    );
    assert_eq!(r.to_bytes(), REQ);
    let mut out = Vec::new();
    encode_snapshot_request(&mut out);
    assert_eq!(out, REQ);
    let mut out = vec![9];
    CgroupsSnapshotRequest::default().encode(&mut out);
    assert_eq!(&out[1..], REQ);
}

#[test]
fn request_tolerates_trailing_bytes() {
    let mut b = REQ.to_vec();
    b.extend_from_slice(&[1, 2, 3, 4]);
    assert_eq!(
        decode_snapshot_request(&b),
        Ok(CgroupsSnapshotRequest::default())
    );
}

#[test]
fn request_rejects_truncated() {
    for len in 0..SNAPSHOT_REQ_SIZE {
        assert!(matches!(
            decode_snapshot_request(&REQ[..len]),
            Err(DecodeError::Truncated { need: 4, .. })
        ));
    }
}

#[test]
fn request_rejects_bad_layout_version() {
    for v in [0u16, 2, u16::MAX] {
        let b = CgroupsSnapshotRequest {
            layout_version: v,
            flags: 0,
        }
        .to_bytes();
        assert!(matches!(
            decode_snapshot_request(&b),
            Err(DecodeError::BadLayoutVersion { found, .. }) if found == v
        ));
    }
}

#[test]
fn request_rejects_nonzero_flags() {
    let b = CgroupsSnapshotRequest {
        layout_version: 1,
        flags: 1,
    }
    .to_bytes();
    assert!(matches!(
        decode_snapshot_request(&b),
        Err(DecodeError::NonZeroReserved { .. })
    ));
}

// -- response: conformance, round trips, boundaries ---------------------

#[test]
fn conformance_response() {
    assert_eq!(RESP.len(), 266);
    let snap = vector_snapshot();
    check_all_paths(&snap, RESP);
    let v = decode_snapshot(RESP).unwrap();
    assert_eq!(v.item_count(), 3);
    assert_eq!(v.systemd_enabled(), 1);
    assert_eq!(v.generation(), 999);
    let it = v.item(1);
    assert_eq!(it.name_str(), Some("system.slice/docker-abc.scope"));
    assert_eq!(
        it.path_str(),
        Some("/sys/fs/cgroup/system.slice/docker-abc.scope")
    );
    assert_eq!((it.hash, it.options, it.enabled), (200, 2, 0));
    assert_eq!(v.item(2).name, b"");
}

#[test]
fn conformance_response_empty() {
    let snap = CgroupsSnapshot {
        systemd_enabled: 0,
        generation: 42,
        items: vec![],
    };
    check_all_paths(&snap, RESP_EMPTY);
    let v = decode_snapshot(RESP_EMPTY).unwrap();
    assert!(v.is_empty());
    assert_eq!(v.iter().count(), 0);
    assert_eq!(v.get(0), None);
}

#[test]
fn single_item_and_empty_strings() {
    let snap = CgroupsSnapshot {
        systemd_enabled: 0,
        generation: 1,
        items: vec![item(1, 2, 3, "", "")],
    };
    let bytes = enc(&snap);
    // header + 1 dir entry + 32 + 2 NULs, not rounded up.
    assert_eq!(bytes.len(), 24 + 8 + 34);
    check_all_paths(&snap, &bytes);
    let it = decode_snapshot(&bytes).unwrap().item(0);
    assert!(it.name.is_empty() && it.path.is_empty());
}

#[test]
fn long_strings() {
    let name = "n".repeat(70_000);
    let path = "p".repeat(100_003);
    let snap = CgroupsSnapshot {
        systemd_enabled: 1,
        generation: u64::MAX,
        items: vec![
            item(u32::MAX, u32::MAX, u32::MAX, &name, &path),
            item(0, 0, 0, "x", "y"),
        ],
    };
    let bytes = enc(&snap);
    check_all_paths(&snap, &bytes);
}

#[test]
fn many_items_from_corpus() {
    let snap = cgroups_corpus_snapshot(5000, 11, 77);
    let bytes = enc(&snap);
    check_all_paths(&snap, &bytes);
    let v = decode_snapshot(&bytes).unwrap();
    assert_eq!(v.iter().len(), 5000);
    assert!(
        v.iter()
            .rev()
            .map(|i| i.hash)
            .eq(snap.items.iter().rev().map(|i| i.hash))
    );
    assert_eq!((&v).into_iter().count(), 5000);
}

#[test]
fn bench_snapshot_round_trip() {
    let snap = bench_snapshot(3);
    check_all_paths(&snap, &enc(&snap));
}

#[test]
fn items_are_aligned_and_padding_is_zero() {
    let snap = cgroups_corpus_snapshot(100, 5, 0);
    let bytes = enc(&snap);
    let packed = &bytes[24 + 8 * 100..];
    let mut prev_end = 0usize;
    for i in 0..100 {
        let off = u32::from_ne_bytes(bytes[24 + 8 * i..][..4].try_into().unwrap()) as usize;
        let len = u32::from_ne_bytes(bytes[28 + 8 * i..][..4].try_into().unwrap()) as usize;
        assert_eq!(off % 8, 0);
        assert_eq!(off, prev_end.next_multiple_of(8));
        assert!(packed[prev_end..off].iter().all(|&b| b == 0));
        prev_end = off + len;
    }
    assert_eq!(prev_end, packed.len());
}

#[test]
fn encode_snapshot_appends_with_relative_alignment() {
    let snap = vector_snapshot();
    let mut out = vec![0xAB; 3];
    encode_snapshot(&snap, &mut out).unwrap();
    assert_eq!(&out[..3], &[0xAB; 3]);
    assert_eq!(&out[3..], RESP);
}

#[test]
fn interior_nul_round_trips() {
    let snap = CgroupsSnapshot {
        systemd_enabled: 0,
        generation: 0,
        items: vec![CgroupItem {
            name: b"a\0b".to_vec(),
            path: b"\0".to_vec(),
            ..Default::default()
        }],
    };
    check_all_paths(&snap, &enc(&snap));
}

#[test]
fn non_utf8_strings() {
    let snap = CgroupsSnapshot {
        items: vec![CgroupItem {
            name: vec![0xff, 0xfe],
            path: b"ok".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = enc(&snap);
    let it = decode_snapshot(&bytes).unwrap().item(0);
    assert_eq!(it.name_str(), None);
    assert_eq!(it.path_str(), Some("ok"));
    assert_eq!(snap.items[0].name_str(), None);
    assert_eq!(snap.items[0].path_str(), Some("ok"));
}

#[test]
fn copy_into_reuses_and_resizes() {
    let big = cgroups_corpus_snapshot(50, 1, 1);
    let small = cgroups_corpus_snapshot(10, 2, 2);
    let (bb, sb) = (enc(&big), enc(&small));
    let mut dst = CgroupsSnapshot::default();
    decode_snapshot(&sb).unwrap().copy_into(&mut dst);
    assert_eq!(dst, small);
    decode_snapshot(&bb).unwrap().copy_into(&mut dst);
    assert_eq!(dst, big);
    decode_snapshot(&sb).unwrap().copy_into(&mut dst);
    assert_eq!(dst, small);
}

#[test]
#[should_panic(expected = "out of range")]
fn item_index_out_of_range_panics() {
    let _ = decode_snapshot(RESP).unwrap().item(3);
}

// -- builder ---------------------------------------------------------

#[test]
fn builder_reuse_matches_encoder() {
    let mut b = CgroupsSnapshotBuilder::new(Vec::with_capacity(4096));
    for (n, seed) in [(0usize, 0u64), (1, 1), (17, 2), (3, 3), (300, 4), (0, 5)] {
        let snap = cgroups_corpus_snapshot(n, seed, seed * 10);
        b.reset(snap.systemd_enabled, snap.generation);
        for it in &snap.items {
            b.add(it).unwrap();
        }
        assert_eq!(b.item_count() as usize, n);
        let expect = enc(&snap);
        assert_eq!(b.payload_len(), expect.len());
        assert_eq!(b.finish(), &expect[..]);
        // finish is idempotent
        assert_eq!(b.finish(), &expect[..]);
    }
}

#[test]
fn builder_reserve_hints() {
    let snap = cgroups_corpus_snapshot(40, 9, 1);
    let expect = enc(&snap);
    for hint in [0usize, 1, 39, 40, 41, 1000] {
        let mut b = CgroupsSnapshotBuilder::default();
        b.reset(1, 1);
        b.reserve_items(hint);
        for it in &snap.items {
            b.add(it).unwrap();
        }
        assert_eq!(b.finish(), &expect[..], "hint {hint}");
    }
    // A hint given mid-way still works.
    let mut b = CgroupsSnapshotBuilder::default();
    b.reset(1, 1);
    for (i, it) in snap.items.iter().enumerate() {
        if i == 5 {
            b.reserve_items(100);
        }
        b.add(it).unwrap();
    }
    assert_eq!(b.into_bytes(), expect);
}

#[test]
fn builder_add_after_finish_and_setters() {
    let snap = vector_snapshot();
    let mut b = CgroupsSnapshotBuilder::default();
    b.set_systemd_enabled(1);
    b.set_generation(999);
    b.add(&snap.items[0]).unwrap();
    let _ = b.finish();
    b.add(&snap.items[1]).unwrap();
    b.add(&snap.items[2]).unwrap();
    assert_eq!(b.finish(), RESP);
}

#[test]
fn builder_enforces_payload_limit() {
    let mut b = CgroupsSnapshotBuilder::default();
    // Two items, the second at packed offset 40 with 6 string bytes:
    // 24 + 2 * 8 + 40 + 34 + 6 = 120.
    b.set_max_payload(120);
    assert_eq!(b.max_payload(), 120);
    b.add_item(1, 0, 0, b"", b"").unwrap();
    let before = b.clone().into_bytes();
    assert!(matches!(
        b.add_item(2, 0, 0, b"abcd", b"efg"),
        Err(Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 120,
            actual: 121
        })
    ));
    // Failure leaves the builder unchanged.
    assert_eq!(b.clone().into_bytes(), before);
    b.add_item(2, 0, 0, b"abc", b"efg").unwrap();
    assert_eq!(b.finish().len(), 120);
    assert_eq!(decode_snapshot(b.finish()).unwrap().len(), 2);
    b.set_max_payload(usize::MAX);
    assert_eq!(b.max_payload(), u32::MAX as usize);
    // Reserving with a tiny limit stays bounded.
    b.set_max_payload(100);
    b.reset(0, 0);
    b.reserve_items(usize::MAX);
    b.add_item(0, 0, 0, b"", b"").unwrap();
    assert_eq!(b.finish().len(), 24 + 8 + 34);
}

#[test]
fn oversized_snapshot_is_rejected_without_writing() {
    let snap = CgroupsSnapshot::default();
    assert_eq!(snap.encoded_len(), Some(24));
    assert_eq!(finished_len(usize::MAX, 0), None);
    assert_eq!(finished_len(1, u32::MAX as usize), None);
    assert_eq!(packed_item_end(usize::MAX, 0, 0), None);
    assert_eq!(item_size(usize::MAX, 1), None);
}

// -- response rejection rules ------------------------------------------

fn set_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}
fn set_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

/// One item `name="ab"`, `path="cd"`: item at 32, name at 64, path at 67.
fn one_item() -> Vec<u8> {
    enc(&CgroupsSnapshot {
        systemd_enabled: 1,
        generation: 5,
        items: vec![item(1, 0, 1, "ab", "cd")],
    })
}
const ITEM0: usize = SNAPSHOT_RESP_HDR_SIZE + DIR_ENTRY_SIZE;

fn err(bytes: &[u8]) -> DecodeError {
    decode_snapshot(bytes).unwrap_err()
}

#[test]
fn rejects_truncated_header() {
    for len in 0..SNAPSHOT_RESP_HDR_SIZE {
        assert!(matches!(
            err(&RESP_EMPTY[..len]),
            DecodeError::Truncated { need: 24, .. }
        ));
    }
}

#[test]
fn rejects_bad_layout_version() {
    let mut b = RESP.to_vec();
    set_u16(&mut b, HDR_LAYOUT, 2);
    assert!(matches!(
        err(&b),
        DecodeError::BadLayoutVersion { found: 2, .. }
    ));
}

#[test]
fn rejects_nonzero_flags() {
    let mut b = RESP.to_vec();
    set_u16(&mut b, HDR_FLAGS, 1);
    assert!(matches!(err(&b), DecodeError::NonZeroReserved { field } if field.contains("flags")));
}

#[test]
fn rejects_nonzero_reserved() {
    let mut b = RESP.to_vec();
    set_u32(&mut b, HDR_RESERVED, 1);
    assert!(
        matches!(err(&b), DecodeError::NonZeroReserved { field } if field.contains("reserved"))
    );
}

#[test]
fn rejects_item_count_exceeding_payload() {
    let mut b = RESP_EMPTY.to_vec();
    set_u32(&mut b, HDR_ITEM_COUNT, 1);
    assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
    // Huge counts must not overflow.
    set_u32(&mut b, HDR_ITEM_COUNT, u32::MAX);
    assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
    let mut b = RESP.to_vec();
    set_u32(&mut b, HDR_ITEM_COUNT, 40);
    assert!(matches!(err(&b), DecodeError::BadItemCount { .. }));
}

#[test]
fn rejects_directory_entry_out_of_packed_area() {
    // Length one past the packed area.
    let mut b = one_item();
    let packed_len = b.len() - ITEM0;
    set_u32(&mut b, 28, packed_len as u32 + 1);
    assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
    // Offset + length overflow u32.
    let mut b = one_item();
    set_u32(&mut b, 24, u32::MAX - 7);
    set_u32(&mut b, 28, u32::MAX);
    assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
    // Offset alone past the end.
    let mut b = one_item();
    set_u32(&mut b, 24, 64);
    assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
    // Third item of the vector pushed past the end by one aligned step.
    let mut b = RESP.to_vec();
    set_u32(&mut b, 24 + 16, 224);
    assert!(matches!(err(&b), DecodeError::OutOfBounds { .. }));
}

#[test]
fn rejects_misaligned_item_offset() {
    let mut b = RESP.to_vec();
    // Item 1 really starts at 72; claim 70 (in bounds, misaligned).
    set_u32(&mut b, 24 + 8, 70);
    assert!(matches!(err(&b), DecodeError::BadAlignment { .. }));
}

#[test]
fn rejects_item_shorter_than_header() {
    let mut b = one_item();
    set_u32(&mut b, 28, 31);
    assert!(matches!(
        err(&b),
        DecodeError::Truncated {
            need: 32,
            have: 31,
            ..
        }
    ));
    set_u32(&mut b, 28, 0);
    assert!(matches!(err(&b), DecodeError::Truncated { have: 0, .. }));
}

#[test]
fn rejects_bad_item_layout_and_flags() {
    let mut b = one_item();
    set_u16(&mut b, ITEM0 + ITEM_LAYOUT, 0);
    assert!(matches!(
        err(&b),
        DecodeError::BadLayoutVersion { found: 0, .. }
    ));
    let mut b = one_item();
    set_u16(&mut b, ITEM0 + ITEM_FLAGS, 0x8000);
    assert!(matches!(err(&b), DecodeError::NonZeroReserved { .. }));
}

#[test]
fn rejects_string_in_item_header() {
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_NAME_OFF, 31);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item name"
        }
    ));
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 0);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item path"
        }
    ));
}

#[test]
fn rejects_string_past_item() {
    // name length runs past the item.
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_NAME_LEN, 10);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item name"
        }
    ));
    // path length u32::MAX must not overflow.
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_PATH_LEN, u32::MAX);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item path"
        }
    ));
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, u32::MAX);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item path"
        }
    ));
    // Strings are bounded by the item's directory length, not by the
    // payload: shrink the item so the path NUL falls outside it.
    let mut b = one_item();
    let len = u32::from_ne_bytes(b[28..32].try_into().unwrap());
    set_u32(&mut b, 28, len - 1);
    assert!(matches!(
        err(&b),
        DecodeError::OutOfBounds {
            what: "snapshot item path"
        }
    ));
}

#[test]
fn rejects_missing_nul() {
    let mut b = one_item();
    b[ITEM0 + 32 + 2] = b'!';
    assert!(matches!(
        err(&b),
        DecodeError::MissingNul {
            what: "snapshot item name"
        }
    ));
    let mut b = one_item();
    let last = b.len() - 1;
    b[last] = b'!';
    assert!(matches!(
        err(&b),
        DecodeError::MissingNul {
            what: "snapshot item path"
        }
    ));
    // A shorter declared length lands on a non-NUL byte.
    let mut b = one_item();
    set_u32(&mut b, ITEM0 + ITEM_NAME_LEN, 1);
    assert!(matches!(
        err(&b),
        DecodeError::MissingNul {
            what: "snapshot item name"
        }
    ));
}

#[test]
fn rejects_overlapping_name_and_path() {
    // Identical regions: both empty strings on the same NUL.
    let mut b = enc(&CgroupsSnapshot {
        items: vec![item(0, 0, 0, "", "")],
        ..Default::default()
    });
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 32);
    assert!(matches!(err(&b), DecodeError::Overlap { .. }));
    // Path is a suffix of name: name "ab\0" at 32, path "b\0" at 33.
    let mut b = enc(&CgroupsSnapshot {
        items: vec![item(0, 0, 0, "ab", "cd")],
        ..Default::default()
    });
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 33);
    set_u32(&mut b, ITEM0 + ITEM_PATH_LEN, 1);
    assert!(matches!(err(&b), DecodeError::Overlap { .. }));
    // Name's NUL is the path's first byte... path starts on name's NUL.
    let mut b = enc(&CgroupsSnapshot {
        items: vec![item(0, 0, 0, "ab", "")],
        ..Default::default()
    });
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 34);
    assert!(matches!(err(&b), DecodeError::Overlap { .. }));
    // Adjacent regions (path right after name's NUL) are fine, in either order.
    let mut b = enc(&CgroupsSnapshot {
        items: vec![item(0, 0, 0, "ab", "cd")],
        ..Default::default()
    });
    assert!(decode_snapshot(&b).is_ok());
    // Swap: path first at 32 ("ab"), name at 35 ("cd").
    set_u32(&mut b, ITEM0 + ITEM_PATH_OFF, 32);
    set_u32(&mut b, ITEM0 + ITEM_NAME_OFF, 35);
    let v = decode_snapshot(&b).unwrap();
    assert_eq!((v.item(0).name, v.item(0).path), (&b"cd"[..], &b"ab"[..]));
}

#[test]
fn tolerates_trailing_bytes_and_unordered_items() {
    // Trailing bytes after the last item belong to no item.
    let mut b = RESP.to_vec();
    b.extend_from_slice(&[0xEE; 5]);
    assert_eq!(decode_snapshot(&b).unwrap().to_owned(), vector_snapshot());
    // Directory entries in another order than the items.
    let mut b = RESP.to_vec();
    let (e0, e2) = (b[24..32].to_vec(), b[40..48].to_vec());
    b[24..32].copy_from_slice(&e2);
    b[40..48].copy_from_slice(&e0);
    let v = decode_snapshot(&b).unwrap();
    assert_eq!(v.item(0).hash, 300);
    assert_eq!(v.item(2).hash, 100);
}

// -- properties ----------------------------------------------------------

fn arb_item() -> impl Strategy<Value = CgroupItem> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(hash, options, enabled, name, path)| CgroupItem {
            hash,
            options,
            enabled,
            name,
            path,
        })
}

fn arb_snapshot() -> impl Strategy<Value = CgroupsSnapshot> {
    (
        any::<u32>(),
        any::<u64>(),
        proptest::collection::vec(arb_item(), 0..24),
    )
        .prop_map(|(systemd_enabled, generation, items)| CgroupsSnapshot {
            systemd_enabled,
            generation,
            items,
        })
}

proptest! {
    #[test]
    fn prop_round_trip(snap in arb_snapshot()) {
        let bytes = enc(&snap);
        prop_assert_eq!(Some(bytes.len()), snap.encoded_len());
        let v = decode_snapshot(&bytes).unwrap();
        prop_assert_eq!(&v.to_owned(), &snap);
        prop_assert_eq!(build(&snap), bytes);
    }

    #[test]
    fn prop_request_round_trip(layout_version in any::<u16>(), flags in any::<u16>()) {
        let r = CgroupsSnapshotRequest { layout_version, flags };
        let d = decode_snapshot_request(&r.to_bytes());
        prop_assert_eq!(d.is_ok(), layout_version == 1 && flags == 0);
        if let Ok(d) = d {
            prop_assert_eq!(d, r);
        }
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_snapshot_request(&bytes);
        if let Ok(v) = decode_snapshot(&bytes) {
            // Access after a successful decode cannot fail.
            prop_assert_eq!(v.iter().count(), v.len());
            let _ = v.to_owned();
        }
    }

    #[test]
    fn prop_mutated_valid_payload_never_panics(
        snap in arb_snapshot(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = enc(&snap);
        let n = bytes.len();
        for (pos, val) in flips {
            bytes[pos % n] = val;
        }
        if let Ok(v) = decode_snapshot(&bytes) {
            prop_assert_eq!(v.iter().count(), v.len());
            // Every valid payload re-encodes to a decodable one.
            let re = enc(&v.to_owned());
            prop_assert_eq!(decode_snapshot(&re).unwrap().to_owned(), v.to_owned());
        }
    }

    #[test]
    fn prop_truncation_always_fails_cleanly(snap in arb_snapshot(), cut in any::<usize>()) {
        let bytes = enc(&snap);
        let cut = cut % bytes.len();
        // Any strict prefix is invalid: the last item's path NUL is the last byte.
        prop_assert!(decode_snapshot(&bytes[..cut]).is_err() || snap.items.is_empty() && cut >= 24);
    }
}
