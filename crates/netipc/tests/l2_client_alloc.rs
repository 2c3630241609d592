//! Warm Level 2 client calls perform zero heap allocations on the calling
//! thread (a thread-local counting global allocator; the fake server runs
//! on other threads and is not counted).

#[path = "support/mod.rs"]
mod support;

use netipc::service::client::{AppsLookupClient, CgroupsSnapshotClient, IncrementClient};

use support::alloc::{Counting, allocations_in};
use support::fake_server::*;
use support::{PLANES, Plane, TestDir};

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM: u64 = 50;
const MEASURED: u64 = 1000;

#[test]
fn warm_increment_calls_do_not_allocate() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let _srv = FakeServer::start(
            &dir.endpoint("inc"),
            Options::new(server_config(plane, 65536)),
            increment_handler(),
        );
        let mut c = IncrementClient::new(dir.path(), "inc", client_config()).unwrap();
        assert!(c.refresh());
        assert_eq!(c.status().shm_attached, plane.is_shm());
        for i in 0..WARM {
            assert_eq!(c.call(i).unwrap(), i + 1);
        }
        let n = allocations_in(|| {
            for i in 0..MEASURED {
                let v = c.call(i).unwrap();
                assert_eq!(v, i + 1);
                assert!(c.ready());
            }
        });
        assert_eq!(n, 0, "{plane:?}: {n} allocations in {MEASURED} warm calls");

        let values: Vec<u64> = (0..1000).collect();
        for _ in 0..3 {
            c.call_batch(&values).unwrap();
        }
        let n = allocations_in(|| {
            for _ in 0..20 {
                let r = c.call_batch(&values).unwrap();
                assert_eq!(r[999], 1000);
            }
        });
        assert_eq!(n, 0, "{plane:?}: {n} allocations in warm batch calls");
    }
}

#[test]
fn warm_snapshot_calls_do_not_allocate() {
    let snap = snapshot_payload(16, 9);
    for &plane in PLANES {
        let dir = TestDir::new();
        let payload = snap.clone();
        let _srv = FakeServer::start(
            &dir.endpoint("snap"),
            Options::new(server_config(plane, 65536)),
            Box::new(move |_, _| Reply::Payload(payload.clone())),
        );
        let mut c = CgroupsSnapshotClient::new(dir.path(), "snap", client_config()).unwrap();
        assert!(c.refresh());
        for _ in 0..WARM {
            assert_eq!(c.call_snapshot().unwrap().len(), 16);
        }
        let n = allocations_in(|| {
            for _ in 0..MEASURED {
                let v = c.call_snapshot().unwrap();
                assert_eq!(v.len(), 16);
                assert_eq!(v.generation(), 9);
                assert_eq!(v.item(15).name, b"cgroup-0015");
            }
        });
        assert_eq!(n, 0, "{plane:?}: {n} allocations in {MEASURED} warm calls");
    }
}

#[test]
fn warm_lookup_calls_do_not_allocate() {
    let dir = TestDir::new();
    let _srv = FakeServer::start(
        &dir.endpoint("apps"),
        Options::new(server_config(Plane::Baseline, 4096)),
        Box::new(|c, m| {
            match apps_response(m.payload, 1, c.response_budget as usize, 65536, |_| {
                AppsInfo {
                    labels: small_labels(),
                    known: true,
                }
            }) {
                Some(p) => Reply::Payload(p),
                None => Reply::Overflow,
            }
        }),
    );
    let mut c = AppsLookupClient::new(dir.path(), "apps", client_config()).unwrap();
    assert!(c.refresh());
    let pids: Vec<u32> = (1..=500).collect();
    for _ in 0..5 {
        assert_eq!(c.lookup(&pids).unwrap().len(), 500);
    }
    let n = allocations_in(|| {
        for _ in 0..20 {
            let v = c.lookup(&pids).unwrap();
            assert_eq!(v.len(), 500);
            assert_eq!(v.item(499).pid(), 500);
        }
    });
    assert_eq!(n, 0, "{n} allocations in warm lookups");
}
