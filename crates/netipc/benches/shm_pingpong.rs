//! SHM round trips per second beside the cache-line baseline.
//!
//! - `spin_baseline`: two threads ping-pong one atomic word each way (each
//!   on its own cache line), spinning — the floor any shared-memory
//!   transport pays: two cache-line transfers per round trip.
//! - `shm_region/threads`: a `ShmRegion` client and server in two threads,
//!   8-byte payload (40-byte message) each way, default adaptive spin.
//! - `shm_region/threads_futex_only`: the same with spinning disabled
//!   (`max_spin = 0`): every receive sleeps in `FUTEX_WAIT`.
//! - `shm_region/processes`: client here, server in a child process (this
//!   bench binary re-run with `NETIPC_SHM_BENCH_CHILD` set).
//!
//! Throughput is reported in round trips per second (elements/s).

use std::hint::spin_loop;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group};
use netipc::Error;
use netipc::transport::shm::{ShmConfig, ShmRegion};
use netipc::transport::{Deadline, Endpoint};
use netipc::wire::Header;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

const SVC: &str = "bench";
const CHILD_ENV: &str = "NETIPC_SHM_BENCH_CHILD";

#[repr(align(128))]
struct Padded(AtomicU64);

struct SpinPair {
    ping: Padded,
    pong: Padded,
    stop: AtomicBool,
}

/// Raw two-thread spin ping-pong: one atomic word each way.
fn spin_baseline(c: &mut Criterion) {
    let pair = Arc::new(SpinPair {
        ping: Padded(AtomicU64::new(0)),
        pong: Padded(AtomicU64::new(0)),
        stop: AtomicBool::new(false),
    });
    let p2 = Arc::clone(&pair);
    let echo = std::thread::spawn(move || {
        let mut seen = 0;
        loop {
            let v = p2.ping.0.load(Ordering::Acquire);
            if v != seen {
                seen = v;
                p2.pong.0.store(v, Ordering::Release);
            } else if p2.stop.load(Ordering::Relaxed) {
                return;
            } else {
                spin_loop();
            }
        }
    });
    let mut next = 0u64;
    let mut g = c.benchmark_group("spin_baseline");
    g.throughput(Throughput::Elements(1));
    g.bench_function("threads", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                next += 1;
                pair.ping.0.store(next, Ordering::Release);
                while pair.pong.0.load(Ordering::Acquire) != next {
                    spin_loop();
                }
            }
            t0.elapsed()
        })
    });
    g.finish();
    pair.stop.store(true, Ordering::Relaxed);
    echo.join().unwrap();
}

struct RunDir(PathBuf);

impl RunDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!("nipc-shm-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        RunDir(p)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

/// Answers INCREMENT-shaped requests until the peer hangs up.
fn serve(server: &mut ShmRegion, sock: BorrowedFd<'_>) {
    let mut buf = Vec::with_capacity(64);
    let mut out = [0u8; 40];
    loop {
        match server.recv(&mut buf, Deadline::NEVER, None, sock) {
            Ok(()) => {}
            Err(Error::PeerClosed) => return,
            Err(e) => panic!("server: {e}"),
        }
        let h = Header::decode(&buf).unwrap();
        let v = u64::from_ne_bytes(buf[32..40].try_into().unwrap());
        Header::response(h.code, h.message_id, 8).encode_into(&mut out);
        out[32..].copy_from_slice(&(v + 1).to_ne_bytes());
        server.send(&out).unwrap();
    }
}

/// One client round trip with an 8-byte payload.
#[inline]
fn round_trip(
    client: &mut ShmRegion,
    sock: BorrowedFd<'_>,
    msg: &mut [u8; 40],
    buf: &mut Vec<u8>,
    id: &mut u64,
) {
    *id += 1;
    Header::request(1, *id, 8).encode_into(msg);
    msg[32..].copy_from_slice(&id.to_ne_bytes());
    client.send(msg).unwrap();
    client.recv(buf, Deadline::NEVER, None, sock).unwrap();
    debug_assert_eq!(buf.len(), 40);
}

fn bench_client(c: &mut Criterion, name: &str, client: &mut ShmRegion, sock: BorrowedFd<'_>) {
    let mut msg = [0u8; 40];
    let mut buf = Vec::with_capacity(64);
    let mut id = 0u64;
    let mut g = c.benchmark_group("shm_region");
    g.throughput(Throughput::Elements(1));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                round_trip(client, sock, &mut msg, &mut buf, &mut id);
            }
            t0.elapsed()
        })
    });
    g.finish();
}

fn threads(c: &mut Criterion, name: &str, cfg: ShmConfig) {
    let dir = RunDir::new();
    let ep = Endpoint::new(&dir.0, SVC).unwrap();
    let mut server = ShmRegion::create(&ep, 1, 64, 64, &cfg).unwrap();
    let mut client = ShmRegion::attach(&ep, 1, 64, 64, &cfg).unwrap();
    let (ss, cs) = seqpacket_pair();
    let t = std::thread::spawn(move || serve(&mut server, ss.as_fd()));
    bench_client(c, name, &mut client, cs.as_fd());
    drop(cs);
    t.join().unwrap();
}

fn shm_threads(c: &mut Criterion) {
    threads(c, "threads", ShmConfig::default());
    threads(
        c,
        "threads_futex_only",
        ShmConfig {
            max_spin: Duration::ZERO,
            ..ShmConfig::default()
        },
    );
}

fn shm_processes(c: &mut Criterion) {
    let dir = RunDir::new();
    let (mine, theirs) = seqpacket_pair();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, &dir.0)
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The child creates the region, then sends one byte.
    let mut b = [0u8; 1];
    assert_eq!(
        rustix::net::recv(&mine, &mut b, rustix::net::RecvFlags::empty())
            .unwrap()
            .0,
        1
    );
    let ep = Endpoint::new(&dir.0, SVC).unwrap();
    let mut client = ShmRegion::attach(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
    bench_client(c, "processes", &mut client, mine.as_fd());
    drop(mine);
    let status = child.wait().unwrap();
    assert!(status.success());
}

fn child_server(dir: PathBuf) {
    let ep = Endpoint::new(&dir, SVC).unwrap();
    let mut server = ShmRegion::create(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
    let stdin = std::io::stdin();
    let sock = stdin.as_fd();
    rustix::net::send(sock, &[1], rustix::net::SendFlags::empty()).unwrap();
    serve(&mut server, sock);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = spin_baseline, shm_threads, shm_processes
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child_server(PathBuf::from(dir));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
