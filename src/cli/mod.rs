//! The command line: clap's view of flags, and their validation into settings.

pub mod args;

pub use args::{Cli, Command};
