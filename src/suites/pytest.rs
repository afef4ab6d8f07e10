//! Parser of pytest runs: the pytest-json-report file (`pytest --json-report`) plus the console output.
//!
//! Input: the report JSON (`exitcode`, `collectors[]` with `nodeid/outcome/longrepr`, `tests[]` with `nodeid,
//! outcome, setup/call/teardown{outcome, duration, crash{message}, longrepr, stdout, stderr}, user_properties,
//! metadata`), possibly missing or cut off mid-write, and pytest's console text for when it is.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::report::model::{Assertion, Framework, Status, TestResult};
use crate::suites::classify::{
    MESSAGE_CAP, OUTPUT_CAP, ParseContext, UNATTRIBUTED_CAP, cap_head, cap_tail, category_for, in_dir,
    pytest_reproduce, synthetic_fail,
};
use crate::suites::outcome::{ParsedSuite, ProcessExit};

/// The suite name of entries that are about the run rather than a module.
const RUN_SUITE: &str = "pytest";

const PHASES: [&str; 3] = ["setup", "call", "teardown"];

/// `('/path/test_x.py', 6, 'Skipped: why')` → `why`; anything else is returned as it is.
pub(crate) fn skip_reason(longrepr: &str) -> String {
    let s = longrepr.trim();
    let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) else { return s.to_string() };
    let Some(quote) = inner.chars().last().filter(|c| *c == '\'' || *c == '"') else { return s.to_string() };
    // The path may itself contain ", ": the reason starts after the first ", <line number>, <quote>".
    for (i, _) in inner.match_indices(", ") {
        let rest = &inner[i + 2..];
        let Some((line, tail)) = rest.split_once(", ") else { continue };
        let is_line = line == "None" || (!line.is_empty() && line.chars().all(|c| c.is_ascii_digit()));
        if let Some(quoted) = tail.strip_prefix(quote).filter(|_| is_line) {
            let reason = quoted.strip_suffix(quote).unwrap_or(quoted);
            let reason = reason.replace(&format!("\\{quote}"), &quote.to_string()).replace("\\\\", "\\");
            return reason.strip_prefix("Skipped: ").unwrap_or(&reason).to_string();
        }
    }
    s.to_string()
}

/// `user_properties` as written by pytest-json-report (`[{"k": v}]`) or as pairs (`[["k", v]]`).
fn user_properties(test: &Map<String, Value>) -> BTreeMap<String, Value> {
    let mut props = BTreeMap::new();
    for item in test.get("user_properties").and_then(Value::as_array).into_iter().flatten() {
        match item {
            Value::Object(m) => props.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Array(pair) if pair.len() == 2 => {
                if let Some(k) = pair[0].as_str() {
                    props.insert(k.to_string(), pair[1].clone());
                }
            }
            _ => {}
        }
    }
    props
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The failure text of one phase: the crash message when there is one, else the long representation.
fn phase_failure(phase: &Map<String, Value>) -> Option<String> {
    let crash = phase.get("crash").and_then(|c| c.get("message")).and_then(Value::as_str).map(str::to_string);
    crash.or_else(|| text_of(phase.get("longrepr")))
}

fn parse_assertions(v: Option<&Value>, notes: &mut Vec<String>, nodeid: &str) -> Vec<Assertion> {
    let Some(Value::Array(items)) = v else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let parsed = serde_json::from_value::<Assertion>(item.clone());
            if parsed.is_err() {
                notes.push(format!(
                    "{nodeid}: ignored an assertion that is not {{description, expected, actual, passed}}"
                ));
            }
            parsed.ok()
        })
        .collect()
}

