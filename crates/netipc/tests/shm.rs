//! Integration tests of the POSIX SHM data plane: round trips between
//! threads and processes, limits, hostile peers (bad lengths, rewritten
//! headers, truncation), allocation failure, timeouts, aborts, hang-ups and
//! stale cleanup.
//!
//! Child processes are this test binary re-run with `--exact <child test>
//! --ignored` and `NETIPC_SHM_CHILD` set; the child's stdin is its end of
//! the session socketpair.

// Runs over the Unix transports (UDS / POSIX SHM).
#![cfg(unix)]

#[path = "support/mod.rs"]
mod support;

use std::fs::{self, File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netipc::transport::shm::{
    REGION_MAGIC, RegionInfo, RegionLayout, ShmConfig, ShmRegion, ShmRole, cleanup_stale_regions,
};
use netipc::transport::{AbortHandle, Deadline, Endpoint};
use netipc::wire::Header;
use netipc::{Error, Limit, Violation};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use support::TestDir;

const SVC: &str = "svc";
const LONG: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- helpers

fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

fn request(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut m = Header::request(1, id, payload.len() as u32)
        .encode()
        .to_vec();
    m.extend_from_slice(payload);
    m
}

fn response(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut m = Header::response(1, id, payload.len() as u32)
        .encode()
        .to_vec();
    m.extend_from_slice(payload);
    m
}

fn deadline() -> Deadline {
    Deadline::after(LONG)
}

/// A connected pair: server region, client region and both socket ends.
struct Pair {
    server: ShmRegion,
    client: ShmRegion,
    server_sock: OwnedFd,
    client_sock: OwnedFd,
}

fn pair(ep: &Endpoint, id: u64, req: u32, resp: u32) -> Pair {
    let cfg = ShmConfig::default();
    let server = ShmRegion::create(ep, id, req, resp, &cfg).unwrap();
    let client = ShmRegion::attach(ep, id, req, resp, &cfg).unwrap();
    let (server_sock, client_sock) = seqpacket_pair();
    Pair {
        server,
        client,
        server_sock,
        client_sock,
    }
}

/// Serves INCREMENT-like requests (u64 + 1) until the peer hangs up.
fn serve_increments(server: &mut ShmRegion, sock: BorrowedFd<'_>) -> u64 {
    let mut buf = Vec::new();
    let mut served = 0;
    loop {
        match server.recv(&mut buf, deadline(), None, sock) {
            Ok(()) => {}
            Err(Error::PeerClosed) => return served,
            Err(e) => panic!("server recv: {e}"),
        }
        let h = Header::decode(&buf).unwrap();
        let v = u64::from_ne_bytes(buf[32..40].try_into().unwrap());
        server
            .send(&response(h.message_id, &(v + 1).to_ne_bytes()))
            .unwrap();
        served += 1;
    }
}

/// Runs `n` increment round trips as the client.
fn run_increments(client: &mut ShmRegion, sock: BorrowedFd<'_>, n: u64) {
    let mut buf = Vec::new();
    let mut v = 0u64;
    for id in 1..=n {
        client.send(&request(id, &v.to_ne_bytes())).unwrap();
        client.recv(&mut buf, deadline(), None, sock).unwrap();
        let h = Header::decode(&buf).unwrap();
        assert_eq!(h.message_id, id);
        assert_eq!(buf.len(), 40);
        let got = u64::from_ne_bytes(buf[32..40].try_into().unwrap());
        assert_eq!(got, v + 1);
        v = got;
    }
}

fn write_at(path: &Path, off: u64, bytes: &[u8]) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, off).unwrap();
}

fn read_info(path: &Path) -> RegionInfo {
    let f = File::open(path).unwrap();
    let mut b = [0u8; 64];
    f.read_exact_at(&mut b, 0).unwrap();
    RegionInfo::parse(&b).unwrap()
}

fn spawn_child(role: &str, test: &str, dir: &Path, stdin: Option<OwnedFd>) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("NETIPC_SHM_CHILD", role)
    .env("NETIPC_SHM_DIR", dir)
    .stdout(Stdio::null());
    if let Some(fd) = stdin {
        cmd.stdin(Stdio::from(fd));
    } else {
        cmd.stdin(Stdio::null());
    }
    cmd.spawn().unwrap()
}

