//! The report domain end to end: a realistic report built from fixtures, its Markdown, JUnit and
//! JSON (insta snapshots), JSON round-trips, hostile test ids, and the file writer.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use aks_spot_test::config::schema::ReportFormat;
use aks_spot_test::report::console::render_console;
use aks_spot_test::report::model::{Framework, TestReport, TestResult};
use aks_spot_test::report::text::md_inline;
use aks_spot_test::report::{
    ReportError, WriteOutcome, build_report, json, read_report, to_json, to_junit, to_markdown, write_reports,
};
use common::fixtures::{TestResultBuilder, facts, realistic_report};
use proptest::prelude::*;

mod common;

fn hostile_report() -> TestReport {
    let results = vec![
        TestResultBuilder::new("<script>alert(1)</script>")
            .bash()
            .category("a|b")
            .fail("```\n# injected heading\n```")
            .build(),
        TestResultBuilder::new("pipe|id").bash().name("name with `code` and | bar").fail("x | y\n| z |").build(),
        TestResultBuilder::new("```").python().name("fence\nbreak").skip("``` skipped").build(),
    ];
    build_report(results, facts())
}

/// Positions of `|` not escaped by a backslash.
fn unescaped_pipes(line: &str) -> usize {
    let bytes = line.as_bytes();
    line.match_indices('|').filter(|(i, _)| *i == 0 || bytes[i - 1] != b'\\').count()
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", to_markdown(&realistic_report()).unwrap());
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", String::from_utf8(to_junit(&realistic_report()).unwrap()).unwrap());
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", String::from_utf8(to_json(&realistic_report()).unwrap()).unwrap());
}

#[test]
fn console_snapshot() {
    let report = realistic_report();
    let outcome = WriteOutcome {
        written: vec![
            (ReportFormat::Json, PathBuf::from("reports/test-report-2026-02-08-143022.json")),
            (ReportFormat::Markdown, PathBuf::from("reports/test-report-2026-02-08-143022.md")),
        ],
        failed: vec![(ReportFormat::Html, ReportError::RendererUnavailable { format: ReportFormat::Html })],
        warnings: vec!["markdown template templates/report.md.hbs is broken; used the built-in one".to_string()],
    };
    insta::assert_snapshot!("console", render_console(&report, Some(&outcome), false));
}

#[test]
fn aggregation_of_the_realistic_report() {
    let r = realistic_report();
    assert_eq!((r.summary.total_tests, r.summary.passed, r.summary.failed, r.summary.skipped), (8, 2, 5, 1));
    assert_eq!(r.summary.pass_rate, 28.57);
    let frameworks: Vec<Framework> = r.test_results.iter().map(|t| t.framework).collect();
    assert!(frameworks.is_sorted(), "{frameworks:?}");
    let top: Vec<&str> = r.top_failures.iter().map(|f| f.test_id.as_str()).collect();
    assert_eq!(
        top,
        [
            "TestAksSpotModulePlan/spot_pools",
            "EVICT-005",
            "DIST-004",
            "test_vmss.py::test_autoscale_ranges",
            "TestAksSpotModulePlan"
        ]
    );
    assert_eq!(r.failure_patterns.get("PDB violation"), Some(&1));
    assert_eq!(r.failure_patterns.get("Timeout waiting for pods"), Some(&1));
    assert_eq!(r.failure_patterns.get("timed out"), Some(&1));
}

#[test]
fn realistic_report_round_trips_byte_for_byte() {
    let report = realistic_report();
    let dir = tempfile::tempdir().unwrap();
    let outcome = write_reports(&report, &[ReportFormat::Json], dir.path());
    let (_, path) = &outcome.written[0];
    assert!(path.ends_with("test-report-2026-02-08-143022.json"));
    let back = read_report(path).unwrap();
    assert_eq!(back, report);
    assert_eq!(to_json(&back).unwrap(), std::fs::read(path).unwrap());
}

