//! Errors of reading, rendering and writing reports.

use std::path::PathBuf;

use crate::config::schema::ReportFormat;

/// Errors of reading, rendering and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse report {path} at line {line}, column {column} (field `{field}`)")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// Dotted path of the field being read, `.` when the document itself is malformed.
        field: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("report {path} has schema version {found}, newer than the {supported} this tool reads")]
    NewerSchema { path: PathBuf, found: u64, supported: u32 },
    #[error("failed to serialise the report as json")]
    Serialize(#[source] serde_json::Error),
    #[error("failed to render the {format} report")]
    Render {
        format: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error("{} renderer not available yet", format_name(.format))]
    RendererUnavailable { format: ReportFormat },
    #[error("failed to create report directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write report {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The lowercase name of a format, as config files spell it.
pub fn format_name(format: &ReportFormat) -> &'static str {
    match format {
        ReportFormat::Json => "json",
        ReportFormat::Html => "html",
        ReportFormat::Markdown => "markdown",
        ReportFormat::Junit => "junit",
    }
}
