//! Shared by the benchmark binaries, each of which includes it with
//! `#[path = "support/mod.rs"] mod support;` and uses what it needs: the
//! token, run directories, the optional command-line figures, best-of
//! runs, SEQPACKET socket pairs, the INCREMENT exchange of Level 1
//! sessions, and the lookup data of BENCHMARKS.md.

#![allow(dead_code)]

#[cfg(unix)]
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netipc::codec::apps_lookup::AppsLookupEntry;
use netipc::codec::lookup::{CgroupStatus, LabelSet, Orchestrator, PidStatus};
use netipc::protocol::METHOD_INCREMENT;
use netipc::transport::Deadline;
use netipc::transport::{ClientSession, ServerSession};
#[cfg(unix)]
use rustix::net::{AddressFamily, SocketFlags, SocketType};

/// The benchmark auth token.
pub const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;

/// A run directory `{tmp}/nipc-bench-{tag}-{pid}-{n}`, removed on drop.
pub struct RunDir(PathBuf);

impl RunDir {
    /// Creates a fresh one.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "nipc-bench-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        RunDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The optional arguments (flags such as `--bench` skipped): seconds per
/// run (default 0.5) and a run count (default `default_runs`).
pub fn args(default_runs: usize) -> (Duration, usize) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let secs: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(0.5);
    let runs: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_runs);
    (Duration::from_secs_f64(secs), runs)
}

/// The best of `runs` (at least one) figures of `f`.
pub fn best(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..runs.max(1)).map(|_| f()).fold(0.0, f64::max)
}

/// A connected `SOCK_SEQPACKET` socket pair.
#[cfg(unix)]
pub fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// Answers INCREMENT (`u64 + 1`) on a Level 1 session until the peer
/// hangs up.
pub fn serve_increments(s: &mut ServerSession) {
    loop {
        let (code, id, v) = match s.recv_request(Deadline::NEVER, None) {
            Ok(m) => (
                m.header.code,
                m.header.message_id,
                u64::from_ne_bytes(m.payload.try_into().unwrap()),
            ),
            Err(_) => return,
        };
        if s.send_response(code, id, &(v + 1).to_ne_bytes()).is_err() {
            return;
        }
    }
}

/// `n` INCREMENT round trips on a Level 1 session, each sending the
/// previous answer (starting from `*v`) and checking the new one.
pub fn increment_calls(c: &mut ClientSession, v: &mut u64, n: u64) {
    for _ in 0..n {
        let m = c
            .call(METHOD_INCREMENT, &v.to_ne_bytes(), Deadline::NEVER, None)
            .unwrap();
        let r = u64::from_ne_bytes(m.payload.try_into().unwrap());
        assert_eq!(r, *v + 1);
        *v = r;
    }
}

/// INCREMENT round trips on a Level 1 session for `dur`; returns round
/// trips per second.
pub fn pingpong(c: &mut ClientSession, dur: Duration) -> f64 {
    let mut v = 0u64;
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < dur {
        increment_calls(c, &mut v, 1000);
        n += 1000;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

// ----- lookup data (BENCHMARKS.md, "Lookup scenarios") ---------------------

/// Labels of a known cgroup.
pub const CG_LABELS: [(&str, &str); 2] = [("namespace", "bench"), ("image", "bench:latest")];
/// Labels of a known PID.
pub const APPS_LABELS: [(&str, &str); 1] = [("image", "bench:latest")];
/// [`CG_LABELS`] validated and laid out once (what a handler with
/// constant labels passes).
pub static CG_SET: LazyLock<LabelSet> = LazyLock::new(|| LabelSet::new(CG_LABELS).unwrap());
/// [`APPS_LABELS`] validated and laid out once.
pub static APPS_SET: LazyLock<LabelSet> = LazyLock::new(|| LabelSet::new(APPS_LABELS).unwrap());
/// A known PID (its cgroup labels are [`APPS_LABELS`]).
pub const APPS_KNOWN: AppsLookupEntry<'static> = AppsLookupEntry {
    status: PidStatus::Known,
    cgroup_status: CgroupStatus::Known,
    orchestrator: Orchestrator::Docker as u16,
    ppid: 1,
    uid: 1000,
    starttime: 42,
    comm: b"bench",
    cgroup_path: b"/sys/fs/cgroup/bench",
    cgroup_name: b"bench-container",
};
/// The name of a known cgroup (orchestrator K8S, labels [`CG_LABELS`]).
pub const CG_NAME: &[u8] = b"bench-pod";

/// The response budget of an in-process lookup of `n` keys.
pub fn lookup_budget(n: usize) -> usize {
    (n * 256 + 4096).max(65536)
}

/// The cgroup path keys of a lookup of `n` keys.
pub fn cgroups_paths(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
        .collect()
}

/// The PID keys of a lookup of `n` keys.
pub fn pids(n: usize) -> Vec<u32> {
    (0..n as u32).map(|i| 1000 + i).collect()
}