#[test]
fn hostile_ids_do_not_break_markdown() {
    let md = to_markdown(&hostile_report()).unwrap();
    assert!(!md.contains("<script>"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The injected fence sits inside a longer one, so the heading stays text in a code block.
    assert!(md.contains("````\n```\n# injected heading\n```\n````"), "{md}");
    let rows: Vec<&str> = md.lines().filter(|l| l.contains("pipe\\|id") && l.contains("FAIL")).collect();
    assert_eq!(rows.len(), 1, "{md}");
    assert_eq!(unescaped_pipes(rows[0]), 5, "{}", rows[0]);
    let skipped: Vec<&str> = md.lines().filter(|l| l.contains("fence<br>break")).collect();
    assert_eq!(skipped.len(), 1, "{md}");
    assert_eq!(unescaped_pipes(skipped[0]), 5, "{}", skipped[0]);
}

#[test]
fn hostile_ids_survive_junit_intact() {
    let xml = to_junit(&hostile_report()).unwrap();
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut names = Vec::new();
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                let attr = e.try_get_attribute("name").unwrap().unwrap();
                names.push(attr.unescape_value().unwrap().into_owned());
            }
            _ => {}
        }
        buf.clear();
    }
    assert_eq!(names, ["<script>alert(1)</script>", "pipe|id: name with `code` and | bar", "```: fence break"]);
}

#[test]
fn writer_falls_back_when_the_directory_is_under_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let report = realistic_report();
    let outcome = write_reports(&report, &[ReportFormat::Json, ReportFormat::Junit], &file.join("reports"));
    assert!(outcome.written.is_empty());
    assert_eq!(outcome.failed.len(), 2);
    assert!(outcome.needs_stdout_fallback());
}

#[test]
fn unreadable_report_names_the_file_and_field() {
    let err = json::parse_report(b"{\"schema_version\": 1, \"run_id\": 3}", Path::new("old.json")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("old.json") && msg.contains("run_id"), "{msg}");
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9|`<>&\\n -]{0,20}"]
}

fn arb_result() -> impl Strategy<Value = TestResult> {
    (
        arb_text(),
        arb_text(),
        arb_text(),
        0..3usize,
        0..3usize,
        0.0..1.0e5f64,
        proptest::option::of(arb_text()),
        proptest::option::of(arb_text()),
        proptest::collection::vec(arb_text(), 0..3),
    )
        .prop_map(|(id, name, category, fw, status, duration, error, output, commands)| {
            let mut b = match fw {
                0 => TestResultBuilder::new(&id).terratest(),
                1 => TestResultBuilder::new(&id).bash(),
                _ => TestResultBuilder::new(&id).python(),
            };
            b = b.name(&name).category(&category).duration(duration);
            b = match (status, error) {
                (1, Some(e)) => b.fail(&e),
                (2, Some(e)) => b.skip(&e),
                _ => b,
            };
            for c in commands {
                b = b.reproduce(&c);
            }
            if let Some(o) = output {
                b = b.output(&o);
            }
            b.evidence("n", serde_json::json!(duration)).build()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_report_round_trips_through_json(
        results in proptest::collection::vec(arb_result(), 0..8),
        cluster in arb_text(),
        secs in 0i64..4_000_000_000,
        nanos in 0i32..1_000_000_000,
        duration in 0.0..1.0e6f64,
    ) {
        let mut f = facts();
        f.cluster_name = cluster;
        f.duration_seconds = duration;
        f.timestamp = jiff::Timestamp::new(secs, nanos).unwrap();
        let report = build_report(results, f);
        let bytes = to_json(&report).unwrap();
        let back = json::parse_report(&bytes, Path::new("p.json")).unwrap();
        prop_assert_eq!(&back, &report);
        prop_assert_eq!(to_json(&back).unwrap(), bytes);
        // Every renderer copes with whatever the strings hold.
        prop_assert!(to_markdown(&report).is_ok());
        prop_assert!(to_junit(&report).is_ok());
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::parse_report(&bytes, Path::new("junk.json"));
    }

    #[test]
    fn inline_markdown_never_opens_a_column_or_a_line(text in any::<String>()) {
        let out = md_inline(&text);
        prop_assert!(!out.contains('\n') && !out.contains('\r'));
        prop_assert_eq!(unescaped_pipes(&out), 0, "{}", out);
        let without_breaks = out.replace("<br>", "");
        prop_assert!(!without_breaks.contains('<') && !without_breaks.contains('>'));
    }
}
