//! The Markdown report: a handlebars template over a view model whose every untrusted string
//! is already escaped for where it lands (table cell, heading, code block, `<summary>`).
//!
//! The template is `templates/report.md.hbs`, embedded at build time; a `report.md.hbs` in a
//! template directory overrides it, and a missing, broken or failing override falls back to
//! the embedded one.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Serialize;

use super::aggregate::pass_rate;
use super::error::ReportError;
use super::model::{CheckStatus, ClusterSnapshot, Counts, Framework, Status, TestReport, TestResult};
use super::template::{LoadedTemplate, TemplateSpec};
use super::text::{first_line, html_text, human_duration, md_code_block, md_inline};

/// The embedded Markdown template.
pub const EMBEDDED_TEMPLATE: &str = include_str!("../../templates/report.md.hbs");
/// File name of an override inside a template directory.
pub const TEMPLATE_FILE: &str = "report.md.hbs";
const NAME: &str = "report.md";

/// Renders Markdown reports with either an override template or the embedded one.
#[derive(Debug)]
pub struct MarkdownRenderer {
    template: LoadedTemplate,
    /// Why an override in the template directory was not used, for the report's notes or a log line.
    pub override_problem: Option<String>,
}

fn registry_with(template: &str) -> Result<Handlebars<'static>, handlebars::TemplateError> {
    let mut hb = Handlebars::new();
    // Markdown is not HTML: escaping is done per context in the view model.
    hb.register_escape_fn(handlebars::no_escape);
    // A template naming a field the view model lacks is a bug, not an empty cell.
    hb.set_strict_mode(true);
    hb.register_template_string(NAME, template)?;
    Ok(hb)
}

const SPEC: TemplateSpec = TemplateSpec {
    name: NAME,
    file: TEMPLATE_FILE,
    embedded: EMBEDDED_TEMPLATE,
    format: "markdown",
    build: registry_with,
};

impl MarkdownRenderer {
    fn from_loaded(mut template: LoadedTemplate) -> Self {
        let override_problem = template.override_problem.take();
        MarkdownRenderer { template, override_problem }
    }

    /// The embedded template only.
    pub fn embedded() -> Result<Self, ReportError> {
        LoadedTemplate::embedded(&SPEC).map(Self::from_loaded)
    }

    /// `template_dir/report.md.hbs` when it exists and parses, else the embedded template.
    pub fn with_template_dir(template_dir: Option<&Path>) -> Result<Self, ReportError> {
        LoadedTemplate::with_template_dir(&SPEC, template_dir).map(Self::from_loaded)
    }

    /// Renders the report; an override that fails to render falls back to the embedded template.
    pub fn render(&self, report: &TestReport) -> Result<String, ReportError> {
        self.template.render(&MdView::from_report(report))
    }
}

/// Renders the report with the embedded template.
pub fn to_markdown(report: &TestReport) -> Result<String, ReportError> {
    MarkdownRenderer::embedded()?.render(report)
}

#[derive(Serialize)]
struct CountRow {
    name: String,
    total: u64,
    passed: u64,
    failed: u64,
    skipped: u64,
    pass_rate: String,
}

impl CountRow {
    fn new(name: &str, c: &Counts) -> Self {
        CountRow {
            name: md_inline(name),
            total: c.total,
            passed: c.passed,
            failed: c.failed,
            skipped: c.skipped,
            pass_rate: format!("{:.2}", pass_rate(c)),
        }
    }
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: u64,
}

#[derive(Serialize)]
struct TopRow {
    rank: usize,
    id: String,
    framework: Framework,
    error: String,
}

#[derive(Serialize)]
struct HealthRow {
    metric: String,
    before: String,
    after: String,
    change: String,
}

#[derive(Serialize)]
struct EvictionRow {
    time: String,
    node: String,
    pool: String,
    zone: String,
    reason: String,
    message: String,
}

#[derive(Serialize)]
struct EvictionView {
    total: u64,
    rate: String,
    watched: String,
    events: Vec<EvictionRow>,
    per_pool: Vec<KeyValue>,
    gaps: Vec<String>,
}

