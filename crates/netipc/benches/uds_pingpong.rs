//! UDS ping-pong: a raw `SOCK_SEQPACKET` socketpair baseline against a
//! `ClientSession` / `ServerSession` round trip of an 8-byte INCREMENT
//! payload, each between two threads.
//!
//! Run with `cargo bench -p netipc --bench uds_pingpong`. Optional
//! arguments: seconds per run (default 0.5) and interleaved run pairs
//! (default 10).

#[path = "support/mod.rs"]
mod support;

// Unix only: it measures UDS SEQPACKET sessions.
#[cfg(unix)]
mod unix {
    use std::time::{Duration, Instant};

    use netipc::transport::uds::{ClientConfig, ClientSession, Listener, ServerConfig};
    use netipc::transport::{Deadline, Endpoint};
    use rustix::net::{RecvFlags, SendFlags, recv, send};

    use crate::support::{RunDir, TOKEN, args, pingpong, seqpacket_pair, serve_increments};

    fn raw_pingpong(dur: Duration) -> f64 {
        let (a, b) = seqpacket_pair();
        let server = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                match recv(&b, &mut buf[..], RecvFlags::empty()) {
                    Ok((8, _)) => {
                        let v = u64::from_ne_bytes(buf[..8].try_into().unwrap()) + 1;
                        send(&b, &v.to_ne_bytes(), SendFlags::NOSIGNAL).unwrap();
                    }
                    _ => return,
                }
            }
        });
        let mut buf = [0u8; 64];
        let mut v = 0u64;
        let mut n = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < dur {
            for _ in 0..1000 {
                send(&a, &v.to_ne_bytes(), SendFlags::NOSIGNAL).unwrap();
                let (got, _) = recv(&a, &mut buf[..], RecvFlags::empty()).unwrap();
                assert_eq!(got, 8);
                let r = u64::from_ne_bytes(buf[..8].try_into().unwrap());
                assert_eq!(r, v + 1);
                v = r;
            }
            n += 1000;
        }
        let rate = n as f64 / t0.elapsed().as_secs_f64();
        drop(a);
        server.join().unwrap();
        rate
    }

    fn session_pingpong(dur: Duration, run_dir: &std::path::Path) -> f64 {
        let ep = Endpoint::new(run_dir, "bench-pingpong").unwrap();
        let listener = Listener::bind(&ep).unwrap();
        let server = std::thread::spawn(move || {
            let p = listener.accept(Deadline::NEVER, None).unwrap();
            let cfg = ServerConfig {
                auth_token: TOKEN,
                max_request_payload_bytes: 4096,
                max_response_payload_bytes: 65536,
                ..ServerConfig::default()
            };
            let mut s = p.handshake(&cfg, Deadline::NEVER, None).unwrap();
            serve_increments(&mut s);
        });
        let cfg = ClientConfig {
            auth_token: TOKEN,
            max_request_payload_bytes: 4096,
            max_response_payload_bytes: 65536,
            ..ClientConfig::default()
        };
        let mut c = ClientSession::connect(&ep, &cfg, Deadline::NEVER, None).unwrap();
        let rate = pingpong(&mut c, dur);
        drop(c);
        server.join().unwrap();
        rate
    }

    pub fn main() {
        let (dur, pairs) = args(10);
        let dir = RunDir::new("uds");
        // Interleaved short runs: on a shared, loaded box the best run of each
        // variant is the least disturbed one; the per-pair ratios show spread.
        let (mut raw, mut ours) = (0f64, 0f64);
        let mut ratios = Vec::new();
        for _ in 0..pairs.max(1) {
            let r = raw_pingpong(dur);
            let o = session_pingpong(dur, dir.path());
            raw = raw.max(r);
            ours = ours.max(o);
            ratios.push(o / r);
        }
        drop(dir);
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!("raw SOCK_SEQPACKET ping-pong (8 B):      {raw:>10.0} round trips/s (best)");
        println!("ClientSession/ServerSession (INCREMENT): {ours:>10.0} round trips/s (best)");
        println!(
            "ratio: {:.3}x best/best, {median:.3}x median of {} interleaved pairs",
            ours / raw,
            ratios.len()
        );
    }
}

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(not(unix))]
fn main() {
    eprintln!("uds_pingpong measures UDS SEQPACKET sessions: Unix only");
}
