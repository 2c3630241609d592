//! Named Pipe sessions end to end (run under Wine by
//! `scripts/windows-tests.sh`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::error::Error;
use crate::protocol::STATUS_OK;
use crate::transport::{AbortHandle, Deadline, Endpoint};

pub(super) const TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;
pub(super) const CODE: u16 = 7;

pub(super) fn patience() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

/// A fresh endpoint per test (the run dir is only hashed, never created).
pub(super) fn endpoint(tag: &str) -> Endpoint {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = format!(
        r"C:\netipc-tests\{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Endpoint::new(dir, tag).unwrap()
}

pub(super) fn server_cfg() -> ServerConfig {
    ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

pub(super) fn client_cfg() -> ClientConfig {
    ClientConfig {
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// Serves one client: echoes every request until the client leaves.
/// Returns the number of requests answered.
pub(super) fn echo_server(
    listener: Listener,
    cfg: ServerConfig,
) -> thread::JoinHandle<crate::Result<u32>> {
    thread::spawn(move || {
        let pending = listener.accept(patience(), None)?;
        let mut s = pending.handshake(&cfg, patience(), None)?;
        let mut n = 0;
        loop {
            let req = match s.recv_request(Deadline::NEVER, None) {
                Ok(r) => r,
                Err(Error::PeerClosed) => return Ok(n),
                Err(e) => return Err(e),
            };
            let (code, id, answer) = (req.header.code, req.header.message_id, req.payload.to_vec());
            s.send_response(code, id, &answer)?;
            n += 1;
        }
    })
}

#[test]
fn round_trip() {
    let ep = endpoint("round-trip");
    assert!(ep.pipe_name().starts_with(r"\\.\pipe\netipc-"));
    let server = echo_server(Listener::bind(&ep).unwrap(), server_cfg());
    let mut c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    assert_eq!(c.selected_profile(), crate::protocol::PROFILE_BASELINE);
    assert_eq!(c.packet_size(), DEFAULT_PACKET_SIZE);
    assert_eq!(c.session_id(), 1);
    for i in 0..5u8 {
        let payload = vec![i; 10 + usize::from(i)];
        let r = c.call(CODE, &payload, patience(), None).unwrap();
        assert_eq!(r.header.transport_status, STATUS_OK);
        assert_eq!(r.header.code, CODE);
        assert_eq!(r.payload, &payload[..]);
    }
    // Pipelined: three requests, then three responses.
    let ids: Vec<u64> = (0..3).map(|_| c.next_message_id()).collect();
    for (k, id) in ids.iter().enumerate() {
        c.send_request(CODE, *id, &[k as u8; 3]).unwrap();
    }
    assert_eq!(c.in_flight().len(), 3);
    for id in &ids {
        let r = c.recv_response(patience(), None).unwrap();
        assert_eq!(r.header.message_id, *id);
    }
    assert!(c.in_flight().is_empty());
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), 8);
}

#[test]
fn batches_round_trip_item_by_item() {
    let ep = endpoint("batch");
    let listener = Listener::bind(&ep).unwrap();
    let scfg = ServerConfig {
        packet_size: 256,
        ..server_cfg()
    };
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&scfg, patience(), None).unwrap();
        for _ in 0..2 {
            let req = s.recv_request(patience(), None).unwrap();
            let (code, id) = (req.header.code, req.header.message_id);
            // Answer each item reversed, by position.
            let answers: Vec<Vec<u8>> = req
                .items()
                .map(|it| it.iter().rev().copied().collect())
                .collect();
            let refs: Vec<&[u8]> = answers.iter().map(Vec::as_slice).collect();
            s.send_batch_response(code, id, &refs).unwrap();
        }
    });
    let ccfg = ClientConfig {
        max_request_batch_items: 16,
        max_response_batch_items: 16,
        ..client_cfg()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    assert_eq!(c.request_limits().max_items, 16);
    // Enough items for a chunked batch at packet size 256.
    let items: Vec<Vec<u8>> = (0..12u8)
        .map(|i| {
            (0..20u8)
                .map(|k| i.wrapping_mul(7).wrapping_add(k))
                .collect()
        })
        .collect();
    let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    let r = c.call_batch(CODE, &refs, patience(), None).unwrap();
    assert!(r.batch().is_some());
    assert!(r.payload.len() > 256, "the batch must travel chunked");
    assert_eq!(r.item_count(), 12);
    for (got, sent) in r.items().zip(&items) {
        let want: Vec<u8> = sent.iter().rev().copied().collect();
        assert_eq!(got, &want[..]);
    }
    // One item travels as a plain message.
    let r = c.call_batch(CODE, &[b"abc"], patience(), None).unwrap();
    assert!(r.batch().is_none());
    assert_eq!(r.payload, b"cba");
    server.join().unwrap();
}

