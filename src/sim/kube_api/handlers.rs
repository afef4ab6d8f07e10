//! Resource verbs: get, list, watch, create, update, patch, delete, the status subresource and
//! pod eviction, routed from the request path (the router's fallback).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::list_watch::{self, Scope, WatchRequest, json_bytes};
use super::patch::{self, PatchKind};
use super::path::{self, Target};
use super::router::KubeApiState;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::table::{self, IncludeObject};
use crate::sim::store::{ResourceKind, StoreError, rv_of};

/// Answers every resource path.
pub async fn dispatch(
    State(state): State<KubeApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Serialising a 150,000-pod list takes seconds of CPU: keep it off the async workers so
    // watches and other requests keep flowing meanwhile.
    let answered = tokio::task::spawn_blocking(move || handle(&state, &method, &uri, &headers, &body)).await;
    match answered {
        Ok(result) => result.unwrap_or_else(IntoResponse::into_response),
        Err(e) => ApiError::Internal(format!("request handler failed: {e}")).into_response(),
    }
}

/// Kinds whose `status` is only written through the `/status` subresource.
fn has_status(kind: ResourceKind) -> bool {
    !matches!(kind, ResourceKind::Event | ResourceKind::Lease)
}

fn handle(
    state: &KubeApiState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    // Unknown paths and unknown resources both read as 404 NotFound on the real server.
    let target = path::parse(uri.path()).map_err(|_| ApiError::UnknownPath)?;
    let query: HashMap<String, String> =
        Query::try_from_uri(uri).map(|Query(q)| q).map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let q = |k: &str| query.get(k).map(String::as_str);
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let as_table = table::wants_table(accept).then(|| IncludeObject::from_query(q("includeObject")));
    let is_watch = target.legacy_watch || matches!(q("watch"), Some("1" | "true"));
    let sub = target.subresource.as_deref();
    match (method.as_str(), target.name.as_deref(), sub) {
        ("GET", _, None) if is_watch => watch(state, &target, &query, as_table),
        ("GET", None, None) => list(state, &target, &query, as_table),
        ("GET", Some(name), None | Some("status")) => {
            check_sub(&target)?;
            get(state, &target, name, as_table)
        }
        ("POST", None, None) => create(state, &target, body),
        ("POST", Some(name), Some("eviction")) if target.kind == ResourceKind::Pod => evict(state, &target, name),
        ("PUT", Some(name), None | Some("status")) => {
            check_sub(&target)?;
            update(state, &target, name, body)
        }
        ("PATCH", Some(name), None | Some("status")) => {
            check_sub(&target)?;
            let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            patch(state, &target, name, PatchKind::from_content_type(ct)?, body)
        }
        ("DELETE", Some(name), None) => delete(state, &target, name, body),
        // Collections of namespaced kinds are deleted one namespace at a time.
        ("DELETE", None, None) if !target.kind.namespaced() || target.namespace.is_some() => {
            delete_collection(state, &target, &query)
        }
        // pods/log and other subresources we do not serve.
        ("GET" | "POST" | "PUT" | "PATCH" | "DELETE", _, Some(s)) if !matches!(s, "status" | "eviction") => {
            Err(ApiError::UnknownPath)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// `/status` exists only for kinds that have a status.
fn check_sub(target: &Target) -> Result<(), ApiError> {
    match target.subresource.as_deref() {
        Some("status") if !has_status(target.kind) => Err(ApiError::UnknownPath),
        _ => Ok(()),
    }
}

fn ns_of(target: &Target) -> &str {
    target.namespace.as_deref().unwrap_or_default()
}

fn scope(target: &Target, query: &HashMap<String, String>) -> Result<Scope, ApiError> {
    Ok(Scope {
        kind: target.kind,
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        labels: LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))?,
    })
}

fn object_response(code: StatusCode, obj: &Value) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(obj).map_err(|e| ApiError::Internal(format!("failed to encode object: {e}")))?;
    Ok(json_bytes(code, body))
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body of the request could not be decoded: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::BadRequest("the body of the request must be a JSON object".into()));
    }
    Ok(v)
}