#[derive(Serialize)]
struct RemediationRow {
    time: String,
    action: String,
    target: String,
    status: String,
    details: String,
}

#[derive(Serialize)]
struct RemediationView {
    summary: String,
    rows: Vec<RemediationRow>,
}

#[derive(Serialize)]
struct AssertionRow {
    description: String,
    expected: String,
    actual: String,
}

#[derive(Serialize)]
struct FailedView {
    index: usize,
    heading: String,
    framework: Framework,
    category: String,
    suite: String,
    raw_status: String,
    duration: String,
    error_block: String,
    assertions: Vec<AssertionRow>,
    reproduce_block: String,
    output_block: String,
}

#[derive(Serialize)]
struct ResultRow {
    id: String,
    name: String,
    status: String,
    duration: String,
}

#[derive(Serialize)]
struct ResultGroup {
    summary: String,
    rows: Vec<ResultRow>,
}

#[derive(Serialize)]
struct PreflightRow {
    name: String,
    status: String,
    message: String,
}

#[derive(Serialize)]
struct SuiteRow {
    started: String,
    framework: Framework,
    duration: String,
    exit: String,
    notes: String,
}

/// Everything the template reads, already escaped.
#[derive(Serialize)]
struct MdView {
    cluster: String,
    date: String,
    duration: String,
    run_id: String,
    tool_version: String,
    overall_icon: &'static str,
    overall_word: &'static str,
    pass_rate: String,
    total: u64,
    passed: u64,
    failed: u64,
    skipped: u64,
    frameworks: Vec<CountRow>,
    categories: Vec<CountRow>,
    failure_patterns: Vec<KeyValue>,
    top_failures: Vec<TopRow>,
    health_rows: Vec<HealthRow>,
    not_ready_after: String,
    eviction: EvictionView,
    remediation: RemediationView,
    failed_tests_count: usize,
    failed_tests: Vec<FailedView>,
    result_groups: Vec<ResultGroup>,
    preflight: Vec<PreflightRow>,
    suite_runs: Vec<SuiteRow>,
    notes: Vec<String>,
}

fn status_cell(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅ PASS",
        Status::Fail => "❌ FAIL",
        Status::Skip => "⏭️ SKIP",
    }
}

fn heading_for(r: &TestResult) -> String {
    if r.name.is_empty() || r.name == r.test_id {
        md_inline(&r.test_id)
    } else {
        format!("{}: {}", md_inline(&r.test_id), md_inline(&r.name))
    }
}

fn health_rows(before: Option<&ClusterSnapshot>, after: Option<&ClusterSnapshot>) -> Vec<HealthRow> {
    if before.is_none() && after.is_none() {
        return Vec::new();
    }
    let metric = |name: &str, get: fn(&ClusterSnapshot) -> u64| row(name, before.map(get), after.map(get));
    let mut rows = vec![
        metric("Total Nodes", |s| s.total_nodes),
        metric("Ready Nodes", |s| s.ready_nodes),
        metric("Spot Nodes", |s| s.spot_nodes),
        metric("Total Pods", |s| s.total_pods),
        metric("Pending Pods", |s| s.pending_pods),
    ];
    let mut pools: Vec<&String> = before.iter().chain(after.iter()).flat_map(|s| s.node_pool_counts.keys()).collect();
    pools.sort();
    pools.dedup();
    for pool in pools {
        let count = |s: &ClusterSnapshot| s.node_pool_counts.get(pool).copied().unwrap_or(0);
        rows.push(row(&format!("Pool {pool} nodes"), before.map(count), after.map(count)));
    }
    rows
}

fn row(metric: &str, before: Option<u64>, after: Option<u64>) -> HealthRow {
    let show = |v: Option<u64>| v.map_or_else(|| "n/a".to_string(), |v| v.to_string());
    let change = match (before, after) {
        (Some(b), Some(a)) if a >= b => format!("+{}", a - b),
        (Some(b), Some(a)) => format!("-{}", b - a),
        _ => "n/a".to_string(),
    };
    HealthRow { metric: md_inline(metric), before: show(before), after: show(after), change }
}