#[test]
fn wrong_token_is_rejected_on_both_sides() {
    let ep = endpoint("auth");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None)?;
        pending
            .handshake(&server_cfg(), patience(), None)
            .map(|_| ())
    });
    let cfg = ClientConfig {
        auth_token: TOKEN ^ 1,
        ..ClientConfig::default()
    };
    let e = ClientSession::connect(&ep, &cfg, patience(), None).unwrap_err();
    assert!(matches!(e, Error::AuthFailed), "{e:?}");
    let e = server.join().unwrap().unwrap_err();
    assert!(matches!(e, Error::AuthFailed), "{e:?}");
}

#[test]
fn unsupported_profile_is_rejected() {
    let ep = endpoint("profile");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None)?;
        pending
            .handshake(&server_cfg(), patience(), None)
            .map(|_| ())
    });
    // A client-side config this implementation refuses before connecting.
    let bad = ClientConfig {
        supported_profiles: crate::protocol::PROFILE_SHM_WAITADDR,
        preferred_profiles: crate::protocol::PROFILE_SHM_WAITADDR,
        ..client_cfg()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &bad, patience(), None),
        Err(Error::InvalidArgument(_))
    ));
    // Let the server finish with a good client.
    let c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    server.join().unwrap().unwrap();
    drop(c);
}

#[test]
fn chunked_large_messages_both_ways() {
    let ep = endpoint("chunked");
    let big = 1 << 20;
    let scfg = ServerConfig {
        packet_size: 4096,
        max_request_payload_bytes: big,
        max_response_payload_bytes: big,
        ..server_cfg()
    };
    let server = echo_server(Listener::bind_with_buffer_size(&ep, 4096).unwrap(), scfg);
    let ccfg = ClientConfig {
        packet_size: 8192,
        max_request_payload_bytes: big,
        max_response_payload_bytes: big,
        ..client_cfg()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    assert_eq!(c.packet_size(), 4096, "the smaller proposal wins");
    // 300 KB: 75 packets each way; an exact multiple of the chunk size;
    // one byte over a single packet.
    for len in [300_000usize, (4096 - 32) * 7, 4096 - 32 + 1] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let r = c.call(CODE, &payload, patience(), None).unwrap();
        assert_eq!(r.payload.len(), len);
        assert!(
            r.payload == &payload[..],
            "payload of {len} bytes corrupted"
        );
    }
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), 3);
}

#[test]
fn receive_timeout_and_abort_leave_the_session_usable() {
    let ep = endpoint("timeout");
    let server = echo_server(Listener::bind(&ep).unwrap(), server_cfg());
    let mut c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();

    // Nothing in flight: the receive waits for the deadline.
    let t0 = Instant::now();
    let e = c
        .recv_response(Deadline::after(Duration::from_millis(100)), None)
        .unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(t0.elapsed() >= Duration::from_millis(100));
    assert!(!c.is_broken());

    // An abort from another thread wakes the wait.
    let abort = AbortHandle::new().unwrap();
    let a2 = abort.clone();
    let trigger = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        a2.trigger();
    });
    let e = c.recv_response(patience(), Some(&abort)).unwrap_err();
    assert!(matches!(e, Error::Aborted), "{e:?}");
    trigger.join().unwrap();
    assert!(!c.is_broken());
    abort.clear();

    let r = c
        .call(CODE, b"still here", patience(), Some(&abort))
        .unwrap();
    assert_eq!(r.payload, b"still here");
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

