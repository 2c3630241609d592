//! Integration tests of the UDS transport through the public API, with
//! raw SEQPACKET peers for the hostile and captured-bytes cases.

// Runs over the Unix transports (UDS / POSIX SHM).
#![cfg(unix)]

#[path = "support/mod.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use netipc::protocol::*;
use netipc::transport::uds::{
    ClientConfig, ClientSession, HELLO_ACK_MSG_LEN, Listener, ServerConfig,
};
use netipc::transport::{AbortHandle, Deadline};
use netipc::wire::{ChunkHeader, Header, HelloAck};
use netipc::{DecodeError, Error, Limit, Violation};

use support::conformance::{captured, captured_packets};
use support::raw::*;
use support::test_server::*;
use support::{PATIENCE, TOKEN, TestDir, soon};

fn client_config() -> ClientConfig {
    ClientConfig {
        auth_token: TOKEN,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        ..ClientConfig::default()
    }
}

fn connect(ep: &netipc::transport::Endpoint) -> ClientSession {
    ClientSession::connect(ep, &client_config(), soon(), None).unwrap()
}

// ---------------------------------------------------------------- capture

#[test]
fn conformance_server_answers_captured_hellos() {
    let dir = TestDir::new();
    let ep = dir.endpoint("cgroups-snapshot");
    let listener = Listener::bind(&ep).unwrap();
    let cfg = base_server_config();

    // Connection 1: wrong token, consumes session id 1.
    let raw = raw_connect(&ep.socket_path());
    let pending = listener.accept(soon(), None).unwrap();
    assert_eq!(pending.session_id(), 1);
    assert!(raw_send(&raw, &captured("msg_hello_wrong_token.bin")));
    assert!(matches!(
        pending.handshake(&cfg, soon(), None),
        Err(Error::AuthFailed)
    ));
    assert_eq!(
        raw_recv(&raw).unwrap(),
        captured("msg_hello_ack_auth_failed.bin")
    );
    assert_eq!(raw_recv(&raw), None, "closed after the rejection");

    // Connection 2: accepted with session id 2, packet size 128.
    let raw = raw_connect(&ep.socket_path());
    let pending = listener.accept(soon(), None).unwrap();
    assert!(raw_send(&raw, &captured("msg_hello_pkt128.bin")));
    let mut s = pending.handshake(&cfg, soon(), None).unwrap();
    assert_eq!(
        raw_recv(&raw).unwrap(),
        captured("msg_hello_ack_ok_pkt128.bin")
    );
    assert_eq!(s.session_id(), 2);
    assert_eq!(s.packet_size(), 128);

    // The captured request, answered with the captured chunked response.
    let req = captured("msg_snapshot_req.bin");
    assert!(raw_send(&raw, &req));
    let m = s.recv_request(soon(), None).unwrap();
    assert_eq!(m.header.code, METHOD_CGROUPS_SNAPSHOT);
    assert_eq!(m.header.message_id, 1);
    assert_eq!(m.payload, &req[32..]);
    let payload = captured("chunked_snapshot_resp/payload.bin");
    s.send_response(METHOD_CGROUPS_SNAPSHOT, 1, &payload)
        .unwrap();
    for (i, want) in captured_packets().iter().enumerate() {
        assert_eq!(&raw_recv(&raw).unwrap(), want, "packet {i}");
    }
}

#[test]
fn conformance_client_speaks_captured_bytes() {
    let dir = TestDir::new();
    let ep = dir.endpoint("cgroups-snapshot");
    let lfd = raw_listen(&ep.socket_path());
    let cfg = ClientConfig {
        packet_size: 128,
        ..client_config()
    };
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let mut c = ClientSession::connect(&ep2, &cfg, soon(), None).unwrap();
        assert_eq!(c.session_id(), 2);
        assert_eq!(c.packet_size(), 128);
        let req = captured("msg_snapshot_req.bin");
        c.send_request(METHOD_CGROUPS_SNAPSHOT, 1, &req[32..])
            .unwrap();
        let m = c.recv_response(soon(), None).unwrap();
        assert_eq!(
            m.payload,
            &captured("chunked_snapshot_resp/payload.bin")[..]
        );
        assert_eq!(m.header.message_id, 1);
    });
    let s = raw_accept(&lfd);
    assert_eq!(raw_recv(&s).unwrap(), captured("msg_hello_pkt128.bin"));
    assert!(raw_send(&s, &captured("msg_hello_ack_ok_pkt128.bin")));
    assert_eq!(raw_recv(&s).unwrap(), captured("msg_snapshot_req.bin"));
    for p in captured_packets() {
        assert!(raw_send(&s, &p));
    }
    client.join().unwrap();

    // The captured rejection maps to AuthFailed.
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let cfg = ClientConfig {
            auth_token: TOKEN + 1,
            packet_size: 65536,
            ..client_config()
        };
        ClientSession::connect(&ep2, &cfg, soon(), None).unwrap_err()
    });
    let s = raw_accept(&lfd);
    let hello = raw_recv(&s).unwrap();
    assert_eq!(hello.len(), 76);
    assert!(raw_send(&s, &captured("msg_hello_ack_auth_failed.bin")));
    assert!(matches!(client.join().unwrap(), Error::AuthFailed));
}

// ------------------------------------------------------------ round trips

#[test]
fn round_trips_single_and_chunked() {
    let dir = TestDir::new();
    let ep = dir.endpoint("echo");
    let cfg = ServerConfig {
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 1 << 20,
        ..base_server_config()
    };
    let server = TestServer::start(&ep, cfg, echo());
    let ccfg = ClientConfig {
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 1 << 20,
        packet_size: 4096,
        ..client_config()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, soon(), None).unwrap();
    assert_eq!(c.selected_profile(), PROFILE_BASELINE);
    assert!(!c.is_shm());
    assert_eq!(c.response_limits().max_payload, 1 << 20);
    for len in [0usize, 1, 4064, 4065, 10_000, 1 << 20] {
        let p: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let m = c.call(METHOD_STRING_REVERSE, &p, soon(), None).unwrap();
        assert_eq!(m.payload.len(), len);
        assert!(m.payload == &p[..]);
    }
    drop(c);
    server.stop();
}

#[test]
fn one_mebibyte_message_at_default_settings() {
    let dir = TestDir::new();
    let ep = dir.endpoint("big");
    let cfg = ServerConfig {
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 1 << 20,
        ..base_server_config()
    };
    let _server = TestServer::start(&ep, cfg, echo());
    let ccfg = ClientConfig {
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 1 << 20,
        ..client_config()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, soon(), None).unwrap();
    // Default packet size: SO_SNDBUF - 32 (or the server's smaller one).
    assert!(c.packet_size() > 32);
    assert!((c.packet_size() as usize) < (1 << 20));
    let p: Vec<u8> = (0..1usize << 20).map(|i| (i * 31 % 256) as u8).collect();
    let m = c.call(1, &p, soon(), None).unwrap();
    assert!(m.payload == &p[..]);
}