fn failed_view(index: usize, r: &TestResult) -> FailedView {
    let error = r.error_message.as_deref().filter(|m| !m.trim().is_empty()).unwrap_or("(no error message recorded)");
    let reproduce = if !r.reproduce_commands.is_empty() {
        md_code_block(&r.reproduce_commands.join("\n"), "bash")
    } else if let Some(command) = derived_reproduce(r) {
        md_code_block(&format!("# derived from the test id; the suite recorded no command\n{command}"), "bash")
    } else {
        "_No reproduce commands recorded._".to_string()
    };
    let output = r
        .output
        .as_deref()
        .filter(|o| !o.trim().is_empty())
        .map(|o| format!("<details>\n<summary>Output</summary>\n\n{}\n\n</details>", md_code_block(o, "")))
        .unwrap_or_default();
    FailedView {
        index,
        heading: heading_for(r),
        framework: r.framework,
        category: md_inline(&r.category),
        suite: md_inline(&r.suite),
        raw_status: md_inline(&r.raw_status),
        duration: human_duration(r.duration_seconds),
        error_block: md_code_block(error, ""),
        assertions: r
            .assertions
            .iter()
            .filter(|a| !a.passed)
            .map(|a| AssertionRow {
                description: md_inline(&a.description),
                expected: md_inline(&a.expected.to_string()),
                actual: md_inline(&a.actual.to_string()),
            })
            .collect(),
        reproduce_block: reproduce,
        output_block: output,
    }
}

/// Single-quotes a word for POSIX shells.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Escapes Go regexp metacharacters, as `regexp.QuoteMeta` does.
fn go_quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The command that reruns one test, for frameworks whose ids name it exactly: `go test -run`
/// with each subtest level anchored, `pytest <nodeid>` run from the suite's directory.
pub fn derived_reproduce(r: &TestResult) -> Option<String> {
    if r.test_id.is_empty() || r.suite.is_empty() {
        return None;
    }
    match r.framework {
        Framework::Terratest => {
            let pattern: Vec<String> = r.test_id.split('/').map(|p| format!("^{}$", go_quote_meta(p))).collect();
            Some(format!("go test -count=1 -run {} {}", shell_quote(&pattern.join("/")), shell_quote(&r.suite)))
        }
        Framework::Python => {
            let node_id =
                if r.test_id.contains("::") { r.test_id.clone() } else { format!("{}::{}", r.suite, r.test_id) };
            Some(format!("pytest {}", shell_quote(&node_id)))
        }
        Framework::Bash => None,
    }
}