#[test]
fn accept_times_out_and_keeps_listening() {
    let ep = endpoint("accept-timeout");
    let listener = Listener::bind(&ep).unwrap();
    let e = listener
        .accept(Deadline::after(Duration::from_millis(50)), None)
        .unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    let server = echo_server(listener, server_cfg());
    let mut c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    assert_eq!(c.call(CODE, b"x", patience(), None).unwrap().payload, b"x");
    drop(c);
    server.join().unwrap().unwrap();
}

#[test]
fn no_server_is_not_found() {
    let ep = endpoint("missing");
    let e = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap_err();
    assert!(matches!(e, Error::NotFound), "{e:?}");
}

// Wine 8.0 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (the second
// CreateNamedPipeW succeeds); the listener's existence probe catches it
// there, the flag settles races on real Windows.
#[test]
fn a_second_server_is_address_in_use_until_the_first_is_gone() {
    let ep = endpoint("taken");
    let first = Listener::bind(&ep).unwrap();
    let e = Listener::bind(&ep).unwrap_err();
    assert!(matches!(e, Error::AddressInUse), "{e:?}");
    drop(first);
    // Pipes leave nothing behind: the name is free again at once.
    let again = Listener::bind(&ep).unwrap();
    drop(again);
}

#[test]
fn peer_close_is_reported_and_breaks_the_session() {
    let ep = endpoint("peer-close");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&server_cfg(), patience(), None).unwrap();
        let _ = s.recv_request(patience(), None).unwrap();
        // Leave without answering.
    });
    let mut c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    let e = c.call(CODE, b"anyone?", patience(), None).unwrap_err();
    assert!(matches!(e, Error::PeerClosed), "{e:?}");
    assert!(c.is_broken());
    assert!(matches!(
        c.call(CODE, b"again", patience(), None),
        Err(Error::InvalidState(_))
    ));
    server.join().unwrap();
}

#[test]
fn several_clients_get_distinct_sessions() {
    let ep = endpoint("multi");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let mut workers = Vec::new();
        for _ in 0..3 {
            let pending = listener.accept(patience(), None).unwrap();
            workers.push(thread::spawn(move || {
                let mut s = pending.handshake(&server_cfg(), patience(), None).unwrap();
                let req = s.recv_request(patience(), None).unwrap();
                let (id, sid) = (req.header.message_id, s.session_id());
                s.send_response(CODE, id, &sid.to_le_bytes()).unwrap();
            }));
        }
        for w in workers {
            w.join().unwrap();
        }
    });
    let mut sids = Vec::new();
    let clients: Vec<_> = (0..3)
        .map(|_| ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap())
        .collect();
    for mut c in clients {
        let r = c.call(CODE, b"who", patience(), None).unwrap();
        let sid = u64::from_le_bytes(r.payload.try_into().unwrap());
        assert_eq!(sid, c.session_id());
        sids.push(sid);
    }
    sids.sort_unstable();
    sids.dedup();
    assert_eq!(sids.len(), 3);
    server.join().unwrap();
}

// ---- Hostile peers: raw pipe ends that skip or bend the protocol. ----

use super::pipe::Pipe;
use crate::error::{DecodeError, Violation};
use crate::protocol::{HEADER_LEN, STATUS_INCOMPATIBLE};
use crate::transport::handshake::{HELLO_ACK_MSG_LEN, encode_hello};
use crate::wire::{ChunkHeader, Header};

/// A connected client pipe that has not sent anything.
fn raw_client(ep: &Endpoint) -> Pipe {
    super::session::open_pipe(ep, patience(), None).unwrap()
}