fn test_result(test: &Map<String, Value>, ctx: &ParseContext, notes: &mut Vec<String>) -> TestResult {
    let nodeid = test.get("nodeid").and_then(Value::as_str).unwrap_or("<no nodeid>").to_string();
    let outcome = test.get("outcome").and_then(Value::as_str).unwrap_or("unknown").to_string();
    let props = user_properties(test);
    let prop_str = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty());
    let metadata_id = test.get("metadata").and_then(|m| m.get("test_id")).and_then(Value::as_str).map(str::to_string);
    let test_id = prop_str("test_id").or(metadata_id).unwrap_or_else(|| nodeid.clone());
    let suite = nodeid.split("::").next().unwrap_or(&nodeid).to_string();
    let name =
        prop_str("name").unwrap_or_else(|| nodeid.split_once("::").map_or(nodeid.clone(), |(_, n)| n.to_string()));
    let category = prop_str("category").unwrap_or_else(|| category_for(&test_id, Framework::Python, &ctx.categories));

    let phases: Vec<(&str, &Map<String, Value>)> =
        PHASES.iter().filter_map(|p| test.get(*p).and_then(Value::as_object).map(|m| (*p, m))).collect();
    let duration = phases.iter().filter_map(|(_, m)| m.get("duration").and_then(Value::as_f64)).sum();
    let mut output = String::new();
    for (name, phase) in &phases {
        for stream in ["stdout", "stderr", "log"] {
            if let Some(text) = text_of(phase.get(stream)).filter(|t| !t.is_empty()) {
                output.push_str(&format!("--- {name} {stream} ---\n{text}\n"));
            }
        }
        if let Some(longrepr) = text_of(phase.get("longrepr")) {
            output.push_str(&format!("--- {name} ---\n{longrepr}\n"));
        }
    }
    let failures: Vec<String> = phases
        .iter()
        .filter(|(_, m)| m.get("outcome").and_then(Value::as_str) == Some("failed"))
        .filter_map(|(name, m)| phase_failure(m).map(|f| format!("{name}: {f}")))
        .collect();
    let passed_setup_without_call =
        phases.iter().any(|(n, m)| *n == "setup" && m.get("outcome").and_then(Value::as_str) == Some("passed"))
            && !phases.iter().any(|(n, _)| *n == "call");

    let (status, raw, message) = match outcome.as_str() {
        // A test that passed setup but has no call phase never ran to the end (the run was interrupted).
        "passed" if passed_setup_without_call => {
            (Status::Fail, "interrupted".to_string(), Some("the run stopped before this test finished".to_string()))
        }
        "passed" => (Status::Pass, outcome.clone(), None),
        "xpassed" => (Status::Pass, outcome.clone(), None),
        "skipped" | "xfailed" => {
            let reason = phases
                .iter()
                .find(|(_, m)| m.get("outcome").and_then(Value::as_str) == Some("skipped"))
                .and_then(|(_, m)| {
                    if outcome == "xfailed" {
                        phase_failure(m)
                    } else {
                        text_of(m.get("longrepr")).map(|l| skip_reason(&l))
                    }
                });
            (Status::Skip, outcome.clone(), reason)
        }
        "failed" | "error" => {
            let msg =
                if failures.is_empty() { format!("{outcome} without a recorded failure") } else { failures.join("\n") };
            (Status::Fail, outcome.clone(), Some(msg))
        }
        other => {
            notes.push(format!("{nodeid}: unknown pytest outcome `{other}`, counted as FAIL"));
            (Status::Fail, outcome.clone(), Some(format!("unknown outcome `{other}`")))
        }
    };

    let mut reproduce: Vec<String> = props
        .get("reproduce_commands")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    reproduce.push(pytest_reproduce(&nodeid, ctx.working_dir.as_deref()));
    let evidence = match props.get("evidence") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    };

    TestResult {
        test_id,
        name,
        category,
        framework: Framework::Python,
        suite,
        status,
        raw_status: raw,
        duration_seconds: duration,
        error_message: message.map(|m| cap_head(&m, MESSAGE_CAP)),
        assertions: parse_assertions(props.get("assertions"), notes, &nodeid),
        evidence,
        reproduce_commands: reproduce,
        output: (status == Status::Fail && !output.is_empty()).then(|| cap_tail(&output, OUTPUT_CAP)),
    }
}

