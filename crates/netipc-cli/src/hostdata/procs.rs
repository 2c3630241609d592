//! Live process table: scans `/proc` for PIDs.
//!
//! For each PID it reads:
//!
//! - `/proc/PID/stat` (required): `ppid` (field 4), `starttime` (field 22,
//!   jiffies since boot) and `comm`. The `comm` may contain spaces and
//!   parentheses, so it is taken between the first `(` and the **last**
//!   `)`, and the numeric fields are counted after that last `)`.
//! - `/proc/PID/status` (optional): the real uid (first number of the
//!   `Uid:` line); [`UID_UNSET`] when unreadable.
//! - `/proc/PID/cgroup` (optional): the PID's cgroup path (see
//!   [`parse_cgroup`]).
//!
//! `comm` is decoded lossily as UTF-8, NUL bytes become `?`, it is
//! truncated to at most 15 bytes at a character boundary, and an empty
//! `comm` becomes `?` (a KNOWN PID needs 1..15 bytes on the wire).
//!
//! Every file is read with a size bound and parsed without panicking: all
//! of `/proc` is untrusted input. A PID that disappears between listing and
//! reading is simply skipped.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use super::cgroups::{CgroupIndex, CgroupInfo};
use netipc::codec::apps_lookup::{APPS_LOOKUP_COMM_MAX_LEN as COMM_MAX, UID_UNSET};
use netipc::codec::lookup::CgroupStatus;

/// Where `/proc` is normally mounted.
pub const DEFAULT_PROC_ROOT: &str = "/proc";

/// Default cap on the number of PIDs in one scan.
pub const DEFAULT_MAX_PIDS: usize = 1_000_000;

/// Largest `/proc/PID/*` file read (bytes).
const FILE_LIMIT: u64 = 64 * 1024;

/// One process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcInfo {
    /// The PID.
    pub pid: u32,
    /// The parent PID (0 for PID 1 and kernel threads of PID 0).
    pub ppid: u32,
    /// The real uid, or [`UID_UNSET`].
    pub uid: u32,
    /// `/proc/PID/stat` field 22: start time in jiffies since boot.
    pub starttime: u64,
    /// The command name, 1..=15 bytes.
    pub comm: String,
    /// The cgroup path (relative to the hierarchy root, leading `/`), or
    /// `None` when `/proc/PID/cgroup` could not be read or parsed.
    pub cgroup_path: Option<String>,
}

impl ProcInfo {
    /// Joins this process with the cgroup index: `HOST_ROOT` when its
    /// cgroup is `/`, `KNOWN` (with the cgroup) when the index has it,
    /// `UNKNOWN_RETRY_LATER` otherwise (not indexed yet, or no cgroup file).
    pub fn cgroup_status<'a>(
        &self,
        index: &'a CgroupIndex,
    ) -> (CgroupStatus, Option<&'a CgroupInfo>) {
        match self.cgroup_path.as_deref() {
            Some("/") => (CgroupStatus::HostRoot, None),
            Some(p) => match index.lookup(p) {
                Some(info) => (CgroupStatus::Known, Some(info)),
                None => (CgroupStatus::UnknownRetryLater, None),
            },
            None => (CgroupStatus::UnknownRetryLater, None),
        }
    }
}

/// The fields taken from `/proc/PID/stat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatFields {
    /// The raw `comm` bytes between the first `(` and the last `)`.
    pub comm: Vec<u8>,
    /// Field 4.
    pub ppid: u32,
    /// Field 22.
    pub starttime: u64,
}

/// Parses the content of `/proc/PID/stat`. `None` when it is malformed.
pub fn parse_stat(data: &[u8]) -> Option<StatFields> {
    let open = data.iter().position(|&b| b == b'(')?;
    let close = data.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = data[open + 1..close].to_vec();
    let rest = std::str::from_utf8(&data[close + 1..]).ok()?;
    // rest: " state ppid pgrp ... ": index 0 is field 3.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let ppid = fields.get(1)?.parse::<u32>().ok()?;
    let starttime = fields.get(19)?.parse::<u64>().ok()?;
    Some(StatFields {
        comm,
        ppid,
        starttime,
    })
}

