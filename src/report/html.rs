//! The HTML report: one self-contained file (inline CSS, a little vanilla JS, inline SVG charts,
//! no network at view time) rendered by handlebars with HTML escaping on, so every string from a
//! report lands as text. The report itself is embedded as JSON inside
//! `<script type="application/json">` through `json_script`, which escapes what could end the
//! script element or the JS string (`<`, `>`, `&`, U+2028, U+2029).
//!
//! The template is `templates/report.html.hbs`, embedded at build time; a `report.html.hbs` in a
//! template directory overrides it, falling back to the embedded one as the Markdown report does.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::{Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason};
use serde::Serialize;

use super::aggregate::pass_rate;
use super::error::ReportError;
use super::markdown::derived_reproduce;
use super::model::{CheckStatus, ClusterSnapshot, Status, TestReport, TestResult};
use super::template::{LoadedTemplate, TemplateSpec};
use super::text::{human_duration, strip_ansi};

/// The embedded HTML template.
pub const EMBEDDED_TEMPLATE: &str = include_str!("../../templates/report.html.hbs");
/// File name of an override inside a template directory.
pub const TEMPLATE_FILE: &str = "report.html.hbs";
const NAME: &str = "report.html";

/// JSON for the inside of a `<script>` element: serde_json output with `<`, `>`, `&`, U+2028 and
/// U+2029 written as `\uXXXX` escapes, which JSON and JS read back as the same characters.
pub fn json_for_script(value: &impl Serialize) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `{{json_script value}}`: writes straight to the output (helpers bypass the escape function),
/// which is why the escaping above must be complete on its own.
fn json_script_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let param = h.param(0).ok_or(RenderErrorReason::ParamNotFoundForIndex("json_script", 0))?;
    let text = json_for_script(param.value()).map_err(RenderErrorReason::SerdeError)?;
    out.write(&text)?;
    Ok(())
}

fn registry_with(template: &str) -> Result<Handlebars<'static>, handlebars::TemplateError> {
    let mut hb = Handlebars::new();
    // The default escape function covers text and quoted attributes; set it explicitly so a
    // later change of defaults cannot turn it off silently.
    hb.register_escape_fn(handlebars::html_escape);
    hb.set_strict_mode(true);
    hb.register_helper("json_script", Box::new(json_script_helper));
    hb.register_template_string(NAME, template)?;
    Ok(hb)
}

const SPEC: TemplateSpec =
    TemplateSpec { name: NAME, file: TEMPLATE_FILE, embedded: EMBEDDED_TEMPLATE, format: "html", build: registry_with };

/// Renders HTML reports with either an override template or the embedded one.
#[derive(Debug)]
pub struct HtmlRenderer {
    template: LoadedTemplate,
    /// Why an override in the template directory was not used, for the report's notes or a log line.
    pub override_problem: Option<String>,
}

impl HtmlRenderer {
    fn from_loaded(mut template: LoadedTemplate) -> Self {
        let override_problem = template.override_problem.take();
        HtmlRenderer { template, override_problem }
    }

    /// The embedded template only.
    pub fn embedded() -> Result<Self, ReportError> {
        LoadedTemplate::embedded(&SPEC).map(Self::from_loaded)
    }

    /// `template_dir/report.html.hbs` when it exists and parses, else the embedded template.
    pub fn with_template_dir(template_dir: Option<&Path>) -> Result<Self, ReportError> {
        LoadedTemplate::with_template_dir(&SPEC, template_dir).map(Self::from_loaded)
    }

    /// Renders the report; an override that fails to render falls back to the embedded template.
    pub fn render(&self, report: &TestReport) -> Result<String, ReportError> {
        self.template.render(&HtmlView::from_report(report))
    }
}

/// Renders the report with the embedded template.
pub fn to_html(report: &TestReport) -> Result<String, ReportError> {
    HtmlRenderer::embedded()?.render(report)
}

#[derive(Serialize)]
struct PieSlice {
    label: &'static str,
    class: &'static str,
    count: u64,
    /// `stroke-dasharray` on a circle of circumference 100.
    dash: String,
    offset: String,
}

#[derive(Serialize)]
struct FrameworkBar {
    name: String,
    total: u64,
    passed: u64,
    failed: u64,
    skipped: u64,
    pass_rate: String,
    width: String,
}

#[derive(Serialize)]
struct TimelineBar {
    framework: String,
    command: String,
    started: String,
    duration: String,
    exit: String,
    left: String,
    width: String,
    class: &'static str,
}

#[derive(Serialize)]
struct HealthRow {
    metric: String,
    before: String,
    after: String,
    change: String,
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: String,
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
    status: &'static str,
    class: &'static str,
    details: String,
}

