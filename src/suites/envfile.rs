//! Reading a suite's `.env` file without a shell: `KEY=value` lines, quotes, comments, `export`.
//!
//! Input format: dotenv as `dotenvy` parses it (single and double quotes, `#` comments, an optional
//! `export ` prefix, empty values, `${VAR}` substitution from earlier lines and the process env;
//! single-quoted values are taken literally). Nothing is ever executed.

use std::path::{Path, PathBuf};

use crate::suites::error::SuiteError;

/// What reading a `.env` file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvFile {
    /// The variables, in file order (a later duplicate wins when applied).
    Loaded { path: PathBuf, vars: Vec<(String, String)> },
    /// There is no such file: the caller decides whether that deserves a warning.
    Missing { path: PathBuf },
}

impl EnvFile {
    /// The variables, or none when the file is missing.
    pub fn vars(&self) -> &[(String, String)] {
        match self {
            EnvFile::Loaded { vars, .. } => vars,
            EnvFile::Missing { .. } => &[],
        }
    }
}

/// Reads and parses `path`. A missing file is `EnvFile::Missing`, not an error.
pub fn read_env_file(path: &Path) -> Result<EnvFile, SuiteError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(EnvFile::Missing { path: path.to_path_buf() });
        }
        Err(source) => return Err(SuiteError::Read { path: path.to_path_buf(), source }),
    };
    let vars = parse_env(&text).map_err(|(line, message)| SuiteError::EnvFileSyntax {
        path: path.to_path_buf(),
        line,
        message,
    })?;
    Ok(EnvFile::Loaded { path: path.to_path_buf(), vars })
}

/// Parses dotenv text. On error returns the 1-based line number and what is wrong there.
pub fn parse_env(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut vars = Vec::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok(pair) => vars.push(pair),
            Err(dotenvy::Error::LineParse(fragment, index)) => {
                let line = locate_error(text, &fragment, index);
                return Err((line, format!("cannot parse {:?} (at character {index})", first_line(&fragment))));
            }
            Err(other) => return Err((0, other.to_string())),
        }
    }
    Ok(vars)
}

fn first_line(fragment: &str) -> &str {
    fragment.lines().next().unwrap_or(fragment)
}

/// dotenvy names the offending text, not its line number. The culprit is the last line of the
/// shortest prefix of the file that fails with the very same error (a prefix cutting a valid
/// multi-line value fails differently). `.env` files are small, so re-parsing is cheap.
fn locate_error(text: &str, fragment: &str, index: usize) -> usize {
    let mut end = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        end += line.len();
        let fails_the_same = dotenvy::from_read_iter(&text.as_bytes()[..end])
            .any(|item| matches!(item, Err(dotenvy::Error::LineParse(ref f, i)) if f == fragment && i == index));
        if fails_the_same {
            return n + 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, val)| (k.to_string(), val.to_string())).collect()
    }

    #[test]
    fn parses_quotes_comments_export_and_empty_values() {
        let text = "# cluster settings\n\
                    export RESOURCE_GROUP=rg-aks-spot\n\
                    CLUSTER_NAME=\"aks spot prod\"   # trailing comment\n\
                    LITERAL='${NOT_EXPANDED} $x'\n\
                    EMPTY=\n\
                    \n\
                    QUOTED_HASH=\"a # not a comment\"\n\
                    POOL_MAX_spotmemory1=20\n";
        let vars = parse_env(text).expect("valid file");
        assert_eq!(
            vars,
            pairs(&[
                ("RESOURCE_GROUP", "rg-aks-spot"),
                ("CLUSTER_NAME", "aks spot prod"),
                ("LITERAL", "${NOT_EXPANDED} $x"),
                ("EMPTY", ""),
                ("QUOTED_HASH", "a # not a comment"),
                ("POOL_MAX_spotmemory1", "20"),
            ])
        );
    }

    #[test]
    fn never_runs_command_substitution() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("ran");
        let text = format!("X=\"$(touch {m})\"\nY='`touch {m}`'\nZ='$(touch {m})'\n", m = marker.display());
        let vars = parse_env(&text).expect("valid file");
        assert!(!marker.exists(), "a command ran");
        assert_eq!(vars[1].1, format!("`touch {}`", marker.display()));
        assert_eq!(vars[2].1, format!("$(touch {})", marker.display()));
    }

    #[test]
    fn malformed_line_names_its_line_number() {
        let text = "A=1\n# comment\nB=2\nthis is not an assignment\nC=3\n";
        let (line, message) = parse_env(text).expect_err("line 4 is malformed");
        assert_eq!(line, 4);
        assert!(message.contains("this is not an assignment"), "{message}");

        // A valid multi-line value before the culprit, and the culprit's text seen earlier.
        let text = "M=\"first\nsecond\"\nV=a b\nOK=1\nW=a b\n";
        let (line, _) = parse_env(text).expect_err("line 3 is malformed");
        assert_eq!(line, 3);
    }

    #[test]
    fn missing_file_is_an_outcome_and_bad_file_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.env");
        assert_eq!(read_env_file(&missing).expect("not an error"), EnvFile::Missing { path: missing });

        let bad = dir.path().join("bad.env");
        std::fs::write(&bad, "OK=1\nNOT VALID\n").expect("write");
        let err = read_env_file(&bad).expect_err("malformed");
        match &err {
            SuiteError::EnvFileSyntax { path, line, .. } => {
                assert_eq!(path, &bad);
                assert_eq!(*line, 2);
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("bad.env"), "{err}");

        let good = dir.path().join("good.env");
        std::fs::write(&good, "K=v\n").expect("write");
        assert_eq!(read_env_file(&good).expect("loads").vars(), pairs(&[("K", "v")]).as_slice());
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,200}") {
            let _ = parse_env(&text);
        }

        #[test]
        fn simple_assignments_round_trip(key in "[A-Z_][A-Z0-9_]{0,12}", value in "[a-zA-Z0-9_./:-]{0,20}") {
            let vars = parse_env(&format!("{key}={value}\n")).expect("simple line parses");
            proptest::prop_assert_eq!(vars, vec![(key, value)]);
        }
    }
}
