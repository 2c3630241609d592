//! Unit tests of the UDS framing over socketpairs, against the captured
//! conformance bytes and hand-corrupted packet sequences.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType, socketpair};

use super::framing::{Channel, UdsLink};
use super::handshake::check_ack;
use crate::error::{DecodeError, Error, Limit, Violation};
use crate::protocol::{
    FLAG_BATCH, HEADER_LEN, KIND_REQUEST, KIND_RESPONSE, METHOD_CGROUPS_SNAPSHOT, STATUS_OK,
};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::handshake::encode_ack;
use crate::wire::{ChunkHeader, Header, HelloAck, Limits};

use super::config::ClientConfig;

fn conformance(name: &str) -> Vec<u8> {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../testdata/conformance/transport",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn packets() -> Vec<Vec<u8>> {
    (0..14)
        .map(|i| conformance(&format!("chunked_snapshot_resp/packet-{i:02}.bin")))
        .collect()
}

fn raw_pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap()
}

fn lim(max_payload: u32, max_items: u32) -> Limits {
    Limits {
        max_payload,
        max_items,
    }
}

/// A client-side channel (sends requests, receives responses).
fn client(fd: OwnedFd, packet: u32, resp: Limits) -> Channel {
    Channel::new(
        UdsLink::new(fd),
        packet,
        KIND_REQUEST,
        lim(1 << 20, 8),
        KIND_RESPONSE,
        resp,
        None,
    )
}

/// A server-side channel (receives requests, sends responses).
fn server(fd: OwnedFd, packet: u32, req: Limits, resp: Limits) -> Channel {
    Channel::new(
        UdsLink::new(fd),
        packet,
        KIND_RESPONSE,
        resp,
        KIND_REQUEST,
        req,
        None,
    )
}

fn raw_send(fd: &OwnedFd, b: &[u8]) {
    assert_eq!(
        rustix::net::send(fd, b, SendFlags::NOSIGNAL).unwrap(),
        b.len()
    );
}

fn raw_recv(fd: &OwnedFd) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 18];
    let (n, _) = rustix::net::recv(fd, &mut buf[..], rustix::net::RecvFlags::empty()).unwrap();
    buf.truncate(n);
    buf
}

fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

#[test]
fn conformance_receive_reassembles_payload() {
    let (a, b) = raw_pair();
    let mut ch = client(a, 128, lim(65536, 1));
    for p in packets() {
        raw_send(&b, &p);
    }
    let (h, range) = ch.recv(soon(), None).unwrap();
    assert_eq!(h.kind, KIND_RESPONSE);
    assert_eq!(h.code, METHOD_CGROUPS_SNAPSHOT);
    assert_eq!(h.message_id, 1);
    assert_eq!(
        ch.payload(range),
        &conformance("chunked_snapshot_resp/payload.bin")[..]
    );
    // Blocking form too.
    for p in packets() {
        raw_send(&b, &p);
    }
    let (_, range) = ch.recv(Deadline::NEVER, None).unwrap();
    assert_eq!(ch.payload(range).len(), 1301);
}

#[test]
fn conformance_send_produces_captured_packets() {
    let (a, b) = raw_pair();
    let mut ch = server(a, 128, lim(4096, 1), lim(65536, 1));
    let payload = conformance("chunked_snapshot_resp/payload.bin");
    let h = Header::response(METHOD_CGROUPS_SNAPSHOT, 1, payload.len() as u32);
    ch.send(&h, &payload).unwrap();
    for (i, want) in packets().iter().enumerate() {
        assert_eq!(&raw_recv(&b), want, "packet {i}");
    }
}

#[test]
fn request_over_socketpair_matches_capture() {
    let (a, b) = raw_pair();
    let mut ch = client(a, 128, lim(65536, 1));
    let req = conformance("msg_snapshot_req.bin");
    ch.send(
        &Header::request(METHOD_CGROUPS_SNAPSHOT, 1, 4),
        &req[HEADER_LEN..],
    )
    .unwrap();
    assert_eq!(raw_recv(&b), req);
}

#[test]
fn round_trips_across_chunk_boundaries() {
    let (a, b) = raw_pair();
    let mut c = client(a, 128, lim(1 << 20, 8));
    let mut s = server(b, 128, lim(1 << 20, 8), lim(1 << 20, 8));
    for len in [0usize, 1, 95, 96, 97, 192, 193, 1301, 5000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        c.send(&Header::request(1, len as u64, len as u32), &payload)
            .unwrap();
        let (h, r) = s.recv(soon(), None).unwrap();
        assert_eq!(h.message_id, len as u64);
        assert_eq!(s.payload(r), &payload[..]);
        s.send(&Header::response(1, len as u64, len as u32), &payload)
            .unwrap();
        let (h, r) = c.recv(Deadline::NEVER, None).unwrap();
        assert_eq!(h.payload_len as usize, len);
        assert_eq!(c.payload(r), &payload[..]);
    }
}

