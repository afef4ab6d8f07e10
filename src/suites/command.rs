//! How each framework's command line, environment and limits are built from its `SuiteConfig`.
//!
//! Paths in the config are relative to the config file's directory (`base_dir`); the Python venv
//! is looked up in the suite's working directory first, as the suites' own docs activate it there.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::schema::SuiteConfig;
use crate::report::model::Framework;
use crate::suites::envfile::{EnvFile, read_env_file};
use crate::suites::error::SuiteError;

/// Everything needed to run one suite process.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteSpec {
    pub framework: Framework,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub working_dir: PathBuf,
    /// Set over the inherited process environment: `.env` variables, then `KUBECONFIG`.
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL to the process group.
    pub kill_grace: Duration,
    pub stdout_log: PathBuf,
    pub stderr_log: PathBuf,
    /// Python: the pytest-json-report file the run writes.
    pub report_file: Option<PathBuf>,
    /// Bash: the directory the suite writes `<TEST_ID>.json` into (passed as `RESULTS_DIR`).
    pub results_dir: Option<PathBuf>,
}

/// A tool, script or directory the suite needs is not there: the orchestrator records a FAIL
/// entry for the suite and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTool {
    pub framework: Framework,
    pub tool: String,
    /// Where it was looked for ("on PATH"), empty when the tool names a path itself.
    pub place: &'static str,
    pub hint: String,
}

impl fmt::Display for MissingTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            "" => write!(f, "{} not found ({})", self.tool, self.hint),
            place => write!(f, "{} not found {place} ({})", self.tool, self.hint),
        }
    }
}

/// What preparing a suite gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Prepared {
    /// Ready to run; `warnings` are for the run log (missing `.env`, system Python, ...).
    Ready {
        spec: SuiteSpec,
        warnings: Vec<String>,
    },
    MissingTool(MissingTool),
}

/// What the caller knows beyond the suite's own config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecInputs {
    /// The config file's directory; relative config paths start here.
    pub base_dir: PathBuf,
    /// Where this run's logs and suite outputs go (made absolute against `base_dir`).
    pub log_dir: PathBuf,
    /// Passed to the suite as `KUBECONFIG`, joined like that variable (empty: the suite inherits ours).
    pub kubeconfig: Vec<PathBuf>,
    /// The `PATH` to find tools on; `None` uses this process's `PATH`.
    pub search_path: Option<OsString>,
}

