//! Routes a parsed command line to the command that handles it, and turns the result into an exit code.

use crate::cli::validate::process_env;
use crate::cli::{Cli, Command, Settings, Verbosity, init_logging};
use crate::error::Error;
use crate::exit::ExitCode;

use super::completions;

/// Runs the command and returns the process exit code; errors are printed here, once.
pub async fn dispatch(cli: Cli) -> ExitCode {
    init_logging(Verbosity::from_flags(cli.global.verbose, cli.global.quiet));
    let result: Result<ExitCode, Error> = match &cli.command {
        Command::Run(_) => settings(&cli).and(Err(Error::NotImplemented("run"))),
        Command::Report(_) => settings(&cli).and(Err(Error::NotImplemented("report"))),
        Command::Remediate(_) => settings(&cli).and(Err(Error::NotImplemented("remediate"))),
        Command::Monitor(_) => settings(&cli).and(Err(Error::NotImplemented("monitor"))),
        Command::Snapshot(_) => settings(&cli).and(Err(Error::NotImplemented("snapshot"))),
        Command::Demo(_) => settings(&cli).and(Err(Error::NotImplemented("demo"))),
        Command::Sim(_) => Err(Error::NotImplemented("sim")),
        Command::Completions(args) => completions::run(args.shell, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", render_chain(&err));
            err.exit_code()
        }
    }
}

/// The layered configuration for commands that need one; its warnings are logged here, once.
fn settings(cli: &Cli) -> Result<Settings, Error> {
    let run = match &cli.command {
        Command::Run(args) => Some(args),
        _ => None,
    };
    let settings = crate::cli::resolve(&cli.global, run, &process_env())?;
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    Ok(settings)
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
