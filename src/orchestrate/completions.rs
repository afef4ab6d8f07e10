//! The `completions` command: shell completion scripts generated from the clap definitions.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::cli::args::Shell;
use crate::error::Error;
use crate::exit::ExitCode;

/// The completion script for `shell`, as text.
pub fn script(shell: Shell) -> Vec<u8> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let mut out = Vec::new();
    // Into memory first: clap_complete panics on a failed write, and stdout may be a closed pipe.
    clap_complete::generate(shell, &mut command, name, &mut out);
    out
}

/// Writes the completion script for `shell` to `out`.
pub(crate) fn run(shell: Shell, out: &mut dyn Write) -> Result<ExitCode, Error> {
    match out.write_all(&script(shell)).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::Success),
        // `completions bash | head`: the reader has what it wanted.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::Success),
        Err(source) => Err(Error::Output { what: "completions", source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            let code = run(shell, &mut out).expect("writes to memory");
            assert_eq!(code, ExitCode::Success);
            let text = String::from_utf8(out).expect("utf-8 script");
            assert!(text.contains("aks-spot-test"), "{shell:?}");
            for sub in ["run", "remediate", "monitor", "snapshot", "completions"] {
                assert!(text.contains(sub), "{shell:?} script lacks {sub}");
            }
        }
    }
}
