//! Errors of starting and running the simulated AKS.

use std::path::PathBuf;

/// Errors of starting and running the simulated AKS.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("failed to bind {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read scenario {path}")]
    Scenario {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
