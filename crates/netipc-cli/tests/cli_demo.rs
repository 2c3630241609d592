//! End-to-end test of `netipc demo`: it completes, prints its sections
//! and leaves nothing behind.

// Drives the built tool on Linux (UDS / SHM, live host data, POSIX
// signals); the Windows tool is exercised end to end by
// scripts/windows-tests.sh.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{entries, ok_stdout, temp_dir};

fn check_sections(out: &str) {
    for section in [
        "== Providers",
        "== Level 3 cache of cgroups-snapshot",
        "== apps-lookup of",
        "== cgroups-lookup of",
        "== Throughput",
        "INCREMENT round trips",
        "Stopped",
    ] {
        assert!(out.contains(section), "missing {section}: {out}");
    }
    let me_line = out
        .lines()
        .find(|l| l.contains("(this process is "))
        .expect("apps section");
    let pid = me_line
        .rsplit("(this process is ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with(&format!("{pid} KNOWN"))),
        "its own PID is KNOWN: {out}"
    );
    assert!(out.contains("UNKNOWN_RETRY_LATER"), "the bogus path: {out}");
}

#[test]
fn demo_in_a_given_run_dir_leaves_it_empty() {
    let tmp = temp_dir("netipc-demo-test-");
    let dir = tmp.path().join("run");
    let out = ok_stdout(&[
        "demo",
        "--run-dir",
        dir.to_str().unwrap(),
        "--seconds",
        "0.3",
    ]);
    check_sections(&out);
    assert!(out.contains("(mode 600)"), "{out}");
    assert_eq!(entries(&dir), Vec::<String>::new());
}

#[test]
fn demo_removes_its_temporary_run_dir() {
    let out = ok_stdout(&["demo", "--seconds", "0.3"]);
    check_sections(&out);
    let dir = out
        .lines()
        .find_map(|l| l.strip_prefix("run dir "))
        .expect("run dir line");
    assert!(
        Path::new(dir)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("netipc-demo-")
    );
    assert!(!Path::new(dir).exists(), "{dir} left behind");
    assert!(out.contains(&format!("removed {dir}")), "{out}");
}
