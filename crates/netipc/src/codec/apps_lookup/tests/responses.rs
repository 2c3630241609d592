//! Response round trips, boundaries and builder behaviour.

use super::*;

#[test]
fn item_header_is_60_bytes() {
    let bytes = unknown();
    assert_eq!(bytes.len(), ITEM0 + APPS_LOOKUP_ITEM_HDR_SIZE + 3);
    assert_eq!(rd_u32(&bytes, ITEM0 + ITEM_COMM_OFF), 60);
    assert_eq!(rd_u32(&bytes, ITEM0 + ITEM_UID_OFF), UID_UNSET);
}

#[test]
fn response_round_trip_and_access() {
    let full = AppsLookupItem {
        status: PidStatus::Known,
        cgroup_status: CgroupStatus::Known,
        orchestrator: 0xABCD,
        pid: 77,
        ppid: 1,
        uid: 0,
        starttime: u64::MAX,
        comm: b"123456789012345".to_vec(),
        cgroup_path: b"/docker/abc".to_vec(),
        cgroup_name: b"".to_vec(),
        labels: vec![Label::new("image", ""), Label::new("x", "y")],
    };
    let resp = AppsLookupResponse {
        generation: 0,
        items: vec![
            full.clone(),
            AppsLookupItem::unknown(5, PidStatus::Unknown),
            AppsLookupItem {
                cgroup_status: CgroupStatus::UnknownRetryLater,
                cgroup_path: Vec::new(),
                orchestrator: 0,
                labels: vec![],
                ..full.clone()
            },
            AppsLookupItem {
                cgroup_status: CgroupStatus::UnknownPermanent,
                orchestrator: 0,
                labels: vec![],
                ..full.clone()
            },
            AppsLookupItem {
                cgroup_status: CgroupStatus::HostRoot,
                cgroup_path: Vec::new(),
                orchestrator: 0,
                labels: vec![],
                ..full.clone()
            },
            AppsLookupItem::unknown(6, PidStatus::OversizedItem),
        ],
    };
    let mut out = Vec::new();
    resp.encode(&mut out).unwrap();
    let v = AppsLookupResponseView::decode(&out).unwrap();
    assert_eq!(v.to_owned(), resp);
    assert_eq!(v.len(), 6);
    let i0 = v.item(0);
    assert_eq!(i0.orchestrator_kind(), None);
    assert_eq!(full.orchestrator_kind(), None);
    assert_eq!(i0.uid_opt(), Some(0));
    assert_eq!(v.item(1).uid_opt(), None);
    assert_eq!(i0.label(0).unwrap().to_owned(), Label::new("image", ""));
    assert!(i0.label(2).is_none());
    assert_eq!(i0.as_bytes().len(), v.dir.raw_entry(0).1);
    assert!(v.get(6).is_none());
    assert_eq!(
        v.items().next_back().unwrap().status(),
        PidStatus::OversizedItem
    );
    assert_eq!(v.into_iter().count(), 6);
    assert!(!v.is_empty());
}

#[test]
#[should_panic(expected = "out of range")]
fn response_item_index_panics() {
    let bytes = known();
    AppsLookupResponseView::decode(&bytes).unwrap().item(1);
}

