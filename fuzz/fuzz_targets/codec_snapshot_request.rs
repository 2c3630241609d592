#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::codec::cgroups_snapshot::CgroupsSnapshotRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = CgroupsSnapshotRequest::decode(data) {
        assert_eq!(CgroupsSnapshotRequest::decode(&r.to_bytes()).unwrap(), r);
    }
});
