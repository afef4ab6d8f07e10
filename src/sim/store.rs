//! The simulator's object store: every Kubernetes object as JSON, one global resourceVersion,
//! a bounded change history for watches, and continue tokens for paginated lists.
//!
//! Objects are kept as `Arc<Value>` so a list page or a watch event shares the stored copy
//! instead of cloning it; the HTTP layer serialises straight from these.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// The resource kinds the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Namespace,
    Node,
    Pod,
    Event,
    Deployment,
    ReplicaSet,
    PodDisruptionBudget,
    Lease,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 8] = [
        ResourceKind::Namespace,
        ResourceKind::Node,
        ResourceKind::Pod,
        ResourceKind::Event,
        ResourceKind::Deployment,
        ResourceKind::ReplicaSet,
        ResourceKind::PodDisruptionBudget,
        ResourceKind::Lease,
    ];

    pub fn kind(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "Namespace",
            ResourceKind::Node => "Node",
            ResourceKind::Pod => "Pod",
            ResourceKind::Event => "Event",
            ResourceKind::Deployment => "Deployment",
            ResourceKind::ReplicaSet => "ReplicaSet",
            ResourceKind::PodDisruptionBudget => "PodDisruptionBudget",
            ResourceKind::Lease => "Lease",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "namespaces",
            ResourceKind::Node => "nodes",
            ResourceKind::Pod => "pods",
            ResourceKind::Event => "events",
            ResourceKind::Deployment => "deployments",
            ResourceKind::ReplicaSet => "replicasets",
            ResourceKind::PodDisruptionBudget => "poddisruptionbudgets",
            ResourceKind::Lease => "leases",
        }
    }

    /// API group ("" for core).
    pub fn group(self) -> &'static str {
        match self {
            ResourceKind::Deployment | ResourceKind::ReplicaSet => "apps",
            ResourceKind::PodDisruptionBudget => "policy",
            ResourceKind::Lease => "coordination.k8s.io",
            _ => "",
        }
    }

    pub fn version(self) -> &'static str {
        "v1"
    }

    pub fn api_version(self) -> String {
        match self.group() {
            "" => self.version().to_string(),
            g => format!("{g}/{}", self.version()),
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(self, ResourceKind::Namespace | ResourceKind::Node)
    }

    pub fn from_group_plural(group: &str, plural: &str) -> Option<Self> {
        ResourceKind::ALL.into_iter().find(|k| k.group() == group && k.plural() == plural)
    }
}

/// Where an object lives: namespace ("" for cluster-scoped) and name.
pub type ObjKey = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

impl WatchEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchEventType::Added => "ADDED",
            WatchEventType::Modified => "MODIFIED",
            WatchEventType::Deleted => "DELETED",
        }
    }
}

/// One change, as sent on a watch.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ResourceKind,
    pub rv: u64,
    pub event_type: WatchEventType,
    pub namespace: String,
    pub object: Arc<Value>,
    /// The object before a MODIFIED (or the last stored copy before a DELETED): a watch with a
    /// selector needs it to turn "stopped matching" into DELETED and "started matching" into ADDED.
    pub previous: Option<Arc<Value>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("{kind} \"{name}\" not found")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} \"{name}\" already exists")]
    AlreadyExists { kind: &'static str, name: String },
    #[error(
        "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { plural: &'static str, name: String },
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    #[error("invalid object: {0}")]
    Invalid(String),
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

/// A watch's starting point: the changes after `from_rv` still in history, then live changes.
#[derive(Debug)]
pub struct WatchStart {
    pub backlog: Vec<Change>,
    pub live: broadcast::Receiver<Change>,
}

#[derive(Debug)]
struct Inner {
    rv: u64,
    objects: HashMap<ResourceKind, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Change>,
    /// Changes with rv <= this are no longer in history: watches from before it get 410.
    compacted_rv: u64,
    uid_seq: u64,
}

/// The store. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Change>,
    history_cap: usize,
}

impl Default for Store {
    fn default() -> Self {
        Store::new(10_000)
    }
}

fn meta(obj: &Value) -> Option<&serde_json::Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `(namespace, name)` of an object.
pub fn key_of(obj: &Value) -> ObjKey {
    let m = meta(obj);
    let s = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
    (s("namespace"), s("name"))
}

