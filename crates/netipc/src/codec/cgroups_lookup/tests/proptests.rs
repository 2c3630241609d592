//! Property tests: round trips and decoding arbitrary bytes.

use super::*;

fn bytes_no_nul(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, min..=max)
}

fn arb_item() -> impl Strategy<Value = CgroupsLookupItem> {
    (
        0u16..5,
        any::<u16>(),
        bytes_no_nul(1, 40),
        bytes_no_nul(0, 20),
        proptest::collection::vec((bytes_no_nul(1, 12), bytes_no_nul(0, 12)), 0..5),
    )
        .prop_map(|(s, orch, path, name, labels)| {
            let status = LookupStatus::from_u16(s).unwrap();
            if status == LookupStatus::Known {
                CgroupsLookupItem::known(
                    path,
                    orch,
                    name,
                    labels.into_iter().map(|(k, v)| Label::new(k, v)).collect(),
                )
            } else {
                CgroupsLookupItem::unknown(path, status)
            }
        })
}

/// Decodes and touches every field; must never panic.
fn touch(bytes: &[u8]) {
    if let Ok(v) = CgroupsLookupResponseView::decode(bytes) {
        for it in v.items() {
            let _ = (
                it.status(),
                it.orchestrator(),
                it.path().len(),
                it.name().len(),
            );
            for l in it.labels() {
                let _ = (l.key().len(), l.value().len());
            }
            let _ = it.to_owned();
        }
    }
    if let Ok(v) = CgroupsLookupRequestView::decode(bytes) {
        let _ = v.to_owned();
    }
}

proptest! {
    #[test]
    fn prop_request_round_trip(paths in proptest::collection::vec(bytes_no_nul(1, 60), 0..40)) {
        let mut out = Vec::new();
        encode_cgroups_lookup_request(&paths, &mut out).unwrap();
        let v = CgroupsLookupRequestView::decode(&out).unwrap();
        prop_assert_eq!(v.to_owned().paths, paths);
    }

    #[test]
    fn prop_response_round_trip(generation in any::<u64>(), items in proptest::collection::vec(arb_item(), 0..20)) {
        let resp = CgroupsLookupResponse { generation, items };
        let mut out = Vec::new();
        resp.encode(&mut out).unwrap();
        let v = CgroupsLookupResponseView::decode(&out).unwrap();
        prop_assert_eq!(v.to_owned(), resp);
    }

    #[test]
    fn prop_builder_budget(items in proptest::collection::vec(arb_item(), 1..20), budget in 0usize..3000, extra in 0usize..2000) {
        let paths: Vec<&[u8]> = items.iter().map(|i| &i.path[..]).collect();
        let mut b = CgroupsLookupBuilder::with_budget(budget, budget + extra);
        b.reset_for_paths(3, &paths).unwrap();
        let mut statuses = Vec::new();
        for it in &items {
            statuses.push(b.add_item(it).unwrap());
        }
        match b.finish() {
            Ok(bytes) => {
                prop_assert!(bytes.len() <= budget);
                let v = CgroupsLookupResponseView::decode(bytes).unwrap();
                prop_assert_eq!(v.len(), items.len());
                let mut exceeded = false;
                for ((got, want), st) in v.items().zip(&items).zip(&statuses) {
                    prop_assert_eq!(got.path(), &want.path[..]);
                    prop_assert_eq!(got.status(), *st);
                    if exceeded {
                        prop_assert_eq!(got.status(), LookupStatus::PayloadExceeded);
                    }
                    exceeded |= got.status() == LookupStatus::PayloadExceeded;
                    if got.status() == want.status {
                        prop_assert_eq!(got.to_owned(), want.clone());
                    }
                }
            }
            Err(Error::LimitExceeded { .. }) => prop_assert!(b.is_over_budget()),
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        touch(&bytes);
    }

    #[test]
    fn prop_mutated_bytes_never_panic(items in proptest::collection::vec(arb_item(), 1..6), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut out = Vec::new();
        CgroupsLookupResponse { generation: 1, items }.encode(&mut out).unwrap();
        for (at, v) in flips {
            let n = out.len();
            out[at % n] = v;
        }
        touch(&out);
        touch(&out[..cut % (out.len() + 1)]);
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&[b"/a".as_slice(), b"/bcd"], &mut req).unwrap();
        let n = req.len();
        req[cut % n] ^= 0x5A;
        touch(&req);
    }
}
