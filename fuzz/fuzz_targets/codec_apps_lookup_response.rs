#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::codec::apps_lookup::AppsLookupResponseView;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = AppsLookupResponseView::decode(data) {
        let owned = v.to_owned();
        let mut out = Vec::new();
        owned.encode(&mut out).unwrap();
        assert_eq!(AppsLookupResponseView::decode(&out).unwrap().to_owned(), owned);
    }
});
