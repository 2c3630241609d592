//! A `cgroups-snapshot` consumer: a Level 3 `CgroupsCache` refreshed from
//! the provider, then printed and queried.
//!
//! Run: `cargo run --example consumer -- RUN_DIR`
//!
//! Start the `provider` example with the same RUN_DIR first (the consumer
//! retries for up to 10 s while the provider is not there yet, as a
//! plugin would from its own loop).

use std::time::{Duration, Instant};

use netipc::cache::CgroupsCache;
use netipc::service::client::ClientConfig;

/// The token provider and consumer share.
const AUTH_TOKEN: u64 = 0x4E49_5043_4558_0001;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let run_dir = std::env::args().nth(1).ok_or("usage: consumer RUN_DIR")?;
    let cache = CgroupsCache::new(
        &run_dir,
        "cgroups-snapshot",
        ClientConfig {
            auth_token: AUTH_TOKEN,
            ..ClientConfig::default()
        },
    )?;
    // Refresh from the caller's loop; no provider yet is not an error.
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        match cache.refresh() {
            Ok(r) => break r,
            Err(e) if Instant::now() < deadline => {
                eprintln!("provider not ready ({e}); retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e.into()),
        }
    };
    println!(
        "{} cgroups, generation {}, client state {}",
        report.items,
        report.generation,
        cache.status().client.state
    );
    let guard = cache.read();
    println!("{:<10} {:>7} {:>7} NAME", "HASH", "OPTIONS", "ENABLED");
    for e in guard.iter().take(20) {
        println!(
            "{:08x}   {:>7} {:>7} {}",
            e.hash,
            format!("{:#x}", e.options),
            e.enabled,
            e.name_str().unwrap_or("?")
        );
    }
    if guard.len() > 20 {
        println!("... and {} more", guard.len() - 20);
    }
    // The hot path: lookups by (hash, name), no I/O, no allocation.
    if let Some(first) = guard.iter().next() {
        let hit = guard.get(first.hash, first.name).is_some();
        println!(
            "lookup of {} by (hash, name): {}",
            first.name_str().unwrap_or("?"),
            if hit { "hit" } else { "miss" }
        );
    }
    Ok(())
}
