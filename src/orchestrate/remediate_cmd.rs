//! `aks-spot-test remediate [--dry-run]`: connect, take the run lock (real runs only), plan, execute, print what
//! was (or would be) done; exit 0 when no action failed, 2 when one did.

use crate::cli::Settings;
use crate::cli::args::RemediateArgs;
use crate::cluster::RunLock;
use crate::cluster::lease::holder_identity;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::remediation::{AzureTarget, remediate};
use crate::report::model::Remediation;

use super::connect::connect_checked;

pub(crate) async fn run(settings: &Settings, args: &RemediateArgs) -> Result<ExitCode, Error> {
    let config = &settings.config;
    let (conn, _) = connect_checked(settings).await?;
    let azure = AzureTarget::from_env();
    // Dry run writes nothing, so it needs no lock (and a lease write would be a mutation).
    let lock = if args.dry_run || !config.cluster.run_lock.enabled {
        None
    } else {
        Some(RunLock::acquire(conn.client.clone(), &config.cluster.run_lock, &holder_identity()).await?)
    };
    let result = remediate(&conn, &azure, &config.remediation, args.dry_run).await;
    if let Some(lock) = lock {
        if let Err(e) = lock.release().await {
            tracing::warn!("{}", crate::error::render_chain(&e));
        }
    }
    let outcome = result?;
    println!(
        "cluster {} (context {}){}\n",
        conn.cluster_name,
        conn.context,
        if args.dry_run { ", dry run" } else { "" }
    );
    print!("{}", render_table(&outcome));
    let failed = outcome.details.iter().any(|a| !a.success);
    Ok(if failed { ExitCode::ToolError } else { ExitCode::Success })
}

/// One line per action or skipped candidate, then the totals.
pub fn render_table(r: &Remediation) -> String {
    let rows: Vec<[String; 4]> = r
        .details
        .iter()
        .map(|a| {
            let result = match (a.dry_run, a.success, a.action_type.as_str()) {
                (_, _, "skipped") => "skipped",
                (_, _, "circuit_breaker") => "tripped",
                (true, _, _) => "planned",
                (false, true, _) => "done",
                (false, false, _) => "FAILED",
            };
            [a.action_type.clone(), a.target.clone(), result.to_owned(), a.details.clone()]
        })
        .collect();
    let header = ["ACTION".to_owned(), "TARGET".to_owned(), "RESULT".to_owned(), "DETAILS".to_owned()];
    let width = |i: usize| rows.iter().chain(std::iter::once(&header)).map(|r| r[i].len()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        out.push_str(&format!("{:w0$}  {:w1$}  {:w2$}  {}\n", r[0], r[1], r[2], r[3]));
    }
    if r.details.is_empty() {
        out.push_str("nothing to remediate\n");
    }
    out.push_str(&format!(
        "\n{} actions taken: {} ghost instances deleted, {} stuck nodes deleted\n",
        r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::RemediationAction;

    fn action(action_type: &str, target: &str, success: bool, dry_run: bool, details: &str) -> RemediationAction {
        RemediationAction {
            timestamp: jiff::Timestamp::UNIX_EPOCH,
            action_type: action_type.into(),
            target: target.into(),
            success,
            details: details.into(),
            dry_run,
        }
    }

    #[test]
    fn table_shows_each_outcome() {
        let r = Remediation {
            actions_taken: 1,
            vmss_ghosts_deleted: 1,
            stuck_nodes_deleted: 0,
            details: vec![
                action("skipped", "node/n1", true, false, "NotReady for 2 min, not yet 5 min"),
                action("delete_vmss_instance", "aks-spot-vmss/3", true, false, "provisioningState Failed; deleted"),
                action("delete_node", "node/n2", false, false, "delete failed: 403"),
            ],
        };
        insta::assert_snapshot!(render_table(&r));
        let dry = Remediation { details: vec![action("delete_node", "node/n2", true, true, "would DELETE")], ..r };
        assert!(render_table(&dry).contains("planned"));
        assert!(render_table(&Remediation::default()).contains("nothing to remediate"));
    }
}