#[test]
fn batches_one_two_max_and_size_limit() {
    let dir = TestDir::new();
    let ep = dir.endpoint("batch");
    let max_items = 1000u32;
    let budget = 1000 * 48 + 4096;
    let cfg = ServerConfig {
        max_request_payload_bytes: budget,
        max_response_payload_bytes: budget,
        ..base_server_config()
    };
    let _server = TestServer::start(&ep, cfg, increment());
    let ccfg = ClientConfig {
        max_request_payload_bytes: budget,
        max_request_batch_items: max_items,
        max_response_payload_bytes: budget,
        max_response_batch_items: max_items,
        ..client_config()
    };
    let mut c = ClientSession::connect(&ep, &ccfg, soon(), None).unwrap();
    assert_eq!(c.request_limits().max_items, max_items);
    assert_eq!(c.response_limits().max_items, max_items);
    for n in [1usize, 2, 3, max_items as usize] {
        let vals: Vec<[u8; 8]> = (0..n as u64).map(|v| v.to_ne_bytes()).collect();
        let items: Vec<&[u8]> = vals.iter().map(|v| &v[..]).collect();
        let m = c
            .call_batch(METHOD_INCREMENT, &items, soon(), None)
            .unwrap();
        assert_eq!(m.item_count(), n);
        for (i, it) in m.items().enumerate() {
            assert_eq!(u64::from_ne_bytes(it.try_into().unwrap()), i as u64 + 1);
        }
    }
    // Exactly at the payload limit: a 2-item batch filling the budget.
    let a = vec![7u8; (budget as usize - 16) / 2];
    let b = vec![9u8; budget as usize - 16 - a.len()];
    let echo_dir = TestDir::new();
    let ep2 = echo_dir.endpoint("batch-echo");
    let _echo = TestServer::start(
        &ep2,
        ServerConfig {
            max_request_payload_bytes: budget,
            max_response_payload_bytes: budget,
            ..base_server_config()
        },
        echo(),
    );
    let mut c2 = ClientSession::connect(&ep2, &ccfg, soon(), None).unwrap();
    let m = c2.call_batch(1, &[&a, &b], soon(), None).unwrap();
    assert_eq!(m.header.payload_len, budget);
    assert_eq!(m.item(0).unwrap(), &a[..]);
    assert_eq!(m.item(1).unwrap(), &b[..]);
    // One byte over: refused locally, nothing sent, session intact.
    let b2 = vec![9u8; b.len() + 8];
    assert!(matches!(
        c2.call_batch(1, &[&a, &b2], soon(), None),
        Err(Error::LimitExceeded {
            limit: Limit::RequestPayload,
            ..
        })
    ));
    // Too many items: refused locally.
    let many: Vec<&[u8]> = vec![&[0u8; 8][..]; max_items as usize + 1];
    assert!(matches!(
        c2.call_batch(1, &many, soon(), None),
        Err(Error::LimitExceeded {
            limit: Limit::RequestItems,
            ..
        })
    ));
    assert!(!c2.is_broken());
    assert!(c2.call(1, b"still fine", soon(), None).is_ok());
}

#[test]
fn batch_with_zero_items_is_rejected_by_server() {
    let dir = TestDir::new();
    let ep = dir.endpoint("zero");
    let server = TestServer::start(&ep, base_server_config(), echo());
    let raw = raw_connect(&ep.socket_path());
    assert!(raw_send(&raw, &hello_msg(&base_hello())));
    assert_eq!(raw_recv(&raw).unwrap().len(), HELLO_ACK_MSG_LEN);
    let mut h = Header::request(1, 1, 0);
    h.flags = FLAG_BATCH;
    h.item_count = 0;
    assert!(raw_send(&raw, &h.encode()));
    assert_eq!(raw_recv(&raw), None, "session closed");
    assert!(matches!(server.next_event(), Event::Accepted(1)));
    match server.next_event() {
        Event::Ended(1, e) => assert!(e.contains("EmptyBatch"), "{e}"),
        e => panic!("{e:?}"),
    }
}

// ------------------------------------------------------------- pipelining

#[test]
fn pipelining_with_out_of_order_responses() {
    let dir = TestDir::new();
    let ep = dir.endpoint("pipe");
    let listener = Listener::bind(&ep).unwrap();
    let server = std::thread::spawn(move || {
        let p = listener.accept(soon(), None).unwrap();
        let mut s = p.handshake(&base_server_config(), soon(), None).unwrap();
        let mut got = Vec::new();
        for _ in 0..16 {
            let m = s.recv_request(soon(), None).unwrap();
            got.push((m.header.message_id, m.payload.to_vec()));
        }
        // Answer in reverse order.
        for (id, p) in got.into_iter().rev() {
            s.send_response(1, id, &p).unwrap();
        }
    });
    let mut c = connect(&ep);
    let mut ids = Vec::new();
    for i in 0..16u64 {
        let id = c.next_message_id();
        c.send_request(1, id, &(i * 100).to_ne_bytes()).unwrap();
        ids.push(id);
    }
    assert_eq!(c.in_flight().len(), 16);
    for expect in ids.iter().rev() {
        let m = c.recv_response(soon(), None).unwrap();
        assert_eq!(m.header.message_id, *expect);
        let i = ids.iter().position(|x| x == expect).unwrap() as u64;
        assert_eq!(m.payload, &(i * 100).to_ne_bytes());
    }
    assert!(c.in_flight().is_empty());
    server.join().unwrap();
}

