//! Patches: JSON merge patch (RFC 7386), strategic merge patch (the directives kubectl sends)
//! and JSON patch (RFC 6902).
//!
//! Input: the request's Content-Type and body; output: the patched object or a BadRequest.
//! Strategic merge is merge patch plus: lists with a merge key (containers by name, conditions
//! by type, ...) merged element by element, `$patch: delete|replace`, `$deleteFromPrimitiveList/`,
//! and `$setElementOrder/` / `$retainKeys` accepted and dropped.

use serde_json::{Map, Value};

use super::status::ApiError;

/// The patch types the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Strategic,
    Json,
}

impl PatchKind {
    /// From the Content-Type header (parameters ignored).
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/json-patch+json" => Ok(PatchKind::Json),
            other => Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/strategic-merge-patch+json (got {other:?})"
            ))),
        }
    }
}

/// Applies `body` to `doc`.
pub fn apply(kind: PatchKind, doc: &mut Value, body: &[u8]) -> Result<(), ApiError> {
    match kind {
        PatchKind::Json => {
            let ops: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(doc, &ops).map_err(|e| ApiError::BadRequest(format!("failed to apply JSON patch: {e}")))
        }
        PatchKind::Merge | PatchKind::Strategic => {
            let patch: Value =
                serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid patch body: {e}")))?;
            if !patch.is_object() {
                return Err(ApiError::BadRequest("patch body must be a JSON object".into()));
            }
            if kind == PatchKind::Merge {
                json_patch::merge(doc, &patch);
            } else {
                strategic_merge(doc, &patch);
            }
            Ok(())
        }
    }
}

/// The merge key of a list field, where the Kubernetes schema gives one.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" | "addresses" => "type",
        "ownerReferences" => "uid",
        "taints" => "key",
        "ports" => "containerPort",
        "hostAliases" => "ip",
        _ => return None,
    })
}

/// Primitive lists that merge as a set union instead of being replaced.
fn merges_as_set(field: &str) -> bool {
    matches!(field, "finalizers")
}

fn strategic_merge(doc: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *doc = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = p.clone();
        replaced.remove("$patch");
        *doc = Value::Object(replaced);
        return;
    }
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Some(d) = doc.as_object_mut() else { return };
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(list), Some(gone)) = (d.get_mut(field).and_then(Value::as_array_mut), v.as_array()) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        match v {
            Value::Null => {
                d.remove(k);
            }
            Value::Object(_) => {
                if v.get("$patch").and_then(Value::as_str) == Some("delete") {
                    d.remove(k);
                } else {
                    strategic_merge(d.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
            Value::Array(items) => match (merge_key(k), d.get_mut(k).and_then(Value::as_array_mut)) {
                (Some(key), Some(existing)) => merge_keyed_list(existing, items, key),
                (None, Some(existing)) if merges_as_set(k) => {
                    for item in items {
                        if !existing.contains(item) {
                            existing.push(item.clone());
                        }
                    }
                }
                _ => {
                    let cleaned: Vec<Value> = items
                        .iter()
                        .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                        .cloned()
                        .collect();
                    d.insert(k.clone(), Value::Array(cleaned));
                }
            },
            _ => {
                d.insert(k.clone(), v.clone());
            }
        }
    }
}

fn merge_keyed_list(existing: &mut Vec<Value>, items: &[Value], key: &str) {
    if items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
        *existing = items.iter().filter(|i| i.get("$patch").is_none()).cloned().collect();
        return;
    }
    for item in items {
        let id = item.get(key);
        let pos = id.and_then(|id| existing.iter().position(|e| e.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut existing[i], item),
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                strategic_merge(&mut fresh, item);
                existing.push(fresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn sm(doc: Value, patch: Value) -> Value {
        let mut d = doc;
        apply(PatchKind::Strategic, &mut d, patch.to_string().as_bytes()).unwrap();
        d
    }

    #[test]
    fn cordon_and_uncordon_patches() {
        let node = json!({"metadata": {"name": "n"}, "spec": {"podCIDR": "10.0.0.0/24"}});
        let cordoned = sm(node, json!({"spec": {"unschedulable": true}}));
        assert_eq!(cordoned["spec"], json!({"podCIDR": "10.0.0.0/24", "unschedulable": true}));
        let uncordoned = sm(cordoned, json!({"spec": {"unschedulable": null}}));
        assert_eq!(uncordoned["spec"], json!({"podCIDR": "10.0.0.0/24"}));
    }

    #[test]
    fn label_and_annotate_patches() {
        let node = json!({"metadata": {"name": "n", "labels": {"a": "1", "b": "2"}}});
        let out = sm(node, json!({"metadata": {"labels": {"a": null, "c": "3"}, "annotations": {"x": "y"}}}));
        assert_eq!(out["metadata"]["labels"], json!({"b": "2", "c": "3"}));
        assert_eq!(out["metadata"]["annotations"], json!({"x": "y"}));
    }

    #[test]
    fn keyed_lists_merge_and_delete() {
        let node = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}]}});
        let out = sm(
            node,
            json!({"status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                {"type": "MemoryPressure", "$patch": "delete"},
                {"type": "PIDPressure", "status": "False"}],
                "$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PIDPressure"}]}}),
        );
        assert_eq!(
            out["status"],
            json!({"conditions": [
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                {"type": "PIDPressure", "status": "False"}]})
        );
    }

    #[test]
    fn unkeyed_lists_replace_and_finalizers_union() {
        let obj = json!({"metadata": {"finalizers": ["a"]}, "spec": {"tolerations": [{"key": "x"}]}});
        let out = sm(obj, json!({"metadata": {"finalizers": ["b"]}, "spec": {"tolerations": [{"key": "y"}]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "y"}]));
        let out = sm(out, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn merge_and_json_patch() {
        let mut d = json!({"spec": {"a": [1, 2], "b": 1}});
        apply(PatchKind::Merge, &mut d, br#"{"spec": {"a": [3], "b": null}}"#).unwrap();
        assert_eq!(d, json!({"spec": {"a": [3]}}));
        apply(PatchKind::Json, &mut d, br#"[{"op": "add", "path": "/spec/c", "value": true}]"#).unwrap();
        assert_eq!(d["spec"]["c"], true);
        assert!(apply(PatchKind::Json, &mut d, br#"[{"op": "remove", "path": "/nope"}]"#).is_err());
        assert!(apply(PatchKind::Merge, &mut d, b"not json").is_err());
        assert!(PatchKind::from_content_type("application/apply-patch+yaml").is_err());
        assert_eq!(PatchKind::from_content_type("application/merge-patch+json; charset=utf-8"), Ok(PatchKind::Merge));
    }

    proptest! {
        #[test]
        fn patching_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
            for kind in [PatchKind::Merge, PatchKind::Strategic, PatchKind::Json] {
                let mut d = json!({"metadata": {"name": "x"}});
                let _ = apply(kind, &mut d, &body);
            }
        }
    }
}
