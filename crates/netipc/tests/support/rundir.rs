//! Unique run directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use netipc::transport::Endpoint;

/// A unique run directory under the system temp dir, removed on drop.
pub struct TestDir {
    path: PathBuf,
}

static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDir {
    /// Creates `{tmp}/nipc-{pid}-{counter}-{nanos}`.
    pub fn new() -> Self {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("nipc-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TestDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The endpoint of `service` in this directory.
    pub fn endpoint(&self, service: &str) -> Endpoint {
        Endpoint::new(&self.path, service).unwrap()
    }

    /// Names of the entries in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Names of the SHM region files in the directory.
    pub fn shm_files(&self) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|n| n.ends_with(".ipcshm"))
            .collect()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