/// A client pipelining more than the socket buffers hold, without reading,
/// against a server that answers each request in order (and so blocks
/// sending answers nobody reads yet): the client's waiting send receives
/// the answers ahead, so neither side waits on the other forever.
#[test]
fn pipelining_past_the_socket_buffers_does_not_deadlock() {
    const N: u64 = 48;
    const SIZE: usize = 60_000;
    let dir = TestDir::new();
    let ep = dir.endpoint("deep");
    let listener = Listener::bind(&ep).unwrap();
    let server_cfg = ServerConfig {
        max_request_payload_bytes: 65536,
        max_response_payload_bytes: 65536,
        ..base_server_config()
    };
    let server = std::thread::spawn(move || {
        let p = listener.accept(soon(), None).unwrap();
        let mut s = p.handshake(&server_cfg, soon(), None).unwrap();
        s.set_send_timeout(Some(PATIENCE));
        for _ in 0..N {
            let m = s.recv_request(soon(), None).unwrap();
            let (id, mut answer) = (m.header.message_id, m.payload.to_vec());
            answer.reverse();
            s.send_response(1, id, &answer).unwrap();
        }
    });
    let cfg = ClientConfig {
        max_request_payload_bytes: 65536,
        ..client_config()
    };
    let mut c = ClientSession::connect(&ep, &cfg, soon(), None).unwrap();
    // A regression fails with a timeout instead of hanging the suite.
    c.set_send_timeout(Some(PATIENCE));
    let payload = |i: u64| -> Vec<u8> { (0..SIZE).map(|k| (k as u64 * 7 + i) as u8).collect() };
    let mut ids = Vec::new();
    for i in 0..N {
        let id = c.next_message_id();
        c.send_request(1, id, &payload(i)).unwrap();
        ids.push(id);
    }
    for (i, id) in ids.iter().enumerate() {
        let m = c.recv_response(soon(), None).unwrap();
        assert_eq!(m.header.message_id, *id);
        let mut want = payload(i as u64);
        want.reverse();
        assert!(m.payload == &want[..], "answer {i} differs");
    }
    assert!(c.in_flight().is_empty());
    server.join().unwrap();
}

/// What a waiting send receives ahead is judged like any receive: a
/// server that never reads and sends junk ends the session with the rule
/// broken, not a hang, and nothing is taken ahead beyond the requests in
/// flight.
#[test]
fn a_waiting_send_judges_what_it_receives_ahead() {
    let dir = TestDir::new();
    let ep = dir.endpoint("junk");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let cfg = ClientConfig {
            max_request_payload_bytes: 65536,
            ..client_config()
        };
        let mut c = ClientSession::connect(&ep2, &cfg, soon(), None).unwrap();
        c.set_send_timeout(Some(PATIENCE));
        let big = vec![7u8; 60_000];
        let mut sent = 0;
        let err = loop {
            let id = c.next_message_id();
            match c.send_request(1, id, &big) {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 10_000, "the socket buffers never filled");
        };
        assert!(
            matches!(err, Error::Decode(_) | Error::Protocol(_)),
            "{err:?}"
        );
        assert!(c.is_broken());
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    assert!(raw_send(
        &s,
        &fake_ack_with(|a| {
            a.agreed_max_request_payload_bytes = 65536;
            a.agreed_packet_size = 65536 + 32;
        })
    ));
    // Never read a request; send one junk packet (bad magic).
    assert!(raw_send(&s, &[0xFFu8; 32]));
    client.join().unwrap();
}

/// A message received ahead that stops half way (the peer sent the first
/// packet of a chunked answer, then nothing) ends the session at the send
/// deadline: part of it was read, so the stream is unusable.
#[test]
fn a_waiting_send_that_times_out_mid_message_ends_the_session() {
    let dir = TestDir::new();
    let ep = dir.endpoint("half");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let cfg = ClientConfig {
            max_request_payload_bytes: 65536,
            max_response_payload_bytes: 262_144,
            ..client_config()
        };
        let mut c = ClientSession::connect(&ep2, &cfg, soon(), None).unwrap();
        c.set_send_timeout(Some(Duration::from_millis(300)));
        let big = vec![7u8; 60_000];
        let err = loop {
            let id = c.next_message_id();
            if let Err(e) = c.send_request(1, id, &big) {
                break e;
            }
            assert!(
                c.in_flight().len() < 10_000,
                "the socket buffers never filled"
            );
        };
        assert!(matches!(err, Error::Timeout), "{err:?}");
        assert!(c.is_broken(), "half a message was read: the session ends");
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    // One packet per request (so a blocked request send alone would leave
    // the session usable), answers of up to 256 KiB in 64 KiB packets.
    let packet = 65536 + 32;
    assert!(raw_send(
        &s,
        &fake_ack_with(|a| {
            a.agreed_max_request_payload_bytes = 65536;
            a.agreed_max_response_payload_bytes = 262_144;
            a.agreed_packet_size = packet;
        })
    ));
    // Never read; send the first packet of a 200000-byte answer to
    // request 1, and nothing more.
    let mut first = Header::response(1, 1, 200_000).encode().to_vec();
    first.resize(packet as usize, 0);
    assert!(raw_send(&s, &first));
    client.join().unwrap();
}

#[test]
fn duplicate_and_unknown_message_ids() {
    let dir = TestDir::new();
    let ep = dir.endpoint("ids");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let mut c = connect(&ep2);
        c.send_request(1, 5, b"a").unwrap();
        c.send_request(1, 6, b"b").unwrap();
        assert!(matches!(
            c.send_request(1, 5, b"again"),
            Err(Error::Protocol(Violation::DuplicateMessageId))
        ));
        assert!(
            !c.is_broken(),
            "a refused duplicate leaves the session usable"
        );
        let m = c.recv_response(soon(), None).unwrap();
        assert_eq!(m.header.message_id, 6);
        // 6 again: already completed.
        assert!(matches!(
            c.recv_response(soon(), None),
            Err(Error::Protocol(Violation::UnknownMessageId))
        ));
        assert!(c.is_broken());
        assert_eq!(c.failed_message_ids(), &[5]);
        assert!(c.in_flight().is_empty());
        assert!(matches!(
            c.send_request(1, 7, b""),
            Err(Error::InvalidState(_))
        ));
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    assert!(raw_send(&s, &fake_ack(65536, 4096)));
    assert_eq!(raw_recv(&s).unwrap()[32..], *b"a");
    assert_eq!(raw_recv(&s).unwrap()[32..], *b"b");
    let mut r = Header::response(1, 6, 1).encode().to_vec();
    r.push(b'B');
    assert!(raw_send(&s, &r));
    assert!(raw_send(&s, &r));
    client.join().unwrap();
}

/// A successful HELLO_ACK as a raw server would send it.
fn fake_ack(packet: u32, resp: u32) -> Vec<u8> {
    fake_ack_with(|a| {
        a.agreed_packet_size = packet;
        a.agreed_max_response_payload_bytes = resp;
    })
}