#[test]
fn response_boundaries() {
    let mut b = AppsLookupBuilder::default();
    assert_eq!(b.finish().unwrap().len(), APPS_LOOKUP_RESP_HDR_SIZE);
    b.reset_for_count(3, 0);
    let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    assert!(v.is_empty());
    assert_eq!(v.generation(), 3);
    // one-byte comm, long cgroup strings, many labels
    let long = vec![b'p'; 70_000];
    let labels: Vec<Label> = (0..MAX_LABELS)
        .map(|i| Label::new(format!("{i}"), ""))
        .collect();
    let e = AppsLookupEntry {
        comm: b"x",
        cgroup_path: &long,
        cgroup_name: &long,
        ..known_entry()
    };
    b.reset_for_count(1, 1);
    assert_eq!(b.add(1, &e, &labels).unwrap(), PidStatus::Known);
    let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
    let it = v.item(0);
    assert_eq!(
        (it.comm(), it.cgroup_path(), it.cgroup_name()),
        (&b"x"[..], &long[..], &long[..])
    );
    assert_eq!(it.label_count(), MAX_LABELS);
    assert!(it.labels().zip(&labels).all(|(a, b)| a.key() == &b.key[..]));
    let mut too_many = labels;
    too_many.push(Label::new("a", "b"));
    b.reset_for_count(1, 1);
    assert!(matches!(
        b.add(1, &e, &too_many),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn many_items_up_to_budget() {
    let pids: Vec<u32> = (0..3000).map(|i| 1000 + i).collect();
    let req_bytes = encode_req(&pids);
    let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
    for budget in [250_000usize, 300_000, 1 << 20] {
        let mut b = AppsLookupBuilder::with_budget(budget, 1 << 20);
        b.reset(1, &req);
        assert_eq!(b.item_count(), 3000);
        for i in 0..req.len() {
            if i % 2 == 0 {
                b.add_request_item(&req, i, &known_entry(), [("image", "bench:latest")])
                    .unwrap();
            } else {
                b.add_request_unknown(&req, i).unwrap();
            }
        }
        assert_eq!(b.added(), 3000);
        let bytes = b.finish().unwrap();
        assert!(bytes.len() <= budget);
        let v = AppsLookupResponseView::decode(bytes).unwrap();
        assert!(v.items().zip(req.iter()).all(|(i, p)| i.pid() == p));
        let first_pe = v
            .items()
            .position(|i| i.status() == PidStatus::PayloadExceeded);
        match first_pe {
            None => assert_eq!(budget, 1 << 20),
            Some(k) => {
                assert!(k > 0);
                assert!(
                    v.items()
                        .skip(k)
                        .all(|i| i.status() == PidStatus::PayloadExceeded)
                );
            }
        }
    }
}

#[test]
fn builder_payload_exceeded_tail_and_oversized() {
    let req_bytes = encode_req(&[1, 2, 3, 4]);
    let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
    // header 16 + dir 32, item 0 full, then three minimal items
    let full0 = APPS_LOOKUP_MIN_ITEM_SIZE + 3 + 2 + 1; // "app", "/p", "n"
    let budget = 48 + full0.next_multiple_of(8) + 64 + 64 + 63;
    let mut b = AppsLookupBuilder::with_budget(budget, budget);
    b.reset(9, &req);
    let huge_comm_item = AppsLookupEntry {
        cgroup_path: &[b'x'; 400],
        ..small_known()
    };
    assert_eq!(
        b.add_request_item(&req, 0, &small_known(), NO_LABELS)
            .unwrap(),
        PidStatus::Known
    );
    assert_eq!(
        b.add_request_item(&req, 1, &huge_comm_item, NO_LABELS)
            .unwrap(),
        PidStatus::OversizedItem
    );
    assert!(!b.is_exceeded());
    assert_eq!(
        b.add_request_item(&req, 2, &small_known(), NO_LABELS)
            .unwrap(),
        PidStatus::PayloadExceeded
    );
    assert!(b.is_exceeded());
    assert_eq!(
        b.add_request_unknown(&req, 3).unwrap(),
        PidStatus::PayloadExceeded
    );
    let bytes = b.finish().unwrap();
    assert_eq!(bytes.len(), budget);
    let v = AppsLookupResponseView::decode(bytes).unwrap();
    let st: Vec<_> = v.items().map(|i| (i.pid(), i.status())).collect();
    assert_eq!(
        st,
        [
            (1, PidStatus::Known),
            (2, PidStatus::OversizedItem),
            (3, PidStatus::PayloadExceeded),
            (4, PidStatus::PayloadExceeded)
        ]
    );
    assert!(
        v.items()
            .skip(1)
            .all(|i| i.uid() == UID_UNSET && i.comm().is_empty())
    );
}

#[test]
fn builder_explicit_payload_exceeded_marks_the_rest() {
    let mut b = AppsLookupBuilder::new();
    b.reset_for_count(1, 2);
    let pe = AppsLookupEntry {
        status: PidStatus::PayloadExceeded,
        ..AppsLookupEntry::UNKNOWN
    };
    assert_eq!(
        b.add(1, &pe, NO_LABELS).unwrap(),
        PidStatus::PayloadExceeded
    );
    assert!(b.is_exceeded());
    assert_eq!(
        b.add(2, &known_entry(), NO_LABELS).unwrap(),
        PidStatus::PayloadExceeded
    );
    assert!(b.finish().is_ok());
}

#[test]
fn builder_over_budget_reports_limit() {
    let mut b = AppsLookupBuilder::with_budget(100, 100);
    b.reset_for_count(1, 2);
    assert!(b.is_over_budget());
    assert_eq!(b.add_unknown(1).unwrap(), PidStatus::PayloadExceeded);
    assert_eq!(
        b.add(2, &known_entry(), NO_LABELS).unwrap(),
        PidStatus::PayloadExceeded
    );
    assert!(matches!(b.finish(), Err(Error::LimitExceeded { .. })));
    assert!(b.encoded_len() > 100);
    assert_eq!((b.budget(), b.max_budget()), (100, 100));
}

#[test]
fn builder_rejects_invalid_entries() {
    let mut b = AppsLookupBuilder::from_vec(Vec::with_capacity(128));
    b.reset_for_count(1, 1);
    let bad = |b: &mut AppsLookupBuilder, e: AppsLookupEntry<'_>, l: &[(&str, &str)]| {
        let r = b.add(1, &e, l);
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{e:?}: {r:?}");
    };
    let k = known_entry();
    let u = AppsLookupEntry::UNKNOWN;
    bad(&mut b, AppsLookupEntry { comm: b"a\0", ..k }, &[]);
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_path: b"/\0",
            ..k
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_name: b"\0",
            ..k
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            comm: b"1234567890123456",
            ..k
        },
        &[],
    );
    bad(&mut b, AppsLookupEntry { comm: b"", ..k }, &[]);
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_path: b"",
            ..k
        },
        &[],
    );
    bad(&mut b, k, &[("", "v")]);
    let retry = AppsLookupEntry {
        cgroup_status: CgroupStatus::UnknownRetryLater,
        orchestrator: 0,
        cgroup_name: b"",
        ..k
    };
    bad(
        &mut b,
        AppsLookupEntry {
            orchestrator: 1,
            ..retry
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_name: b"n",
            ..retry
        },
        &[],
    );
    bad(&mut b, retry, &[("k", "v")]);
    let perm = AppsLookupEntry {
        cgroup_status: CgroupStatus::UnknownPermanent,
        ..retry
    };
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_path: b"",
            ..perm
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            orchestrator: 2,
            ..perm
        },
        &[],
    );
    let root = AppsLookupEntry {
        cgroup_status: CgroupStatus::HostRoot,
        cgroup_path: b"",
        ..retry
    };
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_path: b"/",
            ..root
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_name: b"x",
            ..root
        },
        &[],
    );
    bad(&mut b, AppsLookupEntry { ppid: 1, ..u }, &[]);
    bad(&mut b, AppsLookupEntry { uid: 0, ..u }, &[]);
    bad(&mut b, AppsLookupEntry { starttime: 1, ..u }, &[]);
    bad(
        &mut b,
        AppsLookupEntry {
            orchestrator: 1,
            ..u
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_status: CgroupStatus::HostRoot,
            ..u
        },
        &[],
    );
    bad(&mut b, AppsLookupEntry { comm: b"x", ..u }, &[]);
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_path: b"x",
            ..u
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            cgroup_name: b"x",
            ..u
        },
        &[],
    );
    bad(
        &mut b,
        AppsLookupEntry {
            status: PidStatus::PayloadExceeded,
            ..u
        },
        &[("k", "v")],
    );
    assert_eq!(b.added(), 0);
    assert!(matches!(b.finish(), Err(Error::InvalidState(_))));
    // the valid variants pass
    for e in [
        retry,
        AppsLookupEntry {
            cgroup_path: b"",
            ..retry
        },
        perm,
        root,
    ] {
        b.reset_for_count(1, 1);
        assert_eq!(b.add(1, &e, NO_LABELS).unwrap(), PidStatus::Known);
        let v = AppsLookupResponseView::decode(b.finish().unwrap()).unwrap();
        assert_eq!(v.item(0).cgroup_status(), e.cgroup_status);
    }
    // order and count
    let req_bytes = encode_req(&[5, 6]);
    let req = AppsLookupRequestView::decode(&req_bytes).unwrap();
    b.reset(1, &req);
    assert!(matches!(
        b.add_request_unknown(&req, 1),
        Err(Error::InvalidArgument(_))
    ));
    b.add_request_unknown(&req, 0).unwrap();
    assert!(matches!(
        b.add_request_unknown(&req, 2),
        Err(Error::InvalidArgument(_))
    ));
    b.add_unknown(6).unwrap();
    assert!(matches!(b.add_unknown(7), Err(Error::InvalidState(_))));
    assert!(b.finish().is_ok());
    assert!(b.into_vec().capacity() >= 128);
}

#[test]
fn owned_encode_rejects_invalid_items() {
    let mut item = AppsLookupItem::unknown(1, PidStatus::Known);
    item.cgroup_path = b"/p".to_vec();
    let resp = AppsLookupResponse {
        generation: 1,
        items: vec![item],
    };
    let mut out = Vec::new();
    assert!(matches!(
        resp.encode(&mut out),
        Err(Error::InvalidArgument(_))
    )); // empty comm
    assert!(out.is_empty());
}
