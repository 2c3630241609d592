//! End-to-end tests of `netipc bench`: a server and a client for short
//! runs (UDS, SHM, pipelined), the in-process scenarios, the result line
//! shapes and the exit codes.

// Drives the built tool on Linux (UDS / SHM, live host data, POSIX
// signals); the Windows tool is exercised end to end by
// scripts/windows-tests.sh.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{Spawned, code_of, entries, ok_stdout, temp_dir};
use serde_json::Value;

/// Checks one CSV result line; returns its throughput.
fn check_csv(line: &str, scenario: &str) -> f64 {
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f.len(), 10, "{line}");
    assert_eq!(f[0], scenario);
    assert_eq!((f[1], f[2]), ("netipc", "netipc"), "{line}");
    let nums: Vec<f64> = f[3..]
        .iter()
        .map(|x| x.parse::<f64>().unwrap_or_else(|_| panic!("{x} in {line}")))
        .collect();
    let (tput, p50, p95, p99, client, server, total) = (
        nums[0], nums[1], nums[2], nums[3], nums[4], nums[5], nums[6],
    );
    assert!(tput > 0.0, "{line}");
    assert!(p50 > 0.0 && p50 <= p95 && p95 <= p99, "{line}");
    assert!(client >= 0.0, "{line}");
    assert_eq!(server, 0.0, "{line}");
    assert_eq!(f[9], f[7], "total = client CPU: {line}");
    assert_eq!(total, client);
    tput
}

/// Runs the server side and the client of `scenario` for one second;
/// returns the client line and the server's CPU line.
fn pair(dir: &Path, scenario: &str) -> (String, String) {
    let run = dir.join(scenario);
    let rd = run.to_str().unwrap().to_owned();
    let log = dir.join(format!("{scenario}.log"));
    let mut srv = Spawned::start(
        &[
            "bench",
            "server",
            scenario,
            "--run-dir",
            &rd,
            "--service",
            "svc",
            "--duration",
            "120",
        ],
        &log,
    );
    assert_eq!(srv.ready, "READY");
    let out = ok_stdout(&[
        "bench",
        "client",
        scenario,
        "--run-dir",
        &rd,
        "--service",
        "svc",
        "--duration",
        "1",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one CSV line when stdout is not a terminal: {out}"
    );
    let (status, rest) = srv.terminate();
    assert!(status.success(), "{status:?}: {}", srv.log());
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(entries(&run).is_empty(), "files left: {:?}", entries(&run));
    (lines[0].to_owned(), rest[0].clone())
}

fn server_cpu(line: &str) -> f64 {
    line.strip_prefix("SERVER_CPU_PCT=")
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap()
}

#[test]
fn uds_ping_pong() {
    let tmp = temp_dir("netipc-bench-uds-");
    let (line, cpu) = pair(tmp.path(), "uds-ping-pong");
    check_csv(&line, "uds-ping-pong");
    assert!(server_cpu(&cpu) > 0.0, "{cpu}");
}

#[test]
fn shm_batch_ping_pong() {
    let tmp = temp_dir("netipc-bench-shm-");
    let (line, cpu) = pair(tmp.path(), "shm-batch-ping-pong");
    check_csv(&line, "shm-batch-ping-pong");
    assert!(server_cpu(&cpu) >= 0.0, "{cpu}");
}

#[test]
fn pipelined_batches_and_snapshots() {
    let tmp = temp_dir("netipc-bench-pipe-");
    let (line, _) = pair(tmp.path(), "uds-pipeline-batch");
    check_csv(&line, "uds-pipeline-batch");
    let (line, _) = pair(tmp.path(), "snapshot-shm");
    check_csv(&line, "snapshot-shm");
}

#[test]
fn in_process_scenarios() {
    let line = ok_stdout(&[
        "bench",
        "client",
        "cgroups-lookup-mixed-16",
        "--duration",
        "1",
    ]);
    check_csv(line.trim_end(), "cgroups-lookup-mixed-16");
    let line = ok_stdout(&["bench", "client", "lookup", "--duration", "1"]);
    check_csv(line.trim_end(), "lookup");
    let json = ok_stdout(&[
        "bench",
        "client",
        "apps-lookup-known-256",
        "--duration",
        "1",
        "--json",
        "--target-rps",
        "200",
    ]);
    let v: Value = serde_json::from_str(json.trim_end()).unwrap();
    assert_eq!(v["scenario"], "apps-lookup-known-256");
    for k in [
        "throughput",
        "p50_us",
        "p95_us",
        "p99_us",
        "client_cpu_pct",
        "server_cpu_pct",
        "total_cpu_pct",
    ] {
        assert!(v[k].is_number(), "{k}: {v}");
    }
    // Paced: about 200 calls in one second, never far more.
    let ops = v["operations"].as_u64().unwrap();
    assert!((1..=260).contains(&ops), "{v}");
}

#[test]
fn bench_list_and_exit_codes() {
    let list = ok_stdout(&["bench", "list"]);
    assert_eq!(list.lines().count(), 39, "{list}");
    assert!(list.contains("uds-pipeline server\n"), "{list}");
    assert!(
        list.contains("apps-lookup-unknown-32768 in-process\n"),
        "{list}"
    );
    // No server for in-process scenarios, unknown scenario: usage (2).
    assert_eq!(code_of(&["bench", "server", "lookup"]).0, Some(2));
    assert_eq!(code_of(&["bench", "client", "nope"]).0, Some(2));
    assert_eq!(
        code_of(&["bench", "client", "lookup", "--duration", "0"]).0,
        Some(2)
    );
    // Nobody serving: 3.
    let tmp = temp_dir("netipc-bench-exit-");
    let rd = tmp.path().to_str().unwrap();
    let (code, err) = code_of(&[
        "bench",
        "client",
        "uds-ping-pong",
        "--run-dir",
        rd,
        "--duration",
        "1",
    ]);
    assert_eq!(code, Some(3), "{err}");
    // A server with another token: 4.
    let mut srv = Spawned::start(
        &[
            "bench",
            "server",
            "uds-ping-pong",
            "--run-dir",
            rd,
            "--duration",
            "120",
        ],
        &tmp.path().join("log"),
    );
    let (code, err) = code_of(&[
        "bench",
        "client",
        "uds-ping-pong",
        "--run-dir",
        rd,
        "--duration",
        "1",
        "--auth-token",
        "1",
    ]);
    assert_eq!(code, Some(4), "{err}");
    let (status, _) = srv.terminate();
    assert!(status.success(), "{}", srv.log());
}

#[test]
fn bench_server_stops_after_its_duration() {
    let tmp = temp_dir("netipc-bench-dur-");
    let rd = tmp.path().join("run");
    let mut srv = Spawned::start(
        &[
            "bench",
            "server",
            "snapshot-baseline",
            "--run-dir",
            rd.to_str().unwrap(),
            "--duration",
            "1",
            "--json",
        ],
        &tmp.path().join("log"),
    );
    let (status, rest) = srv.wait();
    assert!(status.success(), "{}", srv.log());
    let v: Value = serde_json::from_str(&rest[0]).unwrap();
    assert!(v["server_cpu_pct"].is_number(), "{v}");
    assert_eq!(v["scenario"], "snapshot-baseline");
    assert_eq!(v["requests"], 0);
    assert!(entries(&rd).is_empty());
}
