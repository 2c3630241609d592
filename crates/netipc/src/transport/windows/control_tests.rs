//! Session control across threads on Named Pipes: the shutdown handle
//! (stop receiving, close), the client liveness probe, and the final
//! error reply to a request that ended the session (run under Wine by
//! `scripts/windows-tests.sh`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::error::{Error, Limit};
use crate::protocol::{HEADER_LEN, STATUS_LIMIT_EXCEEDED, STATUS_OK};
use crate::transport::handshake::encode_hello;
use crate::transport::{Deadline, Endpoint};
use crate::wire::Header;

const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;
const CODE: u16 = 7;

fn patience() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

fn endpoint(tag: &str) -> Endpoint {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = format!(
        r"C:\netipc-control-tests\{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Endpoint::new(dir, tag).unwrap()
}

fn server_cfg() -> ServerConfig {
    ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn client_cfg() -> ClientConfig {
    ClientConfig {
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// A connected (client, server) session pair.
fn pair(tag: &str) -> (ClientSession, ServerSession) {
    let ep = endpoint(tag);
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        pending.handshake(&server_cfg(), patience(), None).unwrap()
    });
    let c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    (c, server.join().unwrap())
}

#[test]
fn stop_receiving_wakes_an_idle_receive_from_another_thread() {
    let (mut c, mut s) = pair("stop-idle");
    let h = s.shutdown_handle().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || {
        tx.send(()).unwrap();
        let e = s.recv_request(Deadline::NEVER, None).unwrap_err();
        (s, e)
    });
    rx.recv().unwrap();
    h.stop_receiving();
    let (s, e) = server.join().unwrap();
    assert!(matches!(e, Error::Aborted), "{e:?}");
    assert!(!s.is_broken());
    // The handle's duplicate keeps the pipe open until it goes too.
    drop(s);
    drop(h);
    let e = c.call(CODE, b"x", patience(), None).unwrap_err();
    assert!(matches!(e, Error::PeerClosed), "{e:?}");
}

#[test]
fn stop_receiving_still_reads_a_waiting_request_and_lets_the_answer_go() {
    let (mut c, mut s) = pair("stop-busy");
    let h = s.shutdown_handle().unwrap();
    let id = c.next_message_id();
    c.send_request(CODE, id, b"queued").unwrap();
    h.stop_receiving();
    let req = s.recv_request(patience(), None).unwrap();
    assert_eq!(req.payload, b"queued");
    s.send_response(CODE, id, b"answer").unwrap();
    let e = s.recv_request(patience(), None).unwrap_err();
    assert!(matches!(e, Error::Aborted), "{e:?}");
    let r = c.recv_response(patience(), None).unwrap();
    assert_eq!(r.header.transport_status, STATUS_OK);
    assert_eq!(r.payload, b"answer");
}

#[test]
fn close_ends_a_blocked_receive_and_the_client_sees_it() {
    let (mut c, mut s) = pair("close");
    let h = s.shutdown_handle().unwrap();
    let (tx, rx) = mpsc::channel();
    let server = thread::spawn(move || {
        tx.send(()).unwrap();
        s.recv_request(Deadline::NEVER, None).unwrap_err()
    });
    rx.recv().unwrap();
    h.close();
    let e = server.join().unwrap();
    assert!(matches!(e, Error::Aborted | Error::PeerClosed), "{e:?}");
    assert!(c.peer_gone());
    let e = c.call(CODE, b"x", patience(), None).unwrap_err();
    assert!(matches!(e, Error::PeerClosed), "{e:?}");
}

#[test]
fn peer_gone_probes_hang_up_and_unsolicited_data() {
    let (c, s) = pair("probe");
    assert!(!c.peer_gone());
    drop(s);
    assert!(c.peer_gone());

    let (c, mut s) = pair("probe-data");
    assert!(!c.peer_gone());
    s.send_response(CODE, 99, b"unasked").unwrap();
    assert!(c.peer_gone());
}

#[test]
fn a_request_over_the_budget_gets_a_final_error_reply() {
    let ep = endpoint("final");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&server_cfg(), patience(), None).unwrap();
        assert!(matches!(
            s.send_final_error(STATUS_LIMIT_EXCEEDED),
            Err(Error::InvalidState(_))
        ));
        let e = s.recv_request(patience(), None).unwrap_err();
        let header = s.last_request_header();
        s.send_final_error(STATUS_LIMIT_EXCEEDED).unwrap();
        (e, header)
    });
    // A raw client: announce a small request budget, then send more.
    let pipe = super::session::open_pipe(&ep, patience(), None).unwrap();
    let cfg = ClientConfig {
        max_request_payload_bytes: 64,
        ..client_cfg()
    };
    pipe.write(&encode_hello(&cfg.hello()), patience()).unwrap();
    let mut buf = vec![0u8; 4096];
    pipe.read(&mut buf, patience(), None).unwrap();
    let mut msg = Header::request(CODE, 5, 100).encode().to_vec();
    msg.extend_from_slice(&[0u8; 100]);
    pipe.write(&msg, patience()).unwrap();
    let got = pipe.read(&mut buf, patience(), None).unwrap();
    assert_eq!(got.n, HEADER_LEN);
    let reply = Header::decode(&buf[..got.n]).unwrap();
    assert_eq!(reply.transport_status, STATUS_LIMIT_EXCEEDED);
    assert_eq!((reply.code, reply.message_id), (CODE, 5));

    let (e, header) = server.join().unwrap();
    assert!(
        matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::RequestPayload,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(header.map(|h| h.message_id), Some(5));
}
