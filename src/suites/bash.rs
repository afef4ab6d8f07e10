//! Parser of the Bash suite's results: one JSON object per test in `results/<TEST_ID>.json`.
//!
//! Input (written by the suite's `lib/common.sh`): `{"test_id", "name", "category", "status":
//! "PASS"|"FAIL"|"SKIP"|"RUNNING", "duration_seconds", "error_message", "assertions": [{"description",
//! "expected", "actual", "passed"}], "evidence": {}, "reproduce_commands": [], "script", "started_at",
//! "finished_at"}`. `start_test` writes `RUNNING`, `finish_test` rewrites it; a file left `RUNNING`,
//! cut off, malformed or unreadable is a FAIL entry naming the file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::report::model::{Assertion, Framework, Status, TestResult};
use crate::suites::classify::{
    MESSAGE_CAP, OUTPUT_CAP, ParseContext, bash_reproduce, cap_head, cap_tail, category_for, shell_quote,
    synthetic_fail,
};
use crate::suites::error::SuiteError;
use crate::suites::outcome::{ParsedSuite, ProcessExit};

/// One results file as the caller read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultFile {
    pub path: String,
    /// `Err` holds why the file could not be read.
    pub contents: Result<Vec<u8>, String>,
}

/// Reads every `*.json` file of a results directory, sorted by name. A file that cannot be read is kept
/// with its error (it becomes a FAIL entry); only an unreadable directory is an error.
pub fn read_results_dir(dir: &Path) -> Result<Vec<ResultFile>, SuiteError> {
    let read_err = |source| SuiteError::Read { path: dir.to_path_buf(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| ResultFile {
            contents: std::fs::read(&path).map_err(|e| e.to_string()),
            path: path.display().to_string(),
        })
        .collect())
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string).filter(|s| !s.trim().is_empty())
}

/// The test id a file stands for when its contents cannot tell: `results/EDGE-006.json` → `EDGE-006`.
fn id_from_path(path: &str) -> String {
    Path::new(path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.to_string())
}

fn bad_file(file: &ResultFile, raw_status: &str, why: &str, raw: &str, ctx: &ParseContext) -> TestResult {
    let test_id = id_from_path(&file.path);
    let mut entry = synthetic_fail(
        Framework::Bash,
        &file.path,
        &test_id,
        &test_id,
        raw_status,
        &format!("results file {}: {why}", file.path),
        raw,
    );
    entry.category = category_for(&test_id, Framework::Bash, &ctx.categories);
    // The script is unknown when the file cannot be read: point at the evidence instead.
    entry.reproduce_commands.push(format!("cat {}", shell_quote(&file.path)));
    entry
}