fn child_role() -> Option<(String, PathBuf)> {
    let role = std::env::var("NETIPC_SHM_CHILD").ok()?;
    let dir = PathBuf::from(std::env::var("NETIPC_SHM_DIR").ok()?);
    Some((role, dir))
}

// ------------------------------------------------------------- round trips

#[test]
fn create_writes_spec_header_and_file() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let server = ShmRegion::create(&ep, 0x2a, 4096, 65536, &ShmConfig::default()).unwrap();
    assert_eq!(server.role(), ShmRole::Server);
    assert_eq!(server.path(), ep.shm_path(0x2a));
    let md = fs::metadata(server.path()).unwrap();
    assert_eq!(md.len(), 69824);
    assert_eq!(md.permissions().mode() & 0o777, 0o600);
    // Fully allocated, not sparse.
    assert!(md.blocks() * 512 >= 69824);
    let info = read_info(server.path());
    let captured = RegionInfo::parse(include_bytes!(
        "../../../testdata/conformance/transport/shm_region_header.bin"
    ))
    .unwrap();
    assert_eq!(info.owner_pid as u32, std::process::id());
    assert_ne!(info.owner_generation, 0);
    assert_eq!(
        RegionInfo {
            owner_pid: captured.owner_pid,
            owner_generation: captured.owner_generation,
            ..info
        },
        captured
    );
    let client = ShmRegion::attach(&ep, 0x2a, 4096, 65536, &ShmConfig::default()).unwrap();
    assert_eq!(client.role(), ShmRole::Client);
    assert_eq!(client.layout(), server.layout());
    assert_eq!(client.max_send_len(), 4160);
    assert_eq!(client.max_recv_len(), 65600);
    assert_eq!(server.max_send_len(), 65600);
    let path = server.path().to_path_buf();
    drop(server);
    assert!(!path.exists(), "server drop unlinks");
    drop(client);
}

#[test]
fn round_trips_between_threads() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let Pair {
        mut server,
        mut client,
        server_sock,
        client_sock,
    } = pair(&ep, 1, 64, 64);
    let t = std::thread::spawn(move || serve_increments(&mut server, server_sock.as_fd()));
    run_increments(&mut client, client_sock.as_fd(), 100_000);
    drop(client_sock);
    assert_eq!(t.join().unwrap(), 100_000);
}

#[test]
fn round_trips_between_processes() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut server = ShmRegion::create(&ep, 7, 64, 64, &ShmConfig::default()).unwrap();
    let (server_sock, child_sock) = seqpacket_pair();
    let mut child = spawn_child(
        "client-roundtrip",
        "child_client_roundtrip",
        dir.path(),
        Some(child_sock),
    );
    let served = serve_increments(&mut server, server_sock.as_fd());
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status:?}");
    assert_eq!(served, 20_000);
}

#[test]
#[ignore = "child process of round_trips_between_processes"]
fn child_client_roundtrip() {
    let Some((role, dir)) = child_role() else {
        return;
    };
    assert_eq!(role, "client-roundtrip");
    let ep = Endpoint::new(&dir, SVC).unwrap();
    let mut client =
        ShmRegion::attach_with_retry(&ep, 7, 64, 64, &ShmConfig::default(), deadline(), None)
            .unwrap();
    let stdin = std::io::stdin();
    run_increments(&mut client, stdin.as_fd(), 20_000);
}