#[derive(Serialize)]
struct AssertionRow {
    description: String,
    expected: String,
    actual: String,
    class: &'static str,
}

#[derive(Serialize)]
struct ResultView {
    index: usize,
    id: String,
    name: String,
    framework: String,
    category: String,
    suite: String,
    status: &'static str,
    class: &'static str,
    raw_status: String,
    duration: String,
    search: String,
    error: String,
    assertions: Vec<AssertionRow>,
    evidence: Vec<KeyValue>,
    /// Reproduce commands, one per line, or the derived one with a comment saying so.
    reproduce: String,
    output: String,
}

#[derive(Serialize)]
struct PreflightRow {
    name: String,
    status: &'static str,
    class: &'static str,
    message: String,
}

/// Everything the template reads. Strings are raw: the registry escapes them where they land.
#[derive(Serialize)]
struct HtmlView<'a> {
    cluster: String,
    date: String,
    duration: String,
    run_id: String,
    tool_version: String,
    overall_word: &'static str,
    overall_class: &'static str,
    total: u64,
    passed: u64,
    failed: u64,
    skipped: u64,
    pass_rate: String,
    eviction_rate: String,
    remediation_actions: u64,
    pie: Vec<PieSlice>,
    frameworks: Vec<FrameworkBar>,
    timeline: Vec<TimelineBar>,
    health_rows: Vec<HealthRow>,
    not_ready_after: Vec<String>,
    eviction: EvictionView,
    remediation_summary: String,
    remediation: Vec<RemediationRow>,
    results: Vec<ResultView>,
    failed_results: Vec<ResultView>,
    preflight: Vec<PreflightRow>,
    notes: Vec<String>,
    report_pretty: String,
    report: &'a TestReport,
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.2}", (part / whole * 100.0).clamp(0.0, 100.0))
    } else {
        "0".into()
    }
}

fn pie(passed: u64, failed: u64, skipped: u64) -> Vec<PieSlice> {
    let total = (passed + failed + skipped) as f64;
    let mut start = 0.0;
    let mut slices = Vec::new();
    for (label, class, count) in [("Passed", "pass", passed), ("Failed", "fail", failed), ("Skipped", "skip", skipped)]
    {
        let share = if total > 0.0 { count as f64 / total * 100.0 } else { 0.0 };
        // The circle's stroke starts at 3 o'clock; an offset of 25 moves it to 12 o'clock.
        slices.push(PieSlice {
            label,
            class,
            count,
            dash: format!("{share:.3} {:.3}", 100.0 - share),
            offset: format!("{:.3}", 25.0 - start),
        });
        start += share;
    }
    slices
}

fn timeline(report: &TestReport) -> Vec<TimelineBar> {
    let Some(first) = report.suite_runs.iter().map(|r| r.started).min() else { return Vec::new() };
    let end = report
        .suite_runs
        .iter()
        .map(|r| r.started.as_second() as f64 - first.as_second() as f64 + r.duration_seconds.max(0.0))
        .fold(0.0_f64, f64::max);
    report
        .suite_runs
        .iter()
        .map(|r| {
            let offset = r.started.as_second() as f64 - first.as_second() as f64;
            let (exit, class) = if let Some(reason) = &r.skipped_reason {
                (format!("skipped: {reason}"), "skip")
            } else if r.timed_out {
                ("timed out".to_string(), "fail")
            } else {
                match (r.exit_code, r.signal) {
                    (Some(0), _) => ("exit 0".to_string(), "pass"),
                    (Some(code), _) => (format!("exit {code}"), "fail"),
                    (None, Some(sig)) => (format!("signal {sig}"), "fail"),
                    (None, None) => ("no exit status".to_string(), "fail"),
                }
            };
            TimelineBar {
                framework: r.framework.to_string(),
                command: r.command.clone(),
                started: r.started.strftime("%H:%M:%S").to_string(),
                duration: human_duration(r.duration_seconds),
                exit,
                left: percent(offset, end),
                // A zero-length run still gets a visible sliver.
                width: percent(r.duration_seconds.max(end / 200.0), end),
                class,
            }
        })
        .collect()
}

/// Reads one number from a snapshot.
type Metric = fn(&ClusterSnapshot) -> u64;