#[test]
fn malformed_hello_is_dropped_and_a_wrong_version_rejected() {
    let ep = endpoint("bad-hello");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        (0..2)
            .map(|_| {
                let pending = listener.accept(patience(), None).unwrap();
                pending
                    .handshake(&server_cfg(), patience(), None)
                    .unwrap_err()
            })
            .collect::<Vec<_>>()
    });

    // Garbage of HELLO length: closed without an answer.
    let c = raw_client(&ep);
    let hello = encode_hello(&client_cfg().hello());
    c.write(&vec![0xA5; hello.len()], patience()).unwrap();
    let mut buf = [0u8; 256];
    let e = c.read(&mut buf, patience(), None).unwrap_err();
    assert!(matches!(e, Error::PeerClosed), "{e:?}");
    drop(c);

    // A HELLO with a future header version: answered INCOMPATIBLE.
    let c = raw_client(&ep);
    let mut msg = hello;
    msg[4..6].copy_from_slice(&99u16.to_le_bytes());
    c.write(&msg, patience()).unwrap();
    let got = c.read(&mut buf, patience(), None).unwrap();
    assert_eq!(got.n, HELLO_ACK_MSG_LEN);
    let h = Header::decode(&buf[..got.n]).unwrap();
    assert_eq!(h.transport_status, STATUS_INCOMPATIBLE);
    drop(c);

    let errors = server.join().unwrap();
    assert!(
        matches!(errors[0], Error::Decode(DecodeError::BadMagic { .. })),
        "{:?}",
        errors[0]
    );
    assert!(matches!(errors[1], Error::Incompatible), "{:?}", errors[1]);
}

#[test]
fn client_handshake_times_out_against_a_silent_server() {
    let ep = endpoint("silent");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        thread::sleep(Duration::from_millis(500));
        drop(pending);
    });
    let t0 = Instant::now();
    let e = ClientSession::connect(
        &ep,
        &client_cfg(),
        Deadline::after(Duration::from_millis(100)),
        None,
    )
    .unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(t0.elapsed() < Duration::from_millis(450));
    server.join().unwrap();
}

/// Runs `misbehave` as the server of one session (packet size 4096,
/// response budget 64 KiB, so only the packet rules can be broken) after
/// the client's first request arrived; returns the client's error and
/// whether its session ended.
fn against_hostile_server(
    tag: &str,
    misbehave: impl FnOnce(&Pipe, u64) + Send + 'static,
) -> (Error, bool) {
    let ep = endpoint(tag);
    let listener = Listener::bind(&ep).unwrap();
    let scfg = ServerConfig {
        packet_size: 4096,
        max_response_payload_bytes: 65536,
        ..server_cfg()
    };
    let ccfg = ClientConfig {
        max_response_payload_bytes: 65536,
        ..client_cfg()
    };
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&scfg, patience(), None).unwrap();
        let id = s.recv_request(patience(), None).unwrap().header.message_id;
        misbehave(s.raw_pipe(), id);
        // Keep the pipe open until the client has judged the bytes.
        thread::sleep(Duration::from_millis(200));
    });
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    assert_eq!(c.packet_size(), 4096);
    assert_eq!(c.response_limits().max_payload, 65536);
    let e = c.call(CODE, b"q", patience(), None).unwrap_err();
    let broken = c.is_broken();
    server.join().unwrap();
    (e, broken)
}

#[test]
fn a_chunk_of_another_message_breaks_the_session() {
    let (e, broken) = against_hostile_server("chunk-id", |p, id| {
        let per = 4096 - HEADER_LEN;
        let len = per + 10;
        let mut first = Header::response(CODE, id, len as u32).encode().to_vec();
        first.extend(std::iter::repeat_n(1u8, per));
        p.write(&first, patience()).unwrap();
        let mut next = ChunkHeader {
            message_id: id + 1,
            total_message_len: (HEADER_LEN + len) as u32,
            chunk_index: 1,
            chunk_count: 2,
            chunk_payload_len: 10,
        }
        .encode()
        .to_vec();
        next.extend([2u8; 10]);
        p.write(&next, patience()).unwrap();
    });
    assert!(
        matches!(e, Error::Protocol(Violation::ChunkMessageId)),
        "{e:?}"
    );
    assert!(broken);
}

