//! CPU cost of an idle SHM session.
//!
//! A connected server waits for a request that does not come, and a client
//! waits for a response that does not come, each for about one second;
//! the CPU time each waiting thread used is read with
//! `CLOCK_THREAD_CPUTIME_ID`. The first case starts from a fresh session,
//! the second right after a burst of fast round trips (spin budget at its
//! maximum), which shows the bounded spin before sleeping.
//!
//! Run: `cargo run --release --example shm_idle_cpu`

// Unix only: it measures the POSIX shared-memory region.
#[cfg(unix)]
mod unix {
    use std::os::fd::AsFd;
    use std::time::Duration;

    use netipc::Error;
    use netipc::transport::shm::{ShmConfig, ShmRegion};
    use netipc::transport::{Deadline, Endpoint};
    use netipc::wire::Header;
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    use rustix::time::{ClockId, clock_gettime};

    const IDLE: Duration = Duration::from_secs(1);
    const BURST: u64 = 20_000;

    fn thread_cpu() -> Duration {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    fn report(what: &str, cpu: Duration) {
        println!(
            "{what}: {:.1} µs CPU over {:?} = {:.4}% of one core",
            cpu.as_secs_f64() * 1e6,
            IDLE,
            cpu.as_secs_f64() / IDLE.as_secs_f64() * 100.0
        );
    }

    pub fn main() {
        let dir = std::env::temp_dir().join(format!("nipc-shm-idle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ep = Endpoint::new(&dir, "idle").unwrap();
        let cfg = ShmConfig::default();
        let mut server = ShmRegion::create(&ep, 1, 64, 64, &cfg).unwrap();
        let mut client = ShmRegion::attach(&ep, 1, 64, 64, &cfg).unwrap();
        let (ss, cs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let mut buf = Vec::new();

        // 1. Fresh server waiting for a request.
        let c0 = thread_cpu();
        let r = server.recv(&mut buf, Deadline::after(IDLE), None, ss.as_fd());
        assert!(matches!(r, Err(Error::Timeout)));
        report("idle server recv (fresh session)", thread_cpu() - c0);

        // 2. Warm the spin tuner with fast round trips, then go idle: first the
        //    server waits for a request, then the client waits for a response
        //    the server holds back for IDLE.
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let burst = |server: &mut ShmRegion, buf: &mut Vec<u8>| {
                for i in 0..BURST {
                    server.recv(buf, Deadline::NEVER, None, ss.as_fd()).unwrap();
                    server.send(&Header::response(1, i, 0).encode()).unwrap();
                }
            };
            burst(&mut server, &mut buf);
            let c0 = thread_cpu();
            let r = server.recv(&mut buf, Deadline::after(IDLE), None, ss.as_fd());
            assert!(matches!(r, Err(Error::Timeout)));
            tx.send(thread_cpu() - c0).unwrap();
            burst(&mut server, &mut buf);
            server
                .recv(&mut buf, Deadline::NEVER, None, ss.as_fd())
                .unwrap();
            std::thread::sleep(IDLE);
            server.send(&Header::response(1, 0, 0).encode()).unwrap();
            server
        });
        let burst = |client: &mut ShmRegion, buf: &mut Vec<u8>| {
            for i in 0..BURST {
                client.send(&Header::request(1, i, 0).encode()).unwrap();
                client.recv(buf, Deadline::NEVER, None, cs.as_fd()).unwrap();
            }
        };
        burst(&mut client, &mut buf);
        report("idle server recv (after a busy burst)", rx.recv().unwrap());
        burst(&mut client, &mut buf);
        client.send(&Header::request(1, 0, 0).encode()).unwrap();
        let c0 = thread_cpu();
        client
            .recv(&mut buf, Deadline::NEVER, None, cs.as_fd())
            .unwrap();
        report("idle client recv (after a busy burst)", thread_cpu() - c0);
        let server = t.join().unwrap();
        drop(server);
        drop(client);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(not(unix))]
fn main() {
    eprintln!("shm_idle_cpu measures the POSIX shared-memory region: Unix only");
}
