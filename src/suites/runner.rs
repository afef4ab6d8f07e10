//! Running one suite as a subprocess: its own process group, output streamed to log files,
//! a timeout and cancellation that kill the whole group (SIGTERM, then SIGKILL after a grace).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::suites::command::SuiteSpec;
use crate::suites::error::SuiteError;
use crate::suites::outcome::ProcessExit;

/// How much output is kept in memory for messages (half per stream); the rest is only in the logs.
pub const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

/// How long leftover group members get after the main process ended before SIGKILL.
const ORPHAN_GRACE: Duration = Duration::from_secs(2);

/// How long to wait for the output pipes to close once the group is gone. Something that left
/// the group (e.g. `setsid`) may hold them open forever; its output then ends up cut short.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What running a suite gave. A failing or timed-out suite is an outcome, not an error.
#[derive(Debug, Clone)]
pub struct SuiteExecution {
    /// `timed_out` is also set when the run was cancelled (see `cancelled`).
    pub exit: ProcessExit,
    pub cancelled: bool,
    pub started: jiff::Timestamp,
    pub duration: Duration,
    pub stdout_log: PathBuf,
    pub stderr_log: PathBuf,
    /// For messages: the last 32 KiB of stdout, then the last 32 KiB of stderr under a
    /// `--- stderr ---` line (kept apart: two pipes have no reliable relative order).
    pub output_tail: String,
}

/// Runs `spec` to completion, its timeout, or `cancel`, whichever comes first.
pub async fn run_suite(spec: &SuiteSpec, cancel: &CancellationToken) -> Result<SuiteExecution, SuiteError> {
    let stdout_file = create_log(&spec.stdout_log).await?;
    let stderr_file = create_log(&spec.stderr_log).await?;
    for dir in [&spec.results_dir, &spec.report_file.as_ref().and_then(|f| f.parent().map(Path::to_path_buf))]
        .into_iter()
        .flatten()
    {
        tokio::fs::create_dir_all(dir).await.map_err(|source| SuiteError::LogFile { path: dir.clone(), source })?;
    }

    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.working_dir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout can signal every descendant at once.
        .process_group(0)
        .kill_on_drop(true);

    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let mut child = command.spawn().map_err(|source| SuiteError::Spawn {
        framework: spec.framework,
        program: spec.program.clone(),
        source,
    })?;
    let pgid = child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw);

    let out_tail = Arc::new(Mutex::new(Tail::new(OUTPUT_TAIL_BYTES / 2)));
    let err_tail = Arc::new(Mutex::new(Tail::new(OUTPUT_TAIL_BYTES / 2)));
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        pumps.push(tokio::spawn(pump(out, stdout_file, spec.stdout_log.clone(), Arc::clone(&out_tail))));
    }
    if let Some(err) = child.stderr.take() {
        pumps.push(tokio::spawn(pump(err, stderr_file, spec.stderr_log.clone(), Arc::clone(&err_tail))));
    }

    let mut timed_out = false;
    let mut cancelled = false;
    // The suite's limit, from its config (`timeout_minutes`).
    let status = tokio::select! {
        status = child.wait() => Some(status),
        () = tokio::time::sleep(spec.timeout) => { timed_out = true; None }
        () = cancel.cancelled() => { cancelled = true; None }
    };
    let status = match status {
        Some(status) => status,
        None => {
            signal_group(pgid, Signal::SIGTERM);
            // The suite's `kill_grace_seconds` to clean up after SIGTERM.
            match tokio::time::timeout(spec.kill_grace, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    signal_group(pgid, Signal::SIGKILL);
                    // No timeout: SIGKILL cannot be caught, so this ends as soon as the kernel reaps it.
                    child.wait().await
                }
            }
        }
    }
    .map_err(|source| SuiteError::Wait { framework: spec.framework, source })?;

    // The main process is gone; anything left in its group (`sleep 1000 &`) is an orphan.
    reap_group(pgid).await;

    let mut notes = Vec::new();
    for pump in pumps {
        // DRAIN_TIMEOUT: see its definition.
        match tokio::time::timeout(DRAIN_TIMEOUT, pump).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(note))) => notes.push(note),
            Ok(Err(join)) => notes.push(format!("output reader failed: {join}")),
            Err(_) => notes.push(format!(
                "output still open {}s after the suite ended (a process left its group); log cut short",
                DRAIN_TIMEOUT.as_secs()
            )),
        }
    }

    let duration = clock.elapsed();
    let mut output_tail = out_tail.lock().map(|t| t.to_string_lossy()).unwrap_or_default();
    let stderr_tail = err_tail.lock().map(|t| t.to_string_lossy()).unwrap_or_default();
    if !stderr_tail.is_empty() {
        if !output_tail.is_empty() && !output_tail.ends_with('\n') {
            output_tail.push('\n');
        }
        output_tail.push_str("--- stderr ---\n");
        output_tail.push_str(&stderr_tail);
    }
    for note in notes {
        tracing::warn!(framework = %spec.framework, "{note}");
        output_tail.push_str(&format!("\n[aks-spot-test] {note}\n"));
    }
    if timed_out {
        output_tail
            .push_str(&format!("\n[aks-spot-test] suite timed out after {:?}; process group killed\n", spec.timeout));
    } else if cancelled {
        output_tail.push_str("\n[aks-spot-test] run cancelled; process group killed\n");
    }

    use std::os::unix::process::ExitStatusExt;
    Ok(SuiteExecution {
        exit: ProcessExit { code: status.code(), signal: status.signal(), timed_out: timed_out || cancelled },
        cancelled,
        started,
        duration,
        stdout_log: spec.stdout_log.clone(),
        stderr_log: spec.stderr_log.clone(),
        output_tail,
    })
}

