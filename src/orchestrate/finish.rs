//! The last step every reporting command shares: write the reports, print the summary, pick the exit code.

use std::path::{Path, PathBuf};

use crate::config::schema::ReportFormat;
use crate::error::render_chain;
use crate::exit::ExitCode;
use crate::report::console::print_console;
use crate::report::model::TestReport;
use crate::report::write::{print_json, write_reports};

/// What a finished command produced.
#[derive(Debug)]
pub(crate) struct Finished {
    pub report: TestReport,
    pub written: Vec<(ReportFormat, PathBuf)>,
    pub exit: ExitCode,
}

/// Writes `report` in `formats` under `dir`. A renderer or disk failure loses nothing: the JSON goes
/// to stdout when it could not reach disk. The exit code is the tests' verdict.
pub(crate) fn finish(report: TestReport, formats: &[ReportFormat], dir: &Path) -> Finished {
    let outcome = write_reports(&report, formats, dir);
    for (format, err) in &outcome.failed {
        eprintln!(
            "warning: the {} report was not written: {}",
            crate::report::error::format_name(format),
            render_chain(err)
        );
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    if outcome.needs_stdout_fallback() {
        eprintln!("warning: printing the JSON report to stdout, the only copy of these results");
        if let Err(err) = print_json(&report, &mut std::io::stdout().lock()) {
            eprintln!("error: {}", render_chain(&err));
        }
    }
    print_console(&report, Some(&outcome));
    let exit = ExitCode::for_failed_count(report.summary.failed);
    Finished { report, written: outcome.written, exit }
}
