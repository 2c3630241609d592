#![no_main]
use libfuzzer_sys::fuzz_target;
use netipc::wire::BatchView;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    if let Ok(view) = BatchView::decode(rest, u32::from(n)) {
        for i in 0..view.len() {
            assert!(view.item(i).is_some());
        }
    }
});
