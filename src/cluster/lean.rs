//! Lean deserialisation types: only the fields of Nodes, Pods and Events this tool reads, so a page of 500
//! pods costs a few kilobytes after parsing instead of the megabytes a full `k8s_openapi` Pod list holds.
//!
//! Input format: Kubernetes JSON (`v1 NodeList`, `v1 PodList`, `v1 Node`, `v1 Event`); unknown fields are skipped
//! by serde without being kept.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;

/// Node label naming the spot/regular priority of the scale set.
pub const LABEL_PRIORITY: &str = "kubernetes.azure.com/scalesetpriority";
/// Node label naming the AKS agent pool.
pub const LABEL_POOL: &str = "kubernetes.azure.com/agentpool";
/// Older spelling of the agent pool label, still set by AKS.
pub const LABEL_POOL_SHORT: &str = "agentpool";
/// Node label naming the zone (`eastus-1`) or fault domain (`0`).
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
/// Taint the cloud node lifecycle controller puts on a node whose VM is stopped or deallocated.
pub const TAINT_SHUTDOWN: &str = "node.cloudprovider.kubernetes.io/shutdown";
/// Taint cluster-autoscaler puts on a node it is scaling down.
pub const TAINT_AUTOSCALER_DELETE: &str = "ToBeDeletedByClusterAutoscaler";
/// Annotation AKS sets on nodes being upgraded.
pub const ANNOTATION_SCALE_DOWN_DISABLED: &str =
    "kubernetes.azure.com/azure-cluster-autoscaler-scale-down-disabled-reason";

/// `metadata.continue` of a list page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanListMeta {
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
    #[serde(default, rename = "resourceVersion")]
    pub resource_version: Option<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Deserialize)]
