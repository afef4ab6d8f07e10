//! The JUnit XML report: `testsuites > testsuite` (one per framework) `> testcase`, the shape CI
//! systems (GitLab, Azure DevOps, Jenkins) import. Assertion failures are `<failure>`; a test
//! that could not reach a verdict (error, build failure, timeout, crash) is `<error>`.

use std::collections::HashSet;
use std::io::Cursor;

use jiff::Timestamp;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::aggregate::is_error_outcome;
use super::error::ReportError;
use super::model::{Framework, Status, TestReport, TestResult};
use super::text::{first_line, xml_clean};

fn xml_error(e: std::io::Error) -> ReportError {
    ReportError::Render { format: "junit", source: Box::new(e) }
}

fn junit_time(ts: Timestamp) -> String {
    // JUnit's schema wants xs:dateTime without a zone; the value is UTC.
    ts.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn seconds(value: f64) -> String {
    if value.is_finite() && value >= 0.0 { format!("{value:.3}") } else { "0.000".to_string() }
}

fn case_name(r: &TestResult) -> String {
    if r.name.is_empty() || r.name == r.test_id { r.test_id.clone() } else { format!("{}: {}", r.test_id, r.name) }
}

#[derive(Default)]
struct SuiteCounts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: f64,
}

impl SuiteCounts {
    fn of<'a>(results: impl Iterator<Item = &'a TestResult>) -> Self {
        let mut c = SuiteCounts::default();
        for r in results {
            c.tests += 1;
            c.time += r.duration_seconds.max(0.0);
            match r.status {
                Status::Fail if is_error_outcome(&r.raw_status) => c.errors += 1,
                Status::Fail => c.failures += 1,
                Status::Skip => c.skipped += 1,
                Status::Pass => {}
            }
        }
        c
    }
}

