//! Routes a parsed command line to the command that handles it, and turns the result into an exit code.

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::exit::ExitCode;

/// Runs the command and returns the process exit code; errors are printed here, once.
pub async fn dispatch(cli: Cli) -> ExitCode {
    let result: Result<ExitCode, Error> = match &cli.command {
        Command::Run(_) => Err(Error::NotImplemented("run")),
        Command::Report(_) => Err(Error::NotImplemented("report")),
        Command::Remediate(_) => Err(Error::NotImplemented("remediate")),
        Command::Monitor(_) => Err(Error::NotImplemented("monitor")),
        Command::Snapshot(_) => Err(Error::NotImplemented("snapshot")),
        Command::Demo(_) => Err(Error::NotImplemented("demo")),
        Command::Sim(args) => super::sim_cmd::run(args).await,
        Command::Completions(_) => Err(Error::NotImplemented("completions")),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", render_chain(&err));
            err.exit_code()
        }
    }
}

/// "outer: inner: root" so the user sees the whole cause, not just the top line.
pub(crate) fn render_chain(err: &dyn std::error::Error) -> String {
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