#[test]
fn batch_send_and_single_item_form() {
    let (a, b) = raw_pair();
    let mut c = client(a, 64, lim(1 << 20, 8));
    let mut s = server(b, 64, lim(1 << 20, 8), lim(1 << 20, 8));
    let items: [&[u8]; 3] = [
        b"one",
        b"",
        b"three-three-three-three-three-three-three-three",
    ];
    c.send_batch(Header::request(3, 9, 0), &items).unwrap();
    let (h, r) = s.recv(soon(), None).unwrap();
    assert_eq!(h.flags, FLAG_BATCH);
    assert_eq!(h.item_count, 3);
    let v = crate::wire::BatchView::decode(s.payload(r), 3).unwrap();
    assert_eq!(v.iter().collect::<Vec<_>>(), items);
    c.send_batch(Header::request(3, 10, 0), &[b"solo"]).unwrap();
    let (h, r) = s.recv(soon(), None).unwrap();
    assert_eq!((h.flags, h.item_count), (0, 1));
    assert_eq!(s.payload(r), b"solo");
    assert!(matches!(
        c.send_batch(Header::request(3, 11, 0), &[]),
        Err(Error::InvalidArgument(_))
    ));
    // Over the item limit: refused locally, session intact.
    let many: Vec<&[u8]> = vec![b"x"; 9];
    assert!(matches!(
        c.send_batch(Header::request(3, 12, 0), &many),
        Err(Error::LimitExceeded {
            limit: Limit::RequestItems,
            ..
        })
    ));
    assert!(!c.is_broken());
}

/// Feeds `pkts` to a fresh client channel at packet size 128 and returns
/// the receive result's error.
fn feed(pkts: &[Vec<u8>]) -> Error {
    let (a, b) = raw_pair();
    let mut ch = client(a, 128, lim(65536, 1));
    for p in pkts {
        raw_send(&b, p);
    }
    drop(b);
    let e = ch.recv(soon(), None).unwrap_err();
    assert!(ch.is_broken(), "{e:?} must end the session");
    e
}

fn with_chunk(i: usize, f: impl FnOnce(&mut ChunkHeader)) -> Vec<Vec<u8>> {
    let mut p = packets();
    let mut h = ChunkHeader::decode(&p[i]).unwrap();
    f(&mut h);
    h.encode_into(&mut p[i]);
    p
}

#[test]
fn corrupt_chunk_sequences() {
    assert!(matches!(
        feed(&with_chunk(3, |h| h.chunk_index = 4)),
        Error::Protocol(Violation::ChunkIndex)
    ));
    assert!(matches!(
        feed(&with_chunk(1, |h| h.message_id = 2)),
        Error::Protocol(Violation::ChunkMessageId)
    ));
    assert!(matches!(
        feed(&with_chunk(5, |h| h.chunk_count = 15)),
        Error::Protocol(Violation::ChunkCount)
    ));
    assert!(matches!(
        feed(&with_chunk(2, |h| h.total_message_len = 1334)),
        Error::Protocol(Violation::ChunkTotalLen)
    ));
    assert!(matches!(
        feed(&with_chunk(13, |h| h.chunk_payload_len = 52)),
        Error::Protocol(Violation::ChunkPayloadLen)
    ));
    // Bad magic.
    let mut p = packets();
    p[4][0] ^= 0xff;
    assert!(matches!(
        feed(&p),
        Error::Decode(DecodeError::BadMagic { .. })
    ));
    // Chunk index >= count (standalone rule).
    assert!(matches!(
        feed(&with_chunk(6, |h| h.chunk_index = 14)),
        Error::Decode(DecodeError::InvalidField { .. })
    ));
    // Short chunk: header honest about 96 bytes, packet carries 50.
    let mut p = packets();
    p[7].truncate(HEADER_LEN + 50);
    assert!(matches!(feed(&p), Error::Protocol(Violation::PacketLength)));
    // Long last chunk (extra byte beyond its declared 53).
    let mut p = packets();
    p[13].push(0);
    assert!(matches!(feed(&p), Error::Protocol(Violation::PacketLength)));
    // Chunk shorter than its header.
    let mut p = packets();
    p[9].truncate(20);
    assert!(matches!(
        feed(&p),
        Error::Decode(DecodeError::Truncated { .. })
    ));
    // A new message where a continuation belongs.
    let mut p = packets();
    p[2] = p[0].clone();
    assert!(matches!(
        feed(&p),
        Error::Decode(DecodeError::BadMagic { .. })
    ));
    // First packet of a chunked message not full.
    let mut p = packets();
    p[0].truncate(100);
    assert!(matches!(feed(&p), Error::Protocol(Violation::PacketLength)));
    // Peer dies between chunks.
    assert!(matches!(feed(&packets()[..5]), Error::PeerClosed));
}

