//! `netipc snapshot`: fetch the `cgroups-snapshot` and print it as a
//! table, or with `--json` in the snapshot dataset shape (which
//! `netipc serve cgroups-snapshot --data` serves back).

use netipc::service::client::CgroupsSnapshotClient;

use super::conn::{ConnArgs, ConnDefaults, check_ready};
use super::{CliError, CliResult, tables, write_output};
use crate::dataset::{Snapshot, to_json_pretty};
use crate::provider::Kind;

/// Arguments of `netipc snapshot`.
#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Print the snapshot dataset shape (docs/dataset.md).
    #[arg(long)]
    pub json: bool,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `netipc snapshot`.
pub fn run(args: &SnapshotArgs) -> CliResult {
    let conn = args
        .conn
        .resolve(ConnDefaults::service(Kind::CgroupsSnapshot.service_name()));
    conn.endpoint()?;
    let socket = conn.socket_path();
    let ctx = |e: netipc::Error| CliError::from(e).context(socket.display());
    let mut c = CgroupsSnapshotClient::new(&conn.run_dir, &conn.service, conn.client_config())
        .map_err(ctx)?;
    c.refresh();
    check_ready(c.state(), &socket)?;
    let snap = Snapshot::from_view(&c.call_snapshot().map_err(ctx)?);
    let mut out = Vec::new();
    if args.json {
        out.extend_from_slice(to_json_pretty(&snap).as_bytes());
        out.push(b'\n');
    } else {
        tables::snapshot_header(&mut out, &snap)?;
        tables::snapshot_items(&mut out, &snap.items)?;
    }
    write_output(None, &out)
}
