//! Raw flags layered over the loaded configuration into one validated [`Settings`] that commands read.
//!
//! Order, lowest first: embedded defaults < config file < environment (both in `config::load`) < flags (here).
//! The environment is an input map so the whole resolution is testable without touching the process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::args::{GlobalArgs, RunArgs};
use crate::config::load::resolve_path;
use crate::config::{Config, ConfigError, env};

/// How much to log on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    #[default]
    Normal,
    /// `-v`
    Debug,
    /// `-vv` and more.
    Trace,
}

impl Verbosity {
    /// clap already rejects `-v` together with `-q`; quiet wins if both reach here.
    pub fn from_flags(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Debug,
            (false, _) => Verbosity::Trace,
        }
    }
}

/// Where the Kubernetes client configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// `--kubeconfig`, or `cluster.kubeconfig` in the config file.
    Explicit(PathBuf),
    /// `KUBECONFIG`, possibly several files merged in order as kubectl does.
    EnvPaths(Vec<PathBuf>),
    /// `~/.kube/config`, which exists.
    Default(PathBuf),
    /// Nothing found: in-cluster configuration is the only option left.
    None,
}

impl KubeconfigSource {
    /// The files to read, merged in this order (first wins per key, as kubectl merges `KUBECONFIG`).
    pub fn paths(&self) -> Vec<&Path> {
        match self {
            KubeconfigSource::Explicit(path) | KubeconfigSource::Default(path) => vec![path.as_path()],
            KubeconfigSource::EnvPaths(paths) => paths.iter().map(PathBuf::as_path).collect(),
            KubeconfigSource::None => Vec::new(),
        }
    }
}

/// Everything a command needs to know about how it was asked to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub config: Config,
    /// The config file as given, when there was one.
    pub config_path: Option<PathBuf>,
    /// Where relative paths in the configuration were taken from.
    pub base_dir: PathBuf,
    pub kubeconfig: KubeconfigSource,
    pub verbosity: Verbosity,
    /// To be shown to the user (unknown keys and the like); none of them stops a command.
    pub warnings: Vec<String>,
}

/// Layers the flags of `global` (and `run`, for the `run` command) over the configuration loaded with `env`.
pub fn resolve(
    global: &GlobalArgs,
    run: Option<&RunArgs>,
    env: &BTreeMap<String, String>,
) -> Result<Settings, ConfigError> {
    let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir { source })?;
    resolve_in(global, run, env, &cwd)
}

/// [`resolve`] with the current directory given.
pub fn resolve_in(
    global: &GlobalArgs,
    run: Option<&RunArgs>,
    env: &BTreeMap<String, String>,
    cwd: &Path,
) -> Result<Settings, ConfigError> {
    let home = env::home_dir(env);
    // clap fills `--config` from AKS_SPOT_TEST_CONFIG for the binary; the map covers library callers.
    let config_path = global.config.clone().or_else(|| env::get(env, env::CONFIG).map(PathBuf::from));
    let loaded = crate::config::load_in(config_path.as_deref(), env, cwd)?;
    let mut config = loaded.config;

    if let Some(path) = &global.kubeconfig {
        config.cluster.kubeconfig = Some(resolve_path(path, cwd, home.as_deref()));
    }
    if let Some(context) = &global.context {
        if context.trim().is_empty() {
            return Err(flag_error("--context", "must not be empty"));
        }
        config.cluster.context = Some(context.clone());
    }
    if let Some(run) = run {
        apply_run_flags(&mut config, run, cwd, home.as_deref());
    }
    let kubeconfig = kubeconfig_source(global.kubeconfig.is_some(), &config, env, cwd, home.as_deref());

    Ok(Settings {
        config,
        config_path,
        base_dir: loaded.base_dir,
        kubeconfig,
        verbosity: Verbosity::from_flags(global.verbose, global.quiet),
        warnings: loaded.warnings,
    })
}

fn apply_run_flags(config: &mut Config, run: &RunArgs, cwd: &Path, home: Option<&Path>) {
    if run.no_remediate {
        config.remediation.enabled = false;
    }
    let suites = &mut config.test_suites;
    for (skip, suite) in [
        (run.skip_terratest, &mut suites.terratest),
        (run.skip_bash, &mut suites.bash),
        (run.skip_python, &mut suites.python),
    ] {
        if skip {
            suite.enabled = false;
        }
    }
    if run.open_html {
        config.reports.open_html_after_run = true;
    }
    if let Some(dir) = &run.output_dir {
        config.reports.output_dir = resolve_path(dir, cwd, home);
    }
}