/// The object's resourceVersion as a number (0 when absent or not numeric).
pub fn rv_of(obj: &Value) -> u64 {
    meta(obj).and_then(|m| m.get("resourceVersion")).and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Identity fields are the server's, whatever a client sent or a patch changed.
fn keep_identity(obj: &mut Value, current: &Value) {
    if let (Some(md), Some(cur)) = (obj.get_mut("metadata").and_then(Value::as_object_mut), meta(current)) {
        for f in ["uid", "creationTimestamp"] {
            if let Some(v) = cur.get(f) {
                md.insert(f.into(), v.clone());
            }
        }
    }
}

impl Store {
    /// A store keeping the last `history_cap` changes for watches.
    pub fn new(history_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(65_536);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: HashMap::new(),
                history: VecDeque::new(),
                compacted_rv: 1,
                uid_seq: 0,
            }),
            tx,
            history_cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    fn record(&self, inner: &mut Inner, change: Change) {
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_cap {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted_rv = old.rv;
            }
        }
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Drops all history, so any watch resuming from an older resourceVersion gets 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.compacted_rv = inner.rv;
    }

    fn stamp(inner: &mut Inner, kind: ResourceKind, obj: &mut Value, new: bool) -> Result<(), StoreError> {
        inner.rv += 1;
        let rv = inner.rv;
        let Some(m) = obj.as_object_mut() else {
            return Err(StoreError::Invalid("object is not a JSON object".into()));
        };
        m.insert("apiVersion".into(), json!(kind.api_version()));
        m.insert("kind".into(), json!(kind.kind()));
        let md = m.entry("metadata").or_insert_with(|| json!({}));
        let Some(md) = md.as_object_mut() else {
            return Err(StoreError::Invalid("metadata is not an object".into()));
        };
        md.insert("resourceVersion".into(), json!(rv.to_string()));
        if new {
            inner.uid_seq += 1;
            md.insert("uid".into(), json!(format!("00000000-0000-4000-8000-{:012x}", inner.uid_seq)));
            if !md.contains_key("creationTimestamp") {
                md.insert(
                    "creationTimestamp".into(),
                    json!(jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()),
                );
            }
        }
        Ok(())
    }

    /// Creates an object; `metadata.generateName` is honoured when `name` is empty.
    pub fn create(&self, kind: ResourceKind, mut obj: Value) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let (mut ns, mut name) = key_of(&obj);
        if !kind.namespaced() {
            ns.clear();
        }
        if name.is_empty() {
            let prefix = meta(&obj).and_then(|m| m.get("generateName")).and_then(Value::as_str).unwrap_or("");
            if prefix.is_empty() {
                return Err(StoreError::Invalid("metadata.name or metadata.generateName is required".into()));
            }
            name = format!("{prefix}{:05x}", rand::random::<u32>() & 0xfffff);
            if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                md.insert("name".into(), json!(name));
            }
        }
        if inner.objects.get(&kind).is_some_and(|m| m.contains_key(&(ns.clone(), name.clone()))) {
            return Err(StoreError::AlreadyExists { kind: kind.kind(), name });
        }
        Self::stamp(&mut inner, kind, &mut obj, true)?;
        let obj = Arc::new(obj);
        let rv = inner.rv;
        inner.objects.entry(kind).or_default().insert((ns.clone(), name), obj.clone());
        self.record(
            &mut inner,
            Change { kind, rv, event_type: WatchEventType::Added, namespace: ns, object: obj.clone(), previous: None },
        );
        Ok(obj)
    }

    pub fn get(&self, kind: ResourceKind, ns: &str, name: &str) -> Option<Arc<Value>> {
        let ns = if kind.namespaced() { ns } else { "" };
        self.lock().objects.get(&kind)?.get(&(ns.to_string(), name.to_string())).cloned()
    }

    /// Replaces an object. With `check_rv`, a resourceVersion in `obj` that is not the stored
    /// one is a conflict (optimistic concurrency, as the API server does for PUT).
    pub fn update(&self, kind: ResourceKind, mut obj: Value, check_rv: bool) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let (mut ns, name) = key_of(&obj);
        if !kind.namespaced() {
            ns.clear();
        }
        let key = (ns.clone(), name.clone());
        let Some(current) = inner.objects.get(&kind).and_then(|m| m.get(&key)).cloned() else {
            return Err(StoreError::NotFound { kind: kind.kind(), name });
        };
        let sent_rv = rv_of(&obj);
        if check_rv && sent_rv != 0 && sent_rv != rv_of(&current) {
            return Err(StoreError::Conflict { plural: kind.plural(), name });
        }
        keep_identity(&mut obj, &current);
        self.commit_modified(&mut inner, kind, key, obj, current)
    }

    /// Stores `obj` over `current` with a new resourceVersion and records the change for watches.
    fn commit_modified(
        &self,
        inner: &mut Inner,
        kind: ResourceKind,
        key: ObjKey,
        mut obj: Value,
        current: Arc<Value>,
    ) -> Result<Arc<Value>, StoreError> {
        Self::stamp(inner, kind, &mut obj, false)?;
        let obj = Arc::new(obj);
        let rv = inner.rv;
        let namespace = key.0.clone();
        inner.objects.entry(kind).or_default().insert(key, obj.clone());
        self.record(
            inner,
            Change {
                kind,
                rv,
                event_type: WatchEventType::Modified,
                namespace,
                object: obj.clone(),
                previous: Some(current),
            },
        );
        Ok(obj)
    }

    /// Read-modify-write under the store lock: `f` edits a copy of the current object.
    pub fn mutate(
        &self,
        kind: ResourceKind,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value) -> Result<(), StoreError>,
    ) -> Result<Arc<Value>, StoreError> {
        let ns = if kind.namespaced() { ns } else { "" };
        let mut inner = self.lock();
        let key = (ns.to_string(), name.to_string());
        let Some(current) = inner.objects.get(&kind).and_then(|m| m.get(&key)).cloned() else {
            return Err(StoreError::NotFound { kind: kind.kind(), name: name.to_string() });
        };
        let mut obj = (*current).clone();
        f(&mut obj)?;
        // Patches may not move an object.
        if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            md.insert("name".into(), json!(name));
            if kind.namespaced() {
                md.insert("namespace".into(), json!(ns));
            }
        }
        keep_identity(&mut obj, &current);
        if obj == *current {
            return Ok(current);
        }
        self.commit_modified(&mut inner, kind, key, obj, current)
    }

    pub fn delete(&self, kind: ResourceKind, ns: &str, name: &str) -> Result<Arc<Value>, StoreError> {
        let ns = if kind.namespaced() { ns } else { "" };
        let mut inner = self.lock();
        let key = (ns.to_string(), name.to_string());
        let Some(old) = inner.objects.get_mut(&kind).and_then(|m| m.remove(&key)) else {
            return Err(StoreError::NotFound { kind: kind.kind(), name: name.to_string() });
        };
        inner.rv += 1;
        let rv = inner.rv;
        let mut gone = (*old).clone();
        if let Some(md) = gone.get_mut("metadata").and_then(Value::as_object_mut) {
            md.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        let gone = Arc::new(gone);
        self.record(
            &mut inner,
            Change {
                kind,
                rv,
                event_type: WatchEventType::Deleted,
                namespace: ns.to_string(),
                object: gone.clone(),
                previous: Some(old),
            },
        );
        Ok(gone)
    }

    /// Lists objects in key order. `ns` of `None` lists every namespace. `continue_from`
    /// is an opaque token from an earlier page; `filter` applies selectors.
    pub fn list(
        &self,
        kind: ResourceKind,
        ns: Option<&str>,
        limit: Option<usize>,
        continue_from: Option<&str>,
        filter: impl Fn(&Value) -> bool,
    ) -> Result<ListPage, StoreError> {
        self.list_page(kind, ns, limit, continue_from, filter, true)
    }

    /// `list`, choosing whether a page counts the objects after it (`remaining`). Counting runs
    /// the filter over the whole rest of the list, too slow for 150,000 pods page after page:
    /// without counting, a page stops one match past its limit and `remaining` is `None`
    /// (as the real server omits remainingItemCount for selector lists).
    pub fn list_page(
        &self,
        kind: ResourceKind,
        ns: Option<&str>,
        limit: Option<usize>,
        continue_from: Option<&str>,
        filter: impl Fn(&Value) -> bool,
        count_remaining: bool,
    ) -> Result<ListPage, StoreError> {
        let inner = self.lock();
        let start: Option<ObjKey> = match continue_from {
            None | Some("") => None,
            Some(tok) => {
                Some(decode_continue(tok).ok_or_else(|| StoreError::Invalid("invalid continue token".into()))?)
            }
        };
        let empty = BTreeMap::new();
        let map = inner.objects.get(&kind).unwrap_or(&empty);
        let range: Box<dyn Iterator<Item = (&ObjKey, &Arc<Value>)>> = match (&start, ns) {
            (Some(s), _) => Box::new(map.range((std::ops::Bound::Excluded(s.clone()), std::ops::Bound::Unbounded))),
            (None, Some(ns)) if kind.namespaced() => Box::new(map.range((ns.to_string(), String::new())..)),
            (None, _) => Box::new(map.iter()),
        };
        let limit = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut items = Vec::new();
        let mut last: Option<&ObjKey> = None;
        let mut more = false;
        let mut remaining = 0u64;
        for (k, v) in range {
            if let Some(ns) = ns.filter(|_| kind.namespaced()) {
                if k.0 != ns {
                    if k.0.as_str() > ns {
                        break;
                    }
                    continue;
                }
            }
            if !filter(v) {
                continue;
            }
            if items.len() < limit {
                items.push(v.clone());
                last = Some(k);
            } else {
                more = true;
                remaining += 1;
                if !count_remaining {
                    break;
                }
            }
        }
        let continue_token = if more { last.map(encode_continue) } else { None };
        let remaining = (more && count_remaining).then_some(remaining);
        Ok(ListPage { items, resource_version: inner.rv, continue_token, remaining })
    }

    /// Starts a watch after `from_rv` (0: from now). Older than history: `StoreError::Gone`.
    pub fn watch(&self, kind: ResourceKind, from_rv: u64) -> Result<WatchStart, StoreError> {
        let inner = self.lock();
        let live = self.tx.subscribe();
        if from_rv == 0 || from_rv >= inner.rv {
            return Ok(WatchStart { backlog: vec![], live });
        }
        if from_rv < inner.compacted_rv {
            return Err(StoreError::Gone { requested: from_rv, oldest: inner.compacted_rv });
        }
        let backlog = inner.history.iter().filter(|c| c.kind == kind && c.rv > from_rv).cloned().collect();
        Ok(WatchStart { backlog, live })
    }

    /// Number of objects of a kind (cheap; for the control plane and tests).
    pub fn count(&self, kind: ResourceKind) -> usize {
        self.lock().objects.get(&kind).map_or(0, BTreeMap::len)
    }
}