#[test]
fn large_messages_at_capacity() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let Pair {
        mut server,
        mut client,
        server_sock,
        client_sock,
    } = pair(&ep, 2, 4096, 1 << 20);
    let req_payload: Vec<u8> = (0..client.max_send_len() - 32).map(|i| i as u8).collect();
    let resp_payload: Vec<u8> = (0..server.max_send_len() - 32)
        .map(|i| (i * 7) as u8)
        .collect();
    let expected = resp_payload.clone();
    let t = std::thread::spawn(move || {
        let mut buf = Vec::new();
        for _ in 0..3 {
            server
                .recv(&mut buf, deadline(), None, server_sock.as_fd())
                .unwrap();
            assert_eq!(buf.len(), server.max_recv_len());
            assert!(buf[32..].iter().enumerate().all(|(i, &b)| b == i as u8));
            server.send(&response(1, &resp_payload)).unwrap();
        }
        // One byte over capacity is refused before anything is published.
        server
            .recv(&mut buf, deadline(), None, server_sock.as_fd())
            .unwrap();
        let over = response(1, &vec![0; server.max_send_len() - 31]);
        assert!(matches!(
            server.send(&over),
            Err(Error::LimitExceeded {
                limit: Limit::ResponsePayload,
                ..
            })
        ));
        server.send(&response(1, b"ok")).unwrap();
    });
    let mut buf = Vec::new();
    for _ in 0..3 {
        client.send(&request(1, &req_payload)).unwrap();
        client
            .recv(&mut buf, deadline(), None, client_sock.as_fd())
            .unwrap();
        assert_eq!(buf.len(), 32 + expected.len());
        assert_eq!(&buf[32..], &expected[..]);
    }
    let over = request(1, &vec![0; client.max_send_len() - 31]);
    assert!(matches!(
        client.send(&over),
        Err(Error::LimitExceeded {
            limit: Limit::RequestPayload,
            ..
        })
    ));
    client.send(&request(1, b"x")).unwrap();
    client
        .recv(&mut buf, deadline(), None, client_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], b"ok");
    t.join().unwrap();
}

#[test]
fn one_message_in_flight() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 3, 64, 64);
    let mut buf = Vec::new();
    // Nothing to answer, nothing to wait for.
    assert!(matches!(
        p.server.send(&response(1, b"")),
        Err(Error::InvalidState(_))
    ));
    assert!(matches!(
        p.client
            .recv(&mut buf, deadline(), None, p.client_sock.as_fd()),
        Err(Error::InvalidState(_))
    ));
    p.client.send(&request(1, b"a")).unwrap();
    assert!(p.client.in_flight());
    assert!(matches!(
        p.client.send(&request(2, b"b")),
        Err(Error::Protocol(Violation::ShmBusy))
    ));
    p.server
        .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], b"a");
    assert!(matches!(
        p.server
            .recv(&mut buf, deadline(), None, p.server_sock.as_fd()),
        Err(Error::InvalidState(_))
    ));
    p.server.send(&response(1, b"A")).unwrap();
    assert!(matches!(
        p.server.send(&response(1, b"A")),
        Err(Error::InvalidState(_))
    ));
    p.client
        .recv(&mut buf, deadline(), None, p.client_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], b"A");
    // Malformed outgoing messages are refused.
    assert!(matches!(
        p.client.send(&[0u8; 16]),
        Err(Error::InvalidArgument(_))
    ));
    let mut bad = request(2, b"abc");
    bad.pop();
    assert!(matches!(
        p.client.send(&bad),
        Err(Error::InvalidArgument(_))
    ));
    // The session is still usable.
    p.client.send(&request(2, b"b")).unwrap();
}

#[test]
fn reattach_continues_sequences() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 4, 64, 64);
    let mut buf = Vec::new();
    for i in 0..3 {
        p.client.send(&request(i, b"x")).unwrap();
        p.server
            .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
            .unwrap();
        p.server.send(&response(i, b"y")).unwrap();
        p.client
            .recv(&mut buf, deadline(), None, p.client_sock.as_fd())
            .unwrap();
    }
    drop(p.client);
    let mut c2 = ShmRegion::attach(&ep, 4, 64, 64, &ShmConfig::default()).unwrap();
    c2.send(&request(9, b"z")).unwrap();
    p.server
        .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
        .unwrap();
    assert_eq!(Header::decode(&buf).unwrap().message_id, 9);
    p.server.send(&response(9, b"w")).unwrap();
    c2.recv(&mut buf, deadline(), None, p.client_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], b"w");
    let info = read_info(p.server.path());
    assert_eq!((info.req_seq, info.resp_seq), (4, 4));
    assert_eq!((info.req_signal, info.resp_signal), (4, 4));
}

