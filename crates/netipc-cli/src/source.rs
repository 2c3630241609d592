//! One interface for answering the three services, from either a JSON
//! dataset ([`DatasetProvider`]) or the live host
//! ([`crate::hostdata::HostProvider`]).
//!
//! A server holds a `DataSource` and calls it per request item. Nothing here
//! resolves or opens a cgroup path taken from a request: cgroup lookups are
//! map lookups.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::dataset::{
    AppsLookup, AppsLookupItem, CgroupLookupItem, CgroupsLookup, Dataset, DatasetError, Snapshot,
    load_any,
};
use crate::hostdata::HostProvider;
use netipc::codec::lookup::{LookupStatus, PidStatus};

/// The three data services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// `cgroups-snapshot`.
    CgroupsSnapshot,
    /// `cgroups-lookup`.
    CgroupsLookup,
    /// `apps-lookup`.
    AppsLookup,
}

impl Service {
    /// Every service.
    pub const ALL: [Service; 3] = [
        Service::CgroupsSnapshot,
        Service::CgroupsLookup,
        Service::AppsLookup,
    ];

    /// The specification's service name.
    pub fn name(self) -> &'static str {
        match self {
            Service::CgroupsSnapshot => "cgroups-snapshot",
            Service::CgroupsLookup => "cgroups-lookup",
            Service::AppsLookup => "apps-lookup",
        }
    }
}

/// Answers the data services.
pub trait DataSource {
    /// Whether this source has data for `service` (a dataset provider only
    /// serves what was loaded; the host serves everything).
    fn provides(&self, service: Service) -> bool;

    /// The generation to put in `service`'s responses.
    fn generation(&self, service: Service) -> u64;

    /// The full snapshot (shared; cheap to call per request).
    fn snapshot(&self) -> Arc<Snapshot>;

    /// The answer for one cgroup path (request bytes). Always returns an
    /// item: KNOWN, or a non-KNOWN status with empty name/labels. Its
    /// `path` is the request path (lossily decoded when not UTF-8); a wire
    /// server should echo the request bytes themselves.
    fn lookup_cgroup(&self, path: &[u8]) -> CgroupLookupItem;

    /// The answer for one PID. Always returns an item: KNOWN, or UNKNOWN
    /// with every other field empty.
    fn lookup_pid(&self, pid: u32) -> AppsLookupItem;
}

