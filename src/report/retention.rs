//! Report history retention: which timestamped reports and suite log directories are old enough to remove.
//!
//! Age comes from the timestamp in the name (`test-report-YYYY-MM-DD-HHMMSS.*`, `logs-YYYY-MM-DD-HHMMSS`),
//! not from file times, so copying a reports directory around does not change what is kept.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The run time a report or log-directory name carries, if it is one of ours.
pub fn stamp_of(name: &str) -> Option<Timestamp> {
    let rest = name.strip_prefix("test-report-").or_else(|| name.strip_prefix("logs-"))?;
    let stamp = rest.get(..17)?;
    let dt = DateTime::strptime("%Y-%m-%d-%H%M%S", stamp).ok()?;
    dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// The names among `names` older than `days` days at `now`. `days == 0` keeps everything.
pub fn expired<'a>(names: impl IntoIterator<Item = &'a str>, days: u64, now: Timestamp) -> Vec<&'a str> {
    if days == 0 {
        return Vec::new();
    }
    let max_age = jiff::SignedDuration::from_hours(24 * i64::try_from(days).unwrap_or(i64::MAX / 24));
    names.into_iter().filter(|n| stamp_of(n).is_some_and(|t| now.duration_since(t) > max_age)).collect()
}

/// Removes expired reports and log directories under `dir`; returns what was removed and what could not be.
pub fn prune(dir: &Path, days: u64, now: Timestamp) -> (Vec<PathBuf>, Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (Vec::new(), Vec::new()) };
    let names: Vec<String> =
        entries.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    let mut removed = Vec::new();
    let mut problems = Vec::new();
    for name in expired(names.iter().map(String::as_str), days, now) {
        let path = dir.join(name);
        let result = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        match result {
            Ok(()) => removed.push(path),
            Err(e) => problems.push(format!("could not remove old report {}: {e}", path.display())),
        }
    }
    (removed, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_past_the_age_expire() {
        let now: Timestamp = "2026-03-31T12:00:00Z".parse().unwrap();
        let names = [
            "test-report-2026-02-01-101500.json",
            "test-report-2026-03-30-101500.md",
            "logs-2026-01-01-000000",
            "notes.txt",
            "test-report-garbage.json",
        ];
        assert_eq!(expired(names, 30, now), vec!["test-report-2026-02-01-101500.json", "logs-2026-01-01-000000"]);
        assert!(expired(names, 0, now).is_empty());
    }

    #[test]
    fn prune_removes_files_and_dirs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test-report-2020-01-01-000000.json"), "{}").unwrap();
        std::fs::create_dir(dir.path().join("logs-2020-01-01-000000")).unwrap();
        std::fs::write(dir.path().join("keep.txt"), "").unwrap();
        let (removed, problems) = prune(dir.path(), 1, Timestamp::now());
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(problems.is_empty());
        assert!(dir.path().join("keep.txt").exists());
    }
}