fn fake_ack_with(f: impl FnOnce(&mut HelloAck)) -> Vec<u8> {
    let mut a = HelloAck {
        server_supported_profiles: 1,
        intersection_profiles: 1,
        selected_profile: 1,
        agreed_max_request_payload_bytes: 4096,
        agreed_max_request_batch_items: 1,
        agreed_max_response_payload_bytes: 65536,
        agreed_max_response_batch_items: 1,
        agreed_packet_size: 4096,
        session_id: 1,
    };
    f(&mut a);
    let mut v = Header::control(CODE_HELLO_ACK, STATUS_OK, 48)
        .encode()
        .to_vec();
    v.extend_from_slice(&a.encode());
    v
}

#[test]
fn mid_stream_disconnect_fails_every_in_flight_id() {
    let dir = TestDir::new();
    let ep = dir.endpoint("midstream");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let cfg = ClientConfig {
            packet_size: 128,
            ..client_config()
        };
        let mut c = ClientSession::connect(&ep2, &cfg, soon(), None).unwrap();
        for id in [1, 2, 3] {
            c.send_request(2, id, &[0, 0, 0, 0]).unwrap();
        }
        let e = c.recv_response(soon(), None).unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
        let mut failed = c.failed_message_ids().to_vec();
        failed.sort_unstable();
        assert_eq!(failed, [1, 2, 3]);
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    assert!(raw_send(&s, &fake_ack(128, 65536)));
    for _ in 0..3 {
        raw_recv(&s).unwrap();
    }
    // Half of the captured chunked response for id 1, then die.
    for p in &captured_packets()[..6] {
        assert!(raw_send(&s, p));
    }
    drop(s);
    client.join().unwrap();
}

#[test]
fn corrupt_chunks_from_a_raw_server() {
    type Mutation = fn(&mut Vec<Vec<u8>>);
    let cases: [(Mutation, &str); 5] = [
        (
            |p| {
                let mut h = ChunkHeader::decode(&p[3]).unwrap();
                h.chunk_index = 5;
                h.encode_into(&mut p[3]);
            },
            "ChunkIndex",
        ),
        (
            |p| {
                let mut h = ChunkHeader::decode(&p[1]).unwrap();
                h.message_id = 9;
                h.encode_into(&mut p[1]);
            },
            "ChunkMessageId",
        ),
        (
            |p| {
                let mut h = ChunkHeader::decode(&p[2]).unwrap();
                h.chunk_count = 13;
                h.encode_into(&mut p[2]);
            },
            "ChunkCount",
        ),
        (|p| p[4][1] = 0, "BadMagic"),
        (|p| p[5].truncate(40), "PacketLength"),
    ];
    for (mutate, want) in cases {
        let dir = TestDir::new();
        let ep = dir.endpoint("corrupt");
        let lfd = raw_listen(&ep.socket_path());
        let ep2 = ep.clone();
        let client = std::thread::spawn(move || {
            let cfg = ClientConfig {
                packet_size: 128,
                ..client_config()
            };
            let mut c = ClientSession::connect(&ep2, &cfg, soon(), None).unwrap();
            c.send_request(2, 1, &[0, 0, 0, 0]).unwrap();
            let e = c.recv_response(soon(), None).unwrap_err();
            assert!(c.is_broken());
            assert_eq!(c.failed_message_ids(), &[1]);
            format!("{e:?}")
        });
        let s = raw_accept(&lfd);
        raw_recv(&s).unwrap();
        assert!(raw_send(&s, &fake_ack(128, 65536)));
        raw_recv(&s).unwrap();
        let mut p = captured_packets();
        mutate(&mut p);
        for pkt in &p {
            if !raw_send(&s, pkt) {
                break;
            }
        }
        let e = client.join().unwrap();
        assert!(e.contains(want), "{e} should name {want}");
    }
}

#[test]
fn oversized_payloads() {
    // Client side: a response over the agreed budget is refused before
    // allocation.
    let dir = TestDir::new();
    let ep = dir.endpoint("oversize");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let mut c = connect(&ep2);
        assert!(matches!(
            c.send_request(1, 1, &vec![0u8; 4097]),
            Err(Error::LimitExceeded {
                limit: Limit::RequestPayload,
                max: 4096,
                actual: 4097
            })
        ));
        c.send_request(1, 1, b"x").unwrap();
        c.recv_response(soon(), None).unwrap_err()
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    assert!(raw_send(&s, &fake_ack(4096, 1000)));
    raw_recv(&s).unwrap();
    assert!(raw_send(
        &s,
        &Header::response(1, 1, 3_000_000_000).encode()
    ));
    assert!(matches!(
        client.join().unwrap(),
        Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 1000,
            ..
        }
    ));

    // Server side: an over-budget request ends that session only.
    let dir = TestDir::new();
    let ep = dir.endpoint("oversize-srv");
    let server = TestServer::start(&ep, base_server_config(), echo());
    let raw = raw_connect(&ep.socket_path());
    assert!(raw_send(&raw, &hello_msg(&base_hello())));
    raw_recv(&raw).unwrap();
    let mut h = Header::request(1, 1, 4097).encode().to_vec();
    h.resize(32 + 4097, 0);
    assert!(raw_send(&raw, &h));
    assert_eq!(raw_recv(&raw), None);
    assert!(matches!(server.next_event(), Event::Accepted(1)));
    match server.next_event() {
        Event::Ended(1, e) => assert!(e.contains("RequestPayload"), "{e}"),
        e => panic!("{e:?}"),
    }
    let mut c = connect(&ep);
    assert!(c.call(1, b"ok", soon(), None).is_ok());
}

// -------------------------------------------------------------- handshake

/// Sends `hello` (raw bytes) to a fresh server connection; returns the
/// reply (None = closed without answer) and the server-side outcome.
fn raw_handshake(cfg: ServerConfig, hello: &[u8]) -> (Option<Vec<u8>>, String) {
    let dir = TestDir::new();
    let ep = dir.endpoint("hs");
    let listener = Listener::bind(&ep).unwrap();
    let raw = raw_connect(&ep.socket_path());
    let pending = listener.accept(soon(), None).unwrap();
    assert!(raw_send(&raw, hello));
    let outcome = match pending.handshake(&cfg, soon(), None) {
        Ok(s) => format!("ok {}", s.session_id()),
        Err(e) => format!("{e:?}"),
    };
    (raw_recv(&raw), outcome)
}

fn ack_status(reply: &[u8]) -> u16 {
    let h = Header::decode(reply).unwrap();
    assert_eq!(h.kind, KIND_CONTROL);
    assert_eq!(h.code, CODE_HELLO_ACK);
    assert_eq!(reply.len(), HELLO_ACK_MSG_LEN, "rejections carry 48 bytes");
    if h.transport_status != STATUS_OK {
        assert_eq!(
            HelloAck::decode(&reply[32..]).unwrap(),
            HelloAck::rejection()
        );
    }
    h.transport_status
}

