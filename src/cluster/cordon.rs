//! Restoring what tests change: nodes the zone-failure scenario cordoned (and marked with an annotation on the
//! node itself, so a crashed run is repaired by the next start) are uncordoned and unmarked.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};

use crate::cluster::error::ClusterError;
use crate::cluster::lean::LeanNode;
use crate::cluster::snapshot::for_each_page;

/// Annotation a test scenario sets on each node it cordons; its value names the scenario (e.g. `EDGE-006`).
pub const CORDONED_BY_ANNOTATION: &str = "aks-spot-test.io/cordoned-by";

/// A node this tool uncordoned, and which scenario had cordoned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredNode {
    pub node: String,
    pub cordoned_by: String,
}

/// The marked nodes in a page, in the order listed.
pub fn marked_nodes(nodes: &[LeanNode]) -> Vec<RestoredNode> {
    nodes
        .iter()
        .filter_map(|n| {
            n.metadata
                .annotations
                .get(CORDONED_BY_ANNOTATION)
                .map(|by| RestoredNode { node: n.metadata.name.clone(), cordoned_by: by.clone() })
        })
        .collect()
}

/// The merge patch that uncordons a node and removes the mark in one write.
pub fn restore_patch() -> serde_json::Value {
    serde_json::json!({
        "metadata": {"annotations": {CORDONED_BY_ANNOTATION: null}},
        "spec": {"unschedulable": null},
    })
}

/// Uncordons every marked node and removes the mark; returns what was restored so the report can say so.
pub async fn restore_cordons(client: &Client) -> Result<Vec<RestoredNode>, ClusterError> {
    let mut marked = Vec::new();
    for_each_page::<LeanNode, _>(client, "/api/v1/nodes", "nodes", |page| marked.extend(marked_nodes(&page))).await?;
    let api: Api<Node> = Api::all(client.clone());
    let patch = restore_patch();
    for r in &marked {
        match api.patch(&r.node, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {}
            // Gone since the list (evicted, scaled down): nothing left to restore.
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(ClusterError::Node { action: "uncordon", node: r.node.clone(), source }),
        }
    }
    Ok(marked)
}

/// The sentence for `TestReport::notes`, when anything was restored.
pub fn restore_note(restored: &[RestoredNode], when: &str) -> Option<String> {
    if restored.is_empty() {
        return None;
    }
    let list: Vec<String> = restored.iter().map(|r| format!("{} (cordoned by {})", r.node, r.cordoned_by)).collect();
    Some(format!("uncordoned {} node(s) {when}: {}", restored.len(), list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_marked_nodes_and_builds_patch() {
        let nodes: Vec<LeanNode> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "a", "annotations": {CORDONED_BY_ANNOTATION: "EDGE-006"}}, "spec": {"unschedulable": true}},
            {"metadata": {"name": "b"}, "spec": {"unschedulable": true}},
            {"metadata": {"name": "c", "annotations": {"other": "x"}}},
        ]))
        .expect("nodes");
        let marked = marked_nodes(&nodes);
        assert_eq!(marked, vec![RestoredNode { node: "a".into(), cordoned_by: "EDGE-006".into() }]);
        assert_eq!(restore_patch()["metadata"]["annotations"][CORDONED_BY_ANNOTATION], serde_json::Value::Null);
        assert_eq!(restore_patch()["spec"]["unschedulable"], serde_json::Value::Null);
        assert_eq!(
            restore_note(&marked, "before the run").as_deref(),
            Some("uncordoned 1 node(s) before the run: a (cordoned by EDGE-006)")
        );
        assert_eq!(restore_note(&[], "x"), None);
    }
}