/// The report as JUnit XML (UTF-8, indented, trailing newline).
pub fn to_junit(report: &TestReport) -> Result<Vec<u8>, ReportError> {
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(xml_error)?;

    let all = SuiteCounts::of(report.test_results.iter());
    let frameworks: Vec<Framework> = Framework::ALL
        .into_iter()
        .filter(|f| {
            report.test_results.iter().any(|r| r.framework == *f) || report.suite_runs.iter().any(|s| s.framework == *f)
        })
        .collect();
    let (tests, failures, errors, skipped) =
        (all.tests.to_string(), all.failures.to_string(), all.errors.to_string(), all.skipped.to_string());
    let total_time = seconds(report.duration_seconds);
    w.create_element("testsuites")
        .with_attributes([
            ("name", "aks-spot-test"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", errors.as_str()),
            ("skipped", skipped.as_str()),
            ("time", total_time.as_str()),
        ])
        .write_inner_content(|w| {
            for framework in frameworks {
                write_suite(w, report, framework)?;
            }
            Ok(())
        })
        .map_err(xml_error)?;
    let mut out = w.into_inner().into_inner();
    out.push(b'\n');
    Ok(out)
}

fn write_suite(w: &mut Writer<Cursor<Vec<u8>>>, report: &TestReport, framework: Framework) -> std::io::Result<()> {
    let results: Vec<&TestResult> = report.test_results.iter().filter(|r| r.framework == framework).collect();
    let counts = SuiteCounts::of(results.iter().copied());
    let run = report.suite_runs.iter().find(|s| s.framework == framework);
    let time = seconds(run.map_or(counts.time, |s| s.duration_seconds));
    let timestamp = junit_time(run.map_or(report.timestamp, |s| s.started));
    let (tests, failures, errors, skipped) =
        (counts.tests.to_string(), counts.failures.to_string(), counts.errors.to_string(), counts.skipped.to_string());
    w.create_element("testsuite")
        .with_attributes([
            ("name", framework.as_str()),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", errors.as_str()),
            ("skipped", skipped.as_str()),
            ("time", time.as_str()),
            ("timestamp", timestamp.as_str()),
        ])
        .write_inner_content(|w| {
            let mut seen: HashSet<(String, String)> = HashSet::new();
            for r in results {
                write_case(w, r, &mut seen)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_case(
    w: &mut Writer<Cursor<Vec<u8>>>,
    r: &TestResult,
    seen: &mut HashSet<(String, String)>,
) -> std::io::Result<()> {
    let classname = xml_clean(&r.suite);
    let base = xml_clean(&case_name(r)).replace(['\n', '\r'], " ");
    // Test ids are unique per suite, but `id: name` joins can still collide; CI tools merge duplicates.
    let mut name = base.clone();
    let mut n = 2;
    while !seen.insert((classname.clone(), name.clone())) {
        name = format!("{base} #{n}");
        n += 1;
    }
    let time = seconds(r.duration_seconds);
    let message = r.error_message.as_deref().map(xml_clean).unwrap_or_default();
    let output = r.output.as_deref().map(xml_clean).filter(|o| !o.is_empty());
    let has_body = r.status != Status::Pass || output.is_some();
    let element = w.create_element("testcase").with_attributes([
        ("name", name.as_str()),
        ("classname", classname.as_str()),
        ("time", time.as_str()),
    ]);
    if !has_body {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|w| {
        let headline = first_line(&message).to_string();
        let kind = xml_clean(&r.raw_status);
        match r.status {
            Status::Fail => {
                let tag = if is_error_outcome(&r.raw_status) { "error" } else { "failure" };
                let el =
                    w.create_element(tag).with_attributes([("message", headline.as_str()), ("type", kind.as_str())]);
                if message.is_empty() {
                    el.write_empty()?;
                } else {
                    el.write_text_content(BytesText::new(&message))?;
                }
            }
            Status::Skip => {
                let el = w.create_element("skipped");
                if headline.is_empty() {
                    el.write_empty()?;
                } else {
                    el.with_attribute(("message", headline.as_str())).write_empty()?;
                }
            }
            Status::Pass => {}
        }
        if let Some(output) = &output {
            w.create_element("system-out").write_text_content(BytesText::new(output))?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::aggregate::{RunFacts, build_report};

    fn result(id: &str, name: &str, status: Status, raw: &str, msg: Option<&str>) -> TestResult {
        TestResult {
            test_id: id.to_string(),
            name: name.to_string(),
            category: "c".to_string(),
            framework: Framework::Bash,
            suite: "tests/run.sh".to_string(),
            status,
            raw_status: raw.to_string(),
            duration_seconds: 1.5,
            error_message: msg.map(str::to_string),
            assertions: vec![],
            evidence: BTreeMap::new(),
            reproduce_commands: vec![],
            output: None,
        }
    }

    #[test]
    fn failure_error_and_skip_are_distinguished() {
        let report = build_report(
            vec![
                result("A", "a", Status::Fail, "fail", Some("assert\nmore")),
                result("B", "b", Status::Fail, "timeout", Some("timed out")),
                result("C", "c", Status::Skip, "skip", Some("no zone")),
                result("D", "D", Status::Pass, "pass", None),
            ],
            RunFacts::default(),
        );
        let xml = String::from_utf8(to_junit(&report).unwrap()).unwrap();
        assert!(xml.contains(r#"<failure message="assert" type="fail">assert"#), "{xml}");
        assert!(xml.contains(r#"<error message="timed out" type="timeout">"#), "{xml}");
        assert!(xml.contains(r#"<skipped message="no zone"/>"#), "{xml}");
        assert!(xml.contains(r#"<testcase name="D" classname="tests/run.sh" time="1.500"/>"#), "{xml}");
        assert!(xml.contains(r#"tests="4" failures="1" errors="1" skipped="1""#), "{xml}");
    }

    #[test]
    fn colliding_names_are_made_unique() {
        let report = build_report(
            vec![result("a", "b: c", Status::Pass, "pass", None), result("a: b", "c", Status::Pass, "pass", None)],
            RunFacts::default(),
        );
        let xml = String::from_utf8(to_junit(&report).unwrap()).unwrap();
        assert!(xml.contains(r#"name="a: b: c""#) && xml.contains(r#"name="a: b: c #2""#), "{xml}");
    }

    #[test]
    fn ansi_and_control_characters_are_stripped() {
        let mut r = result("A", "a", Status::Fail, "fail", Some("\u{1b}[31mred\u{1b}[0m\u{0}<b>"));
        r.output = Some("out\u{7}put".to_string());
        let xml = String::from_utf8(to_junit(&build_report(vec![r], RunFacts::default())).unwrap()).unwrap();
        assert!(xml.contains("red&lt;b&gt;</failure>"), "{xml}");
        assert!(xml.contains("<system-out>output</system-out>"), "{xml}");
        assert!(!xml.contains('\u{1b}') && !xml.contains('\u{0}'));
    }
}