#[test]
fn handshake_each_hello_field() {
    let cfg = base_server_config;
    let msg = |f: fn(&mut Vec<u8>)| {
        let mut m = hello_msg(&base_hello());
        f(&mut m);
        m
    };
    // layout_version
    let (r, o) = raw_handshake(cfg(), &msg(|m| m[32] = 2));
    assert_eq!(ack_status(&r.unwrap()), STATUS_INCOMPATIBLE);
    assert_eq!(o, "Incompatible");
    // flags
    let (r, _) = raw_handshake(cfg(), &msg(|m| m[34] = 1));
    assert_eq!(ack_status(&r.unwrap()), STATUS_BAD_ENVELOPE);
    // padding
    let (r, _) = raw_handshake(cfg(), &msg(|m| m[60] = 1));
    assert_eq!(ack_status(&r.unwrap()), STATUS_BAD_ENVELOPE);
    // header version
    let (r, o) = raw_handshake(cfg(), &msg(|m| m[4] = 2));
    assert_eq!(ack_status(&r.unwrap()), STATUS_INCOMPATIBLE);
    assert_eq!(o, "Incompatible");
    // profiles: no intersection
    let mut h = base_hello();
    h.supported_profiles = PROFILE_SHM_HYBRID;
    h.preferred_profiles = PROFILE_SHM_HYBRID;
    let (r, o) = raw_handshake(cfg(), &hello_msg(&h));
    assert_eq!(ack_status(&r.unwrap()), STATUS_UNSUPPORTED);
    assert_eq!(o, "Unsupported");
    // token
    let mut h = base_hello();
    h.auth_token ^= 1;
    let (r, o) = raw_handshake(cfg(), &hello_msg(&h));
    assert_eq!(ack_status(&r.unwrap()), STATUS_AUTH_FAILED);
    assert_eq!(o, "AuthFailed");
    // request budget: equal accepted, one more rejected
    let (r, _) = raw_handshake(cfg(), &hello_msg(&base_hello()));
    let r = r.unwrap();
    assert_eq!(ack_status(&r), STATUS_OK);
    let ack = HelloAck::decode(&r[32..]).unwrap();
    assert_eq!(ack.agreed_max_request_payload_bytes, 4096);
    let mut h = base_hello();
    h.max_request_payload_bytes = 4097;
    let (r, o) = raw_handshake(cfg(), &hello_msg(&h));
    assert_eq!(ack_status(&r.unwrap()), STATUS_LIMIT_EXCEEDED);
    assert!(o.starts_with("LimitExceeded"), "{o}");
    // packet size <= 32 rejected, 33 accepted
    let mut h = base_hello();
    h.packet_size = 32;
    let (r, _) = raw_handshake(cfg(), &hello_msg(&h));
    assert_eq!(ack_status(&r.unwrap()), STATUS_INCOMPATIBLE);
    h.packet_size = 33;
    let (r, _) = raw_handshake(cfg(), &hello_msg(&h));
    let r = r.unwrap();
    assert_eq!(ack_status(&r), STATUS_OK);
    assert_eq!(HelloAck::decode(&r[32..]).unwrap().agreed_packet_size, 33);
    // response payload authority and batch-item symmetry
    let mut h = base_hello();
    h.max_response_payload_bytes = 7;
    h.max_request_batch_items = 50;
    h.max_response_batch_items = 3;
    let (r, _) = raw_handshake(cfg(), &hello_msg(&h));
    let ack = HelloAck::decode(&r.unwrap()[32..]).unwrap();
    assert_eq!(ack.agreed_max_response_payload_bytes, 65536);
    assert_eq!(ack.agreed_max_request_batch_items, 50);
    assert_eq!(ack.agreed_max_response_batch_items, 50);
    // Malformed: closed without an answer.
    for (bad, what) in [
        (msg(|m| m[0] ^= 1), "magic"),
        (msg(|m| m[6] = 16), "header_len"),
        (msg(|m| m[8] = KIND_REQUEST as u8), "kind"),
        (msg(|m| m[12] = CODE_HELLO_ACK as u8), "code"),
        (msg(|m| m.truncate(60)), "truncated payload"),
        (msg(|m| m.truncate(20)), "truncated header"),
        (msg(|m| m.push(0)), "over-long"),
        (
            msg(|m| {
                m[16] = 40;
                m.truncate(72)
            }),
            "short payload_len",
        ),
    ] {
        let (r, o) = raw_handshake(cfg(), &bad);
        assert_eq!(r, None, "{what}: must close without HELLO_ACK ({o})");
        assert!(!o.starts_with("ok"), "{what}");
    }
}

#[test]
fn profile_selection_and_session_ids() {
    let dir = TestDir::new();
    let ep = dir.endpoint("profiles");
    let server = TestServer::start(&ep, base_server_config(), echo());
    // A client that prefers SHM still gets the baseline from a
    // baseline-only server.
    let cfg = ClientConfig {
        supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
        preferred_profiles: PROFILE_SHM_HYBRID,
        ..client_config()
    };
    let c = ClientSession::connect(&ep, &cfg, soon(), None).unwrap();
    assert_eq!(c.selected_profile(), PROFILE_BASELINE);
    assert_eq!(c.hello_ack().intersection_profiles, PROFILE_BASELINE);
    assert_eq!(c.session_id(), 1);
    // A rejected client consumes an id.
    let bad = ClientConfig {
        auth_token: 1,
        ..client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &bad, soon(), None),
        Err(Error::AuthFailed)
    ));
    let c3 = connect(&ep);
    assert_eq!(c3.session_id(), 3);
    // SHM-only client vs baseline-only server.
    let shm_only = ClientConfig {
        supported_profiles: PROFILE_SHM_HYBRID,
        preferred_profiles: PROFILE_SHM_HYBRID,
        ..client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &shm_only, soon(), None),
        Err(Error::Unsupported)
    ));
    // Request proposal over the server budget.
    let greedy = ClientConfig {
        max_request_payload_bytes: 4097,
        ..client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &greedy, soon(), None),
        Err(Error::LimitExceeded {
            limit: Limit::RequestPayload,
            actual: 4097,
            ..
        })
    ));
    // Granted response budget over our hard cap.
    let capped = ClientConfig {
        max_response_payload_bytes: 1024,
        response_payload_cap: 65535,
        ..client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &capped, soon(), None),
        Err(Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 65535,
            actual: 65536
        })
    ));
    // Invalid configurations never reach the wire.
    let weird = ClientConfig {
        supported_profiles: PROFILE_SHM_FUTEX,
        ..client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &weird, soon(), None),
        Err(Error::InvalidArgument(_))
    ));
    drop((c, c3));
    server.stop();
}

