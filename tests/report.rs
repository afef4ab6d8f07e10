//! The report domain end to end: a realistic report built from fixtures, its Markdown, JUnit and
//! JSON (insta snapshots), JSON round-trips, hostile test ids, and the file writer.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use aks_spot_test::config::schema::ReportFormat;
use aks_spot_test::report::console::render_console;
use aks_spot_test::report::model::{
    ClusterSnapshot, ClusterState, EvictionEvent, EvictionMonitoring, Framework, Remediation, RemediationAction,
    TestReport, TestResult,
};
use aks_spot_test::report::text::md_inline;
use aks_spot_test::report::{
    ReportError, WriteOutcome, build_report, json, read_report, to_json, to_junit, to_markdown, write_reports,
};
use fixtures::{TestResultBuilder, facts, realistic_report};
use proptest::prelude::*;

/// Fixtures as builders, in the style of controller-rs: each test states only what it cares about.
mod fixtures {
    use std::collections::BTreeMap;

    use aks_spot_test::report::RunFacts;
    use aks_spot_test::report::model::{Assertion, CheckStatus, PreflightCheck, Status, SuiteRun};
    use serde_json::Value;

    use super::*;

    #[derive(Debug, Clone)]
    pub struct TestResultBuilder(TestResult);

    impl TestResultBuilder {
        pub fn new(test_id: &str) -> Self {
            TestResultBuilder(TestResult {
                test_id: test_id.to_string(),
                name: test_id.to_string(),
                category: "uncategorised".to_string(),
                framework: Framework::Bash,
                suite: "tests/spot-behavior/run-all-tests.sh".to_string(),
                status: Status::Pass,
                raw_status: "pass".to_string(),
                duration_seconds: 1.0,
                error_message: None,
                assertions: vec![],
                evidence: BTreeMap::new(),
                reproduce_commands: vec![],
                output: None,
            })
        }
        pub fn terratest(mut self) -> Self {
            self.0.framework = Framework::Terratest;
            self.0.suite = "github.com/example/aks-spot/test".to_string();
            self.0.category = "infrastructure".to_string();
            self
        }
        pub fn bash(mut self) -> Self {
            self.0.framework = Framework::Bash;
            self.0.suite = "tests/spot-behavior/run-all-tests.sh".to_string();
            self
        }
        pub fn python(mut self) -> Self {
            self.0.framework = Framework::Python;
            self.0.suite = "tests/spot-behavior-python/test_vmss.py".to_string();
            self.0.raw_status = "passed".to_string();
            self
        }
        pub fn name(mut self, name: &str) -> Self {
            self.0.name = name.to_string();
            self
        }
        pub fn category(mut self, category: &str) -> Self {
            self.0.category = category.to_string();
            self
        }
        pub fn duration(mut self, seconds: f64) -> Self {
            self.0.duration_seconds = seconds;
            self
        }
        pub fn fail(mut self, message: &str) -> Self {
            self.0.status = Status::Fail;
            self.0.raw_status = if self.0.framework == Framework::Python { "failed" } else { "fail" }.to_string();
            self.0.error_message = Some(message.to_string());
            self
        }
        pub fn skip(mut self, reason: &str) -> Self {
            self.0.status = Status::Skip;
            self.0.raw_status = if self.0.framework == Framework::Python { "skipped" } else { "skip" }.to_string();
            self.0.error_message = Some(reason.to_string());
            self
        }
        /// The framework's own outcome word, e.g. `error`, `build-fail`, `timeout`.
        pub fn raw(mut self, raw_status: &str) -> Self {
            self.0.raw_status = raw_status.to_string();
            self
        }
        pub fn reproduce(mut self, command: &str) -> Self {
            self.0.reproduce_commands.push(command.to_string());
            self
        }
        pub fn assertion(mut self, description: &str, expected: Value, actual: Value) -> Self {
            let passed = expected == actual;
            self.0.assertions.push(Assertion { description: description.to_string(), expected, actual, passed });
            self
        }
        pub fn evidence(mut self, key: &str, value: Value) -> Self {
            self.0.evidence.insert(key.to_string(), value);
            self
        }
        pub fn output(mut self, output: &str) -> Self {
            self.0.output = Some(output.to_string());
            self
        }
        pub fn build(self) -> TestResult {
            self.0
        }
    }

