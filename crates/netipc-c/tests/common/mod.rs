//! Harness shared by the C test suite and the FFI benchmark: locating (and
//! if needed building) `libnetipc.a` / `libnetipc.so`, compiling C
//! programs with the system `cc` against them (static, shared, or static
//! under ASan + UBSan), and the Rust servers of the C data set
//! (`tests/c/dataset.h`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupEntry, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, simple_hash};
use netipc::codec::lookup::{CgroupStatus, LookupStatus, Orchestrator, PidStatus};
use netipc::service::server::{HandlerError, Server, ServerConfig};

/// The native libraries a Rust staticlib needs (`rustc --print
/// native-static-libs`).
pub const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// How a C program is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// `libnetipc.a`.
    Static,
    /// `libnetipc.so` (through its soname `libnetipc.so.0`, found by rpath).
    Shared,
    /// `libnetipc.a`, the C code under `-fsanitize=address,undefined`.
    Sanitized,
    /// `libnetipc.a`, optimised (`-O2`, for benchmarks).
    Optimized,
}

impl Link {
    fn tag(self) -> &'static str {
        match self {
            Link::Static => "static",
            Link::Shared => "shared",
            Link::Sanitized => "asan",
            Link::Optimized => "opt",
        }
    }
}

/// Paths of the built library and of the test build area.
pub struct Libs {
    pub crate_dir: PathBuf,
    pub repo_dir: PathBuf,
    pub profile_dir: PathBuf,
    pub release: bool,
    pub static_lib: PathBuf,
    pub shared_lib: PathBuf,
    /// Holds `libnetipc.so.0` -> the shared library (the soname the
    /// programs look for).
    pub soname_dir: PathBuf,
    pub build_dir: PathBuf,
}

/// The library artifacts, built once per test binary.
///
/// `cargo test` does not build a staticlib/cdylib-only lib target for
/// integration tests, so this runs `cargo build -p netipc-c` (a no-op when
/// up to date) with the test binary's own profile and target directory.
pub fn libs() -> &'static Libs {
    static LIBS: OnceLock<Libs> = OnceLock::new();
    LIBS.get_or_init(|| {
        let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let repo_dir = crate_dir.join("../..").canonicalize().expect("repo dir");
        // target/<profile>/deps/<test binary> (or .../<bench binary>).
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("profile dir")
            .to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let release = profile == "release";
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "netipc-c", "--lib", "--target-dir"])
            .arg(&target_dir)
            .current_dir(&repo_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            p => {
                cmd.args(["--profile", p]);
            }
        }
        let st = cmd.status().expect("run cargo build -p netipc-c");
        assert!(st.success(), "cargo build -p netipc-c failed");
        let static_lib = profile_dir.join("libnetipc.a");
        let shared_lib = profile_dir.join("libnetipc.so");
        assert!(
            static_lib.exists() && shared_lib.exists(),
            "library artifacts missing"
        );
        let build_dir = profile_dir.join("netipc-c-tests");
        let soname_dir = build_dir.join("lib");
        std::fs::create_dir_all(&soname_dir).expect("create test build dir");
        let link = soname_dir.join("libnetipc.so.0");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&shared_lib, &link).expect("symlink libnetipc.so.0");
        Libs {
            crate_dir,
            repo_dir,
            profile_dir,
            release,
            static_lib,
            shared_lib,
            soname_dir,
            build_dir,
        }
    })
}