/// A peer that publishes through plain file I/O (as a foreign
/// implementation would through its own mapping) is understood, and our
/// answer lands where the spec says.
#[test]
fn foreign_peer_publication() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut server = ShmRegion::create(&ep, 5, 4096, 65536, &ShmConfig::default()).unwrap();
    let (s, _c) = seqpacket_pair();
    let msg = request(77, b"hello");
    write_at(server.path(), 64, &msg);
    write_at(server.path(), 48, &(msg.len() as u32).to_ne_bytes());
    write_at(server.path(), 56, &1u32.to_ne_bytes());
    write_at(server.path(), 32, &1u64.to_ne_bytes());
    let mut buf = Vec::new();
    server.recv(&mut buf, deadline(), None, s.as_fd()).unwrap();
    assert_eq!(buf, msg);
    let resp = response(77, b"world!");
    server.send(&resp).unwrap();
    let info = read_info(server.path());
    assert_eq!(info.resp_seq, 1);
    assert_eq!(info.resp_len as usize, resp.len());
    assert_eq!(info.resp_signal, 1);
    let f = File::open(server.path()).unwrap();
    let mut got = vec![0u8; resp.len()];
    f.read_exact_at(&mut got, 4224).unwrap();
    assert_eq!(got, resp);
}

// ---------------------------------------------------------- hostile peers

/// Publishes a request with length `len` (message bytes `msg`) by file I/O.
fn hostile_publish(path: &Path, msg: &[u8], len: u32) {
    write_at(path, 64, msg);
    write_at(path, 48, &len.to_ne_bytes());
    let seq = read_info(path).req_seq + 1;
    write_at(path, 32, &seq.to_ne_bytes());
}

fn expect_bad_request(msg: &[u8], len: u32, check: impl Fn(&Error) -> bool) {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut server = ShmRegion::create(&ep, 6, 256, 256, &ShmConfig::default()).unwrap();
    let (s, _c) = seqpacket_pair();
    hostile_publish(server.path(), msg, len);
    let mut buf = vec![1, 2, 3];
    let e = server
        .recv(&mut buf, deadline(), None, s.as_fd())
        .unwrap_err();
    assert!(check(&e), "len {len}: unexpected {e:?}");
    assert!(buf.is_empty());
    // Sticky: the session stays broken.
    let e2 = server
        .recv(&mut buf, deadline(), None, s.as_fd())
        .unwrap_err();
    assert_eq!(format!("{e}"), format!("{e2}"));
}

fn is_shm_length(e: &Error) -> bool {
    matches!(e, Error::Protocol(Violation::ShmLength))
}

#[test]
fn hostile_published_lengths() {
    let good = request(1, &[9u8; 8]);
    expect_bad_request(&good, 0, is_shm_length);
    expect_bad_request(&good, 31, is_shm_length);
    expect_bad_request(&good, 256 + 32 + 1, is_shm_length); // capacity 320
    expect_bad_request(&good, 321, is_shm_length);
    expect_bad_request(&good, u32::MAX, is_shm_length);
    // Length inside capacity but disagreeing with the header.
    expect_bad_request(&good, 39, is_shm_length);
    expect_bad_request(&good, 41, is_shm_length);
    let mut lying = good.clone();
    lying[16..20].copy_from_slice(&1000u32.to_ne_bytes());
    expect_bad_request(&lying, 40, is_shm_length);
    // Garbage where the header should be.
    expect_bad_request(&[0xffu8; 40], 40, |e| matches!(e, Error::Decode(_)));
}

#[test]
fn hostile_response_length() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 8, 64, 64);
    p.client.send(&request(1, b"q")).unwrap();
    write_at(p.server.path(), 52, &0u32.to_ne_bytes());
    write_at(p.server.path(), 40, &1u64.to_ne_bytes());
    let mut buf = Vec::new();
    assert!(matches!(
        p.client
            .recv(&mut buf, deadline(), None, p.client_sock.as_fd()),
        Err(Error::Protocol(Violation::ShmLength))
    ));
}

/// Offsets and capacities are read once at attach: a peer rewriting them
/// later changes nothing.
#[test]
fn header_rewrite_after_attach_is_ignored() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 15, 64, 64);
    let mut junk = read_info(p.server.path());
    junk.request_offset = 1 << 30;
    junk.request_capacity = u32::MAX;
    junk.response_offset = 0;
    junk.response_capacity = 64 << 20;
    write_at(p.server.path(), 16, &junk.encode()[16..32]);
    let mut buf = Vec::new();
    p.client.send(&request(1, &[7u8; 64])).unwrap();
    p.server
        .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], &[7u8; 64]);
    p.server.send(&response(1, &[8u8; 64])).unwrap();
    p.client
        .recv(&mut buf, deadline(), None, p.client_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], &[8u8; 64]);
}