fn parse_file(file: &ResultFile, ctx: &ParseContext, notes: &mut Vec<String>) -> TestResult {
    let bytes = match &file.contents {
        Ok(b) => b,
        Err(e) => return bad_file(file, "unreadable", &format!("could not be read: {e}"), "", ctx),
    };
    let raw = String::from_utf8_lossy(bytes);
    if raw.trim().is_empty() {
        return bad_file(file, "empty", "is empty (the test died before writing it)", "", ctx);
    }
    let obj = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) => return bad_file(file, "malformed", "is not a JSON object", &raw, ctx),
        Err(e) => {
            return bad_file(file, "malformed", &format!("is truncated or malformed ({e})"), &raw, ctx);
        }
    };
    let test_id = str_field(&obj, "test_id").unwrap_or_else(|| id_from_path(&file.path));
    let script = str_field(&obj, "script");
    let suite = script.clone().unwrap_or_else(|| file.path.clone());
    let raw_status = obj.get("status").and_then(Value::as_str).unwrap_or("").to_string();
    let recorded_error = str_field(&obj, "error_message");
    let (status, message) = match raw_status.as_str() {
        "PASS" => (Status::Pass, recorded_error),
        "SKIP" => (Status::Skip, recorded_error),
        "FAIL" => (Status::Fail, Some(recorded_error.unwrap_or_else(|| "failed without an error message".to_string()))),
        "RUNNING" => (
            Status::Fail,
            Some(format!(
                "results file {} still says RUNNING: the test died before finish_test{}",
                file.path,
                recorded_error.map(|e| format!(" ({e})")).unwrap_or_default()
            )),
        ),
        other => (Status::Fail, Some(format!("results file {} has unknown status `{other}`", file.path))),
    };
    let assertions = match obj.get("assertions") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|a| {
                let parsed = serde_json::from_value::<Assertion>(a.clone()).ok();
                if parsed.is_none() {
                    notes.push(format!("{}: ignored a malformed assertion", file.path));
                }
                parsed
            })
            .collect(),
        _ => Vec::new(),
    };
    let evidence: BTreeMap<String, Value> = match obj.get("evidence") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => BTreeMap::new(),
    };
    let mut reproduce: Vec<String> = obj
        .get("reproduce_commands")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    match &script {
        Some(script) => reproduce.push(bash_reproduce(script, ctx.working_dir.as_deref())),
        None if reproduce.is_empty() => reproduce.push(format!("cat {}", shell_quote(&file.path))),
        None => {}
    }
    TestResult {
        name: str_field(&obj, "name").unwrap_or_else(|| test_id.clone()),
        category: str_field(&obj, "category")
            .unwrap_or_else(|| category_for(&test_id, Framework::Bash, &ctx.categories)),
        test_id,
        framework: Framework::Bash,
        suite,
        status,
        raw_status,
        duration_seconds: obj.get("duration_seconds").and_then(Value::as_f64).unwrap_or(0.0),
        error_message: message.map(|m| cap_head(&m, MESSAGE_CAP)),
        assertions,
        evidence,
        reproduce_commands: reproduce,
        output: (status == Status::Fail).then(|| cap_tail(&raw, OUTPUT_CAP)),
    }
}

/// Parses the Bash suite's results files. Never fails: every file gives exactly one entry, and a failed
/// process with no FAIL entry gets one carrying the console output.
pub fn parse_bash_results(
    files: &[ResultFile],
    console: &str,
    exit: Option<&ProcessExit>,
    ctx: &ParseContext,
) -> ParsedSuite {
    let mut out = ParsedSuite::default();
    for file in files {
        let result = parse_file(file, ctx, &mut out.notes);
        out.results.push(result);
    }
    if files.is_empty() {
        out.notes.push("the bash suite wrote no results files".to_string());
    }
    crate::suites::classify::finish(out, Framework::Bash, "bash suite", exit, console, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> ResultFile {
        ResultFile { path: path.to_string(), contents: Ok(contents.as_bytes().to_vec()) }
    }

    #[test]
    fn statuses_map_and_bad_files_fail() {
        let files = [
            file(
                "r/DIST-001.json",
                r#"{"test_id":"DIST-001","status":"PASS","script":"t/d.sh","duration_seconds":2.5}"#,
            ),
            file("r/EVICT-002.json", r#"{"test_id":"EVICT-002","status":"RUNNING"}"#),
            file("r/PDB-003.json", r#"{"test_id":"PDB-0"#),
            file("r/TOPO-004.json", ""),
            ResultFile { path: "r/X-5.json".into(), contents: Err("permission denied".into()) },
        ];
        let ctx = ParseContext { categories: crate::config::schema::Config::default().categories, working_dir: None };
        let p = parse_bash_results(&files, "", None, &ctx);
        let got: Vec<_> = p.results.iter().map(|r| (r.test_id.as_str(), r.status, r.raw_status.as_str())).collect();
        assert_eq!(
            got,
            [
                ("DIST-001", Status::Pass, "PASS"),
                ("EVICT-002", Status::Fail, "RUNNING"),
                ("PDB-003", Status::Fail, "malformed"),
                ("TOPO-004", Status::Fail, "empty"),
                ("X-5", Status::Fail, "unreadable"),
            ]
        );
        assert_eq!(p.results[0].suite, "t/d.sh");
        assert_eq!(p.results[0].reproduce_commands, ["bash t/d.sh"]);
        assert_eq!(p.results[2].category, "pdb");
        assert_eq!(p.results[2].output.as_deref(), Some(r#"{"test_id":"PDB-0"#));
    }
}