fn encode_continue(key: &ObjKey) -> String {
    use std::fmt::Write;
    let raw = serde_json::to_vec(&[&key.0, &key.1]).unwrap_or_default();
    raw.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn decode_continue(tok: &str) -> Option<ObjKey> {
    if tok.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..tok.len()).step_by(2).map(|i| u8::from_str_radix(tok.get(i..i + 2)?, 16).ok()).collect();
    let [ns, name]: [String; 2] = serde_json::from_slice(&bytes?).ok()?;
    Some((ns, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}, "spec": {}})
    }

    #[test]
    fn list_pages_cover_every_object_once() {
        let s = Store::default();
        for i in 0..25 {
            s.create(ResourceKind::Pod, pod(if i % 2 == 0 { "a" } else { "b" }, &format!("p{i:02}"))).unwrap();
        }
        let mut seen = vec![];
        let mut tok: Option<String> = None;
        loop {
            let page = s.list(ResourceKind::Pod, None, Some(7), tok.as_deref(), |_| true).unwrap();
            seen.extend(page.items.iter().map(|o| key_of(o).1));
            match page.continue_token {
                Some(t) => tok = Some(t),
                None => break,
            }
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 25);
        let only_b = s.list(ResourceKind::Pod, Some("b"), None, None, |_| true).unwrap();
        assert_eq!(only_b.items.len(), 12);
    }

    #[test]
    fn uncounted_pages_stop_early_and_still_cover_everything() {
        let s = Store::default();
        for i in 0..10 {
            s.create(ResourceKind::Pod, pod("a", &format!("p{i}"))).unwrap();
        }
        let odd = |o: &Value| key_of(o).1.ends_with(['1', '3', '5', '7', '9']);
        let first = s.list_page(ResourceKind::Pod, Some("a"), Some(2), None, odd, false).unwrap();
        assert_eq!(first.remaining, None);
        let rest =
            s.list_page(ResourceKind::Pod, Some("a"), None, first.continue_token.as_deref(), odd, false).unwrap();
        assert_eq!(first.items.len() + rest.items.len(), 5);
        assert!(rest.continue_token.is_none());
        let counted = s.list_page(ResourceKind::Pod, Some("a"), Some(2), None, odd, true).unwrap();
        assert_eq!(counted.remaining, Some(3));
    }

    #[test]
    fn stale_update_conflicts_and_old_watch_is_gone() {
        let s = Store::new(2);
        let created = s.create(ResourceKind::Node, json!({"metadata": {"name": "n1"}})).unwrap();
        let first_rv = rv_of(&created);
        s.mutate(ResourceKind::Node, "", "n1", |o| {
            o["spec"] = json!({"unschedulable": true});
            Ok(())
        })
        .unwrap();
        let stale = (*created).clone();
        assert!(matches!(s.update(ResourceKind::Node, stale, true), Err(StoreError::Conflict { .. })));
        for i in 0..5 {
            s.create(ResourceKind::Node, json!({"metadata": {"name": format!("x{i}")}})).unwrap();
        }
        assert!(matches!(s.watch(ResourceKind::Node, first_rv), Err(StoreError::Gone { .. })));
    }
}
