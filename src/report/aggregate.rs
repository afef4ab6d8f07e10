//! Aggregation: turns the suites' results and the run's facts into one `TestReport`
//! (summary, per-framework and per-category counts, top failures, failure patterns).

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use uuid::Uuid;

use super::model::{
    ClusterState, Counts, EvictionMonitoring, FailureRef, Framework, PreflightCheck, Remediation, SCHEMA_VERSION,
    Status, SuiteRun, Summary, TestReport, TestResult,
};
use super::text::{first_line, strip_ansi};

/// How many failures the report puts up front.
pub const TOP_FAILURES: usize = 5;

/// Everything about a run that is not a test result.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    pub run_id: Uuid,
    pub timestamp: Timestamp,
    pub cluster_name: String,
    pub duration_seconds: f64,
    pub cluster_state: ClusterState,
    pub eviction_monitoring: EvictionMonitoring,
    pub remediation: Remediation,
    pub preflight: Vec<PreflightCheck>,
    pub suite_runs: Vec<SuiteRun>,
    pub notes: Vec<String>,
    pub tool_version: String,
}

/// Builds the report. Results are ordered terratest, bash, python (input order within a
/// framework); a repeated `(framework, suite, test_id)` gets a `#2`, `#3`... suffix and a note.
pub fn build_report(results: Vec<TestResult>, facts: RunFacts) -> TestReport {
    let mut notes = facts.notes;
    let mut results = results;
    // Stable: input order survives within a framework.
    results.sort_by_key(|r| r.framework);
    make_ids_unique(&mut results, &mut notes);
    // JSON has no NaN or infinity: serde_json would write `null` and the report could not be read back.
    for r in results.iter_mut().filter(|r| !(r.duration_seconds.is_finite() && r.duration_seconds >= 0.0)) {
        notes.push(format!("test {} had duration {}; recorded as 0", r.test_id, r.duration_seconds));
        r.duration_seconds = 0.0;
    }
    let duration_seconds = if facts.duration_seconds.is_finite() { facts.duration_seconds.max(0.0) } else { 0.0 };

    let mut summary_counts = Counts::default();
    let mut framework_summary: BTreeMap<String, Counts> = BTreeMap::new();
    let mut category_summary: BTreeMap<String, Counts> = BTreeMap::new();
    for r in &results {
        summary_counts.add(r.status);
        framework_summary.entry(r.framework.as_str().to_string()).or_default().add(r.status);
        category_summary.entry(r.category.clone()).or_default().add(r.status);
    }

    TestReport {
        schema_version: SCHEMA_VERSION,
        run_id: facts.run_id,
        timestamp: facts.timestamp,
        cluster_name: facts.cluster_name,
        duration_seconds,
        summary: summary_from(summary_counts),
        framework_summary,
        category_summary,
        top_failures: top_failures(&results),
        failure_patterns: failure_patterns(&results),
        test_results: results,
        cluster_state: facts.cluster_state,
        eviction_monitoring: facts.eviction_monitoring,
        remediation: facts.remediation,
        preflight: facts.preflight,
        suite_runs: facts.suite_runs,
        notes,
        tool_version: facts.tool_version,
    }
}

/// Percentage of non-skipped tests that passed, two decimals; no runnable tests is 0.0.
pub fn pass_rate(counts: &Counts) -> f64 {
    let ran = counts.total.saturating_sub(counts.skipped);
    if ran == 0 {
        return 0.0;
    }
    ((counts.passed as f64 / ran as f64) * 100.0 * 100.0).round() / 100.0
}

fn summary_from(c: Counts) -> Summary {
    Summary { total_tests: c.total, passed: c.passed, failed: c.failed, skipped: c.skipped, pass_rate: pass_rate(&c) }
}

fn make_ids_unique(results: &mut [TestResult], notes: &mut Vec<String>) {
    let mut taken: HashSet<(Framework, String, String)> = HashSet::new();
    for r in results.iter_mut() {
        let key = (r.framework, r.suite.clone(), r.test_id.clone());
        if taken.insert(key) {
            continue;
        }
        let mut n = 2u64;
        let new_id = loop {
            let candidate = format!("{}#{n}", r.test_id);
            if taken.insert((r.framework, r.suite.clone(), candidate.clone())) {
                break candidate;
            }
            n += 1;
        };
        notes.push(format!(
            "duplicate test id {} in {} suite {} renamed to {}",
            r.test_id, r.framework, r.suite, new_id
        ));
        r.test_id = new_id;
    }
}

/// Outcome words that mean the test could not run to a verdict (an error rather than an assertion failure).
pub(crate) fn is_error_outcome(raw_status: &str) -> bool {
    matches!(
        raw_status.to_ascii_lowercase().as_str(),
        "error" | "build-fail" | "build_fail" | "timeout" | "crash" | "panic"
    )
}