#[test]
fn client_rejects_bad_acks() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (fake_ack_with(|a| a.agreed_packet_size = 32), "Handshake"),
        (
            fake_ack_with(|a| a.agreed_packet_size = 1 << 30),
            "Handshake",
        ),
        (fake_ack_with(|a| a.selected_profile = 2), "Handshake"),
        (fake_ack_with(|a| a.selected_profile = 3), "Handshake"),
        (
            fake_ack_with(|a| a.agreed_max_response_batch_items = 2),
            "Handshake",
        ),
        (
            fake_ack_with(|a| a.agreed_max_request_payload_bytes = 8192),
            "Handshake",
        ),
        (
            fake_ack_with(|a| a.agreed_max_response_payload_bytes = 1 << 21),
            "ResponsePayload",
        ),
        (
            {
                let mut v = fake_ack(4096, 65536);
                v[34] = 1;
                v
            },
            "NonZeroReserved",
        ),
        (
            Header::control(CODE_HELLO_ACK, STATUS_UNSUPPORTED, 0)
                .encode()
                .to_vec(),
            "Unsupported",
        ),
        (
            Header::control(CODE_HELLO_ACK, STATUS_INCOMPATIBLE, 0)
                .encode()
                .to_vec(),
            "Incompatible",
        ),
        (
            Header::control(CODE_HELLO_ACK, STATUS_INTERNAL_ERROR, 0)
                .encode()
                .to_vec(),
            "Status(6)",
        ),
        (vec![1, 2, 3], "Truncated"),
    ];
    for (reply, want) in cases {
        let dir = TestDir::new();
        let ep = dir.endpoint("acks");
        let lfd = raw_listen(&ep.socket_path());
        let ep2 = ep.clone();
        let client = std::thread::spawn(move || {
            format!(
                "{:?}",
                ClientSession::connect(&ep2, &client_config(), soon(), None).unwrap_err()
            )
        });
        let s = raw_accept(&lfd);
        raw_recv(&s).unwrap();
        assert!(raw_send(&s, &reply));
        let e = client.join().unwrap();
        assert!(e.contains(want), "{e} should contain {want}");
    }
}

#[test]
fn connect_errors() {
    let dir = TestDir::new();
    let ep = dir.endpoint("nobody");
    assert!(matches!(
        ClientSession::connect(&ep, &client_config(), soon(), None),
        Err(Error::NotFound)
    ));
    // A refused (stale) socket file.
    drop(raw_listen(&ep.socket_path()));
    assert!(matches!(
        ClientSession::connect(&ep, &client_config(), soon(), None),
        Err(Error::NotFound)
    ));
    // A server that accepts but never answers: the handshake times out.
    let ep = dir.endpoint("silent");
    let _lfd = raw_listen(&ep.socket_path());
    let t0 = Instant::now();
    assert!(matches!(
        ClientSession::connect(
            &ep,
            &client_config(),
            Deadline::after(Duration::from_millis(100)),
            None
        ),
        Err(Error::Timeout)
    ));
    assert!(t0.elapsed() >= Duration::from_millis(100));
}

// --------------------------------------------------------- stale recovery

#[test]
fn socket_is_owner_only_and_no_temp_leftovers() {
    let dir = TestDir::new();
    let ep = dir.endpoint("mode");
    let l = Listener::bind(&ep).unwrap();
    let meta = std::fs::symlink_metadata(ep.socket_path()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(dir.entries(), ["mode.sock"]);
    drop(l);
    assert!(dir.entries().is_empty(), "listener drop unlinks its socket");
}

#[test]
fn stale_endpoints_are_reclaimed() {
    let dir = TestDir::new();
    let ep = dir.endpoint("stale");
    // Refused socket.
    drop(raw_listen(&ep.socket_path()));
    let l = Listener::bind(&ep).unwrap();
    drop(l);
    // Junk regular file.
    std::fs::write(ep.socket_path(), b"junk").unwrap();
    let l = Listener::bind(&ep).unwrap();
    let mut c = {
        let _s = TestServer::serve(l, base_server_config(), echo());
        let mut c = connect(&ep);
        assert!(c.call(1, b"hi", soon(), None).is_ok());
        c
    };
    // Server stopped (listener dropped): the session... was served by a
    // worker that was stopped too; the socket file is gone.
    assert!(c.call(1, b"hi", soon(), None).is_err());
    // Dangling symlink.
    std::os::unix::fs::symlink(dir.path().join("nowhere"), ep.socket_path()).unwrap();
    let _l = Listener::bind(&ep).unwrap();
    assert!(!dir.entries().iter().any(|e| e.starts_with(".nipc")));
}

#[test]
fn live_server_keeps_its_endpoint() {
    let dir = TestDir::new();
    let ep = dir.endpoint("live");
    let first = Listener::bind(&ep).unwrap();
    assert!(matches!(Listener::bind(&ep), Err(Error::AddressInUse)));
    // Also against a live raw server that is not ours.
    let ep2 = dir.endpoint("live-raw");
    let _raw = raw_listen(&ep2.socket_path());
    assert!(matches!(Listener::bind(&ep2), Err(Error::AddressInUse)));
    // A directory squatting the name is never removed.
    let ep3 = dir.endpoint("dir");
    std::fs::create_dir(ep3.socket_path()).unwrap();
    assert!(matches!(Listener::bind(&ep3), Err(Error::AddressInUse)));
    assert!(ep3.socket_path().is_dir());
    // The loser did not disturb the winner, and left no temp dirs.
    let _s = TestServer::serve(first, base_server_config(), echo());
    let mut c = connect(&ep);
    assert!(c.call(1, b"x", soon(), None).is_ok());
    assert!(!dir.entries().iter().any(|e| e.starts_with(".nipc")));
}

#[test]
fn successor_socket_survives_old_listener_drop() {
    let dir = TestDir::new();
    let ep = dir.endpoint("succ");
    let old = Listener::bind(&ep).unwrap();
    // Simulate an operator removing the file and a successor binding.
    std::fs::remove_file(ep.socket_path()).unwrap();
    let new = Listener::bind(&ep).unwrap();
    drop(old);
    assert!(ep.socket_path().exists(), "old listener must not unlink it");
    drop(new);
    assert!(!ep.socket_path().exists());
}

#[test]
fn racing_servers_exactly_one_wins() {
    for round in 0..10 {
        let dir = TestDir::new();
        let ep = dir.endpoint("race");
        if round % 2 == 1 {
            // Start from a stale socket so both racers reclaim.
            drop(raw_listen(&ep.socket_path()));
        }
        let n = 4;
        let barrier = Arc::new(Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let (ep, b) = (ep.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    b.wait();
                    Listener::bind(&ep)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(Error::AddressInUse))),
            "{results:?}"
        );
        let winner = results.into_iter().find_map(Result::ok).unwrap();
        let _s = TestServer::serve(winner, base_server_config(), echo());
        let mut c = connect(&ep);
        assert!(c.call(1, b"x", soon(), None).is_ok(), "round {round}");
    }
}

