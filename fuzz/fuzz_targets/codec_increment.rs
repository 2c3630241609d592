#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::codec::increment::{decode_increment, encode_increment};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = decode_increment(data) {
        let mut out = Vec::new();
        encode_increment(v, &mut out);
        assert_eq!(out, data);
    }
});