fn write_region_file(path: &Path, info: &RegionInfo, len: u64) {
    let f = File::create(path).unwrap();
    f.set_len(len).unwrap();
    f.write_all_at(&info.encode(), 0).unwrap();
}

fn valid_info(pid: i32) -> RegionInfo {
    let l = RegionLayout::for_payloads(256, 1024).unwrap();
    RegionInfo {
        magic: REGION_MAGIC,
        version: 3,
        header_len: 64,
        owner_pid: pid,
        owner_generation: 12345,
        request_offset: l.request_offset,
        request_capacity: l.request_capacity,
        response_offset: l.response_offset,
        response_capacity: l.response_capacity,
        ..RegionInfo::default()
    }
}

#[test]
fn attach_validates_every_header_rule() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let good = valid_info(std::process::id() as i32);
    let len = RegionLayout::for_payloads(256, 1024).unwrap().mapped_len();
    let attach = |info: &RegionInfo, file_len: u64, req: u32, resp: u32| {
        let path = ep.shm_path(9);
        let _ = fs::remove_file(&path);
        write_region_file(&path, info, file_len);
        ShmRegion::attach(&ep, 9, req, resp, &ShmConfig::default())
    };
    // Missing file, undersized file, uninitialised header: not ready.
    assert!(matches!(
        ShmRegion::attach(&ep, 10, 1, 1, &ShmConfig::default()),
        Err(Error::ShmNotReady)
    ));
    fs::write(ep.shm_path(11), b"short").unwrap();
    assert!(matches!(
        ShmRegion::attach(&ep, 11, 1, 1, &ShmConfig::default()),
        Err(Error::ShmNotReady)
    ));
    assert!(matches!(
        attach(&RegionInfo::default(), len, 256, 1024),
        Err(Error::ShmNotReady)
    ));
    assert!(matches!(
        attach(
            &RegionInfo {
                owner_generation: 0,
                ..good
            },
            len,
            256,
            1024
        ),
        Err(Error::ShmNotReady)
    ));
    assert!(attach(&good, len, 256, 1024).is_ok());
    let cases: Vec<(RegionInfo, u64, u32, u32, &str)> = vec![
        (
            RegionInfo {
                magic: 0x1234_5678,
                ..good
            },
            len,
            256,
            1024,
            "bad region magic",
        ),
        (
            RegionInfo { version: 2, ..good },
            len,
            256,
            1024,
            "unsupported region version",
        ),
        (
            RegionInfo {
                header_len: 128,
                ..good
            },
            len,
            256,
            1024,
            "bad region header_len",
        ),
        (
            RegionInfo {
                request_offset: 0,
                ..good
            },
            len,
            256,
            1024,
            "area offset inside the region header",
        ),
        (
            RegionInfo {
                request_capacity: 0,
                ..good
            },
            len,
            0,
            1024,
            "zero area capacity",
        ),
        (
            RegionInfo {
                response_offset: good.response_offset + 8,
                ..good
            },
            len + 64,
            256,
            1024,
            "area offset not 64-byte aligned",
        ),
        (
            RegionInfo {
                response_capacity: good.response_capacity - 8,
                ..good
            },
            len,
            256,
            1000,
            "area capacity not a multiple of 64",
        ),
        (
            RegionInfo {
                response_offset: good.response_offset - 64,
                ..good
            },
            len,
            256,
            1024,
            "response area overlaps the request area",
        ),
        (good, len - 64, 256, 1024, "area outside the region file"),
        (
            RegionInfo {
                response_offset: u32::MAX - 63,
                response_capacity: 64,
                ..good
            },
            len,
            256,
            0,
            "area outside the region file",
        ),
        (
            good,
            len,
            257 + 32,
            1024,
            "request area smaller than the agreed payload",
        ),
        (
            good,
            len,
            256,
            1024 + 64,
            "response area smaller than the agreed payload",
        ),
    ];
    for (info, file_len, req, resp, rule) in cases {
        match attach(&info, file_len, req, resp) {
            Err(Error::ShmAttach(r)) => assert_eq!(r, rule),
            other => panic!("{rule}: got {other:?}"),
        }
    }
    // A symlink at the region path is not followed.
    let target = dir.path().join("target.bin");
    write_region_file(&target, &good, len);
    std::os::unix::fs::symlink(&target, ep.shm_path(12)).unwrap();
    assert!(matches!(
        ShmRegion::attach(&ep, 12, 256, 1024, &ShmConfig::default()),
        Err(Error::ShmAttach(_))
    ));
}