/// Parses the real uid from the content of `/proc/PID/status`.
pub fn parse_status_uid(data: &[u8]) -> Option<u32> {
    data.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(b"Uid:")?;
        let text = std::str::from_utf8(rest).ok()?;
        text.split_ascii_whitespace().next()?.parse::<u32>().ok()
    })
}

/// Turns raw `comm` bytes into the wire form: lossy UTF-8, NUL as `?`,
/// at most 15 bytes (cut at a character boundary), never empty (`?`).
pub fn sanitize_comm(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace('\0', "?");
    let mut end = text.len().min(COMM_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let out = &text[..end];
    if out.is_empty() {
        "?".to_owned()
    } else {
        out.to_owned()
    }
}

/// v1 controllers, most preferred first, when the v2 path is the root.
const V1_PREFERENCE: [&str; 5] = ["cpuacct", "cpu", "memory", "pids", "name=systemd"];

/// Picks the cgroup path from the content of `/proc/PID/cgroup`
/// (`hierarchy-id:controllers:path` lines):
///
/// 1. the cgroup v2 line (`0::/path`) when its path is not `/`;
/// 2. otherwise the first v1 line whose path is not `/`, preferring the
///    controllers `cpuacct`, `cpu`, `memory`, `pids`, `name=systemd`, then
///    file order (on hybrid hosts the v2 line may say `/` while a v1
///    hierarchy has the real placement);
/// 3. otherwise `/` when any line says `/`.
///
/// Paths must start with `/` and be valid UTF-8; other lines are ignored.
/// `None` when no line qualifies.
pub fn parse_cgroup(data: &[u8]) -> Option<String> {
    let mut v2: Option<&str> = None;
    let mut v1: Vec<(&str, &str)> = Vec::new();
    let mut any_root = false;
    for line in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(ctrl), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !path.starts_with('/') || path.contains('\0') {
            continue;
        }
        if path == "/" {
            any_root = true;
        }
        if id == "0" && ctrl.is_empty() {
            v2.get_or_insert(path);
        } else {
            v1.push((ctrl, path));
        }
    }
    if let Some(p) = v2.filter(|p| *p != "/") {
        return Some(p.to_owned());
    }
    let candidates: Vec<&(&str, &str)> = v1.iter().filter(|(_, p)| *p != "/").collect();
    for want in V1_PREFERENCE {
        if let Some((_, p)) = candidates
            .iter()
            .find(|(c, _)| c.split(',').any(|x| x == want))
        {
            return Some((*p).to_owned());
        }
    }
    if let Some((_, p)) = candidates.first() {
        return Some((*p).to_owned());
    }
    any_root.then(|| "/".to_owned())
}

fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    let f = fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    f.take(FILE_LIMIT).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Reads one PID directly from `proc_root` (normally `/proc`). `None` when
/// the PID is 0, does not exist, or its `stat` is unreadable or malformed.
/// Only the numeric PID is used to build the paths.
pub fn read_pid(proc_root: &Path, pid: u32) -> Option<ProcInfo> {
    if pid == 0 {
        return None;
    }
    let dir = proc_root.join(pid.to_string());
    let stat = parse_stat(&read_bounded(&dir.join("stat"))?)?;
    let mut comm = stat.comm;
    if comm.is_empty() {
        if let Some(c) = read_bounded(&dir.join("comm")) {
            comm = c.strip_suffix(b"\n").unwrap_or(&c).to_vec();
        }
    }
    let uid = read_bounded(&dir.join("status"))
        .and_then(|s| parse_status_uid(&s))
        .unwrap_or(UID_UNSET);
    let cgroup_path = read_bounded(&dir.join("cgroup")).and_then(|c| parse_cgroup(&c));
    Some(ProcInfo {
        pid,
        ppid: stat.ppid,
        uid,
        starttime: stat.starttime,
        comm: sanitize_comm(&comm),
        cgroup_path,
    })
}

/// A scan of all processes.
#[derive(Clone, Debug, Default)]
pub struct ProcTable {
    procs: HashMap<u32, ProcInfo>,
    truncated: bool,
}

