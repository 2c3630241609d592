//! The in-process lookup scenarios
//! (`{cgroups,apps}-lookup-{known,unknown,mixed}-{N}`): one call = encode
//! the N-key request, run the server dispatch ([`LocalDispatcher`]:
//! decode, handler filling the response builder, budget check), decode
//! the response and check its item count.

use netipc::codec::apps_lookup::{
    AppsLookupBuilder, AppsLookupRequestView, AppsLookupResponseView, encode_apps_lookup_request,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupRequestView, CgroupsLookupResponseView,
    encode_cgroups_lookup_request,
};
use netipc::codec::lookup::{LabelSet, LookupStatus, Orchestrator};
use netipc::service::server::LocalDispatcher;

use super::measure::Workload;
use super::scenario::{
    APPS_KNOWN_LABELS, CGROUPS_KNOWN_LABELS, CGROUPS_KNOWN_NAME, Known, LookupMethod, apps_key,
    apps_known_entry, cgroups_key, local_buffer,
};
use crate::cmd::{CliError, CliResult};

/// The generation the in-process servers answer with.
const GENERATION: u64 = 1;

/// The keys of one scenario.
enum Keys {
    Cgroups(Vec<String>),
    Apps(Vec<u32>),
}

/// One in-process lookup scenario.
pub struct LocalLookup {
    dispatcher: LocalDispatcher,
    keys: Keys,
    request: Vec<u8>,
    n: usize,
}

/// The known items' labels as a [`LabelSet`] (the scenario constants are
/// valid labels).
fn known_labels(labels: &[(&str, &str)]) -> LabelSet {
    LabelSet::new(labels).expect("the scenario labels are valid")
}

/// The benchmark `CGROUPS_LOOKUP` handler.
fn cgroups_handler(
    known: Known,
) -> impl Fn(
    &CgroupsLookupRequestView<'_>,
    &mut CgroupsLookupBuilder,
) -> Result<(), netipc::service::server::HandlerError>
+ Send
+ Sync
+ 'static {
    // Constant labels: validated and laid out once.
    let labels = known_labels(&CGROUPS_KNOWN_LABELS);
    move |req: &CgroupsLookupRequestView<'_>, b: &mut CgroupsLookupBuilder| {
        b.set_generation(GENERATION);
        for i in 0..req.len() {
            if known.is_known(i) {
                b.add_request_item(
                    req,
                    i,
                    LookupStatus::Known,
                    Orchestrator::K8s.as_u16(),
                    CGROUPS_KNOWN_NAME,
                    &labels,
                )?;
            } else {
                b.add_request_unknown(req, i, LookupStatus::UnknownRetryLater)?;
            }
        }
        Ok(())
    }
}

/// The benchmark `APPS_LOOKUP` handler.
fn apps_handler(
    known: Known,
) -> impl Fn(
    &AppsLookupRequestView<'_>,
    &mut AppsLookupBuilder,
) -> Result<(), netipc::service::server::HandlerError>
+ Send
+ Sync
+ 'static {
    let entry = apps_known_entry();
    let labels = known_labels(&APPS_KNOWN_LABELS);
    move |req: &AppsLookupRequestView<'_>, b: &mut AppsLookupBuilder| {
        b.set_generation(GENERATION);
        for i in 0..req.len() {
            if known.is_known(i) {
                b.add_request_item(req, i, &entry, &labels)?;
            } else {
                b.add_request_unknown(req, i)?;
            }
        }
        Ok(())
    }
}

impl LocalLookup {
    /// Prepares the keys, buffers and dispatcher of a scenario.
    pub fn new(method: LookupMethod, known: Known, n: usize) -> Self {
        let budget = u32::try_from(local_buffer(n)).unwrap_or(u32::MAX);
        let (dispatcher, keys) = match method {
            LookupMethod::Cgroups => (
                LocalDispatcher::cgroups_lookup(cgroups_handler(known), budget),
                Keys::Cgroups((0..n).map(cgroups_key).collect()),
            ),
            LookupMethod::Apps => (
                LocalDispatcher::apps_lookup(apps_handler(known), budget),
                Keys::Apps((0..n).map(apps_key).collect()),
            ),
        };
        LocalLookup {
            dispatcher,
            keys,
            request: Vec::with_capacity(local_buffer(n)),
            n,
        }
    }
}

