//! Warm Level 2 client calls perform zero heap allocations on the calling
//! thread (a thread-local counting global allocator; the fake server runs
//! on other threads and is not counted).

#[path = "l2_support/mod.rs"]
mod l2_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use l2_support::*;
use netipc::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, simple_hash};
use netipc::codec::increment::decode_increment;
use netipc::service::client::{AppsLookupClient, CgroupsSnapshotClient, IncrementClient};
use netipc::transport::uds::Message;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(|c| c.get());
    f();
    ALLOCS.with(|c| c.get()) - before
}

const WARM: u64 = 50;
const MEASURED: u64 = 1000;

fn increment_handler() -> Handler {
    Box::new(|_, m: &Message<'_>| {
        if m.batch().is_some() {
            Reply::Batch(
                m.items()
                    .map(|it| (decode_increment(it).unwrap() + 1).to_ne_bytes().to_vec())
                    .collect(),
            )
        } else {
            Reply::Payload(
                (decode_increment(m.payload).unwrap() + 1)
                    .to_ne_bytes()
                    .to_vec(),
            )
        }
    })
}

#[test]
fn warm_increment_calls_do_not_allocate() {
    for plane in PLANES {
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
    let mut b = CgroupsSnapshotBuilder::new(Vec::new());
    b.reset(1, 9);
    for i in 0..16 {
        let name = format!("cg-{i}");
        let path = format!("/sys/fs/cgroup/cg-{i}");
        b.add_item(
            simple_hash(name.as_bytes()),
            0,
            1,
            name.as_bytes(),
            path.as_bytes(),
        )
        .unwrap();
    }
    let snap = b.finish().to_vec();
    for plane in PLANES {
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
                assert_eq!(v.item(15).name, b"cg-15");
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
        Options::new(server_config(Plane::Uds, 4096)),
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
