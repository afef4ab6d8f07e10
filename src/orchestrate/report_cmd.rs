//! `report`: render an earlier JSON report again, or build one from suites' saved outputs without
//! running anything or touching a cluster.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::cli::Settings;
use crate::cli::args::{FormatArg, ReportArgs};
use crate::config::schema::ReportFormat;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::report::aggregate::{RunFacts, build_report};
use crate::report::error::ReportError;
use crate::report::json::read_report;
use crate::report::model::Framework;
use crate::suites::bash::{parse_bash_results, read_results_dir};
use crate::suites::classify::ParseContext;
use crate::suites::pytest::parse_pytest_report;
use crate::suites::terratest::parse_go_test_json;

use super::finish::finish;

/// `aks-spot-test report`.
pub(crate) fn report_command(settings: &Settings, args: &ReportArgs) -> Result<ExitCode, Error> {
    let cfg = &settings.config;
    let formats: Vec<ReportFormat> = if args.format.is_empty() {
        cfg.reports.formats.clone()
    } else {
        args.format.iter().map(|f| to_format(*f)).collect()
    };
    let dir = args.output_dir.clone().unwrap_or_else(|| settings.base_dir.join(&cfg.reports.output_dir));

    let report = match &args.report {
        // A report that is not there is bad input (exit 3), like a missing --terratest file.
        Some(path) => read_report(path).map_err(|err| match err {
            ReportError::Read { path, source } => Error::Input { what: "JSON report", path, source },
            other => Error::from(other),
        })?,
        None => {
            if args.terratest.is_none() && args.bash.is_none() && args.pytest.is_none() {
                return Err(Error::Usage(
                    "report needs a JSON report, or at least one of --terratest FILE, --bash DIR, --pytest FILE".into(),
                ));
            }
            let ctx = ParseContext { categories: cfg.categories.clone(), working_dir: None };
            let (results, notes) = parse_saved_outputs(args, &ctx)?;
            let facts = RunFacts {
                run_id: uuid::Uuid::new_v4(),
                timestamp: jiff::Timestamp::now(),
                cluster_name: cfg.cluster.name.clone().unwrap_or_else(|| "unknown".into()),
                notes,
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                ..RunFacts::default()
            };
            build_report(results, facts)
        }
    };
    Ok(finish(report, &formats, &dir).exit)
}

/// Parses whichever saved outputs were given. The exit codes of those runs are unknown, so the
/// parsers judge from the outputs alone.
fn parse_saved_outputs(
    args: &ReportArgs,
    ctx: &ParseContext,
) -> Result<(Vec<crate::report::model::TestResult>, Vec<String>), Error> {
    let mut results = Vec::new();
    let mut notes = vec!["built from saved suite outputs: no suite was run and no cluster was contacted".to_string()];
    let mut take = |framework: Framework, parsed: crate::suites::ParsedSuite| {
        notes.extend(parsed.notes.into_iter().map(|n| format!("{framework}: {n}")));
        results.extend(parsed.results);
    };
    if let Some(path) = &args.terratest {
        let file = File::open(path).map_err(|source| input("go test -json output", path, source))?;
        take(Framework::Terratest, parse_go_test_json(BufReader::new(file), "", None, ctx));
    }
    if let Some(dir) = &args.bash {
        if !dir.is_dir() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory");
            return Err(input("bash results directory", dir, source));
        }
        let files = read_results_dir(dir)?;
        take(Framework::Bash, parse_bash_results(&files, "", None, ctx));
    }
    if let Some(path) = &args.pytest {
        let bytes = std::fs::read(path).map_err(|source| input("pytest-json-report file", path, source))?;
        take(Framework::Python, parse_pytest_report(Some(&bytes), "", None, ctx));
    }
    Ok((results, notes))
}

fn input(what: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Input { what, path: PathBuf::from(path), source }
}

fn to_format(f: FormatArg) -> ReportFormat {
    match f {
        FormatArg::Json => ReportFormat::Json,
        FormatArg::Html => ReportFormat::Html,
        FormatArg::Markdown => ReportFormat::Markdown,
        FormatArg::Junit => ReportFormat::Junit,
    }
}
