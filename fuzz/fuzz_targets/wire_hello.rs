#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::wire::{Hello, ServerOffer, negotiate};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Hello::decode(data) {
        assert_eq!(Hello::decode(&h.encode()), Ok(h));
    }
    let offer = ServerOffer {
        supported_profiles: 0x3,
        preferred_profiles: 0x2,
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 65536,
        packet_size: 65536,
        auth_token: 0xBE4C_4000_00C0_FFEE,
    };
    let _ = negotiate(data, &offer, 1);
});
