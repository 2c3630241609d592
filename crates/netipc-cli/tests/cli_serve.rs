//! End-to-end tests of `netipc serve` and the client commands (`call`,
//! `snapshot`, `lookup`): every kind over both profiles, dataset
//! round trips, the live provider, JSON shapes, exit codes and signals.

// Drives the built tool on Linux (UDS / SHM, live host data, POSIX
// signals); the Windows tool is exercised end to end by
// scripts/windows-tests.sh.
#![cfg(unix)]

mod common;

use std::path::Path;

use common::{Spawned, code_of, entries, ok_stdout, temp_dir};
use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc_cli::dataset::{parse_apps_lookup, parse_cgroups_lookup, parse_snapshot};
use serde_json::Value;

const SNAPSHOT: &str = r#"{
  "generation": 77,
  "systemd_enabled": 1,
  "items": [
    {"hash": 2406077274, "options": 6, "enabled": 1, "name": "ssh.service", "path": "/system.slice/ssh.service"},
    {"options": 4, "enabled": 0, "name": "docker-0123456789ab", "path": "/system.slice/docker-0123456789abcdef.scope"},
    {"hash": 300, "options": 4294967295, "enabled": 1, "name": "", "path": ""},
    {"options": 0, "enabled": 1, "name": "ünïcode ✓", "path": "/machine.slice/ünïcode"}
  ]
}"#;

const CGROUPS: &str = r#"{
  "generation": 100,
  "items": [
    {"path": "/kubepods.slice/pod-a", "status": "KNOWN", "orchestrator": "K8S",
     "name": "pod-a", "labels": [["namespace", "default"], ["pod", "web"], ["empty", ""]]},
    {"path": "/docker/abc", "status": "KNOWN", "orchestrator": "DOCKER", "name": "", "labels": []},
    {"path": "/custom", "status": "KNOWN", "orchestrator": 999, "name": "c", "labels": [["k", "v"]]},
    {"path": "/gone", "status": "UNKNOWN_PERMANENT", "orchestrator": "UNKNOWN", "name": "", "labels": []},
    {"path": "/later", "status": "UNKNOWN_RETRY_LATER", "orchestrator": "UNKNOWN", "name": "", "labels": []}
  ]
}"#;

const APPS: &str = r#"{
  "generation": 200,
  "items": [
    {"pid": 1234, "status": "KNOWN", "cgroup_status": "KNOWN", "orchestrator": "DOCKER",
     "ppid": 1, "uid": 1000, "starttime": 123456, "comm": "nginx",
     "cgroup_path": "/docker/abc", "cgroup_name": "container-a",
     "labels": [["image", "nginx:latest"], ["tier", "front"]]},
    {"pid": 1237, "status": "KNOWN", "cgroup_status": "HOST_ROOT", "orchestrator": "UNKNOWN",
     "ppid": 1, "uid": 0, "starttime": 18446744073709551615, "comm": "sshd",
     "cgroup_path": "", "cgroup_name": "", "labels": []},
    {"pid": 1238, "status": "KNOWN", "cgroup_status": "UNKNOWN_RETRY_LATER", "orchestrator": "UNKNOWN",
     "ppid": 1237, "uid": "NIPC_UID_UNSET", "starttime": 5, "comm": "fifteen-chars-x",
     "cgroup_path": "/user.slice/new", "cgroup_name": "", "labels": []},
    {"pid": 1239, "status": "KNOWN", "cgroup_status": "UNKNOWN_PERMANENT", "orchestrator": "UNKNOWN",
     "ppid": 2, "uid": 4294967294, "starttime": 6, "comm": "x",
     "cgroup_path": "/odd", "cgroup_name": "", "labels": []},
    {"pid": 4321, "status": "UNKNOWN", "cgroup_status": "KNOWN", "orchestrator": "UNKNOWN",
     "ppid": 0, "uid": "NIPC_UID_UNSET", "starttime": 0, "comm": "",
     "cgroup_path": "", "cgroup_name": "", "labels": []}
  ]
}"#;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Starts `netipc serve KIND --run-dir DIR extra...`.
fn serve(dir: &Path, kind: &str, extra: &[&str]) -> Spawned {
    let mut args = vec!["serve", kind, "--run-dir", s(dir)];
    args.extend_from_slice(extra);
    let log = dir.join(format!("{kind}-{}.log", std::process::id()));
    // Logs live next to the sockets; keep them out of the "no files left"
    // checks by writing them one level up.
    let log = dir.parent().unwrap().join(log.file_name().unwrap());
    Spawned::start(&args, &log)
}

