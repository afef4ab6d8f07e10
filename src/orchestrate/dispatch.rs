//! Routes a parsed command line to the command that handles it, and turns the result into an exit code.

use crate::cli::validate::process_env;
use crate::cli::{Cli, Command, Settings, Verbosity, init_logging};
use crate::error::{Error, render_chain};
use crate::exit::ExitCode;

use super::completions;
use super::report_cmd::report_command;

/// Runs the command and returns the process exit code; errors are printed here, once.
pub async fn dispatch(cli: Cli) -> ExitCode {
    init_logging(Verbosity::from_flags(cli.global.verbose, cli.global.quiet));
    let result: Result<ExitCode, Error> = match &cli.command {
        Command::Run(args) => match settings(&cli) {
            Ok(s) => super::run::run_command(&s, args).await,
            Err(e) => Err(e),
        },
        Command::Report(args) => settings(&cli).and_then(|s| report_command(&s, args)),
        Command::Remediate(args) => match settings(&cli) {
            Ok(s) => super::remediate_cmd::run(&s, args).await,
            Err(e) => Err(e),
        },
        Command::Monitor(args) => match settings(&cli) {
            Ok(s) => super::monitor_cmd::run(&s, args).await,
            Err(e) => Err(e),
        },
        Command::Snapshot(args) => match settings(&cli) {
            Ok(s) => super::snapshot_cmd::run(&s, args).await,
            Err(e) => Err(e),
        },
        Command::Demo(args) => match settings(&cli) {
            Ok(s) => super::demo::demo_command(&s, args).await,
            Err(e) => Err(e),
        },
        Command::Sim(args) => super::sim_cmd::run(args).await,
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
