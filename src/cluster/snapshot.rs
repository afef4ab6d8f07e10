//! Cluster snapshots: nodes and pods counted per pool and zone from paginated lean lists, pods counted page by
//! page so the whole pod list is never in memory.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use kube::Client;
use kube::api::ListParams;
use serde::de::DeserializeOwned;

use crate::cluster::error::ClusterError;
use crate::cluster::lean::{LeanList, LeanNode, LeanPod, NodeInfo};
use crate::report::model::ClusterSnapshot;

/// Items per list page: big enough to keep round trips few, small enough to keep one page cheap.
pub const PAGE_SIZE: u32 = 500;

const UNKNOWN: &str = "unknown";

/// Calls `on_page` for every page of the list at `path` (e.g. `/api/v1/pods`), following continue tokens.
pub async fn for_each_page<T, F>(
    client: &Client,
    path: &str,
    resource: &'static str,
    mut on_page: F,
) -> Result<(), ClusterError>
where
    T: DeserializeOwned,
    F: FnMut(Vec<T>),
{
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE_SIZE);
        if let Some(t) = token.take() {
            lp = lp.continue_token(&t);
        }
        let request = kube::core::Request::new(path)
            .list(&lp)
            .map_err(|e| ClusterError::List { resource, source: kube::Error::BuildRequest(e) })?;
        let page: LeanList<T> =
            client.request(request).await.map_err(|source| ClusterError::List { resource, source })?;
        on_page(page.items);
        match page.metadata.continue_ {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(()),
        }
    }
}

/// Every node, reduced to `NodeInfo`.
pub async fn list_nodes(client: &Client) -> Result<Vec<NodeInfo>, ClusterError> {
    let mut nodes = Vec::new();
    for_each_page::<LeanNode, _>(client, "/api/v1/nodes", "nodes", |page| {
        nodes.extend(page.iter().map(NodeInfo::from));
    })
    .await?;
    Ok(nodes)
}

/// Pod counts accumulated page by page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodCounts {
    pub total: u64,
    pub pending: u64,
    pub per_pool: BTreeMap<String, u64>,
    pub per_zone: BTreeMap<String, u64>,
}

impl PodCounts {
    /// Adds one page; pods on nodes not in `nodes` (created after the node list) count as pool/zone "unknown",
    /// unscheduled pods count only in the totals.
    pub fn add_page(&mut self, pods: &[LeanPod], nodes: &HashMap<String, NodeInfo>) {
        for pod in pods {
            self.total += 1;
            if pod.status.phase.as_deref() == Some("Pending") {
                self.pending += 1;
            }
            let Some(node_name) = pod.spec.node_name.as_deref() else { continue };
            let node = nodes.get(node_name);
            let pool = node.and_then(|n| n.pool.clone()).unwrap_or_else(|| UNKNOWN.into());
            let zone = node.and_then(|n| n.zone.clone()).unwrap_or_else(|| UNKNOWN.into());
            *self.per_pool.entry(pool).or_insert(0) += 1;
            *self.per_zone.entry(zone).or_insert(0) += 1;
        }
    }
}

/// Builds a snapshot from the node list and the pod counts.
pub fn build_snapshot(at: Timestamp, nodes: &[NodeInfo], pods: PodCounts) -> ClusterSnapshot {
    let mut node_pool_counts = BTreeMap::new();
    let mut zone_node_counts = BTreeMap::new();
    let mut not_ready_nodes = Vec::new();
    for n in nodes {
        *node_pool_counts.entry(n.pool.clone().unwrap_or_else(|| UNKNOWN.into())).or_insert(0) += 1;
        *zone_node_counts.entry(n.zone.clone().unwrap_or_else(|| UNKNOWN.into())).or_insert(0) += 1;
        if !n.ready {
            not_ready_nodes.push(n.name.clone());
        }
    }
    not_ready_nodes.sort();
    ClusterSnapshot {
        timestamp: Some(at),
        total_nodes: nodes.len() as u64,
        ready_nodes: nodes.iter().filter(|n| n.ready).count() as u64,
        spot_nodes: nodes.iter().filter(|n| n.spot).count() as u64,
        total_pods: pods.total,
        pending_pods: pods.pending,
        node_pool_counts,
        zone_node_counts,
        pool_pod_counts: pods.per_pool,
        zone_pod_counts: pods.per_zone,
        not_ready_nodes,
    }
}

