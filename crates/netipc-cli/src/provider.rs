//! Managed servers for the five service kinds, answering the three data
//! services from a [`DataSource`]: what `netipc serve` and `netipc demo`
//! run.
//!
//! - [`SourceCell`]: the data a server answers from, swappable while it
//!   answers (each request reads one consistent source).
//! - [`LiveHost`]: a [`HostProvider`] rescanned periodically in a
//!   background thread and published into a [`SourceCell`]. A rescan works
//!   on a copy, so requests never wait for a scan.
//! - [`start_server`]: starts the managed server of one [`Kind`]. Handlers
//!   fill the codec builders through the dataset helpers; lookups echo the
//!   request keys with `add_request_item` and never open a path taken from
//!   a request.

use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::ValueEnum;
use netipc::codec::apps_lookup::{AppsLookupBuilder, AppsLookupRequestView};
use netipc::codec::cgroups_lookup::{CgroupsLookupBuilder, CgroupsLookupRequestView};
use netipc::codec::cgroups_snapshot::CgroupsSnapshotBuilder;
use netipc::service::server::{HandlerError, Server, ServerConfig};

use crate::hostdata::{HostConfig, HostProvider};
use crate::source::{DataSource, Service};

/// The service kinds `netipc` serves and calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Kind {
    /// `INCREMENT`: answers `value + 1`.
    Increment,
    /// `STRING_REVERSE`: answers the byte-reversed string.
    StringReverse,
    /// `CGROUPS_SNAPSHOT`: the cgroups snapshot.
    CgroupsSnapshot,
    /// `CGROUPS_LOOKUP`: cgroup paths to metadata.
    CgroupsLookup,
    /// `APPS_LOOKUP`: PIDs to process and cgroup metadata.
    AppsLookup,
}

impl Kind {
    /// The standard service name of the kind.
    pub fn service_name(self) -> &'static str {
        match self {
            Kind::Increment => "increment",
            Kind::StringReverse => "string-reverse",
            Kind::CgroupsSnapshot => "cgroups-snapshot",
            Kind::CgroupsLookup => "cgroups-lookup",
            Kind::AppsLookup => "apps-lookup",
        }
    }

    /// The data service answered, for the three data kinds.
    pub fn data_service(self) -> Option<Service> {
        match self {
            Kind::CgroupsSnapshot => Some(Service::CgroupsSnapshot),
            Kind::CgroupsLookup => Some(Service::CgroupsLookup),
            Kind::AppsLookup => Some(Service::AppsLookup),
            Kind::Increment | Kind::StringReverse => None,
        }
    }
}

/// A shared data source.
pub type SharedSource = Arc<dyn DataSource + Send + Sync>;

/// The data servers answer from; [`SourceCell::store`] replaces it while
/// they answer. Cheap to clone (one shared cell).
#[derive(Clone)]
pub struct SourceCell(Arc<RwLock<SharedSource>>);

impl std::fmt::Debug for SourceCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceCell").finish_non_exhaustive()
    }
}

impl SourceCell {
    /// A cell holding `source`.
    pub fn new(source: SharedSource) -> Self {
        SourceCell(Arc::new(RwLock::new(source)))
    }

    /// The current source (answer one request from it).
    pub fn load(&self) -> SharedSource {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Publishes `source` for later requests.
    pub fn store(&self, source: SharedSource) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = source;
    }
}

/// Called after each rescan with the new scan and whether the cgroup
/// generation changed.
pub type RescanHook = Box<dyn Fn(&HostProvider, bool) + Send>;

/// The live host, rescanned every `interval` in a background thread.
///
/// Dropping it (or [`LiveHost::stop`]) ends the thread; the last published
/// scan stays in the cell.
pub struct LiveHost {
    cell: SourceCell,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LiveHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHost").finish_non_exhaustive()
    }
}

