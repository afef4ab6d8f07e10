//! `run`: pre-flight, the three suites one after another, snapshots before and after, the eviction
//! watch around the suites, cordon restore, and the reports. The pipeline every other command reuses.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::cli::args::RunArgs;
use crate::cli::{KubeconfigSource, Settings};
use crate::cluster::client::{Connection, preflight_api};
use crate::cluster::cordon::{restore_cordons, restore_note};
use crate::cluster::lease::{RunLock, holder_identity};
use crate::cluster::preflight::check_env_files;
use crate::cluster::snapshot::take_snapshot;
use crate::cluster::watch::start_eviction_watch;
use crate::config::schema::{Config, ReportFormat, SuiteConfig};
use crate::error::{Error, render_chain};
use crate::exit::ExitCode;
use crate::remediation::{AzureTarget, remediate};
use crate::report::aggregate::{RunFacts, build_report};
use crate::report::model::{CheckStatus, ClusterState, EvictionMonitoring, Framework, PreflightCheck, Remediation};
use crate::report::retention::prune;
use crate::suites::classify::ParseContext;
use crate::suites::command::SpecInputs;
use crate::suites::execute::{execute_suite, skipped_run};

use super::connect::connect_checked;
use super::finish::{Finished, finish};

/// Bound on each cluster call around the suites (cordon restore, lock release), so a server that stops answering
/// mid-call costs one bound, not kube's minutes of retries.
const AFTER_RUN_CALL: Duration = Duration::from_secs(60);
/// The most remediation may take inside `run`.
const REMEDIATION_BOUND: Duration = Duration::from_secs(900);

/// `aks-spot-test run`.
pub(crate) async fn run_command(settings: &Settings, args: &RunArgs) -> Result<ExitCode, Error> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    // Ctrl-C stops the running suite like a timeout; the report is still written.
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping the current suite, then writing the report");
            on_ctrl_c.cancel();
        }
    });
    let out = run_pipeline(settings, args, &AzureTarget::from_env(), &cancel).await?;
    if args.open_html || settings.config.reports.open_html_after_run {
        open_html(&out);
    }
    Ok(out.exit)
}

/// Hands the HTML report to the desktop's browser; a jump box without one gets the path instead.
fn open_html(out: &Finished) {
    let Some((_, path)) = out.written.iter().find(|(f, _)| *f == ReportFormat::Html) else {
        eprintln!("warning: --open-html: no HTML report was written (add html to reports.formats)");
        return;
    };
    if let Err(err) = open::that_detached(path) {
        eprintln!("warning: could not open {} in a browser: {err}", path.display());
    }
}

/// The kubeconfig files the suites get as `KUBECONFIG`. With a chosen context, a file holding only
/// `current-context` goes first: kubectl takes current-context from the first file that sets it, so the
/// suites test the same cluster as the tool without any credential being copied.
fn kubeconfig_for_suites(source: &KubeconfigSource, context: Option<&str>, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = source.paths().into_iter().map(Path::to_path_buf).collect();
    if let (Some(context), false) = (context, files.is_empty()) {
        let path = dir.join("kubeconfig-context.yaml");
        let body = format!(
            "# written by aks-spot-test: selects the context the run was asked for\napiVersion: v1\nkind: Config\ncurrent-context: {}\n",
            serde_json::Value::String(context.to_string())
        );
        std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, body)).map_err(|source| Error::Input {
            what: "suite kubeconfig override",
            path: path.clone(),
            source,
        })?;
        files.insert(0, path);
    }
    Ok(files)
}