/// The flag beats `KUBECONFIG`, which beats the config file (environment over file, as for every key), which
/// beats `~/.kube/config`.
fn kubeconfig_source(
    from_flag: bool,
    config: &Config,
    env: &BTreeMap<String, String>,
    cwd: &Path,
    home: Option<&Path>,
) -> KubeconfigSource {
    if let (true, Some(path)) = (from_flag, &config.cluster.kubeconfig) {
        return KubeconfigSource::Explicit(path.clone());
    }
    if let Some(list) = env::get(env, env::KUBECONFIG) {
        // kubectl skips empty entries (`a::b`, a trailing `:`).
        let paths: Vec<PathBuf> = std::env::split_paths(list)
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| resolve_path(&p, cwd, home))
            .collect();
        if !paths.is_empty() {
            return KubeconfigSource::EnvPaths(paths);
        }
    }
    if let Some(path) = &config.cluster.kubeconfig {
        return KubeconfigSource::Explicit(path.clone());
    }
    match home.map(|h| h.join(".kube").join("config")) {
        Some(path) if path.is_file() => KubeconfigSource::Default(path),
        _ => KubeconfigSource::None,
    }
}

fn flag_error(flag: &str, problem: &str) -> ConfigError {
    ConfigError::Invalid { origin: "command line".into(), key: flag.into(), problem: problem.into() }
}

