//! FFI overhead of the C API: INCREMENT round trips per second of a C
//! client (`benches/c/bench_increment.c`, `-O2`, static `libnetipc.a`)
//! and of the Rust `IncrementClient`, against the same Rust managed server
//! over UDS and SHM, in the same run. Both clients run in their own
//! process (this binary re-executes itself for the Rust client), so the
//! only difference is the C API layer.
//!
//! Run with `cargo bench -p netipc-c --bench ffi_increment`. Optional
//! arguments: seconds per run (default 1) and runs per client (default 3;
//! the best run is reported, the least disturbed on a shared machine).

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Link, compile, run_dir};
use netipc::protocol::PROFILE_BASELINE;
use netipc::service::client::{ClientConfig, IncrementClient};
use netipc::service::server::{Server, ServerConfig};

fn rust_client(dir: &str, service: &str, plane: &str, seconds: f64) {
    let cfg = ClientConfig {
        supported_profiles: if plane == "shm" { 0 } else { PROFILE_BASELINE },
        ..ClientConfig::default()
    };
    let mut c = IncrementClient::new(dir, service, cfg).expect("client");
    for _ in 0..500 {
        c.refresh();
        if c.ready() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(c.ready(), "not ready");
    assert_eq!(c.status().shm_attached, plane == "shm");
    let mut v = 1u64 << 20;
    for _ in 0..2000 {
        let out = c.call(v).expect("call");
        assert_eq!(out, v + 1);
        v = out;
    }
    let mut calls = 0u64;
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < seconds {
        for _ in 0..256 {
            let out = c.call(v).expect("call");
            assert_eq!(out, v + 1);
            v = out;
        }
        calls += 256;
    }
    println!(
        "calls_per_sec {:.0}",
        calls as f64 / t0.elapsed().as_secs_f64()
    );
}

fn rate(out: &std::process::Output) -> f64 {
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("calls_per_sec line")
}

fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--rust-client") {
        let secs: f64 = args[i + 4].parse().expect("seconds");
        rust_client(&args[i + 1], &args[i + 2], &args[i + 3], secs);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        // Serve INCREMENT at DIR/inc for SECONDS (manual experiments).
        let secs: f64 = args[i + 2].parse().expect("seconds");
        let dir = std::path::PathBuf::from(&args[i + 1]);
        let _s = Server::increment(&ServerConfig::new(&dir, "inc"), |v: u64| {
            Ok(v.wrapping_add(1))
        })
        .expect("server");
        std::thread::sleep(Duration::from_secs_f64(secs));
        return;
    }
    let nums: Vec<f64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let seconds = nums.first().copied().unwrap_or(1.0);
    let runs = nums.get(1).map_or(3, |&n| n as usize).max(1);

    let exe_c = compile(
        "bench_increment",
        &["crates/netipc-c/benches/c/bench_increment.c"],
        Link::Optimized,
        &[],
    );
    let me = std::env::current_exe().expect("current_exe");
    let dir = run_dir("ffi-bench");
    let server = Server::increment(&ServerConfig::new(&dir, "inc"), |v: u64| {
        Ok(v.wrapping_add(1))
    })
    .expect("server");
    let d = dir.to_str().unwrap().to_string();
    let secs = seconds.to_string();

    println!(
        "INCREMENT round trips/s against the Rust managed server \
         ({runs} alternating runs of {seconds} s per client)"
    );
    println!(
        "{:<6} {:>12} {:>12} {:>9}   {:>12} {:>12} {:>9}",
        "plane", "rust best", "C best", "overhead", "rust median", "C median", "overhead"
    );
    for plane in ["uds", "shm"] {
        let (mut cs, mut rs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            // Alternate, so drift on a shared machine hits both alike.
            let c = Command::new(&exe_c)
                .args([&d, "inc", plane, &secs])
                .output()
                .expect("run C bench");
            cs.push(rate(&c));
            let r = Command::new(&me)
                .args(["--rust-client", &d, "inc", plane, &secs])
                .output()
                .expect("run Rust bench");
            rs.push(rate(&r));
        }
        let (bc, br) = (best(&cs), best(&rs));
        let (mc, mr) = (median(&mut cs), median(&mut rs));
        println!(
            "{plane:<6} {br:>12.0} {bc:>12.0} {:>8.1}%   {mr:>12.0} {mc:>12.0} {:>8.1}%",
            (br - bc) / br * 100.0,
            (mr - mc) / mr * 100.0
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
