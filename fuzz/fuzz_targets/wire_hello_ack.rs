#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::wire::HelloAck;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = HelloAck::decode(data) {
        assert_eq!(HelloAck::decode(&h.encode()), Ok(h));
    }
});
