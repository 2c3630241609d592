//! Conversions between the dataset shapes and the codec: owned types both
//! ways, zero-copy views to datasets (what a client prints), and datasets
//! into response builders (what a server answers).
//!
//! Wire strings are bytes; dataset strings are UTF-8. Bytes that are not
//! UTF-8 become U+FFFD (lossy, as `docs/dataset.md` documents), so only a
//! UTF-8 response converts back to the same bytes. The other direction is
//! exact. Nothing here applies the serving rules of the `validate`
//! methods; the codec encoders and builders check the wire rules and
//! report a violation as `Error::InvalidArgument`.

use netipc::Error;
use netipc::codec::apps_lookup::{
    AppsLookupBuilder, AppsLookupEntry, AppsLookupItem as WireAppsItem, AppsLookupItemView,
    AppsLookupRequestView, AppsLookupResponse, AppsLookupResponseView,
};
use netipc::codec::cgroups_lookup::{
    CgroupsLookupBuilder, CgroupsLookupItem, CgroupsLookupItemView, CgroupsLookupRequestView,
    CgroupsLookupResponse, CgroupsLookupResponseView,
};
use netipc::codec::cgroups_snapshot::{
    CgroupItem, CgroupItemView, CgroupsSnapshot, CgroupsSnapshotBuilder, CgroupsSnapshotView,
};
use netipc::codec::lookup::{Label as WireLabel, LabelView, LookupStatus, PidStatus};

use super::{
    AppsLookup, AppsLookupItem, CgroupLookupItem, CgroupsLookup, Label, Snapshot, SnapshotItem,
};

/// Wire bytes as a dataset string (lossy for bytes that are not UTF-8).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn label_of_view(l: LabelView<'_>) -> Label {
    (text(l.key()), text(l.value()))
}

fn label_of_wire(l: &WireLabel) -> Label {
    (text(&l.key), text(&l.value))
}

fn wire_label(l: &Label) -> WireLabel {
    WireLabel::new(l.0.as_bytes(), l.1.as_bytes())
}

// ---------------------------------------------------------------------------
// Snapshot

impl From<&CgroupItem> for SnapshotItem {
    fn from(i: &CgroupItem) -> Self {
        Self {
            hash: i.hash,
            options: i.options,
            enabled: i.enabled,
            name: text(&i.name),
            path: text(&i.path),
        }
    }
}

impl From<&SnapshotItem> for CgroupItem {
    fn from(i: &SnapshotItem) -> Self {
        Self {
            hash: i.hash,
            options: i.options,
            enabled: i.enabled,
            name: i.name.as_bytes().to_vec(),
            path: i.path.as_bytes().to_vec(),
        }
    }
}

impl From<&CgroupsSnapshot> for Snapshot {
    fn from(s: &CgroupsSnapshot) -> Self {
        Self {
            generation: s.generation,
            systemd_enabled: s.systemd_enabled,
            items: s.items.iter().map(SnapshotItem::from).collect(),
        }
    }
}

impl From<&Snapshot> for CgroupsSnapshot {
    fn from(s: &Snapshot) -> Self {
        Self {
            systemd_enabled: s.systemd_enabled,
            generation: s.generation,
            items: s.items.iter().map(CgroupItem::from).collect(),
        }
    }
}

impl SnapshotItem {
    /// Copies a decoded item (lossy for names and paths that are not UTF-8).
    pub fn from_view(v: &CgroupItemView<'_>) -> Self {
        Self {
            hash: v.hash,
            options: v.options,
            enabled: v.enabled,
            name: text(v.name),
            path: text(v.path),
        }
    }
}

impl Snapshot {
    /// Copies a decoded snapshot response (what a client prints).
    pub fn from_view(v: &CgroupsSnapshotView<'_>) -> Self {
        Self {
            generation: v.generation(),
            systemd_enabled: v.systemd_enabled(),
            items: v.iter().map(|i| SnapshotItem::from_view(&i)).collect(),
        }
    }

