//! Parser of `go test -json` output (what Terratest suites produce).
//!
//! Input: stdout of `go test -json`, one test2json object per line (`Time, Action, Package, Test, Elapsed,
//! Output`; Go ≥1.24 adds `ImportPath`, `FailedBuild` and the `build-output`/`build-fail` actions, Go ≥1.25
//! `attr` with `Key`/`Value`), mixed with plain-text lines (Go ≤1.23 prints `FAIL\t<pkg> [build failed]` on
//! stdout and the compiler errors on stderr). Streaming: a test's output is kept only while it runs and only
//! until it passes, so memory stays flat however long the stream is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;

use serde::Deserialize;
use serde_json::Value;

use crate::report::model::{Framework, Status, TestResult};
use crate::suites::classify::{
    MESSAGE_CAP, OUTPUT_CAP, ParseContext, TailBuffer, UNATTRIBUTED_CAP, cap_head, cap_tail, category_for,
    go_reproduce, synthetic_fail,
};
use crate::suites::outcome::{ParsedSuite, ProcessExit};

/// The id of the entry standing for a whole package (build failure, crash outside any test).
pub const PACKAGE_TEST_ID: &str = "(package)";

/// One test2json event; unknown fields are ignored so newer Go versions still parse.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    action: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    elapsed: Option<f64>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    import_path: Option<String>,
    #[serde(default)]
    failed_build: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Debug)]
struct RunningTest {
    output: TailBuffer,
    evidence: BTreeMap<String, Value>,
    /// Event number of its last `run` or `cont`.
    last_active: u64,
    paused: bool,
}

/// `TestA/b/c` → `TestA/b`; top-level tests share the parent `""`.
fn parent_of(test: &str) -> &str {
    test.rsplit_once('/').map_or("", |(parent, _)| parent)
}

#[derive(Debug)]
struct PackageState {
    running: BTreeMap<String, RunningTest>,
    /// Package-level output (panics in init, timeouts, the final `FAIL` line), and output of tests that
    /// never started (bogus events from printed look-alike text).
    output: TailBuffer,
    failed_tests: BTreeSet<String>,
    results: Vec<TestResult>,
    /// Parent test → event number of the latest `run` of one of its children. Siblings that do not pause
    /// run one after another, so a sibling starting later means an unfinished test was not running any more.
    latest_child_run: HashMap<String, u64>,
}

impl PackageState {
    fn new() -> Self {
        Self {
            running: BTreeMap::new(),
            output: TailBuffer::new(OUTPUT_CAP),
            failed_tests: BTreeSet::new(),
            results: Vec::new(),
            latest_child_run: HashMap::new(),
        }
    }
}

struct GoParser<'a> {
    ctx: &'a ParseContext,
    stderr: &'a str,
    packages: HashMap<String, PackageState>,
    /// Compiler output per `ImportPath` (Go ≥1.24).
    build_output: HashMap<String, TailBuffer>,
    /// Import paths that got `build-fail` and are not yet accounted for by a package event.
    failed_builds: BTreeSet<String>,
    /// Packages already given a FAIL entry from a plain-text `[build failed]` line.
    text_failed: BTreeSet<String>,
    out: ParsedSuite,
    unattributed: TailBuffer,
    /// Number of events seen, to order runs against each other.
    seq: u64,
}