fn write_data(dir: &Path) -> (String, String, String) {
    let w = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    (
        w("snapshot.json", SNAPSHOT),
        w("cgroups.json", CGROUPS),
        w("apps.json", APPS),
    )
}

#[test]
fn every_kind_over_both_profiles() {
    let tmp = temp_dir("netipc-serve-kinds-");
    let (snap, cg, apps) = write_data(tmp.path());
    for profile in ["uds", "shm"] {
        let run = tmp.path().join(profile);
        let rd = s(&run).to_owned();
        let p = ["--profile", profile];
        let _inc = serve(&run, "increment", &p);
        let _rev = serve(&run, "string-reverse", &p);
        let _snap = serve(
            &run,
            "cgroups-snapshot",
            &[&p[..], &["--data", &snap]].concat(),
        );
        let _cg = serve(&run, "cgroups-lookup", &[&p[..], &["--data", &cg]].concat());
        let _apps = serve(&run, "apps-lookup", &[&p[..], &["--data", &apps]].concat());
        let c =
            |args: &[&str]| ok_stdout(&[args, &["--run-dir", &rd, "--profile", profile]].concat());

        assert_eq!(c(&["call", "increment", "41"]), "41 -> 42\n");
        assert_eq!(
            c(&["call", "increment", "0xff", "--json"]),
            "{\"value\":256}\n"
        );
        assert_eq!(
            c(&["call", "increment", "18446744073709551615", "--json"]),
            "{\"value\":0}\n"
        );
        assert_eq!(c(&["call", "string-reverse", "hello"]), "olleh\n");
        assert_eq!(
            c(&["call", "string-reverse", "-abc", "--json"]),
            "{\"text\":\"cba-\"}\n"
        );
        let table = c(&["snapshot"]);
        assert!(
            table.starts_with("generation 77 systemd_enabled 1 items 4\n"),
            "{table}"
        );
        assert!(table.contains("ssh.service"), "{table}");
        assert_eq!(
            parse_snapshot(&c(&["snapshot", "--json"])).unwrap(),
            parse_snapshot(SNAPSHOT).unwrap()
        );
        let table = c(&["lookup", "cgroups", "/docker/abc", "/nope"]);
        assert!(
            table.contains("DOCKER") && table.contains("UNKNOWN_PERMANENT"),
            "{table}"
        );
        let table = c(&["lookup", "apps", "1234", "1"]);
        assert!(
            table.contains("nginx") && table.contains("image=nginx:latest"),
            "{table}"
        );
    }
}

