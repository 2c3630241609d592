//! Guarded lookups on a warm Level 3 cache perform zero heap allocations
//! (a thread-local counting global allocator; the server runs on other
//! threads and is not counted).

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;

use netipc::codec::corpus::{bench_snapshot_items, cgroups_corpus};

use support::alloc::{Counting, allocations_in};
use support::l3::*;
use support::{PLANES, TestDir};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn warm_guarded_lookups_do_not_allocate() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let mut items = bench_snapshot_items();
        items.extend(cgroups_corpus(2000, 5));
        let snap = snapshot(1, items);
        let keys: Vec<(u32, Vec<u8>)> = snap
            .items
            .iter()
            .map(|i| (i.hash, i.name.clone()))
            .collect();
        let misses: Vec<(u32, Vec<u8>)> = keys
            .iter()
            .map(|(h, n)| (h.wrapping_add(1), [n.as_slice(), b"-miss"].concat()))
            .collect();
        let provider = Provider::start(&dir, plane, snap);
        let cache = cache(&dir, plane);

        // Empty cache.
        let _ = cache.read().get(1, b"x");
        let n = allocations_in(|| {
            for _ in 0..100 {
                let g = cache.read();
                black_box(g.get(1000, b"cgroup-0"));
            }
        });
        assert_eq!(n, 0, "{plane:?}: lookups on an empty cache allocated");

        cache.refresh().unwrap();
        // Warm-up: the thread's first guard may register with the
        // publication machinery.
        for (h, name) in keys.iter().take(16) {
            black_box(cache.read().get(*h, name));
        }
        let mut hits = 0usize;
        let n = allocations_in(|| {
            for _ in 0..20 {
                let g = cache.read();
                for (h, name) in &keys {
                    hits += usize::from(g.get(*h, name).is_some());
                }
                for (h, name) in &misses {
                    hits += usize::from(g.get(*h, name).is_some());
                }
                black_box((g.len(), g.generation(), g.systemd_enabled()));
            }
            // Several guards at once, and iteration.
            let a = cache.read();
            let b = cache.read();
            black_box(a.iter().map(|e| e.path.len()).sum::<usize>());
            black_box(b.get(1000, b"cgroup-0"));
        });
        assert_eq!(n, 0, "{plane:?}: warm guarded lookups allocated");
        assert_eq!(hits, 20 * keys.len());

        // Still none after a refresh replaced the table.
        cache.refresh().unwrap();
        let n = allocations_in(|| {
            let g = cache.read();
            for (h, name) in &keys {
                black_box(g.get(*h, name));
            }
        });
        assert_eq!(n, 0, "{plane:?}: lookups after a refresh allocated");
        drop(provider);
    }
}
