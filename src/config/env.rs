//! The environment layer: a small, documented set of `AKS_SPOT_TEST_*` variables applied over the file layer.
//!
//! The environment is an input (a map), never read here from the process, so every rule is unit-testable.
//! An empty variable counts as unset, the usual convention for clearing a setting in a shell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::load::resolve_path;
use super::schema::{Config, ReportFormat};

/// `reports.output_dir`, relative to the current directory.
pub const OUTPUT_DIR: &str = "AKS_SPOT_TEST_OUTPUT_DIR";
/// `cluster.context`.
pub const CONTEXT: &str = "AKS_SPOT_TEST_CONTEXT";
/// `cluster.name`.
pub const CLUSTER_NAME: &str = "AKS_SPOT_TEST_CLUSTER_NAME";
/// `remediation.enabled = false` when `1`, `true`, `yes` or `on`; `0`, `false`, `no`, `off` change nothing.
pub const NO_REMEDIATE: &str = "AKS_SPOT_TEST_NO_REMEDIATE";
/// `reports.formats`, comma separated (`json,junit`).
pub const FORMATS: &str = "AKS_SPOT_TEST_FORMATS";
/// The config file when `--config` is absent (clap reads it for the binary; the map is checked too).
pub const CONFIG: &str = "AKS_SPOT_TEST_CONFIG";
/// Kubeconfig paths, several joined by `:` as kubectl does.
pub const KUBECONFIG: &str = "KUBECONFIG";

/// Every variable this layer reads, for documentation and `--help` texts.
pub const VARIABLES: [&str; 7] = [CONFIG, OUTPUT_DIR, CONTEXT, CLUSTER_NAME, NO_REMEDIATE, FORMATS, KUBECONFIG];

/// A variable's value, with empty treated as unset.
pub(crate) fn get<'a>(env: &'a BTreeMap<String, String>, var: &str) -> Option<&'a str> {
    env.get(var).map(String::as_str).filter(|v| !v.is_empty())
}

/// The home directory for `~`, from `HOME` in the given environment.
pub fn home_dir(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    get(env, "HOME").map(PathBuf::from)
}

/// Applies the environment layer to `config`; relative paths are taken from `cwd`.
pub fn apply(config: &mut Config, env: &BTreeMap<String, String>, cwd: &Path) -> Result<(), ConfigError> {
    let home = home_dir(env);
    if let Some(dir) = get(env, OUTPUT_DIR) {
        config.reports.output_dir = resolve_path(Path::new(dir), cwd, home.as_deref());
    }
    if let Some(context) = get(env, CONTEXT) {
        config.cluster.context = Some(context.to_string());
    }
    if let Some(name) = get(env, CLUSTER_NAME) {
        config.cluster.name = Some(name.to_string());
    }
    if let Some(value) = get(env, NO_REMEDIATE) {
        if parse_bool(NO_REMEDIATE, value)? {
            config.remediation.enabled = false;
        }
    }
    if let Some(value) = get(env, FORMATS) {
        config.reports.formats = parse_formats(FORMATS, value)?;
    }
    Ok(())
}

fn parse_bool(var: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Env {
            var: var.to_string(),
            problem: format!("expected 1/true/yes/on or 0/false/no/off, got {value:?}"),
        }),
    }
}

/// Comma-separated formats, duplicates dropped, order kept.
pub(crate) fn parse_formats(var: &str, value: &str) -> Result<Vec<ReportFormat>, ConfigError> {
    let mut formats = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let format = match part.to_ascii_lowercase().as_str() {
            "json" => ReportFormat::Json,
            "html" => ReportFormat::Html,
            "markdown" | "md" => ReportFormat::Markdown,
            "junit" | "xml" => ReportFormat::Junit,
            _ => {
                return Err(ConfigError::Env {
                    var: var.to_string(),
                    problem: format!("unknown format {part:?}, expected json, html, markdown or junit"),
                });
            }
        };
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(ConfigError::Env { var: var.to_string(), problem: "no format given".to_string() });
    }
    Ok(formats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn formats_parse_or_error_never_panic(value in "\\PC*") {
            if let Ok(formats) = parse_formats(FORMATS, &value) {
                prop_assert!(!formats.is_empty());
            }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn empty_environment_changes_nothing() {
        let mut config = Config::default();
        apply(&mut config, &BTreeMap::new(), Path::new("/work")).expect("no env is fine");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn each_variable_sets_its_key() {
        let mut config = Config::default();
        let vars = env(&[
            (OUTPUT_DIR, "out"),
            (CONTEXT, "spot-ctx"),
            (CLUSTER_NAME, "aks-prod"),
            (NO_REMEDIATE, "yes"),
            (FORMATS, "junit, json,junit"),
        ]);
        apply(&mut config, &vars, Path::new("/work")).expect("valid env");
        assert_eq!(config.reports.output_dir, PathBuf::from("/work/out"));
        assert_eq!(config.cluster.context.as_deref(), Some("spot-ctx"));
        assert_eq!(config.cluster.name.as_deref(), Some("aks-prod"));
        assert!(!config.remediation.enabled);
        assert_eq!(config.reports.formats, vec![ReportFormat::Junit, ReportFormat::Json]);
    }

    #[test]
    fn output_dir_expands_home() {
        let mut config = Config::default();
        apply(&mut config, &env(&[(OUTPUT_DIR, "~/reports"), ("HOME", "/home/me")]), Path::new("/work"))
            .expect("valid env");
        assert_eq!(config.reports.output_dir, PathBuf::from("/home/me/reports"));
    }

    #[test]
    fn false_and_empty_values_keep_the_file_layer() {
        let mut config = Config::default();
        apply(&mut config, &env(&[(NO_REMEDIATE, "0"), (FORMATS, ""), (CONTEXT, "")]), Path::new("/"))
            .expect("valid env");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut config = Config::default();
        let err = apply(&mut config, &env(&[(NO_REMEDIATE, "maybe")]), Path::new("/")).expect_err("bad bool");
        assert_eq!(
            err.to_string(),
            r#"env AKS_SPOT_TEST_NO_REMEDIATE: expected 1/true/yes/on or 0/false/no/off, got "maybe""#
        );
        let err = apply(&mut config, &env(&[(FORMATS, "json,pdf")]), Path::new("/")).expect_err("bad format");
        assert_eq!(
            err.to_string(),
            r#"env AKS_SPOT_TEST_FORMATS: unknown format "pdf", expected json, html, markdown or junit"#
        );
        let err = apply(&mut config, &env(&[(FORMATS, " , ")]), Path::new("/")).expect_err("no format");
        assert_eq!(err.to_string(), "env AKS_SPOT_TEST_FORMATS: no format given");
    }
}
