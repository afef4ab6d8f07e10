//! Gathers what remediation decides from: every Node (readiness, providerID, labels, taints) and every VM of the
//! AKS-managed scale sets in the node resource group named by the nodes' providerIDs.
//!
//! Input format: providerID `azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/
//! virtualMachineScaleSets/<vmss>/virtualMachines/<id>` (any case; compared lower-cased).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use crate::azure::vmss::{ComputeClient, ScaleSetInfo, VmInfo};
use crate::remediation::error::RemediationError;

/// A Node, reduced to what the plan reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFacts {
    pub name: String,
    pub uid: Option<String>,
    /// Lower-cased, without `azure://`: compares with `VmInfo::resource_key`.
    pub provider_key: Option<String>,
    pub ready: bool,
    /// When the Ready condition last changed.
    pub ready_since: Option<Timestamp>,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<String>,
    pub unschedulable: bool,
}

/// Where the cluster's VMs live.
#[derive(Debug, Clone, PartialEq)]
pub struct AzureScope {
    pub subscription_id: String,
    pub resource_group: String,
}

/// Nodes and VMs at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub nodes: Vec<NodeFacts>,
    pub scale_sets: Vec<ScaleSetInfo>,
    pub vms: Vec<VmInfo>,
}

/// The parts of a scale-set providerID.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderId {
    pub subscription_id: String,
    pub resource_group: String,
    pub scale_set: String,
    pub instance_id: String,
}

/// Parses a scale-set VM providerID; `None` for anything else (availability-set VMs, other clouds).
pub fn parse_provider_id(pid: &str) -> Option<ProviderId> {
    let rest = pid.strip_prefix("azure://")?;
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [s, sub, r, rg, p, ns, v, vmss, m, id]
            if s.eq_ignore_ascii_case("subscriptions")
                && r.eq_ignore_ascii_case("resourceGroups")
                && p.eq_ignore_ascii_case("providers")
                && ns.eq_ignore_ascii_case("Microsoft.Compute")
                && v.eq_ignore_ascii_case("virtualMachineScaleSets")
                && m.eq_ignore_ascii_case("virtualMachines")
                && !id.is_empty() =>
        {
            Some(ProviderId {
                subscription_id: (*sub).to_owned(),
                resource_group: (*rg).to_owned(),
                scale_set: (*vmss).to_owned(),
                instance_id: (*id).to_owned(),
            })
        }
        _ => None,
    }
}

/// `azure:///subscriptions/...` → `/subscriptions/...`, lower-cased.
pub fn provider_key(pid: &str) -> String {
    let rest = pid.strip_prefix("azure://").unwrap_or(pid);
    format!("/{}", rest.trim_start_matches('/')).to_ascii_lowercase()
}

pub(crate) fn node_facts(node: &Node) -> NodeFacts {
    let ready_cond =
        node.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let spec = node.spec.as_ref();
    NodeFacts {
        name: node.metadata.name.clone().unwrap_or_default(),
        uid: node.metadata.uid.clone(),
        provider_key: spec.and_then(|s| s.provider_id.as_deref()).map(provider_key),
        ready: ready_cond.is_some_and(|c| c.status == "True"),
        ready_since: ready_cond.and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0),
        labels: node.metadata.labels.clone().unwrap_or_default(),
        taints: spec
            .and_then(|s| s.taints.as_ref())
            .map(|t| t.iter().map(|t| t.key.clone()).collect())
            .unwrap_or_default(),
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
    }
}

/// Every Node (paged; a few hundred nodes fit in one page).
pub async fn list_nodes(client: &kube::Client) -> Result<Vec<(NodeFacts, Option<ProviderId>)>, RemediationError> {
    let api: Api<Node> = Api::all(client.clone());
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.map_err(RemediationError::ListNodes)?;
        for n in &page.items {
            let pid = n.spec.as_ref().and_then(|s| s.provider_id.as_deref()).and_then(parse_provider_id);
            out.push((node_facts(n), pid));
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => params = params.continue_token(&c),
            None => return Ok(out),
        }
    }
}

/// The scope the nodes name: `subscription` when given, else the nodes' own; the most common resource group.
pub fn scope_of(pids: &[ProviderId], subscription: Option<&str>) -> Option<AzureScope> {
    let mut counts: BTreeMap<String, (usize, &ProviderId)> = BTreeMap::new();
    for p in pids {
        counts.entry(p.resource_group.to_ascii_lowercase()).or_insert((0, p)).0 += 1;
    }
    let (_, (_, p)) = counts.into_iter().max_by_key(|(_, (n, _))| *n)?;
    Some(AzureScope {
        subscription_id: subscription.map_or_else(|| p.subscription_id.clone(), str::to_owned),
        resource_group: p.resource_group.clone(),
    })
}

/// Nodes, then the AKS-managed scale sets and their VMs in the node resource group.
pub async fn gather(
    client: &kube::Client,
    compute: &ComputeClient,
    subscription: Option<&str>,
) -> Result<(Inventory, AzureScope), RemediationError> {
    let listed = list_nodes(client).await?;
    let pids: Vec<ProviderId> = listed.iter().filter_map(|(_, p)| p.clone()).collect();
    let scope = scope_of(&pids, subscription).ok_or(RemediationError::NoAzureScope)?;
    let azure_err =
        |source| RemediationError::Azure { resource_group: scope.resource_group.clone(), source: Box::new(source) };
    let scale_sets = compute.list_scale_sets(&scope.subscription_id, &scope.resource_group).await.map_err(azure_err)?;
    let mut vms = Vec::new();
    for set in &scale_sets {
        vms.extend(compute.list_vms(&scope.subscription_id, &scope.resource_group, set).await.map_err(azure_err)?);
    }
    let nodes = listed.into_iter().map(|(n, _)| n).collect();
    Ok((Inventory { nodes, scale_sets, vms }, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "azure:///subscriptions/S/resourceGroups/mc_RG/providers/Microsoft.Compute/virtualMachineScaleSets/aks-spot-1/virtualMachines/3";

    #[test]
    fn parses_scale_set_provider_ids_only() {
        let p = parse_provider_id(PID).expect("parsed");
        assert_eq!(
            (p.resource_group.as_str(), p.scale_set.as_str(), p.instance_id.as_str()),
            ("mc_RG", "aks-spot-1", "3")
        );
        assert!(
            parse_provider_id(
                "azure:///subscriptions/S/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
            )
            .is_none()
        );
        assert!(parse_provider_id("aws:///us-east-1a/i-0").is_none());
        assert_eq!(provider_key(PID), provider_key(&PID.to_uppercase().replace("AZURE://", "azure://")));
        assert!(provider_key(PID).starts_with("/subscriptions/s/resourcegroups/mc_rg/"));
    }

    #[test]
    fn scope_prefers_override_and_majority_group() {
        let a = parse_provider_id(PID).expect("a");
        let mut b = a.clone();
        b.resource_group = "other".into();
        let s = scope_of(&[a.clone(), b, a], Some("sub2")).expect("scope");
        assert_eq!((s.subscription_id.as_str(), s.resource_group.as_str()), ("sub2", "mc_RG"));
        assert!(scope_of(&[], None).is_none());
    }

    proptest::proptest! {
        #[test]
        fn provider_id_parser_never_panics(s in ".{0,200}") {
            let _ = parse_provider_id(&s);
            let _ = provider_key(&s);
        }
    }
}
