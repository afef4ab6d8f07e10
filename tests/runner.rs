//! Runs the fixture suites through `run_suite` with the real `bash`, `go` and `pytest`.
//!
//! Tools come from `PATH` as `hack/test.sh` sets it (the venv with pytest and Go 1.27 first);
//! `AKS_SPOT_TEST_GO119` names Debian's Go 1.19. A test whose tool is absent says so and returns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aks_spot_test::config::schema::SuiteConfig;
use aks_spot_test::report::model::Framework;
use aks_spot_test::suites::command::find_on_path;
use aks_spot_test::suites::{Prepared, SpecInputs, SuiteSpec, prepare_suite, run_suite};
use tokio_util::sync::CancellationToken;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn have(tool: &str) -> bool {
    let found = find_on_path(tool, &std::env::var_os("PATH").unwrap_or_default()).is_some();
    if !found {
        eprintln!("SKIPPED: {tool} not on PATH (hack/test.sh puts it there)");
    }
    found
}

/// A per-test scratch dir holding the log dir and a `.env` with `env_lines`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(env_lines: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("suite.env"), env_lines).expect("write .env");
        Scratch { dir }
    }

    fn inputs(&self) -> SpecInputs {
        SpecInputs {
            base_dir: root(),
            log_dir: self.dir.path().join("logs"),
            kubeconfig: vec![self.dir.path().join("kubeconfig")],
            search_path: None,
        }
    }

    fn config(&self, working_dir: &str, timeout: Duration, args: &[&str]) -> SuiteConfig {
        SuiteConfig {
            working_dir: working_dir.into(),
            env_file: self.dir.path().join("suite.env"),
            timeout_minutes: timeout.as_secs_f64() / 60.0,
            kill_grace_seconds: 1,
            venv_path: None,
            args: args.iter().map(|a| a.to_string()).collect(),
            ..SuiteConfig::default()
        }
    }
}

