//! The command line: clap's view of flags, and their validation into settings.

pub mod args;
pub mod logging;
pub mod validate;

pub use args::{Cli, Command};
pub use logging::init_logging;
pub use validate::{KubeconfigSource, Settings, Verbosity, resolve};
