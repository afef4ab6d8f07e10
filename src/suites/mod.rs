//! The three test suites: running them as subprocesses, and one pure parser per framework.

pub mod error;
pub mod outcome;

pub use error::SuiteError;
pub use outcome::{ParsedSuite, ProcessExit};