fn lossy(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Serves datasets loaded from JSON. Keys missing from a dataset answer
/// `UNKNOWN_PERMANENT` (cgroups: the data is fixed, it will not appear
/// later) and `UNKNOWN` (PIDs).
#[derive(Clone, Debug, Default)]
pub struct DatasetProvider {
    snapshot: Option<Arc<Snapshot>>,
    cgroups: Option<(u64, HashMap<String, CgroupLookupItem>)>,
    apps: Option<(u64, HashMap<u32, AppsLookupItem>)>,
}

impl DatasetProvider {
    /// A provider with nothing loaded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (replaces) the snapshot, after validating it.
    pub fn with_snapshot(mut self, s: Snapshot) -> Result<Self, DatasetError> {
        s.validate()?;
        self.snapshot = Some(Arc::new(s));
        Ok(self)
    }

    /// Adds (replaces) the cgroups lookup data, after validating it.
    pub fn with_cgroups_lookup(mut self, d: CgroupsLookup) -> Result<Self, DatasetError> {
        d.validate()?;
        let map = d.items.into_iter().map(|i| (i.path.clone(), i)).collect();
        self.cgroups = Some((d.generation, map));
        Ok(self)
    }

    /// Adds (replaces) the apps lookup data, after validating it.
    pub fn with_apps_lookup(mut self, d: AppsLookup) -> Result<Self, DatasetError> {
        d.validate()?;
        let map = d.items.into_iter().map(|i| (i.pid, i)).collect();
        self.apps = Some((d.generation, map));
        Ok(self)
    }

    /// Adds a dataset of any shape.
    pub fn with_dataset(self, d: Dataset) -> Result<Self, DatasetError> {
        match d {
            Dataset::Snapshot(s) => self.with_snapshot(s),
            Dataset::CgroupsLookup(c) => self.with_cgroups_lookup(c),
            Dataset::AppsLookup(a) => self.with_apps_lookup(a),
        }
    }

    /// Loads each file (any shape, see
    /// [`parse_any`](crate::dataset::parse_any)); a later file of the same
    /// shape replaces an earlier one.
    pub fn load_files<P: AsRef<Path>>(files: &[P]) -> Result<Self, DatasetError> {
        let mut p = Self::new();
        for f in files {
            p = p.with_dataset(load_any(f.as_ref())?)?;
        }
        Ok(p)
    }
}

impl DataSource for DatasetProvider {
    fn provides(&self, service: Service) -> bool {
        match service {
            Service::CgroupsSnapshot => self.snapshot.is_some(),
            Service::CgroupsLookup => self.cgroups.is_some(),
            Service::AppsLookup => self.apps.is_some(),
        }
    }

    fn generation(&self, service: Service) -> u64 {
        match service {
            Service::CgroupsSnapshot => self.snapshot.as_ref().map_or(0, |s| s.generation),
            Service::CgroupsLookup => self.cgroups.as_ref().map_or(0, |c| c.0),
            Service::AppsLookup => self.apps.as_ref().map_or(0, |a| a.0),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.clone().unwrap_or_default()
    }

    fn lookup_cgroup(&self, path: &[u8]) -> CgroupLookupItem {
        let found = std::str::from_utf8(path)
            .ok()
            .and_then(|p| self.cgroups.as_ref()?.1.get(p));
        match found {
            Some(item) => item.clone(),
            None => CgroupLookupItem::unknown(lossy(path), LookupStatus::UnknownPermanent),
        }
    }

    fn lookup_pid(&self, pid: u32) -> AppsLookupItem {
        match self.apps.as_ref().and_then(|a| a.1.get(&pid)) {
            Some(item) => item.clone(),
            None => AppsLookupItem::unknown(pid, PidStatus::Unknown),
        }
    }
}

/// The live host. Every service uses the cgroup index generation (it
/// changes when the set of cgroups changes). Cgroup lookups: KNOWN when
/// indexed; `UNKNOWN_PERMANENT` for `/` (the host root is not a cgroup the
/// provider describes) and for keys that do not start with `/` or are not
/// UTF-8 (never valid cgroup paths); `UNKNOWN_RETRY_LATER` otherwise (it
/// may appear at the next scan). PID lookups: from the last scan, else read
/// directly from `/proc` (see [`HostProvider::process`]), else UNKNOWN.
impl DataSource for HostProvider {
    fn provides(&self, _service: Service) -> bool {
        true
    }

    fn generation(&self, _service: Service) -> u64 {
        HostProvider::generation(self)
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot_arc()
    }

    fn lookup_cgroup(&self, path: &[u8]) -> CgroupLookupItem {
        if let Some(info) = self.cgroups().lookup_bytes(path) {
            return CgroupLookupItem::from_info(info);
        }
        let status = match std::str::from_utf8(path) {
            Ok(p) if p.starts_with('/') && p != "/" => LookupStatus::UnknownRetryLater,
            _ => LookupStatus::UnknownPermanent,
        };
        CgroupLookupItem::unknown(lossy(path), status)
    }

    fn lookup_pid(&self, pid: u32) -> AppsLookupItem {
        match self.process(pid) {
            Some(p) => AppsLookupItem::from_proc(&p, self.cgroups()),
            None => AppsLookupItem::unknown(pid, PidStatus::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{parse_apps_lookup, parse_cgroups_lookup, parse_snapshot};
    use crate::hostdata::HostConfig;
    use netipc::codec::apps_lookup::UID_UNSET;
    use netipc::codec::lookup::{CgroupStatus, Orchestrator};
    use std::fs;

    #[test]
    fn providers_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DatasetProvider>();
        assert_send_sync::<HostProvider>();
        // Usable as a trait object.
        let p: Box<dyn DataSource + Send + Sync> = Box::new(DatasetProvider::new());
        assert!(!p.provides(Service::AppsLookup));
    }

    #[test]
    fn dataset_provider_answers_and_unknowns() {
        let snap = parse_snapshot(
            r#"{"generation":7,"systemd_enabled":1,"items":[{"options":0,"enabled":1,"name":"a","path":"/a"}]}"#,
        )
        .unwrap();
        let cg = parse_cgroups_lookup(
            r#"{"generation":8,"items":[{"path":"/a","status":"KNOWN","orchestrator":"DOCKER","name":"a","labels":[["k","v"]]}]}"#,
        )
        .unwrap();
        let p = DatasetProvider::new()
            .with_snapshot(snap.clone())
            .unwrap()
            .with_cgroups_lookup(cg)
            .unwrap();
        assert!(p.provides(Service::CgroupsSnapshot));
        assert!(p.provides(Service::CgroupsLookup));
        assert!(!p.provides(Service::AppsLookup));
        assert_eq!(p.generation(Service::CgroupsSnapshot), 7);
        assert_eq!(p.generation(Service::CgroupsLookup), 8);
        assert_eq!(p.generation(Service::AppsLookup), 0);
        assert_eq!(*p.snapshot(), snap);
        let hit = p.lookup_cgroup(b"/a");
        assert_eq!(
            (hit.status, hit.orchestrator),
            (LookupStatus::Known, Orchestrator::Docker.as_u16())
        );
        let miss = p.lookup_cgroup(b"/b");
        assert_eq!(miss.status, LookupStatus::UnknownPermanent);
        assert_eq!(miss.path, "/b");
        assert_eq!(
            p.lookup_cgroup(b"\xff").status,
            LookupStatus::UnknownPermanent
        );
        let pid = p.lookup_pid(5);
        assert_eq!(pid, AppsLookupItem::unknown(5, PidStatus::Unknown));
        assert!(DatasetProvider::new().snapshot().items.is_empty());

        let apps = parse_apps_lookup(
            r#"{"generation":3,"items":[{"pid":5,"status":"KNOWN","cgroup_status":"HOST_ROOT","orchestrator":0,"ppid":1,"uid":0,"starttime":9,"comm":"x","cgroup_path":"","cgroup_name":"","labels":[]}]}"#,
        )
        .unwrap();
        let p = p.with_apps_lookup(apps).unwrap();
        assert_eq!(p.lookup_pid(5).cgroup_status, CgroupStatus::HostRoot);
        assert_eq!(p.lookup_pid(6).status, PidStatus::Unknown);
    }

    #[test]
    fn dataset_provider_rejects_invalid_in_memory_data() {
        let mut bad = CgroupsLookup::default();
        bad.items.push(CgroupLookupItem::unknown(
            "",
            LookupStatus::UnknownPermanent,
        ));
        assert!(DatasetProvider::new().with_cgroups_lookup(bad).is_err());
    }

    #[test]
    fn dataset_provider_load_files() {
        let dir = tempfile::Builder::new()
            .prefix("netipc-source-")
            .tempdir()
            .unwrap();
        let a = dir.path().join("apps.json");
        fs::write(
            &a,
            r#"{"generation":3,"items":[{"pid":5,"status":"UNKNOWN","cgroup_status":"KNOWN","orchestrator":0,"ppid":0,"uid":"NIPC_UID_UNSET","starttime":0,"comm":"","cgroup_path":"","cgroup_name":"","labels":[]}]}"#,
        )
        .unwrap();
        let p = DatasetProvider::load_files(&[&a]).unwrap();
        assert!(p.provides(Service::AppsLookup));
        assert!(!p.provides(Service::CgroupsSnapshot));
        assert_eq!(p.generation(Service::AppsLookup), 3);
    }

    /// A fake host: cgroup tree + /proc in temp dirs.
    fn fake_host() -> (tempfile::TempDir, HostProvider) {
        let dir = tempfile::Builder::new()
            .prefix("netipc-host-")
            .tempdir()
            .unwrap();
        let cg = dir.path().join("cgroup");
        let proc_root = dir.path().join("proc");
        fs::create_dir_all(cg.join("system.slice/ssh.service")).unwrap();
        fs::create_dir_all(cg.join("docker/0123456789abcdef")).unwrap();
        fs::write(cg.join("cgroup.controllers"), "").unwrap();
        let add = |pid: u32, comm: &str, ppid: u32, cgroup: &str| {
            let d = proc_root.join(pid.to_string());
            fs::create_dir_all(&d).unwrap();
            fs::write(
                d.join("stat"),
                format!(
                    "{pid} ({comm}) S {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n",
                    pid * 10
                ),
            )
            .unwrap();
            fs::write(d.join("status"), "Uid:\t42\t42\t42\t42\n").unwrap();
            fs::write(d.join("cgroup"), cgroup).unwrap();
        };
        add(1, "init", 0, "0::/init.scope\n");
        add(20, "sshd", 1, "0::/system.slice/ssh.service\n");
        add(30, "bash", 20, "0::/\n");
        add(40, "app", 1, "5:memory:/docker/0123456789abcdef\n");
        let host = HostProvider::new(HostConfig {
            cgroup_root: Some(cg),
            proc_root,
            systemd_marker: dir.path().join("no-systemd"),
            ..HostConfig::default()
        });
        (dir, host)
    }

    #[test]
    fn host_provider_as_data_source() {
        let (dir, mut host) = fake_host();
        assert_eq!(host.generation(), 1);
        assert_eq!(host.systemd_enabled(), 0);
        let snap = DataSource::snapshot(&host);
        assert_eq!(snap.generation, 1);
        let names: Vec<&str> = snap.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "docker",
                "docker-0123456789ab",
                "system.slice",
                "ssh.service"
            ]
        );

        let hit = host.lookup_cgroup(b"/system.slice/ssh.service");
        assert_eq!(hit.status, LookupStatus::Known);
        assert_eq!(hit.name, "ssh.service");
        assert_eq!(
            host.lookup_cgroup(b"/init.scope").status,
            LookupStatus::UnknownRetryLater
        );
        assert_eq!(
            host.lookup_cgroup(b"/").status,
            LookupStatus::UnknownPermanent
        );
        assert_eq!(
            host.lookup_cgroup(b"relative").status,
            LookupStatus::UnknownPermanent
        );
        assert_eq!(
            host.lookup_cgroup(b"/../../etc").status,
            LookupStatus::UnknownRetryLater
        );

        let sshd = host.lookup_pid(20);
        assert_eq!(sshd.status, PidStatus::Known);
        assert_eq!((sshd.ppid, sshd.uid, sshd.starttime), (1, 42, 200));
        assert_eq!(sshd.cgroup_status, CgroupStatus::Known);
        assert_eq!(sshd.cgroup_name, "ssh.service");
        assert_eq!(sshd.orchestrator, Orchestrator::Systemd.as_u16());
        let bash = host.lookup_pid(30);
        assert_eq!(bash.cgroup_status, CgroupStatus::HostRoot);
        assert_eq!(bash.cgroup_path, "");
        let init = host.lookup_pid(1);
        assert_eq!(init.cgroup_status, CgroupStatus::UnknownRetryLater);
        assert_eq!(init.cgroup_path, "/init.scope");
        let app = host.lookup_pid(40);
        assert_eq!(app.cgroup_name, "docker-0123456789ab");
        assert_eq!(app.orchestrator, Orchestrator::Docker.as_u16());
        let none = host.lookup_pid(99);
        assert_eq!((none.status, none.uid), (PidStatus::Unknown, UID_UNSET));

        // Every host answer is a valid dataset.
        let apps = AppsLookup::from_host(&host);
        assert_eq!(apps.items.len(), 4);
        apps.validate().unwrap();
        CgroupsLookup::from_host(&host).validate().unwrap();
        Snapshot::from_host(&host).validate().unwrap();

        // A PID that appeared after the scan is read directly.
        let d = dir.path().join("proc/50");
        fs::create_dir_all(&d).unwrap();
        fs::write(
            d.join("stat"),
            "50 (late) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 0 0\n",
        )
        .unwrap();
        assert_eq!(host.lookup_pid(50).comm, "late");
        assert_eq!(
            host.lookup_pid(50).cgroup_status,
            CgroupStatus::UnknownRetryLater
        );

        // Rescan: new cgroup, new generation.
        fs::create_dir_all(dir.path().join("cgroup/init.scope")).unwrap();
        assert!(host.rescan());
        assert_eq!(DataSource::generation(&host, Service::AppsLookup), 2);
        assert_eq!(host.lookup_pid(1).cgroup_status, CgroupStatus::Known);
        assert_eq!(DataSource::snapshot(&host).generation, 2);
        assert!(!host.rescan());
    }
}
