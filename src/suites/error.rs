//! Errors of running suites and reading their outputs (test failures are outcomes, not errors).

use std::path::PathBuf;

use crate::report::model::Framework;

/// Errors of running suites and reading their outputs (test failures are outcomes, not errors).
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed line {line} in {path}: {message}")]
    EnvFileSyntax { path: PathBuf, line: usize, message: String },
    #[error("invalid timeout for the {framework} suite: {minutes} minutes")]
    InvalidTimeout { framework: Framework, minutes: f64 },
    #[error("failed to create log file {path}")]
    LogFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to start the {framework} suite ({program})")]
    Spawn {
        framework: Framework,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to wait for the {framework} suite")]
    Wait {
        framework: Framework,
        #[source]
        source: std::io::Error,
    },
}
