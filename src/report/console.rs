//! The console summary printed at the end of a run: counts, pass rate, duration, evictions,
//! remediation and where each report went. Plain text; colour only on a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;

use super::error::format_name;
use super::model::{Framework, TestReport};
use super::text::{first_line, human_duration, strip_ansi};
use super::write::WriteOutcome;

const GREEN: &str = "\u{1b}[32m";
const RED: &str = "\u{1b}[31m";
const YELLOW: &str = "\u{1b}[33m";
const BOLD: &str = "\u{1b}[1m";
const RESET: &str = "\u{1b}[0m";

/// Colour when stdout is a terminal and `NO_COLOR` is unset (https://no-color.org).
pub fn colour_for_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("{code}{text}{RESET}") } else { text.to_string() }
}

/// Untrusted text on one console line: no escape sequences, no line breaks.
fn one_line(text: &str) -> String {
    first_line(&strip_ansi(text)).chars().filter(|c| !c.is_control()).collect()
}

/// Prints the summary to stdout, coloured only on a terminal.
pub fn print_console(report: &TestReport, outcome: Option<&WriteOutcome>) {
    print!("{}", render_console(report, outcome, colour_for_stdout()));
}

/// The summary as text, ending with a newline.
pub fn render_console(report: &TestReport, outcome: Option<&WriteOutcome>, colour: bool) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let (word, code) = match (s.total_tests, s.failed) {
        (0, _) => ("NO TESTS", YELLOW),
        (_, 0) => ("PASS", GREEN),
        _ => ("FAIL", RED),
    };
    let _ = writeln!(
        out,
        "{} {} on {} (run {})",
        paint(colour, BOLD, "aks-spot-test:"),
        paint(colour, code, word),
        one_line(&report.cluster_name),
        report.run_id
    );
    let failed =
        if s.failed > 0 { paint(colour, RED, &format!("{} failed", s.failed)) } else { "0 failed".to_string() };
    let _ = writeln!(
        out,
        "  tests        {} total, {} passed, {failed}, {} skipped ({:.2}% pass rate)",
        s.total_tests, s.passed, s.skipped, s.pass_rate
    );
    for framework in Framework::ALL {
        if let Some(c) = report.framework_summary.get(framework.as_str()) {
            let _ = writeln!(
                out,
                "    {:<10} {} passed, {} failed, {} skipped",
                framework.as_str(),
                c.passed,
                c.failed,
                c.skipped
            );
        }
    }
    let _ = writeln!(out, "  duration     {}", human_duration(report.duration_seconds));
    let ev = &report.eviction_monitoring;
    let _ = writeln!(out, "  evictions    {} ({:.2}/hour)", ev.total_evictions, ev.eviction_rate_per_hour);
    if !ev.gaps.is_empty() {
        let _ = writeln!(out, "               {} watch gap(s): counts may be low", ev.gaps.len());
    }
    let r = &report.remediation;
    let _ = writeln!(
        out,
        "  remediation  {} action(s) ({} VMSS ghost(s), {} stuck node(s) deleted)",
        r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted
    );
    if !report.top_failures.is_empty() {
        let _ = writeln!(out, "  top failures");
        for f in &report.top_failures {
            let msg = one_line(f.error_message.as_deref().unwrap_or(""));
            let _ = writeln!(out, "    {} {} [{}] {}", paint(colour, RED, "✗"), one_line(&f.test_id), f.framework, msg);
        }
    }
    if let Some(outcome) = outcome {
        if !outcome.written.is_empty() {
            let _ = writeln!(out, "  reports");
            for (format, path) in &outcome.written {
                let name = format_name(format);
                let _ = writeln!(out, "    {name:<10} {}", path.display());
            }
        }
        for (format, err) in &outcome.failed {
            let name = format_name(format);
            let mut cause = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                let _ = write!(cause, ": {s}");
                source = s.source();
            }
            let _ = writeln!(out, "    {name:<10} {} {cause}", paint(colour, YELLOW, "not written:"));
        }
        for warning in &outcome.warnings {
            let _ = writeln!(out, "  {} {}", paint(colour, YELLOW, "warning:"), one_line(warning));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::schema::ReportFormat;
    use crate::report::aggregate::{RunFacts, build_report};
    use crate::report::error::ReportError;

    #[test]
    fn plain_summary_has_no_escape_codes_and_lists_paths() {
        let report = build_report(vec![], RunFacts { cluster_name: "c1\u{1b}[31m".into(), ..RunFacts::default() });
        let outcome = WriteOutcome {
            written: vec![(ReportFormat::Json, PathBuf::from("/r/test-report.json"))],
            failed: vec![(ReportFormat::Html, ReportError::RendererUnavailable { format: ReportFormat::Html })],
            warnings: vec![],
        };
        let text = render_console(&report, Some(&outcome), false);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("NO TESTS on c1"), "{text}");
        assert!(text.contains("json       /r/test-report.json"), "{text}");
        assert!(text.contains("html       not written: html renderer not available yet"), "{text}");
    }

    #[test]
    fn colour_is_applied_only_when_asked() {
        let report = build_report(vec![], RunFacts::default());
        assert!(render_console(&report, None, true).contains(YELLOW));
    }
}
