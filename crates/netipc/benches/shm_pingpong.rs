//! SHM round trips per second beside the cache-line baseline.
//!
//! - `spin_baseline/threads`: two threads ping-pong one atomic word each
//!   way (each on its own cache line), spinning — the floor any
//!   shared-memory transport pays: two cache-line transfers per round trip.
//! - `shm_region/threads`: a `ShmRegion` client and server in two threads,
//!   8-byte payload (40-byte message) each way, default adaptive spin.
//! - `shm_region/threads_futex_only`: the same with spinning disabled
//!   (`max_spin = 0`): every receive sleeps in `FUTEX_WAIT`.
//! - `shm_region/processes`: client here, server in a child process (this
//!   bench binary re-run with `NETIPC_SHM_BENCH_CHILD` set).
//!
//! Criterion reports round trips per second (elements/s). On a shared
//! machine these ping-pongs are very sensitive to other load, so in bench
//! mode a summary follows that interleaves short windows of the baseline
//! and of the SHM variants (so they see the same load) and prints the
//! median and best of each and the ratios.

#[path = "support/mod.rs"]
mod support;

// Unix only: it measures the POSIX shared-memory region.
#[cfg(unix)]
mod unix {
    use std::hint::spin_loop;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use criterion::{Criterion, Throughput, criterion_group};
    use netipc::Error;
    use netipc::transport::shm::{ShmConfig, ShmRegion};
    use netipc::transport::{Deadline, Endpoint};
    use netipc::wire::Header;

    use crate::support::{RunDir, seqpacket_pair};

    const SVC: &str = "bench";
    const CHILD_ENV: &str = "NETIPC_SHM_BENCH_CHILD";

    /// Something that performs `n` round trips.
    trait PingPong {
        fn run(&mut self, n: u64);
    }

    // ------------------------------------------------------------ spin baseline

    #[repr(align(128))]
    struct Padded(AtomicU64);

    struct SpinWords {
        ping: Padded,
        pong: Padded,
        stop: AtomicBool,
    }

    /// Raw two-thread spin ping-pong: one atomic word each way.
    struct Spin {
        words: Arc<SpinWords>,
        next: u64,
        echo: Option<JoinHandle<()>>,
    }

    impl Spin {
        fn new() -> Self {
            let words = Arc::new(SpinWords {
                ping: Padded(AtomicU64::new(0)),
                pong: Padded(AtomicU64::new(0)),
                stop: AtomicBool::new(false),
            });
            let w = Arc::clone(&words);
            let echo = std::thread::spawn(move || {
                let mut seen = 0;
                loop {
                    let v = w.ping.0.load(Ordering::Acquire);
                    if v != seen {
                        seen = v;
                        w.pong.0.store(v, Ordering::Release);
                    } else if w.stop.load(Ordering::Relaxed) {
                        return;
                    } else {
                        spin_loop();
                    }
                }
            });
            Spin {
                words,
                next: 0,
                echo: Some(echo),
            }
        }
    }

    impl PingPong for Spin {
        fn run(&mut self, n: u64) {
            for _ in 0..n {
                self.next += 1;
                self.words.ping.0.store(self.next, Ordering::Release);
                while self.words.pong.0.load(Ordering::Acquire) != self.next {
                    spin_loop();
                }
            }
        }
    }

    impl Drop for Spin {
        fn drop(&mut self) {
            self.words.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.echo.take() {
                t.join().unwrap();
            }
        }
    }

    // --------------------------------------------------------------- ShmRegion

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

    enum Peer {
        Thread(JoinHandle<()>),
        Process(Child),
    }

    /// A `ShmRegion` client whose server runs in a thread or a child process.
    struct Shm {
        client: ShmRegion,
        sock: Option<OwnedFd>,
        peer: Option<Peer>,
        msg: [u8; 40],
        buf: Vec<u8>,
        id: u64,
        _dir: RunDir,
    }

    impl Shm {
        fn threads(cfg: ShmConfig) -> Self {
            let dir = RunDir::new("shm");
            let ep = Endpoint::new(dir.path(), SVC).unwrap();
            let mut server = ShmRegion::create(&ep, 1, 64, 64, &cfg).unwrap();
            let client = ShmRegion::attach(&ep, 1, 64, 64, &cfg).unwrap();
            let (ss, cs) = seqpacket_pair();
            let t = std::thread::spawn(move || serve(&mut server, ss.as_fd()));
            Self::with(client, cs, Peer::Thread(t), dir)
        }

        fn processes() -> Self {
            let dir = RunDir::new("shm");
            let (mine, theirs) = seqpacket_pair();
            let child = Command::new(std::env::current_exe().unwrap())
                .env(CHILD_ENV, dir.path())
                .stdin(Stdio::from(theirs))
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            // The child creates the region, then sends one byte.
            let mut b = [0u8; 1];
            let (n, _) = rustix::net::recv(&mine, &mut b, rustix::net::RecvFlags::empty()).unwrap();
            assert_eq!(n, 1, "bench child failed to start");
            let ep = Endpoint::new(dir.path(), SVC).unwrap();
            let client = ShmRegion::attach(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
            Self::with(client, mine, Peer::Process(child), dir)
        }

        fn with(client: ShmRegion, sock: OwnedFd, peer: Peer, dir: RunDir) -> Self {
            Shm {
                client,
                sock: Some(sock),
                peer: Some(peer),
                msg: [0; 40],
                buf: Vec::with_capacity(64),
                id: 0,
                _dir: dir,
            }
        }
    }