/// Builds the spec for `framework` from `cfg`. Errors are configuration problems (bad `.env`,
/// impossible timeout); a missing tool is the `Prepared::MissingTool` outcome.
pub fn prepare_suite(framework: Framework, cfg: &SuiteConfig, inputs: &SpecInputs) -> Result<Prepared, SuiteError> {
    let timeout = minutes(framework, cfg.timeout_minutes)?;
    let kill_grace = Duration::from_secs(cfg.kill_grace_seconds);
    let base = &inputs.base_dir;
    let working_dir = base.join(&cfg.working_dir);
    let log_dir = base.join(&inputs.log_dir);
    let search_path = inputs.search_path.clone().or_else(|| std::env::var_os("PATH")).unwrap_or_default();
    let mut warnings = Vec::new();

    if !working_dir.is_dir() {
        return Ok(Prepared::MissingTool(MissingTool {
            framework,
            place: "",
            tool: format!("working directory {}", working_dir.display()),
            hint: "set test_suites.<suite>.working_dir, relative to the config file".into(),
        }));
    }

    let mut env = Vec::new();
    if !cfg.env_file.as_os_str().is_empty() {
        match read_env_file(&base.join(&cfg.env_file))? {
            EnvFile::Loaded { vars, .. } => env.extend(vars),
            EnvFile::Missing { path } => {
                warnings.push(format!("{framework}: no env file at {}, running without it", path.display()));
            }
        }
    }
    if !inputs.kubeconfig.is_empty() {
        let paths: Vec<PathBuf> = inputs.kubeconfig.iter().map(|p| base.join(p)).collect();
        // Paths with the separator in them cannot be listed; kubectl would misread them anyway.
        if let Ok(joined) = std::env::join_paths(&paths) {
            env.push(("KUBECONFIG".into(), joined.to_string_lossy().into_owned()));
        }
    }

    let stdout_log = log_dir.join(format!("{framework}.stdout.log"));
    let stderr_log = log_dir.join(format!("{framework}.stderr.log"));
    let mut report_file = None;
    let mut results_dir = None;

    let (program, args) = match framework {
        Framework::Terratest => {
            let Some(go) = find_on_path("go", &search_path) else {
                return Ok(missing(framework, "go", "install Go and put it on PATH"));
            };
            let mut args = vec![
                "test".to_string(),
                "-json".into(),
                // Cached results carry no timings and hide flaky tests.
                "-count=1".into(),
                "-timeout".into(),
                go_timeout(timeout),
            ];
            if cfg.args.is_empty() {
                args.push("./...".into());
            } else {
                args.extend(cfg.args.iter().cloned());
            }
            (go, args)
        }
        Framework::Bash => {
            let Some(bash) = find_on_path("bash", &search_path) else {
                return Ok(missing(framework, "bash", "install bash and put it on PATH"));
            };
            let script = cfg.args.first().cloned().unwrap_or_else(|| "run-all-tests.sh".into());
            if !working_dir.join(&script).is_file() {
                return Ok(Prepared::MissingTool(MissingTool {
                    framework,
                    place: "",
                    tool: format!("script {}", working_dir.join(&script).display()),
                    hint: "test_suites.bash.args[0] names the entry script in working_dir".into(),
                }));
            }
            let dir = log_dir.join("bash-results");
            env.push(("RESULTS_DIR".into(), dir.display().to_string()));
            results_dir = Some(dir);
            let mut args = vec![script];
            args.extend(cfg.args.iter().skip(1).cloned());
            (bash, args)
        }
        Framework::Python => {
            let venv = cfg.venv_path.as_ref().and_then(|v| find_venv(v, &working_dir, base));
            let python = match venv {
                Some(venv) => {
                    let bin = venv.join("bin");
                    // What `source venv/bin/activate` would do, for suites that shell out.
                    env.push(("VIRTUAL_ENV".into(), venv.display().to_string()));
                    let mut path = OsString::from(bin.as_os_str());
                    if !search_path.is_empty() {
                        path.push(":");
                        path.push(&search_path);
                    }
                    env.push(("PATH".into(), path.to_string_lossy().into_owned()));
                    bin.join("python")
                }
                None => {
                    let Some(python3) = find_on_path("python3", &search_path) else {
                        return Ok(missing(framework, "python3", "create the suite's venv or install python3"));
                    };
                    if let Some(v) = &cfg.venv_path {
                        warnings.push(format!(
                            "python: no virtualenv at {} (looked in {} and {}); using {}",
                            v.display(),
                            working_dir.display(),
                            base.display(),
                            python3.display()
                        ));
                    }
                    python3
                }
            };
            let report = log_dir.join("pytest-report.json");
            let mut args = vec![
                "-m".to_string(),
                "pytest".into(),
                "-v".into(),
                "--json-report".into(),
                format!("--json-report-file={}", report.display()),
            ];
            args.extend(cfg.args.iter().cloned());
            report_file = Some(report);
            (python, args)
        }
    };

    let spec = SuiteSpec {
        framework,
        program,
        args,
        working_dir,
        env,
        timeout,
        kill_grace,
        stdout_log,
        stderr_log,
        report_file,
        results_dir,
    };
    Ok(Prepared::Ready { spec, warnings })
}

fn missing(framework: Framework, tool: &str, hint: &str) -> Prepared {
    Prepared::MissingTool(MissingTool { framework, tool: tool.into(), place: "on PATH", hint: hint.into() })
}

fn minutes(framework: Framework, minutes: f64) -> Result<Duration, SuiteError> {
    if minutes.is_nan() || minutes <= 0.0 {
        return Err(SuiteError::InvalidTimeout { framework, minutes });
    }
    Duration::try_from_secs_f64(minutes * 60.0).map_err(|_| SuiteError::InvalidTimeout { framework, minutes })
}

/// Go's own `-timeout` fires a little before ours, so a hang ends with Go's stack dump and a
/// package `fail` event rather than a bare kill.
fn go_timeout(timeout: Duration) -> String {
    let margin = (timeout / 10).max(Duration::from_secs(1));
    let secs = timeout.saturating_sub(margin).as_secs().max(1);
    format!("{secs}s")
}

fn find_venv(venv: &Path, working_dir: &Path, base: &Path) -> Option<PathBuf> {
    [working_dir.join(venv), base.join(venv)].into_iter().find(|v| is_executable(&v.join("bin").join("python")))
}