#[test]
fn a_packet_over_the_agreed_size_breaks_the_session() {
    let (e, broken) = against_hostile_server("oversize", |p, id| {
        let len = 5000;
        let mut msg = Header::response(CODE, id, len as u32).encode().to_vec();
        msg.extend(std::iter::repeat_n(3u8, len));
        p.write(&msg, patience()).unwrap();
    });
    assert!(
        matches!(e, Error::Protocol(Violation::PacketLength)),
        "{e:?}"
    );
    assert!(broken);
}

#[test]
fn a_short_single_packet_breaks_the_session() {
    let (e, broken) = against_hostile_server("short", |p, id| {
        // Announces 100 payload bytes, carries 10.
        let mut msg = Header::response(CODE, id, 100).encode().to_vec();
        msg.extend([4u8; 10]);
        p.write(&msg, patience()).unwrap();
    });
    assert!(
        matches!(e, Error::Protocol(Violation::PacketLength)),
        "{e:?}"
    );
    assert!(broken);
}

#[test]
fn a_response_to_an_unknown_message_id_breaks_the_session() {
    let (e, broken) = against_hostile_server("unknown-id", |p, id| {
        let msg = Header::response(CODE, id + 5, 0).encode();
        p.write(&msg, patience()).unwrap();
    });
    assert!(
        matches!(e, Error::Protocol(Violation::UnknownMessageId)),
        "{e:?}"
    );
    assert!(broken);
}

#[test]
fn a_disconnect_mid_message_is_peer_closed() {
    let (e, broken) = against_hostile_server("mid-stream", |p, id| {
        // The first packet of a two-packet message, then nothing.
        let per = 4096 - HEADER_LEN;
        let mut first = Header::response(CODE, id, (per + 1) as u32)
            .encode()
            .to_vec();
        first.extend(std::iter::repeat_n(5u8, per));
        p.write(&first, patience()).unwrap();
    });
    // The hostile server closes 200 ms after its last write.
    assert!(matches!(e, Error::PeerClosed), "{e:?}");
    assert!(broken);
}

#[test]
fn out_of_order_responses_are_matched_by_message_id() {
    let ep = endpoint("reorder");
    let listener = Listener::bind(&ep).unwrap();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let mut s = pending.handshake(&server_cfg(), patience(), None).unwrap();
        let mut reqs = Vec::new();
        for _ in 0..4 {
            let r = s.recv_request(patience(), None).unwrap();
            reqs.push((r.header.message_id, r.payload.to_vec()));
        }
        for (id, payload) in reqs.iter().rev() {
            s.send_response(CODE, *id, payload).unwrap();
        }
    });
    let mut c = ClientSession::connect(&ep, &client_cfg(), patience(), None).unwrap();
    let ids: Vec<u64> = (0..4).map(|_| c.next_message_id()).collect();
    for id in &ids {
        c.send_request(CODE, *id, &id.to_le_bytes()).unwrap();
    }
    // A duplicate id while in flight is refused locally.
    assert!(c.send_request(CODE, ids[0], b"dup").is_err());
    assert!(!c.is_broken());
    for want in ids.iter().rev() {
        let r = c.recv_response(patience(), None).unwrap();
        assert_eq!(r.header.message_id, *want);
        assert_eq!(r.payload, &want.to_le_bytes()[..]);
    }
    server.join().unwrap();
}

#[test]
fn a_request_budget_over_the_servers_is_limit_exceeded() {
    let ep = endpoint("budget");
    let listener = Listener::bind(&ep).unwrap();
    let scfg = ServerConfig {
        max_request_payload_bytes: 1000,
        ..server_cfg()
    };
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        pending.handshake(&scfg, patience(), None).map(|_| ())
    });
    let ccfg = ClientConfig {
        max_request_payload_bytes: 1001,
        ..client_cfg()
    };
    let e = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap_err();
    assert!(
        matches!(e, Error::LimitExceeded { actual: 1001, .. }),
        "{e:?}"
    );
    let e = server.join().unwrap().unwrap_err();
    assert!(matches!(e, Error::LimitExceeded { .. }), "{e:?}");
}