#[test]
fn data_files_round_trip_every_field() {
    let tmp = temp_dir("netipc-serve-data-");
    let (snap, cg, apps) = write_data(tmp.path());
    let run = tmp.path().join("run");
    let rd = s(&run).to_owned();
    let _a = serve(&run, "cgroups-snapshot", &["--data", &snap]);
    let _b = serve(&run, "cgroups-lookup", &["--data", &cg]);
    let _c = serve(&run, "apps-lookup", &["--data", &apps]);

    let out = ok_stdout(&["snapshot", "--json", "--run-dir", &rd]);
    assert_eq!(
        parse_snapshot(&out).unwrap(),
        parse_snapshot(SNAPSHOT).unwrap()
    );

    let want = parse_cgroups_lookup(CGROUPS).unwrap();
    let mut args = vec!["lookup", "cgroups", "--json", "--run-dir", &rd];
    let paths: Vec<String> = want.items.iter().map(|i| i.path.clone()).collect();
    args.extend(paths.iter().map(String::as_str));
    let got = parse_cgroups_lookup(&ok_stdout(&args)).unwrap();
    assert_eq!(got, want);

    let want = parse_apps_lookup(APPS).unwrap();
    let pids: Vec<String> = want.items.iter().map(|i| i.pid.to_string()).collect();
    let mut args = vec!["lookup", "apps", "--json", "--run-dir", &rd];
    args.extend(pids.iter().map(String::as_str));
    let got = parse_apps_lookup(&ok_stdout(&args)).unwrap();
    assert_eq!(got, want);

    // Keys not in the files are answered as unknown.
    let got = parse_cgroups_lookup(&ok_stdout(&[
        "lookup",
        "cgroups",
        "--json",
        "--run-dir",
        &rd,
        "/not/there",
    ]))
    .unwrap();
    assert_eq!(got.generation, 100);
    assert_eq!(got.items[0].status, LookupStatus::UnknownPermanent);
    assert_eq!(got.items[0].path, "/not/there");
    let got = parse_apps_lookup(&ok_stdout(&[
        "lookup",
        "apps",
        "--json",
        "--run-dir",
        &rd,
        "99999",
    ]))
    .unwrap();
    assert_eq!(got.items[0].status, PidStatus::Unknown);

    // What a client prints serves back.
    let replay = tmp.path().join("replay.json");
    std::fs::write(
        &replay,
        ok_stdout(&["lookup", "apps", "--json", "--run-dir", &rd, "1234", "1237"]),
    )
    .unwrap();
    let run2 = tmp.path().join("run2");
    let _d = serve(&run2, "apps-lookup", &["--data", s(&replay)]);
    let again = parse_apps_lookup(&ok_stdout(&[
        "lookup",
        "apps",
        "--json",
        "--run-dir",
        s(&run2),
        "1237",
        "1234",
    ]))
    .unwrap();
    assert_eq!(again.items[0], want.items[1]);
    assert_eq!(again.items[1], want.items[0]);
}

#[test]
fn json_output_has_every_field_with_spec_names() {
    let tmp = temp_dir("netipc-serve-json-");
    let (_, cg, apps) = write_data(tmp.path());
    let run = tmp.path().join("run");
    let rd = s(&run).to_owned();
    let _b = serve(&run, "cgroups-lookup", &["--data", &cg]);
    let _c = serve(&run, "apps-lookup", &["--data", &apps]);
    let v: Value = serde_json::from_str(&ok_stdout(&[
        "lookup",
        "apps",
        "--json",
        "--run-dir",
        &rd,
        "1234",
        "5",
    ]))
    .unwrap();
    let keys = |o: &Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["generation", "items"]);
    let item = &v["items"][0];
    assert_eq!(
        keys(item),
        [
            "cgroup_name",
            "cgroup_path",
            "cgroup_status",
            "comm",
            "labels",
            "orchestrator",
            "pid",
            "ppid",
            "starttime",
            "status",
            "uid"
        ]
    );
    assert_eq!(item["status"], "KNOWN");
    assert_eq!(item["orchestrator"], "DOCKER");
    assert_eq!(
        item["labels"][0],
        serde_json::json!(["image", "nginx:latest"])
    );
    let unknown = &v["items"][1];
    assert_eq!(unknown["status"], "UNKNOWN");
    assert_eq!(unknown["uid"], "NIPC_UID_UNSET");
    assert_eq!(unknown["cgroup_status"], "KNOWN");

    let v: Value = serde_json::from_str(&ok_stdout(&[
        "lookup",
        "cgroups",
        "--json",
        "--run-dir",
        &rd,
        "/custom",
        "/x",
    ]))
    .unwrap();
    assert_eq!(
        keys(&v["items"][0]),
        ["labels", "name", "orchestrator", "path", "status"]
    );
    assert_eq!(v["items"][0]["orchestrator"], 999);
    assert_eq!(v["items"][1]["status"], "UNKNOWN_PERMANENT");
    assert_eq!(v["items"][1]["orchestrator"], "UNKNOWN");
}

