//! Loading configuration: embedded defaults < config file < environment, with paths resolved and values checked.
//!
//! Input format: YAML (`serde_yaml_ng`) shaped like `config/default.yaml`. The file is merged over the embedded
//! defaults as YAML values (mappings key by key, anything else replaced), then deserialized once, so a type error
//! names the key path as the user wrote it and unknown keys are collected as warnings instead of being lost.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::env;
use super::error::ConfigError;
use super::schema::{Config, SuiteConfig};

/// The documented defaults, embedded as the base layer.
pub const DEFAULT_YAML: &str = include_str!("../../config/default.yaml");

/// What the name of the base layer is in messages when no file is given.
const DEFAULTS_ORIGIN: &str = "built-in defaults";

/// A configuration after the default, file and environment layers (flags are applied by the CLI).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// The config file as given, when there was one.
    pub path: Option<PathBuf>,
    /// Where relative paths were taken from: the config file's directory, or the current directory.
    pub base_dir: PathBuf,
    /// Unknown keys and other things worth telling the user; nothing here stops a run.
    pub warnings: Vec<String>,
}

/// Loads the configuration from `path` (defaults only when `None`) and applies the environment `env`.
pub fn load(path: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Loaded, ConfigError> {
    let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir { source })?;
    load_in(path, env, &cwd)
}

/// [`load`] with the current directory given, for tests and callers that already know it.
pub fn load_in(path: Option<&Path>, env: &BTreeMap<String, String>, cwd: &Path) -> Result<Loaded, ConfigError> {
    let home = env::home_dir(env);
    let (mut config, warnings, base_dir) = match path {
        None => {
            let (config, warnings) = parse(None, Path::new(DEFAULTS_ORIGIN))?;
            validate(&config, DEFAULTS_ORIGIN)?;
            (config, warnings, cwd.to_path_buf())
        }
        Some(given) => {
            let file = resolve_path(given, cwd, home.as_deref());
            let text = std::fs::read_to_string(&file)
                .map_err(|source| ConfigError::Read { path: given.to_path_buf(), source })?;
            let (config, warnings) = parse(Some(&text), given)?;
            validate(&config, &given.display().to_string())?;
            let base_dir = file.parent().map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
            (config, warnings, base_dir)
        }
    };
    resolve_paths(&mut config, &base_dir, home.as_deref());
    env::apply(&mut config, env, cwd)?;
    Ok(Loaded { config, path: path.map(Path::to_path_buf), base_dir, warnings })
}

/// Parses `text` (the config file named `file`) over the embedded defaults; paths stay as written.
///
/// Returns the configuration and one warning per unknown key. `None` parses the defaults alone.
pub fn parse(text: Option<&str>, file: &Path) -> Result<(Config, Vec<String>), ConfigError> {
    let mut merged = serde_yaml_ng::from_str::<Value>(DEFAULT_YAML)
        .map_err(|e| ConfigError::Syntax { path: PathBuf::from(DEFAULTS_ORIGIN), problem: e.to_string() })?;
    if let Some(text) = text {
        let mut overlay = serde_yaml_ng::from_str::<Value>(text)
            .map_err(|e| ConfigError::Syntax { path: file.to_path_buf(), problem: e.to_string() })?;
        overlay.apply_merge().map_err(|e| ConfigError::Syntax { path: file.to_path_buf(), problem: e.to_string() })?;
        match overlay {
            // An empty file, or one with every line commented out, changes nothing.
            Value::Null => {}
            Value::Mapping(_) => merge(&mut merged, overlay),
            other => {
                return Err(ConfigError::Type {
                    path: file.to_path_buf(),
                    key: ".".to_string(),
                    problem: format!("expected a mapping of settings, found {}", kind(&other)),
                });
            }
        }
    }
    let mut unknown = Vec::new();
    let mut note_unknown = |key: serde_ignored::Path<'_>| unknown.push(key.to_string());
    let deserializer = serde_ignored::Deserializer::new(merged, &mut note_unknown);
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| ConfigError::Type {
        path: file.to_path_buf(),
        key: e.path().to_string(),
        problem: e.inner().to_string(),
    })?;
    let warnings = unknown.into_iter().map(|key| format!("{}: {key}: unknown key, ignored", file.display())).collect();
    Ok((config, warnings))
}

/// Puts `overlay` over `base`: mappings merge key by key, anything else replaces.
///
/// A null over a mapping keeps the mapping, because `cluster:` with every child commented out is a common way
/// of saying "the defaults".
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(base), Value::Mapping(overlay)) => merge_mappings(base, overlay),
        (Value::Mapping(_), Value::Null) => {}
        (base, overlay) => *base = overlay,
    }
}