pub struct LeanList<T> {
    #[serde(default)]
    pub metadata: LeanListMeta,
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeanTaint {
    pub key: String,
    #[serde(default)]
    pub effect: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanNodeSpec {
    #[serde(default, rename = "providerID")]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub unschedulable: Option<bool>,
    #[serde(default)]
    pub taints: Vec<LeanTaint>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanNodeStatus {
    #[serde(default)]
    pub conditions: Vec<LeanCondition>,
}

/// A Node, reduced to what snapshots, the eviction classifier and cordon restore read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanNode {
    #[serde(default)]
    pub metadata: LeanMeta,
    #[serde(default)]
    pub spec: LeanNodeSpec,
    #[serde(default)]
    pub status: LeanNodeStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanPodSpec {
    #[serde(default)]
    pub node_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanPodStatus {
    #[serde(default)]
    pub phase: Option<String>,
}

/// A Pod, reduced to where it runs and its phase; its metadata is skipped entirely.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanPod {
    #[serde(default)]
    pub spec: LeanPodSpec,
    #[serde(default)]
    pub status: LeanPodStatus,
}

/// What the tool knows about a node: derived once from a `LeanNode`, kept after the node is deleted so late
/// events about it can still be attributed to a pool and zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInfo {
    pub name: String,
    pub uid: Option<String>,
    pub provider_id: Option<String>,
    pub pool: Option<String>,
    pub zone: Option<String>,
    pub spot: bool,
    pub ready: bool,
    pub unschedulable: bool,
    pub taint_keys: Vec<String>,
    /// True when AKS marks the node as being upgraded (scale-down disabled for reason `upgrade`).
    pub upgrading: bool,
}

impl NodeInfo {
    pub fn has_taint(&self, key: &str) -> bool {
        self.taint_keys.iter().any(|k| k == key)
    }

    /// Identifiers an eviction of this node may be reported under; any of them matching means "same node".
    pub fn identities(&self) -> Vec<String> {
        let mut ids = vec![format!("name:{}", self.name)];
        if let Some(uid) = &self.uid {
            ids.push(format!("uid:{uid}"));
        }
        if let Some(p) = &self.provider_id {
            ids.push(format!("provider:{}", p.to_ascii_lowercase()));
        }
        ids
    }
}

impl From<&LeanNode> for NodeInfo {
    fn from(node: &LeanNode) -> Self {
        let labels = &node.metadata.labels;
        NodeInfo {
            name: node.metadata.name.clone(),
            uid: node.metadata.uid.clone(),
            provider_id: node.spec.provider_id.clone(),
            pool: labels.get(LABEL_POOL).or_else(|| labels.get(LABEL_POOL_SHORT)).cloned(),
            zone: labels.get(LABEL_ZONE).cloned(),
            spot: labels.get(LABEL_PRIORITY).is_some_and(|v| v.eq_ignore_ascii_case("spot")),
            ready: node.status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"),
            unschedulable: node.spec.unschedulable.unwrap_or(false),
            taint_keys: node.spec.taints.iter().map(|t| t.key.clone()).collect(),
            upgrading: node
                .metadata
                .annotations
                .get(ANNOTATION_SCALE_DOWN_DISABLED)
                .is_some_and(|v| v.eq_ignore_ascii_case("upgrade")),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanObjectRef {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeanEventSource {
    #[serde(default)]
    pub component: Option<String>,
}

/// A core/v1 Event, reduced to what the eviction classifier reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeanEvent {
    #[serde(default)]
    pub involved_object: LeanObjectRef,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub source: LeanEventSource,
    #[serde(default)]
    pub reporting_component: Option<String>,
    #[serde(default)]
    pub event_time: Option<Timestamp>,
    #[serde(default)]
    pub last_timestamp: Option<Timestamp>,
    #[serde(default)]
    pub first_timestamp: Option<Timestamp>,
}

impl LeanEvent {
    /// When the event last happened: eventTime, else lastTimestamp, else firstTimestamp.
    pub fn when(&self) -> Option<Timestamp> {
        self.event_time.or(self.last_timestamp).or(self.first_timestamp)
    }

    /// The component that reported it, whichever of the two fields carries it.
    pub fn component(&self) -> &str {
        self.source.component.as_deref().or(self.reporting_component.as_deref()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = r#"{
      "apiVersion": "v1", "kind": "Node",
      "metadata": {"name": "aks-spot1-123-vmss000002", "uid": "u-2",
        "labels": {"kubernetes.azure.com/agentpool": "spot1", "agentpool": "spot1",
                   "kubernetes.azure.com/scalesetpriority": "spot", "topology.kubernetes.io/zone": "eastus-2"},
        "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]},
      "spec": {"providerID": "azure:///subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot1-123-vmss/virtualMachines/2",
               "taints": [{"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}]},
      "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                 "images": [{"names": ["x"], "sizeBytes": 1}]}
    }"#;

    #[test]
    fn node_keeps_only_what_is_read() {
        let node: LeanNode = serde_json::from_str(NODE).expect("node");
        let info = NodeInfo::from(&node);
        assert_eq!(info.name, "aks-spot1-123-vmss000002");
        assert_eq!(info.pool.as_deref(), Some("spot1"));
        assert_eq!(info.zone.as_deref(), Some("eastus-2"));
        assert!(info.spot && info.ready && !info.unschedulable && !info.upgrading);
        assert!(info.has_taint(LABEL_PRIORITY));
        assert_eq!(info.identities().len(), 3);
    }

    #[test]
    fn regular_not_ready_node_without_labels() {
        let node: LeanNode = serde_json::from_str(
            r#"{"metadata": {"name": "n", "labels": {"agentpool": "sys"}}, "spec": {"unschedulable": true},
                "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}"#,
        )
        .expect("node");
        let info = NodeInfo::from(&node);
        assert_eq!(info.pool.as_deref(), Some("sys"));
        assert!(!info.spot && !info.ready && info.unschedulable);
        assert_eq!(info.zone, None);
    }

    #[test]
    fn pod_list_page_with_continue() {
        let page: LeanList<LeanPod> = serde_json::from_str(
            r#"{"kind": "PodList", "metadata": {"continue": "abc", "resourceVersion": "7"},
                "items": [{"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"nodeName": "n1",
                  "containers": [{"name": "c", "image": "i"}]}, "status": {"phase": "Running"}},
                 {"metadata": {"name": "q"}, "spec": {}, "status": {"phase": "Pending"}}]}"#,
        )
        .expect("page");
        assert_eq!(page.metadata.continue_.as_deref(), Some("abc"));
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].spec.node_name.as_deref(), Some("n1"));
        assert_eq!(page.items[1].status.phase.as_deref(), Some("Pending"));
    }

    #[test]
    fn event_times_and_component() {
        let ev: LeanEvent = serde_json::from_str(
            r#"{"involvedObject": {"kind": "Node", "name": "n", "uid": "u"}, "reason": "PreemptScheduled",
                "message": "Preempt", "source": {"component": "custom-scheduledevents-consolidated-condition-plugin-monitor"},
                "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z", "count": 3,
                "eventTime": null}"#,
        )
        .expect("event");
        assert_eq!(ev.when(), Some("2026-01-01T00:05:00Z".parse().expect("ts")));
        assert!(ev.component().starts_with("custom-"));
        let micro: LeanEvent =
            serde_json::from_str(r#"{"eventTime": "2026-01-01T00:00:01.123456Z", "reportingComponent": "x"}"#)
                .expect("micro");
        assert_eq!(micro.component(), "x");
        assert!(micro.when().is_some());
    }

    proptest::proptest! {
        #[test]
        fn lean_types_never_panic_on_arbitrary_text(text in ".{0,200}") {
            let _ = serde_json::from_str::<LeanNode>(&text).map(|n| NodeInfo::from(&n));
            let _ = serde_json::from_str::<LeanEvent>(&text).map(|e| (e.when(), e.component().len()));
            let _ = serde_json::from_str::<LeanList<LeanPod>>(&text);
        }
    }
}