#[test]
fn live_provider_answers_for_this_process_and_its_cgroup() {
    let tmp = temp_dir("netipc-serve-live-");
    let run = tmp.path().join("run");
    let rd = s(&run).to_owned();
    let _a = serve(&run, "apps-lookup", &[]);
    let _b = serve(&run, "cgroups-lookup", &[]);
    let _c = serve(&run, "cgroups-snapshot", &[]);
    let me = std::process::id().to_string();
    let got = parse_apps_lookup(&ok_stdout(&[
        "lookup",
        "apps",
        "--json",
        "--run-dir",
        &rd,
        &me,
    ]))
    .unwrap();
    let item = &got.items[0];
    assert_eq!(item.status, PidStatus::Known);
    assert_eq!(item.pid, std::process::id());
    assert_eq!(item.ppid, std::os::unix::process::parent_id());
    let exe = std::env::current_exe().unwrap();
    let name: String = exe
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15)
        .collect();
    assert_eq!(item.comm, name);
    assert_eq!(item.uid, rustix::process::getuid().as_raw());
    match item.cgroup_status {
        CgroupStatus::Known => {
            let cg = parse_cgroups_lookup(&ok_stdout(&[
                "lookup",
                "cgroups",
                "--json",
                "--run-dir",
                &rd,
                &item.cgroup_path,
            ]))
            .unwrap();
            assert_eq!(cg.items[0].status, LookupStatus::Known);
            assert_eq!(cg.items[0].name, item.cgroup_name);
            assert_eq!(cg.items[0].path, item.cgroup_path);
            assert_eq!(cg.generation, got.generation);
            // The snapshot lists it too.
            let snap =
                parse_snapshot(&ok_stdout(&["snapshot", "--json", "--run-dir", &rd])).unwrap();
            assert!(snap.items.iter().any(|i| i.path == item.cgroup_path));
        }
        CgroupStatus::HostRoot => {
            assert_eq!(item.cgroup_path, "");
            let cg = parse_cgroups_lookup(&ok_stdout(&[
                "lookup",
                "cgroups",
                "--json",
                "--run-dir",
                &rd,
                "/",
            ]))
            .unwrap();
            assert_eq!(cg.items[0].status, LookupStatus::UnknownPermanent);
        }
        other => panic!("unexpected cgroup status {other:?} for {item:?}"),
    }
    // A path from a request is never opened: a traversal is just unknown.
    let cg = parse_cgroups_lookup(&ok_stdout(&[
        "lookup",
        "cgroups",
        "--json",
        "--run-dir",
        &rd,
        "/../../etc",
    ]))
    .unwrap();
    assert_ne!(cg.items[0].status, LookupStatus::Known);
}

#[test]
fn exit_codes() {
    let tmp = temp_dir("netipc-serve-exit-");
    let run = tmp.path().join("run");
    let rd = s(&run).to_owned();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();

    // Nothing listening: 3 (also for a run dir that does not exist).
    let (code, err) = code_of(&["call", "increment", "1", "--run-dir", s(&empty)]);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.starts_with("netipc: ") && err.trim_end().lines().count() == 1,
        "{err}"
    );
    let missing = tmp.path().join("missing");
    assert_eq!(code_of(&["snapshot", "--run-dir", s(&missing)]).0, Some(3));
    assert_eq!(
        code_of(&["lookup", "apps", "1", "--run-dir", s(&empty)]).0,
        Some(3)
    );

    let _inc = serve(&run, "increment", &["--auth-token", "0x1234"]);
    // Wrong token: 4.
    let (code, err) = code_of(&[
        "call",
        "increment",
        "1",
        "--run-dir",
        &rd,
        "--auth-token",
        "7",
    ]);
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("auth token"), "{err}");
    // Right token, in decimal, by flag and by environment.
    assert_eq!(
        ok_stdout(&[
            "call",
            "increment",
            "1",
            "--run-dir",
            &rd,
            "--auth-token",
            "4660"
        ]),
        "1 -> 2\n"
    );
    let out = std::process::Command::new(common::bin())
        .args(["call", "increment", "1", "--run-dir", &rd])
        .env("NETIPC_AUTH_TOKEN", "0x1234")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The wrong method for the service: incompatible (5).
    let (code, err) = code_of(&[
        "call",
        "string-reverse",
        "x",
        "--run-dir",
        &rd,
        "--service",
        "increment",
        "--auth-token",
        "0x1234",
    ]);
    assert_eq!(code, Some(5), "{err}");

    // Bad arguments: 2.
    for args in [
        &["call", "increment", "nope", "--run-dir", &rd][..],
        &["call", "increment"],
        &["call", "bogus", "1"],
        &["lookup", "apps", "x1", "--run-dir", &rd],
        &["lookup", "cgroups"],
        &["serve", "bogus"],
        &[
            "serve",
            "increment",
            "--data",
            "/dev/null",
            "--run-dir",
            &rd,
        ],
        &["call", "increment", "1", "--auth-token", "zz"],
        &["call", "increment", "1", "--profile", "tcp"],
        &[
            "call",
            "increment",
            "1",
            "--service",
            "bad/name",
            "--run-dir",
            &rd,
        ],
        &["snapshot", "--timeout-ms", "-1"],
    ] {
        let (code, err) = code_of(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.starts_with("netipc: "), "{args:?}: {err}");
    }
    // A data file of the wrong shape for the kind: 2; an invalid one: 1.
    let (_, cg, _) = write_data(tmp.path());
    let (code, err) = code_of(&["serve", "apps-lookup", "--data", &cg, "--run-dir", &rd]);
    assert_eq!(code, Some(2), "{err}");
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\"generation\": 1}").unwrap();
    let (code, err) = code_of(&["serve", "apps-lookup", "--data", s(&bad), "--run-dir", &rd]);
    assert_eq!(code, Some(1), "{err}");
    // A second server on the same endpoint fails (1), the first keeps serving.
    let (code, err) = code_of(&["serve", "increment", "--run-dir", &rd]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("another server"), "{err}");
    assert_eq!(
        ok_stdout(&[
            "call",
            "increment",
            "2",
            "--run-dir",
            &rd,
            "--auth-token",
            "4660"
        ]),
        "2 -> 3\n"
    );
}