async fn create_log(path: &Path) -> Result<tokio::fs::File, SuiteError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| SuiteError::LogFile { path: path.to_path_buf(), source })?;
    }
    tokio::fs::File::create(path).await.map_err(|source| SuiteError::LogFile { path: path.to_path_buf(), source })
}

fn signal_group(pgid: Option<Pid>, signal: Signal) {
    if let Some(pgid) = pgid {
        // ESRCH means the group is already empty: nothing to do.
        if let Err(e) = killpg(pgid, signal)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(%pgid, ?signal, "failed to signal the suite's process group: {e}");
        }
    }
}

/// Ends whatever is left of the group after its leader exited: SIGTERM, then SIGKILL after
/// ORPHAN_GRACE. The group id stays reserved while any member lives, so it cannot hit a stranger.
async fn reap_group(pgid: Option<Pid>) {
    let Some(pgid) = pgid else { return };
    if killpg(pgid, None).is_err() {
        return;
    }
    signal_group(Some(pgid), Signal::SIGTERM);
    // ORPHAN_GRACE, polled: the members are not our children, so there is nothing to wait on.
    let deadline = Instant::now() + ORPHAN_GRACE;
    while Instant::now() < deadline {
        if killpg(pgid, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signal_group(Some(pgid), Signal::SIGKILL);
}

/// Copies one pipe to its log file as it comes, keeping the tail. Returns a note on failure.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    file: tokio::fs::File,
    path: PathBuf,
    tail: Arc<Mutex<Tail>>,
) -> Result<(), String> {
    // Unbuffered on our side, so a log being watched (`tail -f`) shows output as it comes.
    let mut log = file;
    let mut buf = vec![0u8; 16 * 1024];
    let mut write_error = None;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("failed to read suite output: {e}")),
        };
        let chunk = &buf[..n];
        if let Ok(mut t) = tail.lock() {
            t.push(chunk);
        }
        // Keep draining after a write error, or the suite blocks on a full pipe.
        if write_error.is_none()
            && let Err(e) = log.write_all(chunk).await
        {
            write_error = Some(e);
        }
    }
    if write_error.is_none()
        && let Err(e) = log.flush().await
    {
        write_error = Some(e);
    }
    match write_error {
        Some(e) => Err(format!("failed to write {}: {e}", path.display())),
        None => Ok(()),
    }
}

/// The last `cap` bytes seen.
#[derive(Debug)]
struct Tail {
    cap: usize,
    bytes: VecDeque<u8>,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Tail { cap, bytes: VecDeque::with_capacity(cap) }
    }

    fn push(&mut self, chunk: &[u8]) {
        let chunk = &chunk[chunk.len().saturating_sub(self.cap)..];
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.cap);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// The tail as text; a character cut at the start becomes U+FFFD.
    fn to_string_lossy(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        let mut v = Vec::with_capacity(a.len() + b.len());
        v.extend_from_slice(a);
        v.extend_from_slice(b);
        String::from_utf8_lossy(&v).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes() {
        let mut t = Tail::new(8);
        t.push(b"hello ");
        t.push(b"world");
        assert_eq!(t.to_string_lossy(), "lo world");
        t.push(b"0123456789abcdef");
        assert_eq!(t.to_string_lossy(), "89abcdef");
        t.push(b"");
        assert_eq!(t.bytes.len(), 8);
    }

    proptest::proptest! {
        #[test]
        fn tail_never_exceeds_cap_and_matches_the_suffix(chunks in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..40), 0..20), cap in 1usize..64) {
            let mut t = Tail::new(cap);
            let mut all = Vec::new();
            for c in &chunks {
                t.push(c);
                all.extend_from_slice(c);
            }
            let expected = &all[all.len().saturating_sub(cap)..];
            let got: Vec<u8> = t.bytes.iter().copied().collect();
            proptest::prop_assert_eq!(got.as_slice(), expected);
        }
    }
}
