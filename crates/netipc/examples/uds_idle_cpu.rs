//! CPU cost of an idle UDS session (the pre-poll spin must not burn it).
//!
//! A connected Level 1 server thread waits for requests the way a managed
//! server does (no deadline, no abort handle), and the CPU time it uses
//! while waiting is read with `CLOCK_THREAD_CPUTIME_ID`:
//!
//! 1. a fresh session waits one second for its first request;
//! 2. after a burst of fast round trips (spin budget learned short), the
//!    session waits one second for the next request;
//! 3. a slow peer: 100 requests 10 ms apart (the spin collapses, so each
//!    wait costs about one blocking receive).
//!
//! Run: `cargo run --release --example uds_idle_cpu`

// Unix only: it measures UDS SEQPACKET sessions.
#[cfg(unix)]
mod unix {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use netipc::protocol::METHOD_INCREMENT;
    use netipc::transport::uds::{ClientConfig, ClientSession, Listener, ServerConfig};
    use netipc::transport::{Deadline, Endpoint};
    use rustix::time::{ClockId, clock_gettime};

    const IDLE: Duration = Duration::from_secs(1);
    const BURST: u64 = 20_000;
    const SLOW_CALLS: u32 = 100;
    const SLOW_GAP: Duration = Duration::from_millis(10);

    fn thread_cpu() -> Duration {
        let t = clock_gettime(ClockId::ThreadCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    fn report(what: &str, cpu: Duration, over: Duration) {
        println!(
            "{what}: {:.1} µs CPU over {:.2?} = {:.4}% of one core",
            cpu.as_secs_f64() * 1e6,
            over,
            cpu.as_secs_f64() / over.as_secs_f64() * 100.0
        );
    }

    fn call(c: &mut ClientSession, v: u64) {
        let m = c
            .call(METHOD_INCREMENT, &v.to_ne_bytes(), Deadline::NEVER, None)
            .unwrap();
        assert_eq!(m.payload, (v + 1).to_ne_bytes());
    }

    pub fn main() {
        let dir = std::env::temp_dir().join(format!("nipc-uds-idle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ep = Endpoint::new(&dir, "idle").unwrap();
        let listener = Listener::bind(&ep).unwrap();
        // The server thread reports the CPU time of each measured phase.
        let (tx, rx) = mpsc::channel::<Duration>();
        let server = std::thread::spawn(move || {
            let p = listener.accept(Deadline::NEVER, None).unwrap();
            let mut s = p
                .handshake(&ServerConfig::default(), Deadline::NEVER, None)
                .unwrap();
            // Answers one request; returns the CPU time spent waiting for it.
            let mut answer = || -> Duration {
                let c0 = thread_cpu();
                let m = s.recv_request(Deadline::NEVER, None).unwrap();
                let waited = thread_cpu() - c0;
                let (code, id) = (m.header.code, m.header.message_id);
                let v = u64::from_ne_bytes(m.payload.try_into().unwrap());
                s.send_response(code, id, &(v + 1).to_ne_bytes()).unwrap();
                waited
            };
            tx.send(answer()).unwrap();
            for _ in 0..BURST {
                answer();
            }
            tx.send(answer()).unwrap();
            for _ in 0..BURST {
                answer();
            }
            let slow: Duration = (0..SLOW_CALLS).map(|_| answer()).sum();
            tx.send(slow).unwrap();
        });
        let mut c =
            ClientSession::connect(&ep, &ClientConfig::default(), Deadline::NEVER, None).unwrap();

        std::thread::sleep(IDLE);
        call(&mut c, 0);
        report("idle server recv (fresh session)", rx.recv().unwrap(), IDLE);

        let t0 = Instant::now();
        for v in 0..BURST {
            call(&mut c, v);
        }
        let burst = t0.elapsed();
        std::thread::sleep(IDLE);
        call(&mut c, 0);
        report(
            "idle server recv (after a busy burst)",
            rx.recv().unwrap(),
            IDLE,
        );
        println!(
            "  (the burst: {BURST} round trips in {burst:.2?} = {:.0}/s)",
            BURST as f64 / burst.as_secs_f64()
        );

        for v in 0..BURST {
            call(&mut c, v);
        }
        let t0 = Instant::now();
        for v in 0..u64::from(SLOW_CALLS) {
            std::thread::sleep(SLOW_GAP);
            call(&mut c, v);
        }
        let slow = rx.recv().unwrap();
        report(
            &format!("slow peer: server waits for {SLOW_CALLS} requests {SLOW_GAP:?} apart"),
            slow,
            t0.elapsed(),
        );
        println!(
            "  ({:.1} µs CPU per wait)",
            slow.as_secs_f64() * 1e6 / f64::from(SLOW_CALLS)
        );
        drop(c);
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(not(unix))]
fn main() {
    eprintln!("uds_idle_cpu measures UDS SEQPACKET sessions: Unix only");
}
