//! The simulator's request log: one record per HTTP request (method, path, status), kept in
//! memory for tests and optionally appended to a file for `aks-spot-test sim --request-log`.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `kube` or `arm`: which endpoint answered.
    pub endpoint: &'static str,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub status: u16,
}

impl RequestRecord {
    /// True for verbs that change state (what a dry run must never send).
    pub fn is_mutating(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

#[derive(Debug, Default)]
struct Inner {
    records: Vec<RequestRecord>,
    file: Option<std::fs::File>,
}

/// Shared request log. Clones share the same records.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
}

impl RequestLog {
    /// Also append every record to `path` as `METHOD PATH STATUS` lines.
    pub fn with_file(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(RequestLog { inner: Arc::new(Mutex::new(Inner { records: vec![], file: Some(file) })) })
    }

    pub fn push(&self, record: RequestRecord) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = inner.file.as_mut() {
            // The log is a diagnostic aid: a failed write must not fail the request.
            let _ = writeln!(f, "{} {} {} {}", record.endpoint, record.method, record.path, record.status);
        }
        inner.records.push(record);
    }

    /// A copy of every record so far.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).records.clone()
    }

    /// The mutating requests so far.
    pub fn mutating(&self) -> Vec<RequestRecord> {
        self.records().into_iter().filter(RequestRecord::is_mutating).collect()
    }

    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).records.clear();
    }
}

/// axum middleware state: which endpoint this router is, and the log to write to.
#[derive(Debug, Clone)]
pub struct LogLayerState {
    pub endpoint: &'static str,
    pub log: RequestLog,
}

/// axum middleware recording every request after it is answered.
pub async fn record(State(state): State<LogLayerState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let response = next.run(req).await;
    state.log.push(RequestRecord { endpoint: state.endpoint, method, path, status: response.status().as_u16() });
    response
}
