//! SHM-profile tests of the UDS session layer: the handshake selecting
//! SHM, round trips over the region, fallback to the baseline when the
//! region cannot be created, and attach failure on the client.
//!
//! Most need the real `ShmRegion` (the `shm` branch) and are ignored until
//! it is merged.

// Runs over the Unix transports (UDS / POSIX SHM).
#![cfg(unix)]

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use netipc::protocol::*;
use netipc::transport::uds::{ClientConfig, ClientSession, Listener, ServerConfig};
use netipc::transport::{Deadline, Endpoint};
use netipc::wire::{Header, HelloAck};
use netipc::{Error, Violation};

use support::raw::*;
use support::test_server::*;
use support::{TOKEN, TestDir, soon};

const SHM: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID;

fn shm_server_config() -> ServerConfig {
    ServerConfig {
        supported_profiles: SHM,
        preferred_profiles: SHM,
        max_request_payload_bytes: 1 << 20,
        max_response_payload_bytes: 1 << 20,
        ..base_server_config()
    }
}

fn shm_client_config() -> ClientConfig {
    ClientConfig {
        supported_profiles: SHM,
        preferred_profiles: SHM,
        auth_token: TOKEN,
        max_request_payload_bytes: 1 << 20,
        max_request_batch_items: 64,
        max_response_payload_bytes: 1 << 20,
        max_response_batch_items: 64,
        ..ClientConfig::default()
    }
}

fn connect(ep: &Endpoint) -> ClientSession {
    ClientSession::connect(ep, &shm_client_config(), soon(), None).unwrap()
}

#[test]
fn handshake_selects_shm_and_region_exists_before_ack() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-hs");
    let listener = Listener::bind(&ep).unwrap();
    let raw = raw_connect(&ep.socket_path());
    let pending = listener.accept(soon(), None).unwrap();
    let mut hello = base_hello();
    hello.supported_profiles = SHM;
    hello.preferred_profiles = SHM;
    assert!(raw_send(&raw, &hello_msg(&hello)));
    let s = pending
        .handshake(&shm_server_config(), soon(), None)
        .unwrap();
    assert!(s.is_shm());
    let reply = raw_recv(&raw).unwrap();
    let h = Header::decode(&reply).unwrap();
    assert_eq!(h.transport_status, STATUS_OK);
    let ack = HelloAck::decode(&reply[32..]).unwrap();
    assert_eq!(ack.selected_profile, PROFILE_SHM_HYBRID);
    // The region is ready the moment the ACK is readable.
    assert!(ep.shm_path(ack.session_id).exists());
}

#[test]
fn shm_round_trips_single_large_and_batch() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-rt");
    let server = TestServer::start(&ep, shm_server_config(), echo());
    let mut c = connect(&ep);
    assert!(c.is_shm());
    assert_eq!(c.selected_profile(), PROFILE_SHM_HYBRID);
    for len in [0usize, 1, 8, 4096, 100_000, 1 << 20] {
        let p: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
        let m = c.call(METHOD_INCREMENT, &p, soon(), None).unwrap();
        assert!(m.payload == &p[..], "len {len}");
    }
    let items: Vec<[u8; 8]> = (0..64u64).map(|v| v.to_ne_bytes()).collect();
    let refs: Vec<&[u8]> = items.iter().map(|v| &v[..]).collect();
    let m = c.call_batch(METHOD_INCREMENT, &refs, soon(), None).unwrap();
    assert_eq!(m.item_count(), 64);
    assert!(m.items().eq(refs.iter().copied()));
    // One message in flight per direction.
    c.send_request(1, 1000, b"first").unwrap();
    assert!(matches!(
        c.send_request(1, 1001, b"second"),
        Err(Error::Protocol(Violation::ShmBusy))
    ));
    assert!(!c.is_broken());
    assert_eq!(c.recv_response(soon(), None).unwrap().payload, b"first");
    drop(c);
    server.stop();
}