impl ProcTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scans every numeric directory of `proc_root`, at most `max_pids`.
    pub fn scan(proc_root: &Path, max_pids: usize) -> Self {
        let mut table = Self::new();
        let Ok(rd) = fs::read_dir(proc_root) else {
            return table;
        };
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if table.procs.len() >= max_pids {
                table.truncated = true;
                break;
            }
            if let Some(info) = read_pid(proc_root, pid) {
                table.procs.insert(pid, info);
            }
        }
        table
    }

    /// The process with this PID, if it was seen by the scan.
    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs.get(&pid)
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// True when no process was found.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// True when `max_pids` cut the scan short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// All processes, sorted by PID.
    pub fn sorted(&self) -> Vec<&ProcInfo> {
        let mut v: Vec<&ProcInfo> = self.procs.values().collect();
        v.sort_by_key(|p| p.pid);
        v
    }
}

// Host data is Linux-only (see crate::platform).
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::hostdata::cgroups::{CgroupScanner, ScanLimits};
    use std::path::PathBuf;

    fn stat_line(comm: &[u8], ppid: &str, starttime: &str) -> Vec<u8> {
        let mut v = b"1234 (".to_vec();
        v.extend_from_slice(comm);
        v.extend_from_slice(
            format!(
                ") S {ppid} 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {starttime} 1000 100 18446744073709551615 0 0 0\n"
            )
            .as_bytes(),
        );
        v
    }

    #[test]
    fn stat_plain() {
        let s = parse_stat(&stat_line(b"bash", "1", "4242")).unwrap();
        assert_eq!(s.comm, b"bash");
        assert_eq!(s.ppid, 1);
        assert_eq!(s.starttime, 4242);
    }

    #[test]
    fn stat_hostile_comm() {
        let s = parse_stat(&stat_line(b"a) b (c", "77", "99")).unwrap();
        assert_eq!(s.comm, b"a) b (c");
        assert_eq!((s.ppid, s.starttime), (77, 99));
        let s = parse_stat(&stat_line(b") 5 6 7 (", "3", "8")).unwrap();
        assert_eq!(s.comm, b") 5 6 7 (");
        assert_eq!((s.ppid, s.starttime), (3, 8));
        let s = parse_stat(&stat_line(b"", "2", "5")).unwrap();
        assert!(s.comm.is_empty());
        let long = b"kworker/u8:0-events_unbound";
        let s = parse_stat(&stat_line(long, "2", "5")).unwrap();
        assert_eq!(s.comm, long);
        assert_eq!(sanitize_comm(&s.comm), "kworker/u8:0-ev");
        let s = parse_stat(&stat_line("x\n y\u{0}".as_bytes(), "2", "5")).unwrap();
        assert_eq!(sanitize_comm(&s.comm), "x\n y?");
    }

    #[test]
    fn stat_malformed() {
        assert!(parse_stat(b"").is_none());
        assert!(parse_stat(b"1234 bash S 1").is_none());
        assert!(parse_stat(b"1234 (bash) S 1 2 3").is_none());
        assert!(parse_stat(b") 1234 (bash S 1 2 3").is_none());
        assert!(parse_stat(&stat_line(b"x", "-1", "5")).is_none());
        assert!(parse_stat(&stat_line(b"x", "1", "99999999999999999999999")).is_none());
        let mut bad = stat_line(b"x", "1", "5");
        bad.push(0xff);
        assert!(parse_stat(&bad).is_none());
    }

    #[test]
    fn comm_sanitizing() {
        assert_eq!(sanitize_comm(b""), "?");
        assert_eq!(sanitize_comm(b"0123456789abcdefXYZ"), "0123456789abcde");
        assert_eq!(sanitize_comm(b"0123456789abcde"), "0123456789abcde");
        // 'é' is 2 bytes: 14 ASCII + 'é' would be 16 bytes, so cut before it.
        let s = sanitize_comm("0123456789abcdé".as_bytes());
        assert_eq!(s, "0123456789abcd");
        assert_eq!(sanitize_comm(&[0xff, b'a']), "\u{fffd}a");
        assert_eq!(sanitize_comm(b"\0"), "?");
    }

    #[test]
    fn status_uid() {
        let s = b"Name:\tbash\nUmask:\t0022\nState:\tS\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\n";
        assert_eq!(parse_status_uid(s), Some(1000));
        assert_eq!(parse_status_uid(b"Name: x\n"), None);
        assert_eq!(parse_status_uid(b"Uid:\n"), None);
        assert_eq!(parse_status_uid(b"Uid:\t-5\t0\n"), None);
        assert_eq!(parse_status_uid(b"Uid:\t99999999999\n"), None);
    }

    #[test]
    fn cgroup_v2() {
        assert_eq!(
            parse_cgroup(b"0::/system.slice/ssh.service\n").as_deref(),
            Some("/system.slice/ssh.service")
        );
        assert_eq!(parse_cgroup(b"0::/\n").as_deref(), Some("/"));
        // A colon inside the path is kept.
        assert_eq!(parse_cgroup(b"0::/a:b\n").as_deref(), Some("/a:b"));
    }

    #[test]
    fn cgroup_v1() {
        let text = b"12:pids:/user.slice/user-1000.slice/session-1.scope\n\
                     4:cpu,cpuacct:/docker/abc\n\
                     1:name=systemd:/user.slice/user-1000.slice/session-1.scope\n";
        assert_eq!(parse_cgroup(text).as_deref(), Some("/docker/abc"));
        assert_eq!(
            parse_cgroup(b"3:devices:/x\n2:blkio:/y\n").as_deref(),
            Some("/x")
        );
        assert_eq!(parse_cgroup(b"2:memory:/\n").as_deref(), Some("/"));
    }

    #[test]
    fn cgroup_mixed_hybrid() {
        // The v2 line wins unless it is the root.
        let text = b"4:memory:/m\n0::/system.slice/a.service\n";
        assert_eq!(
            parse_cgroup(text).as_deref(),
            Some("/system.slice/a.service")
        );
        let text = b"9:name=systemd:/\n4:memory:/process_api/7d5e\n1:cpu:/\n0::/\n";
        assert_eq!(parse_cgroup(text).as_deref(), Some("/process_api/7d5e"));
    }

    #[test]
    fn cgroup_malformed() {
        assert_eq!(parse_cgroup(b""), None);
        assert_eq!(
            parse_cgroup(b"garbage\n::\n0:relative\n0::relative\n"),
            None
        );
        assert_eq!(parse_cgroup(b"0::/\xff\xfe\n"), None);
        assert_eq!(parse_cgroup(b"0::/ok\n\xff\n").as_deref(), Some("/ok"));
    }

    struct FakeProc {
        dir: tempfile::TempDir,
    }

    impl FakeProc {
        fn new() -> Self {
            Self {
                dir: tempfile::Builder::new()
                    .prefix("netipc-proc-")
                    .tempdir()
                    .unwrap(),
            }
        }
        fn root(&self) -> PathBuf {
            self.dir.path().to_path_buf()
        }
        fn add(&self, pid: u32, stat: &[u8], status: Option<&[u8]>, cgroup: Option<&[u8]>) {
            let d = self.dir.path().join(pid.to_string());
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("stat"), stat).unwrap();
            if let Some(s) = status {
                fs::write(d.join("status"), s).unwrap();
            }
            if let Some(c) = cgroup {
                fs::write(d.join("cgroup"), c).unwrap();
            }
        }
    }

    #[test]
    fn scan_fake_proc() {
        let p = FakeProc::new();
        p.add(
            1,
            &stat_line(b"systemd", "0", "10"),
            Some(b"Uid:\t0\t0\t0\t0\n"),
            Some(b"0::/init.scope\n"),
        );
        p.add(
            200,
            &stat_line(b"a) b (c", "1", "500"),
            Some(b"Uid:\t1000\t1000\t1000\t1000\n"),
            Some(b"0::/system.slice/ssh.service\n"),
        );
        p.add(
            300,
            &stat_line(b"rooted", "1", "600"),
            None,
            Some(b"0::/\n"),
        );
        p.add(
            400,
            &stat_line(b"", "1", "700"),
            None,
            Some(b"0::/not/indexed\n"),
        );
        fs::write(p.root().join("400/comm"), "fromcomm\n").unwrap();
        p.add(500, b"garbage", None, None);
        fs::create_dir_all(p.root().join("self")).unwrap();
        fs::create_dir_all(p.root().join("sys")).unwrap();
        fs::create_dir_all(p.root().join("600")).unwrap(); // no stat: vanished

        let table = ProcTable::scan(&p.root(), DEFAULT_MAX_PIDS);
        assert_eq!(table.len(), 4);
        let pids: Vec<u32> = table.sorted().iter().map(|x| x.pid).collect();
        assert_eq!(pids, vec![1, 200, 300, 400]);
        let a = table.get(200).unwrap();
        assert_eq!((a.ppid, a.uid, a.starttime), (1, 1000, 500));
        assert_eq!(a.comm, "a) b (c");
        assert_eq!(table.get(300).unwrap().uid, UID_UNSET);
        assert_eq!(table.get(400).unwrap().comm, "fromcomm");

        // Join with a fake cgroup index.
        let cg = tempfile::Builder::new()
            .prefix("netipc-proc-cg-")
            .tempdir()
            .unwrap();
        fs::write(cg.path().join("cgroup.controllers"), "").unwrap();
        fs::create_dir_all(cg.path().join("system.slice/ssh.service")).unwrap();
        fs::create_dir_all(cg.path().join("init.scope")).unwrap();
        let index = CgroupIndex::from_scan(
            CgroupScanner::from_root(cg.path(), ScanLimits::default()).scan(),
        );
        let (st, info) = a.cgroup_status(&index);
        assert_eq!(st, CgroupStatus::Known);
        assert_eq!(info.unwrap().name, "ssh.service");
        assert_eq!(
            table.get(300).unwrap().cgroup_status(&index).0,
            CgroupStatus::HostRoot
        );
        assert_eq!(
            table.get(400).unwrap().cgroup_status(&index).0,
            CgroupStatus::UnknownRetryLater
        );

        // Direct reads.
        assert_eq!(read_pid(&p.root(), 200).as_ref(), Some(a));
        assert!(read_pid(&p.root(), 500).is_none());
        assert!(read_pid(&p.root(), 600).is_none());
        assert!(read_pid(&p.root(), 0).is_none());
        assert!(read_pid(&p.root(), 999).is_none());

        let capped = ProcTable::scan(&p.root(), 2);
        assert!(capped.truncated());
        assert!(capped.len() <= 2);
    }

    #[test]
    fn scan_missing_proc_root() {
        let t = ProcTable::scan(Path::new("/nonexistent/netipc/proc"), 10);
        assert!(t.is_empty());
    }

    #[test]
    fn scan_real_proc_finds_self() {
        let me = std::process::id();
        let table = ProcTable::scan(Path::new(DEFAULT_PROC_ROOT), DEFAULT_MAX_PIDS);
        let info = table.get(me).expect("own pid in /proc scan");
        assert_eq!(info.ppid, std::os::unix::process::parent_id());
        let exe = std::env::current_exe().unwrap();
        let exe_name = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(info.comm, sanitize_comm(exe_name.as_bytes()));
        assert!(info.starttime > 0 || info.pid == 1);
        assert!(
            info.cgroup_path
                .as_deref()
                .is_some_and(|p| p.starts_with('/'))
        );
        let direct = read_pid(Path::new(DEFAULT_PROC_ROOT), me).unwrap();
        assert_eq!(direct.starttime, info.starttime);
        assert_eq!(direct.comm, info.comm);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            if let Some(s) = parse_stat(&data) {
                let c = sanitize_comm(&s.comm);
                proptest::prop_assert!((1..=COMM_MAX).contains(&c.len()));
            }
            let _ = parse_status_uid(&data);
            if let Some(p) = parse_cgroup(&data) {
                proptest::prop_assert!(p.starts_with('/'));
            }
        }

        #[test]
        fn stat_with_any_comm(comm in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                              ppid in proptest::prelude::any::<u32>(),
                              start in proptest::prelude::any::<u64>()) {
            let s = parse_stat(&stat_line(&comm, &ppid.to_string(), &start.to_string())).unwrap();
            proptest::prop_assert_eq!(s.comm, comm);
            proptest::prop_assert_eq!((s.ppid, s.starttime), (ppid, start));
        }
    }
}