// ------------------------------------------------------ concurrency/abuse

#[test]
fn many_concurrent_sessions() {
    let dir = TestDir::new();
    let ep = dir.endpoint("many");
    let server = TestServer::start(&ep, base_server_config(), increment());
    let n = 40;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|t| {
            let (ep, b) = (ep.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut c = connect(&ep);
                b.wait();
                let mut v = t as u64 * 1000;
                for _ in 0..50 {
                    let m = c
                        .call(METHOD_INCREMENT, &v.to_ne_bytes(), soon(), None)
                        .unwrap();
                    let got = u64::from_ne_bytes(m.payload.try_into().unwrap());
                    assert_eq!(got, v + 1);
                    v = got;
                }
                c.session_id()
            })
        })
        .collect();
    let mut ids: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n);
    server.stop();
}

#[test]
fn closing_the_listener_keeps_sessions() {
    let dir = TestDir::new();
    let ep = dir.endpoint("keep");
    let listener = Listener::bind(&ep).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let p = listener.accept(soon(), None).unwrap();
        drop(listener);
        tx.send(()).unwrap();
        let mut s = p.handshake(&base_server_config(), soon(), None).unwrap();
        let m = s.recv_request(soon(), None).unwrap();
        let (c, id, p) = (m.header.code, m.header.message_id, m.payload.to_vec());
        s.send_response(c, id, &p).unwrap();
    });
    let mut c = connect(&ep);
    rx.recv().unwrap();
    assert!(!ep.socket_path().exists());
    assert_eq!(c.call(1, b"alive", soon(), None).unwrap().payload, b"alive");
    t.join().unwrap();
    // And the server closing the session is seen as PeerClosed.
    assert!(matches!(
        c.call(1, b"gone", soon(), None),
        Err(Error::PeerClosed)
    ));
    assert_eq!(c.failed_message_ids().len(), 1);
}

#[test]
fn hostile_peers_never_harm_the_server() {
    let dir = TestDir::new();
    let ep = dir.endpoint("hostile");
    let server = TestServer::start(&ep, base_server_config(), echo());
    let mut good = connect(&ep);
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 7],
        vec![0x41; 31],
        vec![0; 32],
        vec![0xa5; 4000],
        Header::request(1, 1, u32::MAX).encode().to_vec(),
        {
            let mut h = Header::request(1, 1, 100).encode().to_vec();
            h.extend_from_slice(&[1; 10]);
            h
        },
        {
            let mut h = Header::request(1, 1, 16);
            h.flags = FLAG_BATCH;
            h.item_count = 2;
            let mut v = h.encode().to_vec();
            v.extend_from_slice(&[0xff; 16]);
            v
        },
        {
            let mut h = Header::request(1, 1, 0);
            h.item_count = u32::MAX;
            h.encode().to_vec()
        },
        ChunkHeader {
            message_id: 1,
            total_message_len: u32::MAX,
            chunk_index: 1,
            chunk_count: u32::MAX,
            chunk_payload_len: u32::MAX,
        }
        .encode()
        .to_vec(),
    ];
    for (i, g) in garbage.iter().enumerate() {
        // Before the handshake.
        let raw = raw_connect(&ep.socket_path());
        raw_send(&raw, g);
        assert_eq!(raw_recv(&raw), None, "pre-handshake garbage {i}");
        // After the handshake.
        let raw = raw_connect(&ep.socket_path());
        assert!(raw_send(&raw, &hello_msg(&base_hello())));
        assert_eq!(raw_recv(&raw).unwrap().len(), HELLO_ACK_MSG_LEN);
        raw_send(&raw, g);
        assert_eq!(raw_recv(&raw), None, "post-handshake garbage {i}");
        // The well-behaved client is unaffected.
        let m = good.call(1, &[i as u8; 3], soon(), None).unwrap();
        assert_eq!(m.payload, &[i as u8; 3]);
    }
    server.stop();
}

#[test]
fn silent_peer_does_not_stall_accept() {
    let dir = TestDir::new();
    let ep = dir.endpoint("silent");
    let listener = Listener::bind(&ep).unwrap();
    let silent = raw_connect(&ep.socket_path());
    let trickle = raw_connect(&ep.socket_path());
    raw_send(&trickle, &hello_msg(&base_hello())[..10]);
    let p1 = listener.accept(soon(), None).unwrap();
    let p2 = listener.accept(soon(), None).unwrap();
    // Their handshakes run elsewhere with short deadlines.
    let slow: Vec<_> = [p1, p2]
        .into_iter()
        .map(|p| {
            std::thread::spawn(move || {
                p.handshake(
                    &base_server_config(),
                    Deadline::after(Duration::from_millis(300)),
                    None,
                )
                .unwrap_err()
            })
        })
        .collect();
    // Meanwhile a good client is accepted and served.
    let ep2 = ep.clone();
    let c = std::thread::spawn(move || {
        let mut c = connect(&ep2);
        c.call(1, b"served", soon(), None).unwrap().payload.to_vec()
    });
    let p3 = listener.accept(soon(), None).unwrap();
    assert_eq!(p3.session_id(), 3);
    let mut s = p3.handshake(&base_server_config(), soon(), None).unwrap();
    let m = s.recv_request(soon(), None).unwrap();
    let (code, id, body) = (m.header.code, m.header.message_id, m.payload.to_vec());
    s.send_response(code, id, &body).unwrap();
    assert_eq!(c.join().unwrap(), b"served");
    for t in slow {
        let e = t.join().unwrap();
        // The silent one times out; the trickler sent a truncated HELLO.
        assert!(
            matches!(
                e,
                Error::Timeout | Error::Decode(DecodeError::Truncated { .. })
            ),
            "{e:?}"
        );
    }
    drop((silent, trickle));
}

