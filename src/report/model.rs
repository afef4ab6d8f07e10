//! The one normalised result model every suite parser produces and every renderer consumes.
//!
//! Field names and layout follow the design's JSON report; additions are documented where
//! they appear. A report read back and written again must be byte-identical, so every
//! optional field either always serialises or round-trips through `default`.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Bumped whenever a field changes meaning or disappears; additions keep the version.
pub const SCHEMA_VERSION: u32 = 1;

/// The framework a result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    Terratest,
    Bash,
    Python,
}

impl Framework {
    pub const ALL: [Framework; 3] = [Framework::Terratest, Framework::Bash, Framework::Python];

    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Terratest => "terratest",
            Framework::Bash => "bash",
            Framework::Python => "python",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The normalised outcome. The framework's own word is kept in `TestResult::raw_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check inside a test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assertion {
    pub description: String,
    pub expected: Value,
    pub actual: Value,
    pub passed: bool,
}

/// A single test result from any framework. `(framework, suite, test_id)` is unique in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub test_id: String,
    pub name: String,
    pub category: String,
    pub framework: Framework,
    /// Go package import path, pytest module path, or Bash script path.
    pub suite: String,
    pub status: Status,
    /// The framework's own outcome word (`pass`, `error`, `xfailed`, `build-fail`, ...).
    pub raw_status: String,
    pub duration_seconds: f64,
    pub error_message: Option<String>,
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    #[serde(default)]
    pub evidence: BTreeMap<String, Value>,
    #[serde(default)]
    pub reproduce_commands: Vec<String>,
    /// Output the framework attributed to this test (capped), for the deep-dive sections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// Pass/fail/skip counts for one slice of the results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
        }
    }
}

/// The headline numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total_tests: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Percentage of non-skipped tests that passed, rounded to two decimals.
    pub pass_rate: f64,
}

/// Cluster state at a point in time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    pub timestamp: Option<Timestamp>,
    pub total_nodes: u64,
    pub ready_nodes: u64,
    pub spot_nodes: u64,
    pub total_pods: u64,
    pub pending_pods: u64,
    pub node_pool_counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub zone_node_counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub pool_pod_counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub zone_pod_counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub not_ready_nodes: Vec<String>,
}

/// Snapshots before and after the suites.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    pub initial: Option<ClusterSnapshot>,
    #[serde(rename = "final")]
    pub final_: Option<ClusterSnapshot>,
}

/// One spot eviction, counted once per node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvictionEvent {
    pub timestamp: Timestamp,
    pub node: String,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    pub reason: String,
    pub message: String,
}

/// What the eviction watch saw over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvictionMonitoring {
    pub total_evictions: u64,
    pub eviction_rate_per_hour: f64,
    #[serde(default)]
    pub watched_seconds: f64,
    pub events: Vec<EvictionEvent>,
    #[serde(default)]
    pub per_pool: BTreeMap<String, u64>,
    /// Periods the watch could not see (API server down, watch errors), as human sentences.
    #[serde(default)]
    pub gaps: Vec<String>,
}

/// One remediation action, taken or (in dry run) planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationAction {
    pub timestamp: Timestamp,
    pub action_type: String,
    pub target: String,
    pub success: bool,
    pub details: String,
    #[serde(default)]
    pub dry_run: bool,
}

/// The remediation section of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub actions_taken: u64,
    pub vmss_ghosts_deleted: u64,
    pub stuck_nodes_deleted: u64,
    pub details: Vec<RemediationAction>,
}

/// A failure worth reading first: a slim view of a `TestResult`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRef {
    pub test_id: String,
    pub name: String,
    pub category: String,
    pub framework: Framework,
    pub suite: String,
    pub status: Status,
    pub error_message: Option<String>,
}

/// Outcome of one pre-flight check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
    Skipped,
}

/// One pre-flight check and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreflightCheck {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
}

/// How one suite process ran: the timeline and where its full log is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRun {
    pub framework: Framework,
    pub command: String,
    pub working_dir: String,
    pub started: Timestamp,
    pub duration_seconds: f64,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub log_file: Option<String>,
    #[serde(default)]
    pub skipped_reason: Option<String>,
}

/// The complete report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    pub schema_version: u32,
    pub run_id: Uuid,
    pub timestamp: Timestamp,
    pub cluster_name: String,
    pub duration_seconds: f64,
    pub summary: Summary,
    pub framework_summary: BTreeMap<String, Counts>,
    pub category_summary: BTreeMap<String, Counts>,
    pub test_results: Vec<TestResult>,
    pub cluster_state: ClusterState,
    pub eviction_monitoring: EvictionMonitoring,
    pub remediation: Remediation,
    pub top_failures: Vec<FailureRef>,
    pub failure_patterns: BTreeMap<String, u64>,
    #[serde(default)]
    pub preflight: Vec<PreflightCheck>,
    #[serde(default)]
    pub suite_runs: Vec<SuiteRun>,
    /// Things the reader must know that are not test results: missed watch windows,
    /// renderers that failed, cordons restored from a crashed run.
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub tool_version: String,
}
