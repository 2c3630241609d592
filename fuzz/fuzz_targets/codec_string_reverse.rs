#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::codec::string_reverse::{StringReverseView, encode_string_reverse};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = StringReverseView::decode(data) {
        let mut out = Vec::new();
        encode_string_reverse(v.as_bytes(), &mut out).unwrap();
        assert_eq!(StringReverseView::decode(&out).unwrap().as_bytes(), v.as_bytes());
    }
});