/// The whole pipeline. Errors are the ones that stop a run before it starts (unreachable API server, run lock
/// held); everything later, Azure credentials included, is an outcome the report carries.
pub(crate) async fn run_pipeline(
    settings: &Settings,
    args: &RunArgs,
    azure: &AzureTarget,
    cancel: &CancellationToken,
) -> Result<Finished, Error> {
    let cfg = &settings.config;
    let started_at = Timestamp::now();
    let clock = Instant::now();
    let mut notes = Vec::new();
    let mut preflight = Vec::new();

    // 1. Pre-flight: the API server must answer within the configured timeout, else exit 2.
    let (conn, api_check) = connect_checked(settings).await?;
    let api_timeout = Duration::from_secs(cfg.cluster.timeout_seconds);
    preflight.push(api_check);
    let cluster_name = cfg.cluster.name.clone().unwrap_or_else(|| conn.cluster_name.clone());

    let lock = if cfg.cluster.run_lock.enabled {
        Some(RunLock::acquire(conn.client.clone(), &cfg.cluster.run_lock, &holder_identity()).await?)
    } else {
        None
    };

    match tokio::time::timeout(AFTER_RUN_CALL, restore_cordons(&conn.client)).await {
        Ok(Ok(restored)) => notes.extend(restore_note(&restored, "before the run")),
        Ok(Err(err)) => {
            notes.push(format!("could not check for cordons left by an earlier run: {}", render_chain(&err)))
        }
        Err(_) => notes.push(format!(
            "could not check for cordons left by an earlier run: no answer within {}s",
            AFTER_RUN_CALL.as_secs()
        )),
    }

    let azure_check = azure_preflight(cfg, azure).await;
    let azure_ok = azure_check.status == CheckStatus::Ok;
    preflight.push(azure_check);
    let env_files: Vec<(&str, PathBuf)> = suites(cfg)
        .into_iter()
        .filter(|(_, s)| s.enabled && !s.env_file.as_os_str().is_empty())
        .map(|(fw, s)| (fw.as_str(), settings.base_dir.join(&s.env_file)))
        .collect();
    let env_refs: Vec<(&str, &Path)> = env_files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    preflight.extend(check_env_files(&env_refs));

    let initial = snapshot_or_note(&conn, "initial", &mut notes).await;

    // 2. The eviction watch runs around the suites: events live about an hour, so it must start first.
    let watch = match start_eviction_watch(conn.watch_client()?).await {
        Ok(w) => Some(w),
        Err(err) => {
            notes.push(format!("eviction watch could not start: {}", render_chain(&err)));
            None
        }
    };

    // 3. The suites, one after another; none of them can stop the run.
    let output_dir = args.output_dir.clone().unwrap_or_else(|| settings.base_dir.join(&cfg.reports.output_dir));
    let log_dir = output_dir.join(format!("logs-{}", file_stamp(started_at)));
    let kubeconfig = kubeconfig_for_suites(&settings.kubeconfig, cfg.cluster.context.as_deref(), &log_dir)?;
    let inputs = SpecInputs { base_dir: settings.base_dir.clone(), log_dir, kubeconfig, search_path: None };
    let ctx = ParseContext { categories: cfg.categories.clone(), working_dir: None };
    let mut results = Vec::new();
    let mut suite_runs = Vec::new();
    for (framework, suite_cfg) in suites(cfg) {
        if let Some(reason) = skip_reason(framework, suite_cfg, args) {
            suite_runs.push(skipped_run(framework, reason));
            continue;
        }
        if cancel.is_cancelled() {
            suite_runs.push(skipped_run(framework, "run interrupted before this suite"));
            continue;
        }
        tracing::info!("running the {framework} suite");
        let outcome = execute_suite(framework, suite_cfg, &inputs, &ctx, cancel).await;
        for w in &outcome.warnings {
            tracing::warn!("{w}");
        }
        notes.extend(outcome.warnings);
        notes.extend(outcome.parsed.notes);
        if !outcome.parsed.unattributed.trim().is_empty() {
            // The parser kept it; the full text stays in the suite's log, which the report names.
            let log = outcome.run.log_file.as_deref().unwrap_or("the suite log");
            notes.push(format!(
                "{framework}: {} bytes of output were not attributed to any test (kept in {log})",
                outcome.parsed.unattributed.len()
            ));
            tracing::debug!("{framework}: output not attributed to any test:\n{}", outcome.parsed.unattributed);
        }
        results.extend(outcome.parsed.results);
        suite_runs.push(outcome.run);
    }

    let eviction_monitoring = match watch {
        Some(w) => w.stop().await,
        None => EvictionMonitoring { gaps: vec!["the eviction watch never started".into()], ..Default::default() },
    };

    // The API server may have gone away during the suites. kube's own retry of 503s backs off for minutes per
    // call, so one probe bounded by the pre-flight timeout decides whether the after-run cluster calls are tried.
    let api_answers = match preflight_api(&conn, api_timeout).await {
        Ok(_) => true,
        Err(err) => {
            notes.push(format!(
                "the API server did not answer after the suites: {}; cordons were not restored and the final \
                 cluster snapshot was missed",
                render_chain(&err)
            ));
            false
        }
    };
    let mut remediation = Remediation::default();
    let final_ = if api_answers {
        match tokio::time::timeout(AFTER_RUN_CALL, restore_cordons(&conn.client)).await {
            Ok(Ok(restored)) => notes.extend(restore_note(&restored, "after the run")),
            Ok(Err(err)) => notes.push(format!("could not restore cordons after the run: {}", render_chain(&err))),
            Err(_) => notes.push(format!(
                "could not restore cordons after the run: no answer within {}s",
                AFTER_RUN_CALL.as_secs()
            )),
        }
        remediation = run_remediation(&conn, azure, cfg, azure_ok, &mut notes).await;
        snapshot_or_note(&conn, "final", &mut notes).await
    } else {
        None
    };

    if let Some(lock) = lock {
        if lock.is_lost() {
            notes.push("the run lock was lost during the run (renewals failed)".into());
        }
        let expires = format!("it expires by itself {}s after its last renewal", cfg.cluster.run_lock.lease_seconds);
        // Against a server that already failed the probe, one pre-flight timeout is all the release gets.
        let bound = if api_answers { AFTER_RUN_CALL } else { api_timeout };
        match tokio::time::timeout(bound, lock.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => notes.push(format!("could not release the run lock: {}; {expires}", render_chain(&err))),
            Err(_) => {
                notes.push(format!("could not release the run lock: no answer within {}s; {expires}", bound.as_secs()))
            }
        }
    }

    let facts = RunFacts {
        run_id: uuid::Uuid::new_v4(),
        timestamp: started_at,
        cluster_name,
        duration_seconds: clock.elapsed().as_secs_f64(),
        cluster_state: ClusterState { initial, final_ },
        eviction_monitoring,
        remediation,
        preflight,
        suite_runs,
        notes,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let report = build_report(results, facts);
    let finished = finish(report, &cfg.reports.formats, &output_dir);
    let (removed, problems) = prune(&output_dir, cfg.reports.retention_days, Timestamp::now());
    if !removed.is_empty() {
        println!("removed {} report(s) older than {} days", removed.len(), cfg.reports.retention_days);
    }
    for p in problems {
        eprintln!("warning: {p}");
    }
    Ok(finished)
}

fn suites(cfg: &Config) -> [(Framework, &SuiteConfig); 3] {
    [
        (Framework::Terratest, &cfg.test_suites.terratest),
        (Framework::Bash, &cfg.test_suites.bash),
        (Framework::Python, &cfg.test_suites.python),
    ]
}

fn skip_reason(framework: Framework, cfg: &SuiteConfig, args: &RunArgs) -> Option<&'static str> {
    let flagged = match framework {
        Framework::Terratest => args.skip_terratest,
        Framework::Bash => args.skip_bash,
        Framework::Python => args.skip_python,
    };
    if flagged {
        Some("skipped by a --skip flag")
    } else if !cfg.enabled {
        Some("disabled in the configuration")
    } else {
        None
    }
}

