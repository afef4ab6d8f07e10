//! Auto-remediation: a pure plan of what to delete and why, then an executor that honours dry run.
