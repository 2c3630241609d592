//! Codec benchmarks for INCREMENT, STRING_REVERSE and CGROUPS_SNAPSHOT:
//! encode into a reused buffer, build with the reused builder, and decode
//! (full validation) plus a pass over every item.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use netipc::codec::cgroups_snapshot::{
    CgroupsSnapshot, CgroupsSnapshotBuilder, decode_snapshot, encode_snapshot,
};
use netipc::codec::corpus::{bench_snapshot, cgroups_corpus_snapshot};
use netipc::codec::increment::{decode_increment, encode_increment};
use netipc::codec::string_reverse::{decode_string_reverse, encode_string_reverse};

fn bench_increment(c: &mut Criterion) {
    let mut g = c.benchmark_group("increment");
    let mut buf = Vec::with_capacity(64);
    g.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            encode_increment(black_box(41), &mut buf);
            black_box(&buf);
        })
    });
    let bytes = 41u64.to_ne_bytes();
    g.bench_function("decode", |b| {
        b.iter(|| decode_increment(black_box(&bytes)).unwrap())
    });
    g.finish();
}

fn bench_string_reverse(c: &mut Criterion) {
    let mut g = c.benchmark_group("string_reverse");
    for len in [13usize, 1024] {
        let text = vec![b'a'; len];
        let mut buf = Vec::with_capacity(len + 64);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("encode", len), &text, |b, text| {
            b.iter(|| {
                buf.clear();
                encode_string_reverse(black_box(text), &mut buf).unwrap();
                black_box(&buf);
            })
        });
        let mut bytes = Vec::new();
        encode_string_reverse(&text, &mut bytes).unwrap();
        g.bench_with_input(BenchmarkId::new("decode", len), &bytes, |b, bytes| {
            b.iter(|| decode_string_reverse(black_box(bytes)).unwrap().len())
        });
    }
    g.finish();
}

fn bench_snapshot_sizes(c: &mut Criterion, name: &str, snap: &CgroupsSnapshot) {
    let mut g = c.benchmark_group(format!("cgroups_snapshot/{name}"));
    let n = snap.items.len();
    g.throughput(Throughput::Elements(n as u64));

    let mut buf = Vec::new();
    encode_snapshot(snap, &mut buf).unwrap();
    let bytes = buf.clone();

    g.bench_function("encode", |b| {
        b.iter(|| {
            buf.clear();
            encode_snapshot(black_box(snap), &mut buf).unwrap();
            black_box(&buf);
        })
    });

    let mut builder = CgroupsSnapshotBuilder::new(Vec::with_capacity(bytes.len()));
    g.bench_function("builder", |b| {
        b.iter(|| {
            builder.reset(snap.systemd_enabled, snap.generation);
            for it in &snap.items {
                builder
                    .add_item(it.hash, it.options, it.enabled, &it.name, &it.path)
                    .unwrap();
            }
            black_box(builder.finish().len())
        })
    });

    g.bench_function("builder_hinted", |b| {
        b.iter(|| {
            builder.reset(snap.systemd_enabled, snap.generation);
            builder.reserve_items(n);
            for it in &snap.items {
                builder
                    .add_item(it.hash, it.options, it.enabled, &it.name, &it.path)
                    .unwrap();
            }
            black_box(builder.finish().len())
        })
    });

    g.bench_function("decode", |b| {
        b.iter(|| decode_snapshot(black_box(&bytes)).unwrap().len())
    });

    g.bench_function("decode_iterate", |b| {
        b.iter(|| {
            let v = decode_snapshot(black_box(&bytes)).unwrap();
            let mut acc = 0u64;
            for it in &v {
                acc = acc.wrapping_add(u64::from(it.hash))
                    + it.name.len() as u64
                    + it.path.len() as u64;
            }
            acc
        })
    });

    let mut owned = CgroupsSnapshot::default();
    g.bench_function("decode_copy_into", |b| {
        b.iter(|| {
            decode_snapshot(black_box(&bytes))
                .unwrap()
                .copy_into(&mut owned);
            black_box(owned.items.len())
        })
    });
    g.finish();
}

fn bench_snapshots(c: &mut Criterion) {
    bench_snapshot_sizes(c, "16", &bench_snapshot(1));
    bench_snapshot_sizes(c, "5000", &cgroups_corpus_snapshot(5000, 42, 1));
}

criterion_group!(
    benches,
    bench_increment,
    bench_string_reverse,
    bench_snapshots
);
criterion_main!(benches);
