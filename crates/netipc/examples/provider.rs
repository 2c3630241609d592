//! A `cgroups-snapshot` provider serving a production-shaped corpus.
//!
//! Run: `cargo run --example provider -- RUN_DIR [SECONDS]`
//!
//! Binds `RUN_DIR/cgroups-snapshot.sock` (mode 0600; RUN_DIR is created
//! 0700 when missing; on Windows the endpoint's Named Pipe), prints
//! `READY <socket or pipe>`, serves 200 cgroups from
//! `netipc::codec::corpus` (the generation grows by one per request) for
//! SECONDS (default 60), then stops: the socket and every SHM file are
//! removed. Pair it with the `consumer` example.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::codec::corpus::cgroups_corpus;
use netipc::service::server::{Server, ServerConfig};

/// The token provider and consumer share.
const AUTH_TOKEN: u64 = 0x4E49_5043_4558_0001;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let run_dir = args.next().ok_or("usage: provider RUN_DIR [SECONDS]")?;
    let seconds: u64 = match args.next() {
        Some(s) => s.parse()?,
        None => 60,
    };
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(&run_dir)?;

    let items = cgroups_corpus(200, 1);
    let generation = AtomicU64::new(0);
    let cfg = ServerConfig {
        auth_token: AUTH_TOKEN,
        ..ServerConfig::new(&run_dir, "cgroups-snapshot")
    };
    let server = Server::cgroups_snapshot(&cfg, move |b: &mut CgroupsSnapshotBuilder| {
        b.set_systemd_enabled(1);
        b.set_generation(generation.fetch_add(1, Ordering::Relaxed) + 1);
        for item in &items {
            b.add(item)?;
        }
        Ok(())
    })?;
    #[cfg(unix)]
    println!("READY {}", server.endpoint().socket_path().display());
    #[cfg(windows)]
    println!("READY {}", server.endpoint().pipe_name());
    std::thread::sleep(Duration::from_secs(seconds));
    server.stop();
    let s = server.stats();
    println!(
        "served {} requests in {} sessions",
        s.requests, s.sessions_started
    );
    Ok(())
}