impl LiveHost {
    /// Scans the host once (before returning), publishes the scan and
    /// starts the rescan thread.
    pub fn start(
        config: HostConfig,
        interval: Duration,
        on_rescan: Option<RescanHook>,
    ) -> std::io::Result<LiveHost> {
        crate::platform::require_host_data()?;
        let first = Arc::new(HostProvider::new(config));
        let cell = SourceCell::new(first.clone());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (cell2, stop2) = (cell.clone(), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("netipc-rescan".into())
            .spawn(move || rescan_loop(first, &cell2, &stop2, interval, on_rescan))?;
        Ok(LiveHost {
            cell,
            stop,
            thread: Some(thread),
        })
    }

    /// The cell the scans are published into.
    pub fn source(&self) -> SourceCell {
        self.cell.clone()
    }

    /// Stops the rescan thread and waits for it.
    pub fn stop(&mut self) {
        {
            let mut stopped = self.stop.0.lock().unwrap_or_else(PoisonError::into_inner);
            *stopped = true;
        }
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LiveHost {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rescan_loop(
    mut current: Arc<HostProvider>,
    cell: &SourceCell,
    stop: &(Mutex<bool>, Condvar),
    interval: Duration,
    on_rescan: Option<RescanHook>,
) {
    loop {
        {
            let g = stop.0.lock().unwrap_or_else(PoisonError::into_inner);
            let (g, _) = stop
                .1
                .wait_timeout_while(g, interval, |stopped| !*stopped)
                .unwrap_or_else(PoisonError::into_inner);
            if *g {
                return;
            }
        }
        let mut next = (*current).clone();
        let changed = next.rescan();
        current = Arc::new(next);
        cell.store(current.clone());
        if let Some(hook) = &on_rescan {
            hook(&current, changed);
        }
    }
}

/// Starts the managed server of `kind` with `config`.
///
/// INCREMENT answers `value + 1` (wrapping) and STRING_REVERSE the
/// byte-reversed string; the data kinds answer from `data`, which must be
/// given for them (else `InvalidArgument`). Keys a source does not know
/// are answered as unknown by the source's rules.
pub fn start_server(
    kind: Kind,
    config: &ServerConfig,
    data: Option<&SourceCell>,
) -> netipc::Result<Server> {
    let need = || {
        data.cloned().ok_or(netipc::Error::InvalidArgument(
            "data kinds need a data source",
        ))
    };
    match kind {
        Kind::Increment => Server::increment(config, |v: u64| Ok(v.wrapping_add(1))),
        Kind::StringReverse => Server::string_reverse(config, |text: &[u8], out: &mut Vec<u8>| {
            out.extend(text.iter().rev());
            Ok(())
        }),
        Kind::CgroupsSnapshot => {
            let cell = need()?;
            Server::cgroups_snapshot(config, move |b: &mut CgroupsSnapshotBuilder| {
                answer_snapshot(&*cell.load(), b)
            })
        }
        Kind::CgroupsLookup => {
            let cell = need()?;
            Server::cgroups_lookup(
                config,
                move |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
                    answer_cgroups(&*cell.load(), req, b)
                },
            )
        }
        Kind::AppsLookup => {
            let cell = need()?;
            Server::apps_lookup(
                config,
                move |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
                    answer_apps(&*cell.load(), req, b)
                },
            )
        }
    }
}

/// Fills a snapshot response from `src`.
pub fn answer_snapshot(
    src: &dyn DataSource,
    b: &mut CgroupsSnapshotBuilder,
) -> Result<(), HandlerError> {
    src.snapshot().fill(b)?;
    Ok(())
}

/// Fills a cgroups lookup response from `src`: one item per requested
/// path, echoing the request's bytes.
pub fn answer_cgroups(
    src: &dyn DataSource,
    req: &CgroupsLookupRequestView<'_>,
    b: &mut CgroupsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(src.generation(Service::CgroupsLookup));
    for (i, path) in req.iter().enumerate() {
        src.lookup_cgroup(path).add_request_item_to(b, req, i)?;
    }
    Ok(())
}

/// Fills an apps lookup response from `src`: one item per requested PID.
pub fn answer_apps(
    src: &dyn DataSource,
    req: &AppsLookupRequestView<'_>,
    b: &mut AppsLookupBuilder,
) -> Result<(), HandlerError> {
    b.set_generation(src.generation(Service::AppsLookup));
    for (i, pid) in req.iter().enumerate() {
        src.lookup_pid(pid).add_request_item_to(b, req, i)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{parse_cgroups_lookup, parse_snapshot};
    use crate::source::DatasetProvider;
    use netipc::codec::cgroups_lookup::{CgroupsLookupResponseView, encode_cgroups_lookup_request};
    use netipc::codec::cgroups_snapshot::CgroupsSnapshotView;
    use netipc::codec::lookup::LookupStatus;
    use netipc::service::server::LocalDispatcher;

    fn provider() -> DatasetProvider {
        DatasetProvider::new()
            .with_snapshot(
                parse_snapshot(
                    r#"{"generation":5,"systemd_enabled":1,"items":[{"options":0,"enabled":1,"name":"a","path":"/a"}]}"#,
                )
                .unwrap(),
            )
            .unwrap()
            .with_cgroups_lookup(
                parse_cgroups_lookup(
                    r#"{"generation":9,"items":[{"path":"/a","status":"KNOWN","orchestrator":"DOCKER","name":"a","labels":[["k","v"]]}]}"#,
                )
                .unwrap(),
            )
            .unwrap()
    }

    #[test]
    fn handlers_answer_from_the_cell() {
        let cell = SourceCell::new(Arc::new(provider()));
        let c2 = cell.clone();
        let mut d = LocalDispatcher::cgroups_lookup(
            move |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
                answer_cgroups(&*c2.load(), req, b)
            },
            65536,
        );
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&["/a", "/zz"], &mut req).unwrap();
        let resp = d.dispatch(&req).unwrap();
        let v = CgroupsLookupResponseView::decode(resp).unwrap();
        assert_eq!(v.generation(), 9);
        assert_eq!(v.item(0).status(), LookupStatus::Known);
        assert_eq!(v.item(1).status(), LookupStatus::UnknownPermanent);
        assert_eq!(v.item(1).path(), b"/zz");

        let c3 = cell.clone();
        let mut s = LocalDispatcher::cgroups_snapshot(
            move |b: &mut CgroupsSnapshotBuilder| answer_snapshot(&*c3.load(), b),
            65536,
        );
        let mut req = Vec::new();
        netipc::codec::cgroups_snapshot::encode_snapshot_request(&mut req);
        let v = CgroupsSnapshotView::decode(s.dispatch(&req).unwrap())
            .unwrap()
            .to_owned();
        assert_eq!((v.generation, v.items.len()), (5, 1));
        // Swapping the source changes later answers.
        cell.store(Arc::new(DatasetProvider::new()));
        let v = CgroupsSnapshotView::decode(s.dispatch(&req).unwrap()).unwrap();
        assert_eq!(v.len(), 0);
    }

    #[test]
    fn names() {
        assert_eq!(Kind::StringReverse.service_name(), "string-reverse");
        assert_eq!(Kind::AppsLookup.data_service(), Some(Service::AppsLookup));
        assert_eq!(Kind::Increment.data_service(), None);
    }
}
