//! The C test suite: the C programs of `tests/c/` (and the example in
//! `examples/c/`) compiled with the system `cc` against `libnetipc.a` and
//! `libnetipc.so`, and again under AddressSanitizer + UndefinedBehavior-
//! Sanitizer; C <-> C, C client <-> Rust server, Rust client <-> C server.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Link, compile, libs, run_dir, run_ok, rust_servers, sanitizer_env};
use netipc::cache::CgroupsCache;
use netipc::codec::cgroups_snapshot::simple_hash;
use netipc::codec::lookup::{CgroupStatus, LookupStatus, PidStatus};
use netipc::protocol::PROFILE_BASELINE;
use netipc::service::client::{
    AppsLookupClient, CgroupsLookupClient, CgroupsSnapshotClient, ClientConfig, IncrementClient,
    StringReverseClient,
};

const E2E: &str = "crates/netipc-c/tests/c/c_e2e.c";
const BAD_ARGS: &str = "crates/netipc-c/tests/c/c_bad_args.c";
const CACHE: &str = "crates/netipc-c/tests/c/c_cache.c";
const C_SERVER: &str = "crates/netipc-c/tests/c/c_server.c";
const C_CLIENT: &str = "crates/netipc-c/tests/c/c_client.c";
const CONSUMER: &str = "examples/c/cgroups_consumer.c";

fn self_contained(name: &str, src: &str, link: Link) {
    let exe = compile(name, &[src], link, &[]);
    let o = run_ok(&exe, &[], link == Link::Sanitized);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(" 0 failed"), "{out}");
}

// ----- C client <-> C server (one process) ---------------------------------

#[test]
fn c_e2e_static() {
    self_contained("c_e2e", E2E, Link::Static);
}

#[test]
fn c_e2e_shared() {
    self_contained("c_e2e", E2E, Link::Shared);
}

#[test]
fn c_e2e_sanitized() {
    self_contained("c_e2e", E2E, Link::Sanitized);
}

// ----- Bad arguments --------------------------------------------------------

#[test]
fn c_bad_args_static() {
    self_contained("c_bad_args", BAD_ARGS, Link::Static);
}

#[test]
fn c_bad_args_shared() {
    self_contained("c_bad_args", BAD_ARGS, Link::Shared);
}

#[test]
fn c_bad_args_sanitized() {
    self_contained("c_bad_args", BAD_ARGS, Link::Sanitized);
}

// ----- Level 3 cache --------------------------------------------------------

#[test]
fn c_cache_static() {
    self_contained("c_cache", CACHE, Link::Static);
}

#[test]
fn c_cache_shared() {
    self_contained("c_cache", CACHE, Link::Shared);
}

#[test]
fn c_cache_sanitized() {
    self_contained("c_cache", CACHE, Link::Sanitized);
}

// ----- C client against Rust servers ----------------------------------------