/// The C compiler (`$CC` or `cc`).
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Compiles `sources` (paths relative to the repository) into an
/// executable named `name-<link>`, linked as `link`; `defs` are extra
/// `-D` definitions. Panics with the compiler output on failure.
pub fn compile(name: &str, sources: &[&str], link: Link, defs: &[&str]) -> PathBuf {
    let l = libs();
    let out = l.build_dir.join(format!("{name}-{}", link.tag()));
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"])
        .arg("-I")
        .arg(l.crate_dir.join("include"))
        .arg("-I")
        .arg(l.crate_dir.join("tests/c"));
    cmd.arg(if link == Link::Optimized {
        "-O2"
    } else {
        "-O1"
    });
    for d in defs {
        cmd.arg(format!("-D{d}"));
    }
    if link == Link::Sanitized {
        cmd.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer",
        ]);
    }
    for s in sources {
        cmd.arg(l.repo_dir.join(s));
    }
    cmd.arg("-o").arg(&out);
    match link {
        Link::Shared => {
            cmd.arg(&l.shared_lib)
                .arg(format!("-Wl,-rpath,{}", l.soname_dir.display()));
        }
        _ => {
            cmd.arg(&l.static_lib);
        }
    }
    cmd.args(NATIVE_LIBS);
    let o = cmd.output().expect("run cc");
    assert!(
        o.status.success(),
        "compiling {name} ({link:?}) failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Environment of sanitized runs: leaks are reported (the suite is leak
/// clean), any UBSan report aborts.
pub fn sanitizer_env(cmd: &mut Command) {
    cmd.env(
        "ASAN_OPTIONS",
        "detect_leaks=1:abort_on_error=0:handle_sigbus=0",
    )
    .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
}

/// Runs `exe` with `args`; panics (printing its output) unless it exits 0.
pub fn run_ok(exe: &Path, args: &[&str], sanitized: bool) -> Output {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    if sanitized {
        sanitizer_env(&mut cmd);
    }
    let o = cmd.output().expect("run C program");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    println!("{text}");
    assert!(
        o.status.success(),
        "{} failed ({}):\n{text}",
        exe.display(),
        o.status
    );
    if sanitized {
        assert!(
            !text.contains("runtime error:") && !text.contains("ERROR: AddressSanitizer"),
            "sanitizer report:\n{text}"
        );
    }
    o
}

/// A fresh run directory under /tmp (short: socket paths are limited).
/// A unique run directory under /tmp (short enough for `sun_path`),
/// removed when dropped, even when a test fails.
pub struct RunDir(PathBuf);

impl std::ops::Deref for RunDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for RunDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for RunDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run_dir(tag: &str) -> RunDir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = PathBuf::from(format!(
        "/tmp/nipc-rs-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create run dir");
    RunDir(d)
}

// ----- The data set (tests/c/dataset.h) in Rust -----------------------------

pub const SERVICE_NAMES: [&str; 5] = ["inc", "rev", "snap", "cgl", "apps"];
pub const SNAP_ITEMS: u32 = 1000;
pub const SNAP_GENERATION: u64 = 7;
pub const CGL_GENERATION: u64 = 9;
pub const APPS_GENERATION: u64 = 11;

pub fn increment(v: u64) -> Result<u64, HandlerError> {
    match v {
        666 => Err(HandlerError::FAILED),
        999 => {
            std::thread::sleep(Duration::from_millis(1500));
            Ok(v + 1)
        }
        _ => Ok(v.wrapping_add(1)),
    }
}

pub fn snapshot(b: &mut CgroupsSnapshotBuilder) -> Result<(), HandlerError> {
    b.set_systemd_enabled(1);
    b.set_generation(SNAP_GENERATION);
    for i in 0..SNAP_ITEMS {
        let name = format!("cg-{i}");
        let path = format!("/sys/fs/cgroup/cg-{i}");
        b.add_item(
            simple_hash(name.as_bytes()),
            i,
            i % 2,
            name.as_bytes(),
            path.as_bytes(),
        )?;
    }
    Ok(())
}

pub fn cgroups_lookup(
    req: &CgroupsLookupRequestView<'_>,
    b: &mut CgroupsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(CGL_GENERATION);
    for i in 0..req.len() {
        let p = req.key(i);
        if let Some(rest) = p.strip_prefix(b"/known/").filter(|r| !r.is_empty()) {
            let labels: [(&[u8], &[u8]); 2] = [(b"k", b"v"), (b"path", p)];
            b.add_request_item(
                req,
                i,
                LookupStatus::Known,
                Orchestrator::Docker.as_u16(),
                rest,
                labels,
            )?;
        } else if p.starts_with(b"/later/") && p.len() > 7 {
            b.add_request_unknown(req, i, LookupStatus::UnknownRetryLater)?;
        } else {
            b.add_request_unknown(req, i, LookupStatus::UnknownPermanent)?;
        }
    }
    Ok(())
}

pub fn apps_lookup(
    req: &AppsLookupRequestView<'_>,
    b: &mut AppsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(APPS_GENERATION);
    for i in 0..req.len() {
        let pid = req.pid(i);
        if pid % 2 == 1 {
            b.add_request_unknown(req, i)?;
            continue;
        }
        let comm = format!("proc{}", pid % 1_000_000);
        let path = format!("/cg/{pid}");
        let name = format!("cg{pid}");
        let pidv = pid.to_string();
        let e = AppsLookupEntry {
            status: PidStatus::Known,
            cgroup_status: CgroupStatus::Known,
            orchestrator: Orchestrator::Systemd.as_u16(),
            ppid: 1,
            uid: 1000,
            starttime: u64::from(pid) * 10,
            comm: comm.as_bytes(),
            cgroup_path: path.as_bytes(),
            cgroup_name: name.as_bytes(),
        };
        let labels: [(&[u8], &[u8]); 1] = [(b"pid", pidv.as_bytes())];
        b.add_request_item(req, i, &e, labels)?;
    }
    Ok(())
}

/// The five data-set services as Rust managed servers in `dir`.
pub fn rust_servers(dir: &Path) -> Vec<Server> {
    let cfg = |i: usize| ServerConfig::new(dir, SERVICE_NAMES[i]);
    vec![
        Server::increment(&cfg(0), increment).expect("increment server"),
        Server::string_reverse(&cfg(1), |t: &[u8], out: &mut Vec<u8>| {
            out.extend(t.iter().rev());
            Ok(())
        })
        .expect("string_reverse server"),
        Server::cgroups_snapshot(&cfg(2), snapshot).expect("snapshot server"),
        Server::cgroups_lookup(&cfg(3), cgroups_lookup).expect("cgroups_lookup server"),
        Server::apps_lookup(&cfg(4), apps_lookup).expect("apps_lookup server"),
    ]
}