fn dispatch_error(status: u16) -> CliError {
    CliError::from(netipc::Error::Status(status)).context("in-process dispatch")
}

impl Workload for LocalLookup {
    fn step(&mut self) -> CliResult<u64> {
        self.request.clear();
        let got = match &self.keys {
            Keys::Cgroups(paths) => {
                encode_cgroups_lookup_request(paths, &mut self.request).map_err(CliError::from)?;
                let resp = self
                    .dispatcher
                    .dispatch(&self.request)
                    .map_err(dispatch_error)?;
                CgroupsLookupResponseView::decode(resp)
                    .map_err(|e| CliError::from(netipc::Error::from(e)))?
                    .len()
            }
            Keys::Apps(pids) => {
                encode_apps_lookup_request(pids, &mut self.request).map_err(CliError::from)?;
                let resp = self
                    .dispatcher
                    .dispatch(&self.request)
                    .map_err(dispatch_error)?;
                AppsLookupResponseView::decode(resp)
                    .map_err(|e| CliError::from(netipc::Error::from(e)))?
                    .len()
            }
        };
        if got != self.n {
            return Err(CliError::failure(format!(
                "wrong answer: {got} items for {} keys",
                self.n
            )));
        }
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_local_scenario_answers() {
        for method in [LookupMethod::Cgroups, LookupMethod::Apps] {
            for known in [Known::All, Known::None, Known::Mixed] {
                for n in [1, 16, 8192] {
                    let mut w = LocalLookup::new(method, known, n);
                    assert_eq!(w.step().unwrap(), 1);
                    assert_eq!(w.step().unwrap(), 1);
                }
            }
        }
    }

    #[test]
    fn answers_follow_the_spec() {
        let mut w = LocalLookup::new(LookupMethod::Cgroups, Known::Mixed, 4);
        w.step().unwrap();
        let mut req = Vec::new();
        encode_cgroups_lookup_request(&[cgroups_key(0), cgroups_key(1)], &mut req).unwrap();
        let resp = w.dispatcher.dispatch(&req).unwrap();
        let v = CgroupsLookupResponseView::decode(resp).unwrap();
        assert_eq!(v.generation(), GENERATION);
        let k = v.item(0);
        assert_eq!(k.status(), LookupStatus::Known);
        assert_eq!(k.name(), b"bench-pod");
        assert_eq!(k.path(), b"/sys/fs/cgroup/bench/cg-000");
        assert_eq!(k.label_count(), 2);
        let u = v.item(1);
        assert_eq!(u.status(), LookupStatus::UnknownRetryLater);
        assert_eq!(
            (u.orchestrator(), u.name(), u.label_count()),
            (0, &b""[..], 0)
        );

        let mut w = LocalLookup::new(LookupMethod::Apps, Known::Mixed, 2);
        let mut req = Vec::new();
        encode_apps_lookup_request(&[1000, 1001], &mut req).unwrap();
        let resp = w.dispatcher.dispatch(&req).unwrap();
        let v = AppsLookupResponseView::decode(resp).unwrap();
        let k = v.item(0);
        assert_eq!(
            (k.pid(), k.ppid(), k.uid(), k.starttime()),
            (1000, 1, 1000, 42)
        );
        assert_eq!(k.comm(), b"bench");
        assert_eq!(k.cgroup_name(), b"bench-container");
        let u = v.item(1);
        assert_eq!(u.status(), netipc::codec::lookup::PidStatus::Unknown);
        assert_eq!(u.uid(), netipc::codec::apps_lookup::UID_UNSET);
    }
}