fn run_failure(message: &str, console: &str, raw: &str, ctx: &ParseContext) -> TestResult {
    let mut entry = synthetic_fail(Framework::Python, RUN_SUITE, "(run)", "pytest run", raw, message, console);
    entry.reproduce_commands.push(in_dir("pytest".to_string(), ctx.working_dir.as_deref()));
    entry
}

/// Parses a pytest-json-report file. `report == None` means the file is missing. Never fails: a missing,
/// truncated or interrupted report becomes a FAIL entry carrying the console output.
pub fn parse_pytest_report(
    report: Option<&[u8]>,
    console: &str,
    exit: Option<&ProcessExit>,
    ctx: &ParseContext,
) -> ParsedSuite {
    let mut out = ParsedSuite::default();
    let doc = match report.map(serde_json::from_slice::<Value>) {
        None => {
            // The console's last line usually says why (`No module named pytest`, a usage error).
            let why = console.lines().rev().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("--- "));
            let message = match why {
                Some(line) => format!("pytest left no JSON report: {}", cap_head(line, 300)),
                None => "pytest left no JSON report".to_string(),
            };
            out.results.push(run_failure(&message, console, "no-report", ctx));
            None
        }
        Some(Err(e)) => {
            let raw = String::from_utf8_lossy(report.unwrap_or_default());
            out.unattributed = cap_tail(&raw, UNATTRIBUTED_CAP);
            out.notes.push(format!("the pytest JSON report is unreadable ({e}); kept as unattributed text"));
            out.results.push(run_failure(
                &format!("the pytest JSON report is truncated or malformed: {e}"),
                console,
                "bad-report",
                ctx,
            ));
            None
        }
        Some(Ok(Value::Object(doc))) => Some(doc),
        Some(Ok(_)) => {
            out.results.push(run_failure("the pytest JSON report is not a JSON object", console, "bad-report", ctx));
            None
        }
    };

    if let Some(doc) = doc {
        for collector in doc.get("collectors").and_then(Value::as_array).into_iter().flatten() {
            if collector.get("outcome").and_then(Value::as_str) != Some("failed") {
                continue;
            }
            let nodeid = collector.get("nodeid").and_then(Value::as_str).unwrap_or("").to_string();
            let longrepr = text_of(collector.get("longrepr")).unwrap_or_default();
            let suite = if nodeid.is_empty() { RUN_SUITE.to_string() } else { nodeid.clone() };
            let mut entry = synthetic_fail(
                Framework::Python,
                &suite,
                &suite,
                &format!("collect {suite}"),
                "collection-error",
                &format!("collection error: {}", longrepr.lines().last().unwrap_or("").trim()),
                &longrepr,
            );
            entry.reproduce_commands.push(pytest_reproduce(&suite, ctx.working_dir.as_deref()));
            out.results.push(entry);
        }
        let tests = doc.get("tests").and_then(Value::as_array).cloned().unwrap_or_default();
        for test in &tests {
            match test.as_object() {
                Some(t) => out.results.push(test_result(t, ctx, &mut out.notes)),
                None => out.notes.push(format!(
                    "ignored a tests[] item that is not an object: {}",
                    cap_head(&test.to_string(), 200)
                )),
            }
        }
        let code = doc.get("exitcode").and_then(Value::as_i64);
        let reason = match code.or(exit.and_then(|e| e.code).map(i64::from)) {
            Some(3) => Some(("internal-error", "pytest hit an internal error")),
            Some(4) => Some(("usage-error", "pytest was called wrongly (usage error)")),
            Some(5) => Some(("no-tests", "pytest collected no tests")),
            _ => None,
        };
        if let Some((raw, why)) = reason {
            out.results.push(run_failure(why, console, raw, ctx));
        }
        if code == Some(2) || exit.and_then(|e| e.code) == Some(2) {
            out.results.push(run_failure(
                &format!("pytest was interrupted after {} test(s)", tests.len()),
                console,
                "interrupted",
                ctx,
            ));
        }
        if let (Some(code), Some(exit_code)) = (code, exit.and_then(|e| e.code)) {
            if code != i64::from(exit_code) {
                out.notes.push(format!("the report says exit code {code} but the process exited {exit_code}"));
            }
        }
        // The report's own exit code stands in for the process when there was none (saved outputs).
        if exit.is_none() && code.is_some_and(|c| c != 0) {
            let code = code.and_then(|c| i32::try_from(c).ok());
            let from_report = ProcessExit { code, ..Default::default() };
            let suite = RUN_SUITE;
            return crate::suites::classify::finish(out, Framework::Python, suite, Some(&from_report), console, None);
        }
    }
    let reproduce = Some(in_dir("pytest".to_string(), ctx.working_dir.as_deref()));
    crate::suites::classify::finish(out, Framework::Python, RUN_SUITE, exit, console, reproduce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_reason_unwraps_the_tuple() {
        assert_eq!(skip_reason("('/p/test_x.py', 6, 'Skipped: needs AKS')"), "needs AKS");
        assert_eq!(skip_reason("('/p, q/t.py', 6, \"Skipped: it's, odd\")"), "it's, odd");
        assert_eq!(skip_reason("plain reason"), "plain reason");
        assert_eq!(skip_reason("("), "(");
    }

    #[test]
    fn a_missing_report_says_why_from_the_console() {
        let console = "--- stderr ---\n/usr/bin/python3: No module named pytest\n";
        let exit = ProcessExit { code: Some(1), ..ProcessExit::default() };
        let parsed = parse_pytest_report(None, console, Some(&exit), &ParseContext::default());
        let fail = &parsed.results[0];
        assert_eq!(
            fail.error_message.as_deref(),
            Some("pytest left no JSON report: /usr/bin/python3: No module named pytest")
        );
        assert!(fail.output.as_deref().is_some_and(|o| o.contains("No module named pytest")));
    }

    #[test]
    fn no_tests_collected_is_named() {
        let report = br#"{"exitcode": 5, "tests": [], "collectors": []}"#;
        let p = parse_pytest_report(Some(report), "", None, &ParseContext::default());
        let got: Vec<_> = p.results.iter().map(|r| (r.status, r.raw_status.as_str())).collect();
        assert_eq!(got, [(Status::Fail, "no-tests")]);
    }

    #[test]
    fn missing_report_is_a_fail_with_console() {
        let p = parse_pytest_report(None, "console text", None, &ParseContext::default());
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].status, Status::Fail);
        assert_eq!(p.results[0].output.as_deref(), Some("console text"));
    }

    #[test]
    fn metadata_and_pair_properties_give_ids() {
        let report = serde_json::json!({"exitcode": 0, "tests": [
            {"nodeid": "t.py::a", "outcome": "passed", "metadata": {"test_id": "PDB-001"},
             "setup": {"outcome": "passed"}, "call": {"outcome": "passed", "duration": 1.0}},
            {"nodeid": "t.py::b", "outcome": "passed", "user_properties": [["test_id", "DIST-002"]],
             "setup": {"outcome": "passed"}, "call": {"outcome": "passed"}}
        ]});
        let bytes = serde_json::to_vec(&report).unwrap_or_default();
        let ctx = ParseContext { categories: crate::config::schema::Config::default().categories, working_dir: None };
        let p = parse_pytest_report(Some(&bytes), "", None, &ctx);
        let ids: Vec<_> = p.results.iter().map(|r| (r.test_id.as_str(), r.category.as_str())).collect();
        assert_eq!(ids, [("PDB-001", "pdb"), ("DIST-002", "pod-distribution")]);
        assert_eq!(p.results[0].duration_seconds, 1.0);
    }
}
