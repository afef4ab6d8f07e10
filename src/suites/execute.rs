//! One suite from its config to its results: prepare the command, run it, parse what it left.
//!
//! Nothing here fails the run: a missing tool, a bad `.env`, a crash or a timeout all become
//! FAIL entries carrying the reason, so the report says what happened and the next suite runs.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::config::schema::SuiteConfig;
use crate::report::model::{Framework, SuiteRun, TestResult};
use crate::suites::bash::{parse_bash_results, read_results_dir};
use crate::suites::classify::{ParseContext, synthetic_fail};
use crate::suites::command::{Prepared, SpecInputs, SuiteSpec, prepare_suite};
use crate::suites::outcome::ParsedSuite;
use crate::suites::pytest::parse_pytest_report;
use crate::suites::runner::{SuiteExecution, run_suite};
use crate::suites::terratest::parse_go_test_json;

/// How much of stderr the Go parser gets: enough for compiler errors, bounded for memory.
const STDERR_TAIL: u64 = 256 * 1024;

/// What one suite gave: its timeline entry, its results and anything the operator should read.
#[derive(Debug, Clone)]
pub struct SuiteOutcome {
    pub run: SuiteRun,
    pub parsed: ParsedSuite,
    pub warnings: Vec<String>,
}

/// Prepares, runs and parses one suite. `cancel` (Ctrl-C) stops the suite like a timeout does.
pub async fn execute_suite(
    framework: Framework,
    cfg: &SuiteConfig,
    inputs: &SpecInputs,
    ctx: &ParseContext,
    cancel: &CancellationToken,
) -> SuiteOutcome {
    let working_dir = inputs.base_dir.join(&cfg.working_dir);
    let ctx = ParseContext { working_dir: Some(working_dir.display().to_string()), ..ctx.clone() };
    let (spec, warnings) = match prepare_suite(framework, cfg, inputs) {
        Ok(Prepared::Ready { spec, warnings }) => (spec, warnings),
        Ok(Prepared::MissingTool(missing)) => {
            let message = missing.to_string();
            let result = suite_failure(framework, "missing-tool", &message, "");
            return not_run(framework, &working_dir, message, result);
        }
        Err(err) => {
            let message = crate::error::render_chain(&err);
            let result = suite_failure(framework, "setup-error", &message, "");
            return not_run(framework, &working_dir, message, result);
        }
    };
    let execution = match run_suite(&spec, cancel).await {
        Ok(execution) => execution,
        Err(err) => {
            let message = crate::error::render_chain(&err);
            let result = suite_failure(framework, "spawn-error", &message, "");
            let mut outcome = not_run(framework, &working_dir, message, result);
            outcome.run.command = command_line(&spec);
            return outcome;
        }
    };
    let mut parsed = parse(framework, &spec, &execution, &ctx);
    if execution.exit.timed_out {
        let why = if execution.cancelled { "was cancelled" } else { "timed out" };
        parsed.notes.push(format!(
            "the {framework} suite {why} after {:.0}s; its process group was killed",
            execution.duration.as_secs_f64()
        ));
    }
    SuiteOutcome { run: suite_run(framework, &spec, &execution), parsed, warnings }
}

fn parse(framework: Framework, spec: &SuiteSpec, execution: &SuiteExecution, ctx: &ParseContext) -> ParsedSuite {
    let exit = Some(&execution.exit);
    match framework {
        Framework::Terratest => {
            let stderr = read_tail(&execution.stderr_log, STDERR_TAIL);
            match File::open(&execution.stdout_log) {
                Ok(f) => parse_go_test_json(BufReader::new(f), &stderr, exit, ctx),
                Err(e) => {
                    let msg = format!("failed to read {}: {e}", execution.stdout_log.display());
                    parse_go_test_json(std::io::empty(), &format!("{msg}\n{stderr}"), exit, ctx)
                }
            }
        }
        Framework::Python => {
            let report = spec.report_file.as_ref().and_then(|p| std::fs::read(p).ok());
            parse_pytest_report(report.as_deref(), &execution.output_tail, exit, ctx)
        }
        Framework::Bash => {
            let files = match spec.results_dir.as_deref().map(read_results_dir) {
                Some(Ok(files)) => files,
                Some(Err(err)) => {
                    let mut parsed = parse_bash_results(&[], &execution.output_tail, exit, ctx);
                    parsed.notes.push(crate::error::render_chain(&err));
                    return parsed;
                }
                None => Vec::new(),
            };
            parse_bash_results(&files, &execution.output_tail, exit, ctx)
        }
    }
}

/// The last `max` bytes of a file, lossily decoded; empty when it cannot be read.
fn read_tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max {
        let _ = f.seek(SeekFrom::Start(len - max));
    }
    let mut buf = Vec::new();
    let _ = f.take(max).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn command_line(spec: &SuiteSpec) -> String {
    std::iter::once(spec.program.display().to_string()).chain(spec.args.iter().cloned()).collect::<Vec<_>>().join(" ")
}

fn suite_run(framework: Framework, spec: &SuiteSpec, execution: &SuiteExecution) -> SuiteRun {
    SuiteRun {
        framework,
        command: command_line(spec),
        working_dir: spec.working_dir.display().to_string(),
        started: execution.started,
        duration_seconds: execution.duration.as_secs_f64(),
        exit_code: execution.exit.code,
        signal: execution.exit.signal,
        timed_out: execution.exit.timed_out,
        log_file: Some(execution.stdout_log.display().to_string()),
        skipped_reason: None,
    }
}

/// The FAIL entry standing for a suite that could not run or report at all.
fn suite_failure(framework: Framework, raw_status: &str, message: &str, output: &str) -> TestResult {
    synthetic_fail(
        framework,
        &format!("{framework} suite"),
        "(suite)",
        &format!("{framework} suite could not run"),
        raw_status,
        message,
        output,
    )
}

fn not_run(framework: Framework, working_dir: &Path, message: String, result: TestResult) -> SuiteOutcome {
    let mut run = skipped_run(framework, &message);
    run.working_dir = working_dir.display().to_string();
    SuiteOutcome { run, parsed: ParsedSuite { results: vec![result], ..ParsedSuite::default() }, warnings: Vec::new() }
}

/// The timeline entry of a suite that did not run, and why.
pub fn skipped_run(framework: Framework, reason: &str) -> SuiteRun {
    SuiteRun {
        framework,
        command: String::new(),
        working_dir: String::new(),
        started: jiff::Timestamp::now(),
        duration_seconds: 0.0,
        exit_code: None,
        signal: None,
        timed_out: false,
        log_file: None,
        skipped_reason: Some(reason.to_string()),
    }
}
