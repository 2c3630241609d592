//! Win SHM sessions end to end over real Named Pipe handshakes (run under
//! Wine by `scripts/windows-tests.sh`).

use std::thread;
use std::time::{Duration, Instant};

use super::tests::{CODE, TOKEN, client_cfg, echo_server, endpoint, patience, server_cfg};
use super::*;
use crate::error::{Error, Violation};
use crate::protocol::{
    HEADER_LEN, PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID, STATUS_OK,
};
use crate::transport::handshake::{HELLO_MSG_LEN, encode_ack};
use crate::transport::{AbortHandle, Deadline};
use crate::wire::{Negotiation, negotiate};

const ALL: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT;

fn shm_server(supported: u32, preferred: u32) -> ServerConfig {
    ServerConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 8192,
        ..server_cfg()
    }
}

/// A client that tries its SHM attach exactly once: a region that is not
/// ready when the HELLO_ACK arrives fails the connect, which proves every
/// server here prepared it before answering.
fn shm_client(supported: u32, preferred: u32) -> ClientConfig {
    ClientConfig {
        shm_attach_timeout: Duration::ZERO,
        supported_profiles: supported,
        preferred_profiles: preferred,
        max_request_payload_bytes: 4096,
        max_request_batch_items: 16,
        max_response_payload_bytes: 8192,
        max_response_batch_items: 16,
        ..client_cfg()
    }
}

#[test]
fn negotiation_matrix_selects_the_data_plane_on_both_sides() {
    let h = PROFILE_SHM_HYBRID;
    let b = PROFILE_SHM_BUSYWAIT;
    let np = PROFILE_BASELINE;
    // (client supported, client preferred, server supported, server
    // preferred, expected selected profile)
    let cases = [
        (ALL, h, ALL, h, h),
        (ALL, b, ALL, b, b),
        (ALL, h | b, ALL, b, b),
        (ALL, h, ALL, b, b),
        (ALL, np, ALL, np, np),
        (ALL, h, np, np, np),
        (np, np, ALL, h, np),
        (h | np, h, b | np, b, np),
        (h, h, h | np, np, h),
    ];
    for (k, (cs, cp, ss, sp, want)) in cases.into_iter().enumerate() {
        let ep = endpoint("matrix");
        let listener = Listener::bind(&ep).unwrap();
        let scfg = shm_server(ss, sp);
        let server = thread::spawn(move || {
            let pending = listener.accept(patience(), None).unwrap();
            let mut s = pending.handshake(&scfg, patience(), None).unwrap();
            let shm = s.is_shm();
            let req = s.recv_request(patience(), None).unwrap();
            let (id, p) = (req.header.message_id, req.payload.to_vec());
            s.send_response(CODE, id, &p).unwrap();
            (s.selected_profile(), shm)
        });
        let mut c = ClientSession::connect(&ep, &shm_client(cs, cp), patience(), None).unwrap();
        assert_eq!(c.selected_profile(), want, "case {k}");
        assert_eq!(c.is_shm(), want != np, "case {k}");
        let r = c.call(CODE, b"ping", patience(), None).unwrap();
        assert_eq!(r.payload, b"ping");
        let (sel, shm) = server.join().unwrap();
        assert_eq!((sel, shm), (want, want != np), "case {k}");
    }
    // No common profile.
    let ep = endpoint("matrix-none");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        pending.handshake(&shm_server(np, np), patience(), None)
    });
    let e = ClientSession::connect(&ep, &shm_client(h | b, h), patience(), None).unwrap_err();
    assert!(matches!(e, Error::Unsupported), "{e:?}");
    assert!(matches!(server.join().unwrap(), Err(Error::Unsupported)));
    // SHM_WAITADDR is not implemented.
    let bad = shm_client(ALL | crate::protocol::PROFILE_SHM_WAITADDR, h);
    assert!(matches!(bad.validate(), Err(Error::InvalidArgument(_))));
}

