//! The top-level error: one variant per domain, each mapped to an exit code in `exit`.

use crate::azure::AzureError;
use crate::cluster::ClusterError;
use crate::config::ConfigError;
use crate::exit::ExitCode;
use crate::remediation::RemediationError;
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
    #[error(transparent)]
    Remediation(#[from] RemediationError),
    #[error("failed to write {what} to stdout")]
    Output {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An input file named on the command line is missing or unreadable.
    #[error("failed to read {what} {path}")]
    Input {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file the run writes for itself could not be written.
    #[error("failed to write {what} {path}")]
    Write {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The command line asks for nothing this command can do.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            // A report given as input that cannot be read is bad input, like a bad config file.
            Error::Config(_)
            | Error::Input { .. }
            | Error::Usage(_)
            | Error::Report(ReportError::Read { .. } | ReportError::Parse { .. } | ReportError::NewerSchema { .. })
            | Error::Sim(SimError::Scenario { .. } | SimError::ScenarioParse { .. } | SimError::ScenarioInvalid(_)) => {
                ExitCode::ConfigError
            }
            _ => ExitCode::ToolError,
        }
    }
}

/// "outer: inner: root" so the user sees the whole cause, not just the top line.
pub fn render_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
