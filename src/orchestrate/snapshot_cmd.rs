//! `aks-spot-test snapshot`: connect, check the API server answers, print one cluster snapshot.

use crate::cli::Settings;
use crate::cli::args::{OutputArg, SnapshotArgs};
use crate::cluster::snapshot::{render_table, take_snapshot};
use crate::error::Error;
use crate::exit::ExitCode;

use super::connect::connect_checked;

pub(crate) async fn run(settings: &Settings, args: &SnapshotArgs) -> Result<ExitCode, Error> {
    let (conn, _) = connect_checked(settings).await?;
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