fn list(
    state: &KubeApiState,
    target: &Target,
    query: &HashMap<String, String>,
    table: Option<IncludeObject>,
) -> Result<Response, ApiError> {
    let limit = match query.get("limit") {
        None => None,
        Some(l) => Some(l.parse::<usize>().map_err(|_| ApiError::BadRequest(format!("invalid limit {l:?}")))?),
    };
    let scope = scope(target, query)?;
    list_watch::list(&state.store, &state.faults, &scope, limit, query.get("continue").map(String::as_str), table)
}

fn watch(
    state: &KubeApiState,
    target: &Target,
    query: &HashMap<String, String>,
    table: Option<IncludeObject>,
) -> Result<Response, ApiError> {
    let timeout = match query.get("timeoutSeconds") {
        // Clamped to a day: a client's huge value must not overflow the deadline arithmetic.
        Some(t) => Duration::from_secs(
            t.parse::<u64>().map_err(|_| ApiError::BadRequest(format!("invalid timeoutSeconds {t:?}")))?.min(86_400),
        ),
        None => list_watch::default_timeout(),
    };
    let req = WatchRequest {
        scope: scope(target, query)?,
        resource_version: query.get("resourceVersion").cloned(),
        timeout,
        bookmarks: matches!(query.get("allowWatchBookmarks").map(String::as_str), Some("true" | "1")),
        table,
    };
    list_watch::watch(&state.store, &state.faults, req)
}

fn get(state: &KubeApiState, target: &Target, name: &str, table: Option<IncludeObject>) -> Result<Response, ApiError> {
    let obj = state.store.get(target.kind, ns_of(target), name).ok_or_else(|| ApiError::NotFound {
        group: target.kind.group(),
        plural: target.kind.plural(),
        name: name.into(),
    })?;
    match table {
        Some(include) => {
            let meta = json!({"resourceVersion": obj.pointer("/metadata/resourceVersion").cloned()});
            object_response(StatusCode::OK, &table::table(target.kind, [&*obj], meta, include))
        }
        None => object_response(StatusCode::OK, &obj),
    }
}

fn create(state: &KubeApiState, target: &Target, body: &[u8]) -> Result<Response, ApiError> {
    let kind = target.kind;
    if kind.namespaced() && target.namespace.is_none() {
        return Err(ApiError::MethodNotAllowed);
    }
    let mut obj = parse_body(body)?;
    let md = obj.as_object_mut().map(|m| m.entry("metadata").or_insert_with(|| json!({})));
    let Some(md) = md.and_then(Value::as_object_mut) else {
        return Err(ApiError::BadRequest("metadata must be an object".into()));
    };
    if md.get("resourceVersion").and_then(Value::as_str).is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::BadRequest("resourceVersion should not be set on objects to be created".into()));
    }
    if let Some(ns) = target.namespace.as_deref().filter(|_| kind.namespaced()) {
        match md.get("namespace").and_then(Value::as_str) {
            Some(sent) if !sent.is_empty() && sent != ns => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
            _ => {
                md.insert("namespace".into(), json!(ns));
            }
        }
    }
    let created = state.store.create(kind, obj).map_err(|e| ApiError::from_store(kind, e))?;
    object_response(StatusCode::CREATED, &created)
}

/// Carries an API error out of a store mutation closure.
fn mutate_with(
    state: &KubeApiState,
    target: &Target,
    name: &str,
    f: impl FnOnce(&mut Value) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let mut failure = None;
    let res = state.store.mutate(target.kind, ns_of(target), name, |cur| {
        f(cur).map_err(|e| {
            let store_err = match &e {
                ApiError::Conflict { name, .. } => {
                    StoreError::Conflict { plural: target.kind.plural(), name: name.clone() }
                }
                other => StoreError::Invalid(other.to_string()),
            };
            failure = Some(e);
            store_err
        })
    });
    match (res, failure) {
        (Ok(obj), _) => object_response(StatusCode::OK, &obj),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(ApiError::from_store(target.kind, e)),
    }
}