fn health_rows(before: Option<&ClusterSnapshot>, after: Option<&ClusterSnapshot>) -> Vec<HealthRow> {
    if before.is_none() && after.is_none() {
        return Vec::new();
    }
    let row = |metric: String, b: Option<u64>, a: Option<u64>| {
        let show = |v: Option<u64>| v.map_or_else(|| "n/a".to_string(), |v| v.to_string());
        let change = match (b, a) {
            (Some(b), Some(a)) if a >= b => format!("+{}", a - b),
            (Some(b), Some(a)) => format!("-{}", b - a),
            _ => "n/a".to_string(),
        };
        HealthRow { metric, before: show(b), after: show(a), change }
    };
    let fixed: [(&str, Metric); 5] = [
        ("Total Nodes", |s| s.total_nodes),
        ("Ready Nodes", |s| s.ready_nodes),
        ("Spot Nodes", |s| s.spot_nodes),
        ("Total Pods", |s| s.total_pods),
        ("Pending Pods", |s| s.pending_pods),
    ];
    let mut rows: Vec<HealthRow> =
        fixed.iter().map(|(name, get)| row(name.to_string(), before.map(get), after.map(get))).collect();
    let mut pools: Vec<&String> = before.iter().chain(after.iter()).flat_map(|s| s.node_pool_counts.keys()).collect();
    pools.sort();
    pools.dedup();
    for pool in pools {
        let count = |s: &ClusterSnapshot| s.node_pool_counts.get(pool).copied().unwrap_or(0);
        rows.push(row(format!("Pool {pool} nodes"), before.map(count), after.map(count)));
    }
    rows
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skip => "skip",
    }
}

fn result_view(index: usize, r: &TestResult) -> ResultView {
    let reproduce = if !r.reproduce_commands.is_empty() {
        r.reproduce_commands.join("\n")
    } else if let Some(command) = derived_reproduce(r) {
        format!("# derived from the test id; the suite recorded no command\n{command}")
    } else {
        String::new()
    };
    let name = if r.name == r.test_id { "" } else { r.name.as_str() };
    let search = [r.test_id.as_str(), name, &r.category, &r.suite, r.error_message.as_deref().unwrap_or("")]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    ResultView {
        index,
        id: r.test_id.clone(),
        name: name.to_string(),
        framework: r.framework.to_string(),
        category: r.category.clone(),
        suite: r.suite.clone(),
        status: r.status.as_str(),
        class: status_class(r.status),
        raw_status: r.raw_status.clone(),
        duration: human_duration(r.duration_seconds),
        search,
        error: r.error_message.as_deref().map(strip_ansi).unwrap_or_default(),
        assertions: r
            .assertions
            .iter()
            .map(|a| AssertionRow {
                description: a.description.clone(),
                expected: a.expected.to_string(),
                actual: a.actual.to_string(),
                class: if a.passed { "pass" } else { "fail" },
            })
            .collect(),
        evidence: r.evidence.iter().map(|(k, v)| KeyValue { key: k.clone(), value: v.to_string() }).collect(),
        reproduce,
        output: r.output.as_deref().map(strip_ansi).unwrap_or_default(),
    }
}

fn check_status(status: CheckStatus) -> (&'static str, &'static str) {
    match status {
        CheckStatus::Ok => ("ok", "pass"),
        CheckStatus::Warn => ("warn", "skip"),
        CheckStatus::Fail => ("fail", "fail"),
        CheckStatus::Skipped => ("skipped", "none"),
    }
}

fn opt(text: Option<&String>) -> String {
    text.cloned().unwrap_or_else(|| "-".to_string())
}