fn c_client_vs_rust(link: Link) {
    let exe = compile("c_client", &[C_CLIENT], link, &[]);
    let dir = run_dir("c-vs-rs");
    let servers = rust_servers(&dir);
    for plane in ["uds", "shm"] {
        run_ok(
            &exe,
            &[dir.to_str().unwrap(), plane],
            link == Link::Sanitized,
        );
    }
    for s in &servers {
        assert!(s.stop().drained);
        assert!(s.stats().requests > 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_client_vs_rust_server_static() {
    c_client_vs_rust(Link::Static);
}

#[test]
fn c_client_vs_rust_server_shared() {
    c_client_vs_rust(Link::Shared);
}

#[test]
fn c_client_vs_rust_server_sanitized() {
    c_client_vs_rust(Link::Sanitized);
}

// ----- Rust clients against the C server process ------------------------------

/// Runs the C server in `dir`, waits for its READY line, runs `f`, then
/// closes its stdin and checks it drained and exited 0.
fn with_c_server(link: Link, dir: &Path, f: impl FnOnce()) {
    let exe = compile("c_server", &[C_SERVER], link, &[]);
    let mut cmd = Command::new(&exe);
    cmd.arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if link == Link::Sanitized {
        sanitizer_env(&mut cmd);
    }
    let mut child = cmd.spawn().expect("spawn c_server");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).expect("read READY");
    assert_eq!(line.trim(), "READY", "c_server did not start");
    f();
    drop(child.stdin.take());
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    let o = child.wait_with_output().expect("wait c_server");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "c_server failed: {rest}{err}");
    assert!(rest.contains("c_server: stopped"), "{rest}{err}");
    assert!(
        !err.contains("ERROR: AddressSanitizer") && !err.contains("runtime error:"),
        "{err}"
    );
}

fn client_cfg(shm: bool) -> ClientConfig {
    ClientConfig {
        supported_profiles: if shm { 0 } else { PROFILE_BASELINE },
        ..ClientConfig::default()
    }
}

fn ready<F: FnMut() -> bool>(mut refresh_ready: F) {
    for _ in 0..500 {
        if refresh_ready() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("client never became READY");
}

fn rust_checks(dir: &Path, shm: bool) {
    // INCREMENT, single and batch.
    let mut c = IncrementClient::new(dir, "inc", client_cfg(shm)).unwrap();
    ready(|| {
        c.refresh();
        c.ready()
    });
    assert_eq!(c.call(41).unwrap(), 42);
    let vals: Vec<u64> = (0..3000).map(|i| 1000 + i * 3).collect();
    let got = c.call_batch(&vals).unwrap().to_vec();
    assert!(got.iter().zip(&vals).all(|(g, v)| *g == v + 1));
    assert_eq!(c.status().shm_attached, shm);
    // A failing C handler is INTERNAL_ERROR for the Rust client.
    assert!(matches!(
        c.call(666),
        Err(netipc::Error::Status(
            netipc::protocol::STATUS_INTERNAL_ERROR
        ))
    ));

    // STRING_REVERSE, single and batch.
    let mut r = StringReverseClient::new(dir, "rev", client_cfg(shm)).unwrap();
    ready(|| {
        r.refresh();
        r.ready()
    });
    assert_eq!(r.call(b"hello, world").unwrap().as_bytes(), b"dlrow ,olleh");
    let texts: Vec<String> = (0..40).map(|i| format!("t{i:03}-xyz")).collect();
    let batch = r.call_batch(&texts).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let want: Vec<u8> = t.bytes().rev().collect();
        assert_eq!(batch.item(i).as_bytes(), want.as_slice());
    }

    // CGROUPS_SNAPSHOT (larger than the default budget: grown).
    let mut s = CgroupsSnapshotClient::new(dir, "snap", client_cfg(shm)).unwrap();
    ready(|| {
        s.refresh();
        s.ready()
    });
    let v = s.call_snapshot().unwrap();
    assert_eq!(v.generation(), common::SNAP_GENERATION);
    assert_eq!(v.systemd_enabled(), 1);
    assert_eq!(v.len(), common::SNAP_ITEMS as usize);
    for (i, it) in v.iter().enumerate() {
        let name = format!("cg-{i}");
        assert_eq!(it.name, name.as_bytes());
        assert_eq!(it.path, format!("/sys/fs/cgroup/cg-{i}").as_bytes());
        assert_eq!(it.hash, simple_hash(name.as_bytes()));
        assert_eq!((it.options, it.enabled), (i as u32, i as u32 % 2));
    }

    // CGROUPS_LOOKUP (split and stitched).
    let mut l = CgroupsLookupClient::new(dir, "cgl", client_cfg(shm)).unwrap();
    ready(|| {
        l.refresh();
        l.ready()
    });
    let paths: Vec<String> = (0..2500)
        .map(|i| {
            if i % 3 == 0 {
                format!("/later/p{i}")
            } else if i % 3 == 1 {
                format!("/known/p{i}")
            } else {
                format!("/x/p{i}")
            }
        })
        .collect();
    let res = l.lookup(&paths).unwrap();
    assert_eq!(res.generation(), common::CGL_GENERATION);
    assert_eq!(res.len(), paths.len());
    for (i, it) in res.iter().enumerate() {
        assert_eq!(it.path(), paths[i].as_bytes());
        match i % 3 {
            0 => assert_eq!(it.status(), LookupStatus::UnknownRetryLater),
            1 => {
                assert_eq!(it.status(), LookupStatus::Known);
                assert_eq!(it.name(), format!("p{i}").as_bytes());
                assert_eq!(it.orchestrator(), 2);
                assert_eq!(it.label_count(), 2);
                assert_eq!(it.label(1).unwrap().value(), paths[i].as_bytes());
            }
            _ => assert_eq!(it.status(), LookupStatus::UnknownPermanent),
        }
    }

    // APPS_LOOKUP.
    let mut a = AppsLookupClient::new(dir, "apps", client_cfg(shm)).unwrap();
    ready(|| {
        a.refresh();
        a.ready()
    });
    let pids: Vec<u32> = (1..=1500).collect();
    let res = a.lookup(&pids).unwrap();
    assert_eq!(res.generation(), common::APPS_GENERATION);
    for (it, &pid) in res.iter().zip(&pids) {
        assert_eq!(it.pid(), pid);
        if pid % 2 == 1 {
            assert_eq!(it.status(), PidStatus::Unknown);
        } else {
            assert_eq!(it.status(), PidStatus::Known);
            assert_eq!(it.cgroup_status(), CgroupStatus::Known);
            assert_eq!(it.comm(), format!("proc{pid}").as_bytes());
            assert_eq!(it.cgroup_path(), format!("/cg/{pid}").as_bytes());
            assert_eq!(it.starttime(), u64::from(pid) * 10);
            assert_eq!(it.label(0).unwrap().value(), pid.to_string().as_bytes());
        }
    }

    // The Rust Level 3 cache over the C snapshot server.
    let cache = CgroupsCache::new(dir, "snap", client_cfg(shm)).unwrap();
    let rep = cache.refresh().unwrap();
    assert_eq!(rep.items, common::SNAP_ITEMS as usize);
    let g = cache.read();
    let e = g.get(simple_hash(b"cg-5"), b"cg-5").unwrap();
    assert_eq!(e.path, b"/sys/fs/cgroup/cg-5");
}

fn rust_client_vs_c(link: Link) {
    let dir = run_dir("rs-vs-c");
    with_c_server(link, &dir, || {
        rust_checks(&dir, false);
        rust_checks(&dir, true);
        // And a C client in another process (C <-> C across processes).
        let exe = compile("c_client", &[C_CLIENT], link, &[]);
        for plane in ["uds", "shm"] {
            run_ok(
                &exe,
                &[dir.to_str().unwrap(), plane],
                link == Link::Sanitized,
            );
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rust_client_vs_c_server_static() {
    rust_client_vs_c(Link::Static);
}

#[test]
fn rust_client_vs_c_server_sanitized() {
    rust_client_vs_c(Link::Sanitized);
}

// ----- The Rust `netipc` command against the C server -------------------------

/// Builds the `netipc` binary (a no-op when up to date) next to the
/// libraries, with the test binary's profile and target directory.
fn netipc_bin() -> std::path::PathBuf {
    let l = libs();
    let target_dir = l.profile_dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "-p",
        "netipc-cli",
        "--bin",
        "netipc",
        "--target-dir",
    ])
    .arg(target_dir)
    .current_dir(&l.repo_dir);
    if l.profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
        cmd.arg("--release");
    }
    assert!(cmd.status().expect("run cargo build").success());
    l.profile_dir.join("netipc")
}

/// Runs `netipc ARGS --run-dir DIR --profile PLANE --json` and parses its
/// JSON output.
fn netipc_json(bin: &Path, dir: &Path, plane: &str, args: &[&str]) -> serde_json::Value {
    let o = Command::new(bin)
        .args(args)
        .arg("--run-dir")
        .arg(dir)
        .args(["--profile", plane, "--json"])
        .env_remove("NETIPC_AUTH_TOKEN")
        .output()
        .expect("run netipc");
    assert!(
        o.status.success(),
        "netipc {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("netipc printed JSON")
}

#[test]
fn netipc_command_against_c_server() {
    let bin = netipc_bin();
    let dir = run_dir("cli-vs-c");
    with_c_server(Link::Static, &dir, || {
        for plane in ["uds", "shm"] {
            let v = netipc_json(
                &bin,
                &dir,
                plane,
                &["call", "increment", "41", "--service", "inc"],
            );
            assert_eq!(v["value"], 42);
            let v = netipc_json(
                &bin,
                &dir,
                plane,
                &["call", "string-reverse", "hello", "--service", "rev"],
            );
            assert_eq!(v["text"], "olleh");
            let v = netipc_json(&bin, &dir, plane, &["snapshot", "--service", "snap"]);
            assert_eq!(v["generation"], common::SNAP_GENERATION);
            assert_eq!(
                v["items"].as_array().unwrap().len(),
                common::SNAP_ITEMS as usize
            );
            assert_eq!(v["items"][3]["path"], "/sys/fs/cgroup/cg-3");
            let v = netipc_json(
                &bin,
                &dir,
                plane,
                &["lookup", "apps", "1", "2", "3", "--service", "apps"],
            );
            assert_eq!(v["generation"], common::APPS_GENERATION);
            let items = v["items"].as_array().unwrap();
            assert_eq!(items.len(), 3);
            for (i, it) in items.iter().enumerate() {
                assert_eq!(it["pid"], i as u64 + 1);
            }
            let v = netipc_json(
                &bin,
                &dir,
                plane,
                &["lookup", "cgroups", "/a", "/b", "--service", "cgl"],
            );
            assert_eq!(v["generation"], common::CGL_GENERATION);
            assert_eq!(v["items"][1]["path"], "/b");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The minimal C client against `netipc serve increment` (the Rust binary),
/// over SHM (the command's default profile) and UDS.
#[test]
fn c_client_against_netipc_serve() {
    let bin = netipc_bin();
    let client = compile(
        "minimal_client",
        &["examples/c/minimal_client.c"],
        Link::Static,
        &[],
    );
    for plane in ["shm", "uds"] {
        let dir = run_dir("c-vs-cli");
        let mut server = Command::new(&bin)
            .args(["serve", "increment", "--profile", plane, "--run-dir"])
            .arg(&dir)
            .env_remove("NETIPC_AUTH_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn netipc serve");
        let mut out = BufReader::new(server.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("read READY");
        assert!(line.starts_with("READY "), "netipc serve said {line:?}");
        let o = Command::new(&client)
            .arg(&dir)
            .output()
            .expect("run client");
        let _ = server.kill();
        let _ = server.wait();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "41 + 1 = 42");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ----- The example consumer -------------------------------------------------

fn consumer(link: Link) {
    let exe = compile("cgroups_consumer", &[CONSUMER], link, &[]);
    let dir = run_dir("consumer");
    let _servers = rust_servers(&dir);
    let o = run_ok(
        &exe,
        &[dir.to_str().unwrap(), "snap"],
        link == Link::Sanitized,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("generation 7 systemd_enabled 1 items 1000"),
        "{out}"
    );
    let h = simple_hash(b"cg-999");
    assert!(
        out.contains(&format!("{h:08x} 999 1 cg-999 /sys/fs/cgroup/cg-999")),
        "{out}"
    );
    assert!(out.contains("lookup cg-0 -> /sys/fs/cgroup/cg-0"), "{out}");
    assert_eq!(out.lines().count(), 1000 + 3, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn example_consumer_static() {
    consumer(Link::Static);
}

#[test]
fn example_consumer_sanitized() {
    consumer(Link::Sanitized);
}

#[test]
fn example_consumer_without_provider_fails_cleanly() {
    let exe = compile("cgroups_consumer", &[CONSUMER], Link::Shared, &[]);
    let dir = run_dir("consumer-none");
    let o = Command::new(&exe)
        .args([dir.to_str().unwrap(), "bad/name"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid argument"));
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- Packaging: soname, pkg-config, install ---------------------------------

#[test]
fn shared_library_soname() {
    let l = libs();
    let o = Command::new("readelf")
        .arg("-d")
        .arg(&l.shared_lib)
        .output()
        .expect("readelf");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("[libnetipc.so.0]"), "{text}");
    // Only the C API is exported (no Rust mangled symbols).
    let o = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&l.shared_lib)
        .output()
        .expect("nm");
    let syms = String::from_utf8_lossy(&o.stdout);
    assert!(syms.contains(" T nipc_client_init"), "{syms}");
    assert!(syms.contains(" T nipc_cgroups_cache_item_free"));
    assert!(
        !syms
            .lines()
            .any(|s| s.contains(" T _ZN") || s.contains(" T _R")),
        "Rust symbols exported"
    );
}

#[test]
fn build_script_installs_pkg_config() {
    let l = libs();
    let prefix = run_dir("prefix");
    let profile = if l.release { "release" } else { "debug" };
    let st = Command::new("bash")
        .arg(l.crate_dir.join("build-c.sh"))
        .args(["--no-build", "--profile", profile, "--install"])
        .arg(&prefix)
        .status()
        .expect("run build-c.sh");
    assert!(st.success());
    for f in [
        "include/netipc.h",
        "lib/libnetipc.a",
        "lib/libnetipc.so",
        "lib/libnetipc.so.0",
        "lib/pkgconfig/netipc.pc",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }
    let pc = std::fs::read_to_string(prefix.join("lib/pkgconfig/netipc.pc")).unwrap();
    assert!(pc.contains(&format!("prefix={}", prefix.display())), "{pc}");
    // Build the example through pkg-config, shared and static.
    for (tag, static_) in [("pc-shared", false), ("pc-static", true)] {
        let mut pkg = Command::new("pkg-config");
        if static_ {
            pkg.arg("--static");
        }
        let flags = pkg
            .args(["--cflags", "--libs", "netipc"])
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .expect("pkg-config");
        assert!(flags.status.success());
        let flags = String::from_utf8_lossy(&flags.stdout).to_string();
        let exe = prefix.join(tag);
        let mut cc = Command::new(common::cc());
        cc.arg(l.repo_dir.join(CONSUMER)).arg("-o").arg(&exe);
        if static_ {
            // Both archives are installed: ask for the static one by name.
            cc.args(
                flags.split_whitespace().map(
                    |f| {
                        if f == "-lnetipc" { "-l:libnetipc.a" } else { f }
                    },
                ),
            );
        } else {
            cc.args(flags.split_whitespace())
                .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
        }
        let o = cc.output().expect("cc");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dir = run_dir("pc");
        let _servers = rust_servers(&dir);
        let o = run_ok(&exe, &[dir.to_str().unwrap(), "snap"], false);
        assert!(String::from_utf8_lossy(&o.stdout).contains("items 1000"));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&prefix);
}

// ----- Benchmark program smoke test -------------------------------------------

#[test]
fn bench_program_runs() {
    let exe = compile(
        "bench_increment",
        &["crates/netipc-c/benches/c/bench_increment.c"],
        Link::Static,
        &[],
    );
    let dir = run_dir("bench-smoke");
    let _servers = rust_servers(&dir);
    for plane in ["uds", "shm"] {
        let o = run_ok(&exe, &[dir.to_str().unwrap(), "inc", plane, "0.1"], false);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with("calls_per_sec "), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::io::stdout().flush();
}

// ----- The README's minimal client and server ---------------------------------

#[test]
fn readme_minimal_client_and_server() {
    let server = compile(
        "minimal_server",
        &["examples/c/minimal_server.c"],
        Link::Shared,
        &[],
    );
    let client = compile(
        "minimal_client",
        &["examples/c/minimal_client.c"],
        Link::Sanitized,
        &[],
    );
    let dir = run_dir("minimal");
    let mut child = Command::new(&server)
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn minimal_server");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "serving");
    let o = run_ok(&client, &[dir.to_str().unwrap()], true);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "41 + 1 = 42");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // With the server gone the client reports NOT_FOUND and exits 1.
    let o = Command::new(&client).arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("NIPC_ERR_NOT_FOUND: "));
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- The header itself --------------------------------------------------------

#[test]
fn header_compiles_as_c99_and_cxx() {
    let include = libs().crate_dir.join("include");
    let cases: [(&str, &[&str], &str); 2] = [
        (
            "cc",
            &["-std=c99", "-pedantic", "-x", "c"],
            "#include \"netipc.h\"\nint main(void) { return nipc_client_close(NULL); }\n",
        ),
        (
            "c++",
            &["-std=c++11", "-x", "c++"],
            "#include \"netipc.h\"\nint main() { return nipc_client_close(nullptr); }\n",
        ),
    ];
    for (compiler, flags, src) in cases {
        let mut child = Command::new(compiler)
            .args(flags)
            .args(["-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I"])
            .arg(&include)
            .arg("-")
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn compiler");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(src.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{compiler}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