#[test]
fn attach_with_retry_waits_for_creation() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    // Nothing there: the caller's deadline ends the retries.
    let t0 = Instant::now();
    assert!(matches!(
        ShmRegion::attach_with_retry(
            &ep,
            1,
            64,
            64,
            &ShmConfig::default(),
            Deadline::after(Duration::from_millis(30)),
            None
        ),
        Err(Error::Timeout)
    ));
    assert!(t0.elapsed() < Duration::from_secs(5));
    let ep2 = ep.clone();
    let creator = std::thread::spawn(move || {
        ShmRegion::create(&ep2, 1, 64, 64, &ShmConfig::default()).unwrap()
    });
    let client =
        ShmRegion::attach_with_retry(&ep, 1, 64, 64, &ShmConfig::default(), deadline(), None)
            .unwrap();
    let server = creator.join().unwrap();
    assert_eq!(client.layout(), server.layout());
}

#[test]
fn truncation_mid_session_is_a_fault_not_a_crash() {
    for truncate_to in [0u64, 64, 4096] {
        let dir = TestDir::new();
        let ep = dir.endpoint(SVC);
        let mut p = pair(&ep, 13, 8192, 8192);
        let mut buf = Vec::new();
        p.client.send(&request(1, &[5u8; 8000])).unwrap();
        OpenOptions::new()
            .write(true)
            .open(p.server.path())
            .unwrap()
            .set_len(truncate_to)
            .unwrap();
        // The server touches the header (and, past 4096, the data area).
        let e = p
            .server
            .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
            .unwrap_err();
        assert!(
            matches!(e, Error::Protocol(Violation::ShmFault)),
            "server, truncated to {truncate_to}: {e:?}"
        );
        assert!(p.server.is_faulted());
        // The client faults on its next access too.
        let e = p
            .client
            .recv(&mut buf, deadline(), None, p.client_sock.as_fd())
            .unwrap_err();
        assert!(
            matches!(e, Error::Protocol(Violation::ShmFault)),
            "client, truncated to {truncate_to}: {e:?}"
        );
        assert!(matches!(
            p.client.send(&request(2, b"")),
            Err(Error::Protocol(Violation::ShmFault))
        ));
    }
}

#[test]
fn truncation_before_send_faults_the_sender() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 14, 8192, 8192);
    OpenOptions::new()
        .write(true)
        .open(p.client.path())
        .unwrap()
        .set_len(0)
        .unwrap();
    assert!(matches!(
        p.client.send(&request(1, &[1u8; 100])),
        Err(Error::Protocol(Violation::ShmFault))
    ));
}

#[test]
fn without_handler_truncation_kills_by_sigbus() {
    let dir = TestDir::new();
    let mut child = spawn_child("no-handler", "child_no_sigbus_handler", dir.path(), None);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}");
}

#[test]
#[ignore = "child process of without_handler_truncation_kills_by_sigbus"]
fn child_no_sigbus_handler() {
    let Some((role, dir)) = child_role() else {
        return;
    };
    assert_eq!(role, "no-handler");
    let ep = Endpoint::new(&dir, SVC).unwrap();
    let cfg = ShmConfig {
        no_sigbus_handler: true,
        ..ShmConfig::default()
    };
    let mut server = ShmRegion::create(&ep, 1, 64, 64, &cfg).unwrap();
    let client = ShmRegion::attach(&ep, 1, 64, 64, &cfg).unwrap();
    assert_eq!(netipc::transport::shm::protected_regions(), 0);
    let (s, _c) = seqpacket_pair();
    File::options()
        .write(true)
        .open(client.path())
        .unwrap()
        .set_len(0)
        .unwrap();
    let mut buf = Vec::new();
    let _ = server.recv(
        &mut buf,
        Deadline::after(Duration::from_secs(5)),
        None,
        s.as_fd(),
    );
    // Not reached: the access above raises SIGBUS.
    std::process::exit(3);
}

/// With the handler installed, a SIGBUS outside any registered region is
/// passed on, and the process dies of it as it would without us.
#[test]
fn foreign_sigbus_is_chained() {
    let dir = TestDir::new();
    let mut child = spawn_child("chain", "child_sigbus_chain", dir.path(), None);
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGBUS), "{status:?}");
}

