//! Server-side printing: meta.k8s.io/v1 Tables for nodes, pods, events, budgets, deployments,
//! replica sets, namespaces and leases,
//! with the columns and cell formats `kubectl get` shows against a real server.

use serde_json::{Value, json};

use crate::sim::store::ResourceKind;

/// What each row's `object` carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn from_query(v: Option<&str>) -> Self {
        match v {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// True when the Accept header asks for a Table (kubectl's `as=Table;g=meta.k8s.io`).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| first.split(';').any(|p| p.trim() == "as=Table"))
}

fn col(name: &str, ty: &str, format: &str, priority: u8, description: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

/// The column definitions for a kind.
pub fn columns(kind: ResourceKind) -> Vec<Value> {
    let name = col("Name", "string", "name", 0, "Name must be unique within a namespace.");
    let age = col(
        "Age",
        "string",
        "",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    match kind {
        ResourceKind::Node => vec![
            name,
            col("Status", "string", "", 0, "The status of the node"),
            col("Roles", "string", "", 0, "The roles of the node"),
            age,
            col("Version", "string", "", 0, "Kubelet Version reported by the node."),
            col(
                "Internal-IP",
                "string",
                "",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "External-IP",
                "string",
                "",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            col(
                "OS-Image",
                "string",
                "",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            col(
                "Kernel-Version",
                "string",
                "",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            col(
                "Container-Runtime",
                "string",
                "",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        ResourceKind::Pod => vec![
            name,
            col("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
            col("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
            col(
                "Restarts",
                "string",
                "",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            col(
                "IP",
                "string",
                "",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            col("Node", "string", "", 1, "NodeName is a request to schedule this pod onto a specific node."),
            col(
                "Nominated Node",
                "string",
                "",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                "",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        ResourceKind::Event => vec![
            col(
                "Last Seen",
                "string",
                "",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            col(
                "Type",
                "string",
                "",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            col(
                "Reason",
                "string",
                "",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            col("Object", "string", "", 0, "The object that this event is about."),
            col("Subobject", "string", "", 1, "The subobject that this event is about."),
            col("Source", "string", "", 1, "The component reporting this event."),
            col("Message", "string", "", 0, "A human-readable description of the status of this operation."),
            col("First Seen", "string", "", 1, "The time at which the event was first recorded."),
            col("Count", "string", "", 1, "The number of times this event has occurred."),
            col("Name", "string", "name", 1, "Name must be unique within a namespace."),
        ],
        ResourceKind::PodDisruptionBudget => vec![
            name,
            col("Min Available", "string", "", 0, "The minimum number of pods that must be available simultaneously."),
            col(
                "Max Unavailable",
                "string",
                "",
                0,
                "The maximum number of pods that may be unavailable simultaneously.",
            ),
            col(
                "Allowed Disruptions",
                "integer",
                "",
                0,
                "Calculated number of pods that may be disrupted at this time.",
            ),
            age,
        ],
        ResourceKind::Deployment => vec![
            name,
            col("Ready", "string", "", 0, "Number of the pod with ready state"),
            col(
                "Up-to-date",
                "string",
                "",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            col(
                "Available",
                "string",
                "",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            age,
            col("Containers", "string", "", 1, "Names of each container in the template."),
            col("Images", "string", "", 1, "Images referenced by each container in the template."),
            col(
                "Selector",
                "string",
                "",
                1,
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
            ),
        ],
        ResourceKind::ReplicaSet => vec![
            name,
            col("Desired", "integer", "", 0, "Replicas is the number of desired replicas."),
            col("Current", "integer", "", 0, "Replicas is the most recently observed number of replicas."),
            col("Ready", "integer", "", 0, "The number of ready replicas for this replica set."),
            age,
        ],
        ResourceKind::Namespace => {
            vec![name, col("Status", "string", "", 0, "The status of the namespace"), age]
        }
        ResourceKind::Lease => vec![
            name,
            col("Holder", "string", "", 0, "holderIdentity contains the identity of the holder of a current lease."),
            age,
        ],
    }
}

fn selector_string(sel: Option<&Value>) -> String {
    let mut parts: Vec<String> = sel
        .and_then(|s| s.get("matchLabels"))
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in sel.and_then(|s| s.get("matchExpressions")).and_then(Value::as_array).into_iter().flatten() {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let vals: Vec<&str> =
            e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        parts.push(match e.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", vals.join(",")),
            Some("NotIn") => format!("{key} notin ({})", vals.join(",")),
            Some("DoesNotExist") => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    or_none(Some(parts.join(",")))
}

/// An int-or-string field as kubectl prints it ("N/A" when unset).
fn int_or_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "N/A".into(),
    }
}

fn other_cells(kind: ResourceKind, o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name").unwrap_or_default());
    let age = json!(age(s(o, "/metadata/creationTimestamp"), now));
    let int = |p: &str| o.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    let containers =
        || o.pointer("/spec/template/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let join = |f: &str| {
        containers()
            .iter()
            .filter_map(|c| c.get(f).and_then(Value::as_str).map(str::to_string))
            .collect::<Vec<_>>()
            .join(",")
    };
    match kind {
        ResourceKind::PodDisruptionBudget => vec![
            name,
            json!(int_or_string(o.pointer("/spec/minAvailable"))),
            json!(int_or_string(o.pointer("/spec/maxUnavailable"))),
            json!(int("/status/disruptionsAllowed")),
            age,
        ],
        ResourceKind::Deployment => vec![
            name,
            json!(format!(
                "{}/{}",
                int("/status/readyReplicas"),
                o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
            )),
            json!(int("/status/updatedReplicas")),
            json!(int("/status/availableReplicas")),
            age,
            json!(join("name")),
            json!(join("image")),
            json!(selector_string(o.pointer("/spec/selector"))),
        ],
        ResourceKind::ReplicaSet => {
            vec![
                name,
                json!(int("/spec/replicas")),
                json!(int("/status/replicas")),
                json!(int("/status/readyReplicas")),
                age,
            ]
        }
        ResourceKind::Namespace => vec![name, json!(s(o, "/status/phase").unwrap_or("Active")), age],
        ResourceKind::Lease => vec![name, json!(s(o, "/spec/holderIdentity").unwrap_or_default()), age],
        ResourceKind::Node | ResourceKind::Pod | ResourceKind::Event => vec![name, age],
    }
}

/// kubectl's human duration ("45s", "3m20s", "5h", "2d3h", "400d").
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    let with = |a: i64, ua: &str, b: i64, ub: &str| if b == 0 { format!("{a}{ua}") } else { format!("{a}{ua}{b}{ub}") };
    match s {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 => with(m, "m", s % 60, "s"),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => with(h, "h", m % 60, "m"),
        _ if h < 48 => format!("{h}h"),
        _ if h < 24 * 8 => with(d, "d", h % 24, "h"),
        _ if d < 365 * 2 => format!("{d}d"),
        _ if d < 365 * 8 => with(d / 365, "y", d % 365, "d"),
        _ => format!("{}y", d / 365),
    }
}

/// Age of an RFC 3339 timestamp relative to `now`; "<unknown>" when absent.
fn age(ts: Option<&str>, now: jiff::Timestamp) -> String {
    match ts.and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn s<'a>(obj: &'a Value, ptr: &str) -> Option<&'a str> {
    obj.pointer(ptr).and_then(Value::as_str)
}

fn or_none(v: Option<String>) -> String {
    v.filter(|v| !v.is_empty()).unwrap_or_else(|| "<none>".into())
}

fn node_cells(o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let conditions = o.pointer("/status/conditions").and_then(Value::as_array);
    let ready = conditions
        .and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")))
        .and_then(|c| c.get("status").and_then(Value::as_str));
    // As the API server's printer: any Ready condition that is not True (False or Unknown) is NotReady; only a
    // node with no Ready condition at all is Unknown.
    let mut status = match ready {
        Some("True") => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let labels = o.pointer("/metadata/labels").and_then(Value::as_object);
    let mut roles: Vec<String> = labels
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(r) if !r.is_empty() => Some(r.to_string()),
            _ if k == "kubernetes.io/role" => v.as_str().map(str::to_string),
            _ => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    let addr = |t: &str| {
        o.pointer("/status/addresses")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|x| x.get("type").and_then(Value::as_str) == Some(t)))
            .and_then(|x| x.get("address").and_then(Value::as_str))
            .map(str::to_string)
    };
    let info = |f: &str| s(o, &format!("/status/nodeInfo/{f}")).unwrap_or("<unknown>").to_string();
    vec![
        json!(s(o, "/metadata/name").unwrap_or_default()),
        json!(status),
        json!(or_none(Some(roles.join(",")))),
        json!(age(s(o, "/metadata/creationTimestamp"), now)),
        json!(s(o, "/status/nodeInfo/kubeletVersion").unwrap_or_default()),
        json!(or_none(addr("InternalIP"))),
        json!(or_none(addr("ExternalIP"))),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

fn pod_cells(o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let spec_containers = o.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
    let statuses = o.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = statuses.iter().filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true)).count();
    let restarts: i64 = statuses.iter().filter_map(|c| c.get("restartCount").and_then(Value::as_i64)).sum();
    let mut reason = s(o, "/status/reason").or_else(|| s(o, "/status/phase")).unwrap_or("Pending").to_string();
    for c in &statuses {
        if let Some(r) = c.pointer("/state/waiting/reason").and_then(Value::as_str) {
            reason = r.to_string();
        } else if let Some(r) = c.pointer("/state/terminated/reason").and_then(Value::as_str) {
            reason = r.to_string();
        }
    }
    if o.pointer("/metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
        reason = "Terminating".into();
    }
    let gates = o.pointer("/spec/readinessGates").and_then(Value::as_array).map_or(0, Vec::len);
    vec![
        json!(s(o, "/metadata/name").unwrap_or_default()),
        json!(format!("{ready}/{}", spec_containers.max(statuses.len()))),
        json!(reason),
        json!(restarts.to_string()),
        json!(age(s(o, "/metadata/creationTimestamp"), now)),
        json!(or_none(s(o, "/status/podIP").map(str::to_string))),
        json!(or_none(s(o, "/spec/nodeName").map(str::to_string))),
        json!(or_none(s(o, "/status/nominatedNodeName").map(str::to_string))),
        json!(if gates == 0 { "<none>".to_string() } else { format!("0/{gates}") }),
    ]
}

fn event_cells(o: &Value, now: jiff::Timestamp) -> Vec<Value> {
    let last = s(o, "/lastTimestamp")
        .or_else(|| s(o, "/eventTime"))
        .or_else(|| s(o, "/series/lastObservedTime"))
        .or_else(|| s(o, "/metadata/creationTimestamp"));
    let first = s(o, "/firstTimestamp").or_else(|| s(o, "/eventTime")).or_else(|| s(o, "/metadata/creationTimestamp"));
    let object = format!(
        "{}/{}",
        s(o, "/involvedObject/kind").unwrap_or_default().to_lowercase(),
        s(o, "/involvedObject/name").unwrap_or_default()
    );
    let source = s(o, "/source/component").or_else(|| s(o, "/reportingComponent")).unwrap_or_default();
    vec![
        json!(age(last, now)),
        json!(s(o, "/type").unwrap_or_default()),
        json!(s(o, "/reason").unwrap_or_default()),
        json!(object),
        json!(s(o, "/involvedObject/fieldPath").unwrap_or_default()),
        json!(source),
        json!(s(o, "/message").unwrap_or_default()),
        json!(age(first, now)),
        json!(o.get("count").and_then(Value::as_i64).unwrap_or(1).to_string()),
        json!(s(o, "/metadata/name").unwrap_or_default()),
    ]
}

/// One row for an object.
pub fn row(kind: ResourceKind, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let cells = match kind {
        ResourceKind::Node => node_cells(obj, now),
        ResourceKind::Pod => pod_cells(obj, now),
        ResourceKind::Event => event_cells(obj, now),
        other => other_cells(other, obj, now),
    };
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    };
    let mut r = json!({"cells": cells});
    if !object.is_null() {
        r["object"] = object;
    }
    r
}

/// A whole Table; `list_meta` is the list's `metadata` (resourceVersion, continue, remainingItemCount).
pub fn table<'a>(
    kind: ResourceKind,
    objs: impl IntoIterator<Item = &'a Value>,
    list_meta: Value,
    include: IncludeObject,
) -> Value {
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = objs.into_iter().map(|o| row(kind, o, include, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns(kind),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9:.-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let keys = prop_oneof![
                Just("metadata".to_string()),
                Just("status".to_string()),
                Just("spec".to_string()),
                Just("conditions".to_string()),
                Just("containerStatuses".to_string()),
                Just("addresses".to_string()),
                Just("name".to_string()),
                Just("type".to_string()),
                Just("creationTimestamp".to_string()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(keys, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn rows_never_panic_on_odd_objects(obj in any_json()) {
            for kind in ResourceKind::ALL {
                let r = row(kind, &obj, IncludeObject::Metadata, jiff::Timestamp::now());
                proptest::prop_assert_eq!(r["cells"].as_array().map(Vec::len), Some(columns(kind).len()));
            }
        }
    }

    #[test]
    fn human_durations_match_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(10 * 3600), "10h");
        assert_eq!(human_duration(2 * 86_400 + 3 * 3600), "2d3h");
        assert_eq!(human_duration(400 * 86_400), "400d");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn node_status_reads_like_the_api_servers_printer() {
        let now: jiff::Timestamp = "2026-01-01T00:03:20Z".parse().unwrap();
        let status = |conditions: Value| {
            let node = json!({"metadata": {"name": "n"}, "status": {"conditions": conditions}});
            row(ResourceKind::Node, &node, IncludeObject::Metadata, now)["cells"][1].clone()
        };
        assert_eq!(status(json!([{"type": "Ready", "status": "Unknown"}])), "NotReady");
        assert_eq!(status(json!([{"type": "Ready", "status": "False"}])), "NotReady");
        assert_eq!(status(json!([{"type": "MemoryPressure", "status": "False"}])), "Unknown");
    }

    #[test]
    fn node_row_shows_cordon_and_wide_columns() {
        let node = json!({
            "metadata": {"name": "aks-spot-1", "labels": {"kubernetes.io/role": "agent"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "10.224.0.5"}],
                       "nodeInfo": {"kubeletVersion": "v1.33.2", "osImage": "Ubuntu 22.04.5 LTS",
                                    "kernelVersion": "5.15.0-1089-azure", "containerRuntimeVersion": "containerd://1.7.27-1"}}
        });
        let now: jiff::Timestamp = "2026-01-01T00:03:20Z".parse().unwrap();
        let r = row(ResourceKind::Node, &node, IncludeObject::Metadata, now);
        assert_eq!(
            r["cells"],
            json!([
                "aks-spot-1",
                "Ready,SchedulingDisabled",
                "agent",
                "3m20s",
                "v1.33.2",
                "10.224.0.5",
                "<none>",
                "Ubuntu 22.04.5 LTS",
                "5.15.0-1089-azure",
                "containerd://1.7.27-1"
            ])
        );
        assert_eq!(r["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(columns(ResourceKind::Node).len(), 10);
    }

    #[test]
    fn pod_and_event_rows() {
        let now: jiff::Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        let pod = json!({"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "podIP": "10.244.1.7",
                       "containerStatuses": [{"ready": true, "restartCount": 2}, {"ready": false, "restartCount": 0,
                                              "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let r = row(ResourceKind::Pod, &pod, IncludeObject::None, now);
        assert_eq!(
            r["cells"],
            json!(["web", "1/2", "CrashLoopBackOff", "2", "60m", "10.244.1.7", "n1", "<none>", "<none>"])
        );
        assert!(r.get("object").is_none());
        let ev = json!({"metadata": {"name": "e1"}, "type": "Warning", "reason": "Preempted", "message": "spot",
            "involvedObject": {"kind": "Node", "name": "n1"}, "lastTimestamp": "2026-01-01T00:59:30Z"});
        let r = row(ResourceKind::Event, &ev, IncludeObject::Object, now);
        assert_eq!(r["cells"][0], "30s");
        assert_eq!(r["cells"][3], "node/n1");
        assert_eq!(r["object"]["reason"], "Preempted");
    }

    #[test]
    fn budget_and_deployment_rows() {
        let now = jiff::Timestamp::now();
        let pdb =
            json!({"metadata": {"name": "web-pdb"}, "spec": {"minAvailable": 1}, "status": {"disruptionsAllowed": 0}});
        assert_eq!(
            row(ResourceKind::PodDisruptionBudget, &pdb, IncludeObject::None, now)["cells"],
            json!(["web-pdb", "1", "N/A", 0, "<unknown>"])
        );
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "web", "image": "robotshop/web:2.1"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            row(ResourceKind::Deployment, &d, IncludeObject::None, now)["cells"],
            json!(["web", "2/3", 3, 2, "<unknown>", "web", "robotshop/web:2.1", "app=web"])
        );
    }

    #[test]
    fn accept_header_detection() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table("application/json, */*"));
    }
}