#[test]
fn shm_timeout_keeps_session_and_hangup_is_seen() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-hup");
    let server = TestServer::start(
        &ep,
        shm_server_config(),
        Arc::new(|m: &netipc::transport::uds::Message<'_>| {
            if m.payload == b"close" {
                Reply::Close
            } else if m.payload == b"wait" {
                Reply::Nothing
            } else {
                Reply::Single(m.payload.to_vec())
            }
        }),
    );
    let mut c = connect(&ep);
    c.send_request(1, 1, b"wait").unwrap();
    assert!(matches!(
        c.recv_response(Deadline::after(Duration::from_millis(100)), None),
        Err(Error::Timeout)
    ));
    assert!(!c.is_broken());
    drop(c);
    let mut c = connect(&ep);
    c.send_request(1, 1, b"close").unwrap();
    assert!(c.recv_response(soon(), None).is_err());
    assert!(c.is_broken());
    assert_eq!(c.failed_message_ids(), &[1]);
    server.stop();
}

#[test]
fn many_concurrent_shm_sessions() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-many");
    let server = TestServer::start(&ep, shm_server_config(), increment());
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let ep = ep.clone();
            std::thread::spawn(move || {
                let mut c = connect(&ep);
                assert!(c.is_shm());
                let mut v = t as u64;
                for _ in 0..100 {
                    let m = c
                        .call(METHOD_INCREMENT, &v.to_ne_bytes(), soon(), None)
                        .unwrap();
                    let r = u64::from_ne_bytes(m.payload.try_into().unwrap());
                    assert_eq!(r, v + 1);
                    v = r;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.stop();
}

#[test]
fn server_falls_back_to_baseline_when_region_creation_fails() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-fallback");
    let server = TestServer::start(&ep, shm_server_config(), echo());
    // Occupy the region path of the next two sessions with directories.
    std::fs::create_dir(ep.shm_path(1)).unwrap();
    std::fs::create_dir(ep.shm_path(2)).unwrap();
    let mut c = connect(&ep);
    assert_eq!(c.session_id(), 1);
    assert_eq!(c.selected_profile(), PROFILE_BASELINE);
    assert!(!c.is_shm());
    assert_eq!(
        c.call(1, b"baseline", soon(), None).unwrap().payload,
        b"baseline"
    );
    // A client without the baseline is rejected instead.
    let shm_only = ClientConfig {
        supported_profiles: PROFILE_SHM_HYBRID,
        preferred_profiles: PROFILE_SHM_HYBRID,
        ..shm_client_config()
    };
    assert!(matches!(
        ClientSession::connect(&ep, &shm_only, soon(), None),
        Err(Error::Unsupported)
    ));
    drop(c);
    server.stop();
}

/// Works with the placeholder too: a server that claims SHM without a
/// region makes the client fail with ShmAttach (reconnect without SHM).
#[test]
fn client_attach_failure_is_shm_attach() {
    let dir = TestDir::new();
    let ep = dir.endpoint("shm-attach");
    let lfd = raw_listen(&ep.socket_path());
    let ep2 = ep.clone();
    let client = std::thread::spawn(move || {
        let cfg = ClientConfig {
            shm_attach_timeout: Duration::from_millis(100),
            ..shm_client_config()
        };
        ClientSession::connect(&ep2, &cfg, soon(), None).unwrap_err()
    });
    let s = raw_accept(&lfd);
    raw_recv(&s).unwrap();
    let ack = HelloAck {
        server_supported_profiles: SHM,
        intersection_profiles: SHM,
        selected_profile: PROFILE_SHM_HYBRID,
        agreed_max_request_payload_bytes: 4096,
        agreed_max_request_batch_items: 1,
        agreed_max_response_payload_bytes: 65536,
        agreed_max_response_batch_items: 1,
        agreed_packet_size: 4096,
        session_id: 77,
    };
    let mut m = Header::control(CODE_HELLO_ACK, STATUS_OK, 48)
        .encode()
        .to_vec();
    m.extend_from_slice(&ack.encode());
    assert!(raw_send(&s, &m));
    let e = client.join().unwrap();
    assert!(matches!(e, Error::ShmAttach(_)), "{e:?}");
    // The client closed the session.
    assert_eq!(raw_recv(&s), None);
}
