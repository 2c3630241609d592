//! Win SHM regions end to end in one process (under Wine): both ends of a
//! region, the peer played through the shared header where a test needs a
//! hostile or broken publication.

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use super::layout::{REGION_MAGIC, RegionHeader};
use super::region::WinShmRegion;
use crate::error::{Error, Violation};
use crate::protocol::{HEADER_LEN, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};
use crate::transport::windows::ShmConfig;
use crate::transport::{AbortHandle, Deadline, Endpoint};
use crate::wire::Header;

const TOKEN: u64 = 0x5EED_0000_0000_0042;
const PROFILES: [u32; 2] = [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT];

fn patience() -> Deadline {
    Deadline::after(Duration::from_secs(30))
}

fn endpoint(tag: &str) -> Endpoint {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = format!(
        r"C:\netipc-shm-tests\{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    Endpoint::new(dir, tag).unwrap()
}

fn never_gone() -> bool {
    false
}

/// Server and client ends of one fresh region.
fn pair(tag: &str, profile: u32, req: u32, resp: u32) -> (WinShmRegion, WinShmRegion) {
    let ep = endpoint(tag);
    let s = WinShmRegion::create(&ep, TOKEN, profile, 1, req, resp, &ShmConfig::default()).unwrap();
    let c = WinShmRegion::attach(&ep, TOKEN, profile, 1, req, resp).unwrap();
    (s, c)
}

fn request(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut m = Header::request(9, id, payload.len() as u32)
        .encode()
        .to_vec();
    m.extend_from_slice(payload);
    m
}

fn response(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut m = Header::response(9, id, payload.len() as u32)
        .encode()
        .to_vec();
    m.extend_from_slice(payload);
    m
}

/// Plays the server publishing `len` as the response length without a
/// proper message.
fn publish_raw_response(h: &RegionHeader, len: i32) {
    h.resp_len.store(len, Ordering::SeqCst);
    h.resp_seq.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn round_trips_in_one_thread_including_full_areas() {
    for profile in PROFILES {
        let (mut s, mut c) = pair("one-thread", profile, 100, 1000);
        assert_eq!(s.profile(), profile);
        assert_eq!(c.layout(), s.layout());
        assert_eq!(c.layout().request_capacity, 192);
        assert_eq!(c.layout().response_capacity, 1088);
        assert_eq!(
            c.spin_tries(),
            crate::transport::windows::SHM_HYBRID_DEFAULT_SPIN_TRIES
        );
        let mut rx = Vec::new();
        for i in 0..20u64 {
            // Alternate small messages and messages filling the area.
            let (q, a) = if i % 2 == 0 {
                (vec![i as u8; 3], vec![!(i as u8); 5])
            } else {
                (vec![i as u8; 160], vec![!(i as u8); 1056])
            };
            c.send(&request(i, &q)).unwrap();
            s.recv(&mut rx, patience(), None, &never_gone).unwrap();
            assert_eq!(rx, request(i, &q));
            s.send(&response(i, &a)).unwrap();
            c.recv(&mut rx, patience(), None, &never_gone).unwrap();
            assert_eq!(rx, response(i, &a));
        }
        // One byte over the area is refused before anything is written.
        let e = c.send(&request(99, &[0; 161])).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { .. }), "{e:?}");
    }
}

#[test]
fn round_trips_across_threads() {
    for profile in PROFILES {
        let (mut s, mut c) = pair("threads", profile, 64, 64);
        let server = thread::spawn(move || {
            let mut rx = Vec::new();
            let mut n = 0u32;
            loop {
                match s.recv(&mut rx, patience(), None, &never_gone) {
                    Ok(()) => {}
                    Err(Error::PeerClosed) => return n,
                    Err(e) => panic!("{e:?}"),
                }
                let h = Header::decode(&rx).unwrap();
                let mut answer = rx[HEADER_LEN..].to_vec();
                answer.reverse();
                s.send(&response(h.message_id, &answer)).unwrap();
                n += 1;
            }
        });
        let mut rx = Vec::new();
        for i in 0..500u64 {
            let q = i.to_le_bytes();
            c.send(&request(i, &q)).unwrap();
            c.recv(&mut rx, patience(), None, &never_gone).unwrap();
            let mut want = q;
            want.reverse();
            assert_eq!(rx, response(i, &want));
        }
        drop(c);
        assert_eq!(server.join().unwrap(), 500);
    }
}

#[test]
fn one_message_in_flight_per_direction() {
    let (mut s, mut c) = pair("misuse", PROFILE_SHM_HYBRID, 64, 64);
    let e = s.send(&response(1, b"x")).unwrap_err();
    assert!(matches!(e, Error::InvalidState(_)), "{e:?}");
    let mut rx = Vec::new();
    let e = c.recv(&mut rx, patience(), None, &never_gone).unwrap_err();
    assert!(matches!(e, Error::InvalidState(_)), "{e:?}");
    c.send(&request(1, b"a")).unwrap();
    let e = c.send(&request(2, b"b")).unwrap_err();
    assert!(matches!(e, Error::Protocol(Violation::ShmBusy)), "{e:?}");
    s.recv(&mut rx, patience(), None, &never_gone).unwrap();
    let e = s.recv(&mut rx, patience(), None, &never_gone).unwrap_err();
    assert!(matches!(e, Error::InvalidState(_)), "{e:?}");
    // A message whose header disagrees with its length is not sent.
    let mut bad = response(1, b"abc");
    bad.pop();
    assert!(matches!(s.send(&bad), Err(Error::InvalidArgument(_))));
}