fn merge_mappings(base: &mut Mapping, overlay: Mapping) {
    for (key, value) in overlay {
        match base.get_mut(&key) {
            Some(existing) => merge(existing, value),
            None => {
                base.insert(key, value);
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Expands a leading `~` with `home` and makes a relative path absolute against `base`.
///
/// Without a home directory `~` stays as written, and the path is then taken as relative like any other.
pub fn resolve_path(path: &Path, base: &Path, home: Option<&Path>) -> PathBuf {
    let mut components = path.components();
    let expanded = match (components.next(), home) {
        (Some(Component::Normal(first)), Some(home)) if first == "~" => home.join(components.as_path()),
        _ => path.to_path_buf(),
    };
    if expanded.is_absolute() { expanded } else { base.join(expanded) }
}

fn resolve_paths(config: &mut Config, base: &Path, home: Option<&Path>) {
    let suites = &mut config.test_suites;
    for suite in [&mut suites.terratest, &mut suites.bash, &mut suites.python] {
        suite.working_dir = resolve_path(&suite.working_dir, base, home);
        suite.env_file = resolve_path(&suite.env_file, base, home);
        suite.venv_path = suite.venv_path.as_deref().map(|p| resolve_path(p, base, home));
    }
    config.cluster.kubeconfig = config.cluster.kubeconfig.as_deref().map(|p| resolve_path(p, base, home));
    config.reports.output_dir = resolve_path(&config.reports.output_dir, base, home);
}

/// Checks values serde cannot: ranges, non-empty lists and names. `origin` names the layer in the error.
pub fn validate(config: &Config, origin: &str) -> Result<(), ConfigError> {
    let invalid =
        |key: &str, problem: String| Err(ConfigError::Invalid { origin: origin.to_string(), key: key.into(), problem });
    let cluster = &config.cluster;
    if cluster.timeout_seconds == 0 {
        return invalid("cluster.timeout_seconds", "must be greater than 0".into());
    }
    for (key, value) in [("cluster.name", &cluster.name), ("cluster.context", &cluster.context)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return invalid(key, "must not be empty (use null for the default)".into());
        }
    }
    if cluster.kubeconfig.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
        return invalid("cluster.kubeconfig", "must not be empty (use null for the default)".into());
    }
    let lock = &cluster.run_lock;
    if lock.lease_seconds < 15 {
        return invalid("cluster.run_lock.lease_seconds", format!("must be at least 15, got {}", lock.lease_seconds));
    }
    if lock.namespace.trim().is_empty() {
        return invalid("cluster.run_lock.namespace", "must not be empty".into());
    }
    if lock.name.trim().is_empty() {
        return invalid("cluster.run_lock.name", "must not be empty".into());
    }
    let suites = &config.test_suites;
    for (name, suite) in [("terratest", &suites.terratest), ("bash", &suites.bash), ("python", &suites.python)] {
        validate_suite(name, suite, origin)?;
    }
    let remediation = &config.remediation;
    let percent = remediation.max_unhealthy_percent;
    if !(0.0..=100.0).contains(&percent) {
        return invalid("remediation.max_unhealthy_percent", format!("must be between 0 and 100, got {percent}"));
    }
    for (key, minutes) in [
        ("remediation.vmss_ghosts.min_age_minutes", remediation.vmss_ghosts.min_age_minutes),
        (
            "remediation.vmss_ghosts.registration_deadline_minutes",
            remediation.vmss_ghosts.registration_deadline_minutes,
        ),
        ("remediation.stuck_nodes.min_age_minutes", remediation.stuck_nodes.min_age_minutes),
    ] {
        if !minutes.is_finite() || minutes < 0.0 {
            return invalid(key, format!("must be 0 or more, got {minutes}"));
        }
    }
    if remediation.exclude_label.trim().is_empty() {
        return invalid("remediation.exclude_label", "must not be empty".into());
    }
    if config.monitoring.eviction_rate.poll_interval_seconds == 0 {
        return invalid("monitoring.eviction_rate.poll_interval_seconds", "must be greater than 0".into());
    }
    if config.reports.output_dir.as_os_str().is_empty() {
        return invalid("reports.output_dir", "must not be empty".into());
    }
    if config.reports.formats.is_empty() {
        return invalid("reports.formats", "must list at least one of json, html, markdown, junit".into());
    }
    for (prefix, category) in &config.categories {
        if prefix.trim().is_empty() || category.trim().is_empty() {
            return invalid(&format!("categories.{prefix}"), "prefix and category must not be empty".into());
        }
    }
    Ok(())
}

fn validate_suite(name: &str, suite: &SuiteConfig, origin: &str) -> Result<(), ConfigError> {
    let invalid = |field: &str, problem: String| {
        Err(ConfigError::Invalid { origin: origin.to_string(), key: format!("test_suites.{name}.{field}"), problem })
    };
    if !suite.timeout_minutes.is_finite() || suite.timeout_minutes <= 0.0 {
        return invalid("timeout_minutes", format!("must be greater than 0, got {}", suite.timeout_minutes));
    }
    if suite.working_dir.as_os_str().is_empty() {
        return invalid("working_dir", "must not be empty".into());
    }
    if suite.env_file.as_os_str().is_empty() {
        return invalid("env_file", "must not be empty".into());
    }
    if suite.venv_path.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
        return invalid("venv_path", "must not be empty (use null for the system Python)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::ReportFormat;
    use proptest::prelude::*;

    fn parse_file(text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        parse(Some(text), Path::new("config.yaml"))
    }

    #[test]
    fn default_yaml_is_exactly_the_schema_default() {
        let from_yaml: Config = serde_yaml_ng::from_str(DEFAULT_YAML).expect("default.yaml parses");
        assert_eq!(from_yaml, Config::default());
        let (layered, warnings) = parse(None, Path::new(DEFAULTS_ORIGIN)).expect("defaults parse");
        assert_eq!(layered, Config::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        validate(&layered, DEFAULTS_ORIGIN).expect("defaults are valid");
    }

    #[test]
    fn default_yaml_lists_every_key() {
        // A key missing from default.yaml would silently come from `Default` and go undocumented.
        let documented: Value = serde_yaml_ng::from_str(DEFAULT_YAML).expect("default.yaml parses");
        let serialized = serde_yaml_ng::to_value(Config::default()).expect("config serializes");
        fn keys(value: &Value, prefix: &str, out: &mut Vec<String>) {
            if let Value::Mapping(map) = value {
                for (k, v) in map {
                    let key = format!("{prefix}{}", k.as_str().unwrap_or("?"));
                    keys(v, &format!("{key}."), out);
                    out.push(key);
                }
            }
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        keys(&documented, "", &mut a);
        keys(&serialized, "", &mut b);
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn file_overrides_only_what_it_names() {
        let (config, warnings) = parse_file(
            "cluster:\n  context: spot\ntest_suites:\n  bash:\n    timeout_minutes: 7\nreports:\n  formats: [junit]\n",
        )
        .expect("valid file");
        assert!(warnings.is_empty());
        let mut expected = Config::default();
        expected.cluster.context = Some("spot".into());
        expected.test_suites.bash.timeout_minutes = 7.0;
        expected.reports.formats = vec![ReportFormat::Junit];
        assert_eq!(config, expected);
    }

    #[test]
    fn empty_file_and_null_sections_keep_defaults() {
        assert_eq!(parse_file("").expect("empty file").0, Config::default());
        assert_eq!(parse_file("# nothing\n").expect("comment only").0, Config::default());
        assert_eq!(parse_file("cluster:\nremediation:\n").expect("null sections").0, Config::default());
    }

    #[test]
    fn categories_add_to_the_defaults() {
        let (config, _) = parse_file("categories:\n  ZONE: zone-failure\n").expect("valid file");
        assert_eq!(config.categories.get("ZONE").map(String::as_str), Some("zone-failure"));
        assert_eq!(config.categories.get("DIST").map(String::as_str), Some("pod-distribution"));
    }

    #[test]
    fn unknown_keys_warn_with_file_and_path() {
        let (config, warnings) =
            parse_file("cluster:\n  contxt: x\ntest_suites:\n  bash:\n    timeout: 3\nextra: 1\n").expect("valid");
        assert_eq!(config, Config::default());
        assert_eq!(
            warnings,
            vec![
                "config.yaml: cluster.contxt: unknown key, ignored",
                "config.yaml: test_suites.bash.timeout: unknown key, ignored",
                "config.yaml: extra: unknown key, ignored",
            ]
        );
    }

    #[test]
    fn wrong_type_names_file_key_and_problem() {
        let err = parse_file("test_suites:\n  bash:\n    timeout_minutes: ten\n").expect_err("wrong type");
        assert_eq!(
            err.to_string(),
            r#"config.yaml: test_suites.bash.timeout_minutes: invalid type: string "ten", expected f64"#
        );
        let err = parse_file("reports:\n  formats: [json, pdf]\n").expect_err("unknown format");
        assert!(err.to_string().starts_with("config.yaml: reports.formats[1]: unknown variant `pdf`"), "{err}");
    }

    #[test]
    fn syntax_error_and_non_mapping_name_the_file() {
        let err = parse_file("cluster: [\n").expect_err("broken yaml");
        assert!(err.to_string().starts_with("config.yaml: not valid YAML: "), "{err}");
        let err = parse_file("- a\n- b\n").expect_err("a list");
        assert_eq!(err.to_string(), "config.yaml: .: expected a mapping of settings, found a list");
    }

    #[test]
    fn validation_names_the_key() {
        let cases = [
            ("cluster:\n  timeout_seconds: 0\n", "config.yaml: cluster.timeout_seconds: must be greater than 0"),
            (
                "cluster:\n  run_lock:\n    lease_seconds: 10\n",
                "config.yaml: cluster.run_lock.lease_seconds: must be at least 15, got 10",
            ),
            (
                "test_suites:\n  python:\n    timeout_minutes: 0\n",
                "config.yaml: test_suites.python.timeout_minutes: must be greater than 0, got 0",
            ),
            (
                "remediation:\n  max_unhealthy_percent: 101\n",
                "config.yaml: remediation.max_unhealthy_percent: must be between 0 and 100, got 101",
            ),
            (
                "reports:\n  formats: []\n",
                "config.yaml: reports.formats: must list at least one of json, html, markdown, junit",
            ),
            (
                "monitoring:\n  eviction_rate:\n    poll_interval_seconds: 0\n",
                "config.yaml: monitoring.eviction_rate.poll_interval_seconds: must be greater than 0",
            ),
        ];
        for (text, message) in cases {
            let (config, _) = parse_file(text).expect("types are right");
            let err = validate(&config, "config.yaml").expect_err(text);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn load_resolves_paths_against_the_file_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("conf").join("config.yaml");
        std::fs::create_dir_all(file.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&file, "reports:\n  output_dir: out/\ncluster:\n  kubeconfig: ~/kc\n").expect("write");
        let env: BTreeMap<String, String> = [("HOME".to_string(), "/home/me".to_string())].into();
        let loaded = load_in(Some(Path::new("conf/config.yaml")), &env, dir.path()).expect("loads");
        let base = dir.path().join("conf");
        assert_eq!(loaded.base_dir, base);
        assert_eq!(loaded.path.as_deref(), Some(Path::new("conf/config.yaml")));
        assert_eq!(loaded.config.reports.output_dir, base.join("out/"));
        assert_eq!(loaded.config.test_suites.bash.working_dir, base.join("tests/spot-behavior/"));
        assert_eq!(loaded.config.test_suites.python.venv_path, Some(base.join("venv/")));
        assert_eq!(loaded.config.cluster.kubeconfig, Some(PathBuf::from("/home/me/kc")));
    }

    #[test]
    fn load_without_file_uses_the_current_directory_and_env() {
        let env: BTreeMap<String, String> = [(env::OUTPUT_DIR.to_string(), "r".to_string())].into();
        let loaded = load_in(None, &env, Path::new("/work")).expect("defaults load");
        assert_eq!(loaded.base_dir, PathBuf::from("/work"));
        assert_eq!(loaded.config.test_suites.terratest.working_dir, PathBuf::from("/work/tests/"));
        assert_eq!(loaded.config.reports.output_dir, PathBuf::from("/work/r"));
        assert!(loaded.warnings.is_empty());
    }

    #[test]
    fn missing_file_is_a_read_error_naming_it() {
        let err = load_in(Some(Path::new("nope.yaml")), &BTreeMap::new(), Path::new("/nonexistent-dir"))
            .expect_err("missing file");
        assert_eq!(err.to_string(), "failed to read nope.yaml");
        assert!(matches!(err, ConfigError::Read { .. }));
    }

    #[test]
    fn tilde_alone_and_without_home() {
        assert_eq!(resolve_path(Path::new("~"), Path::new("/b"), Some(Path::new("/h"))), PathBuf::from("/h"));
        assert_eq!(resolve_path(Path::new("~/x"), Path::new("/b"), None), PathBuf::from("/b/~/x"));
        assert_eq!(resolve_path(Path::new("~x/y"), Path::new("/b"), Some(Path::new("/h"))), PathBuf::from("/b/~x/y"));
        assert_eq!(resolve_path(Path::new("/abs"), Path::new("/b"), Some(Path::new("/h"))), PathBuf::from("/abs"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC*") {
            let _ = parse(Some(&text), Path::new("config.yaml"));
        }

        #[test]
        fn parse_never_panics_on_yamlish_text(text in "[a-z_:\\[\\]{}\\-# \n0-9.\"'~*&!]{0,200}") {
            if let Ok((config, _)) = parse(Some(&text), Path::new("config.yaml")) {
                let _ = validate(&config, "config.yaml");
            }
        }
    }
}