/// With remediation off (`--no-remediate` or `remediation.enabled: false`) Azure is not needed: skipped, with
/// the reason in the check.
async fn azure_preflight(cfg: &Config, azure: &AzureTarget) -> PreflightCheck {
    use crate::azure::credential::{ARM_SCOPE, ImdsCredential, check_token, skipped_check};
    if !cfg.remediation.enabled {
        return skipped_check();
    }
    let cred = match &azure.token_endpoint {
        Some(endpoint) => ImdsCredential::with_endpoint(endpoint, azure.client_id.clone()),
        None => ImdsCredential::from_env(azure.client_id.clone()),
    };
    let outcome = match cred {
        Ok(cred) => check_token(&cred, ARM_SCOPE).await,
        Err(err) => Err(err),
    };
    outcome.unwrap_or_else(|err| PreflightCheck {
        name: "azure credentials".into(),
        status: CheckStatus::Warn,
        message: format!("{}; remediation will not run", render_chain(&err)),
    })
}

/// Remediation after the suites, so it repairs what they and the evictions left.
async fn run_remediation(
    conn: &Connection,
    azure: &AzureTarget,
    cfg: &Config,
    azure_ok: bool,
    notes: &mut Vec<String>,
) -> Remediation {
    if !cfg.remediation.enabled {
        notes.push(
            "remediation is off (--no-remediate or remediation.enabled: false): ghosts and stuck nodes were not \
             looked for; `aks-spot-test remediate --dry-run` lists them"
                .into(),
        );
        return Remediation::default();
    }
    if !azure_ok {
        notes.push("remediation did not run: no Azure token (see pre-flight)".into());
        return Remediation::default();
    }
    // Bounded above the executor's own delete timeout (600 s per scale set) so a stuck ARM cannot hold the run.
    match tokio::time::timeout(REMEDIATION_BOUND, remediate(conn, azure, &cfg.remediation, false)).await {
        Ok(Ok(done)) => done,
        Ok(Err(err)) => {
            notes.push(format!("remediation failed: {}", render_chain(&err)));
            Remediation::default()
        }
        Err(_) => {
            notes.push(format!("remediation stopped: no result within {}s", REMEDIATION_BOUND.as_secs()));
            Remediation::default()
        }
    }
}

async fn snapshot_or_note(
    conn: &Connection,
    which: &str,
    notes: &mut Vec<String>,
) -> Option<crate::report::model::ClusterSnapshot> {
    // Bounded so a dead API server mid-run costs one timeout, not a hang.
    match tokio::time::timeout(Duration::from_secs(60), take_snapshot(&conn.client)).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(err)) => {
            notes.push(format!("the {which} cluster snapshot was missed: {}", render_chain(&err)));
            None
        }
        Err(_) => {
            notes.push(format!("the {which} cluster snapshot was missed: no answer within 60s"));
            None
        }
    }
}

fn file_stamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d-%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_context_goes_first_without_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let source = KubeconfigSource::EnvPaths(vec!["/a/config".into(), "/b/config".into()]);
        let files = kubeconfig_for_suites(&source, Some("prod: \"x\""), dir.path()).unwrap();
        assert_eq!(files[1..], [PathBuf::from("/a/config"), PathBuf::from("/b/config")]);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(text.contains("current-context: \"prod: \\\"x\\\"\"\n"), "{text}");
        assert!(!text.contains("token") && !text.contains("users"));
        assert_eq!(kubeconfig_for_suites(&source, None, dir.path()).unwrap().len(), 2);
    }
}
