//! The process exit codes, in one place: what each means and how outcomes and errors map to them.

/// Exit codes of `aks-spot-test`, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every test passed.
    Success = 0,
    /// The tool worked and some tests failed.
    TestFailures = 1,
    /// The tool or the cluster failed: pre-flight, unreachable API server, run lock held.
    ToolError = 2,
    /// The configuration or the command line is wrong.
    ConfigError = 3,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The code for a finished run: failures beat success, and nothing else is decided here.
    pub fn for_failed_count(failed: u64) -> Self {
        if failed == 0 { ExitCode::Success } else { ExitCode::TestFailures }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