#[test]
fn attach_validates_the_header_as_hostile_input() {
    let ep = endpoint("validate");
    let s = WinShmRegion::create(
        &ep,
        TOKEN,
        PROFILE_SHM_HYBRID,
        1,
        64,
        64,
        &ShmConfig::default(),
    )
    .unwrap();
    let h = s.header();
    let attach = |req, resp| WinShmRegion::attach(&ep, TOKEN, PROFILE_SHM_HYBRID, 1, req, resp);
    assert!(attach(64, 64).is_ok());
    // Each case: (field, hostile value, expected rule).
    let cases: [(&AtomicU32, u32, &str); 9] = [
        (&h.magic, 0x1234_5678, "bad region magic"),
        (&h.version, 2, "unsupported region version"),
        (&h.header_len, 64, "bad region header_len"),
        (
            &h.profile,
            PROFILE_SHM_BUSYWAIT,
            "region profile differs from the negotiated one",
        ),
        (&h.request_offset, 160, "area offset not 64-byte aligned"),
        (&h.request_offset, 0, "area offset inside the region header"),
        (&h.response_capacity, 0, "zero area capacity"),
        (
            &h.response_offset,
            128,
            "response area overlaps the request area",
        ),
        // A capacity pointing far past the mapping.
        (&h.response_capacity, 1 << 30, "area outside the mapping"),
    ];
    for (field, value, rule) in cases {
        let good = field.swap(value, Ordering::SeqCst);
        match attach(64, 64) {
            Err(Error::ShmAttach(r)) => assert_eq!(r, rule),
            other => panic!("{rule}: expected ShmAttach, got {other:?}"),
        }
        field.store(good, Ordering::SeqCst);
    }
    // Capacities too small for the agreed budgets.
    match attach(97, 64) {
        Err(Error::ShmAttach(r)) => assert_eq!(r, "request area smaller than the agreed payload"),
        other => panic!("{other:?}"),
    }
    match attach(64, 97) {
        Err(Error::ShmAttach(r)) => {
            assert_eq!(r, "response area smaller than the agreed payload")
        }
        other => panic!("{other:?}"),
    }
    // A header not written yet is retryable.
    h.magic.store(0, Ordering::SeqCst);
    assert!(matches!(attach(64, 64), Err(Error::ShmNotReady)));
    h.magic.store(REGION_MAGIC, Ordering::SeqCst);
    // A hostile spin count is clamped.
    h.spin_tries.store(u32::MAX, Ordering::SeqCst);
    assert_eq!(attach(64, 64).unwrap().spin_tries(), super::MAX_SPIN_TRIES);
}

#[test]
fn missing_objects_and_squatted_names() {
    let ep = endpoint("missing");
    // No mapping under that name: not ready (the session turns it into
    // ShmAttach once the attach timeout passes).
    assert!(matches!(
        WinShmRegion::attach(&ep, TOKEN, PROFILE_SHM_HYBRID, 7, 64, 64),
        Err(Error::ShmNotReady)
    ));
    let cfg = ShmConfig::default();
    let s = WinShmRegion::create(&ep, TOKEN, PROFILE_SHM_BUSYWAIT, 7, 64, 64, &cfg).unwrap();
    // Another token or session id derives other names.
    assert!(matches!(
        WinShmRegion::attach(&ep, TOKEN + 1, PROFILE_SHM_BUSYWAIT, 7, 64, 64),
        Err(Error::ShmNotReady)
    ));
    assert!(matches!(
        WinShmRegion::attach(&ep, TOKEN, PROFILE_SHM_BUSYWAIT, 8, 64, 64),
        Err(Error::ShmNotReady)
    ));
    // A name that exists already is never reused by a creator.
    let e = WinShmRegion::create(&ep, TOKEN, PROFILE_SHM_BUSYWAIT, 7, 64, 64, &cfg).unwrap_err();
    assert!(matches!(e, Error::ShmAllocate(_)), "{e:?}");
    drop(s);
    // Gone with the last handle: the name is free again.
    assert!(WinShmRegion::create(&ep, TOKEN, PROFILE_SHM_BUSYWAIT, 7, 64, 64, &cfg).is_ok());
}

