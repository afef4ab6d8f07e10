//! Shared helpers of the suite parsers: test id to category, copy-paste reproduce commands, capped text,
//! unique ids, and the exit-code cross-check that turns an unexplained failed process into a FAIL entry.

use std::collections::{BTreeMap, HashMap};

use crate::report::model::{Framework, Status, TestResult};
use crate::suites::outcome::{ParsedSuite, ProcessExit};

/// Largest error message a parser puts in a result; the full text goes to `output`.
pub(crate) const MESSAGE_CAP: usize = 4 * 1024;
/// Largest output kept per result (the tail, where the failure usually is).
pub(crate) const OUTPUT_CAP: usize = 32 * 1024;
/// Largest raw text kept as "unattributed" per parse.
pub(crate) const UNATTRIBUTED_CAP: usize = 64 * 1024;

/// What a parser needs beyond its input: the configured categories and where the suite ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParseContext {
    /// Test-id prefix (e.g. `DIST`) to category (e.g. `pod-distribution`), from the config.
    pub categories: BTreeMap<String, String>,
    /// The suite's working directory, used to make reproduce commands copy-paste ready.
    pub working_dir: Option<String>,
}

/// The category of a test: Terratest tests are `infrastructure`; otherwise the prefix before the first `-`
/// of the test id looked up in `categories`; `uncategorized` when nothing matches.
pub fn category_for(test_id: &str, framework: Framework, categories: &BTreeMap<String, String>) -> String {
    if framework == Framework::Terratest {
        return "infrastructure".to_string();
    }
    test_id
        .split_once('-')
        .and_then(|(prefix, _)| categories.get(prefix))
        .cloned()
        .unwrap_or_else(|| "uncategorized".to_string())
}

/// Quotes `s` for a POSIX shell so it survives copy-paste unchanged (single quotes, `'` spelled `'\''`).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '@' | '%' | '+'));
    if plain { s.to_string() } else { format!("'{}'", s.replace('\'', r"'\''")) }
}

/// Prefixes `cmd` with a `cd` into the working directory when one is known.
pub(crate) fn in_dir(cmd: String, working_dir: Option<&str>) -> String {
    match working_dir {
        Some(dir) if !dir.is_empty() => format!("cd {} && {cmd}", shell_quote(dir)),
        _ => cmd,
    }
}

/// Escapes the characters Go's regexp treats specially (like `regexp.QuoteMeta`).
fn go_quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `go test -count=1 -run '^TestA$/^sub_case$' ./pkg`: each `/`-separated level anchored on its own,
/// because `-run` matches subtest levels separately.
pub fn go_reproduce(test: Option<&str>, package: &str, working_dir: Option<&str>) -> String {
    let cmd = match test {
        Some(test) => {
            let pattern: Vec<String> = test.split('/').map(|level| format!("^{}$", go_quote_meta(level))).collect();
            format!("go test -count=1 -run {} {}", shell_quote(&pattern.join("/")), shell_quote(package))
        }
        None => format!("go test -count=1 {}", shell_quote(package)),
    };
    in_dir(cmd, working_dir)
}

/// `pytest '<nodeid>'`, run from the suite's directory.
pub fn pytest_reproduce(nodeid: &str, working_dir: Option<&str>) -> String {
    // Always quoted: node ids carry `[`, `::` and arbitrary parametrize text.
    in_dir(format!("pytest '{}'", nodeid.replace('\'', r"'\''")), working_dir)
}

/// `bash <script>`, run from the suite's directory.
pub fn bash_reproduce(script: &str, working_dir: Option<&str>) -> String {
    in_dir(format!("bash {}", shell_quote(script)), working_dir)
}

/// Cuts `s` to at most `max` bytes keeping the tail (on a char boundary), marking the cut.
pub(crate) fn cap_tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[... {start} bytes cut ...]\n{}", &s[start..])
}

/// Cuts `s` to at most `max` bytes keeping the head (on a char boundary), marking the cut.
pub(crate) fn cap_head(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... {} bytes cut ...]", &s[..end], s.len() - end)
}