/// True when another failed result in the same framework and suite is a subtest of `r`
/// (`TestX` with `TestX/sub` failing, or a pytest class with a failing `Class::test`).
fn is_parent_of_failed(r: &TestResult, failed: &[&TestResult]) -> bool {
    failed.iter().any(|o| {
        o.framework == r.framework
            && o.suite == r.suite
            && o.test_id.len() > r.test_id.len()
            && o.test_id.starts_with(&r.test_id)
            && matches!(o.test_id.as_bytes().get(r.test_id.len()), Some(b'/') | Some(b':'))
    })
}

/// Lower is more critical: infrastructure first (nothing else can be trusted if the cluster is
/// wrong), then tests that errored, then assertion failures, and parents whose failure only
/// repeats a failed subtest last.
fn criticality(r: &TestResult, failed: &[&TestResult]) -> u8 {
    if is_parent_of_failed(r, failed) {
        3
    } else if r.framework == Framework::Terratest || r.category.eq_ignore_ascii_case("infrastructure") {
        0
    } else if is_error_outcome(&r.raw_status) {
        1
    } else {
        2
    }
}

fn top_failures(results: &[TestResult]) -> Vec<FailureRef> {
    let failed: Vec<&TestResult> = results.iter().filter(|r| r.status == Status::Fail).collect();
    let mut ranked: Vec<(u8, usize, &TestResult)> =
        failed.iter().enumerate().map(|(i, r)| (criticality(r, &failed), i, *r)).collect();
    ranked.sort_by_key(|(rank, i, _)| (*rank, *i));
    ranked
        .into_iter()
        .take(TOP_FAILURES)
        .map(|(_, _, r)| FailureRef {
            test_id: r.test_id.clone(),
            name: r.name.clone(),
            category: r.category.clone(),
            framework: r.framework,
            suite: r.suite.clone(),
            status: r.status,
            error_message: r.error_message.clone(),
        })
        .collect()
}

/// A parent failing because a subtest failed is not a cause of its own, so it adds no pattern.
fn failure_patterns(results: &[TestResult]) -> BTreeMap<String, u64> {
    let failed: Vec<&TestResult> = results.iter().filter(|r| r.status == Status::Fail).collect();
    let mut patterns: BTreeMap<String, u64> = BTreeMap::new();
    for r in failed.iter().filter(|r| !is_parent_of_failed(r, &failed)) {
        let pattern = failure_pattern(r.error_message.as_deref().unwrap_or(""), &r.raw_status);
        *patterns.entry(pattern).or_default() += 1;
    }
    patterns
}

/// Normalises an error message into a pattern shared by failures with the same cause.
///
/// Input: a free-form error message (first line used) and the framework's outcome word.
/// Known shapes win (`panic`, `timed out`, `build failed`); otherwise the text before the
/// first `": "` is kept, with quoted values, numbers, node names and durations removed.
pub fn failure_pattern(message: &str, raw_status: &str) -> String {
    let cleaned = strip_ansi(message);
    let line = first_line(&cleaned);
    let lower = line.to_ascii_lowercase();
    if raw_status.eq_ignore_ascii_case("build-fail") || lower.contains("build failed") {
        return "build failed".to_string();
    }
    if lower.contains("timed out") && !lower.starts_with("timeout") {
        return "timed out".to_string();
    }
    if lower.starts_with("panic") {
        return "panic".to_string();
    }
    if line.is_empty() {
        return if raw_status.is_empty() { "no error message".to_string() } else { raw_status.to_ascii_lowercase() };
    }
    let head = match line.split_once(": ") {
        Some((head, _)) if head.chars().any(char::is_alphabetic) => head,
        _ => line,
    };
    let unquoted = strip_quoted(head);
    let words: Vec<&str> = unquoted.split_whitespace().filter(|w| !is_variable_token(w)).collect();
    let pattern = words.join(" ");
    let pattern = pattern.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != ')').trim();
    if pattern.is_empty() { "other".to_string() } else { pattern.chars().take(80).collect() }
}

