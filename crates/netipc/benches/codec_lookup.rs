//! Encode/decode benchmarks of the lookup codecs (CGROUPS_LOOKUP and
//! APPS_LOOKUP), requests and responses, for 16, 256 and 8192 items.
//!
//! Data follows BENCHMARKS.md "Lookup scenarios": cgroups keys
//! `/sys/fs/cgroup/bench/cg-{i:03}`, PIDs `1000 + i`, every item known
//! (K8S, name `bench-pod`, labels `namespace=bench`, `image=bench:latest`
//! for cgroups; DOCKER, ppid 1, uid 1000, starttime 42, comm `bench`,
//! cgroup `/sys/fs/cgroup/bench`, name `bench-container`, label
//! `image=bench:latest` for apps). Response budgets are `N * 256 + 4096`
//! bytes (at least 65536), as for the in-process lookup scenarios.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use netipc::codec::apps_lookup::{
    AppsLookupBuilder, AppsLookupRequestView, AppsLookupResponseView, encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
    encode_cgroups_lookup_request,
};
use netipc::codec::lookup::{LookupStatus, Orchestrator, PidStatus};

use support::{
    APPS_KNOWN, APPS_SET, CG_NAME, CG_SET, cgroups_paths, lookup_budget as budget, pids,
};

const SIZES: [usize; 4] = [1, 16, 256, 8192];

fn cgroups_response(b: &mut CgroupsLookupBuilder, req: &CgroupsLookupRequestView<'_>) -> usize {
    b.reset(1, req);
    for i in 0..req.len() {
        let st = b
            .add_request_item(
                req,
                i,
                LookupStatus::Known,
                Orchestrator::K8s.into(),
                CG_NAME,
                &*CG_SET,
            )
            .unwrap();
        debug_assert_eq!(st, LookupStatus::Known);
    }
    b.finish().unwrap().len()
}

fn apps_response(b: &mut AppsLookupBuilder, req: &AppsLookupRequestView<'_>) -> usize {
    b.reset(1, req);
    for i in 0..req.len() {
        let st = b.add_request_item(req, i, &APPS_KNOWN, &*APPS_SET).unwrap();
        debug_assert_eq!(st, PidStatus::Known);
    }
    b.finish().unwrap().len()
}

fn bench_cgroups(c: &mut Criterion) {
    let mut g = c.benchmark_group("cgroups_lookup");
    for &n in &SIZES {
        let paths = cgroups_paths(n);
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&paths, &mut req).unwrap();
        let view = CgroupsLookupRequestView::decode(&req).unwrap();
        let mut b = CgroupsLookupBuilder::with_budget(budget(n), budget(n));
        cgroups_response(&mut b, &view);
        let resp = b.finish().unwrap().to_vec();
        assert!(
            CgroupsLookupResponseView::decode(&resp)
                .unwrap()
                .items()
                .all(|i| i.status() == LookupStatus::Known)
        );
        g.throughput(Throughput::Elements(n as u64));

        let mut out = Vec::with_capacity(req.len());
        g.bench_with_input(
            BenchmarkId::new("request_encode", n),
            &paths,
            |bch, paths| {
                bch.iter(|| {
                    out.clear();
                    encode_cgroups_lookup_request(black_box(paths), &mut out).unwrap();
                    out.len()
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("request_decode", n), &req, |bch, req| {
            bch.iter(|| {
                let v = CgroupsLookupRequestView::decode(black_box(req)).unwrap();
                v.iter().map(<[u8]>::len).sum::<usize>()
            })
        });
        g.bench_with_input(
            BenchmarkId::new("response_encode", n),
            &view,
            |bch, view| bch.iter(|| cgroups_response(&mut b, black_box(view))),
        );
        g.bench_with_input(
            BenchmarkId::new("response_decode", n),
            &resp,
            |bch, resp| {
                bch.iter(|| {
                    let v = CgroupsLookupResponseView::decode(black_box(resp)).unwrap();
                    let mut sum = 0usize;
                    for it in v.items() {
                        sum += it.path().len() + it.name().len() + usize::from(it.orchestrator());
                        for l in it.labels() {
                            sum += l.key().len() + l.value().len();
                        }
                    }
                    sum
                })
            },
        );
    }
    g.finish();
}

fn bench_apps(c: &mut Criterion) {
    let mut g = c.benchmark_group("apps_lookup");
    for &n in &SIZES {
        let pids = pids(n);
        let mut req = Vec::new();
        encode_apps_lookup_request(&pids, &mut req).unwrap();
        let view = AppsLookupRequestView::decode(&req).unwrap();
        let mut b = AppsLookupBuilder::with_budget(budget(n), budget(n));
        apps_response(&mut b, &view);
        let resp = b.finish().unwrap().to_vec();
        assert!(
            AppsLookupResponseView::decode(&resp)
                .unwrap()
                .items()
                .all(|i| i.status() == PidStatus::Known)
        );
        g.throughput(Throughput::Elements(n as u64));

        let mut out = Vec::with_capacity(req.len());
        g.bench_with_input(BenchmarkId::new("request_encode", n), &pids, |bch, pids| {
            bch.iter(|| {
                out.clear();
                encode_apps_lookup_request(black_box(pids), &mut out).unwrap();
                out.len()
            })
        });
        g.bench_with_input(BenchmarkId::new("request_decode", n), &req, |bch, req| {
            bch.iter(|| {
                let v = AppsLookupRequestView::decode(black_box(req)).unwrap();
                v.iter().map(u64::from).sum::<u64>()
            })
        });
        g.bench_with_input(
            BenchmarkId::new("response_encode", n),
            &view,
            |bch, view| bch.iter(|| apps_response(&mut b, black_box(view))),
        );
        g.bench_with_input(
            BenchmarkId::new("response_decode", n),
            &resp,
            |bch, resp| {
                bch.iter(|| {
                    let v = AppsLookupResponseView::decode(black_box(resp)).unwrap();
                    let mut sum = 0u64;
                    for it in v.items() {
                        sum += u64::from(it.pid()) + u64::from(it.uid()) + it.starttime();
                        sum += (it.comm().len() + it.cgroup_path().len() + it.cgroup_name().len())
                            as u64;
                        for l in it.labels() {
                            sum += (l.key().len() + l.value().len()) as u64;
                        }
                    }
                    sum
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_cgroups, bench_apps);
criterion_main!(benches);
