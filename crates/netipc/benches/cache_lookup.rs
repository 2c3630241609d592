//! Level 3 local lookups per second, beside a plain `HashMap` baseline:
//! (a) the shared `lookup` scenario (16-item benchmark snapshot, every
//! lookup a hit), (b) a 5,000-item production-shaped cache, hits and misses.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netipc::cache::{CgroupsTable, CgroupsTableBuilder};

fn bench_items(n: usize) -> Vec<(u32, String, String)> {
    (0..n)
        .map(|i| {
            (
                1000 + i as u32,
                format!("cgroup-{i}"),
                format!("/sys/fs/cgroup/bench/cg-{i}"),
            )
        })
        .collect()
}

fn table_of(items: &[(u32, String, String)]) -> CgroupsTable {
    let mut b = CgroupsTableBuilder::new(1, 1, items.len());
    for (i, (h, n, p)) in items.iter().enumerate() {
        b.push(*h, 0, (i % 2) as u32, n.as_bytes(), p.as_bytes());
    }
    b.build()
}

fn map_of(items: &[(u32, String, String)]) -> HashMap<(u32, String), String> {
    items
        .iter()
        .map(|(h, n, p)| ((*h, n.clone()), p.clone()))
        .collect()
}

fn lookups(c: &mut Criterion) {
    let items = bench_items(16);
    let table = table_of(&items);
    let map = map_of(&items);
    let keys: Vec<(u32, String)> = items.iter().map(|(h, n, _)| (*h, n.clone())).collect();

    let mut g = c.benchmark_group("lookup-16");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("netipc", |b| {
        b.iter(|| {
            for (h, n) in &keys {
                black_box(
                    table
                        .get(black_box(*h), black_box(n.as_bytes()))
                        .map(|e| e.options),
                );
            }
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(map.get(black_box(k)).map(|p| p.len()));
            }
        })
    });
    g.finish();

    // (b) 5,000 items, half of the probes miss.
    let items = bench_items(5000);
    let table = table_of(&items);
    let map = map_of(&items);
    let keys: Vec<(u32, String)> = (0..10_000)
        .map(|i| {
            if i % 2 == 0 {
                let (h, n, _) = &items[(i * 7919) % items.len()];
                (*h, n.clone())
            } else {
                (1000 + (i % 6000) as u32, format!("missing-{i}"))
            }
        })
        .collect();
    let mut g = c.benchmark_group("lookup-5000-mixed");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("netipc", |b| {
        b.iter(|| {
            for (h, n) in &keys {
                black_box(table.get(*h, n.as_bytes()).map(|e| e.options));
            }
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(map.get(k).map(|p| p.len()));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