/// Removes '...', "..." and `...` spans (unterminated quotes run to the end).
fn strip_quoted(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut closing: Option<char> = None;
    let mut prev: Option<char> = None;
    for c in input.chars() {
        match closing {
            Some(q) if c == q => closing = None,
            Some(_) => {}
            // An apostrophe inside a word ("can't") is not a quote.
            None if (c == '"' || c == '`' || c == '\'') && !(c == '\'' && prev.is_some_and(char::is_alphanumeric)) => {
                closing = Some(c)
            }
            None => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// Numbers, durations, ids, IPs, node names: anything carrying a digit, and AKS node names.
fn is_variable_token(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) || word.starts_with("aks-") || word.contains("vmss")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn result(id: &str, fw: Framework, status: Status, raw: &str, msg: Option<&str>) -> TestResult {
        TestResult {
            test_id: id.to_string(),
            name: id.to_string(),
            category: "cat".to_string(),
            framework: fw,
            suite: "suite".to_string(),
            status,
            raw_status: raw.to_string(),
            duration_seconds: 1.0,
            error_message: msg.map(str::to_string),
            assertions: vec![],
            evidence: BTreeMap::new(),
            reproduce_commands: vec![],
            output: None,
        }
    }

    #[test]
    fn pass_rate_ignores_skips_and_rounds() {
        let c = Counts { total: 4, passed: 2, failed: 1, skipped: 1 };
        assert_eq!(pass_rate(&c), 66.67);
        assert_eq!(pass_rate(&Counts::default()), 0.0);
        assert_eq!(pass_rate(&Counts { total: 2, passed: 0, failed: 0, skipped: 2 }), 0.0);
    }

    #[test]
    fn orders_by_framework_keeping_input_order() {
        let r = build_report(
            vec![
                result("p1", Framework::Python, Status::Pass, "passed", None),
                result("b1", Framework::Bash, Status::Pass, "pass", None),
                result("t1", Framework::Terratest, Status::Pass, "pass", None),
                result("b0", Framework::Bash, Status::Pass, "pass", None),
            ],
            RunFacts::default(),
        );
        let ids: Vec<&str> = r.test_results.iter().map(|t| t.test_id.as_str()).collect();
        assert_eq!(ids, ["t1", "b1", "b0", "p1"]);
    }

    #[test]
    fn duplicates_get_suffixes_and_a_note() {
        let r = build_report(
            vec![
                result("X", Framework::Bash, Status::Pass, "pass", None),
                result("X", Framework::Bash, Status::Fail, "fail", Some("boom")),
                result("X#2", Framework::Bash, Status::Pass, "pass", None),
                result("X", Framework::Python, Status::Pass, "passed", None),
            ],
            RunFacts::default(),
        );
        let ids: Vec<&str> = r.test_results.iter().map(|t| t.test_id.as_str()).collect();
        assert_eq!(ids, ["X", "X#2", "X#2#2", "X"]);
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        assert!(r.notes[0].contains("renamed to X#2"));
    }

    #[test]
    fn top_failures_put_infrastructure_first_and_parents_last() {
        let r = build_report(
            vec![
                result("A-1", Framework::Bash, Status::Fail, "fail", Some("a")),
                result("TestParent", Framework::Terratest, Status::Fail, "fail", Some("p")),
                result("TestParent/child", Framework::Terratest, Status::Fail, "fail", Some("c")),
                result("E-1", Framework::Python, Status::Fail, "error", Some("e")),
                result("OK", Framework::Bash, Status::Pass, "pass", None),
            ],
            RunFacts::default(),
        );
        let ids: Vec<&str> = r.top_failures.iter().map(|f| f.test_id.as_str()).collect();
        assert_eq!(ids, ["TestParent/child", "E-1", "A-1", "TestParent"]);
    }

    #[test]
    fn non_finite_durations_become_zero_with_a_note() {
        let mut r = result("A", Framework::Bash, Status::Pass, "pass", None);
        r.duration_seconds = f64::NAN;
        let report = build_report(vec![r], RunFacts { duration_seconds: f64::INFINITY, ..RunFacts::default() });
        assert_eq!(report.test_results[0].duration_seconds, 0.0);
        assert_eq!(report.duration_seconds, 0.0);
        assert_eq!(report.notes, ["test A had duration NaN; recorded as 0"]);
    }

    #[test]
    fn top_failures_are_capped() {
        let results =
            (0..8).map(|i| result(&format!("F-{i}"), Framework::Bash, Status::Fail, "fail", Some("x"))).collect();
        assert_eq!(build_report(results, RunFacts::default()).top_failures.len(), TOP_FAILURES);
    }

    #[test]
    fn patterns_drop_variable_parts() {
        assert_eq!(
            failure_pattern("Timeout waiting for pods: 3/5 ready after 300s", "fail"),
            "Timeout waiting for pods"
        );
        assert_eq!(failure_pattern("PDB violation: drain succeeded despite minAvailable=50%", "fail"), "PDB violation");
        assert_eq!(
            failure_pattern("node aks-spot1-123-vmss000002 not found after 5m0s", "fail"),
            "node not found after"
        );
        assert_eq!(
            failure_pattern("Autoscale range mismatch for pool 'spotmemory1'\nExpected", "fail"),
            "Autoscale range mismatch for pool"
        );
        assert_eq!(failure_pattern("panic: runtime error: index out of range [3]", "fail"), "panic");
        assert_eq!(failure_pattern("panic: test timed out after 10m0s", "fail"), "timed out");
        assert_eq!(failure_pattern("# pkg\n./x.go:3: undefined: y", "build-fail"), "build failed");
        assert_eq!(failure_pattern("", "error"), "error");
        assert_eq!(failure_pattern("   ", ""), "no error message");
        assert_eq!(failure_pattern("12345", "fail"), "other");
    }

    #[test]
    fn patterns_are_counted() {
        let r = build_report(
            vec![
                result("A", Framework::Bash, Status::Fail, "fail", Some("PDB violation: x=1")),
                result("B", Framework::Bash, Status::Fail, "fail", Some("PDB violation: x=2")),
                result("C", Framework::Bash, Status::Pass, "pass", Some("PDB violation: ignored")),
            ],
            RunFacts::default(),
        );
        assert_eq!(r.failure_patterns.get("PDB violation"), Some(&2));
        assert_eq!(r.failure_patterns.len(), 1);
    }
}
