//! Every level of the stack in one runnable program:
//! `cargo run --example levels`.
//!
//! The codec (pure bytes), a raw Level 1 session, a typed Level 2 client
//! and managed server, and the Level 3 cgroups cache. Each section is also
//! quoted in the README.

use std::time::Duration;

use netipc::cache::CgroupsCache;
use netipc::codec::cgroups_snapshot::{CgroupsSnapshotBuilder, CgroupsSnapshotView, simple_hash};
use netipc::protocol::METHOD_INCREMENT;
use netipc::service::client::{ClientConfig, IncrementClient};
use netipc::service::server::{HandlerError, Server, ServerConfig};
use netipc::transport::{self, ClientSession, Deadline, Endpoint, Listener};

const TOKEN: u64 = 0x5EED;

fn codec() -> netipc::Result<()> {
    let mut b = CgroupsSnapshotBuilder::new(Vec::new());
    b.reset(1, 42); // systemd_enabled, generation
    b.add_item(
        simple_hash(b"init.scope"),
        0,
        1,
        b"init.scope",
        b"/init.scope",
    )?;
    let payload = b.finish().to_vec();

    // Zero-copy: the view borrows `payload` and is valid while it lives.
    let view = CgroupsSnapshotView::decode(&payload)?;
    assert_eq!(view.generation(), 42);
    assert_eq!(view.item(0).name, b"init.scope");
    println!("codec: {} bytes, {} item", payload.len(), view.len());
    Ok(())
}

fn raw_session(run_dir: &std::path::Path) -> netipc::Result<()> {
    let endpoint = Endpoint::new(run_dir, "raw")?;
    // Linux: {run_dir}/raw.sock, mode 0600; Windows: a Named Pipe.
    let listener = Listener::bind(&endpoint)?;
    let server_cfg = transport::ServerConfig {
        auth_token: TOKEN,
        ..transport::ServerConfig::default()
    };
    let server = std::thread::spawn(move || -> netipc::Result<()> {
        let pending = listener.accept(Deadline::NEVER, None)?;
        // The handshake runs off the accept path, under its own deadline.
        let mut s =
            pending.handshake(&server_cfg, Deadline::after(Duration::from_secs(5)), None)?;
        let req = s.recv_request(Deadline::NEVER, None)?;
        let (code, id) = (req.header.code, req.header.message_id);
        let answer: Vec<u8> = req.payload.iter().rev().copied().collect();
        s.send_response(code, id, &answer)
    });
    let client_cfg = transport::ClientConfig {
        auth_token: TOKEN,
        ..transport::ClientConfig::default()
    };
    let deadline = Deadline::after(Duration::from_secs(5));
    let mut c = ClientSession::connect(&endpoint, &client_cfg, deadline, None)?;
    // Level 1 moves opaque payloads: any method code, any bytes.
    let reply = c.call(METHOD_INCREMENT, b"abc", deadline, None)?;
    println!("raw session: {:?}", String::from_utf8_lossy(reply.payload));
    server.join().expect("server thread")?;
    Ok(())
}

fn typed(run_dir: &std::path::Path) -> netipc::Result<()> {
    let cfg = ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::new(run_dir, "increment")
    };
    let server = Server::increment(&cfg, |v: u64| Ok::<u64, HandlerError>(v + 1))?;

    let mut client = IncrementClient::new(
        run_dir,
        "increment",
        ClientConfig {
            auth_token: TOKEN,
            ..ClientConfig::default()
        },
    )?;
    client.refresh(); // connect from the caller's own loop; no threads
    assert!(client.ready());
    println!("typed: 41 -> {}", client.call(41)?);
    println!("typed batch: {:?}", client.call_batch(&[1, 2, 3])?);
    println!("typed: SHM attached = {}", client.status().shm_attached);
    server.stop();
    Ok(())
}

fn cache(run_dir: &std::path::Path) -> netipc::Result<()> {
    let cfg = ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::new(run_dir, "cgroups-snapshot")
    };
    let server = Server::cgroups_snapshot(&cfg, |b: &mut CgroupsSnapshotBuilder| {
        b.set_generation(7);
        b.add_item(
            simple_hash(b"init.scope"),
            0,
            1,
            b"init.scope",
            b"/init.scope",
        )?;
        Ok(())
    })?;

    let cache = CgroupsCache::new(
        run_dir,
        "cgroups-snapshot",
        ClientConfig {
            auth_token: TOKEN,
            ..ClientConfig::default()
        },
    )?;
    cache.refresh()?; // keeps the previous table on any failure
    let guard = cache.read(); // no lock, no syscall
    let hit = guard.get(simple_hash(b"init.scope"), b"init.scope");
    println!(
        "cache: generation {}, hit {:?}",
        guard.generation(),
        hit.and_then(|e| e.path_str())
    );
    let owned = hit.map(|e| e.dup()); // outlives the guard
    drop(guard);
    println!(
        "cache: owned copy {:?}",
        owned.map(|e| String::from_utf8_lossy(&e.path).into_owned())
    );
    server.stop();
    Ok(())
}

fn main() -> netipc::Result<()> {
    let run_dir = std::env::temp_dir().join(format!("netipc-levels-{}", std::process::id()));
    std::fs::create_dir_all(&run_dir)?;
    let result = codec()
        .and_then(|()| raw_session(&run_dir))
        .and_then(|()| typed(&run_dir))
        .and_then(|()| cache(&run_dir));
    std::fs::remove_dir_all(&run_dir)?;
    result
}
