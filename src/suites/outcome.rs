//! What a suite run leaves behind for the parsers: how the process ended, and what a parser returns.

use crate::report::model::TestResult;

/// How a suite process ended. `None` fields mean "not known" (e.g. `report` over saved output).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
}

impl ProcessExit {
    /// True when the process is known to have ended badly (non-zero, signalled or timed out).
    pub fn failed(&self) -> bool {
        self.timed_out || self.signal.is_some() || self.code.is_some_and(|c| c != 0)
    }
}

/// What a parser made of one suite's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedSuite {
    pub results: Vec<TestResult>,
    /// Raw text the parser could not attribute to any test (capped, tail kept).
    pub unattributed: String,
    /// Human sentences about the input itself (truncated file, unknown fields, ...).
    pub notes: Vec<String>,
}
