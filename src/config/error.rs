//! Errors of loading and validating configuration: each names where the value came from and which key.

use std::path::PathBuf;

/// Errors of loading and validating configuration.
///
/// `origin` is the file name, an environment variable (`env AKS_SPOT_TEST_FORMATS`) or `built-in defaults`,
/// so the user knows which layer to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid YAML: {problem}", path.display())]
    Syntax { path: PathBuf, problem: String },
    #[error("{}: {key}: {problem}", path.display())]
    Type { path: PathBuf, key: String, problem: String },
    #[error("{origin}: {key}: {problem}")]
    Invalid { origin: String, key: String, problem: String },
    #[error("env {var}: {problem}")]
    Env { var: String, problem: String },
    #[error("failed to find the current directory")]
    CurrentDir {
        #[source]
        source: std::io::Error,
    },
}
