//! The top-level error: one variant per domain, each mapped to an exit code in `exit`.

use crate::azure::AzureError;
use crate::cluster::ClusterError;
use crate::config::ConfigError;
use crate::exit::ExitCode;
use crate::report::ReportError;
use crate::sim::SimError;
use crate::suites::SuiteError;

/// Any error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Suite(#[from] SuiteError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Azure(#[from] AzureError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("failed to write {what} to stdout")]
    Output {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) => ExitCode::ConfigError,
            _ => ExitCode::ToolError,
        }
    }
}
