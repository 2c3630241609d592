//! The platform-neutral session controls every transport provides, over
//! the `transport` seam (UDS and SHM on Linux, Named Pipes on Windows):
//! the server session's shutdown handle (stop receiving, close) used by
//! the managed server's `stop()`, and the client's liveness probe.

#[path = "support/mod.rs"]
mod support;

use std::sync::mpsc;
use std::thread;

use netipc::Error;
use netipc::transport::{
    ClientConfig, ClientSession, Deadline, Listener, ServerConfig, ServerSession,
};

use support::{PLANES, Plane, TOKEN, TestDir, soon};

const CODE: u16 = 7;

/// A connected (client, server) session pair over `plane`.
fn pair(dir: &TestDir, plane: Plane) -> (ClientSession, ServerSession) {
    let (supported, preferred) = plane.profiles();
    let ep = dir.endpoint("ctl");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let cfg = ServerConfig {
            supported_profiles: supported,
            preferred_profiles: preferred,
            auth_token: TOKEN,
            ..ServerConfig::default()
        };
        let pending = listener.accept(soon(), None).unwrap();
        pending.handshake(&cfg, soon(), None).unwrap()
    });
    let cfg = ClientConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        auth_token: TOKEN,
        ..ClientConfig::default()
    };
    let c = ClientSession::connect(&ep, &cfg, soon(), None).unwrap();
    let s = server.join().unwrap();
    assert_eq!(c.is_shm(), plane.is_shm(), "{plane:?}");
    (c, s)
}

#[test]
fn stop_receiving_ends_an_idle_receive_from_another_thread() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (mut c, mut s) = pair(&dir, plane);
        let h = s.shutdown_handle().unwrap();
        let (tx, rx) = mpsc::channel();
        let server = thread::spawn(move || {
            tx.send(()).unwrap();
            let e = s.recv_request(Deadline::NEVER, None).unwrap_err();
            drop(s);
            e
        });
        rx.recv().unwrap();
        h.stop_receiving();
        let e = server.join().unwrap();
        assert!(
            matches!(e, Error::PeerClosed | Error::Aborted),
            "{plane:?}: {e:?}"
        );
        drop(h);
        assert!(c.call(CODE, b"x", soon(), None).is_err(), "{plane:?}");
    }
}

#[test]
fn stop_receiving_reads_a_waiting_request_and_lets_its_answer_go() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (mut c, mut s) = pair(&dir, plane);
        let h = s.shutdown_handle().unwrap();
        let id = c.next_message_id();
        c.send_request(CODE, id, b"queued").unwrap();
        h.stop_receiving();
        let req = s.recv_request(soon(), None).unwrap();
        assert_eq!(req.payload, b"queued", "{plane:?}");
        s.send_response(CODE, id, b"answer").unwrap();
        let e = s.recv_request(soon(), None).unwrap_err();
        assert!(
            matches!(e, Error::PeerClosed | Error::Aborted),
            "{plane:?}: {e:?}"
        );
        let r = c.recv_response(soon(), None).unwrap();
        assert_eq!(r.payload, b"answer", "{plane:?}");
    }
}

#[test]
fn close_ends_the_session_for_both_sides() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (mut c, mut s) = pair(&dir, plane);
        if cfg!(unix) {
            assert_eq!(dir.shm_files().len(), usize::from(plane.is_shm()));
        }
        let h = s.shutdown_handle().unwrap();
        h.close();
        // The SHM region file (Linux) goes at once, with the session alive
        // (Win SHM has no file).
        assert!(dir.shm_files().is_empty(), "{plane:?}");
        assert!(s.recv_request(soon(), None).is_err(), "{plane:?}");
        assert!(c.peer_gone(), "{plane:?}");
        assert!(c.call(CODE, b"x", soon(), None).is_err(), "{plane:?}");
    }
}

#[test]
fn peer_gone_probes_hang_up() {
    for &plane in PLANES {
        let dir = TestDir::new();
        let (c, s) = pair(&dir, plane);
        assert!(!c.peer_gone(), "{plane:?}");
        assert!(!c.peer_gone(), "{plane:?}: the probe consumes nothing");
        drop(s);
        assert!(c.peer_gone(), "{plane:?}");
    }
}