#[test]
fn timeout_and_abort_on_receive() {
    let dir = TestDir::new();
    let ep = dir.endpoint("slow");
    let server = TestServer::start(
        &ep,
        base_server_config(),
        Arc::new(|m: &netipc::transport::uds::Message<'_>| {
            if m.payload == b"wait" {
                Reply::Nothing
            } else {
                Reply::Single(m.payload.to_vec())
            }
        }),
    );
    let mut c = connect(&ep);
    c.send_request(1, 1, b"wait").unwrap();
    let t0 = Instant::now();
    assert!(matches!(
        c.recv_response(Deadline::after(Duration::from_millis(100)), None),
        Err(Error::Timeout)
    ));
    assert!(t0.elapsed() >= Duration::from_millis(100));
    assert!(
        !c.is_broken(),
        "a timeout before any byte keeps the session"
    );
    assert_eq!(c.in_flight(), &[1]);

    let abort = AbortHandle::new().unwrap();
    let trig = abort.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        trig.trigger();
    });
    let t0 = Instant::now();
    assert!(matches!(
        c.recv_response(Deadline::NEVER, Some(&abort)),
        Err(Error::Aborted)
    ));
    assert!(t0.elapsed() < Duration::from_secs(10));
    t.join().unwrap();
    // A pre-triggered abort fails at once, even on connect.
    assert!(matches!(
        ClientSession::connect(&ep, &client_config(), soon(), Some(&abort)),
        Err(Error::Aborted)
    ));
    abort.clear();
    // The session still works for new requests.
    c.send_request(1, 2, b"echo").unwrap();
    assert_eq!(
        c.recv_response(soon(), Some(&abort)).unwrap().payload,
        b"echo"
    );
    drop(c);
    server.stop();
}

#[test]
fn call_requires_no_other_request_in_flight() {
    let dir = TestDir::new();
    let ep = dir.endpoint("call");
    let _server = TestServer::start(&ep, base_server_config(), echo());
    let mut c = connect(&ep);
    let id = c.next_message_id();
    c.send_request(1, id, b"x").unwrap();
    assert!(matches!(
        c.call(1, b"y", soon(), None),
        Err(Error::InvalidState(_))
    ));
    assert_eq!(c.recv_response(soon(), None).unwrap().payload, b"x");
    assert_eq!(c.call(1, b"y", soon(), None).unwrap().payload, b"y");
    // next_message_id skips ids in flight.
    c.send_request(1, 100, b"z").unwrap();
    let ids: Vec<u64> = (0..3).map(|_| c.next_message_id()).collect();
    assert!(!ids.contains(&100));
}

#[test]
fn error_replies_and_wait_objects() {
    use std::os::fd::AsRawFd;
    let dir = TestDir::new();
    let ep = dir.endpoint("errors");
    let server = TestServer::start(
        &ep,
        base_server_config(),
        Arc::new(|_m: &netipc::transport::uds::Message<'_>| Reply::Status(STATUS_UNSUPPORTED)),
    );
    let mut c = connect(&ep);
    assert!(c.as_raw_fd() >= 0);
    let m = c.call(9, b"?", soon(), None).unwrap();
    assert!(!m.is_ok());
    assert_eq!(m.header.transport_status, STATUS_UNSUPPORTED);
    assert_eq!((m.header.code, m.header.payload_len), (9, 0));
    // The fd becomes readable when a response waits.
    let id = c.next_message_id();
    c.send_request(1, id, b"x").unwrap();
    let mut fds = [rustix::event::PollFd::new(&c, rustix::event::PollFlags::IN)];
    let t = rustix::time::Timespec {
        tv_sec: 30,
        tv_nsec: 0,
    };
    assert_eq!(rustix::event::poll(&mut fds, Some(&t)).unwrap(), 1);
    drop(c);
    server.stop();
}

#[test]
fn fd_exhaustion_during_probe_keeps_endpoint() {
    let dir = TestDir::new();
    let ep = dir.endpoint("emfile");
    drop(raw_listen(&ep.socket_path())); // a stale (refused) socket
    // The rlimit is process-wide: run the exhausted bind in a child.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "emfile_probe_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("NIPC_EMFILE_DIR", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ep.socket_path().exists(), "kept under fd exhaustion");
    // With descriptors available the same entry is reclaimed.
    let _l = Listener::bind(&ep).unwrap();
}

#[test]
#[ignore = "run in a child process by fd_exhaustion_during_probe_keeps_endpoint"]
fn emfile_probe_child() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let Some(dir) = std::env::var_os("NIPC_EMFILE_DIR") else {
        return;
    };
    let ep = netipc::transport::Endpoint::new(dir, "emfile").unwrap();
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(256),
            maximum: hard,
        },
    )
    .unwrap();
    let mut held = Vec::new();
    loop {
        match rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        ) {
            Ok(fd) => held.push(fd),
            Err(rustix::io::Errno::MFILE) => break,
            Err(e) => panic!("{e}"),
        }
    }
    // Leave exactly what bind needs before its probe: the run_dir fd, the
    // private directory fd and the listening socket.
    held.truncate(held.len() - 3);
    assert!(matches!(Listener::bind(&ep), Err(Error::AddressInUse)));
    drop(held);
    assert!(ep.socket_path().exists());
}

#[test]
fn over_limit_request_gets_a_final_limit_exceeded_reply() {
    let dir = TestDir::new();
    let ep = dir.endpoint("final");
    let listener = Listener::bind(&ep).unwrap();
    let t = std::thread::spawn(move || {
        let p = listener.accept(soon(), None).unwrap();
        let mut s = p.handshake(&base_server_config(), soon(), None).unwrap();
        assert!(matches!(
            s.send_final_error(STATUS_LIMIT_EXCEEDED),
            Err(Error::InvalidState(_))
        ));
        let e = s.recv_request(soon(), None).unwrap_err();
        assert!(matches!(
            e,
            Error::LimitExceeded {
                limit: Limit::RequestPayload,
                max: 4096,
                actual: 5000
            }
        ));
        assert_eq!(s.last_request_header().unwrap().message_id, 42);
        s.send_final_error(STATUS_LIMIT_EXCEEDED).unwrap();
    });
    let raw = raw_connect(&ep.socket_path());
    assert!(raw_send(&raw, &hello_msg(&base_hello())));
    raw_recv(&raw).unwrap();
    let mut req = Header::request(METHOD_INCREMENT, 42, 5000)
        .encode()
        .to_vec();
    req.resize(32 + 5000, 0);
    assert!(raw_send(&raw, &req));
    let reply = raw_recv(&raw).unwrap();
    let h = Header::decode(&reply).unwrap();
    assert_eq!(
        h,
        Header::error_response(METHOD_INCREMENT, 42, STATUS_LIMIT_EXCEEDED)
    );
    assert_eq!(reply.len(), 32);
    t.join().unwrap();
    assert_eq!(raw_recv(&raw), None);
}
