//! The three test suites: running them as subprocesses, and one pure parser per framework.

pub mod bash;
pub mod classify;
pub mod command;
pub mod envfile;
pub mod execute;
pub mod error;
pub mod outcome;
pub mod pytest;
pub mod runner;
pub mod terratest;

pub use classify::{ParseContext, category_for};
pub use command::{MissingTool, Prepared, SpecInputs, SuiteSpec, prepare_suite};
pub use envfile::{EnvFile, read_env_file};
pub use execute::{SuiteOutcome, execute_suite, skipped_run};
pub use error::SuiteError;
pub use outcome::{ParsedSuite, ProcessExit};
pub use runner::{SuiteExecution, run_suite};
