//! `aks-spot-test snapshot`: connect, check the API server answers, print one cluster snapshot.

use std::time::Duration;

use crate::cli::args::{GlobalArgs, OutputArg, SnapshotArgs};
use crate::cluster::snapshot::{render_table, take_snapshot};
use crate::cluster::{Connection, KubeconfigInput, connect, preflight_api};
use crate::config::Config;
use crate::error::Error;
use crate::exit::ExitCode;

/// Connects as the flags and config say (flags win) and checks the server answers within the configured timeout.
pub(crate) async fn connect_checked(global: &GlobalArgs, config: &Config) -> Result<Connection, Error> {
    let explicit = global.kubeconfig.clone().or_else(|| config.cluster.kubeconfig.clone());
    let context = global.context.as_deref().or(config.cluster.context.as_deref());
    let conn = connect(&KubeconfigInput::from_flag_and_env(explicit), context).await?;
    preflight_api(&conn, Duration::from_secs(config.cluster.timeout_seconds)).await?;
    Ok(conn)
}

pub(crate) async fn run(global: &GlobalArgs, config: &Config, args: &SnapshotArgs) -> Result<ExitCode, Error> {
    let conn = connect_checked(global, config).await?;
    let snapshot = take_snapshot(&conn.client).await?;
    match args.output {
        OutputArg::Json => {
            let text = serde_json::to_string_pretty(&snapshot).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            println!("{text}");
        }
        OutputArg::Table => {
            println!("cluster {} (context {}, {})\n", conn.cluster_name, conn.context, conn.server);
            print!("{}", render_table(&snapshot));
        }
    }
    Ok(ExitCode::Success)
}