#[test]
fn round_trips_batches_and_full_areas_over_both_profiles() {
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        let ep = endpoint("shm-rt");
        let server = echo_server(Listener::bind(&ep).unwrap(), shm_server(ALL, profile));
        let mut c =
            ClientSession::connect(&ep, &shm_client(ALL, profile), patience(), None).unwrap();
        assert!(c.is_shm());
        assert_eq!(c.selected_profile(), profile);
        for i in 0..200u32 {
            let r = c.call(CODE, &i.to_le_bytes(), patience(), None).unwrap();
            assert_eq!(r.header.transport_status, STATUS_OK);
            assert_eq!(r.payload, i.to_le_bytes());
        }
        // A request of exactly the agreed budget travels whole (the packet
        // size would chunk it on the pipe).
        let big = vec![0x5A; 4096];
        assert!(big.len() + HEADER_LEN > 4096);
        let r = c.call(CODE, &big, patience(), None).unwrap();
        assert_eq!(r.payload, &big[..]);
        let e = c.call(CODE, &[0; 4097], patience(), None).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{e:?}");
        assert!(!c.is_broken());
        // A batch travels as one whole message; the echo server answers
        // its payload (directory + items) as a single response.
        let items: Vec<Vec<u8>> = (0..16u8).map(|k| vec![k; usize::from(k) + 1]).collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let r = c.call_batch(CODE, &refs, patience(), None).unwrap();
        let mut expect = Vec::new();
        let mut b = crate::wire::BatchBuilder::new(&mut expect, 16);
        for it in &refs {
            b.add(it).unwrap();
        }
        b.finish().unwrap();
        assert_eq!(r.payload, &expect[..]);
        drop(c);
        assert_eq!(server.join().unwrap().unwrap(), 202);
    }
}

#[test]
fn one_request_in_flight_on_shm() {
    let ep = endpoint("shm-busy");
    let server = echo_server(
        Listener::bind(&ep).unwrap(),
        shm_server(ALL, PROFILE_SHM_HYBRID),
    );
    let mut c = ClientSession::connect(&ep, &shm_client(ALL, PROFILE_SHM_HYBRID), patience(), None)
        .unwrap();
    let a = c.next_message_id();
    let b = c.next_message_id();
    c.send_request(CODE, a, b"a").unwrap();
    let e = c.send_request(CODE, b, b"b").unwrap_err();
    assert!(matches!(e, Error::Protocol(Violation::ShmBusy)), "{e:?}");
    assert!(!c.is_broken());
    assert_eq!(c.recv_response(patience(), None).unwrap().payload, b"a");
    c.send_request(CODE, b, b"b").unwrap();
    assert_eq!(c.recv_response(patience(), None).unwrap().payload, b"b");
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), 2);
}

#[test]
fn timeout_abort_and_peer_close_on_shm_sessions() {
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        let ep = endpoint("shm-wait");
        let listener = Listener::bind(&ep).unwrap();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let scfg = shm_server(ALL, profile);
        let server = thread::spawn(move || {
            let pending = listener.accept(patience(), None).unwrap();
            let mut s = pending.handshake(&scfg, patience(), None).unwrap();
            let id = s.recv_request(patience(), None).unwrap().header.message_id;
            wait.recv().unwrap();
            s.send_response(CODE, id, b"late").unwrap();
            // Then leave while the client waits for another answer.
            let _ = s.recv_request(patience(), None).unwrap();
            wait.recv().unwrap();
        });
        let mut c =
            ClientSession::connect(&ep, &shm_client(ALL, profile), patience(), None).unwrap();
        let id = c.next_message_id();
        c.send_request(CODE, id, b"q").unwrap();
        let e = c
            .recv_response(Deadline::after(Duration::from_millis(30)), None)
            .unwrap_err();
        assert!(matches!(e, Error::Timeout), "{e:?}");
        let abort = AbortHandle::new().unwrap();
        let t = {
            let a = abort.clone();
            thread::spawn(move || a.trigger())
        };
        let e = c.recv_response(Deadline::NEVER, Some(&abort)).unwrap_err();
        assert!(matches!(e, Error::Aborted), "{e:?}");
        t.join().unwrap();
        assert!(!c.is_broken());
        go.send(()).unwrap();
        assert_eq!(c.recv_response(patience(), None).unwrap().payload, b"late");
        let id = c.next_message_id();
        c.send_request(CODE, id, b"again").unwrap();
        go.send(()).unwrap();
        let e = c.recv_response(Deadline::NEVER, None).unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
        assert!(c.is_broken());
        server.join().unwrap();
    }
}

