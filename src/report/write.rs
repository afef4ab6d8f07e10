//! Writing report files: timestamped names, atomic writes (temp file in the same directory, then
//! rename), and one renderer's failure never stopping the others.

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::error::ReportError;
use super::html::HtmlRenderer;
use super::json::to_json;
use super::junit::to_junit;
use super::markdown::MarkdownRenderer;
use super::model::TestReport;
use crate::config::schema::ReportFormat;

/// What was written and what was not.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub written: Vec<(ReportFormat, PathBuf)>,
    pub failed: Vec<(ReportFormat, ReportError)>,
    /// Problems that did not stop a write, such as a broken template override replaced by the built-in one.
    pub warnings: Vec<String>,
}

impl WriteOutcome {
    /// True when no JSON report reached disk although one was asked for, or nothing was written at
    /// all: the caller should then print the JSON to stdout (`print_json`) so the run is not lost.
    pub fn needs_stdout_fallback(&self) -> bool {
        let json_failed = self.failed.iter().any(|(f, _)| *f == ReportFormat::Json);
        json_failed || (self.written.is_empty() && !self.failed.is_empty())
    }
}

/// File extension of a format.
pub fn extension(format: ReportFormat) -> &'static str {
    match format {
        ReportFormat::Json => "json",
        ReportFormat::Markdown => "md",
        ReportFormat::Junit => "xml",
        ReportFormat::Html => "html",
    }
}

/// `test-report-YYYY-MM-DD-HHMMSS.<ext>` from the report's timestamp, in UTC.
pub fn report_file_name(timestamp: Timestamp, format: ReportFormat) -> String {
    format!("test-report-{}.{}", timestamp.strftime("%Y-%m-%d-%H%M%S"), extension(format))
}

/// Renders one format; `template_dir` may override the Markdown and HTML templates.
pub fn render(
    report: &TestReport,
    format: ReportFormat,
    template_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Vec<u8>, ReportError> {
    match format {
        ReportFormat::Json => to_json(report),
        ReportFormat::Markdown => {
            let renderer = MarkdownRenderer::with_template_dir(template_dir)?;
            warnings.extend(renderer.override_problem.clone());
            renderer.render(report).map(String::into_bytes)
        }
        ReportFormat::Junit => to_junit(report),
        ReportFormat::Html => {
            let renderer = HtmlRenderer::with_template_dir(template_dir)?;
            warnings.extend(renderer.override_problem.clone());
            renderer.render(report).map(String::into_bytes)
        }
    }
}

/// Writes every requested format into `dir` (created if missing) with the embedded templates.
pub fn write_reports(report: &TestReport, formats: &[ReportFormat], dir: &Path) -> WriteOutcome {
    write_reports_with_templates(report, formats, dir, None)
}

/// As `write_reports`, with templates overridden from `template_dir` where present.
pub fn write_reports_with_templates(
    report: &TestReport,
    formats: &[ReportFormat],
    dir: &Path,
    template_dir: Option<&Path>,
) -> WriteOutcome {
    let mut outcome = WriteOutcome::default();
    let mut unique: Vec<ReportFormat> = Vec::new();
    for f in formats {
        if !unique.contains(f) {
            unique.push(*f);
        }
    }
    if let Err(source) = std::fs::create_dir_all(dir) {
        // The error is not Clone: each format gets its own copy of the cause.
        for f in unique {
            let source = std::io::Error::new(source.kind(), source.to_string());
            outcome.failed.push((f, ReportError::CreateDir { path: dir.to_path_buf(), source }));
        }
        return outcome;
    }
    for format in unique {
        let path = dir.join(report_file_name(report.timestamp, format));
        let bytes = render(report, format, template_dir, &mut outcome.warnings);
        match bytes.and_then(|b| write_atomic(&path, &b)) {
            Ok(()) => outcome.written.push((format, path)),
            Err(e) => outcome.failed.push((format, e)),
        }
    }
    outcome
}

/// Writes `bytes` to a temp file beside `path`, syncs it, then renames it over `path`, so a reader
/// never sees half a report and a failed write leaves no partial file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let wrap = |source: std::io::Error| ReportError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".test-report-").suffix(".tmp").tempfile_in(dir).map_err(wrap)?;
    tmp.write_all(bytes).map_err(wrap)?;
    tmp.as_file().sync_all().map_err(wrap)?;
    tmp.persist(path).map_err(|e| wrap(e.error))?;
    Ok(())
}

/// Prints the JSON report to `out`: the fallback when it could not be written to disk.
pub fn print_json(report: &TestReport, out: &mut impl Write) -> Result<(), ReportError> {
    let bytes = to_json(report)?;
    out.write_all(&bytes).map_err(|source| ReportError::Write { path: PathBuf::from("<stdout>"), source })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::aggregate::{RunFacts, build_report};

    fn report() -> TestReport {
        let facts = RunFacts { timestamp: "2026-02-08T14:30:22Z".parse().unwrap(), ..RunFacts::default() };
        build_report(vec![], facts)
    }

    #[test]
    fn names_follow_the_timestamp() {
        let ts: Timestamp = "2026-02-08T14:30:22.9Z".parse().unwrap();
        assert_eq!(report_file_name(ts, ReportFormat::Json), "test-report-2026-02-08-143022.json");
        assert_eq!(report_file_name(ts, ReportFormat::Junit), "test-report-2026-02-08-143022.xml");
    }

    #[test]
    fn writes_every_requested_format_once() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("nested/reports");
        let formats =
            [ReportFormat::Json, ReportFormat::Html, ReportFormat::Markdown, ReportFormat::Junit, ReportFormat::Html];
        let outcome = write_reports(&report(), &formats, &out_dir);
        let written: Vec<ReportFormat> = outcome.written.iter().map(|(f, _)| *f).collect();
        assert_eq!(written, [ReportFormat::Json, ReportFormat::Html, ReportFormat::Markdown, ReportFormat::Junit]);
        assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
        assert!(!outcome.needs_stdout_fallback());
        for (_, path) in &outcome.written {
            assert!(path.is_file(), "{}", path.display());
        }
        let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_directory_under_a_file_fails_every_format_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let outcome = write_reports(&report(), &[ReportFormat::Json, ReportFormat::Markdown], &file.join("reports"));
        assert!(outcome.written.is_empty());
        assert_eq!(outcome.failed.len(), 2);
        assert!(matches!(outcome.failed[0].1, ReportError::CreateDir { .. }));
        assert!(outcome.needs_stdout_fallback());
        let mut stdout = Vec::new();
        print_json(&report(), &mut stdout).unwrap();
        assert_eq!(stdout, to_json(&report()).unwrap());
    }

    #[test]
    fn atomic_write_into_a_missing_place_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = write_atomic(&file.join("r.json"), b"{}").unwrap_err();
        assert!(matches!(err, ReportError::Write { .. }), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