/// Keeps the status (main resource) or everything but the status (`/status`) of `current`.
fn split_status(kind: ResourceKind, status_sub: bool, current: &Value, new: &mut Value) {
    if !has_status(kind) {
        return;
    }
    if status_sub {
        let status = new.get("status").cloned();
        *new = current.clone();
        match (new.as_object_mut(), status) {
            (Some(m), Some(s)) => {
                m.insert("status".into(), s);
            }
            (Some(m), None) => {
                m.remove("status");
            }
            _ => {}
        }
    } else if let Some(m) = new.as_object_mut() {
        match current.get("status") {
            Some(s) => {
                m.insert("status".into(), s.clone());
            }
            None => {
                m.remove("status");
            }
        }
    }
}

fn conflict(target: &Target, name: &str) -> ApiError {
    ApiError::Conflict { group: target.kind.group(), plural: target.kind.plural(), name: name.into() }
}

fn update(state: &KubeApiState, target: &Target, name: &str, body: &[u8]) -> Result<Response, ApiError> {
    let mut obj = parse_body(body)?;
    let sent_name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(ns), Some(md)) = (target.namespace.as_deref(), obj.get_mut("metadata").and_then(Value::as_object_mut))
    {
        md.insert("namespace".into(), json!(ns));
    }
    let status_sub = target.subresource.as_deref() == Some("status");
    let sent_rv = rv_of(&obj);
    mutate_with(state, target, name, |cur| {
        if sent_rv != 0 && sent_rv != rv_of(cur) {
            return Err(conflict(target, name));
        }
        split_status(target.kind, status_sub, cur, &mut obj);
        *cur = obj;
        Ok(())
    })
}

fn patch(
    state: &KubeApiState,
    target: &Target,
    name: &str,
    kind: PatchKind,
    body: &[u8],
) -> Result<Response, ApiError> {
    // A resourceVersion inside a merge patch is a precondition, as on the real server.
    let precondition = match kind {
        PatchKind::Json => None,
        _ => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|s| s.parse().ok())),
    };
    let status_sub = target.subresource.as_deref() == Some("status");
    mutate_with(state, target, name, |cur| {
        if precondition.is_some_and(|rv: u64| rv != rv_of(cur)) {
            return Err(conflict(target, name));
        }
        let mut patched = cur.clone();
        patch::apply(kind, &mut patched, body)?;
        split_status(target.kind, status_sub, cur, &mut patched);
        *cur = patched;
        Ok(())
    })
}