#[test]
fn a_region_that_cannot_be_created_falls_back_to_the_pipe() {
    let ep = endpoint("shm-squat");
    let listener = Listener::bind(&ep).unwrap();
    // Someone already holds the objects of session 1.
    let squatter = shm::WinShmRegion::create(
        &ep,
        TOKEN,
        PROFILE_SHM_HYBRID,
        1,
        4096,
        8192,
        &ShmConfig::default(),
    )
    .unwrap();
    let scfg = shm_server(ALL, PROFILE_SHM_HYBRID);
    let server = thread::spawn(move || {
        // Session 1: falls back to NAMED_PIPE for a client that has it.
        let pending = listener.accept(patience(), None).unwrap();
        assert_eq!(pending.session_id(), 1);
        let mut s = pending.handshake(&scfg, patience(), None).unwrap();
        assert!(!s.is_shm());
        assert_eq!(s.selected_profile(), PROFILE_BASELINE);
        let req = s.recv_request(patience(), None).unwrap();
        let id = req.header.message_id;
        s.send_response(CODE, id, b"pipe").unwrap();
        // Session 2 is free: SHM again.
        let pending = listener.accept(patience(), None).unwrap();
        let s = pending.handshake(&scfg, patience(), None).unwrap();
        assert!(s.is_shm());
        assert!(s.shm_region().is_some());
        (listener, s)
    });
    let mut c = ClientSession::connect(&ep, &shm_client(ALL, PROFILE_SHM_HYBRID), patience(), None)
        .unwrap();
    assert!(!c.is_shm());
    assert_eq!(
        c.call(CODE, b"x", patience(), None).unwrap().payload,
        b"pipe"
    );
    let c2 = ClientSession::connect(&ep, &shm_client(ALL, PROFILE_SHM_HYBRID), patience(), None)
        .unwrap();
    assert!(c2.is_shm());
    let (listener, s2) = server.join().unwrap();
    drop((c, c2, s2));

    // A client without the baseline gets UNSUPPORTED; the server reports
    // the creation failure.
    let _squat3 = shm::WinShmRegion::create(
        &ep,
        TOKEN,
        PROFILE_SHM_HYBRID,
        3,
        4096,
        8192,
        &ShmConfig::default(),
    )
    .unwrap();
    let scfg = shm_server(ALL, PROFILE_SHM_HYBRID);
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        assert_eq!(pending.session_id(), 3);
        pending.handshake(&scfg, patience(), None)
    });
    let e = ClientSession::connect(
        &ep,
        &shm_client(PROFILE_SHM_HYBRID, PROFILE_SHM_HYBRID),
        patience(),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Unsupported), "{e:?}");
    let se = server.join().unwrap().unwrap_err();
    assert!(matches!(se, Error::ShmAllocate(_)), "{se:?}");
    drop(squatter);
}

#[test]
fn a_missing_region_is_shm_attach_and_closes_the_session() {
    let ep = endpoint("shm-missing");
    let listener = Listener::bind(&ep).unwrap();
    // A server that selects SHM in its HELLO_ACK but never creates the
    // region.
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let pipe = pending.raw_pipe();
        let mut buf = [0u8; HELLO_MSG_LEN];
        let got = pipe.read(&mut buf, patience(), None).unwrap();
        assert_eq!(got.n, HELLO_MSG_LEN);
        let offer = shm_server(ALL, PROFILE_SHM_HYBRID).offer();
        let Negotiation::Accept(ack) = negotiate(&buf[HEADER_LEN..], &offer, 77) else {
            panic!("negotiation failed");
        };
        assert_eq!(ack.selected_profile, PROFILE_SHM_HYBRID);
        pipe.write(&encode_ack(STATUS_OK, &ack), patience())
            .unwrap();
        // The client gives up and closes the session.
        let e = pipe.read(&mut buf, patience(), None).unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
    });
    let cfg = ClientConfig {
        shm_attach_timeout: Duration::from_millis(100),
        ..shm_client(ALL, PROFILE_SHM_HYBRID)
    };
    let t0 = Instant::now();
    let e = ClientSession::connect(&ep, &cfg, patience(), None).unwrap_err();
    assert!(matches!(e, Error::ShmAttach(_)), "{e:?}");
    assert!(t0.elapsed() >= Duration::from_millis(100));
    server.join().unwrap();
}

