//! The `aks-spot-test` binary: parses flags and hands over to the library.

use aks_spot_test::ExitCode;
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = match aks_spot_test::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap exits 2 on bad usage; here 2 means a tool or cluster error, and a wrong
            // command line is a configuration error.
            let _ = err.print();
            return if err.use_stderr() { ExitCode::ConfigError } else { ExitCode::Success }.into();
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitCode::ToolError.into();
        }
    };
    runtime.block_on(aks_spot_test::orchestrate::dispatch(cli)).into()
}
