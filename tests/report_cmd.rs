//! `aks-spot-test report` through the binary: saved `go test -json` and pytest-json-report outputs are counted
//! exactly (the expected counts are worked out here from the raw fixture, independently of the parsers), a JSON
//! report re-renders byte for byte, and a missing input exits 3 naming the file.
//!
//! Fixtures: `tests/fixtures/outputs/*` (made by `tests/fixtures/outputs/regen.sh` with the real Go and pytest).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/outputs").join(name)
}

/// Runs the binary with no user config, so only the command line decides.
fn run(args: &[&std::ffi::OsStr], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aks-spot-test"))
        .args(args)
        .current_dir(cwd)
        .env_remove("AKS_SPOT_TEST_CONFIG")
        .env_remove("KUBECONFIG")
        .output()
        .expect("the binary runs")
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The single JSON report under `dir`.
fn json_report(dir: &Path) -> (PathBuf, Value) {
    let reports: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("output dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(reports.len(), 1, "one JSON report in {}: {reports:?}", dir.display());
    let body = std::fs::read_to_string(&reports[0]).expect("read report");
    let value = serde_json::from_str(&body).expect("the report is JSON");
    (reports[0].clone(), value)
}

fn report_from(flag: &str, input: &Path) -> (Output, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let out = run(
        &[
            "report".as_ref(),
            flag.as_ref(),
            input.as_os_str(),
            "--output-dir".as_ref(),
            out_dir.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        dir.path(),
    );
    let (_, report) = json_report(&out_dir);
    (out, report, dir)
}

fn summary(report: &Value) -> (u64, u64, u64, u64) {
    let s = &report["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("summary.{k}: {s}"));
    (n("total_tests"), n("passed"), n("failed"), n("skipped"))
}

fn results(report: &Value) -> &Vec<Value> {
    report["test_results"].as_array().expect("test_results")
}

/// What a `go test -json` stream says, read straight from the lines.
#[derive(Debug, Default)]
struct GoExpect {
    passed: BTreeSet<(String, String)>,
    skipped: BTreeSet<(String, String)>,
    failed: BTreeSet<(String, String)>,
    /// Tests with a `run` event and no `pass`/`fail`/`skip` (cut off by a timeout or crash, or, before Go 1.20,
    /// mis-framed by output that looks like test2json's own lines).
    unfinished: BTreeSet<(String, String)>,
    /// Terminal events for a test that never had a `run` event: Go 1.19's test2json framing a test's printed
    /// `--- FAIL: TestImaginary` as a real result. Not tests, so not counted.
    phantom: BTreeSet<(String, String)>,
    /// Packages that failed (JSON package-level `fail`, or Go ≤1.23's plain `FAIL\t<pkg> [build failed]`).
    failed_packages: BTreeSet<String>,
}

fn go_expect(raw: &str) -> GoExpect {
    let mut e = GoExpect::default();
    for line in raw.lines() {
        let Ok(Value::Object(ev)) = serde_json::from_str::<Value>(line) else {
            if let Some(rest) = line.strip_prefix("FAIL\t") {
                if rest.ends_with("[build failed]") || rest.ends_with("[setup failed]") {
                    e.failed_packages.insert(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
            continue;
        };
        let action = ev.get("Action").and_then(Value::as_str).unwrap_or("");
        let package = ev.get("Package").and_then(Value::as_str).unwrap_or("").to_string();
        match ev.get("Test").and_then(Value::as_str) {
            Some(test) => {
                let key = (package, test.to_string());
                match action {
                    "pass" => e.passed.insert(key),
                    "skip" => e.skipped.insert(key),
                    "fail" => e.failed.insert(key),
                    "run" => e.unfinished.insert(key),
                    _ => false,
                };
            }
            None if action == "fail" => {
                e.failed_packages.insert(package);
            }
            None => {}
        }
    }
    let ran = e.unfinished.clone();
    for set in [&mut e.passed, &mut e.skipped, &mut e.failed] {
        let phantom: Vec<_> = set.iter().filter(|k| !ran.contains(*k)).cloned().collect();
        for k in phantom {
            set.remove(&k);
            e.phantom.insert(k);
        }
    }
    for done in e.passed.iter().chain(&e.skipped).chain(&e.failed) {
        e.unfinished.remove(done);
    }
    e
}

fn check_terratest_fixture(name: &str) {
    let input = fixture(name);
    let raw = std::fs::read_to_string(&input).expect("fixture");
    let expect = go_expect(&raw);
    if !name.starts_with("go119-fx") {
        assert!(expect.phantom.is_empty(), "{name}: {:?}", expect.phantom);
    }
    assert!(!expect.passed.is_empty(), "{name}: the fixture has passing tests");
    let (out, report, _dir) = report_from("--terratest", &input);
    let (total, passed, failed, skipped) = summary(&report);
    println!("{name}: total {total}, passed {passed}, failed {failed}, skipped {skipped}; expected {expect:?}");

    // Exact when every test finished; an unfinished test may be judged either way from its output.
    let slack = expect.unfinished.len() as u64;
    let (want_pass, want_skip) = (expect.passed.len() as u64, expect.skipped.len() as u64);
    assert!((want_pass..=want_pass + slack).contains(&passed), "{name}: passed {passed}, expected {want_pass}+{slack}");
    assert!((want_skip..=want_skip + slack).contains(&skipped), "{name}: skipped");
    assert_eq!(total, passed + failed + skipped, "{name}: total");
    let status_of = |pkg: &str, test: &str| -> Vec<String> {
        results(&report)
            .iter()
            .filter(|r| r["suite"] == pkg && r["test_id"] == test)
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for (pkg, test) in &expect.passed {
        assert_eq!(status_of(pkg, test), ["PASS"], "{name}: {pkg} {test}");
    }
    for (pkg, test) in &expect.skipped {
        assert_eq!(status_of(pkg, test), ["SKIP"], "{name}: {pkg} {test}");
    }
    for (pkg, test) in &expect.failed {
        assert_eq!(status_of(pkg, test), ["FAIL"], "{name}: {pkg} {test}");
    }
    let packages_with_failing_test: BTreeSet<&str> = expect.failed.iter().map(|(p, _)| p.as_str()).collect();
    for pkg in &expect.failed_packages {
        if packages_with_failing_test.contains(pkg.as_str()) {
            continue;
        }
        let fails = results(&report).iter().filter(|r| r["suite"] == pkg.as_str() && r["status"] == "FAIL").count();
        assert!(fails >= 1, "{name}: package {pkg} failed without a failing test but has no FAIL entry");
    }
    let expected_exit = if failed > 0 { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(expected_exit), "{name}: {}", text(&out));
}

#[test]
fn terratest_go127_stdlib_counts_every_test() {
    assert!(
        go_expect(&std::fs::read_to_string(fixture("go127-stdlib.stdout")).expect("fixture")).unfinished.is_empty()
    );
    check_terratest_fixture("go127-stdlib.stdout");
}

#[test]
fn terratest_go119_stdlib_counts_every_test() {
    assert!(
        go_expect(&std::fs::read_to_string(fixture("go119-stdlib.stdout")).expect("fixture")).unfinished.is_empty()
    );
    check_terratest_fixture("go119-stdlib.stdout");
}

#[test]
fn terratest_go127_failures_timeouts_and_build_failures() {
    check_terratest_fixture("go127-fx.stdout");
}

#[test]
fn terratest_go119_plain_text_build_failures() {
    check_terratest_fixture("go119-fx.stdout");
}

/// What a pytest-json-report file says, by the project's rules: xpassed is a pass, xfailed a skip, an `error`
/// (setup or teardown) a failure, a failed collector a failure, and a test with setup but no call phase was cut
/// off by the interruption.
#[derive(Debug, Default)]
struct PyExpect {
    passed: BTreeSet<String>,
    skipped: BTreeSet<String>,
    failed: BTreeSet<String>,
    failed_collectors: BTreeSet<String>,
    /// pytest's exit code 2: the run was interrupted, which is a failure of its own.
    interrupted: bool,
}

fn py_expect(doc: &Value) -> PyExpect {
    let mut e = PyExpect { interrupted: doc["exitcode"] == 2, ..PyExpect::default() };
    for t in doc["tests"].as_array().into_iter().flatten() {
        let nodeid = t["nodeid"].as_str().expect("nodeid").to_string();
        let ran_call = t.get("call").is_some();
        match t["outcome"].as_str().expect("outcome") {
            "passed" | "xpassed" if ran_call => e.passed.insert(nodeid),
            "passed" => e.failed.insert(nodeid),
            "skipped" | "xfailed" => e.skipped.insert(nodeid),
            "failed" | "error" => e.failed.insert(nodeid),
            other => panic!("outcome {other} not covered by this test"),
        };
    }
    for c in doc["collectors"].as_array().into_iter().flatten() {
        if c["outcome"] == "failed" {
            e.failed_collectors.insert(c["nodeid"].as_str().expect("nodeid").to_string());
        }
    }
    e
}

fn check_pytest_fixture(name: &str, must_cover: &[&str]) {
    let input = fixture(name);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&input).expect("fixture")).expect("fixture JSON");
    let expect = py_expect(&doc);
    let (out, report, _dir) = report_from("--pytest", &input);
    let (total, passed, failed, skipped) = summary(&report);
    println!("{name}: total {total}, passed {passed}, failed {failed}, skipped {skipped}; expected {expect:?}");

    assert_eq!(passed, expect.passed.len() as u64, "{name}: passed");
    assert_eq!(skipped, expect.skipped.len() as u64, "{name}: skipped");
    let want_failed = expect.failed.len() + expect.failed_collectors.len() + usize::from(expect.interrupted);
    assert_eq!(failed, want_failed as u64, "{name}: failed");
    assert_eq!(total, passed + failed + skipped, "{name}: total");
    let status_of = |nodeid: &str| -> Vec<String> {
        results(&report)
            .iter()
            // The test id may come from the test's own properties; the reproduce command always names the node.
            .filter(|r| {
                r["reproduce_commands"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| *c == format!("pytest '{nodeid}'").as_str()))
            })
            .map(|r| r["status"].as_str().unwrap_or("").to_string())
            .collect()
    };
    for id in &expect.passed {
        assert_eq!(status_of(id), ["PASS"], "{name}: {id}");
    }
    for id in &expect.skipped {
        assert_eq!(status_of(id), ["SKIP"], "{name}: {id}");
    }
    for id in &expect.failed {
        assert_eq!(status_of(id), ["FAIL"], "{name}: {id}");
    }
    for collector in &expect.failed_collectors {
        let hit = results(&report).iter().any(|r| r["suite"] == collector.as_str() && r["status"] == "FAIL");
        assert!(hit, "{name}: collection error in {collector} has no FAIL entry");
    }
    let raw: BTreeSet<&str> =
        results(&report).iter().filter(|r| r["status"] == "FAIL").filter_map(|r| r["raw_status"].as_str()).collect();
    if expect.interrupted {
        let run_entry = results(&report).iter().any(|r| r["raw_status"] == "interrupted" && r["status"] == "FAIL");
        assert!(run_entry, "{name}: the interruption has no FAIL entry");
    }
    for want in must_cover {
        assert!(raw.contains(want), "{name}: no FAIL with raw status {want}: {raw:?}");
    }
    assert_eq!(out.status.code(), Some(if failed > 0 { 1 } else { 0 }), "{name}: {}", text(&out));
}

#[test]
fn pytest_main_outcomes_collection_setup_teardown_xfail_xpass() {
    check_pytest_fixture("pytest-main.report.json", &["collection-error", "error", "failed"]);
    // The fixture holds each outcome kind this test is about.
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("pytest-main.report.json")).expect("fixture"))
            .expect("JSON");
    let outcomes: BTreeSet<&str> =
        doc["tests"].as_array().expect("tests").iter().filter_map(|t| t["outcome"].as_str()).collect();
    for kind in ["passed", "failed", "skipped", "xfailed", "xpassed", "error"] {
        assert!(outcomes.contains(kind), "fixture lacks {kind}");
    }
}

#[test]
fn pytest_collection_interrupted() {
    check_pytest_fixture("pytest-collect-interrupted.report.json", &["collection-error"]);
}

#[test]
fn pytest_keyboard_interrupt() {
    check_pytest_fixture("pytest-keyboard-interrupt.report.json", &["interrupted"]);
}

#[test]
fn rerendering_a_json_report_is_byte_identical() {
    let (_, _, dir) = report_from("--pytest", &fixture("pytest-main.report.json"));
    let (first, _) = json_report(&dir.path().join("out"));
    let again = dir.path().join("again");
    let out = run(
        &[
            "report".as_ref(),
            first.as_os_str(),
            "--output-dir".as_ref(),
            again.as_os_str(),
            "--format".as_ref(),
            "json".as_ref(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "the report has failures: {}", text(&out));
    let (second, _) = json_report(&again);
    let a = std::fs::read(&first).expect("first");
    let b = std::fs::read(&second).expect("second");
    assert!(a == b, "re-rendered JSON differs:\n{}\n---\n{}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
}

#[test]
fn missing_inputs_exit_3_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-output.json");
    let out_dir = dir.path().join("out");
    let mut by_flag: BTreeMap<&str, Option<i32>> = BTreeMap::new();
    for flag in [None, Some("--terratest"), Some("--pytest"), Some("--bash")] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["report".as_ref()];
        args.extend(flag.map(<str as AsRef<std::ffi::OsStr>>::as_ref));
        args.extend([missing.as_os_str(), "--output-dir".as_ref(), out_dir.as_os_str()]);
        let out = run(&args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&missing.display().to_string()), "{flag:?}: {}", text(&out));
        by_flag.insert(flag.unwrap_or("REPORT"), out.status.code());
    }
    assert!(by_flag.values().all(|c| *c == Some(3)), "{by_flag:?}");
    assert!(!out_dir.exists(), "nothing is written for a missing input");
}

#[test]
fn a_truncated_json_report_exits_3_naming_file_and_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("test-report-cut.json");
    std::fs::write(&bad, "{\n  \"schema_version\": 1,\n  \"run_id\": ").expect("write");
    let out_dir = dir.path().join("out");
    let out = run(&["report".as_ref(), bad.as_os_str(), "--output-dir".as_ref(), out_dir.as_os_str()], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(stderr.contains(&bad.display().to_string()) && stderr.contains("line 3"), "{stderr}");
    assert!(!out_dir.exists(), "nothing is written for a broken input");
}