/// Round trips per second of one client/server pair: Named Pipe, Win SHM
/// HYBRID and BUSYWAIT. Under Wine these numbers are functional evidence
/// only. Run with
/// `scripts/windows-tests.sh tests_shm::ping_pong -- --ignored --nocapture`.
#[test]
#[ignore]
fn ping_pong_rates() {
    let secs = Duration::from_secs(2);
    for (name, profile) in [
        ("named pipe", PROFILE_BASELINE),
        ("shm hybrid", PROFILE_SHM_HYBRID),
        ("shm busywait", PROFILE_SHM_BUSYWAIT),
    ] {
        let ep = endpoint("pingpong");
        let server = echo_server(Listener::bind(&ep).unwrap(), shm_server(ALL, profile));
        let mut c =
            ClientSession::connect(&ep, &shm_client(ALL, profile), patience(), None).unwrap();
        assert_eq!(c.selected_profile(), profile);
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < secs {
            let r = c.call(CODE, &n.to_le_bytes(), patience(), None).unwrap();
            assert_eq!(r.payload.len(), 8);
            n += 1;
        }
        let rate = n as f64 / t0.elapsed().as_secs_f64();
        println!("{name:>13}: {rate:>10.0} round trips/s ({n} in {secs:?})");
        drop(c);
        server.join().unwrap().unwrap();
    }
}

#[test]
fn a_peer_gone_without_its_close_flag_is_noticed_through_the_pipe() {
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        let ep = endpoint("shm-crash");
        let listener = Listener::bind(&ep).unwrap();
        let scfg = shm_server(ALL, profile);
        let server = thread::spawn(move || {
            let pending = listener.accept(patience(), None).unwrap();
            pending.handshake(&scfg, patience(), None).unwrap()
        });
        let c = ClientSession::connect(&ep, &shm_client(ALL, profile), patience(), None).unwrap();
        let mut s = server.join().unwrap();
        assert!(s.is_shm());
        // A client process that dies closes its pipe but never sets its
        // close flag: take the flag back after the orderly close.
        drop(c);
        let region = s.shm_region().unwrap();
        region
            .header()
            .req_client_closed
            .store(0, std::sync::atomic::Ordering::SeqCst);
        let e = s.recv_request(Deadline::NEVER, None).unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
        assert!(s.is_broken());
    }
}

/// Set in a child process started by [`round_trips_across_processes`]:
/// the run dir of the endpoint to serve.
const CHILD_ENV: &str = "NETIPC_WIN_SHM_CHILD_RUN_DIR";

/// The server half of [`round_trips_across_processes`]; does nothing
/// unless started by it.
#[test]
#[ignore]
fn child_echo_server() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let ep = crate::transport::Endpoint::new(dir, "xproc").unwrap();
    let listener = Listener::bind(&ep).unwrap();
    let cfg = shm_server(ALL, PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT);
    for _ in 0..2 {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&cfg, patience(), None).unwrap();
        assert!(s.is_shm());
        loop {
            let req = match s.recv_request(patience(), None) {
                Ok(r) => r,
                Err(Error::PeerClosed) => break,
                Err(e) => panic!("{e:?}"),
            };
            let (id, mut p) = (req.header.message_id, req.payload.to_vec());
            p.reverse();
            s.send_response(CODE, id, &p).unwrap();
        }
    }
}

#[test]
fn round_trips_across_processes() {
    use std::process::{Command, Stdio};
    let ep = endpoint("xproc");
    let dir = ep.run_dir().to_string_lossy().into_owned();
    let ep = crate::transport::Endpoint::new(&dir, "xproc").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "transport::windows::tests_shm::child_echo_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = patience();
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        // The child binds its listener at its own pace: retry "not found"
        // (bounded by the deadline) instead of guessing a delay.
        let mut c = loop {
            match ClientSession::connect(&ep, &shm_client(ALL, profile), deadline, None) {
                Ok(c) => break c,
                Err(Error::NotFound) => {
                    assert!(deadline.remaining().is_ok(), "child never listened");
                    thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("{e:?}"),
            }
        };
        assert_eq!(c.selected_profile(), profile);
        assert!(c.is_shm());
        for i in 0..300u32 {
            let q = [i.to_le_bytes(), (!i).to_le_bytes()].concat();
            let r = c.call(CODE, &q, patience(), None).unwrap();
            let mut want = q.clone();
            want.reverse();
            assert_eq!(r.payload, &want[..]);
        }
        let full = vec![7u8; 4096];
        assert_eq!(
            c.call(CODE, &full, patience(), None).unwrap().payload,
            &full[..]
        );
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {status:?}");
}
