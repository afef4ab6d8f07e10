//! The JSON report: writing it (pretty, trailing newline) and reading it back for `report <json>`.
//!
//! Input format of `read_report`: a JSON document as written by `to_json`, any `schema_version`
//! up to `SCHEMA_VERSION`. Written, read back and written again is byte-identical.

use std::path::Path;

use serde::Deserialize;

use super::error::ReportError;
use super::model::{SCHEMA_VERSION, TestReport};

/// The report as pretty JSON with a trailing newline.
pub fn to_json(report: &TestReport) -> Result<Vec<u8>, ReportError> {
    let mut out = serde_json::to_vec_pretty(report).map_err(ReportError::Serialize)?;
    out.push(b'\n');
    Ok(out)
}

/// Reads a JSON report from a file.
pub fn read_report(path: &Path) -> Result<TestReport, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Read { path: path.to_path_buf(), source })?;
    parse_report(&bytes, path)
}

/// Only the version, read first so a newer report fails on its version and not on a field it renamed.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: Option<serde_json::Value>,
}

/// Parses report bytes; `path` only names the source in errors.
pub fn parse_report(bytes: &[u8], path: &Path) -> Result<TestReport, ReportError> {
    let parse_error = |field: String, source: serde_json::Error| ReportError::Parse {
        path: path.to_path_buf(),
        line: source.line(),
        column: source.column(),
        field,
        source,
    };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| parse_error(".".to_string(), e))?;
    let found = probe.schema_version.as_ref().and_then(serde_json::Value::as_u64);
    if let Some(found) = found.filter(|v| *v > u64::from(SCHEMA_VERSION)) {
        return Err(ReportError::NewerSchema { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        parse_error(field, e.into_inner())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::aggregate::{RunFacts, build_report};

    fn empty_report_json() -> Vec<u8> {
        to_json(&build_report(vec![], RunFacts::default())).unwrap_or_default()
    }

    #[test]
    fn json_ends_with_newline_and_round_trips() {
        let bytes = empty_report_json();
        assert_eq!(bytes.last(), Some(&b'\n'));
        let back = parse_report(&bytes, Path::new("r.json")).unwrap();
        assert_eq!(to_json(&back).unwrap(), bytes);
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let err = parse_report(b"{\n  \"schema_version\": 1,\n  oops\n}", Path::new("bad.json")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bad.json") && msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn wrong_field_type_names_the_field() {
        let text =
            String::from_utf8(empty_report_json()).unwrap().replace("\"cluster_name\": \"\"", "\"cluster_name\": 7");
        let err = parse_report(text.as_bytes(), Path::new("r.json")).unwrap_err();
        assert!(err.to_string().contains("`cluster_name`"), "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let text =
            String::from_utf8(empty_report_json()).unwrap().replace("\"schema_version\": 1", "\"schema_version\": 99");
        let err = parse_report(text.as_bytes(), Path::new("r.json")).unwrap_err();
        assert!(matches!(err, ReportError::NewerSchema { found: 99, .. }), "{err}");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let err = read_report(Path::new("/nonexistent/report.json")).unwrap_err();
        assert!(matches!(err, ReportError::Read { .. }));
    }
}
