//! Errors of running suites and reading their outputs (test failures are outcomes, not errors).

use std::path::PathBuf;

/// Errors of running suites and reading their outputs (test failures are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
