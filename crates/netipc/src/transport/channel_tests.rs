//! The shared framing state machine over an in-memory [`PacketLink`]:
//! the same checks every transport gets, independent of any OS object.

use std::collections::VecDeque;

use crate::error::{Error, Result, Violation};
use crate::protocol::{HEADER_LEN, KIND_REQUEST, KIND_RESPONSE};
use crate::transport::abort::{AbortHandle, Deadline};
use crate::transport::channel::{Channel, Packet, PacketLink};
use crate::transport::region_layout::RegionLayout;
use crate::wire::{ChunkHeader, Header, Limits};

/// Packets queued in memory; an empty queue is a timeout.
#[derive(Debug, Default)]
struct MemLink {
    inbound: VecDeque<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

fn store(pkt: &[u8], dst: &mut [u8]) -> Packet {
    let n = pkt.len().min(dst.len());
    dst[..n].copy_from_slice(&pkt[..n]);
    Packet {
        stored: n,
        truncated: pkt.len() > n,
    }
}

impl PacketLink for MemLink {
    type Shm = ();

    fn send_packet(&mut self, head: &[u8], body: &[u8], _: Deadline) -> Result<()> {
        self.sent.push([head, body].concat());
        Ok(())
    }

    fn recv_first(
        &mut self,
        buf: &mut [u8],
        _: Deadline,
        _: Option<&AbortHandle>,
    ) -> Result<Packet> {
        let pkt = self.inbound.pop_front().ok_or(Error::Timeout)?;
        Ok(store(&pkt, buf))
    }

    fn recv_split(
        &mut self,
        head: &mut [u8; HEADER_LEN],
        body: &mut [u8],
        _: Deadline,
        _: Option<&AbortHandle>,
    ) -> Result<Packet> {
        let pkt = self.inbound.pop_front().ok_or(Error::Timeout)?;
        let h = store(&pkt, head);
        let b = store(&pkt[h.stored..], body);
        Ok(Packet {
            stored: h.stored + b.stored,
            truncated: b.truncated,
        })
    }

    fn shm_send(_: &mut (), _: &[u8]) -> Result<()> {
        Err(Error::InvalidState("no SHM here"))
    }