#[test]
fn sigterm_and_sigint_stop_serve_and_remove_its_files() {
    let tmp = temp_dir("netipc-serve-signal-");
    for (i, sig) in [rustix::process::Signal::TERM, rustix::process::Signal::INT]
        .into_iter()
        .enumerate()
    {
        let run = tmp.path().join(format!("run{i}"));
        let rd = s(&run).to_owned();
        let mut srv = serve(
            &run,
            "string-reverse",
            &["--profile", "shm", "--workers", "2"],
        );
        let socket = srv.ready.strip_prefix("READY ").unwrap().to_owned();
        assert_eq!(socket, run.join("string-reverse.sock").to_str().unwrap());
        assert!(Path::new(&socket).exists());
        assert_eq!(
            ok_stdout(&["call", "string-reverse", "abc", "--run-dir", &rd]),
            "cba\n"
        );
        srv.signal(sig);
        let (status, rest) = srv.wait();
        assert!(status.success(), "{status:?}: {}", srv.log());
        assert!(rest.is_empty(), "one READY line only: {rest:?}");
        assert!(!Path::new(&socket).exists());
        assert_eq!(entries(&run), Vec::<String>::new(), "files left behind");
        let log = srv.log();
        assert!(log.contains("session(s) started"), "{log}");
        assert!(log.contains("stopped"), "{log}");
    }
}

#[test]
fn default_run_dir_is_created_private() {
    let tmp = temp_dir("netipc-serve-xdg-");
    let xdg = tmp.path().join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    let log = tmp.path().join("log");
    let mut srv = {
        // XDG_RUNTIME_DIR decides the default run dir of server and client.
        let mut cmd = std::process::Command::new(common::bin());
        cmd.args(["serve", "increment"])
            .env("XDG_RUNTIME_DIR", &xdg)
            .env_remove("NETIPC_AUTH_TOKEN");
        Spawned::start_command(cmd, &log)
    };
    let dir = xdg.join("netipc");
    assert_eq!(
        srv.ready,
        format!("READY {}", dir.join("increment.sock").display())
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let sock_mode = std::fs::metadata(dir.join("increment.sock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(sock_mode, 0o600);
    let out = std::process::Command::new(common::bin())
        .args(["call", "increment", "9"])
        .env("XDG_RUNTIME_DIR", &xdg)
        .env_remove("NETIPC_AUTH_TOKEN")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "9 -> 10\n");
    let (status, _) = srv.terminate();
    assert!(status.success());
}
