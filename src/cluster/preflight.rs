//! Pre-flight checks other than the API server's: suites' `.env` files. (The API server check is
//! `client::preflight_api`; the Azure token check is `azure::credential::check_token`.)

use std::path::Path;

use crate::report::model::{CheckStatus, PreflightCheck};

/// One check per suite: `Ok` when its `.env` exists, `Warn` (defaults will be used) when it does not.
pub fn check_env_files(suites: &[(&str, &Path)]) -> Vec<PreflightCheck> {
    suites
        .iter()
        .map(|(suite, path)| {
            if path.is_file() {
                PreflightCheck {
                    name: format!("{suite}-env"),
                    status: CheckStatus::Ok,
                    message: format!("{} found", path.display()),
                }
            } else {
                PreflightCheck {
                    name: format!("{suite}-env"),
                    status: CheckStatus::Warn,
                    message: format!("{} not found: the {suite} suite runs with its defaults", path.display()),
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_warn_when_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let present = dir.path().join(".env");
        std::fs::write(&present, "A=1\n").expect("write");
        let missing = dir.path().join("missing.env");
        let checks = check_env_files(&[("bash", &present), ("python", &missing)]);
        assert_eq!(checks[0].status, CheckStatus::Ok);
        assert_eq!(checks[1].status, CheckStatus::Warn);
        assert!(checks[1].message.contains("missing.env"));
    }
}
