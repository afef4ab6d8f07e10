//! Errors of loading and validating configuration.

use std::path::PathBuf;

/// Errors of loading and validating configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
