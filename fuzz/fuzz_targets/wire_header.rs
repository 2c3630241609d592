#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::wire::{Header, Limits};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode(data) {
        let _ = h.check_limits(
            Limits {
                max_payload: 4096,
                max_items: 16,
            },
            true,
        );
        assert_eq!(Header::decode(&h.encode()), Ok(h));
    }
});