#[test]
#[ignore = "child process of foreign_sigbus_is_chained"]
fn child_sigbus_chain() {
    let Some((role, dir)) = child_role() else {
        return;
    };
    assert_eq!(role, "chain");
    let ep = Endpoint::new(&dir, SVC).unwrap();
    // A protected region installs the handler ...
    let _protected = ShmRegion::create(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
    assert_eq!(netipc::transport::shm::protected_regions(), 1);
    // ... an unprotected one is not registered with it.
    let cfg = ShmConfig {
        no_sigbus_handler: true,
        ..ShmConfig::default()
    };
    let mut server = ShmRegion::create(&ep, 2, 64, 64, &cfg).unwrap();
    let (s, _c) = seqpacket_pair();
    File::options()
        .write(true)
        .open(server.path())
        .unwrap()
        .set_len(0)
        .unwrap();
    let mut buf = Vec::new();
    let _ = server.recv(
        &mut buf,
        Deadline::after(Duration::from_secs(5)),
        None,
        s.as_fd(),
    );
    std::process::exit(3);
}

#[test]
fn full_filesystem_is_an_allocation_error() {
    if !rustix::process::geteuid().is_root() {
        println!("SKIPPED full_filesystem_is_an_allocation_error: not root");
        return;
    }
    let dir = TestDir::new();
    let mnt = dir.path().join("tiny");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("SKIPPED full_filesystem_is_an_allocation_error: mount failed");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mnt);
    let ep = Endpoint::new(&mnt, SVC).unwrap();
    let r = ShmRegion::create(&ep, 1, 1 << 20, 1 << 20, &ShmConfig::default());
    match r {
        Err(Error::ShmAllocate(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENOSPC)),
        other => panic!("expected ShmAllocate, got {other:?}"),
    }
    assert!(!ep.shm_path(1).exists(), "failed region file is removed");
    // A region that fits still works on the same filesystem.
    let ok = ShmRegion::create(&ep, 2, 1024, 1024, &ShmConfig::default()).unwrap();
    drop(ok);
}

// ------------------------------------------------ timeouts, abort, hang-up

#[test]
fn timeout_while_waiting() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 20, 64, 64);
    let mut buf = Vec::new();
    let t0 = Instant::now();
    let r = p.server.recv(
        &mut buf,
        Deadline::after(Duration::from_millis(120)),
        None,
        p.server_sock.as_fd(),
    );
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    assert!(t0.elapsed() >= Duration::from_millis(120));
    // Not poisoned: a late message is still received.
    p.client.send(&request(1, b"late")).unwrap();
    p.server
        .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
        .unwrap();
    assert_eq!(&buf[32..], b"late");
}

#[test]
fn abort_from_another_thread_is_prompt() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let mut p = pair(&ep, 21, 64, 64);
    let abort = AbortHandle::new().unwrap();
    let a2 = abort.clone();
    let t = std::thread::spawn(move || {
        // Not synchronisation: the result is Aborted whether the trigger
        // lands before or during the wait; this just aims for "during".
        std::thread::sleep(Duration::from_millis(100));
        a2.trigger();
    });
    let mut buf = Vec::new();
    p.client.send(&request(1, b"x")).unwrap();
    let t0 = Instant::now();
    let r = p.client.recv(
        &mut buf,
        Deadline::after(Duration::from_secs(120)),
        Some(&abort),
        p.client_sock.as_fd(),
    );
    assert!(matches!(r, Err(Error::Aborted)), "{r:?}");
    assert!(t0.elapsed() < Duration::from_secs(30));
    t.join().unwrap();
    // Sticky until cleared.
    assert!(matches!(
        p.client
            .recv(&mut buf, deadline(), Some(&abort), p.client_sock.as_fd()),
        Err(Error::Aborted)
    ));
    abort.clear();
    p.server
        .recv(&mut buf, deadline(), None, p.server_sock.as_fd())
        .unwrap();
    p.server.send(&response(1, b"y")).unwrap();
    p.client
        .recv(&mut buf, deadline(), Some(&abort), p.client_sock.as_fd())
        .unwrap();
}