fn ready(p: Prepared) -> SuiteSpec {
    match p {
        Prepared::Ready { spec, .. } => spec,
        Prepared::MissingTool(m) => panic!("unexpected missing tool: {m}"),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A number no other process on the machine will pass to `sleep`.
fn unique_seconds() -> String {
    format!("{}", 900_000 + std::process::id() % 90_000 + rand_suffix())
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_micros() % 9_000).unwrap_or(0)
}

/// Processes whose command line is `sleep <secs>`.
fn sleeps_left(secs: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.len() >= 2 && args[0].ends_with(b"sleep") && args[1] == secs.as_bytes() {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[tokio::test]
async fn bash_fixture_suite_runs_every_script_and_gets_dotenv_vars() {
    if !have("bash") {
        return;
    }
    let s = Scratch::new("# from the suite's .env\nexport FIXTURE_MARKER='from dotenv'\n");
    let cfg = s.config("tests/fixtures/suites/bash", Duration::from_secs(120), &[]);
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let results = spec.results_dir.as_ref().expect("bash results dir");
    std::fs::create_dir_all(results).expect("mkdir");
    std::fs::write(results.join("STALE-001.json"), "{}").expect("stale result");
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");

    assert_eq!(run.exit.code, Some(1), "failing scripts make run-all-tests exit 1\n{}", run.output_tail);
    assert!(!run.exit.timed_out);
    let stdout = read(&spec.stdout_log);
    assert!(stdout.contains("### SUMMARY scripts=7 failed=3"), "{stdout}");
    assert!(run.output_tail.contains("### SUMMARY"), "tail holds the output");

    let mut files: Vec<String> = std::fs::read_dir(results)
        .expect("results dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected: Vec<String> = (1..=7).map(|i| format!("FIX-00{i}.json")).collect();
    assert_eq!(files, expected);

    let status = |id: &str| -> serde_json::Value {
        serde_json::from_str(&read(&results.join(format!("{id}.json")))).expect("valid JSON")
    };
    let pass = status("FIX-001");
    assert_eq!(pass["status"], "PASS");
    assert_eq!(pass["evidence"]["env_marker"], "from dotenv");
    assert_eq!(pass["name"], "Passing test with \"quotes\" and \\ backslash");
    assert_eq!(status("FIX-002")["status"], "FAIL");
    assert_eq!(status("FIX-002")["assertions"][0]["passed"], false);
    assert_eq!(status("FIX-003")["status"], "SKIP");
    let died = status("FIX-004");
    assert_eq!(died["status"], "FAIL");
    assert_eq!(died["error_message"], "script exited with status 1 before finish_test");
    assert_eq!(status("FIX-005")["status"], "RUNNING");
    assert!(serde_json::from_str::<serde_json::Value>(&read(&results.join("FIX-006.json"))).is_err());
    assert_eq!(status("FIX-007")["status"], "PASS");
}

#[tokio::test]
async fn hanging_suite_is_killed_with_its_children_and_the_next_suite_still_runs() {
    if !have("bash") {
        return;
    }
    let secs = unique_seconds();
    let s = Scratch::new(&format!("FIXTURE_HANG=1\nFIXTURE_HANG_SECONDS={secs}\nTEST_FILTER=FIX-007\n"));
    let cfg = s.config("tests/fixtures/suites/bash", Duration::from_secs(2), &[]);
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");

    assert!(run.exit.timed_out, "{:?}", run.exit);
    assert!(!run.cancelled);
    assert!(run.exit.failed());
    assert_eq!(sleeps_left(&secs), Vec::<String>::new(), "children of the hung suite survived");
    assert!(read(&spec.stdout_log).contains("hanging with children"));
    assert!(run.output_tail.contains("timed out"), "{}", run.output_tail);

    // The next suite runs normally afterwards.
    let s2 = Scratch::new("TEST_FILTER=FIX-001\n");
    let cfg = s2.config("tests/fixtures/suites/bash", Duration::from_secs(120), &[]);
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s2.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert_eq!(run.exit.code, Some(0), "{}", run.output_tail);
}

#[tokio::test]
async fn cancel_kills_the_group() {
    if !have("bash") {
        return;
    }
    let secs = unique_seconds();
    let s = Scratch::new(&format!("FIXTURE_HANG=1\nFIXTURE_HANG_SECONDS={secs}\nTEST_FILTER=FIX-007\n"));
    let cfg = s.config("tests/fixtures/suites/bash", Duration::from_secs(600), &[]);
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let log = spec.stdout_log.clone();
    tokio::spawn(async move {
        // Cancel once the suite is visibly hanging; 60 s bounds a suite that never gets there.
        for _ in 0..1200 {
            if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("hanging with children")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        trigger.cancel();
    });
    let run = run_suite(&spec, &cancel).await.expect("run");
    assert!(run.cancelled);
    assert!(run.exit.timed_out);
    assert_eq!(sleeps_left(&secs), Vec::<String>::new());
}

#[tokio::test]
async fn leftover_background_children_are_reaped_after_a_normal_exit() {
    if !have("bash") {
        return;
    }
    let secs = unique_seconds();
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("leave.sh"), format!("sleep {secs} &\necho started child\nexit 0\n"))
        .expect("script");
    let s = Scratch::new("");
    let mut cfg = s.config("unused", Duration::from_secs(120), &["leave.sh"]);
    cfg.working_dir = work.path().to_path_buf();
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert_eq!(run.exit.code, Some(0));
    assert!(!run.exit.timed_out);
    assert_eq!(read(&spec.stdout_log), "started child\n");
    assert_eq!(sleeps_left(&secs), Vec::<String>::new());
}

#[tokio::test]
async fn large_output_streams_to_the_log_and_only_the_tail_is_kept() {
    if !have("bash") {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    // 32 MiB to stdout, a marker last on stderr.
    std::fs::write(work.path().join("loud.sh"), "head -c 33554432 /dev/zero | tr '\\0' x\necho END-OF-OUTPUT >&2\n")
        .expect("script");
    let s = Scratch::new("");
    let mut cfg = s.config("unused", Duration::from_secs(120), &["loud.sh"]);
    cfg.working_dir = work.path().to_path_buf();
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert_eq!(run.exit.code, Some(0));
    assert_eq!(std::fs::metadata(&spec.stdout_log).expect("log").len(), 33_554_432);
    assert_eq!(read(&spec.stderr_log), "END-OF-OUTPUT\n");
    assert!(run.output_tail.len() <= aks_spot_test::suites::runner::OUTPUT_TAIL_BYTES + 100);
    assert!(run.output_tail.ends_with("xxx\n--- stderr ---\nEND-OF-OUTPUT\n"), "{}", &run.output_tail[32_000..]);
}

async fn run_go_fixture(go_dir: &Path) {
    let s = Scratch::new("FIXTURE_MARKER=go-dotenv-marker\n");
    let cfg = s.config("tests/fixtures/suites/go", Duration::from_secs(300), &[]);
    let mut inputs = s.inputs();
    inputs.search_path = Some(go_dir.as_os_str().to_owned());
    let spec = ready(prepare_suite(Framework::Terratest, &cfg, &inputs).expect("prepare"));
    let mut spec = spec;
    // No module proxy here, and a writable cache wherever HOME is.
    spec.env.push(("GOPROXY".into(), "off".into()));
    spec.env.push(("GOFLAGS".into(), "-mod=mod".into()));
    spec.env.push(("GOTOOLCHAIN".into(), "local".into()));
    if std::env::var_os("GOCACHE").is_none() {
        spec.env.push(("GOCACHE".into(), std::env::temp_dir().join("aks-spot-test-gocache").display().to_string()));
    }
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert_eq!(run.exit.code, Some(1), "{}", run.output_tail);
    let stdout = read(&spec.stdout_log);
    let events: Vec<serde_json::Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let action = |test: &str| {
        events
            .iter()
            .filter(|e| e["Test"] == test && ["pass", "fail", "skip"].contains(&e["Action"].as_str().unwrap_or("")))
            .map(|e| e["Action"].as_str().unwrap_or("").to_string())
            .next_back()
    };
    assert_eq!(action("TestPass").as_deref(), Some("pass"));
    assert_eq!(action("TestFail").as_deref(), Some("fail"));
    assert_eq!(action("TestSkip").as_deref(), Some("skip"));
    assert_eq!(action("TestSubtests/zone_1").as_deref(), Some("pass"));
    assert_eq!(action("TestSubtests/zone_2_fails").as_deref(), Some("fail"));
    assert_eq!(action("TestHang").as_deref(), Some("skip"));
    assert!(stdout.contains("env marker: go-dotenv-marker"), "the .env reaches go test");
}

#[tokio::test]
async fn go_fixture_suite_with_current_go() {
    let Some(go) = find_on_path("go", &std::env::var_os("PATH").unwrap_or_default()) else {
        eprintln!("SKIPPED: go not on PATH (hack/test.sh puts Go 1.27 there)");
        return;
    };
    run_go_fixture(go.parent().expect("go's dir")).await;
}

#[tokio::test]
async fn go_fixture_suite_with_go_1_19() {
    let Some(go) = std::env::var_os("AKS_SPOT_TEST_GO119").map(PathBuf::from).filter(|p| p.exists()) else {
        eprintln!("SKIPPED: AKS_SPOT_TEST_GO119 unset or missing (hack/test.sh sets it)");
        return;
    };
    run_go_fixture(go.parent().expect("go's dir")).await;
}

fn pytest_available() -> bool {
    if !have("python3") {
        return false;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import pytest, pytest_jsonreport"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: python3 lacks pytest / pytest-json-report (hack/test.sh provides them)");
    }
    ok
}

#[tokio::test]
async fn pytest_fixture_suite_writes_its_json_report_with_result_writer_properties() {
    if !pytest_available() {
        return;
    }
    let s = Scratch::new("FIXTURE_MARKER=py-dotenv-marker\nPYTHONDONTWRITEBYTECODE=1\n");
    let cfg = s.config("tests/fixtures/suites/pytest", Duration::from_secs(120), &["-p", "no:cacheprovider"]);
    let spec = ready(prepare_suite(Framework::Python, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert_eq!(run.exit.code, Some(1), "{}", run.output_tail);
    let report: serde_json::Value =
        serde_json::from_str(&read(spec.report_file.as_ref().expect("report file"))).expect("pytest JSON report");
    let outcome = |name: &str| {
        report["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .find(|t| t["nodeid"].as_str().is_some_and(|n| n.ends_with(&format!("::{name}"))))
            .unwrap_or_else(|| panic!("{name} in report"))
            .clone()
    };
    assert_eq!(outcome("test_pass")["outcome"], "passed");
    assert_eq!(outcome("test_fail")["outcome"], "failed");
    assert_eq!(outcome("test_skip")["outcome"], "skipped");
    assert_eq!(outcome("test_setup_error")["outcome"], "error");
    assert_eq!(outcome("test_xfail")["outcome"], "xfailed");
    assert_eq!(outcome("test_raises_before_finish")["outcome"], "failed");
    assert_eq!(outcome("test_hang")["outcome"], "skipped");

    let props = outcome("test_pass")["user_properties"].clone();
    assert_eq!(props[0]["test_id"], "PYFIX-001");
    let evidence = props.as_array().expect("list").iter().find_map(|p| p.get("evidence")).expect("evidence");
    assert_eq!(evidence["env_marker"], "py-dotenv-marker");
    let failed = outcome("test_fail");
    let assertions = failed["user_properties"]
        .as_array()
        .expect("list")
        .iter()
        .find_map(|p| p.get("assertions"))
        .expect("assertions")
        .clone();
    assert_eq!(assertions[0]["passed"], false);
    // Recorded by the fixture's teardown although the body raised first.
    let raised = outcome("test_raises_before_finish")["user_properties"].clone();
    assert!(raised.as_array().expect("list").iter().any(|p| p.get("assertions").is_some()), "{raised}");
}

#[tokio::test]
async fn pytest_hang_is_killed_at_the_timeout() {
    if !pytest_available() {
        return;
    }
    let s = Scratch::new("FIXTURE_HANG=1\nPYTHONDONTWRITEBYTECODE=1\n");
    let cfg = s.config(
        "tests/fixtures/suites/pytest",
        Duration::from_secs(3),
        &["-p", "no:cacheprovider", "-k", "test_hang"],
    );
    let spec = ready(prepare_suite(Framework::Python, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert!(run.exit.timed_out, "{:?}\n{}", run.exit, run.output_tail);
}

#[tokio::test]
async fn missing_tool_is_reported_not_run() {
    let s = Scratch::new("");
    let empty = tempfile::tempdir().expect("tempdir");
    let mut inputs = s.inputs();
    inputs.search_path = Some(empty.path().as_os_str().to_owned());
    let cfg = s.config("tests/fixtures/suites/go", Duration::from_secs(60), &[]);
    match prepare_suite(Framework::Terratest, &cfg, &inputs).expect("prepare") {
        Prepared::MissingTool(m) => assert_eq!(m.to_string(), "go not found on PATH (install Go and put it on PATH)"),
        other => panic!("expected a missing tool, got {other:?}"),
    }
}

/// Every character Bash can hold (all but NUL) must survive `common.sh`'s pure-Bash JSON escaping.
#[test]
fn bash_lib_escapes_every_character_into_valid_json() {
    if !have("bash") {
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let mut nasty: String = (1u8..128).map(char::from).collect();
    nasty.push_str("é ü 中文 🚀 \u{2028} & < > ${HOME} $(id) `id` %s %d \\n");
    std::fs::write(work.path().join("nasty.txt"), &nasty).expect("write");
    let lib = root().join("tests/suites/spot-behavior/lib/common.sh");
    let script = format!(
        "set -euo pipefail\nsource '{}'\nv=$(cat nasty.txt; printf x); v=${{v%x}}\n\
         start_test 'ESC/001 id' \"$v\" cat\nadd_evidence \"$v\" \"$v\"\nassert_eq \"$v\" \"$v\" \"$v\"\n\
         add_reproduce \"$v\"\nfinish_test\n",
        lib.display()
    );
    std::fs::write(work.path().join("t.sh"), script).expect("write");
    let out = std::process::Command::new("bash")
        .arg("t.sh")
        .current_dir(work.path())
        .env("RESULTS_DIR", work.path().join("results"))
        .output()
        .expect("run bash");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The id becomes a safe file name; the JSON keeps it as given.
    let text = read(&work.path().join("results/ESC_001_id.json"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON {e}: {text}"));
    assert_eq!(v["test_id"], "ESC/001 id");
    assert_eq!(v["status"], "PASS");
    assert_eq!(v["name"], nasty.as_str());
    assert_eq!(v["evidence"][nasty.as_str()], nasty.as_str());
    assert_eq!(v["assertions"][0]["expected"], nasty.as_str());
    assert_eq!(v["assertions"][0]["passed"], true);
    assert_eq!(v["reproduce_commands"][0], nasty.as_str());
    assert!(v["duration_seconds"].is_number());
    assert!(v["finished_at"].is_string());
}

#[tokio::test]
async fn a_suite_ignoring_sigterm_gets_sigkill_after_the_grace() {
    if !have("bash") {
        return;
    }
    let secs = unique_seconds();
    let work = tempfile::tempdir().expect("tempdir");
    // An ignored signal stays ignored across exec, so the sleep ignores SIGTERM too.
    std::fs::write(work.path().join("stubborn.sh"), format!("trap '' TERM\necho ready\nsleep {secs}\n"))
        .expect("script");
    let s = Scratch::new("");
    let mut cfg = s.config("unused", Duration::from_secs(1), &["stubborn.sh"]);
    cfg.working_dir = work.path().to_path_buf();
    let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
    let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
    assert!(run.exit.timed_out);
    assert_eq!(run.exit.signal, Some(9), "{:?}", run.exit);
    assert_eq!(run.exit.code, None);
    assert_eq!(sleeps_left(&secs), Vec::<String>::new());
}

/// The contract with the parsers: what the runner leaves behind parses into the expected entries.
#[tokio::test]
async fn runner_outputs_parse_into_the_expected_results() {
    use aks_spot_test::report::model::Status;
    use aks_spot_test::suites::ParseContext;
    use aks_spot_test::suites::bash::{parse_bash_results, read_results_dir};
    use aks_spot_test::suites::pytest::parse_pytest_report;

    let ctx = ParseContext { categories: Default::default(), working_dir: None };
    let statuses = |p: &aks_spot_test::suites::ParsedSuite| -> Vec<(String, Status)> {
        let mut v: Vec<_> = p.results.iter().map(|r| (r.test_id.clone(), r.status)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };

    if have("bash") {
        let s = Scratch::new("");
        let cfg = s.config("tests/fixtures/suites/bash", Duration::from_secs(120), &[]);
        let spec = ready(prepare_suite(Framework::Bash, &cfg, &s.inputs()).expect("prepare"));
        let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
        let files = read_results_dir(spec.results_dir.as_ref().expect("results dir")).expect("results");
        let parsed = parse_bash_results(&files, &run.output_tail, Some(&run.exit), &ctx);
        let want: Vec<(String, Status)> = [
            ("FIX-001", Status::Pass),
            ("FIX-002", Status::Fail),
            ("FIX-003", Status::Skip),
            ("FIX-004", Status::Fail),
            ("FIX-005", Status::Fail),
            ("FIX-006", Status::Fail),
            ("FIX-007", Status::Pass),
        ]
        .iter()
        .map(|(id, st)| (id.to_string(), *st))
        .collect();
        assert_eq!(statuses(&parsed), want, "{parsed:#?}");
    }

    if pytest_available() {
        let s = Scratch::new("PYTHONDONTWRITEBYTECODE=1\n");
        let cfg = s.config("tests/fixtures/suites/pytest", Duration::from_secs(120), &["-p", "no:cacheprovider"]);
        let spec = ready(prepare_suite(Framework::Python, &cfg, &s.inputs()).expect("prepare"));
        let run = run_suite(&spec, &CancellationToken::new()).await.expect("run");
        let report = std::fs::read(spec.report_file.as_ref().expect("report")).expect("report written");
        let parsed = parse_pytest_report(Some(&report), &run.output_tail, Some(&run.exit), &ctx);
        let got = statuses(&parsed);
        let status_of = |id: &str| got.iter().find(|(t, _)| t == id).map(|(_, s)| *s);
        assert_eq!(status_of("PYFIX-001"), Some(Status::Pass), "{got:?}");
        assert_eq!(status_of("PYFIX-002"), Some(Status::Fail), "{got:?}");
        assert_eq!(status_of("PYFIX-003"), Some(Status::Skip), "{got:?}");
        assert_eq!(status_of("PYFIX-006"), Some(Status::Fail), "{got:?}");
        // The setup error never reached start_test: it keeps its node id, and fails.
        assert!(
            parsed.results.iter().any(|r| r.test_id.ends_with("test_setup_error") && r.status == Status::Fail),
            "{got:?}"
        );
    }
}