#[test]
fn single_packet_length_must_match_header() {
    let h = Header::response(1, 1, 10).encode();
    let mut short = h.to_vec();
    short.extend_from_slice(&[1; 5]);
    assert!(matches!(
        feed(&[short]),
        Error::Protocol(Violation::PacketLength)
    ));
    let mut long = h.to_vec();
    long.extend_from_slice(&[1; 11]);
    assert!(matches!(
        feed(&[long]),
        Error::Protocol(Violation::PacketLength)
    ));
    assert!(matches!(
        feed(&[vec![0x43; 31]]),
        Error::Decode(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        feed(&[Header::request(1, 1, 0).encode().to_vec()]),
        Error::Protocol(Violation::UnexpectedKind)
    ));
    let mut empty_batch = Header::response(1, 1, 0);
    empty_batch.flags = FLAG_BATCH;
    empty_batch.item_count = 0;
    assert!(matches!(
        feed(&[empty_batch.encode().to_vec()]),
        Error::Protocol(Violation::EmptyBatch)
    ));
}

#[test]
fn limits_checked_before_allocation() {
    let (a, b) = raw_pair();
    let mut ch = client(a, 1 << 16, lim(1000, 2));
    // Absurd declared length in a small packet.
    let h = Header::response(1, 1, u32::MAX);
    raw_send(&b, &h.encode());
    let e = ch.recv(soon(), None).unwrap_err();
    assert!(matches!(
        e,
        Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 1000,
            ..
        }
    ));
    let (a, b) = raw_pair();
    let mut ch = client(a, 1 << 16, lim(1000, 2));
    let mut h = Header::response(1, 1, 0);
    h.item_count = 3;
    raw_send(&b, &h.encode());
    assert!(matches!(
        ch.recv(soon(), None),
        Err(Error::LimitExceeded {
            limit: Limit::ResponseItems,
            ..
        })
    ));
    // A datagram larger than any acceptable first packet.
    let (a, b) = raw_pair();
    let mut ch = client(a, 1 << 16, lim(1000, 2));
    let mut big = Header::response(1, 1, 1500).encode().to_vec();
    big.resize(32 + 1500, 0);
    raw_send(&b, &big);
    assert!(matches!(
        ch.recv(soon(), None),
        Err(Error::LimitExceeded { .. })
    ));
    let (a, b) = raw_pair();
    let mut ch = client(a, 1 << 16, lim(1000, 2));
    let mut big = Header::response(1, 1, 10).encode().to_vec();
    big.resize(32 + 1500, 0);
    raw_send(&b, &big);
    assert!(matches!(
        ch.recv(soon(), None),
        Err(Error::Protocol(Violation::PacketLength))
    ));
    assert!(matches!(ch.recv(soon(), None), Err(Error::InvalidState(_))));
}

