//! Response round trips, boundaries and builder behaviour.

use super::*;

#[test]
fn response_round_trip_and_access() {
    let resp = CgroupsLookupResponse {
        generation: u64::MAX,
        items: vec![
            CgroupsLookupItem::known(
                "/kubepods/pod-a",
                Orchestrator::K8s.into(),
                "pod-a",
                vec![Label::new("namespace", "default"), Label::new("empty", "")],
            ),
            CgroupsLookupItem::unknown("/gone", LookupStatus::UnknownPermanent),
            CgroupsLookupItem::known("/x", 999, "", vec![]),
            CgroupsLookupItem::unknown("/later", LookupStatus::UnknownRetryLater),
        ],
    };
    let mut out = Vec::new();
    resp.encode(&mut out).unwrap();
    let v = CgroupsLookupResponseView::decode(&out).unwrap();
    assert_eq!(v.to_owned(), resp);
    assert_eq!(v.generation(), u64::MAX);
    assert_eq!(v.len(), 4);
    let i0 = v.item(0);
    assert_eq!(i0.orchestrator_kind(), Some(Orchestrator::K8s));
    assert_eq!(i0.label_count(), 2);
    assert_eq!(i0.label(1).unwrap().to_owned(), Label::new("empty", ""));
    assert!(i0.label(2).is_none());
    assert_eq!(i0.labels().len(), 2);
    assert_eq!(i0.as_bytes().len(), v.dir.raw_entry(0).1);
    assert_eq!(v.item(2).orchestrator(), 999);
    assert_eq!(v.item(2).orchestrator_kind(), None);
    assert_eq!(resp.items[2].orchestrator_kind(), None);
    assert!(v.get(4).is_none());
    assert_eq!(
        v.items().next_back().unwrap().status(),
        LookupStatus::UnknownRetryLater
    );
    assert_eq!(v.into_iter().count(), 4);
    // item offsets are 8-aligned and the last item is unpadded
    for i in 0..v.len() {
        assert_eq!(v.dir.raw_entry(i).0 % 8, 0);
    }
    let (off, len) = v.dir.raw_entry(3);
    assert_eq!(ITEM0 + 3 * 8 + off + len, out.len());
}

#[test]
#[should_panic(expected = "out of range")]
fn response_item_index_panics() {
    let bytes = one_item(LookupStatus::Known, 0, b"/a", b"", &[]);
    CgroupsLookupResponseView::decode(&bytes).unwrap().item(1);
}

#[test]
fn response_boundaries() {
    // zero items
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths::<&[u8]>(0, &[]).unwrap();
    let bytes = b.finish().unwrap().to_vec();
    assert_eq!(bytes.len(), CGROUPS_LOOKUP_RESP_HDR_SIZE);
    let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
    assert!(v.is_empty());
    assert_eq!(v.generation(), 0);
    // a fresh builder finishes an empty response
    assert_eq!(
        CgroupsLookupBuilder::default().finish().unwrap().len(),
        CGROUPS_LOOKUP_RESP_HDR_SIZE
    );
    // minimal item: one path byte, empty name with its own NUL
    let bytes = one_item(LookupStatus::Known, 0, b"/", b"", &[]);
    assert_eq!(bytes.len(), ITEM0 + CGROUPS_LOOKUP_ITEM_HDR_SIZE + 3);
    let v = CgroupsLookupResponseView::decode(&bytes).unwrap();
    assert_eq!(v.item(0).name(), b"");
    // long strings
    let long_path = vec![b'p'; 70_000];
    let long_name = vec![b'n'; 70_000];
    let long_val = vec![b'v'; 70_000];
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(1, &[&long_path]).unwrap();
    b.add(
        &long_path,
        LookupStatus::Known,
        1,
        &long_name,
        [(&b"k"[..], &long_val[..])],
    )
    .unwrap();
    let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    let it = v.item(0);
    assert_eq!((it.path(), it.name()), (&long_path[..], &long_name[..]));
    assert_eq!(it.label(0).unwrap().value(), &long_val[..]);
}