/// Takes one snapshot: nodes first, then pods streamed page by page.
pub async fn take_snapshot(client: &Client) -> Result<ClusterSnapshot, ClusterError> {
    let at = Timestamp::now();
    let nodes = list_nodes(client).await?;
    let by_name: HashMap<String, NodeInfo> = nodes.iter().map(|n| (n.name.clone(), n.clone())).collect();
    let mut pods = PodCounts::default();
    for_each_page::<LeanPod, _>(client, "/api/v1/pods", "pods", |page| pods.add_page(&page, &by_name)).await?;
    Ok(build_snapshot(at, &nodes, pods))
}

/// The snapshot as a table for a terminal.
pub fn render_table(s: &ClusterSnapshot) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "nodes  {} total, {} ready, {} spot", s.total_nodes, s.ready_nodes, s.spot_nodes);
    let _ = writeln!(out, "pods   {} total, {} pending", s.total_pods, s.pending_pods);
    let _ = writeln!(out, "\n{:<24} {:>8} {:>8}", "POOL", "NODES", "PODS");
    let mut pools: Vec<&String> = s.node_pool_counts.keys().chain(s.pool_pod_counts.keys()).collect();
    pools.sort();
    pools.dedup();
    for p in pools {
        let nodes = s.node_pool_counts.get(p).copied().unwrap_or(0);
        let pods = s.pool_pod_counts.get(p).copied().unwrap_or(0);
        let _ = writeln!(out, "{p:<24} {nodes:>8} {pods:>8}");
    }
    let _ = writeln!(out, "\n{:<24} {:>8} {:>8}", "ZONE", "NODES", "PODS");
    let mut zones: Vec<&String> = s.zone_node_counts.keys().chain(s.zone_pod_counts.keys()).collect();
    zones.sort();
    zones.dedup();
    for z in zones {
        let nodes = s.zone_node_counts.get(z).copied().unwrap_or(0);
        let pods = s.zone_pod_counts.get(z).copied().unwrap_or(0);
        let _ = writeln!(out, "{z:<24} {nodes:>8} {pods:>8}");
    }
    if s.not_ready_nodes.is_empty() {
        let _ = writeln!(out, "\nall nodes Ready");
    } else {
        let _ = writeln!(out, "\nnot Ready: {}", s.not_ready_nodes.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, pool: &str, zone: &str, ready: bool, spot: bool) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            pool: Some(pool.into()),
            zone: Some(zone.into()),
            ready,
            spot,
            ..NodeInfo::default()
        }
    }

    fn pod(node: Option<&str>, phase: &str) -> LeanPod {
        serde_json::from_value(serde_json::json!({"spec": {"nodeName": node}, "status": {"phase": phase}}))
            .expect("pod")
    }

    #[test]
    fn counts_pages_per_pool_and_zone() {
        let nodes = vec![
            node("s1", "system", "eastus-1", true, false),
            node("a1", "spot1", "eastus-1", true, true),
            node("a2", "spot1", "eastus-2", false, true),
        ];
        let by_name: HashMap<_, _> = nodes.iter().map(|n| (n.name.clone(), n.clone())).collect();
        let mut counts = PodCounts::default();
        counts.add_page(&[pod(Some("s1"), "Running"), pod(Some("a1"), "Running")], &by_name);
        counts.add_page(&[pod(Some("a2"), "Running"), pod(None, "Pending"), pod(Some("new"), "Running")], &by_name);
        let s = build_snapshot("2026-01-01T00:00:00Z".parse().expect("ts"), &nodes, counts);
        assert_eq!((s.total_nodes, s.ready_nodes, s.spot_nodes), (3, 2, 2));
        assert_eq!((s.total_pods, s.pending_pods), (5, 1));
        assert_eq!(s.node_pool_counts.get("spot1"), Some(&2));
        assert_eq!(s.zone_node_counts.get("eastus-1"), Some(&2));
        assert_eq!(s.pool_pod_counts.get("spot1"), Some(&2));
        assert_eq!(s.pool_pod_counts.get("unknown"), Some(&1));
        assert_eq!(s.zone_pod_counts.get("eastus-2"), Some(&1));
        assert_eq!(s.not_ready_nodes, vec!["a2".to_owned()]);
        insta::assert_snapshot!(render_table(&s));
    }
}