    impl PingPong for Shm {
        fn run(&mut self, n: u64) {
            let sock = self.sock.as_ref().unwrap().as_fd();
            for _ in 0..n {
                self.id += 1;
                Header::request(1, self.id, 8).encode_into(&mut self.msg);
                self.msg[32..].copy_from_slice(&self.id.to_ne_bytes());
                self.client.send(&self.msg).unwrap();
                self.client
                    .recv(&mut self.buf, Deadline::NEVER, None, sock)
                    .unwrap();
                debug_assert_eq!(self.buf.len(), 40);
            }
        }
    }

    impl Drop for Shm {
        fn drop(&mut self) {
            // Hang up: the server sees PeerClosed and ends.
            drop(self.sock.take());
            match self.peer.take() {
                Some(Peer::Thread(t)) => t.join().unwrap(),
                Some(Peer::Process(mut c)) => assert!(c.wait().unwrap().success()),
                None => {}
            }
        }
    }

    fn child_server(dir: PathBuf) {
        let ep = Endpoint::new(&dir, SVC).unwrap();
        let mut server = ShmRegion::create(&ep, 1, 64, 64, &ShmConfig::default()).unwrap();
        let stdin = std::io::stdin();
        let sock = stdin.as_fd();
        rustix::net::send(sock, &[1], rustix::net::SendFlags::empty()).unwrap();
        serve(&mut server, sock);
    }

    // ---------------------------------------------------------------- criterion

    fn measure(c: &mut Criterion, group: &str, name: &str, pp: &mut dyn PingPong) {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                pp.run(iters);
                t0.elapsed()
            })
        });
        g.finish();
    }

    fn spin_baseline(c: &mut Criterion) {
        measure(c, "spin_baseline", "threads", &mut Spin::new());
    }

    fn shm_region(c: &mut Criterion) {
        measure(
            c,
            "shm_region",
            "threads",
            &mut Shm::threads(ShmConfig::default()),
        );
        let futex_only = ShmConfig {
            max_spin: Duration::ZERO,
            ..ShmConfig::default()
        };
        measure(
            c,
            "shm_region",
            "threads_futex_only",
            &mut Shm::threads(futex_only),
        );
        measure(c, "shm_region", "processes", &mut Shm::processes());
    }

    criterion_group! {
        name = benches;
        config = Criterion::default()
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        targets = spin_baseline, shm_region
    }

    // ------------------------------------------------------ interleaved summary

    /// Round trips per second over one window of about `window`.
    fn rate(pp: &mut dyn PingPong, window: Duration) -> f64 {
        let t0 = Instant::now();
        let mut n = 0u64;
        let mut chunk = 256;
        while t0.elapsed() < window {
            pp.run(chunk);
            n += chunk;
            chunk = (chunk * 2).min(1 << 16);
        }
        n as f64 / t0.elapsed().as_secs_f64()
    }

    fn interleaved_summary() {
        const ROUNDS: usize = 15;
        let window = Duration::from_millis(200);
        let mut threads = Shm::threads(ShmConfig::default());
        let mut procs = Shm::processes();
        let (mut r_spin, mut r_threads, mut r_procs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            // A fresh echo thread per window: an idle one would keep spinning
            // and steal a core from the other measurements.
            r_spin.push(rate(&mut Spin::new(), window));
            r_threads.push(rate(&mut threads, window));
            r_procs.push(rate(&mut procs, window));
        }
        let stats = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[v.len() - 1])
        };
        let (spin_med, spin_best) = stats(&mut r_spin);
        println!("\ninterleaved summary ({ROUNDS} x {window:?} windows each; round trips/s):");
        println!("  spin baseline (threads) median {spin_med:>12.0}  best {spin_best:>12.0}");
        for (name, v) in [
            ("ShmRegion threads      ", &mut r_threads),
            ("ShmRegion processes    ", &mut r_procs),
        ] {
            let (med, best) = stats(v);
            println!(
                "  {name} median {med:>12.0}  best {best:>12.0}  ratio to baseline: median {:.1}%  best {:.1}%",
                med / spin_med * 100.0,
                best / spin_best * 100.0
            );
        }
    }

    pub fn main() {
        if let Some(dir) = std::env::var_os(CHILD_ENV) {
            child_server(PathBuf::from(dir));
            return;
        }
        benches();
        Criterion::default().configure_from_args().final_summary();
        // Only in bench mode (`cargo bench`), not when run as a test.
        if std::env::args().any(|a| a == "--bench") {
            interleaved_summary();
        }
    }
}

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(not(unix))]
fn main() {
    eprintln!("shm_pingpong measures the POSIX shared-memory region: Unix only");
}
