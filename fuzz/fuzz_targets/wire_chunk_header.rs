#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::wire::ChunkHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = ChunkHeader::decode(data) {
        assert_eq!(ChunkHeader::decode(&h.encode()), Ok(h));
    }
});