#[test]
fn response_max_label_count() {
    let labels: Vec<Label> = (0..MAX_LABELS)
        .map(|i| Label::new(format!("k{i}"), ""))
        .collect();
    let bytes = one_item(LookupStatus::Known, 1, b"/a", b"n", &[]);
    assert!(CgroupsLookupResponseView::decode(&bytes).is_ok());
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(1, &["/a"]).unwrap();
    b.add(b"/a", LookupStatus::Known, 1, b"n", &labels).unwrap();
    let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    let it = v.item(0);
    assert_eq!(it.label_count(), MAX_LABELS);
    assert!(
        it.labels()
            .zip(&labels)
            .all(|(a, b)| a.key() == &b.key[..] && a.value().is_empty())
    );
    // one more is rejected by the builder
    let mut too_many = labels;
    too_many.push(Label::new("x", "y"));
    b.reset_for_paths(1, &["/a"]).unwrap();
    assert!(matches!(
        b.add(b"/a", LookupStatus::Known, 1, b"n", &too_many),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn many_items_up_to_budget() {
    let paths: Vec<String> = (0..2000)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect();
    let mut req = Vec::new();
    encode_cgroups_lookup_request(&paths, &mut req).unwrap();
    let req = CgroupsLookupRequestView::decode(&req).unwrap();
    for budget in [150_000usize, 200_000, 1 << 20] {
        let mut b = CgroupsLookupBuilder::with_budget(budget, 1 << 20);
        b.reset(9, &req);
        let labels = [("namespace", "bench"), ("image", "bench:latest")];
        for i in 0..req.len() {
            b.add_request_item(
                &req,
                i,
                LookupStatus::Known,
                Orchestrator::K8s.into(),
                b"bench-pod",
                labels,
            )
            .unwrap();
        }
        let bytes = b.finish().unwrap();
        assert!(bytes.len() <= budget);
        let v = CgroupsLookupResponseView::decode(bytes).unwrap();
        assert_eq!(v.len(), req.len());
        let known = v
            .items()
            .take_while(|i| i.status() == LookupStatus::Known)
            .count();
        assert!(
            v.items()
                .skip(known)
                .all(|i| i.status() == LookupStatus::PayloadExceeded)
        );
        assert!(v.items().zip(req.iter()).all(|(i, k)| i.path() == k));
        if budget == 1 << 20 {
            assert_eq!(known, req.len());
        } else {
            assert!(known > 0 && known < req.len());
            // the minimal tail was reserved: it fits and takes the rest
            assert!(bytes.len() > budget - 152);
        }
    }
}

#[test]
fn builder_request_items_and_payload_exceeded_tail() {
    let req_bytes = encode_req(&[b"/a", b"/bb", b"/ccc", b"/dddd"]);
    let req = CgroupsLookupRequestView::decode(&req_bytes).unwrap();
    // header 16 + dir 32 = 48; item0 full: 28+3+6+8-aligned... pick a
    // budget that fits item 0 in full but not item 1.
    let big = vec![b'n'; 40];
    let min = |p: usize| CGROUPS_LOOKUP_ITEM_HDR_SIZE + p + 2;
    let full0 = CGROUPS_LOOKUP_ITEM_HDR_SIZE + 2 + 1 + 40 + 1; // 72
    let tail = min(3).next_multiple_of(8) + min(4).next_multiple_of(8) + min(5);
    let budget = 48 + full0 + tail;
    let mut b = CgroupsLookupBuilder::with_budget(budget, 1 << 20);
    b.reset(5, &req);
    assert_eq!(b.item_count(), 4);
    let s = |b: &mut CgroupsLookupBuilder, i| {
        b.add_request_item(&req, i, LookupStatus::Known, 2, &big, NO_LABELS)
    };
    assert_eq!(s(&mut b, 0).unwrap(), LookupStatus::Known);
    assert_eq!(s(&mut b, 1).unwrap(), LookupStatus::PayloadExceeded);
    // once exceeded, every later item is PAYLOAD_EXCEEDED, whatever it asks
    assert_eq!(
        b.add_request_unknown(&req, 2, LookupStatus::UnknownPermanent)
            .unwrap(),
        LookupStatus::PayloadExceeded
    );
    assert_eq!(
        b.add_unknown(b"/dddd", LookupStatus::UnknownRetryLater)
            .unwrap(),
        LookupStatus::PayloadExceeded
    );
    assert_eq!(b.added(), 4);
    let bytes = b.finish().unwrap();
    assert_eq!(bytes.len(), budget);
    let v = CgroupsLookupResponseView::decode(bytes).unwrap();
    let st: Vec<_> = v.items().map(|i| i.status()).collect();
    assert_eq!(
        st,
        [
            LookupStatus::Known,
            LookupStatus::PayloadExceeded,
            LookupStatus::PayloadExceeded,
            LookupStatus::PayloadExceeded
        ]
    );
    assert!(
        v.items()
            .zip(req.iter())
            .all(|(i, k)| i.path() == k
                && (i.status() == LookupStatus::Known || i.name().is_empty()))
    );
}

#[test]
fn builder_explicit_payload_exceeded_marks_the_rest() {
    let mut b = CgroupsLookupBuilder::new();
    b.reset_for_paths(1, &["/a", "/b", "/c"]).unwrap();
    assert_eq!(
        b.add_unknown(b"/a", LookupStatus::OversizedItem).unwrap(),
        LookupStatus::OversizedItem
    );
    assert!(!b.is_exceeded());
    assert_eq!(
        b.add_unknown(b"/b", LookupStatus::PayloadExceeded).unwrap(),
        LookupStatus::PayloadExceeded
    );
    assert!(b.is_exceeded());
    assert_eq!(
        b.add(b"/c", LookupStatus::Known, 1, b"n", NO_LABELS)
            .unwrap(),
        LookupStatus::PayloadExceeded
    );
    assert!(b.finish().is_ok());
}

#[test]
fn builder_first_item_payload_exceeded() {
    // Budget holds only the minimal shapes: the first KNOWN item does not fit.
    let mut b =
        CgroupsLookupBuilder::with_budget(ITEM0 + CGROUPS_LOOKUP_ITEM_HDR_SIZE + 4, 1 << 20);
    b.reset_for_paths(1, &["/a"]).unwrap();
    assert_eq!(
        b.add(b"/a", LookupStatus::Known, 1, b"x", NO_LABELS)
            .unwrap(),
        LookupStatus::PayloadExceeded
    );
    let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    assert_eq!(v.item(0).status(), LookupStatus::PayloadExceeded);
}

#[test]
fn builder_oversized_does_not_stop_later_items() {
    let huge = vec![b'n'; 2000];
    let mut b = CgroupsLookupBuilder::with_budget(1024, 1024);
    assert_eq!((b.budget(), b.max_budget()), (1024, 1024));
    b.reset_for_paths(1, &["/a", "/b", "/c"]).unwrap();
    assert_eq!(
        b.add(b"/a", LookupStatus::Known, 1, b"ok", NO_LABELS)
            .unwrap(),
        LookupStatus::Known
    );
    assert_eq!(
        b.add(b"/b", LookupStatus::Known, 1, &huge, NO_LABELS)
            .unwrap(),
        LookupStatus::OversizedItem
    );
    assert!(!b.is_exceeded());
    assert_eq!(
        b.add(b"/c", LookupStatus::Known, 1, b"ok", NO_LABELS)
            .unwrap(),
        LookupStatus::Known
    );
    let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    let st: Vec<_> = v.items().map(|i| i.status()).collect();
    assert_eq!(
        st,
        [
            LookupStatus::Known,
            LookupStatus::OversizedItem,
            LookupStatus::Known
        ]
    );
    assert_eq!(v.item(1).path(), b"/b");
    assert_eq!(v.item(1).orchestrator(), 0);
}

#[test]
fn builder_over_budget_reports_limit() {
    let mut b = CgroupsLookupBuilder::with_budget(40, 40);
    b.reset_for_paths(1, &["/aaaaaaaaaaaaaaa"]).unwrap();
    assert!(b.is_over_budget());
    assert_eq!(
        b.add_unknown(b"/aaaaaaaaaaaaaaa", LookupStatus::UnknownRetryLater)
            .unwrap(),
        LookupStatus::PayloadExceeded
    );
    assert!(matches!(b.finish(), Err(Error::LimitExceeded { .. })));
    assert!(b.encoded_len() > 40);
}

#[test]
fn builder_rejects_invalid_input_without_state_change() {
    let req_bytes = encode_req(&[b"/a", b"/b"]);
    let req = CgroupsLookupRequestView::decode(&req_bytes).unwrap();
    let mut b = CgroupsLookupBuilder::from_vec(Vec::with_capacity(64));
    b.reset(1, &req);
    let len = b.encoded_len();
    let bad = |r: Result<LookupStatus, Error>| {
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}")
    };
    bad(b.add(b"", LookupStatus::Known, 0, b"", NO_LABELS));
    bad(b.add(b"/\0", LookupStatus::Known, 0, b"", NO_LABELS));
    bad(b.add(b"/ab", LookupStatus::Known, 0, b"", NO_LABELS)); // length differs from the key
    bad(b.add(b"/a", LookupStatus::Known, 0, b"n\0", NO_LABELS));
    bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("", "v")]));
    bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("k\0", "v")]));
    bad(b.add(b"/a", LookupStatus::Known, 0, b"n", [("k", "v\0")]));
    bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 1, b"", NO_LABELS));
    bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 0, b"n", NO_LABELS));
    bad(b.add(b"/a", LookupStatus::UnknownRetryLater, 0, b"", [("k", "v")]));
    bad(b.add_unknown(b"/a", LookupStatus::Known));
    bad(b.add_request_unknown(&req, 0, LookupStatus::Known));
    bad(b.add_request_item(&req, 1, LookupStatus::Known, 0, b"", NO_LABELS)); // out of order
    assert_eq!(b.encoded_len(), len);
    assert_eq!(b.added(), 0);
    assert!(matches!(b.finish(), Err(Error::InvalidState(_))));
    b.add_request_unknown(&req, 0, LookupStatus::UnknownRetryLater)
        .unwrap();
    bad(b.add_request_item(&req, 2, LookupStatus::Known, 0, b"", NO_LABELS)); // out of range
    b.add_request_item(&req, 1, LookupStatus::Known, 0, b"", NO_LABELS)
        .unwrap();
    assert!(matches!(
        b.add_unknown(b"/c", LookupStatus::UnknownRetryLater),
        Err(Error::InvalidState(_))
    ));
    let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    assert_eq!(v.len(), 2);
    // reuse: the buffer comes back
    assert!(b.into_vec().capacity() >= 64);
}

#[test]
fn builder_reuse_across_resets() {
    let mut b = CgroupsLookupBuilder::new();
    for round in 0..3u64 {
        b.reset_for_paths(round, &["/x", "/y"]).unwrap();
        b.add(b"/x", LookupStatus::Known, 1, b"n", [("k", "v")])
            .unwrap();
        b.add_unknown(b"/y", LookupStatus::UnknownPermanent)
            .unwrap();
        let v = CgroupsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(v.generation(), round);
        assert_eq!(v.len(), 2);
    }
}

#[test]
fn owned_encode_rejects_invalid_items() {
    let resp = CgroupsLookupResponse {
        generation: 1,
        items: vec![CgroupsLookupItem {
            status: LookupStatus::UnknownPermanent,
            orchestrator: 0,
            path: b"/p".to_vec(),
            name: b"x".to_vec(),
            labels: vec![],
        }],
    };
    let mut out = Vec::new();
    assert!(matches!(
        resp.encode(&mut out),
        Err(Error::InvalidArgument(_))
    ));
    assert!(out.is_empty());
}
