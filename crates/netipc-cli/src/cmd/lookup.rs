//! `netipc lookup cgroups PATH...` and `netipc lookup apps PID...`: one
//! logical lookup call, printed as a table or, with `--json`, in the
//! lookup dataset shapes (which `netipc serve --data` serves back).

use clap::ValueEnum;
use netipc::service::client::{AppsLookupClient, CgroupsLookupClient};

use super::conn::{ConnArgs, ConnDefaults, check_ready};
use super::{CliError, CliResult, tables, write_output};
use crate::dataset::{AppsLookup, AppsLookupItem, CgroupLookupItem, CgroupsLookup, to_json_pretty};
use crate::provider::Kind;

/// The lookup services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LookupKind {
    /// `cgroups-lookup`: keys are cgroup paths.
    Cgroups,
    /// `apps-lookup`: keys are PIDs.
    Apps,
}

/// Arguments of `netipc lookup`.
#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// The service.
    #[arg(value_enum)]
    pub kind: LookupKind,
    /// The keys: cgroup paths, or PIDs.
    #[arg(required = true, value_name = "KEY")]
    pub keys: Vec<String>,
    /// Print the lookup dataset shape (docs/dataset.md).
    #[arg(long)]
    pub json: bool,
    /// Connection options.
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// Runs `netipc lookup`.
pub fn run(args: &LookupArgs) -> CliResult {
    let kind = match args.kind {
        LookupKind::Cgroups => Kind::CgroupsLookup,
        LookupKind::Apps => Kind::AppsLookup,
    };
    let conn = args
        .conn
        .resolve(ConnDefaults::service(kind.service_name()));
    conn.endpoint()?;
    let socket = conn.socket_path();
    let ctx = |e: netipc::Error| CliError::from(e).context(socket.display());
    let mut out = Vec::new();
    match args.kind {
        LookupKind::Cgroups => {
            let mut c =
                CgroupsLookupClient::new(&conn.run_dir, &conn.service, conn.client_config())
                    .map_err(ctx)?;
            c.refresh();
            check_ready(c.state(), &socket)?;
            let view = c.lookup(&args.keys).map_err(ctx)?;
            let result = CgroupsLookup {
                generation: view.generation(),
                items: view
                    .iter()
                    .map(|i| CgroupLookupItem::from_view(&i))
                    .collect(),
            };
            if args.json {
                out.extend_from_slice(to_json_pretty(&result).as_bytes());
                out.push(b'\n');
            } else {
                out.extend_from_slice(format!("generation {}\n", result.generation).as_bytes());
                tables::cgroups_items(&mut out, &result.items)?;
            }
        }
        LookupKind::Apps => {
            let pids = args
                .keys
                .iter()
                .map(|k| {
                    k.parse::<u32>()
                        .map_err(|_| CliError::usage(format!("`{k}` is not a PID (u32)")))
                })
                .collect::<CliResult<Vec<u32>>>()?;
            let mut c = AppsLookupClient::new(&conn.run_dir, &conn.service, conn.client_config())
                .map_err(ctx)?;
            c.refresh();
            check_ready(c.state(), &socket)?;
            let view = c.lookup(&pids).map_err(ctx)?;
            let result = AppsLookup {
                generation: view.generation(),
                items: view.iter().map(|i| AppsLookupItem::from_view(&i)).collect(),
            };
            if args.json {
                out.extend_from_slice(to_json_pretty(&result).as_bytes());
                out.push(b'\n');
            } else {
                out.extend_from_slice(format!("generation {}\n", result.generation).as_bytes());
                tables::apps_items(&mut out, &result.items)?;
            }
        }
    }
    write_output(None, &out)
}
