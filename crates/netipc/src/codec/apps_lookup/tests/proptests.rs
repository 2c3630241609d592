//! Property tests: round trips and decoding arbitrary bytes.

use super::*;

fn bytes_no_nul(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, min..=max)
}

fn arb_item() -> impl Strategy<Value = AppsLookupItem> {
    (
        (
            0u16..4,
            0u16..4,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
        ),
        bytes_no_nul(1, 15),
        bytes_no_nul(1, 40),
        bytes_no_nul(0, 20),
        proptest::collection::vec((bytes_no_nul(1, 10), bytes_no_nul(0, 10)), 0..4),
    )
        .prop_map(
            |((s, cs, orch, pid, ppid, uid, starttime), comm, path, name, labels)| {
                let status = PidStatus::from_u16(s).unwrap();
                if status != PidStatus::Known {
                    return AppsLookupItem::unknown(pid, status);
                }
                let cgroup_status = CgroupStatus::from_u16(cs).unwrap();
                let labels: Vec<Label> =
                    labels.into_iter().map(|(k, v)| Label::new(k, v)).collect();
                let mut it = AppsLookupItem {
                    status,
                    cgroup_status,
                    orchestrator: orch,
                    pid,
                    ppid,
                    uid,
                    starttime,
                    comm,
                    cgroup_path: path,
                    cgroup_name: name,
                    labels,
                };
                if cgroup_status != CgroupStatus::Known {
                    it.orchestrator = 0;
                    it.cgroup_name.clear();
                    it.labels.clear();
                }
                if cgroup_status == CgroupStatus::HostRoot
                    || (cgroup_status == CgroupStatus::UnknownRetryLater && s % 2 == 0)
                {
                    it.cgroup_path.clear();
                }
                it
            },
        )
}

fn touch(bytes: &[u8]) {
    if let Ok(v) = AppsLookupResponseView::decode(bytes) {
        for it in v.items() {
            let _ = (
                it.status(),
                it.cgroup_status(),
                it.orchestrator(),
                it.pid(),
                it.ppid(),
                it.uid(),
                it.starttime(),
            );
            let _ = (
                it.comm().len(),
                it.cgroup_path().len(),
                it.cgroup_name().len(),
            );
            for l in it.labels() {
                let _ = (l.key().len(), l.value().len());
            }
            let _ = it.to_owned();
        }
    }
    if let Ok(v) = AppsLookupRequestView::decode(bytes) {
        let _ = v.to_owned();
    }
}

proptest! {
    #[test]
    fn prop_request_round_trip(pids in proptest::collection::vec(any::<u32>(), 0..100)) {
        let bytes = encode_req(&pids);
        prop_assert_eq!(AppsLookupRequestView::decode(&bytes).unwrap().to_owned().pids, pids);
    }

    #[test]
    fn prop_response_round_trip(generation in any::<u64>(), items in proptest::collection::vec(arb_item(), 0..20)) {
        let resp = AppsLookupResponse { generation, items };
        let mut out = Vec::new();
        resp.encode(&mut out).unwrap();
        prop_assert_eq!(AppsLookupResponseView::decode(&out).unwrap().to_owned(), resp);
    }

    #[test]
    fn prop_builder_budget(items in proptest::collection::vec(arb_item(), 1..20), budget in 0usize..3000, extra in 0usize..1000) {
        let mut b = AppsLookupBuilder::with_budget(budget, budget + extra);
        b.reset_for_count(3, u32::try_from(items.len()).unwrap());
        let mut statuses = Vec::new();
        for it in &items {
            statuses.push(b.add_item(it).unwrap());
        }
        match b.finish() {
            Ok(bytes) => {
                prop_assert!(bytes.len() <= budget);
                let v = AppsLookupResponseView::decode(bytes).unwrap();
                prop_assert_eq!(v.len(), items.len());
                let mut exceeded = false;
                for ((got, want), st) in v.items().zip(&items).zip(&statuses) {
                    prop_assert_eq!(got.pid(), want.pid);
                    prop_assert_eq!(got.status(), *st);
                    if exceeded {
                        prop_assert_eq!(got.status(), PidStatus::PayloadExceeded);
                    }
                    exceeded |= got.status() == PidStatus::PayloadExceeded;
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
    fn prop_mutated_bytes_never_panic(items in proptest::collection::vec(arb_item(), 1..5), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut out = Vec::new();
        AppsLookupResponse { generation: 1, items }.encode(&mut out).unwrap();
        for (at, v) in flips {
            let n = out.len();
            out[at % n] = v;
        }
        touch(&out);
        touch(&out[..cut % (out.len() + 1)]);
        let mut req = encode_req(&[1, 2, 3]);
        let n = req.len();
        req[cut % n] ^= 0xA5;
        touch(&req);
    }
}
