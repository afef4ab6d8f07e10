//! Errors of reading and writing reports.

use std::path::PathBuf;

/// Errors of reading and writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