    fn shm_recv(
        &self,
        _: &mut (),
        _: &mut Vec<u8>,
        _: Deadline,
        _: Option<&AbortHandle>,
    ) -> Result<()> {
        Err(Error::InvalidState("no SHM here"))
    }
}

const PACKET: u32 = 64;
const LIMITS: Limits = Limits {
    max_payload: 1024,
    max_items: 4,
};

fn client() -> Channel<MemLink> {
    let link = MemLink::default();
    Channel::new(
        link,
        PACKET,
        KIND_REQUEST,
        LIMITS,
        KIND_RESPONSE,
        LIMITS,
        None,
    )
}

fn server_with(inbound: Vec<Vec<u8>>) -> Channel<MemLink> {
    let link = MemLink {
        inbound: inbound.into(),
        sent: Vec::new(),
    };
    Channel::new(
        link,
        PACKET,
        KIND_RESPONSE,
        LIMITS,
        KIND_REQUEST,
        LIMITS,
        None,
    )
}

/// The packets a client sends for a request of `payload`.
fn packets_of(payload: &[u8]) -> Vec<Vec<u8>> {
    let mut c = client();
    let h = Header::request(7, 1, payload.len() as u32);
    c.send(&h, payload).unwrap();
    c.link().sent.clone()
}

#[test]
fn chunked_message_round_trips() {
    let payload: Vec<u8> = (0..200u8).collect();
    let pkts = packets_of(&payload);
    // 32 payload bytes per packet after the first header.
    assert_eq!(pkts.len(), 7);
    assert!(pkts.iter().all(|p| p.len() <= PACKET as usize));
    let mut s = server_with(pkts);
    let (h, range) = s.recv(Deadline::NEVER, None).unwrap();
    assert_eq!((h.code, h.message_id), (7, 1));
    assert_eq!(s.payload(range), &payload[..]);
    assert!(!s.is_broken());
}

#[test]
fn timeout_before_a_message_keeps_the_session() {
    let mut s = server_with(Vec::new());
    assert!(matches!(s.recv(Deadline::NEVER, None), Err(Error::Timeout)));
    assert!(!s.is_broken());
}

#[test]
fn timeout_inside_a_message_ends_the_session() {
    let mut pkts = packets_of(&[5u8; 100]);
    pkts.truncate(2);
    let mut s = server_with(pkts);
    assert!(matches!(s.recv(Deadline::NEVER, None), Err(Error::Timeout)));
    assert!(s.is_broken());
    assert!(matches!(
        s.recv(Deadline::NEVER, None),
        Err(Error::InvalidState(_))
    ));
}

/// Damages the packets of one message.
type Spoil = fn(&mut Vec<Vec<u8>>);

#[test]
fn continuation_checks() {
    let cases: [(Spoil, Violation); 3] = [
        (
            |p| {
                let mut c = ChunkHeader::decode(&p[1][..HEADER_LEN]).unwrap();
                c.message_id += 1;
                p[1][..HEADER_LEN].copy_from_slice(&c.encode());
            },
            Violation::ChunkMessageId,
        ),
        (|p| p.swap(1, 2), Violation::ChunkIndex),
        (|p| p[1].push(0), Violation::PacketLength),
    ];
    for (spoil, want) in cases {
        let mut pkts = packets_of(&[9u8; 100]);
        spoil(&mut pkts);
        let mut s = server_with(pkts);
        match s.recv(Deadline::NEVER, None) {
            Err(Error::Protocol(v)) => assert_eq!(v, want),
            other => panic!("expected {want:?}, got {other:?}"),
        }
        assert!(s.is_broken());
        // The outer header stays available for a final error reply.
        assert_eq!(s.last_header().map(|h| h.message_id), Some(1));
    }
}

#[test]
fn an_oversized_single_packet_is_a_packet_length_violation() {
    let mut pkt = Header::request(7, 1, 8).encode().to_vec();
    pkt.extend([0u8; 9]);
    let mut s = server_with(vec![pkt]);
    assert!(matches!(
        s.recv(Deadline::NEVER, None),
        Err(Error::Protocol(Violation::PacketLength))
    ));
}

#[test]
fn over_limit_sends_are_local_errors() {
    let mut c = client();
    let big = vec![0u8; 1025];
    let h = Header::request(7, 1, big.len() as u32);
    assert!(matches!(c.send(&h, &big), Err(Error::LimitExceeded { .. })));
    assert!(!c.is_broken());
    assert!(c.link().sent.is_empty());
}

#[test]
fn region_layout_rules() {
    let l = RegionLayout::after_header(64, 32, 100).unwrap();
    assert_eq!((l.request_offset, l.request_capacity), (64, 64));
    assert_eq!((l.response_offset, l.response_capacity), (128, 192));
    assert_eq!(l.mapped_len_after(64), 320);
    assert_eq!(l.directions(true, 1, 2), (((64, 64), 1), ((128, 192), 2)));
    assert_eq!(l.directions(false, 1, 2), (((128, 192), 2), ((64, 64), 1)));
    assert!(l.check_past_header(64).is_ok());
    assert!(l.check_past_header(128).is_err());
    assert!(l.check_offsets_aligned(64).is_ok());
    assert!(l.check_not_empty().is_ok());
    assert!(l.check_placement(l.request_end(), 320, "outside").is_ok());
    assert!(matches!(
        l.check_placement(l.request_end(), 319, "outside"),
        Err(Error::ShmAttach("outside"))
    ));
    assert!(l.check_room(32, 160).is_ok());
    assert!(l.check_room(33, 160).is_err());
    assert!(l.check_room(32, 161).is_err());
    assert!(RegionLayout::after_header(64, u32::MAX, 0).is_err());
}