/// The process environment as a map; variables that are not UTF-8 are left out (none of ours can be).
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::ReportFormat;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn verbosity_from_flags() {
        assert_eq!(Verbosity::from_flags(0, false), Verbosity::Normal);
        assert_eq!(Verbosity::from_flags(1, false), Verbosity::Debug);
        assert_eq!(Verbosity::from_flags(2, false), Verbosity::Trace);
        assert_eq!(Verbosity::from_flags(5, false), Verbosity::Trace);
        assert_eq!(Verbosity::from_flags(0, true), Verbosity::Quiet);
    }

    #[test]
    fn no_flags_no_env_gives_defaults_under_cwd() {
        let settings = resolve_in(&GlobalArgs::default(), None, &BTreeMap::new(), Path::new("/w")).expect("resolves");
        assert_eq!(settings.base_dir, PathBuf::from("/w"));
        assert_eq!(settings.config_path, None);
        assert_eq!(settings.kubeconfig, KubeconfigSource::None);
        assert_eq!(settings.verbosity, Verbosity::Normal);
        assert_eq!(settings.config.reports.output_dir, PathBuf::from("/w/reports/"));
        assert!(settings.config.remediation.enabled);
    }

    #[test]
    fn flags_beat_env_which_beats_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "cluster:\n  context: from-file\nreports:\n  output_dir: file-out\n").expect("write");
        let global = GlobalArgs { config: Some(file.clone()), ..GlobalArgs::default() };
        let vars = env(&[(env::CONTEXT, "from-env"), (env::OUTPUT_DIR, "env-out"), (env::FORMATS, "junit")]);

        let settings = resolve_in(&global, None, &vars, Path::new("/cwd")).expect("resolves");
        assert_eq!(settings.config.cluster.context.as_deref(), Some("from-env"));
        assert_eq!(settings.config.reports.output_dir, PathBuf::from("/cwd/env-out"));
        assert_eq!(settings.config.reports.formats, vec![ReportFormat::Junit]);
        assert_eq!(settings.config_path, Some(file));
        assert_eq!(settings.base_dir, dir.path());

        let global = GlobalArgs { context: Some("from-flag".into()), ..global };
        let run = RunArgs {
            output_dir: Some("flag-out".into()),
            no_remediate: true,
            skip_bash: true,
            open_html: true,
            ..RunArgs::default()
        };
        let settings = resolve_in(&global, Some(&run), &vars, Path::new("/cwd")).expect("resolves");
        assert_eq!(settings.config.cluster.context.as_deref(), Some("from-flag"));
        assert_eq!(settings.config.reports.output_dir, PathBuf::from("/cwd/flag-out"));
        assert!(!settings.config.remediation.enabled);
        assert!(!settings.config.test_suites.bash.enabled);
        assert!(settings.config.test_suites.terratest.enabled);
        assert!(settings.config.test_suites.python.enabled);
        assert!(settings.config.reports.open_html_after_run);
    }

    #[test]
    fn config_path_from_env_map_when_no_flag() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "bogus_key: 1\n").expect("write");
        let vars = env(&[(env::CONFIG, file.to_str().expect("utf-8 temp path"))]);
        let settings = resolve_in(&GlobalArgs::default(), None, &vars, Path::new("/cwd")).expect("resolves");
        assert_eq!(settings.config_path, Some(file.clone()));
        assert_eq!(settings.warnings, vec![format!("{}: bogus_key: unknown key, ignored", file.display())]);
    }

    #[test]
    fn kubeconfig_precedence() {
        let home = tempfile::tempdir().expect("temp dir");
        let home_str = home.path().to_str().expect("utf-8 temp path");
        let cwd = Path::new("/cwd");
        let resolve_kc = |global: &GlobalArgs, vars: &BTreeMap<String, String>| {
            resolve_in(global, None, vars, cwd).expect("resolves").kubeconfig
        };

        // No file at ~/.kube/config: nothing.
        assert_eq!(resolve_kc(&GlobalArgs::default(), &env(&[("HOME", home_str)])), KubeconfigSource::None);

        std::fs::create_dir_all(home.path().join(".kube")).expect("mkdir");
        std::fs::write(home.path().join(".kube/config"), "apiVersion: v1\n").expect("write");
        assert_eq!(
            resolve_kc(&GlobalArgs::default(), &env(&[("HOME", home_str)])),
            KubeconfigSource::Default(home.path().join(".kube/config"))
        );

        let vars = env(&[("HOME", home_str), ("KUBECONFIG", "a.yaml::~/b.yaml:")]);
        assert_eq!(
            resolve_kc(&GlobalArgs::default(), &vars),
            KubeconfigSource::EnvPaths(vec![PathBuf::from("/cwd/a.yaml"), home.path().join("b.yaml")])
        );

        let global = GlobalArgs { kubeconfig: Some("~/flag.yaml".into()), ..GlobalArgs::default() };
        assert_eq!(resolve_kc(&global, &vars), KubeconfigSource::Explicit(home.path().join("flag.yaml")));

        assert_eq!(
            resolve_kc(&GlobalArgs::default(), &vars).paths(),
            vec![Path::new("/cwd/a.yaml"), &home.path().join("b.yaml")]
        );

        // Only separators: treated as unset.
        let vars = env(&[("HOME", home_str), ("KUBECONFIG", ":")]);
        assert_eq!(
            resolve_kc(&GlobalArgs::default(), &vars),
            KubeconfigSource::Default(home.path().join(".kube/config"))
        );
    }

    #[test]
    fn kubeconfig_from_file_loses_to_env_and_beats_default() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "cluster:\n  kubeconfig: kc.yaml\n").expect("write");
        let global = GlobalArgs { config: Some(file), ..GlobalArgs::default() };
        let settings = resolve_in(&global, None, &BTreeMap::new(), Path::new("/cwd")).expect("resolves");
        assert_eq!(settings.kubeconfig, KubeconfigSource::Explicit(dir.path().join("kc.yaml")));
        let settings = resolve_in(&global, None, &env(&[("KUBECONFIG", "/k")]), Path::new("/cwd")).expect("resolves");
        assert_eq!(settings.kubeconfig, KubeconfigSource::EnvPaths(vec![PathBuf::from("/k")]));
    }

    #[test]
    fn bad_values_are_config_errors() {
        let global = GlobalArgs { context: Some(" ".into()), ..GlobalArgs::default() };
        let err = resolve_in(&global, None, &BTreeMap::new(), Path::new("/")).expect_err("empty context");
        assert_eq!(err.to_string(), "command line: --context: must not be empty");
        let global = GlobalArgs { config: Some("/nonexistent/c.yaml".into()), ..GlobalArgs::default() };
        let err = resolve_in(&global, None, &BTreeMap::new(), Path::new("/")).expect_err("missing file");
        assert_eq!(err.to_string(), "failed to read /nonexistent/c.yaml");
    }
}