#[test]
fn send_limits_are_local_errors() {
    let (a, _b) = raw_pair();
    let mut ch = server(a, 128, lim(10, 1), lim(10, 1));
    assert!(matches!(
        ch.send(&Header::response(1, 1, 11), &[0; 11]),
        Err(Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            ..
        })
    ));
    assert!(matches!(
        ch.send(&Header::response(1, 1, 3), &[0; 2]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        ch.send(&Header::request(1, 1, 0), &[]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(!ch.is_broken());
}

#[test]
fn timeout_before_and_during_a_message() {
    let (a, b) = raw_pair();
    let mut ch = client(a, 128, lim(65536, 1));
    let t0 = Instant::now();
    assert!(matches!(
        ch.recv(Deadline::after(Duration::from_millis(50)), None),
        Err(Error::Timeout)
    ));
    assert!(t0.elapsed() >= Duration::from_millis(50));
    assert!(!ch.is_broken(), "nothing consumed: still usable");
    let p = packets();
    raw_send(&b, &p[0]);
    raw_send(&b, &p[1]);
    assert!(matches!(
        ch.recv(Deadline::after(Duration::from_millis(50)), None),
        Err(Error::Timeout)
    ));
    assert!(ch.is_broken(), "half a message consumed: session ends");
}

#[test]
fn abort_from_another_thread() {
    let (a, _b) = raw_pair();
    let mut ch = client(a, 128, lim(65536, 1));
    let abort = AbortHandle::new().unwrap();
    let trigger = abort.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        trigger.trigger();
    });
    let t0 = Instant::now();
    assert!(matches!(
        ch.recv(Deadline::NEVER, Some(&abort)),
        Err(Error::Aborted)
    ));
    assert!(t0.elapsed() < Duration::from_secs(10));
    t.join().unwrap();
    assert!(!ch.is_broken());
}

#[test]
fn one_mebibyte_at_default_packet_size() {
    let (a, b) = raw_pair();
    let packet = super::io::max_packet_size(&a);
    assert!(packet > 32);
    let mut c = client(a, packet, lim(1 << 20, 1));
    let mut s = server(b, packet, lim(1 << 20, 1), lim(1 << 20, 1));
    let payload: Vec<u8> = (0..1usize << 20).map(|i| (i % 251) as u8).collect();
    let expect = payload.clone();
    let t = std::thread::spawn(move || {
        let (h, r) = s.recv(soon(), None).unwrap();
        assert_eq!(h.payload_len, 1 << 20);
        assert!(s.payload(r) == &expect[..]);
    });
    c.send(&Header::request(1, 1, 1 << 20), &payload).unwrap();
    t.join().unwrap();
}

#[test]
fn ack_validation() {
    let cfg = ClientConfig {
        packet_size: 4096,
        response_payload_cap: 65536,
        max_response_payload_bytes: 1024,
        supported_profiles: crate::protocol::PROFILE_BASELINE,
        ..ClientConfig::default()
    };
    let hello = cfg.hello_with(4096);
    let good = HelloAck {
        server_supported_profiles: 1,
        intersection_profiles: 1,
        selected_profile: 1,
        agreed_max_request_payload_bytes: 1024,
        agreed_max_request_batch_items: 1,
        agreed_max_response_payload_bytes: 65536,
        agreed_max_response_batch_items: 1,
        agreed_packet_size: 4096,
        session_id: 7,
    };
    let check = |ack: HelloAck| {
        let m = encode_ack(STATUS_OK, &ack);
        check_ack(&m, m.len(), &hello, &cfg)
    };
    assert_eq!(check(good).unwrap(), good);
    let bad = |f: fn(&mut HelloAck)| {
        let mut a = good;
        f(&mut a);
        check(a).unwrap_err()
    };
    for f in [
        (|a: &mut HelloAck| a.agreed_packet_size = 32) as fn(&mut HelloAck),
        |a| a.agreed_packet_size = 4097,
        |a| a.selected_profile = 2,
        |a| a.selected_profile = 3,
        |a| a.selected_profile = 0,
        |a| a.agreed_max_response_batch_items = 2,
        |a| a.agreed_max_request_payload_bytes = 1025,
    ] {
        assert!(matches!(bad(f), Error::Protocol(Violation::Handshake)));
    }
    assert!(matches!(
        bad(|a| a.agreed_max_response_payload_bytes = 65537),
        Error::LimitExceeded {
            limit: Limit::ResponsePayload,
            max: 65536,
            actual: 65537
        }
    ));
    // Non-zero flags in the payload.
    let mut m = encode_ack(STATUS_OK, &good);
    m[HEADER_LEN + 2] = 1;
    assert!(matches!(
        check_ack(&m, m.len(), &hello, &cfg),
        Err(Error::Decode(DecodeError::NonZeroReserved { .. }))
    ));
    // Rejections with and without payload; status read first.
    for (status, ok) in [
        (crate::protocol::STATUS_AUTH_FAILED, "auth"),
        (crate::protocol::STATUS_UNSUPPORTED, "unsupported"),
        (crate::protocol::STATUS_INCOMPATIBLE, "incompatible"),
        (crate::protocol::STATUS_LIMIT_EXCEEDED, "limit"),
        (crate::protocol::STATUS_BAD_ENVELOPE, "status"),
    ] {
        let full = encode_ack(status, &HelloAck::rejection());
        let bare = Header::control(crate::protocol::CODE_HELLO_ACK, status, 0).encode();
        for m in [&full[..], &bare[..]] {
            let e = check_ack(m, m.len(), &hello, &cfg).unwrap_err();
            let got = match e {
                Error::AuthFailed => "auth",
                Error::Unsupported => "unsupported",
                Error::Incompatible => "incompatible",
                Error::LimitExceeded {
                    limit: Limit::RequestPayload,
                    actual: 1024,
                    ..
                } => "limit",
                Error::Status(1) => "status",
                other => panic!("{other:?}"),
            };
            assert_eq!(got, ok);
        }
    }
    // Header version mismatch on the ack.
    let mut m = encode_ack(STATUS_OK, &good);
    m[4] = 2;
    assert!(matches!(
        check_ack(&m, m.len(), &hello, &cfg),
        Err(Error::Incompatible)
    ));
    // Wrong code / kind.
    let mut m = encode_ack(STATUS_OK, &good);
    m[12] = 1;
    assert!(matches!(
        check_ack(&m, m.len(), &hello, &cfg),
        Err(Error::Protocol(Violation::Handshake))
    ));
    // Truncated OK ack.
    let m = encode_ack(STATUS_OK, &good);
    assert!(check_ack(&m[..60], 60, &hello, &cfg).is_err());
}