/// Lines test2json or the testing package print around a test's own output.
fn is_framing(line: &str) -> bool {
    let t = line.trim_start();
    ["=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- FAIL:", "--- PASS:", "--- SKIP:", "--- BENCH:"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// A test's own words: its output without the framing lines, trimmed.
fn own_text(output: &str) -> String {
    output.lines().filter(|l| !is_framing(l)).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// Direct children of `test` among `failed`.
fn failed_children<'s>(test: &str, failed: &'s BTreeSet<String>) -> Vec<&'s str> {
    let prefix = format!("{test}/");
    failed
        .iter()
        .filter(|f| f.strip_prefix(&prefix).is_some_and(|rest| !rest.contains('/')))
        .map(String::as_str)
        .collect()
}

/// Keys the compiler output of Go ≤1.23 by the package named in its `# <import path>` headers.
fn stderr_sections(stderr: &str) -> HashMap<String, String> {
    let mut sections: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    for line in stderr.lines() {
        if let Some(header) = line.strip_prefix("# ") {
            current = header.split_whitespace().next().map(str::to_string);
        }
        if let Some(key) = &current {
            let s = sections.entry(key.clone()).or_default();
            s.push_str(line);
            s.push('\n');
        }
    }
    sections
}

/// `FAIL\t<pkg> [build failed]` (or `[setup failed]`): the plain-text package failure of Go ≤1.23.
fn text_build_failure(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("FAIL")?.trim_start();
    for marker in ["[build failed]", "[setup failed]"] {
        if let Some(pkg) = rest.strip_suffix(marker) {
            let pkg = pkg.trim();
            if !pkg.is_empty() && !pkg.contains(char::is_whitespace) {
                return Some((pkg, marker));
            }
        }
    }
    None
}

impl<'a> GoParser<'a> {
    fn new(ctx: &'a ParseContext, stderr: &'a str) -> Self {
        Self {
            ctx,
            stderr,
            packages: HashMap::new(),
            build_output: HashMap::new(),
            failed_builds: BTreeSet::new(),
            text_failed: BTreeSet::new(),
            out: ParsedSuite::default(),
            unattributed: TailBuffer::new(UNATTRIBUTED_CAP),
            seq: 0,
        }
    }

    fn result(&self, package: &str, test: &str, status: Status, raw: &str, elapsed: f64) -> TestResult {
        let name = test.rsplit('/').next().unwrap_or(test).to_string();
        TestResult {
            test_id: test.to_string(),
            name,
            category: category_for(test, Framework::Terratest, &self.ctx.categories),
            framework: Framework::Terratest,
            suite: package.to_string(),
            status,
            raw_status: raw.to_string(),
            duration_seconds: elapsed,
            error_message: None,
            assertions: Vec::new(),
            evidence: BTreeMap::new(),
            reproduce_commands: vec![go_reproduce(Some(test), package, self.ctx.working_dir.as_deref())],
            output: None,
        }
    }

    fn line(&mut self, line: &str) {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.trim_start().starts_with('{') {
            if let Ok(event) = serde_json::from_str::<Event>(trimmed) {
                self.event(event);
                return;
            }
        }
        if let Some((pkg, marker)) = text_build_failure(trimmed) {
            self.text_build_failure(pkg, marker);
            return;
        }
        if !trimmed.trim().is_empty() {
            self.unattributed.push(trimmed);
            self.unattributed.push("\n");
        }
    }

    fn text_build_failure(&mut self, pkg: &str, marker: &str) {
        if !self.text_failed.insert(pkg.to_string()) {
            return;
        }
        let sections = stderr_sections(self.stderr);
        let detail = sections.get(pkg).cloned().unwrap_or_else(|| cap_tail(self.stderr, MESSAGE_CAP));
        let raw = if marker == "[setup failed]" { "setup-fail" } else { "build-fail" };
        let mut entry = synthetic_fail(
            Framework::Terratest,
            pkg,
            PACKAGE_TEST_ID,
            &format!("package {pkg}"),
            raw,
            &format!("package {pkg} {}\n{}", marker.trim_matches(['[', ']']), detail.trim()),
            &detail,
        );
        entry.reproduce_commands.push(go_reproduce(None, pkg, self.ctx.working_dir.as_deref()));
        self.out.results.push(entry);
    }

    fn event(&mut self, ev: Event) {
        match ev.action.as_str() {
            "build-output" => {
                if let (Some(path), Some(output)) = (ev.import_path, ev.output) {
                    self.build_output.entry(path).or_insert_with(|| TailBuffer::new(OUTPUT_CAP)).push(&output);
                }
                return;
            }
            "build-fail" => {
                if let Some(path) = ev.import_path {
                    self.failed_builds.insert(path);
                }
                return;
            }
            _ => {}
        }
        let package = ev.package.clone().unwrap_or_default();
        match ev.test.clone() {
            Some(test) => self.test_event(package, test, ev),
            None => self.package_event(package, ev),
        }
    }

    fn test_event(&mut self, package: String, test: String, ev: Event) {
        self.seq += 1;
        let seq = self.seq;
        let pkg = self.packages.entry(package.clone()).or_insert_with(PackageState::new);
        match ev.action.as_str() {
            "run" => {
                pkg.latest_child_run.insert(parent_of(&test).to_string(), seq);
                let t = pkg.running.entry(test).or_insert_with(|| RunningTest {
                    output: TailBuffer::new(OUTPUT_CAP),
                    evidence: BTreeMap::new(),
                    last_active: seq,
                    paused: false,
                });
                t.last_active = seq;
                t.paused = false;
            }
            "pause" => {
                if let Some(t) = pkg.running.get_mut(&test) {
                    t.paused = true;
                }
            }
            "cont" => {
                if let Some(t) = pkg.running.get_mut(&test) {
                    t.paused = false;
                    t.last_active = seq;
                }
            }
            "output" => {
                let text = ev.output.unwrap_or_default();
                match pkg.running.get_mut(&test) {
                    Some(t) => t.output.push(&text),
                    None => pkg.output.push(&text),
                }
            }
            "attr" => {
                if let (Some(t), Some(key)) = (pkg.running.get_mut(&test), ev.key) {
                    t.evidence.insert(key, ev.value.unwrap_or(Value::Null));
                }
            }
            "pass" | "fail" | "skip" => {
                let Some(running) = pkg.running.remove(&test) else {
                    self.out.notes.push(format!(
                        "ignored a `{}` event for {test} in {package}: the test never started (printed text that \
                         looks like test output)",
                        ev.action
                    ));
                    return;
                };
                let elapsed = ev.elapsed.unwrap_or(0.0);
                let children: Vec<String> =
                    failed_children(&test, &pkg.failed_tests).into_iter().map(str::to_string).collect();
                let result = self.finished_test(&package, &test, &ev.action, elapsed, running, &children);
                let pkg = self.packages.entry(package).or_insert_with(PackageState::new);
                if result.status == Status::Fail {
                    pkg.failed_tests.insert(test);
                }
                pkg.results.push(result);
            }
            // start, pause, cont, bench and actions newer than this parser carry nothing to report.
            _ => {}
        }
    }

    fn finished_test(
        &self,
        package: &str,
        test: &str,
        action: &str,
        elapsed: f64,
        running: RunningTest,
        failed_children: &[String],
    ) -> TestResult {
        let status = match action {
            "pass" => Status::Pass,
            "skip" => Status::Skip,
            _ => Status::Fail,
        };
        let mut r = self.result(package, test, status, action, elapsed);
        r.evidence = running.evidence;
        let output = running.output.contents();
        let text = own_text(&output);
        match status {
            Status::Pass => {}
            Status::Skip => r.error_message = (!text.is_empty()).then(|| cap_head(&text, MESSAGE_CAP)),
            Status::Fail => {
                let children = failed_children.iter().map(String::as_str).collect();
                r.error_message = Some(fail_message(test, &text, children));
                r.output = Some(output);
            }
        }
        r
    }

    fn package_event(&mut self, package: String, ev: Event) {
        match ev.action.as_str() {
            "output" => {
                if let Some(text) = ev.output {
                    self.packages.entry(package).or_insert_with(PackageState::new).output.push(&text);
                }
            }
            "pass" | "skip" => self.end_package(&package, false, None),
            "fail" => self.end_package(&package, true, ev.failed_build),
            _ => {}
        }
    }

    /// Closes a package: tests that never finished, and a package entry when it failed with no failing test.
    fn end_package(&mut self, package: &str, failed: bool, failed_build: Option<String>) {
        let mut pkg = self.packages.remove(package).unwrap_or_else(PackageState::new);
        let package_output = pkg.output.contents();
        // Deepest first, so a parent sees its children's failures.
        let mut unfinished: Vec<(String, RunningTest)> = std::mem::take(&mut pkg.running).into_iter().collect();
        unfinished.sort_by_key(|(name, _)| std::cmp::Reverse(name.matches('/').count()));
        let all_text: String =
            unfinished.iter().map(|(_, t)| t.output.contents()).chain([package_output.clone()]).collect();
        for (test, running) in unfinished {
            let output = running.output.contents();
            let recovered =
                ["PASS", "SKIP", "FAIL"].into_iter().find(|word| all_text.contains(&format!("--- {word}: {test} (")));
            let mut r = match recovered {
                Some("PASS") => self.result(package, &test, Status::Pass, "pass (recovered from output)", 0.0),
                Some("SKIP") => self.result(package, &test, Status::Skip, "skip (recovered from output)", 0.0),
                Some(_) => {
                    let mut r = self.result(package, &test, Status::Fail, "fail (recovered from output)", 0.0);
                    let text = own_text(&output);
                    r.error_message = Some(fail_message(&test, &text, failed_children(&test, &pkg.failed_tests)));
                    r.output = Some(output);
                    r
                }
                // A later sibling started while this one neither finished nor paused: it was not running any
                // more, so its `run` came from printed look-alike text (Go ≤1.23 without output framing).
                None if !running.paused
                    && pkg
                        .latest_child_run
                        .get(parent_of(&test))
                        .is_some_and(|latest| *latest > running.last_active) =>
                {
                    self.out.notes.push(format!(
                        "{test} in {package} never finished but a later test started after it; not counted \
                         (printed text that looks like `=== RUN`)"
                    ));
                    continue;
                }
                None if failed => {
                    let mut r = self.result(package, &test, Status::Fail, "no-result", 0.0);
                    let children = failed_children(&test, &pkg.failed_tests);
                    r.error_message = Some(if children.is_empty() {
                        cap_head(
                            &format!(
                                "no result: the test binary ended while this test ran (timeout, panic or os.Exit)\n{}\n{}",
                                own_text(&output),
                                own_text(&package_output)
                            ),
                            MESSAGE_CAP,
                        )
                    } else {
                        fail_message(&test, "", children)
                    });
                    r.output = Some(cap_tail(&format!("{output}{package_output}"), OUTPUT_CAP));
                    r
                }
                None => {
                    self.out.notes.push(format!(
                        "{test} in {package} started but never finished while its package passed; not counted \
                         (printed text that looks like `=== RUN`)"
                    ));
                    continue;
                }
            };
            r.evidence = running.evidence;
            if r.status == Status::Fail {
                pkg.failed_tests.insert(test);
            }
            pkg.results.push(r);
        }
        let any_fail = pkg.results.iter().any(|r| r.status == Status::Fail);
        if failed && !any_fail && !self.text_failed.contains(package) {
            let (raw, detail) = match &failed_build {
                Some(path) => {
                    self.failed_builds.remove(path);
                    let out = self.build_output.remove(path).map(|b| b.contents()).unwrap_or_default();
                    ("build-fail", format!("package {package} failed to build\n{}", out.trim()))
                }
                None => ("fail", format!("package {package} failed outside any test\n{}", own_text(&package_output))),
            };
            let mut entry = synthetic_fail(
                Framework::Terratest,
                package,
                PACKAGE_TEST_ID,
                &format!("package {package}"),
                raw,
                detail.trim(),
                &package_output,
            );
            entry.reproduce_commands.push(go_reproduce(None, package, self.ctx.working_dir.as_deref()));
            pkg.results.push(entry);
        } else if let Some(path) = &failed_build {
            self.failed_builds.remove(path);
            self.build_output.remove(path);
        }
        self.out.results.append(&mut pkg.results);
    }

    fn finish(mut self, exit: Option<&ProcessExit>) -> ParsedSuite {
        let mut open: Vec<String> = self.packages.keys().cloned().collect();
        open.sort();
        for package in open {
            self.out.notes.push(format!("the output ended before package {package} finished"));
            self.end_package(&package, true, None);
        }
        for path in std::mem::take(&mut self.failed_builds) {
            let package = path.split_whitespace().next().unwrap_or(&path).to_string();
            let out = self.build_output.remove(&path).map(|b| b.contents()).unwrap_or_default();
            let mut entry = synthetic_fail(
                Framework::Terratest,
                &package,
                PACKAGE_TEST_ID,
                &format!("package {package}"),
                "build-fail",
                &format!("{path} failed to build\n{}", out.trim()),
                &out,
            );
            entry.reproduce_commands.push(go_reproduce(None, &package, self.ctx.working_dir.as_deref()));
            self.out.results.push(entry);
        }
        self.out.unattributed = self.unattributed.contents();
        let suite = self.ctx.working_dir.clone().unwrap_or_else(|| "go test".to_string());
        let output = format!("{}{}", self.stderr, self.out.unattributed);
        let reproduce = Some(go_reproduce(None, "./...", self.ctx.working_dir.as_deref()));
        crate::suites::classify::finish(self.out, Framework::Terratest, &suite, exit, &output, reproduce)
    }
}

/// The error message of a failed test: its own words, or which subtests failed when that is the cause.
fn fail_message(test: &str, own: &str, children: Vec<&str>) -> String {
    let msg = if !children.is_empty() {
        let mut m = format!("subtest failed: {}", children.join(", "));
        if !own.is_empty() {
            m.push('\n');
            m.push_str(own);
        }
        m
    } else if own.is_empty() {
        format!("{test} failed without output")
    } else {
        own.to_string()
    };
    cap_head(&msg, MESSAGE_CAP)
}

/// Parses `go test -json` stdout (with the run's stderr for Go ≤1.23 build errors). Never fails: what it
/// cannot read ends up in `unattributed`, and a failed process with no FAIL entry gets one.
pub fn parse_go_test_json<R: BufRead>(
    mut stdout: R,
    stderr: &str,
    exit: Option<&ProcessExit>,
    ctx: &ParseContext,
) -> ParsedSuite {
    let mut parser = GoParser::new(ctx, stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match stdout.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => parser.line(&String::from_utf8_lossy(&buf)),
            Err(e) => {
                parser.out.notes.push(format!("stopped reading go test output: {e}"));
                break;
            }
        }
    }
    parser.finish(exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str, exit: Option<i32>) -> ParsedSuite {
        let exit = exit.map(|code| ProcessExit { code: Some(code), ..Default::default() });
        parse_go_test_json(input.as_bytes(), "", exit.as_ref(), &ParseContext::default())
    }

    fn ev(action: &str, test: Option<&str>, output: Option<&str>) -> String {
        serde_json::json!({"Action": action, "Package": "p", "Test": test, "Output": output, "Elapsed": 0.5})
            .to_string()
    }

    #[test]
    fn pass_fail_skip_and_messages() {
        let lines = [
            ev("start", None, None),
            ev("run", Some("TestA"), None),
            ev("output", Some("TestA"), Some("=== RUN   TestA\n")),
            ev("output", Some("TestA"), Some("    a_test.go:3: expected 3 got ")),
            ev("output", Some("TestA"), Some("2\n")),
            ev("output", Some("TestA"), Some("--- FAIL: TestA (0.50s)\n")),
            ev("fail", Some("TestA"), None),
            ev("run", Some("TestB"), None),
            ev("pass", Some("TestB"), None),
            ev("run", Some("TestC"), None),
            ev("output", Some("TestC"), Some("    c_test.go:1: not here\n")),
            ev("skip", Some("TestC"), None),
            ev("fail", None, None),
        ];
        let p = parse(&lines.join("\n"), Some(1));
        let st: Vec<_> = p.results.iter().map(|r| (r.test_id.as_str(), r.status)).collect();
        assert_eq!(st, [("TestA", Status::Fail), ("TestB", Status::Pass), ("TestC", Status::Skip)]);
        assert_eq!(p.results[0].error_message.as_deref(), Some("a_test.go:3: expected 3 got 2"));
        assert_eq!(p.results[2].error_message.as_deref(), Some("c_test.go:1: not here"));
        assert_eq!(p.results[1].duration_seconds, 0.5);
        assert_eq!(p.results[0].reproduce_commands, ["go test -count=1 -run '^TestA$' p"]);
    }

    #[test]
    fn parent_of_failed_subtest_names_the_subtest() {
        let lines = [
            ev("run", Some("TestA"), None),
            ev("run", Some("TestA/x_y"), None),
            ev("fail", Some("TestA/x_y"), None),
            ev("fail", Some("TestA"), None),
            ev("fail", None, None),
        ];
        let p = parse(&lines.join("\n"), Some(1));
        assert_eq!(p.results[1].error_message.as_deref(), Some("subtest failed: TestA/x_y"));
        assert_eq!(p.results[0].name, "x_y");
    }

    #[test]
    fn unfinished_test_in_failed_package_fails_with_package_output() {
        let lines = [
            ev("run", Some("TestHang"), None),
            ev("output", None, Some("panic: test timed out after 2s\n")),
            ev("fail", None, None),
        ];
        let p = parse(&lines.join("\n"), Some(1));
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].raw_status, "no-result");
        assert!(p.results[0].error_message.as_deref().unwrap_or("").contains("timed out"));
    }

    #[test]
    fn failed_package_without_tests_gets_a_package_entry() {
        let lines = [ev("start", None, None), ev("output", None, Some("panic: init\n")), ev("fail", None, None)];
        let p = parse(&lines.join("\n"), Some(1));
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].test_id, PACKAGE_TEST_ID);
        assert!(p.results[0].error_message.as_deref().unwrap_or("").contains("panic: init"));
    }

    #[test]
    fn text_build_failure_uses_stderr_section() {
        let stderr = "# other\nx\n# example.com/b [example.com/b.test]\nb.go:1: bad\n";
        let p = parse_go_test_json(
            "FAIL\texample.com/b [build failed]\nrandom text\n".as_bytes(),
            stderr,
            Some(&ProcessExit { code: Some(2), ..Default::default() }),
            &ParseContext::default(),
        );
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].raw_status, "build-fail");
        let msg = p.results[0].error_message.clone().unwrap_or_default();
        assert!(msg.contains("b.go:1: bad") && !msg.contains("\nx\n"), "{msg}");
        assert_eq!(p.unattributed, "random text\n");
    }

    #[test]
    fn bogus_terminal_event_without_run_is_ignored() {
        let lines = [ev("fail", Some("TestImaginary"), None), ev("pass", None, None)];
        let p = parse(&lines.join("\n"), Some(0));
        assert!(p.results.is_empty());
        assert_eq!(p.notes.len(), 1);
    }

    #[test]
    fn attr_events_become_evidence() {
        let attr =
            serde_json::json!({"Action": "attr", "Package": "p", "Test": "TestA", "Key": "node", "Value": "aks-1"});
        let lines =
            [ev("run", Some("TestA"), None), attr.to_string(), ev("pass", Some("TestA"), None), ev("pass", None, None)];
        let p = parse(&lines.join("\n"), Some(0));
        assert_eq!(p.results[0].evidence.get("node"), Some(&Value::from("aks-1")));
    }

    #[test]
    fn superseded_unfinished_test_is_not_counted_but_paused_one_fails() {
        let lines = [
            ev("run", Some("TestPar"), None),
            ev("pause", Some("TestPar"), None),
            ev("run", Some("TestGhost"), None),
            ev("run", Some("TestB"), None),
            ev("pass", Some("TestB"), None),
            ev("fail", None, None),
        ];
        let p = parse(&lines.join("\n"), Some(1));
        let got: Vec<_> = p.results.iter().map(|r| (r.test_id.as_str(), r.status)).collect();
        assert_eq!(got, [("TestB", Status::Pass), ("TestPar", Status::Fail)]);
        assert_eq!(p.notes.len(), 1);
    }

    #[test]
    fn failed_exit_with_nothing_parsed_gets_a_suite_entry() {
        let p = parse("", Some(2));
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].status, Status::Fail);
    }

    #[test]
    fn truncated_stream_fails_open_packages() {
        let lines = [ev("start", None, None), ev("run", Some("TestA"), None)];
        let p = parse(&lines.join("\n"), None);
        assert_eq!(p.results.len(), 1);
        assert_eq!(p.results[0].status, Status::Fail);
    }
}
