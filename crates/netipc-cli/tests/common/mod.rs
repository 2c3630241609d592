//! Helpers of the end-to-end tests: run the built `netipc`, spawn servers
//! and wait for their `READY` line (never sleep to synchronize), kill them
//! on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Generous deadline for anything a loaded 2-core box must do.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The `netipc` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_netipc")
}

/// A private temporary directory (removed on drop).
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// Runs `netipc args...` to completion (without `NETIPC_AUTH_TOKEN` from
/// the environment).
pub fn netipc(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("NETIPC_AUTH_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run netipc")
}

/// Runs `netipc args...`, asserts success and returns stdout.
pub fn ok_stdout(args: &[&str]) -> String {
    let out = netipc(args);
    assert!(
        out.status.success(),
        "netipc {args:?} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The exit code of `netipc args...`, and its stderr.
pub fn code_of(args: &[&str]) -> (Option<i32>, String) {
    let out = netipc(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A spawned long-running `netipc` (a server), killed on drop.
pub struct Spawned {
    child: Option<Child>,
    lines: Receiver<String>,
    /// The first stdout line (`READY ...`).
    pub ready: String,
    /// Where its stderr goes.
    pub stderr: PathBuf,
}

impl Spawned {
    /// Spawns `netipc args...` with stderr to `log`, and waits for a first
    /// stdout line starting with `READY`.
    pub fn start(args: &[&str], log: &Path) -> Spawned {
        let mut cmd = Command::new(bin());
        cmd.args(args).env_remove("NETIPC_AUTH_TOKEN");
        Spawned::start_command(cmd, log)
    }

    /// [`Spawned::start`] for a prepared command (arguments and
    /// environment set).
    pub fn start_command(mut cmd: Command, log: &Path) -> Spawned {
        let err = std::fs::File::create(log).expect("log file");
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .expect("spawn netipc");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        let mut s = Spawned {
            child: Some(child),
            lines: rx,
            ready: String::new(),
            stderr: log.to_path_buf(),
        };
        match s.lines.recv_timeout(DEADLINE) {
            Ok(line) if line.starts_with("READY") => s.ready = line,
            other => panic!("{what}: no READY line ({other:?}); stderr: {}", s.log()),
        }
        s
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `sig`.
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.pid() as i32).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// Waits (bounded) for the process to exit; returns its status and the
    /// rest of its stdout.
    pub fn wait(&mut self) -> (ExitStatus, Vec<String>) {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                break st;
            }
            if start.elapsed() > DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("netipc did not exit; stderr: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(10)) {
                Ok(l) => rest.push(l),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        (status, rest)
    }

    /// SIGTERM, then [`Spawned::wait`].
    pub fn terminate(&mut self) -> (ExitStatus, Vec<String>) {
        self.signal(rustix::process::Signal::TERM);
        self.wait()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Entries in `dir` (names).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