fn result_groups(results: &[TestResult]) -> Vec<ResultGroup> {
    // Categories in order of first appearance, which follows the framework order.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: BTreeMap<&str, Vec<&TestResult>> = BTreeMap::new();
    for r in results {
        let entry = groups.entry(r.category.as_str()).or_default();
        if entry.is_empty() {
            order.push(r.category.as_str());
        }
        entry.push(r);
    }
    order
        .into_iter()
        .map(|category| {
            let members = groups.remove(category).unwrap_or_default();
            let mut frameworks: Vec<Framework> = members.iter().map(|r| r.framework).collect();
            frameworks.sort();
            frameworks.dedup();
            let frameworks: Vec<&str> = frameworks.iter().map(|f| f.as_str()).collect();
            let passed = members.iter().filter(|r| r.status == Status::Pass).count();
            let failed = members.iter().filter(|r| r.status == Status::Fail).count();
            let mark = if failed == 0 { " ✅" } else { "" };
            ResultGroup {
                summary: format!(
                    "{} ({}) - {passed}/{} Passed{mark}",
                    html_text(category),
                    frameworks.join("/"),
                    members.len()
                ),
                rows: members
                    .iter()
                    .map(|r| ResultRow {
                        id: md_inline(&r.test_id),
                        name: md_inline(&r.name),
                        status: status_cell(r.status).to_string(),
                        duration: human_duration(r.duration_seconds),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Frameworks in run order (terratest, bash, python), then any key this version does not know.
fn framework_rows(report: &TestReport) -> Vec<CountRow> {
    let known: Vec<&str> = Framework::ALL.iter().map(|f| f.as_str()).collect();
    let mut rows: Vec<CountRow> =
        known.iter().filter_map(|name| report.framework_summary.get(*name).map(|c| CountRow::new(name, c))).collect();
    rows.extend(
        report.framework_summary.iter().filter(|(k, _)| !known.contains(&k.as_str())).map(|(k, c)| CountRow::new(k, c)),
    );
    rows
}

fn remediation_summary(report: &TestReport) -> String {
    let r = &report.remediation;
    let planned = r.details.iter().filter(|a| a.dry_run).count();
    let mut text = format!(
        "{} actions taken ({} VMSS ghosts deleted, {} stuck nodes deleted)",
        r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted
    );
    if planned > 0 {
        text.push_str(&format!(", {planned} planned in dry run"));
    }
    text
}

fn check_word(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "✅ ok",
        CheckStatus::Warn => "⚠️ warn",
        CheckStatus::Fail => "❌ fail",
        CheckStatus::Skipped => "⏭️ skipped",
    }
}

impl MdView {
    fn from_report(report: &TestReport) -> Self {
        let s = &report.summary;
        let ok = s.failed == 0 && s.total_tests > 0;
        let ev = &report.eviction_monitoring;
        let failed: Vec<&TestResult> = report.test_results.iter().filter(|r| r.status == Status::Fail).collect();
        let not_ready: Vec<String> = report
            .cluster_state
            .final_
            .as_ref()
            .map(|f| f.not_ready_nodes.iter().map(|n| md_inline(n)).collect())
            .unwrap_or_default();
        MdView {
            cluster: md_inline(&report.cluster_name),
            date: report.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            duration: human_duration(report.duration_seconds),
            run_id: report.run_id.to_string(),
            tool_version: md_inline(&report.tool_version),
            overall_icon: if ok { "✅" } else { "❌" },
            overall_word: if ok {
                "PASS"
            } else if s.total_tests == 0 {
                "NO TESTS"
            } else {
                "FAIL"
            },
            pass_rate: format!("{:.2}", s.pass_rate),
            total: s.total_tests,
            passed: s.passed,
            failed: s.failed,
            skipped: s.skipped,
            frameworks: framework_rows(report),
            categories: report.category_summary.iter().map(|(k, c)| CountRow::new(k, c)).collect(),
            failure_patterns: report
                .failure_patterns
                .iter()
                .map(|(k, v)| KeyValue { key: md_inline(k), value: *v })
                .collect(),
            top_failures: report
                .top_failures
                .iter()
                .enumerate()
                .map(|(i, f)| TopRow {
                    rank: i + 1,
                    id: md_inline(&f.test_id),
                    framework: f.framework,
                    error: md_inline(first_line(f.error_message.as_deref().unwrap_or(""))),
                })
                .collect(),
            health_rows: health_rows(report.cluster_state.initial.as_ref(), report.cluster_state.final_.as_ref()),
            not_ready_after: not_ready.join(", "),
            eviction: EvictionView {
                total: ev.total_evictions,
                rate: format!("{:.2}", ev.eviction_rate_per_hour),
                watched: human_duration(ev.watched_seconds),
                events: ev
                    .events
                    .iter()
                    .map(|e| EvictionRow {
                        time: e.timestamp.strftime("%H:%M:%S").to_string(),
                        node: md_inline(&e.node),
                        pool: md_inline(e.pool.as_deref().unwrap_or("-")),
                        zone: md_inline(e.zone.as_deref().unwrap_or("-")),
                        reason: md_inline(&e.reason),
                        message: md_inline(&e.message),
                    })
                    .collect(),
                per_pool: ev.per_pool.iter().map(|(k, v)| KeyValue { key: md_inline(k), value: *v }).collect(),
                gaps: ev.gaps.iter().map(|g| md_inline(g)).collect(),
            },
            remediation: RemediationView {
                summary: remediation_summary(report),
                rows: report
                    .remediation
                    .details
                    .iter()
                    .map(|a| RemediationRow {
                        time: a.timestamp.strftime("%H:%M:%S").to_string(),
                        action: md_inline(&a.action_type),
                        target: md_inline(&a.target),
                        status: match (a.dry_run, a.success) {
                            (true, _) => "📝 Planned (dry run)",
                            (false, true) => "✅ Success",
                            (false, false) => "❌ Failed",
                        }
                        .to_string(),
                        details: md_inline(&a.details),
                    })
                    .collect(),
            },
            failed_tests_count: failed.len(),
            failed_tests: failed.iter().enumerate().map(|(i, r)| failed_view(i + 1, r)).collect(),
            result_groups: result_groups(&report.test_results),
            preflight: report
                .preflight
                .iter()
                .map(|c| PreflightRow {
                    name: md_inline(&c.name),
                    status: check_word(c.status).to_string(),
                    message: md_inline(&c.message),
                })
                .collect(),
            suite_runs: report
                .suite_runs
                .iter()
                .map(|r| {
                    let mut notes = Vec::new();
                    if r.timed_out {
                        notes.push("timed out".to_string());
                    }
                    if let Some(sig) = r.signal {
                        notes.push(format!("signal {sig}"));
                    }
                    if let Some(reason) = &r.skipped_reason {
                        notes.push(format!("skipped: {}", md_inline(reason)));
                    }
                    if let Some(log) = &r.log_file {
                        notes.push(format!("log {}", md_inline(log)));
                    }
                    SuiteRow {
                        started: r.started.strftime("%H:%M:%S").to_string(),
                        framework: r.framework,
                        duration: human_duration(r.duration_seconds),
                        exit: r.exit_code.map_or_else(|| "-".to_string(), |c| c.to_string()),
                        notes: if notes.is_empty() { "-".to_string() } else { notes.join("; ") },
                    }
                })
                .collect(),
            notes: report.notes.iter().map(|n| md_inline(n)).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::aggregate::{RunFacts, build_report};

    #[test]
    fn embedded_template_renders_an_empty_report_in_strict_mode() {
        let md = to_markdown(&build_report(vec![], RunFacts::default())).unwrap();
        assert!(md.starts_with("# AKS Spot Test Report\n"));
        assert!(md.contains("_No failed tests._"));
        assert!(md.contains("_No cluster snapshots were taken._"));
    }

    #[test]
    fn override_is_used_and_broken_override_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let report = build_report(vec![], RunFacts::default());

        std::fs::write(dir.path().join(TEMPLATE_FILE), "custom {{total}}").unwrap();
        let r = MarkdownRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert_eq!(r.render(&report).unwrap(), "custom 0");

        std::fs::write(dir.path().join(TEMPLATE_FILE), "broken {{#if}").unwrap();
        let r = MarkdownRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert!(r.override_problem.as_deref().unwrap_or("").contains("broken"));
        assert!(r.render(&report).unwrap().starts_with("# AKS Spot Test Report"));

        std::fs::write(dir.path().join(TEMPLATE_FILE), "{{no_such_field}}").unwrap();
        let r = MarkdownRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert!(r.render(&report).unwrap().starts_with("# AKS Spot Test Report"));
    }

    #[test]
    fn derived_reproduce_commands_quote_hostile_ids() {
        let mut r = crate::report::model::TestResult {
            test_id: "TestPlan/it's (ok)".to_string(),
            name: String::new(),
            category: String::new(),
            framework: Framework::Terratest,
            suite: "example.com/m/test".to_string(),
            status: Status::Fail,
            raw_status: "fail".to_string(),
            duration_seconds: 0.0,
            error_message: None,
            assertions: vec![],
            evidence: BTreeMap::new(),
            reproduce_commands: vec![],
            output: None,
        };
        assert_eq!(
            derived_reproduce(&r).unwrap(),
            r"go test -count=1 -run '^TestPlan$/^it'\''s \(ok\)$' 'example.com/m/test'"
        );
        r.framework = Framework::Python;
        r.test_id = "test_a".to_string();
        r.suite = "tests/test_x.py".to_string();
        assert_eq!(derived_reproduce(&r).unwrap(), "pytest 'tests/test_x.py::test_a'");
        r.framework = Framework::Bash;
        assert_eq!(derived_reproduce(&r), None);
    }

    #[test]
    fn missing_override_uses_embedded_silently() {
        let dir = tempfile::tempdir().unwrap();
        let r = MarkdownRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert!(r.override_problem.is_none());
    }
}
