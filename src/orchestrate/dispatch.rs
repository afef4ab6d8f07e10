//! Routes a parsed command line to the command that handles it, and turns the result into an exit code.

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::error::Error;
use crate::exit::ExitCode;

/// Runs the command and returns the process exit code; errors are printed here, once.
pub async fn dispatch(cli: Cli) -> ExitCode {
    // Until the config loader lands, commands see the built-in defaults (flags still win over them).
    let config = Config::default();
    let result: Result<ExitCode, Error> = match &cli.command {
        Command::Run(_) => Err(Error::NotImplemented("run")),
        Command::Report(_) => Err(Error::NotImplemented("report")),
        Command::Remediate(_) => Err(Error::NotImplemented("remediate")),
        Command::Monitor(args) => super::monitor_cmd::run(&cli.global, &config, args).await,
        Command::Snapshot(args) => super::snapshot_cmd::run(&cli.global, &config, args).await,
        Command::Demo(_) => Err(Error::NotImplemented("demo")),
        Command::Sim(_) => Err(Error::NotImplemented("sim")),
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