#[test]
fn peer_hang_up_while_waiting() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    // Client waits for a response; the server side closes its socket.
    let Pair {
        server,
        mut client,
        server_sock,
        client_sock,
    } = pair(&ep, 22, 64, 64);
    client.send(&request(1, b"x")).unwrap();
    let closer = std::thread::spawn(move || drop(server_sock));
    let mut buf = Vec::new();
    let r = client.recv(&mut buf, deadline(), None, client_sock.as_fd());
    assert!(matches!(r, Err(Error::PeerClosed)), "{r:?}");
    closer.join().unwrap();
    drop(server);

    // Server waits for a request; the client process's socket end closes.
    let Pair {
        mut server,
        client,
        server_sock,
        client_sock,
    } = pair(&ep, 23, 64, 64);
    drop(client_sock);
    let r = server.recv(&mut buf, deadline(), None, server_sock.as_fd());
    assert!(matches!(r, Err(Error::PeerClosed)), "{r:?}");
    drop(client);
}

// ----------------------------------------------------------- stale files

#[test]
fn stale_cleanup() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let dead_pid = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id() as i32;
        c.wait().unwrap();
        pid
    };
    let len = RegionLayout::for_payloads(256, 1024).unwrap().mapped_len();
    let p = |id: u64| ep.shm_path(id);
    // Reclaimed:
    write_region_file(&p(1), &valid_info(dead_pid), len);
    write_region_file(
        &p(2),
        &RegionInfo {
            owner_generation: 0,
            ..valid_info(1)
        },
        len,
    );
    fs::write(p(3), vec![0xa5u8; 4096]).unwrap(); // junk, bad magic
    fs::write(p(4), b"tiny").unwrap(); // undersized
    write_region_file(&p(5), &valid_info(-5), len); // impossible pid
    // Kept: a live server region of ours, a live foreign owner (pid 1).
    let live = ShmRegion::create(&ep, 6, 64, 64, &ShmConfig::default()).unwrap();
    write_region_file(&p(7), &valid_info(1), len);
    // Untouched: other services and other names.
    let other = dir.path().join(format!("other-{:016x}.ipcshm", 1));
    write_region_file(&other, &valid_info(dead_pid), len);
    let prefixed = dir.path().join(format!("svc-b-{:016x}.ipcshm", 1));
    write_region_file(&prefixed, &valid_info(dead_pid), len);
    let unrelated = dir.path().join("svc-notes.txt");
    fs::write(&unrelated, b"x").unwrap();

    assert_eq!(cleanup_stale_regions(&ep).unwrap(), 5);
    for id in 1..=5 {
        assert!(!p(id).exists(), "{id} should be removed");
    }
    assert!(live.path().exists());
    assert!(p(7).exists());
    assert!(other.exists() && prefixed.exists() && unrelated.exists());
    assert_eq!(cleanup_stale_regions(&ep).unwrap(), 0);
    // A missing run dir is nothing to clean.
    let gone = Endpoint::new(dir.path().join("missing"), SVC).unwrap();
    assert_eq!(cleanup_stale_regions(&gone).unwrap(), 0);
}

#[test]
fn create_reclaims_stale_and_refuses_live() {
    let dir = TestDir::new();
    let ep = dir.endpoint(SVC);
    let dead_pid = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id() as i32;
        c.wait().unwrap();
        pid
    };
    let len = RegionLayout::for_payloads(256, 1024).unwrap().mapped_len();
    write_region_file(&ep.shm_path(1), &valid_info(dead_pid), len);
    let r = ShmRegion::create(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
    assert_eq!(read_info(r.path()).owner_pid as u32, std::process::id());
    // Our own live region, and a live foreign one.
    assert!(matches!(
        ShmRegion::create(&ep, 1, 64, 64, &ShmConfig::default()),
        Err(Error::AddressInUse)
    ));
    write_region_file(&ep.shm_path(2), &valid_info(1), len);
    assert!(matches!(
        ShmRegion::create(&ep, 2, 64, 64, &ShmConfig::default()),
        Err(Error::AddressInUse)
    ));
    // Our pid with another generation: a dead predecessor (pid reuse).
    let mut mine = valid_info(std::process::id() as i32);
    mine.owner_generation = read_info(r.path()).owner_generation.wrapping_add(1).max(1);
    write_region_file(&ep.shm_path(3), &mine, len);
    assert!(ShmRegion::create(&ep, 3, 64, 64, &ShmConfig::default()).is_ok());
}
