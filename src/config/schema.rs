//! The `config.yaml` schema: every setting, its type and its built-in default.
//!
//! `config/default.yaml` documents the same defaults for humans and is embedded as the
//! base layer; a unit test keeps the two in step.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole configuration after layering (defaults < file < environment < flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub cluster: ClusterConfig,
    pub test_suites: TestSuites,
    pub remediation: RemediationConfig,
    pub monitoring: MonitoringConfig,
    pub reports: ReportsConfig,
    /// Test-id prefix (e.g. `DIST`) to category (e.g. `pod-distribution`).
    pub categories: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterConfig {
    /// Shown in reports; learnt from the kubeconfig context when empty.
    pub name: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// How long pre-flight waits for the API server to answer.
    pub timeout_seconds: u64,
    pub run_lock: RunLockConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunLockConfig {
    pub enabled: bool,
    pub namespace: String,
    pub name: String,
    pub lease_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TestSuites {
    pub terratest: SuiteConfig,
    pub bash: SuiteConfig,
    pub python: SuiteConfig,
}

/// One suite. Paths are relative to the config file's directory (or the current directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SuiteConfig {
    pub enabled: bool,
    pub timeout_minutes: f64,
    /// Seconds between SIGTERM and SIGKILL when the timeout expires.
    pub kill_grace_seconds: u64,
    pub working_dir: PathBuf,
    pub env_file: PathBuf,
    /// Python only: the virtualenv to run pytest from; the system Python when absent.
    pub venv_path: Option<PathBuf>,
    /// Terratest: packages (`./...`); Bash: the entry script; Python: extra pytest args.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemediationConfig {
    pub enabled: bool,
    pub vmss_ghosts: GhostConfig,
    pub stuck_nodes: StuckNodeConfig,
    /// Circuit breaker: do nothing when more than this share of nodes is unhealthy.
    pub max_unhealthy_percent: f64,
    /// Circuit breaker: do nothing when more than this many nodes are unhealthy.
    pub max_unhealthy_nodes: u64,
    pub max_deletions_per_run: u64,
    /// Nodes carrying this label are never touched.
    pub exclude_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GhostConfig {
    pub enabled: bool,
    pub min_age_minutes: f64,
    /// An instance that never registered as a node is a ghost after this long.
    pub registration_deadline_minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StuckNodeConfig {
    pub enabled: bool,
    pub min_age_minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitoringConfig {
    pub eviction_rate: EvictionRateConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvictionRateConfig {
    pub enabled: bool,
    /// How often `monitor` prints a rate summary.
    pub poll_interval_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportsConfig {
    pub output_dir: PathBuf,
    pub formats: Vec<ReportFormat>,
    /// Reports older than this are removed after a run (0 keeps everything).
    pub retention_days: u64,
    pub open_html_after_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Json,
    Html,
    Markdown,
    Junit,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            cluster: ClusterConfig::default(),
            test_suites: TestSuites::default(),
            remediation: RemediationConfig::default(),
            monitoring: MonitoringConfig::default(),
            reports: ReportsConfig::default(),
            categories: default_categories(),
        }
    }
}

pub(crate) fn default_categories() -> BTreeMap<String, String> {
    [
        ("DIST", "pod-distribution"),
        ("EVICT", "eviction-behavior"),
        ("PDB", "pdb"),
        ("TOPO", "topology"),
        ("RECOVERY", "recovery"),
        ("STICKY", "sticky-sessions"),
        ("VMSS", "vmss-node-pool"),
        ("AUTOSCALER", "autoscaler"),
        ("CROSS", "cross-cutting"),
        ("EDGE", "edge-cases"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: None,
            kubeconfig: None,
            context: None,
            timeout_seconds: 30,
            run_lock: RunLockConfig::default(),
        }
    }
}

impl Default for RunLockConfig {
    fn default() -> Self {
        RunLockConfig {
            enabled: true,
            namespace: "kube-system".into(),
            name: "aks-spot-test-lock".into(),
            lease_seconds: 60,
        }
    }
}

impl Default for TestSuites {
    fn default() -> Self {
        TestSuites {
            terratest: SuiteConfig {
                timeout_minutes: 10.0,
                working_dir: "tests/".into(),
                env_file: "tests/.env".into(),
                args: vec!["./...".into()],
                ..SuiteConfig::default()
            },
            bash: SuiteConfig {
                timeout_minutes: 20.0,
                working_dir: "tests/spot-behavior/".into(),
                env_file: "tests/spot-behavior/.env".into(),
                args: vec!["run-all-tests.sh".into()],
                ..SuiteConfig::default()
            },
            python: SuiteConfig {
                timeout_minutes: 20.0,
                working_dir: "tests/spot-behavior-python/".into(),
                env_file: "tests/spot-behavior-python/.env".into(),
                venv_path: Some("venv/".into()),
                args: vec![],
                ..SuiteConfig::default()
            },
        }
    }
}

impl Default for SuiteConfig {
    fn default() -> Self {
        SuiteConfig {
            enabled: true,
            timeout_minutes: 10.0,
            kill_grace_seconds: 10,
            working_dir: PathBuf::new(),
            env_file: PathBuf::new(),
            venv_path: None,
            args: vec![],
        }
    }
}

impl Default for RemediationConfig {
    fn default() -> Self {
        RemediationConfig {
            enabled: true,
            vmss_ghosts: GhostConfig::default(),
            stuck_nodes: StuckNodeConfig::default(),
            max_unhealthy_percent: 45.0,
            max_unhealthy_nodes: 3,
            max_deletions_per_run: 5,
            exclude_label: "aks-spot-test.io/exclude".into(),
        }
    }
}

impl Default for GhostConfig {
    fn default() -> Self {
        GhostConfig { enabled: true, min_age_minutes: 5.0, registration_deadline_minutes: 15.0 }
    }
}

impl Default for StuckNodeConfig {
    fn default() -> Self {
        StuckNodeConfig { enabled: true, min_age_minutes: 5.0 }
    }
}

impl Default for EvictionRateConfig {
    fn default() -> Self {
        EvictionRateConfig { enabled: true, poll_interval_seconds: 30 }
    }
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            output_dir: "reports/".into(),
            formats: vec![ReportFormat::Json, ReportFormat::Html, ReportFormat::Markdown],
            retention_days: 30,
            open_html_after_run: false,
        }
    }
}
