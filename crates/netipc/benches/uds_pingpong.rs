//! UDS ping-pong: a raw `SOCK_SEQPACKET` socketpair baseline against a
//! `ClientSession` / `ServerSession` round trip of an 8-byte INCREMENT
//! payload, each between two threads.
//!
//! Run with `cargo bench -p netipc --bench uds_pingpong`. Optional
//! arguments: seconds per run (default 0.5) and interleaved run pairs
//! (default 10).

use std::time::{Duration, Instant};

use netipc::protocol::METHOD_INCREMENT;
use netipc::transport::uds::{ClientConfig, ClientSession, Listener, ServerConfig};
use netipc::transport::{Deadline, Endpoint};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, recv, send};

fn raw_pingpong(dur: Duration) -> f64 {
    let (a, b) = rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
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
    let token = 0xBE4C_4000_00C0_FFEE;
    let server = std::thread::spawn(move || {
        let p = listener.accept(Deadline::NEVER, None).unwrap();
        let cfg = ServerConfig {
            auth_token: token,
            max_request_payload_bytes: 4096,
            max_response_payload_bytes: 65536,
            ..ServerConfig::default()
        };
        let mut s = p.handshake(&cfg, Deadline::NEVER, None).unwrap();
        loop {
            let (code, id, v) = match s.recv_request(Deadline::NEVER, None) {
                Ok(m) => (
                    m.header.code,
                    m.header.message_id,
                    u64::from_ne_bytes(m.payload.try_into().unwrap()),
                ),
                Err(_) => return,
            };
            s.send_response(code, id, &(v + 1).to_ne_bytes()).unwrap();
        }
    });
    let cfg = ClientConfig {
        auth_token: token,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        ..ClientConfig::default()
    };
    let mut c = ClientSession::connect(&ep, &cfg, Deadline::NEVER, None).unwrap();
    let mut v = 0u64;
    let mut n = 0u64;
    let t0 = Instant::now();
    while t0.elapsed() < dur {
        for _ in 0..1000 {
            let m = c
                .call(METHOD_INCREMENT, &v.to_ne_bytes(), Deadline::NEVER, None)
                .unwrap();
            let r = u64::from_ne_bytes(m.payload.try_into().unwrap());
            assert_eq!(r, v + 1);
            v = r;
        }
        n += 1000;
    }
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    drop(c);
    server.join().unwrap();
    rate
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let secs: f64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(0.5);
    let pairs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dur = Duration::from_secs_f64(secs);
    let dir = std::env::temp_dir().join(format!("nipc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Interleaved short runs: on a shared, loaded box the best run of each
    // variant is the least disturbed one; the per-pair ratios show spread.
    let (mut raw, mut ours) = (0f64, 0f64);
    let mut ratios = Vec::new();
    for _ in 0..pairs.max(1) {
        let r = raw_pingpong(dur);
        let o = session_pingpong(dur, &dir);
        raw = raw.max(r);
        ours = ours.max(o);
        ratios.push(o / r);
    }
    let _ = std::fs::remove_dir_all(&dir);
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
