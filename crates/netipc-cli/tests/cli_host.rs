//! End-to-end tests of `netipc host`: the binary prints live (or fake) host
//! data, and what it prints with `--json` loads back as a dataset that
//! answers exactly like the host it was recorded from.

// Drives the built tool on Linux (UDS / SHM, live host data, POSIX
// signals); the Windows tool is exercised end to end by
// scripts/windows-tests.sh.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc_cli::dataset::{
    Dataset, load_any, parse_apps_lookup, parse_cgroups_lookup, parse_snapshot,
};
use netipc_cli::hostdata::{HostConfig, HostProvider};
use netipc_cli::source::{DataSource, DatasetProvider, Service};

fn netipc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netipc"))
        .args(args)
        .output()
        .expect("run netipc")
}

fn stdout_of(args: &[&str]) -> String {
    let out = netipc(args);
    assert!(
        out.status.success(),
        "netipc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(netipc(&[]).status.code(), Some(2));
    assert_eq!(netipc(&["host"]).status.code(), Some(2));
    assert_eq!(netipc(&["host", "bogus"]).status.code(), Some(2));
    assert_eq!(netipc(&["nope"]).status.code(), Some(2));
    assert_eq!(netipc(&["--help"]).status.code(), Some(0));
}

#[test]
fn real_host_pids_json_has_this_test() {
    let text = stdout_of(&["host", "--json", "pids"]);
    let apps = parse_apps_lookup(&text).expect("valid apps dataset");
    let me = std::process::id();
    let item = apps
        .items
        .iter()
        .find(|i| i.pid == me)
        .expect("test pid listed");
    assert_eq!(item.status, PidStatus::Known);
    assert_eq!(item.ppid, std::os::unix::process::parent_id());
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let want: String = name.chars().take(15).collect();
    assert_eq!(item.comm, want);
    // The child itself (netipc) is listed as a child of this test.
    assert!(
        apps.items
            .iter()
            .any(|i| i.ppid == me && i.comm.starts_with("netipc"))
    );
}

#[test]
fn real_host_cgroups_and_snapshot_json_are_valid() {
    parse_cgroups_lookup(&stdout_of(&["host", "--json", "cgroups"])).unwrap();
    parse_snapshot(&stdout_of(&["host", "--json", "snapshot"])).unwrap();
    let table = stdout_of(&["host", "cgroups"]);
    assert!(table.starts_with("generation "));
    let table = stdout_of(&["host", "pids"]);
    assert!(table.contains("COMM"));
}

fn build_fake(root: &Path) {
    let cg = root.join("cgroup");
    for d in [
        "system.slice/ssh.service",
        "system.slice/docker-0123456789abcdef0123456789abcdef.scope",
        "user.slice/user-1000.slice/session-4.scope",
        "kubepods/besteffort/pod11112222-3333-4444-5555-666677778888/0123456789abcdef",
    ] {
        fs::create_dir_all(cg.join(d)).unwrap();
    }
    fs::write(cg.join("cgroup.controllers"), "cpu\n").unwrap();
    let procs = [
        (1, "init", 0, "0::/\n"),
        (10, "sshd", 1, "0::/system.slice/ssh.service\n"),
        (
            11,
            "nginx: worker",
            1,
            "0::/system.slice/docker-0123456789abcdef0123456789abcdef.scope\n",
        ),
        (
            12,
            "a) b (c",
            10,
            "0::/user.slice/user-1000.slice/session-4.scope\n",
        ),
        (
            13,
            "pause",
            1,
            "0::/kubepods/besteffort/pod11112222-3333-4444-5555-666677778888/0123456789abcdef\n",
        ),
        (14, "ghost", 1, "0::/not/yet\n"),
    ];
    for (pid, comm, ppid, cgroup) in procs {
        let d = root.join("proc").join(pid.to_string());
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("stat"),
            format!(
                "{pid} ({comm}) S {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n",
                1000 + pid
            ),
        )
        .unwrap();
        fs::write(
            d.join("status"),
            format!("Uid:\t{0}\t{0}\t{0}\t{0}\n", pid * 100),
        )
        .unwrap();
        fs::write(d.join("cgroup"), cgroup).unwrap();
    }
}

#[test]
fn record_and_replay_fake_host() {
    let dir = tempfile::Builder::new()
        .prefix("netipc-cli-replay-")
        .tempdir()
        .unwrap();
    build_fake(dir.path());
    let cg = dir.path().join("cgroup");
    let pr = dir.path().join("proc");
    let (cg_s, pr_s) = (cg.to_str().unwrap(), pr.to_str().unwrap());
    let root_args = ["--cgroup-root", cg_s, "--proc-root", pr_s];

    // Record the three shapes.
    let mut files = Vec::new();
    for what in ["snapshot", "cgroups", "pids"] {
        let mut args = vec!["host", "--json"];
        args.extend_from_slice(&root_args);
        args.push(what);
        let text = stdout_of(&args);
        let f = dir.path().join(format!("{what}.json"));
        fs::write(&f, text).unwrap();
        files.push(f);
    }
    assert!(matches!(load_any(&files[0]).unwrap(), Dataset::Snapshot(_)));
    assert!(matches!(
        load_any(&files[1]).unwrap(),
        Dataset::CgroupsLookup(_)
    ));
    assert!(matches!(
        load_any(&files[2]).unwrap(),
        Dataset::AppsLookup(_)
    ));

    // Replay: the dataset provider answers like the host.
    let replay = DatasetProvider::load_files(&files).unwrap();
    let host = HostProvider::new(HostConfig {
        cgroup_root: Some(cg.clone()),
        proc_root: pr.clone(),
        systemd_marker: dir.path().join("absent"),
        ..HostConfig::default()
    });
    for s in Service::ALL {
        assert!(replay.provides(s));
        assert_eq!(replay.generation(s), DataSource::generation(&host, s));
    }
    assert_eq!(*replay.snapshot(), *DataSource::snapshot(&host));
    for c in host.cgroups().items() {
        assert_eq!(
            replay.lookup_cgroup(c.path.as_bytes()),
            host.lookup_cgroup(c.path.as_bytes())
        );
    }
    for pid in [1, 10, 11, 12, 13, 14] {
        assert_eq!(replay.lookup_pid(pid), host.lookup_pid(pid), "pid {pid}");
    }

    // Spot checks of the joined data.
    let nginx = host.lookup_pid(11);
    assert_eq!(nginx.comm, "nginx: worker");
    assert_eq!(nginx.cgroup_name, "docker-0123456789ab");
    assert_eq!(host.lookup_pid(12).comm, "a) b (c");
    assert_eq!(host.lookup_pid(12).uid, 1200);
    assert_eq!(host.lookup_pid(1).cgroup_status, CgroupStatus::HostRoot);
    assert_eq!(
        host.lookup_pid(14).cgroup_status,
        CgroupStatus::UnknownRetryLater
    );
    let pause = host.lookup_pid(13);
    assert_eq!(
        pause.cgroup_name,
        "k8s_pod_11112222-3333-4444-5555-666677778888_0123456789ab"
    );

    // Unknown keys: permanent from a fixed dataset, retry-later from the host.
    assert_eq!(
        replay.lookup_cgroup(b"/not/yet").status,
        LookupStatus::UnknownPermanent
    );
    assert_eq!(
        host.lookup_cgroup(b"/not/yet").status,
        LookupStatus::UnknownRetryLater
    );
    assert_eq!(replay.lookup_pid(999).status, PidStatus::Unknown);
}
