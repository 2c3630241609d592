//! Level 3 local lookups per second through the real guarded path
//! (`cache.read()`, then `get`s), beside a plain `HashMap<(u32, String), _>`
//! baseline in the same run:
//!
//! - (a) the shared `lookup` scenario of BENCHMARKS.md: a `CgroupsCache`
//!   seeded (once, from a real server) with the 16 benchmark snapshot
//!   items; one pass = one guard + 16 lookups, all hits;
//! - (b) a cache of 5,000 items; 10,000 probes, half of them misses, one
//!   guard per 16 probes.
//!
//! After each group the mean rates of the run (warm-up included) and the
//! netipc / HashMap ratio are printed.

#[path = "support/mod.rs"]
mod support;

use std::cell::Cell;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netipc::cache::CgroupsCache;
use netipc::codec::cgroups_snapshot::{CgroupItem, CgroupsSnapshotBuilder};
use netipc::codec::corpus::bench_snapshot_items;
use netipc::service::client::ClientConfig;
use netipc::service::server::{HandlerError, Server, ServerConfig};

use support::{RunDir, TOKEN};

const SERVICE: &str = "cgroups-snapshot";

/// Seeds a real cache from a real server serving `items`, then stops the
/// server (the cache keeps its data).
fn seeded_cache(tag: &str, items: Vec<CgroupItem>) -> (RunDir, CgroupsCache) {
    let dir = RunDir::new(&format!("l3-{tag}"));
    let cfg = ServerConfig {
        auth_token: TOKEN,
        max_response_payload_bytes: 1 << 20,
        ..ServerConfig::new(dir.path(), SERVICE)
    };
    let server = Server::cgroups_snapshot(&cfg, move |b: &mut CgroupsSnapshotBuilder| {
        b.set_systemd_enabled(1);
        b.set_generation(1);
        for it in &items {
            b.add(it)?;
        }
        Ok::<(), HandlerError>(())
    })
    .unwrap();
    let client = ClientConfig {
        auth_token: TOKEN,
        call_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    };
    let cache = CgroupsCache::new(dir.path(), SERVICE, client).unwrap();
    cache.refresh().unwrap();
    server.stop();
    assert!(cache.ready());
    (dir, cache)
}

fn map_of(items: &[CgroupItem]) -> HashMap<(u32, String), String> {
    items
        .iter()
        .map(|i| {
            (
                (i.hash, String::from_utf8(i.name.clone()).unwrap()),
                String::from_utf8(i.path.clone()).unwrap(),
            )
        })
        .collect()
}

/// Accumulates the iterations and time criterion measured.
#[derive(Default)]
struct Rate {
    lookups: Cell<u64>,
    time: Cell<Duration>,
}

impl Rate {
    fn add(&self, lookups: u64, time: Duration) {
        self.lookups.set(self.lookups.get() + lookups);
        self.time.set(self.time.get() + time);
    }

    fn per_second(&self) -> f64 {
        let t = self.time.get().as_secs_f64();
        if t == 0.0 {
            0.0
        } else {
            self.lookups.get() as f64 / t
        }
    }
}

fn report(group: &str, netipc: &Rate, hashmap: &Rate) {
    let (n, h) = (netipc.per_second(), hashmap.per_second());
    if n > 0.0 && h > 0.0 {
        println!(
            "{group}: netipc {:.1} M lookups/s, hashmap {:.1} M lookups/s, ratio {:.2}x",
            n / 1e6,
            h / 1e6,
            n / h
        );
    }
}

/// (a) The shared `lookup` scenario.
fn lookup_16(c: &mut Criterion) {
    let items = bench_snapshot_items();
    let map = map_of(&items);
    let (_dir, cache) = seeded_cache("16", items.clone());
    let keys: Vec<(u32, Vec<u8>)> = items.iter().map(|i| (i.hash, i.name.clone())).collect();
    let map_keys: Vec<(u32, String)> = map.keys().cloned().collect();
    assert_eq!(cache.read().len(), 16);
    let per_pass = keys.len() as u64;

    let (netipc, hashmap) = (Rate::default(), Rate::default());
    let mut g = c.benchmark_group("lookup-16");
    g.throughput(Throughput::Elements(per_pass));
    g.bench_function("netipc-guarded", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let guard = cache.read();
                for (h, n) in &keys {
                    let e = guard.get(black_box(*h), black_box(n)).unwrap();
                    black_box(e.enabled);
                }
            }
            let t = start.elapsed();
            netipc.add(iters * per_pass, t);
            t
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for k in &map_keys {
                    let p = map.get(black_box(k)).unwrap();
                    black_box(p.len());
                }
            }
            let t = start.elapsed();
            hashmap.add(iters * per_pass, t);
            t
        })
    });
    g.finish();
    report("lookup-16 (a)", &netipc, &hashmap);
}

/// Production-shaped items `i`: hash `1000 + i`, name `cgroup-{i}`.
fn many_items(n: usize) -> Vec<CgroupItem> {
    (0..n)
        .map(|i| CgroupItem {
            hash: 1000 + i as u32,
            options: 0,
            enabled: (i % 2) as u32,
            name: format!("cgroup-{i}").into_bytes(),
            path: format!("/sys/fs/cgroup/bench/cg-{i}").into_bytes(),
        })
        .collect()
}

/// (b) 5,000 items, half of the probes miss.
fn lookup_5000_mixed(c: &mut Criterion) {
    let items = many_items(5000);
    let map = map_of(&items);
    let (_dir, cache) = seeded_cache("5000", items.clone());
    assert_eq!(cache.read().len(), 5000);
    let keys: Vec<(u32, String)> = (0..10_000)
        .map(|i| {
            if i % 2 == 0 {
                let it = &items[(i * 7919) % items.len()];
                (it.hash, String::from_utf8(it.name.clone()).unwrap())
            } else {
                (1000 + (i % 6000) as u32, format!("missing-{i}"))
            }
        })
        .collect();
    let per_pass = keys.len() as u64;

    let (netipc, hashmap) = (Rate::default(), Rate::default());
    let mut g = c.benchmark_group("lookup-5000-mixed");
    g.throughput(Throughput::Elements(per_pass));
    g.bench_function("netipc-guarded", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for chunk in keys.chunks(16) {
                    let guard = cache.read();
                    for (h, n) in chunk {
                        black_box(guard.get(*h, n.as_bytes()).map(|e| e.enabled));
                    }
                }
            }
            let t = start.elapsed();
            netipc.add(iters * per_pass, t);
            t
        })
    });
    g.bench_function("hashmap", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for k in &keys {
                    black_box(map.get(k).map(|p| p.len()));
                }
            }
            let t = start.elapsed();
            hashmap.add(iters * per_pass, t);
            t
        })
    });
    g.finish();
    report("lookup-5000-mixed (b)", &netipc, &hashmap);
}

criterion_group!(benches, lookup_16, lookup_5000_mixed);
criterion_main!(benches);