/// Finds `tool` in the `PATH`-style list `search_path` (a small walk; no extra crate needed).
pub fn find_on_path(tool: &str, search_path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(tool))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake tool directory holding executables named `tools`.
    fn bin_dir(tools: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        for tool in tools {
            let p = dir.path().join(tool);
            std::fs::write(&p, "#!/bin/sh\n").expect("write tool");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        dir
    }

    fn inputs(base: &Path, bin: &Path) -> SpecInputs {
        SpecInputs {
            base_dir: base.to_path_buf(),
            log_dir: "logs".into(),
            kubeconfig: vec!["kube/config".into()],
            search_path: Some(bin.as_os_str().to_owned()),
        }
    }

    fn suite(dir: &str) -> SuiteConfig {
        SuiteConfig { working_dir: dir.into(), env_file: format!("{dir}/.env").into(), ..SuiteConfig::default() }
    }

    fn ready(p: Prepared) -> (SuiteSpec, Vec<String>) {
        match p {
            Prepared::Ready { spec, warnings } => (spec, warnings),
            Prepared::MissingTool(m) => panic!("unexpected missing tool: {m}"),
        }
    }

    #[test]
    fn terratest_command_env_and_logs() {
        let base = tempfile::tempdir().expect("tempdir");
        let bin = bin_dir(&["go"]);
        std::fs::create_dir(base.path().join("tests")).expect("mkdir");
        std::fs::write(base.path().join("tests/.env"), "export ARM_LOCATION=westeurope\nEMPTY=\n").expect("env");
        let cfg = SuiteConfig { timeout_minutes: 10.0, kill_grace_seconds: 7, ..suite("tests") };
        let (spec, warnings) =
            ready(prepare_suite(Framework::Terratest, &cfg, &inputs(base.path(), bin.path())).expect("ok"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(spec.program, bin.path().join("go"));
        assert_eq!(spec.args, ["test", "-json", "-count=1", "-timeout", "540s", "./..."]);
        assert_eq!(spec.working_dir, base.path().join("tests"));
        assert_eq!(spec.timeout, Duration::from_secs(600));
        assert_eq!(spec.kill_grace, Duration::from_secs(7));
        assert_eq!(
            spec.env,
            vec![
                ("ARM_LOCATION".to_string(), "westeurope".to_string()),
                ("EMPTY".into(), String::new()),
                ("KUBECONFIG".into(), base.path().join("kube/config").display().to_string()),
            ]
        );
        assert_eq!(spec.stdout_log, base.path().join("logs/terratest.stdout.log"));
        assert_eq!(spec.stderr_log, base.path().join("logs/terratest.stderr.log"));
        assert_eq!(spec.report_file, None);

        let cfg = SuiteConfig { args: vec!["-run".into(), "TestSpot".into(), "./spot/...".into()], ..cfg };
        let (spec, _) = ready(prepare_suite(Framework::Terratest, &cfg, &inputs(base.path(), bin.path())).expect("ok"));
        assert_eq!(spec.args[5..], ["-run", "TestSpot", "./spot/..."]);
    }

    #[test]
    fn missing_tool_is_an_outcome_naming_the_tool() {
        let base = tempfile::tempdir().expect("tempdir");
        let empty = bin_dir(&[]);
        std::fs::create_dir(base.path().join("tests")).expect("mkdir");
        let got = prepare_suite(Framework::Terratest, &suite("tests"), &inputs(base.path(), empty.path())).expect("ok");
        match got {
            Prepared::MissingTool(m) => {
                assert_eq!(m.framework, Framework::Terratest);
                assert_eq!(m.to_string(), "go not found on PATH (install Go and put it on PATH)");
            }
            other => panic!("expected a missing tool, got {other:?}"),
        }
    }

    #[test]
    fn missing_env_file_is_a_warning_and_malformed_one_an_error() {
        let base = tempfile::tempdir().expect("tempdir");
        let bin = bin_dir(&["bash"]);
        std::fs::create_dir(base.path().join("sb")).expect("mkdir");
        std::fs::write(base.path().join("sb/run-all-tests.sh"), "").expect("script");
        let (spec, warnings) =
            ready(prepare_suite(Framework::Bash, &suite("sb"), &inputs(base.path(), bin.path())).expect("ok"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("no env file"), "{warnings:?}");
        assert_eq!(spec.program, bin.path().join("bash"));
        assert_eq!(spec.args, ["run-all-tests.sh"]);
        let results = base.path().join("logs/bash-results");
        assert!(spec.env.contains(&("RESULTS_DIR".into(), results.display().to_string())));
        assert_eq!(spec.results_dir, Some(results));

        std::fs::write(base.path().join("sb/.env"), "GOOD=1\nBAD LINE\n").expect("env");
        let err =
            prepare_suite(Framework::Bash, &suite("sb"), &inputs(base.path(), bin.path())).expect_err("malformed");
        assert!(matches!(err, SuiteError::EnvFileSyntax { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn bash_entry_script_must_exist() {
        let base = tempfile::tempdir().expect("tempdir");
        let bin = bin_dir(&["bash"]);
        std::fs::create_dir(base.path().join("sb")).expect("mkdir");
        let cfg = SuiteConfig { args: vec!["custom.sh".into(), "--fast".into()], ..suite("sb") };
        let got = prepare_suite(Framework::Bash, &cfg, &inputs(base.path(), bin.path())).expect("ok");
        assert!(matches!(&got, Prepared::MissingTool(m) if m.tool.contains("custom.sh")), "{got:?}");
        std::fs::write(base.path().join("sb/custom.sh"), "").expect("script");
        let (spec, _) = ready(prepare_suite(Framework::Bash, &cfg, &inputs(base.path(), bin.path())).expect("ok"));
        assert_eq!(spec.args, ["custom.sh", "--fast"]);
    }

    #[test]
    fn python_uses_the_venv_when_present_else_system_python_with_a_warning() {
        let base = tempfile::tempdir().expect("tempdir");
        let bin = bin_dir(&["python3"]);
        std::fs::create_dir(base.path().join("py")).expect("mkdir");
        let cfg = SuiteConfig { venv_path: Some("venv".into()), args: vec!["-k".into(), "spot".into()], ..suite("py") };

        let (spec, warnings) =
            ready(prepare_suite(Framework::Python, &cfg, &inputs(base.path(), bin.path())).expect("ok"));
        assert_eq!(spec.program, bin.path().join("python3"));
        assert!(warnings.iter().any(|w| w.contains("no virtualenv")), "{warnings:?}");
        let report = base.path().join("logs/pytest-report.json");
        assert_eq!(
            spec.args,
            vec![
                "-m".to_string(),
                "pytest".into(),
                "-v".into(),
                "--json-report".into(),
                format!("--json-report-file={}", report.display()),
                "-k".into(),
                "spot".into(),
            ]
        );
        assert_eq!(spec.report_file, Some(report));

        let venv_bin = base.path().join("py/venv/bin");
        std::fs::create_dir_all(&venv_bin).expect("mkdir");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(venv_bin.join("python"), "").expect("python");
            std::fs::set_permissions(venv_bin.join("python"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let (spec, warnings) =
            ready(prepare_suite(Framework::Python, &cfg, &inputs(base.path(), bin.path())).expect("ok"));
        assert_eq!(spec.program, venv_bin.join("python"));
        assert!(warnings.iter().all(|w| !w.contains("virtualenv")), "{warnings:?}");
        let path = spec.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()).expect("PATH set");
        assert!(path.starts_with(&venv_bin.display().to_string()), "{path}");
    }

    #[test]
    fn impossible_timeouts_are_errors_not_panics() {
        let base = tempfile::tempdir().expect("tempdir");
        let bin = bin_dir(&["go"]);
        std::fs::create_dir(base.path().join("t")).expect("mkdir");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            let cfg = SuiteConfig { timeout_minutes: bad, ..suite("t") };
            let err = prepare_suite(Framework::Terratest, &cfg, &inputs(base.path(), bin.path())).expect_err("bad");
            assert!(matches!(err, SuiteError::InvalidTimeout { .. }), "{bad}: {err:?}");
        }
    }

    #[test]
    fn go_timeout_leaves_a_margin_for_ours() {
        assert_eq!(go_timeout(Duration::from_secs(600)), "540s");
        assert_eq!(go_timeout(Duration::from_secs(5)), "4s");
        assert_eq!(go_timeout(Duration::from_secs(1)), "1s");
    }

    #[test]
    fn path_walk_skips_non_executables_and_empty_entries() {
        let bin = bin_dir(&["go"]);
        std::fs::write(bin.path().join("plain"), "").expect("write");
        let path = std::env::join_paths(["", bin.path().to_str().expect("utf8")]).expect("join");
        assert_eq!(find_on_path("go", &path), Some(bin.path().join("go")));
        assert_eq!(find_on_path("plain", &path), None);
        assert_eq!(find_on_path("absent", &path), None);
    }
}