/// A text buffer that never holds more than about `2 * cap` bytes, keeping the tail: memory stays flat
/// however long a stream is.
#[derive(Debug, Clone, Default)]
pub(crate) struct TailBuffer {
    text: String,
    dropped: usize,
    cap: usize,
}

impl TailBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        Self { text: String::new(), dropped: 0, cap }
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        if self.text.len() > 2 * self.cap {
            let mut cut = self.text.len() - self.cap;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.text.drain(..cut);
            self.dropped += cut;
        }
    }

    /// The kept text, at most `cap` bytes, with a marker when anything was cut.
    pub(crate) fn contents(&self) -> String {
        let capped = cap_tail(&self.text, self.cap);
        if self.dropped > 0 && !capped.starts_with("[... ") {
            format!("[... {} bytes cut ...]\n{capped}", self.dropped)
        } else {
            capped
        }
    }
}

/// Makes `(framework, suite, test_id)` unique by suffixing repeats with `#2`, `#3`, ... (the first keeps its id).
pub(crate) fn disambiguate_ids(results: &mut [TestResult]) {
    let mut seen: HashMap<(Framework, String, String), u32> = HashMap::new();
    let taken: std::collections::HashSet<(Framework, String, String)> =
        results.iter().map(|r| (r.framework, r.suite.clone(), r.test_id.clone())).collect();
    for r in results.iter_mut() {
        let key = (r.framework, r.suite.clone(), r.test_id.clone());
        let count = {
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if count > 1 {
            let mut k = count;
            let id = loop {
                let candidate = (r.framework, r.suite.clone(), format!("{}#{k}", r.test_id));
                if !taken.contains(&candidate) && !seen.contains_key(&candidate) {
                    break candidate;
                }
                k += 1;
            };
            seen.insert(key, k);
            r.test_id = id.2.clone();
            seen.insert(id, 1);
        }
    }
}

/// A FAIL entry for something no test result accounts for (crashed suite, build failure, unreadable file).
pub(crate) fn synthetic_fail(
    framework: Framework,
    suite: &str,
    test_id: &str,
    name: &str,
    raw_status: &str,
    message: &str,
    output: &str,
) -> TestResult {
    TestResult {
        test_id: test_id.to_string(),
        name: name.to_string(),
        category: if framework == Framework::Terratest { "infrastructure" } else { "uncategorized" }.to_string(),
        framework,
        suite: suite.to_string(),
        status: Status::Fail,
        raw_status: raw_status.to_string(),
        duration_seconds: 0.0,
        error_message: Some(cap_head(message, MESSAGE_CAP)),
        assertions: Vec::new(),
        evidence: BTreeMap::new(),
        reproduce_commands: Vec::new(),
        output: if output.trim().is_empty() { None } else { Some(cap_tail(output, OUTPUT_CAP)) },
    }
}

/// Describes how a process ended, for messages.
pub(crate) fn describe_exit(exit: &ProcessExit) -> String {
    let mut parts = Vec::new();
    if let Some(code) = exit.code {
        parts.push(format!("exit code {code}"));
    }
    if let Some(signal) = exit.signal {
        parts.push(format!("signal {signal}"));
    }
    if exit.timed_out {
        parts.push("timed out".to_string());
    }
    if parts.is_empty() { "unknown exit".to_string() } else { parts.join(", ") }
}

/// The cross-check every parser ends with: a failed process that left no FAIL entry gets one carrying the
/// output, and a clean exit that contradicts FAIL entries is noted. Then ids are made unique.
pub(crate) fn finish(
    mut parsed: ParsedSuite,
    framework: Framework,
    suite: &str,
    exit: Option<&ProcessExit>,
    output: &str,
    reproduce: Option<String>,
) -> ParsedSuite {
    let has_fail = parsed.results.iter().any(|r| r.status == Status::Fail);
    if let Some(exit) = exit {
        if exit.failed() && !has_fail {
            let how = describe_exit(exit);
            let mut entry = synthetic_fail(
                framework,
                suite,
                "(suite)",
                &format!("{framework} suite process failed"),
                "process-failed",
                &format!("the {framework} suite ended with {how} but no test reported a failure"),
                output,
            );
            entry.reproduce_commands.extend(reproduce);
            parsed.results.push(entry);
        } else if !exit.failed() && exit.code.is_some() && has_fail {
            parsed.notes.push(format!(
                "the {framework} suite exited 0 but its output reports failing tests; the failures are kept"
            ));
        }
    }
    disambiguate_ids(&mut parsed.results);
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::Config;

    fn result(id: &str) -> TestResult {
        synthetic_fail(Framework::Bash, "s.sh", id, id, "FAIL", "m", "")
    }

    #[test]
    fn categories_come_from_the_prefix() {
        let cats = Config::default().categories;
        assert_eq!(category_for("DIST-001", Framework::Bash, &cats), "pod-distribution");
        assert_eq!(category_for("EDGE-006", Framework::Python, &cats), "edge-cases");
        assert_eq!(category_for("NOPE-1", Framework::Python, &cats), "uncategorized");
        assert_eq!(category_for("DIST", Framework::Python, &cats), "uncategorized");
        assert_eq!(category_for("DIST-001", Framework::Terratest, &cats), "infrastructure");
    }

    #[test]
    fn shell_quote_survives_quotes_and_specials() {
        assert_eq!(shell_quote("./pkg"), "./pkg");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn go_reproduce_anchors_each_level() {
        assert_eq!(
            go_reproduce(Some("TestA/sub_case#01"), "example.com/fx/a", None),
            "go test -count=1 -run '^TestA$/^sub_case#01$' example.com/fx/a"
        );
        assert_eq!(
            go_reproduce(Some("TestA/x.y(z)"), "./p", Some("/s d")),
            "cd '/s d' && go test -count=1 -run '^TestA$/^x\\.y\\(z\\)$' ./p"
        );
        assert_eq!(go_reproduce(None, "./p", None), "go test -count=1 ./p");
    }

    #[test]
    fn pytest_and_bash_reproduce_quote() {
        assert_eq!(pytest_reproduce("t.py::test[<script>]", None), "pytest 't.py::test[<script>]'");
        assert_eq!(bash_reproduce("tests/a b.sh", Some("/suite")), "cd /suite && bash 'tests/a b.sh'");
    }

    #[test]
    fn caps_respect_char_boundaries() {
        let s = "é".repeat(100);
        assert!(cap_tail(&s, 11).ends_with('é'));
        assert!(cap_head(&s, 11).starts_with('é'));
        let mut b = TailBuffer::new(10);
        for _ in 0..100 {
            b.push("ééé");
        }
        assert!(b.contents().len() < 60);
        assert!(b.contents().contains("bytes cut"));
    }

    #[test]
    fn duplicate_ids_get_suffixes() {
        let mut rs = vec![result("A"), result("A"), result("A#2"), result("A")];
        disambiguate_ids(&mut rs);
        let ids: Vec<&str> = rs.iter().map(|r| r.test_id.as_str()).collect();
        assert_eq!(ids, ["A", "A#3", "A#2", "A#4"]);
    }

    #[test]
    fn failed_process_without_fail_gets_an_entry() {
        let exit = ProcessExit { code: Some(2), ..Default::default() };
        let parsed = finish(ParsedSuite::default(), Framework::Bash, "suite", Some(&exit), "boom", None);
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(parsed.results[0].status, Status::Fail);
        assert_eq!(parsed.results[0].output.as_deref(), Some("boom"));
        let ok = ProcessExit { code: Some(0), ..Default::default() };
        assert!(finish(ParsedSuite::default(), Framework::Bash, "suite", Some(&ok), "", None).results.is_empty());
        assert!(finish(ParsedSuite::default(), Framework::Bash, "suite", None, "", None).results.is_empty());
    }
}
