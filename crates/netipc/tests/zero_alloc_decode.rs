//! Decoding performs zero heap allocations: every decoder, on every
//! message type, is run under a counting global allocator.

#[path = "support/mod.rs"]
mod support;

use netipc::codec::apps_lookup::{AppsLookupRequestView, AppsLookupResponseView};
use netipc::codec::cgroups_lookup::{CgroupsLookupRequestView, CgroupsLookupResponseView};
use netipc::codec::cgroups_snapshot::{CgroupsSnapshotRequest, CgroupsSnapshotView};
use netipc::codec::increment::decode_increment;
use netipc::codec::string_reverse::StringReverseView;
use netipc::wire::{BatchView, ChunkHeader, Header, Hello, HelloAck};

use support::alloc::{Counting, allocations_in};
use support::conformance::vector_bytes as vector;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn every_decoder_is_allocation_free() {
    let header = vector("header.bin");
    let chunk = vector("chunk_header.bin");
    let hello = vector("hello.bin");
    let hello_ack = vector("hello_ack.bin");
    let batch = vector("batch_string_reverse_3.bin");
    let inc = vector("increment_req.bin");
    let sr = vector("string_reverse_req.bin");
    let snap_req = vector("cgroups_req.bin");
    let snap = vector("cgroups_resp.bin");
    let cl_req = vector("cgroups_lookup_req.bin");
    let cl_resp = vector("cgroups_lookup_resp_known_with_labels.bin");
    let al_req = vector("apps_lookup_req.bin");
    let al_resp = vector("apps_lookup_resp_known_full.bin");

    let n = allocations_in(|| {
        assert!(Header::decode(&header).is_ok());
        assert!(ChunkHeader::decode(&chunk).is_ok());
        assert!(Hello::decode(&hello).is_ok());
        assert!(HelloAck::decode(&hello_ack).is_ok());
        let b = BatchView::decode(&batch, 3).unwrap();
        for item in b.iter() {
            assert!(StringReverseView::decode(item).is_ok());
        }
        assert_eq!(decode_increment(&inc).unwrap(), 41);
        assert!(StringReverseView::decode(&sr).is_ok());
        assert!(CgroupsSnapshotRequest::decode(&snap_req).is_ok());
        let s = CgroupsSnapshotView::decode(&snap).unwrap();
        assert_eq!(s.iter().map(|i| i.name.len()).sum::<usize>(), 39);
        let r = CgroupsLookupRequestView::decode(&cl_req).unwrap();
        assert_eq!(r.iter().count(), 2);
        let c = CgroupsLookupResponseView::decode(&cl_resp).unwrap();
        assert_eq!(c.items().map(|i| i.labels().count()).sum::<usize>(), 2);
        let a = AppsLookupRequestView::decode(&al_req).unwrap();
        assert_eq!(a.iter().count(), 3);
        let a = AppsLookupResponseView::decode(&al_resp).unwrap();
        assert_eq!(a.len(), 1);
        // Rejections do not allocate either.
        assert!(CgroupsSnapshotView::decode(&snap[..30]).is_err());
        assert!(Header::decode(&[0u8; 32]).is_err());
    });
    assert_eq!(n, 0, "decoding allocated {n} times");
}