impl<'a> HtmlView<'a> {
    fn from_report(report: &'a TestReport) -> Self {
        let s = &report.summary;
        let ok = s.failed == 0 && s.total_tests > 0;
        let ev = &report.eviction_monitoring;
        let rem = &report.remediation;
        let results: Vec<ResultView> = report.test_results.iter().enumerate().map(|(i, r)| result_view(i, r)).collect();
        let failed_results = report
            .test_results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.status == Status::Fail)
            .map(|(i, r)| result_view(i, r))
            .collect();
        let mut per_pool: BTreeMap<&String, u64> = ev.per_pool.iter().map(|(k, v)| (k, *v)).collect();
        if per_pool.is_empty() {
            for e in &ev.events {
                if let Some(pool) = &e.pool {
                    *per_pool.entry(pool).or_default() += 1;
                }
            }
        }
        HtmlView {
            cluster: report.cluster_name.clone(),
            date: report.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            duration: human_duration(report.duration_seconds),
            run_id: report.run_id.to_string(),
            tool_version: report.tool_version.clone(),
            overall_word: if ok {
                "PASS"
            } else if s.total_tests == 0 {
                "NO TESTS"
            } else {
                "FAIL"
            },
            overall_class: if ok {
                "pass"
            } else if s.total_tests == 0 {
                "none"
            } else {
                "fail"
            },
            total: s.total_tests,
            passed: s.passed,
            failed: s.failed,
            skipped: s.skipped,
            pass_rate: format!("{:.2}", s.pass_rate),
            eviction_rate: format!("{:.2}", ev.eviction_rate_per_hour),
            remediation_actions: rem.actions_taken,
            pie: pie(s.passed, s.failed, s.skipped),
            frameworks: report
                .framework_summary
                .iter()
                .map(|(name, c)| {
                    let rate = pass_rate(c);
                    FrameworkBar {
                        name: name.clone(),
                        total: c.total,
                        passed: c.passed,
                        failed: c.failed,
                        skipped: c.skipped,
                        pass_rate: format!("{rate:.2}"),
                        width: percent(rate, 100.0),
                    }
                })
                .collect(),
            timeline: timeline(report),
            health_rows: health_rows(report.cluster_state.initial.as_ref(), report.cluster_state.final_.as_ref()),
            not_ready_after: report
                .cluster_state
                .final_
                .as_ref()
                .map(|f| f.not_ready_nodes.clone())
                .unwrap_or_default(),
            eviction: EvictionView {
                total: ev.total_evictions,
                rate: format!("{:.2}", ev.eviction_rate_per_hour),
                watched: human_duration(ev.watched_seconds),
                events: ev
                    .events
                    .iter()
                    .map(|e| EvictionRow {
                        time: e.timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        node: e.node.clone(),
                        pool: opt(e.pool.as_ref()),
                        zone: opt(e.zone.as_ref()),
                        reason: e.reason.clone(),
                        message: e.message.clone(),
                    })
                    .collect(),
                per_pool: per_pool
                    .into_iter()
                    .map(|(k, v)| KeyValue { key: k.clone(), value: v.to_string() })
                    .collect(),
                gaps: ev.gaps.clone(),
            },
            remediation_summary: format!(
                "{} action(s): {} VMSS ghost(s) deleted, {} stuck node(s) deleted",
                rem.actions_taken, rem.vmss_ghosts_deleted, rem.stuck_nodes_deleted
            ),
            remediation: rem
                .details
                .iter()
                .map(|a| {
                    let (status, class) = match (a.dry_run, a.success) {
                        (true, _) => ("planned (dry run)", "skip"),
                        (false, true) => ("done", "pass"),
                        (false, false) => ("failed", "fail"),
                    };
                    RemediationRow {
                        time: a.timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                        action: a.action_type.clone(),
                        target: a.target.clone(),
                        status,
                        class,
                        details: a.details.clone(),
                    }
                })
                .collect(),
            results,
            failed_results,
            preflight: report
                .preflight
                .iter()
                .map(|c| {
                    let (status, class) = check_status(c.status);
                    PreflightRow { name: c.name.clone(), status, class, message: c.message.clone() }
                })
                .collect(),
            notes: report.notes.clone(),
            report_pretty: serde_json::to_string_pretty(report).unwrap_or_default(),
            report,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::aggregate::{RunFacts, build_report};

    #[test]
    fn script_json_escapes_what_could_close_the_element() {
        let value = serde_json::json!({"id": "</script><!-- & \u{2028}\u{2029}"});
        let text = json_for_script(&value).unwrap();
        assert_eq!(text, r#"{"id":"\u003c/script\u003e\u003c!-- \u0026 \u2028\u2029"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn embedded_template_renders_an_empty_report_in_strict_mode() {
        let html = to_html(&build_report(vec![], RunFacts::default())).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("NO TESTS"));
    }

    #[test]
    fn override_is_used_and_broken_override_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let report = build_report(vec![], RunFacts::default());
        std::fs::write(dir.path().join(TEMPLATE_FILE), "custom {{total}} {{cluster}}").unwrap();
        let r = HtmlRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert_eq!(r.render(&report).unwrap(), format!("custom 0 {}", report.cluster_name));

        std::fs::write(dir.path().join(TEMPLATE_FILE), "broken {{#if}").unwrap();
        let r = HtmlRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert!(r.override_problem.as_deref().unwrap_or("").contains("html template"));
        assert!(r.render(&report).unwrap().starts_with("<!DOCTYPE html>"));

        std::fs::write(dir.path().join(TEMPLATE_FILE), "{{no_such_field}}").unwrap();
        let r = HtmlRenderer::with_template_dir(Some(dir.path())).unwrap();
        assert!(r.render(&report).unwrap().starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn pie_slices_cover_the_circle_in_order() {
        let slices = pie(3, 1, 0);
        assert_eq!(slices[0].dash, "75.000 25.000");
        assert_eq!(slices[1].offset, "-50.000");
        assert_eq!(slices[2].dash, "0.000 100.000");
    }
}