    /// Resets `builder` to this snapshot and adds every item, in order.
    /// The builder keeps its payload limit: a snapshot that does not fit
    /// fails with `Error::LimitExceeded` (answer `LIMIT_EXCEEDED`).
    pub fn fill(&self, builder: &mut CgroupsSnapshotBuilder) -> Result<(), Error> {
        builder.reset(self.systemd_enabled, self.generation);
        builder.reserve_items(self.items.len());
        for i in &self.items {
            builder.add_item(
                i.hash,
                i.options,
                i.enabled,
                i.name.as_bytes(),
                i.path.as_bytes(),
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Cgroups lookup

impl From<&CgroupsLookupItem> for CgroupLookupItem {
    fn from(i: &CgroupsLookupItem) -> Self {
        Self {
            path: text(&i.path),
            status: i.status,
            orchestrator: i.orchestrator,
            name: text(&i.name),
            labels: i.labels.iter().map(label_of_wire).collect(),
        }
    }
}

impl From<&CgroupLookupItem> for CgroupsLookupItem {
    fn from(i: &CgroupLookupItem) -> Self {
        Self {
            status: i.status,
            orchestrator: i.orchestrator,
            path: i.path.as_bytes().to_vec(),
            name: i.name.as_bytes().to_vec(),
            labels: i.labels.iter().map(wire_label).collect(),
        }
    }
}

impl From<&CgroupsLookupResponse> for CgroupsLookup {
    fn from(r: &CgroupsLookupResponse) -> Self {
        Self {
            generation: r.generation,
            items: r.items.iter().map(CgroupLookupItem::from).collect(),
        }
    }
}

impl From<&CgroupsLookup> for CgroupsLookupResponse {
    fn from(c: &CgroupsLookup) -> Self {
        Self {
            generation: c.generation,
            items: c.items.iter().map(CgroupsLookupItem::from).collect(),
        }
    }
}

impl CgroupLookupItem {
    /// Copies a decoded response item (lossy for bytes that are not UTF-8).
    pub fn from_view(v: &CgroupsLookupItemView<'_>) -> Self {
        Self {
            path: text(v.path()),
            status: v.status(),
            orchestrator: v.orchestrator(),
            name: text(v.name()),
            labels: v.labels().map(label_of_view).collect(),
        }
    }

    /// Adds this answer as the next item of `builder`, echoing this item's
    /// `path`. Returns the status actually encoded (the builder turns an
    /// item that does not fit into `PAYLOAD_EXCEEDED` or `OVERSIZED_ITEM`).
    pub fn add_to(&self, builder: &mut CgroupsLookupBuilder) -> Result<LookupStatus, Error> {
        builder.add(
            self.path.as_bytes(),
            self.status,
            self.orchestrator,
            self.name.as_bytes(),
            &self.labels,
        )
    }

    /// Adds this answer as item `index` of a response to `request`, echoing
    /// the request's path bytes (which this item's lossy `path` may not
    /// reproduce). Returns the status actually encoded.
    pub fn add_request_item_to(
        &self,
        builder: &mut CgroupsLookupBuilder,
        request: &CgroupsLookupRequestView<'_>,
        index: usize,
    ) -> Result<LookupStatus, Error> {
        builder.add_request_item(
            request,
            index,
            self.status,
            self.orchestrator,
            self.name.as_bytes(),
            &self.labels,
        )
    }
}

impl CgroupsLookup {
    /// Copies a decoded response (what a client prints).
    pub fn from_view(v: &CgroupsLookupResponseView<'_>) -> Self {
        Self {
            generation: v.generation(),
            items: v.items().map(|i| CgroupLookupItem::from_view(&i)).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Apps lookup

impl From<&WireAppsItem> for AppsLookupItem {
    fn from(i: &WireAppsItem) -> Self {
        Self {
            pid: i.pid,
            status: i.status,
            cgroup_status: i.cgroup_status,
            orchestrator: i.orchestrator,
            ppid: i.ppid,
            uid: i.uid,
            starttime: i.starttime,
            comm: text(&i.comm),
            cgroup_path: text(&i.cgroup_path),
            cgroup_name: text(&i.cgroup_name),
            labels: i.labels.iter().map(label_of_wire).collect(),
        }
    }
}

impl From<&AppsLookupItem> for WireAppsItem {
    fn from(i: &AppsLookupItem) -> Self {
        Self {
            status: i.status,
            cgroup_status: i.cgroup_status,
            orchestrator: i.orchestrator,
            pid: i.pid,
            ppid: i.ppid,
            uid: i.uid,
            starttime: i.starttime,
            comm: i.comm.as_bytes().to_vec(),
            cgroup_path: i.cgroup_path.as_bytes().to_vec(),
            cgroup_name: i.cgroup_name.as_bytes().to_vec(),
            labels: i.labels.iter().map(wire_label).collect(),
        }
    }
}

impl From<&AppsLookupResponse> for AppsLookup {
    fn from(r: &AppsLookupResponse) -> Self {
        Self {
            generation: r.generation,
            items: r.items.iter().map(AppsLookupItem::from).collect(),
        }
    }
}

impl From<&AppsLookup> for AppsLookupResponse {
    fn from(a: &AppsLookup) -> Self {
        Self {
            generation: a.generation,
            items: a.items.iter().map(WireAppsItem::from).collect(),
        }
    }
}

impl AppsLookupItem {
    /// Copies a decoded response item (lossy for bytes that are not UTF-8).
    pub fn from_view(v: &AppsLookupItemView<'_>) -> Self {
        Self {
            pid: v.pid(),
            status: v.status(),
            cgroup_status: v.cgroup_status(),
            orchestrator: v.orchestrator(),
            ppid: v.ppid(),
            uid: v.uid(),
            starttime: v.starttime(),
            comm: text(v.comm()),
            cgroup_path: text(v.cgroup_path()),
            cgroup_name: text(v.cgroup_name()),
            labels: v.labels().map(label_of_view).collect(),
        }
    }

    /// This answer's fields (except PID and labels) as a builder entry,
    /// borrowing its strings.
    pub fn entry(&self) -> AppsLookupEntry<'_> {
        AppsLookupEntry {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator,
            ppid: self.ppid,
            uid: self.uid,
            starttime: self.starttime,
            comm: self.comm.as_bytes(),
            cgroup_path: self.cgroup_path.as_bytes(),
            cgroup_name: self.cgroup_name.as_bytes(),
        }
    }

    /// Adds this answer as the next item of `builder` (with this item's
    /// `pid`). Returns the PID status actually encoded.
    pub fn add_to(&self, builder: &mut AppsLookupBuilder) -> Result<PidStatus, Error> {
        builder.add(self.pid, &self.entry(), &self.labels)
    }

    /// Adds this answer as item `index` of a response to `request`, echoing
    /// the request's PID. Returns the PID status actually encoded.
    pub fn add_request_item_to(
        &self,
        builder: &mut AppsLookupBuilder,
        request: &AppsLookupRequestView<'_>,
        index: usize,
    ) -> Result<PidStatus, Error> {
        builder.add_request_item(request, index, &self.entry(), &self.labels)
    }
}

impl AppsLookup {
    /// Copies a decoded response (what a client prints).
    pub fn from_view(v: &AppsLookupResponseView<'_>) -> Self {
        Self {
            generation: v.generation(),
            items: v.items().map(|i| AppsLookupItem::from_view(&i)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{parse_apps_lookup, parse_cgroups_lookup, parse_snapshot};
    use netipc::codec::lookup::{CgroupStatus, Orchestrator};

    const SNAPSHOT: &str = r#"{"generation": 9, "systemd_enabled": 1, "items": [
        {"hash": 7, "options": 2, "enabled": 1, "name": "a", "path": "/a"},
        {"hash": 8, "options": 0, "enabled": 0, "name": "", "path": ""}]}"#;

    const CGROUPS: &str = r#"{"generation": 5, "items": [
        {"path": "/k", "status": "KNOWN", "orchestrator": "K8S", "name": "pod", "labels": [["ns", "x"], ["e", ""]]},
        {"path": "/r", "status": "UNKNOWN_RETRY_LATER", "orchestrator": 0, "name": "", "labels": []},
        {"path": "/o", "status": "KNOWN", "orchestrator": 999, "name": "odd", "labels": []}]}"#;

    const APPS: &str = r#"{"generation": 6, "items": [
        {"pid": 10, "status": "KNOWN", "cgroup_status": "KNOWN", "orchestrator": "DOCKER", "ppid": 1, "uid": 0,
         "starttime": 77, "comm": "nginx", "cgroup_path": "/d", "cgroup_name": "d", "labels": [["image", "n"]]},
        {"pid": 11, "status": "KNOWN", "cgroup_status": "HOST_ROOT", "orchestrator": 0, "ppid": 1, "uid": "NIPC_UID_UNSET",
         "starttime": 0, "comm": "sh", "cgroup_path": "", "cgroup_name": "", "labels": []},
        {"pid": 12, "status": "UNKNOWN", "cgroup_status": "KNOWN", "orchestrator": 0, "ppid": 0, "uid": "NIPC_UID_UNSET",
         "starttime": 0, "comm": "", "cgroup_path": "", "cgroup_name": "", "labels": []}]}"#;

    #[test]
    fn snapshot_round_trips_through_codec() {
        let s = parse_snapshot(SNAPSHOT).unwrap();
        let owned = CgroupsSnapshot::from(&s);
        assert_eq!(owned.items[0].name, b"a");
        assert_eq!(Snapshot::from(&owned), s);
        let mut payload = Vec::new();
        owned.encode(&mut payload).unwrap();
        let view = CgroupsSnapshotView::decode(&payload).unwrap();
        assert_eq!(Snapshot::from_view(&view), s);
        let mut b = CgroupsSnapshotBuilder::default();
        s.fill(&mut b).unwrap();
        assert_eq!(b.finish(), payload.as_slice());
        b.set_max_payload(40);
        assert!(matches!(s.fill(&mut b), Err(Error::LimitExceeded { .. })));
    }

    #[test]
    fn cgroups_lookup_round_trips_through_codec() {
        let c = parse_cgroups_lookup(CGROUPS).unwrap();
        let owned = CgroupsLookupResponse::from(&c);
        assert_eq!(owned.items[0].labels[1], WireLabel::new("e", ""));
        assert_eq!(owned.items[2].orchestrator, 999);
        assert_eq!(CgroupsLookup::from(&owned), c);
        let mut payload = Vec::new();
        owned.encode(&mut payload).unwrap();
        let view = CgroupsLookupResponseView::decode(&payload).unwrap();
        assert_eq!(CgroupsLookup::from_view(&view), c);

        // A server fills a builder from the request and the dataset.
        let mut req = Vec::new();
        netipc::codec::cgroups_lookup::encode_cgroups_lookup_request(&["/k", "/r", "/o"], &mut req)
            .unwrap();
        let request = CgroupsLookupRequestView::decode(&req).unwrap();
        let mut b = CgroupsLookupBuilder::new();
        b.reset(c.generation, &request);
        for (i, item) in c.items.iter().enumerate() {
            assert_eq!(
                item.add_request_item_to(&mut b, &request, i).unwrap(),
                item.status
            );
        }
        assert_eq!(b.finish().unwrap(), payload.as_slice());
        let mut b = CgroupsLookupBuilder::new();
        b.reset_for_paths(c.generation, &["/k", "/r", "/o"])
            .unwrap();
        for item in &c.items {
            item.add_to(&mut b).unwrap();
        }
        assert_eq!(b.finish().unwrap(), payload.as_slice());
    }

    #[test]
    fn apps_lookup_round_trips_through_codec() {
        let a = parse_apps_lookup(APPS).unwrap();
        let owned = AppsLookupResponse::from(&a);
        assert_eq!(owned.items[0].orchestrator, Orchestrator::Docker.as_u16());
        assert_eq!(owned.items[1].cgroup_status, CgroupStatus::HostRoot);
        assert_eq!(AppsLookup::from(&owned), a);
        let mut payload = Vec::new();
        owned.encode(&mut payload).unwrap();
        let view = AppsLookupResponseView::decode(&payload).unwrap();
        assert_eq!(AppsLookup::from_view(&view), a);

        let mut req = Vec::new();
        netipc::codec::apps_lookup::encode_apps_lookup_request(&[10, 11, 12], &mut req).unwrap();
        let request = AppsLookupRequestView::decode(&req).unwrap();
        let mut b = AppsLookupBuilder::new();
        b.reset(a.generation, &request);
        for (i, item) in a.items.iter().enumerate() {
            item.add_request_item_to(&mut b, &request, i).unwrap();
        }
        assert_eq!(b.finish().unwrap(), payload.as_slice());
        let mut b = AppsLookupBuilder::new();
        b.reset_for_count(a.generation, 3);
        for item in &a.items {
            item.add_to(&mut b).unwrap();
        }
        assert_eq!(b.finish().unwrap(), payload.as_slice());
    }

    #[test]
    fn codec_rules_are_checked_on_the_way_in() {
        // The dataset parser reads the shape; the codec rejects what the
        // wire cannot carry.
        let mut a = parse_apps_lookup(APPS).unwrap();
        a.items[0].comm = "0123456789abcdef".into();
        let mut out = Vec::new();
        assert!(matches!(
            AppsLookupResponse::from(&a).encode(&mut out),
            Err(Error::InvalidArgument(_))
        ));
        let mut c = parse_cgroups_lookup(CGROUPS).unwrap();
        c.items[1].name = "x".into();
        assert!(CgroupsLookupResponse::from(&c).encode(&mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn non_utf8_wire_bytes_are_lossy() {
        let owned = CgroupsSnapshot {
            systemd_enabled: 0,
            generation: 1,
            items: vec![CgroupItem {
                hash: 1,
                options: 0,
                enabled: 1,
                name: vec![b'a', 0xff],
                path: b"/p".to_vec(),
            }],
        };
        let s = Snapshot::from(&owned);
        assert_eq!(s.items[0].name, "a\u{fffd}");
        assert_ne!(CgroupsSnapshot::from(&s), owned);
        let unknown = WireAppsItem::unknown(3, PidStatus::OversizedItem);
        let item = AppsLookupItem::from(&unknown);
        assert_eq!(item, AppsLookupItem::unknown(3, PidStatus::OversizedItem));
        assert_eq!(WireAppsItem::from(&item), unknown);
    }
}