#[test]
fn zero_negative_and_oversized_lengths_are_protocol_errors() {
    for (len, what) in [
        (0, "zero"),
        (-5, "negative"),
        (16, "short"),
        (64 + 64, "over"),
    ] {
        let (mut s, mut c) = pair("lengths", PROFILE_SHM_HYBRID, 32, 32);
        let mut rx = Vec::new();
        c.send(&request(1, b"q")).unwrap();
        s.recv(&mut rx, patience(), None, &never_gone).unwrap();
        publish_raw_response(s.header(), len);
        let e = c.recv(&mut rx, patience(), None, &never_gone).unwrap_err();
        assert!(
            matches!(e, Error::Protocol(Violation::ShmLength)),
            "{what}: {e:?}"
        );
        assert!(rx.is_empty());
    }
    // A length that disagrees with the copied header's payload_len.
    let (mut s, mut c) = pair("lengths", PROFILE_SHM_BUSYWAIT, 32, 32);
    let mut rx = Vec::new();
    c.send(&request(1, b"q")).unwrap();
    s.recv(&mut rx, patience(), None, &never_gone).unwrap();
    s.send(&response(1, b"abcd")).unwrap();
    let h = s.header();
    h.resp_len.store((HEADER_LEN + 2) as i32, Ordering::SeqCst);
    let e = c.recv(&mut rx, patience(), None, &never_gone).unwrap_err();
    assert!(matches!(e, Error::Protocol(Violation::ShmLength)), "{e:?}");
}

#[test]
fn a_publication_changing_during_the_copy_is_torn() {
    type Hook = fn(&RegionHeader);
    let bump_seq: Hook = |h| {
        h.resp_seq.fetch_add(1, Ordering::SeqCst);
    };
    let change_len: Hook = |h| {
        h.resp_len.store(HEADER_LEN as i32, Ordering::SeqCst);
    };
    for hook in [bump_seq, change_len] {
        let (mut s, mut c) = pair("torn", PROFILE_SHM_HYBRID, 32, 32);
        let mut rx = Vec::new();
        c.send(&request(1, b"q")).unwrap();
        s.recv(&mut rx, patience(), None, &never_gone).unwrap();
        s.send(&response(1, b"answer")).unwrap();
        c.copy_hook = Some(Box::new(hook));
        let e = c.recv(&mut rx, patience(), None, &never_gone).unwrap_err();
        assert!(matches!(e, Error::Protocol(Violation::ShmTorn)), "{e:?}");
    }
}

#[test]
fn close_flags_are_seen_in_both_directions() {
    for profile in PROFILES {
        // Client leaves while the server waits for a request.
        let (mut s, c) = pair("close", profile, 32, 32);
        let server = thread::spawn(move || {
            let mut rx = Vec::new();
            s.recv(&mut rx, Deadline::NEVER, None, &never_gone)
        });
        drop(c);
        let e = server.join().unwrap().unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");

        // Server leaves while the client waits for the response.
        let (mut s, mut c) = pair("close", profile, 32, 32);
        let mut rx = Vec::new();
        c.send(&request(1, b"q")).unwrap();
        s.recv(&mut rx, patience(), None, &never_gone).unwrap();
        let server = thread::spawn(move || drop(s));
        let e = c
            .recv(&mut rx, Deadline::NEVER, None, &never_gone)
            .unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
        server.join().unwrap();
    }
}

#[test]
fn a_dead_pipe_is_noticed_while_waiting() {
    for profile in PROFILES {
        let (mut s, _c) = pair("dead-pipe", profile, 32, 32);
        let mut rx = Vec::new();
        let gone = || true;
        let e = s.recv(&mut rx, Deadline::NEVER, None, &gone).unwrap_err();
        assert!(matches!(e, Error::PeerClosed), "{e:?}");
    }
}

#[test]
fn timeout_and_abort_leave_the_region_usable() {
    for profile in PROFILES {
        let (mut s, mut c) = pair("timeout", profile, 32, 32);
        let mut rx = Vec::new();
        c.send(&request(1, b"q")).unwrap();
        let e = c
            .recv(
                &mut rx,
                Deadline::after(Duration::from_millis(30)),
                None,
                &never_gone,
            )
            .unwrap_err();
        assert!(matches!(e, Error::Timeout), "{e:?}");

        // Abort from another thread while blocked without a deadline.
        let abort = AbortHandle::new().unwrap();
        let trigger = abort.clone();
        let t = thread::spawn(move || trigger.trigger());
        let e = c
            .recv(&mut rx, Deadline::NEVER, Some(&abort), &never_gone)
            .unwrap_err();
        assert!(matches!(e, Error::Aborted), "{e:?}");
        t.join().unwrap();
        abort.clear();

        // The answer still arrives afterwards.
        s.recv(&mut rx, patience(), None, &never_gone).unwrap();
        s.send(&response(1, b"late")).unwrap();
        c.recv(&mut rx, patience(), Some(&abort), &never_gone)
            .unwrap();
        assert_eq!(rx, response(1, b"late"));
    }
}

#[test]
fn mapping_and_events_carry_the_owner_only_dacl() {
    for profile in [PROFILE_SHM_HYBRID, PROFILE_SHM_BUSYWAIT] {
        let (s, _c) = pair(&format!("dacl-{profile}"), profile, 64, 64);
        let handles = s.object_handles();
        assert_eq!(
            handles.len(),
            if profile == PROFILE_SHM_HYBRID { 3 } else { 1 }
        );
        for h in handles {
            crate::transport::windows::security::tests::assert_object_is_owner_only(h);
        }
    }
}
