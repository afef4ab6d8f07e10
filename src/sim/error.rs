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
    #[error("invalid scenario at {path}: {message}")]
    ScenarioParse { path: String, message: String },
    #[error("invalid scenario: {0}")]
    ScenarioInvalid(String),
    #[error("failed to build the simulated cluster: {0}")]
    World(String),
    #[error("failed to write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to open request log {path}")]
    RequestLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