    fn ts(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    fn snapshot(at: &str, nodes: u64, ready: u64, spot: u64, pods: u64, pending: u64) -> ClusterSnapshot {
        ClusterSnapshot {
            timestamp: Some(ts(at)),
            total_nodes: nodes,
            ready_nodes: ready,
            spot_nodes: spot,
            total_pods: pods,
            pending_pods: pending,
            node_pool_counts: [("system".to_string(), nodes - spot), ("spotgeneral1".to_string(), spot)].into(),
            ..ClusterSnapshot::default()
        }
    }

    /// Facts of a run with fixed identity and time, so snapshots are stable.
    pub fn facts() -> RunFacts {
        RunFacts {
            run_id: "550e8400-e29b-41d4-a716-446655440000".parse().unwrap(),
            timestamp: ts("2026-02-08T14:30:22Z"),
            cluster_name: "aks-spot-prod".to_string(),
            duration_seconds: 1847.0,
            tool_version: "0.1.0".to_string(),
            ..RunFacts::default()
        }
    }

    pub fn realistic_report() -> TestReport {
        let results = vec![
            TestResultBuilder::new("DIST-001")
                .bash()
                .name("Stateless services on spot nodes")
                .category("pod-distribution")
                .duration(3.2)
                .evidence("spot_pods", serde_json::json!(12))
                .build(),
            TestResultBuilder::new("EVICT-005")
                .bash()
                .name("PDB respected during drain")
                .category("eviction-behavior")
                .duration(15.3)
                .fail(
                    "PDB violation: drain succeeded despite minAvailable=50%\nExpected: drain blocked by PDB\nActual: all pods evicted",
                )
                .reproduce("kubectl get pdb -n robot-shop web-pdb -o yaml")
                .reproduce(
                    "kubectl drain aks-spotgeneral1-12345678-vmss000001 --ignore-daemonsets --delete-emptydir-data",
                )
                .output("\u{1b}[31mFAIL\u{1b}[0m EVICT-005")
                .build(),
            TestResultBuilder::new("TestAksSpotModuleValidation").terratest().duration(2.1).build(),
            TestResultBuilder::new("TestAksSpotModulePlan/spot_pools")
                .terratest()
                .duration(5.3)
                .fail("Error: timed out waiting for plan after 5m0s")
                .raw("timeout")
                .build(),
            TestResultBuilder::new("TestAksSpotModulePlan").terratest().duration(5.4).fail("subtest failed").build(),
            TestResultBuilder::new("test_vmss.py::test_autoscale_ranges")
                .python()
                .name("VMSS-004 autoscale ranges match config")
                .category("vmss-node-pool")
                .duration(8.7)
                .fail("Autoscale range mismatch for pool 'spotmemory1'\nExpected: min=0, max=15\nActual: min=0, max=20")
                .assertion("max count of spotmemory1", serde_json::json!(15), serde_json::json!(20))
                .assertion("min count of spotmemory1", serde_json::json!(0), serde_json::json!(0))
                .reproduce("az aks nodepool show -g rg-aks-spot --cluster-name aks-spot-prod -n spotmemory1")
                .build(),
            TestResultBuilder::new("test_vmss.py::test_zone_spread")
                .python()
                .name("VMSS-006 zone spread")
                .category("vmss-node-pool")
                .duration(0.2)
                .skip("only one zone in this region")
                .build(),
            TestResultBuilder::new("DIST-004")
                .bash()
                .name("Node affinity preference")
                .category("pod-distribution")
                .duration(4.1)
                .fail("Timeout waiting for pods: 3/5 ready after 300s")
                .build(),
        ];
        let mut f = facts();
        f.cluster_state = ClusterState {
            initial: Some(snapshot("2026-02-08T14:00:00Z", 18, 17, 12, 140, 2)),
            final_: Some(ClusterSnapshot {
                not_ready_nodes: vec!["aks-spotgeneral1-12345678-vmss000004".to_string()],
                ..snapshot("2026-02-08T14:33:00Z", 19, 18, 13, 150, 0)
            }),
        };
        f.eviction_monitoring = EvictionMonitoring {
            total_evictions: 1,
            eviction_rate_per_hour: 1.95,
            watched_seconds: 1840.0,
            events: vec![EvictionEvent {
                timestamp: ts("2026-02-08T14:15:33Z"),
                node: "aks-spotgeneral1-12345678-vmss000002".to_string(),
                pool: Some("spotgeneral1".to_string()),
                zone: Some("eastus-1".to_string()),
                reason: "SpotEviction".to_string(),
                message: "Spot VM preempted".to_string(),
            }],
            per_pool: [("spotgeneral1".to_string(), 1)].into(),
            gaps: vec!["14:20:01 to 14:20:31: watch reconnecting after 410 Gone".to_string()],
        };
        f.remediation = Remediation {
            actions_taken: 1,
            vmss_ghosts_deleted: 1,
            stuck_nodes_deleted: 0,
            details: vec![RemediationAction {
                timestamp: ts("2026-02-08T14:32:10Z"),
                action_type: "delete_vmss_ghost".to_string(),
                target: "aks-spotgeneral1-12345678-vmss_3".to_string(),
                success: true,
                details: "instance Failed for 8 minutes with no node".to_string(),
                dry_run: false,
            }],
        };
        f.preflight = vec![
            PreflightCheck {
                name: "cluster reachable".to_string(),
                status: CheckStatus::Ok,
                message: "v1.33.2".to_string(),
            },
            PreflightCheck {
                name: "python .env".to_string(),
                status: CheckStatus::Warn,
                message: "missing; defaults used".to_string(),
            },
        ];
        f.suite_runs = vec![SuiteRun {
            framework: Framework::Terratest,
            command: "go test -json ./...".to_string(),
            working_dir: "tests/terratest".to_string(),
            started: ts("2026-02-08T14:00:30Z"),
            duration_seconds: 312.0,
            exit_code: Some(1),
            signal: None,
            timed_out: false,
            log_file: Some("logs/terratest.log".to_string()),
            skipped_reason: None,
        }];
        f.notes = vec!["cordon on aks-spotgeneral1-12345678-vmss000001 restored from a crashed run".to_string()];
        build_report(results, f)
    }
}

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
