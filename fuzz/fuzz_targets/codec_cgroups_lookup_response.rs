#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::codec::cgroups_lookup::CgroupsLookupResponseView;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = CgroupsLookupResponseView::decode(data) {
        let owned = v.to_owned();
        let mut out = Vec::new();
        owned.encode(&mut out).unwrap();
        assert_eq!(CgroupsLookupResponseView::decode(&out).unwrap().to_owned(), owned);
    }
});