#[test]
fn a_send_timeout_bounds_a_blocked_write() {
    let ep = endpoint("send-timeout");
    let listener = Listener::bind_with_buffer_size(&ep, 4096).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let pending = listener.accept(patience(), None).unwrap();
        let s = pending.handshake(&server_cfg(), patience(), None).unwrap();
        // Never read; hold the session until the client is done.
        let _ = rx.recv();
        drop(s);
    });
    let ccfg = ClientConfig {
        max_in_flight: 65536,
        ..client_cfg()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    c.set_send_timeout(Some(Duration::from_millis(100)));
    let payload = vec![9u8; 1000];
    let t0 = Instant::now();
    let mut result = Ok(());
    for _ in 0..10_000 {
        let id = c.next_message_id();
        result = c.send_request(CODE, id, &payload);
        if result.is_err() {
            break;
        }
    }
    let e = result.unwrap_err();
    assert!(matches!(e, Error::Timeout), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    tx.send(()).unwrap();
    server.join().unwrap();
}

/// Sixteen 16 KiB requests written before any response is read: what the
/// pipe buffers queue ([`PIPE_BUFFER_SIZE`] each way) keeps both writers
/// moving (64 KiB buffers stalled client and server against each other).
#[test]
fn deep_pipeline_of_large_messages_does_not_stall() {
    let ep = endpoint("deep-pipeline");
    let scfg = ServerConfig {
        max_request_payload_bytes: 32 * 1024,
        max_response_payload_bytes: 32 * 1024,
        ..server_cfg()
    };
    let server = echo_server(Listener::bind(&ep).unwrap(), scfg);
    let ccfg = ClientConfig {
        max_request_payload_bytes: 32 * 1024,
        max_response_payload_bytes: 32 * 1024,
        ..client_cfg()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    let ids: Vec<u64> = (0..16).map(|_| c.next_message_id()).collect();
    for (k, id) in ids.iter().enumerate() {
        c.send_request(CODE, *id, &vec![k as u8; 16 * 1024])
            .unwrap();
    }
    for (k, id) in ids.iter().enumerate() {
        let r = c.recv_response(patience(), None).unwrap();
        assert_eq!(r.header.message_id, *id);
        assert_eq!(r.payload.len(), 16 * 1024);
        assert!(r.payload.iter().all(|&b| b == k as u8));
    }
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), 16);
}

/// Pipelining more than the pipe buffers hold ([`PIPE_BUFFER_SIZE`] each
/// way), without reading, against a server that answers in order: the
/// client's write stays pending while it takes the answers ahead, so
/// neither side waits on the other forever (this timed out before).
#[test]
fn pipelining_past_the_pipe_buffers_does_not_deadlock() {
    const N: usize = 48;
    const SIZE: usize = 60_000;
    let ep = endpoint("deeper-pipeline");
    let scfg = ServerConfig {
        max_request_payload_bytes: 64 * 1024,
        max_response_payload_bytes: 64 * 1024,
        ..server_cfg()
    };
    let server = echo_server(Listener::bind(&ep).unwrap(), scfg);
    let ccfg = ClientConfig {
        max_request_payload_bytes: 64 * 1024,
        max_response_payload_bytes: 64 * 1024,
        ..client_cfg()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, patience(), None).unwrap();
    // A regression fails with a time-out instead of hanging the suite.
    c.set_send_timeout(Some(Duration::from_secs(30)));
    let payload = |k: usize| -> Vec<u8> { (0..SIZE).map(|i| (i * 7 + k) as u8).collect() };
    let ids: Vec<u64> = (0..N).map(|_| c.next_message_id()).collect();
    for (k, id) in ids.iter().enumerate() {
        c.send_request(CODE, *id, &payload(k)).unwrap();
    }
    for (k, id) in ids.iter().enumerate() {
        let r = c.recv_response(patience(), None).unwrap();
        assert_eq!(r.header.message_id, *id);
        assert!(r.payload == &payload(k)[..], "answer {k} differs");
    }
    drop(c);
    assert_eq!(server.join().unwrap().unwrap(), N as u32);
}
