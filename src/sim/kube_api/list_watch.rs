//! List bodies written item by item from the store's shared objects, and watch streams
//! (`{"type":...,"object":...}` lines over a chunked response).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::faults::KubeFaults;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::table::{self, IncludeObject};
use crate::sim::store::{Change, ListPage, ResourceKind, Store, StoreError, WatchEventType};

/// How often a watch that allows bookmarks gets one, besides the one at its timeout.
pub const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// Which objects a list or watch covers.
#[derive(Debug, Clone)]
pub struct Scope {
    pub kind: ResourceKind,
    /// `None`: every namespace.
    pub namespace: Option<String>,
    /// Set by the legacy `/watch/.../{name}` path.
    pub name: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Scope {
    /// No selector narrows the list: only then does a page report remainingItemCount.
    pub fn is_unfiltered(&self) -> bool {
        self.name.is_none() && self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let md = obj.get("metadata");
        let field = |f: &str| md.and_then(|m| m.get(f)).and_then(Value::as_str).unwrap_or_default();
        if let Some(ns) = self.namespace.as_deref().filter(|_| self.kind.namespaced()) {
            if field("namespace") != ns {
                return false;
            }
        }
        if self.name.as_deref().is_some_and(|n| field("name") != n) {
            return false;
        }
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

/// A JSON response from bytes already serialised.
pub fn json_bytes(code: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn list_meta(page: &ListPage) -> Value {
    let mut meta = json!({"resourceVersion": page.resource_version.to_string()});
    if let Some(tok) = &page.continue_token {
        meta["continue"] = json!(tok);
    }
    if let Some(n) = page.remaining {
        meta["remainingItemCount"] = json!(n);
    }
    meta
}

/// Lists one page; `table` asks for a meta.k8s.io Table instead of a `<Kind>List`.
pub fn list(
    store: &Store,
    faults: &KubeFaults,
    scope: &Scope,
    limit: Option<usize>,
    continue_token: Option<&str>,
    table: Option<IncludeObject>,
) -> Result<Response, ApiError> {
    if faults.take_failed_list() {
        return Err(ApiError::Internal(format!("injected failure listing {}", scope.kind.plural())));
    }
    let ns = scope.namespace.as_deref().filter(|_| scope.kind.namespaced());
    // The namespace is the store's key prefix, so an unfiltered scope needs no per-object check,
    // and counting the rest of a 150,000-pod list stays cheap.
    let unfiltered = scope.is_unfiltered();
    let page = store
        .list_page(scope.kind, ns, limit, continue_token, |o| unfiltered || scope.matches(o), unfiltered)
        .map_err(|e| match e {
        // An unreadable token is the client's mistake, as on the real server.
        StoreError::Invalid(m) => ApiError::BadRequest(m),
        other => ApiError::from_store(scope.kind, other),
    })?;
    let meta = list_meta(&page);
    let body = match table {
        Some(include) => serde_json::to_vec(&table::table(scope.kind, page.items.iter().map(|o| &**o), meta, include)),
        None => write_list(scope.kind, &meta, &page.items),
    }
    .map_err(|e| ApiError::Internal(format!("failed to encode list: {e}")))?;
    Ok(json_bytes(StatusCode::OK, body))
}

/// Writes `{"kind":"<Kind>List",...,"items":[...]}` one item at a time from the shared objects.
fn write_list(kind: ResourceKind, meta: &Value, items: &[Arc<Value>]) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(256 + items.len() * 1024);
    buf.extend_from_slice(b"{\"kind\":");
    serde_json::to_writer(&mut buf, &format!("{}List", kind.kind()))?;
    buf.extend_from_slice(b",\"apiVersion\":");
    serde_json::to_writer(&mut buf, &kind.api_version())?;
    buf.extend_from_slice(b",\"metadata\":");
    serde_json::to_writer(&mut buf, meta)?;
    buf.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        serde_json::to_writer(&mut buf, &**item)?;
    }
    buf.extend_from_slice(b"]}");
    Ok(buf)
}

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    pub scope: Scope,
    /// The `resourceVersion` parameter: absent or "0" starts with ADDED for everything matching.
    pub resource_version: Option<String>,
    pub timeout: Duration,
    pub bookmarks: bool,
    pub table: Option<IncludeObject>,
}

/// The default watch timeout: a few minutes, randomised like the real server's.
pub fn default_timeout() -> Duration {
    Duration::from_secs(rand::random_range(240..=480))
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(b"{\"type\":");
    // Writing into a Vec cannot fail for a Value.
    let _ = serde_json::to_writer(&mut buf, event_type);
    buf.extend_from_slice(b",\"object\":");
    let _ = serde_json::to_writer(&mut buf, object);
    buf.extend_from_slice(b"}\n");
    Bytes::from(buf)
}

/// Starts a watch: 200 with a chunked stream of events (a too-old resourceVersion is an ERROR event).
pub fn watch(store: &Store, faults: &KubeFaults, req: WatchRequest) -> Result<Response, ApiError> {
    let rv = match req.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {s:?}")))?),
    };
    let mut pending: VecDeque<(WatchEventType, Arc<Value>)> = VecDeque::new();
    let (live, skip_upto, start_rv) = match rv {
        Some(rv) if faults.take_gone_watch() => return Ok(gone_response(rv, store.current_rv())),
        Some(rv) => match store.watch(req.scope.kind, rv) {
            Ok(start) => {
                pending.extend(start.backlog.iter().filter_map(|c| project(&req.scope, c)));
                // The backlog holds everything up to now; live only what comes after the subscription.
                (start.live, 0, rv)
            }
            Err(StoreError::Gone { requested, oldest }) => return Ok(gone_response(requested, oldest)),
            Err(e) => return Err(ApiError::from_store(req.scope.kind, e)),
        },
        None => {
            // Subscribe first, then list: a change racing the list shows up in both, and the
            // list's resourceVersion says which live changes it already covers.
            let live = store.watch(req.scope.kind, 0).map_err(|e| ApiError::from_store(req.scope.kind, e))?.live;
            let ns = req.scope.namespace.as_deref().filter(|_| req.scope.kind.namespaced());
            let page = store
                .list(req.scope.kind, ns, None, None, |o| req.scope.matches(o))
                .map_err(|e| ApiError::from_store(req.scope.kind, e))?;
            pending.extend(page.items.into_iter().map(|o| (WatchEventType::Added, o)));
            (live, page.resource_version, page.resource_version)
        }
    };
    let now = Instant::now();
    let deadline = now + req.timeout;
    let session = WatchSession {
        req,
        pending,
        live,
        dropped: faults.drop_signal(),
        drop_closed: false,
        deadline,
        next_bookmark: now + BOOKMARK_EVERY,
        last_rv: start_rv.max(skip_upto),
        skip_upto,
        sent_columns: false,
        done: false,
    };
    let stream = futures::stream::unfold(session, |mut s| async move {
        s.next_chunk().await.map(|chunk| (Ok::<_, Infallible>(chunk), s))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// What a watch with this scope sees of a change, as the real watch cache does it: an object
/// that starts matching its selectors is ADDED, one that stops matching is DELETED (its previous
/// state, at the change's resourceVersion).
pub fn project(scope: &Scope, c: &Change) -> Option<(WatchEventType, Arc<Value>)> {
    if c.kind != scope.kind {
        return None;
    }
    let now = scope.matches(&c.object);
    match c.event_type {
        WatchEventType::Added | WatchEventType::Deleted => now.then(|| (c.event_type, c.object.clone())),
        WatchEventType::Modified => {
            let before = c.previous.as_deref().is_some_and(|p| scope.matches(p));
            match (before, now) {
                (true, true) => Some((WatchEventType::Modified, c.object.clone())),
                (false, true) => Some((WatchEventType::Added, c.object.clone())),
                (true, false) => {
                    let mut gone = c.previous.as_deref().cloned().unwrap_or_default();
                    if let Some(md) = gone.get_mut("metadata").and_then(Value::as_object_mut) {
                        md.insert("resourceVersion".into(), json!(c.rv.to_string()));
                    }
                    Some((WatchEventType::Deleted, Arc::new(gone)))
                }
                (false, false) => None,
            }
        }
    }
}

fn gone_response(requested: u64, oldest: u64) -> Response {
    let status = ApiError::Gone { requested, oldest }.to_json();
    let mut resp = Response::new(Body::from(event_line("ERROR", &status)));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[derive(Debug)]
struct WatchSession {
    req: WatchRequest,
    pending: VecDeque<(WatchEventType, Arc<Value>)>,
    live: broadcast::Receiver<Change>,
    dropped: watch::Receiver<u64>,
    drop_closed: bool,
    deadline: Instant,
    next_bookmark: Instant,
    /// The highest resourceVersion this watch has accounted for (sent or filtered out).
    last_rv: u64,
    /// Live changes at or below this are already in the initial ADDED events.
    skip_upto: u64,
    sent_columns: bool,
    done: bool,
}

impl WatchSession {
    fn encode(&mut self, event_type: WatchEventType, obj: &Value) -> Bytes {
        match self.req.table {
            None => event_line(event_type.as_str(), obj),
            Some(include) => {
                let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
                let mut t = table::table(self.req.scope.kind, [obj], json!({"resourceVersion": rv}), include);
                // The first event carries the columns; kubectl reuses them for the rest.
                if self.sent_columns {
                    t["columnDefinitions"] = json!([]);
                }
                self.sent_columns = true;
                event_line(event_type.as_str(), &t)
            }
        }
    }

    fn bookmark(&self) -> Bytes {
        let kind = self.req.scope.kind;
        let obj = json!({
            "kind": if self.req.table.is_some() { "Table".to_string() } else { kind.kind().to_string() },
            "apiVersion": if self.req.table.is_some() { "meta.k8s.io/v1".to_string() } else { kind.api_version() },
            "metadata": {"resourceVersion": self.last_rv.to_string()},
        });
        event_line("BOOKMARK", &obj)
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some((t, obj)) = self.pending.pop_front() {
            if let Some(rv) =
                obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|s| s.parse().ok())
            {
                self.last_rv = self.last_rv.max(rv);
            }
            return Some(self.encode(t, &obj));
        }
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                biased;
                changed = self.dropped.changed(), if !self.drop_closed => {
                    if changed.is_ok() {
                        return None;
                    }
                    self.drop_closed = true;
                }
                // The watch's own timeout (`timeoutSeconds` or the randomised default).
                _ = tokio::time::sleep_until(self.deadline) => {
                    self.done = true;
                    return self.req.bookmarks.then(|| self.bookmark());
                }
                _ = tokio::time::sleep_until(self.next_bookmark), if self.req.bookmarks => {
                    self.next_bookmark += BOOKMARK_EVERY;
                    return Some(self.bookmark());
                }
                change = self.live.recv() => match change {
                    Ok(c) => {
                        if c.rv <= self.skip_upto {
                            continue;
                        }
                        self.last_rv = self.last_rv.max(c.rv);
                        if let Some((t, obj)) = project(&self.req.scope, &c) {
                            return Some(self.encode(t, &obj));
                        }
                    }
                    // A watcher too slow for the channel ends; the client resumes from its last
                    // resourceVersion (or gets 410 and re-lists), as with a real server.
                    Err(_) => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_on(node: &str) -> Scope {
        Scope {
            kind: ResourceKind::Pod,
            namespace: None,
            name: None,
            labels: LabelSelector::default(),
            fields: FieldSelector::parse(&format!("spec.nodeName={node}")).unwrap(),
        }
    }

    fn change(t: WatchEventType, node: &str, prev_node: Option<&str>) -> Change {
        let p = |n: &str| {
            Arc::new(
                json!({"metadata": {"name": "p", "namespace": "a", "resourceVersion": "5"}, "spec": {"nodeName": n}}),
            )
        };
        Change {
            kind: ResourceKind::Pod,
            rv: 9,
            event_type: t,
            namespace: "a".into(),
            object: p(node),
            previous: prev_node.map(p),
        }
    }

    #[test]
    fn selector_transitions_become_added_and_deleted() {
        let s = scope_on("n1");
        let t = |c: Change| project(&s, &c).map(|(t, o)| (t, o["metadata"]["resourceVersion"].clone()));
        assert_eq!(t(change(WatchEventType::Modified, "n1", Some(""))), Some((WatchEventType::Added, json!("5"))));
        assert_eq!(t(change(WatchEventType::Modified, "n2", Some("n1"))), Some((WatchEventType::Deleted, json!("9"))));
        assert_eq!(t(change(WatchEventType::Modified, "n1", Some("n1"))), Some((WatchEventType::Modified, json!("5"))));
        assert_eq!(t(change(WatchEventType::Modified, "n2", Some("n3"))), None);
        assert_eq!(t(change(WatchEventType::Deleted, "n1", Some("n1"))).map(|x| x.0), Some(WatchEventType::Deleted));
        let node_change = Change { kind: ResourceKind::Node, ..change(WatchEventType::Added, "n1", None) };
        assert_eq!(project(&s, &node_change), None);
    }
}
