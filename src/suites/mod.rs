//! The three test suites: running them as subprocesses, and one pure parser per framework.

pub mod bash;
pub mod classify;
pub mod error;
pub mod outcome;
pub mod pytest;
pub mod terratest;

pub use classify::{ParseContext, category_for};
pub use error::SuiteError;
pub use outcome::{ParsedSuite, ProcessExit};
