//! `demo`: starts the simulated AKS with the default scenario, extracts the spot suites shipped in the
//! binary, and runs the whole `run` pipeline against it, so the tool can be tried with no cluster at all.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use tokio_util::sync::CancellationToken;

use crate::cli::args::{DemoArgs, RunArgs};
use crate::cli::{KubeconfigSource, Settings};
use crate::config::schema::Config;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::sim::runtime::start_tls;
use crate::sim::{Scenario, SimError, SimOptions};

use crate::remediation::AzureTarget;

use super::run::run_pipeline;

/// The spot-behavior suites, shipped inside the binary so `demo` works from an installed copy too.
static SUITES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/suites");

/// `aks-spot-test demo`.
pub(crate) async fn demo_command(settings: &Settings, args: &DemoArgs) -> Result<ExitCode, Error> {
    let work = match &args.output_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("aks-spot-test-demo-{}", std::process::id())),
    };
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Input { what, path, source }
    };
    std::fs::create_dir_all(&work).map_err(io("demo directory", &work))?;

    let scenario =
        Scenario::builtin("default").ok_or_else(|| Error::Usage("the default scenario is missing".into()))?;
    let mut opts = SimOptions::new(scenario);
    opts.request_log_file = Some(work.join("sim-requests.log"));
    let sim = start_tls(opts).await?;
    println!("simulated AKS: kube {} arm {}", sim.kube_url(), sim.arm_url());

    let kubeconfig = work.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).map_err(|source| SimError::Write { path: kubeconfig.clone(), source })?;
    let suites_dir = work.join("suites");
    extract_suites(&suites_dir).map_err(io("demo suites directory", &suites_dir))?;

    let config = demo_config(&settings.config, &suites_dir, &work.join("reports"), sim.cluster_name());
    let demo_settings = Settings {
        config,
        config_path: None,
        base_dir: work.clone(),
        kubeconfig: KubeconfigSource::Explicit(kubeconfig),
        verbosity: settings.verbosity,
        warnings: Vec::new(),
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let azure = AzureTarget {
        arm_endpoint: Some(sim.arm_url()),
        subscription_id: Some(sim.subscription_id().to_string()),
        token_endpoint: Some(sim.token_url()),
        client_id: None,
    };
    let outcome = run_pipeline(&demo_settings, &RunArgs::default(), &azure, &cancel).await;
    sim.shutdown().await;
    let finished = outcome?;
    println!("demo directory: {}", work.display());
    for (_, path) in &finished.written {
        println!("report: {}", path.display());
    }
    Ok(finished.exit)
}

/// Writes the embedded suites under `dir`, with a `.env` for each made from its `.env.example`.
fn extract_suites(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    SUITES.extract(dir)?;
    for suite in ["terratest", "spot-behavior", "spot-behavior-python"] {
        let example = dir.join(suite).join(".env.example");
        let env = dir.join(suite).join(".env");
        if example.is_file() && !env.exists() {
            std::fs::copy(&example, &env)?;
        }
    }
    make_scripts_executable(dir)
}

fn make_scripts_executable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            make_scripts_executable(&path)?;
        } else if path.extension().is_some_and(|e| e == "sh") {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

/// The user's configuration with the suites pointed at the extracted copies and timeouts fit for a demo.
fn demo_config(base: &Config, suites: &Path, reports: &Path, cluster: &str) -> Config {
    let mut cfg = base.clone();
    cfg.cluster.name = Some(cluster.to_string());
    let set = |s: &mut crate::config::schema::SuiteConfig, name: &str, minutes: f64| {
        s.working_dir = suites.join(name);
        s.env_file = suites.join(name).join(".env");
        s.timeout_minutes = minutes;
    };
    set(&mut cfg.test_suites.terratest, "terratest", 3.0);
    set(&mut cfg.test_suites.bash, "spot-behavior", 5.0);
    set(&mut cfg.test_suites.python, "spot-behavior-python", 5.0);
    cfg.test_suites.terratest.args = vec!["./...".into()];
    cfg.test_suites.bash.args = vec!["run-all-tests.sh".into()];
    cfg.test_suites.python.venv_path = None;
    cfg.reports.output_dir = PathBuf::from(reports);
    cfg
}