fn success_status(target: &Target, name: &str, uid: Option<&Value>) -> Value {
    let mut details = json!({"name": name, "kind": target.kind.plural()});
    if !target.kind.group().is_empty() {
        details["group"] = json!(target.kind.group());
    }
    if let Some(uid) = uid {
        details["uid"] = uid.clone();
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

fn delete(state: &KubeApiState, target: &Target, name: &str, body: &[u8]) -> Result<Response, ApiError> {
    // DeleteOptions may carry preconditions; an empty body is the common case.
    if !body.iter().all(u8::is_ascii_whitespace) {
        let opts = parse_body(body)?;
        if let Some(pre) = opts.get("preconditions").filter(|p| p.is_object()) {
            let current = state.store.get(target.kind, ns_of(target), name).ok_or_else(|| ApiError::NotFound {
                group: target.kind.group(),
                plural: target.kind.plural(),
                name: name.into(),
            })?;
            for (field, ptr) in [("uid", "/metadata/uid"), ("resourceVersion", "/metadata/resourceVersion")] {
                let want = pre.get(field).and_then(Value::as_str);
                let have = current.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
                if want.is_some_and(|w| w != have) {
                    return Err(ApiError::Conflict {
                        group: target.kind.group(),
                        plural: target.kind.plural(),
                        name: name.into(),
                    });
                }
            }
        }
    }
    let gone =
        state.store.delete(target.kind, ns_of(target), name).map_err(|e| ApiError::from_store(target.kind, e))?;
    if target.kind == ResourceKind::Pod {
        object_response(StatusCode::OK, &gone)
    } else {
        object_response(StatusCode::OK, &success_status(target, name, gone.pointer("/metadata/uid")))
    }
}

fn delete_collection(
    state: &KubeApiState,
    target: &Target,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let scope = scope(target, query)?;
    let ns = target.namespace.as_deref().filter(|_| target.kind.namespaced());
    let page = state
        .store
        .list(target.kind, ns, None, None, |o| scope.matches(o))
        .map_err(|e| ApiError::from_store(target.kind, e))?;
    let mut items = Vec::with_capacity(page.items.len());
    for obj in page.items {
        let (ns, name) = crate::sim::store::key_of(&obj);
        // Something else deleting it first is fine: it is gone either way.
        if let Ok(gone) = state.store.delete(target.kind, &ns, &name) {
            items.push(gone);
        }
    }
    let list = json!({
        "kind": format!("{}List", target.kind.kind()),
        "apiVersion": target.kind.api_version(),
        "metadata": {"resourceVersion": state.store.current_rv().to_string()},
        "items": items.iter().map(|o| &**o).collect::<Vec<_>>(),
    });
    object_response(StatusCode::OK, &list)
}

/// policy/v1 Eviction: refused with 429 while a matching budget allows no disruption.
fn evict(state: &KubeApiState, target: &Target, name: &str) -> Result<Response, ApiError> {
    let ns = ns_of(target);
    let pod = state.store.get(ResourceKind::Pod, ns, name).ok_or_else(|| ApiError::NotFound {
        group: "",
        plural: "pods",
        name: name.into(),
    })?;
    let pdbs = state
        .store
        .list(ResourceKind::PodDisruptionBudget, Some(ns), None, None, |pdb| {
            LabelSelector::from_json(pdb.pointer("/spec/selector")).is_ok_and(|s| s.matches(&pod))
        })
        .map_err(|e| ApiError::from_store(ResourceKind::PodDisruptionBudget, e))?;
    if pdbs.items.len() > 1 {
        return Err(ApiError::Internal(
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
        ));
    }
    // A pod that is not running cannot disrupt anything: the real server evicts it freely.
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if !matches!(phase, Some("Pending" | "Succeeded" | "Failed")) {
        for pdb in &pdbs.items {
            let mut refused = None;
            let pdb_name = crate::sim::store::key_of(pdb).1;
            // Check-and-decrement under the store lock, so two evictions cannot both take the last slot.
            state
                .store
                .mutate(ResourceKind::PodDisruptionBudget, ns, &pdb_name, |o| {
                    let allowed = o.pointer("/status/disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
                    if allowed <= 0 {
                        let count = |f: &str| o.pointer(&format!("/status/{f}")).and_then(Value::as_i64).unwrap_or(0);
                        refused = Some((count("desiredHealthy"), count("currentHealthy")));
                        return Err(StoreError::Invalid("budget".into()));
                    }
                    let Some(m) = o.as_object_mut() else {
                        return Err(StoreError::Invalid("budget is not an object".into()));
                    };
                    let status = m.entry("status").or_insert_with(|| json!({}));
                    if let Some(st) = status.as_object_mut() {
                        st.insert("disruptionsAllowed".into(), json!(allowed - 1));
                    }
                    Ok(())
                })
                .map_err(|e| match refused {
                    Some((desired, current)) => {
                        ApiError::DisruptionBudget { pod: name.into(), pdb: pdb_name.clone(), desired, current }
                    }
                    None => ApiError::from_store(ResourceKind::PodDisruptionBudget, e),
                })?;
        }
    }
    state.store.delete(ResourceKind::Pod, ns, name).map_err(|e| ApiError::from_store(ResourceKind::Pod, e))?;
    object_response(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    )
}
