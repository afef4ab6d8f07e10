//! Carries out a plan: dry run describes and mutates nothing; a real run re-checks each target, deletes ghosts in
//! one batch per scale set (polling the operation), deletes stuck Nodes once their VM is confirmed gone, re-lists
//! to confirm, and leaves an audit Event per action. A failed target never stops the others.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Node, ObjectReference};
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, PostParams};

use crate::azure::credential::ImdsCredential;
use crate::azure::vmss::{ComputeClient, ScaleSetInfo};
use crate::cluster::Connection;
use crate::config::schema::RemediationConfig;
use crate::remediation::error::RemediationError;
use crate::remediation::inventory::{AzureScope, Inventory, gather, list_nodes};
use crate::remediation::plan::{Planned, plan, vm_target};
use crate::report::model::{Remediation, RemediationAction};

/// Reason of the audit Events remediation leaves.
pub const EVENT_REASON: &str = "AksSpotTestRemediation";
/// Namespace of the audit Events (Nodes and VMs are cluster-scoped; Events about them live here, as kubelet's do).
const EVENT_NAMESPACE: &str = "default";
/// How long one batch delete may take, polling included, before it counts as failed.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the Azure side is: what `aks-spot-test sim` writes into `<kubeconfig>.azure.env`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AzureTarget {
    /// `AZURE_ARM_ENDPOINT`; the public cloud's when unset.
    pub arm_endpoint: Option<String>,
    /// `AZURE_SUBSCRIPTION_ID`; else the nodes' providerIDs name it.
    pub subscription_id: Option<String>,
    /// `AZURE_TOKEN_ENDPOINT` (or `IDENTITY_ENDPOINT`); IMDS when unset.
    pub token_endpoint: Option<String>,
    /// User-assigned managed identity client id (`AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
}

impl AzureTarget {
    /// From the process environment; empty values count as unset.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        AzureTarget {
            arm_endpoint: var("AZURE_ARM_ENDPOINT"),
            subscription_id: var("AZURE_SUBSCRIPTION_ID"),
            token_endpoint: var("AZURE_TOKEN_ENDPOINT").or_else(|| var("IDENTITY_ENDPOINT")),
            client_id: var("AZURE_CLIENT_ID"),
        }
    }

    /// A Compute client with the managed identity credential.
    pub fn compute_client(&self) -> Result<ComputeClient, RemediationError> {
        let cred = match &self.token_endpoint {
            Some(e) => ImdsCredential::with_endpoint(e, self.client_id.clone()),
            None => ImdsCredential::from_env(self.client_id.clone()),
        }
        .map_err(|e| RemediationError::AzureSetup(Box::new(e)))?;
        let endpoint = self.arm_endpoint.as_deref().unwrap_or("https://management.azure.com");
        ComputeClient::new(endpoint, Arc::new(cred)).map_err(|e| RemediationError::AzureSetup(Box::new(e)))
    }
}

/// What the executor acts through.
#[derive(Clone)]
pub struct Clients {
    pub kube: kube::Client,
    pub compute: ComputeClient,
    pub scope: AzureScope,
    pub config: RemediationConfig,
    /// Bound on each batch delete, polling included.
    pub delete_timeout: Duration,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("scope", &self.scope)
            .field("delete_timeout", &self.delete_timeout)
            .finish_non_exhaustive()
    }
}

/// Connects to Azure, gathers the inventory, plans and executes. The lead's entry point for `run`.
pub async fn remediate(
    conn: &Connection,
    azure: &AzureTarget,
    cfg: &RemediationConfig,
    dry_run: bool,
) -> Result<Remediation, RemediationError> {
    let compute = azure.compute_client()?;
    remediate_with(&conn.client, compute, azure.subscription_id.as_deref(), cfg, dry_run).await
}

/// `remediate` with a ready Compute client (tests shorten its retry schedule).
pub async fn remediate_with(
    kube: &kube::Client,
    compute: ComputeClient,
    subscription: Option<&str>,
    cfg: &RemediationConfig,
    dry_run: bool,
) -> Result<Remediation, RemediationError> {
    let (inventory, scope) = gather(kube, &compute, subscription).await?;
    let planned = plan(&inventory, cfg, Timestamp::now());
    let clients = Clients { kube: kube.clone(), compute, scope, config: cfg.clone(), delete_timeout: DELETE_TIMEOUT };
    Ok(execute(&planned, &clients, dry_run).await)
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Done(String),
    /// The re-check found the target no longer qualifies: nothing done, nothing failed.
    Skipped(String),
    Failed(String),
}

fn record(action_type: &str, target: String, success: bool, details: String, dry_run: bool) -> RemediationAction {
    RemediationAction {
        timestamp: Timestamp::now(),
        action_type: action_type.into(),
        target,
        success,
        details,
        dry_run,
    }
}

/// Executes `plan`. Skipped candidates and a tripped breaker appear as `skipped` / `circuit_breaker` entries, so the
/// report says why each candidate was or was not acted on.
pub async fn execute(plan: &crate::remediation::plan::Plan, clients: &Clients, dry_run: bool) -> Remediation {
    let mut out = Remediation::default();
    if let Some(reason) = &plan.breaker {
        out.details.push(record("circuit_breaker", "cluster".into(), true, reason.clone(), dry_run));
    }
    for (target, reason) in &plan.skipped {
        out.details.push(record("skipped", target.clone(), true, reason.clone(), dry_run));
    }
    let scope = &clients.scope;
    for action in &plan.actions {
        match action {
            Planned::DeleteInstances { scale_set, instances } => {
                let url = format!(
                    "POST /subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}/delete",
                    scope.subscription_id, scope.resource_group
                );
                if dry_run {
                    let ids: Vec<&str> = instances.iter().map(|i| i.instance_id.as_str()).collect();
                    for i in instances {
                        out.details.push(record(
                            "delete_vmss_instance",
                            vm_target(scale_set, &i.instance_id),
                            true,
                            format!("would {url} with instanceIds {ids:?}: {}", i.reason),
                            true,
                        ));
                    }
                    continue;
                }
                for (target, outcome) in delete_ghosts(clients, scale_set, instances).await {
                    if matches!(outcome, Outcome::Done(_)) {
                        out.vmss_ghosts_deleted += 1;
                        out.actions_taken += 1;
                    }
                    out.details.push(report(&clients.kube, "delete_vmss_instance", target, outcome).await);
                }
            }
            Planned::DeleteNode { node, vm, reason } => {
                let target = format!("node/{node}");
                if dry_run {
                    out.details.push(record(
                        "delete_node",
                        target,
                        true,
                        format!("would DELETE /api/v1/nodes/{node} after confirming its VM is gone: {reason}"),
                        true,
                    ));
                    continue;
                }
                let outcome = match delete_stuck_node(clients, node, vm.as_ref()).await {
                    Outcome::Done(d) => Outcome::Done(format!("{reason}; {d}")),
                    Outcome::Skipped(d) => Outcome::Skipped(format!("{reason}; {d}")),
                    Outcome::Failed(d) => Outcome::Failed(format!("{reason}; {d}")),
                };
                if matches!(outcome, Outcome::Done(_)) {
                    out.stuck_nodes_deleted += 1;
                    out.actions_taken += 1;
                }
                out.details.push(report(&clients.kube, "delete_node", target, outcome).await);
            }
        }
    }
    out
}

/// The report line of an outcome; attempted actions (done or failed) leave an audit Event, skips do not.
async fn report(kube: &kube::Client, action_type: &str, target: String, outcome: Outcome) -> RemediationAction {
    match outcome {
        Outcome::Done(d) => {
            audit(kube, &target, true, &d).await;
            record(action_type, target, true, d, false)
        }
        Outcome::Failed(d) => {
            audit(kube, &target, false, &d).await;
            record(action_type, target, false, d, false)
        }
        Outcome::Skipped(d) => record("skipped", target, true, d, false),
    }
}

/// Inventory of one scale set and all nodes, for re-checks.
async fn fresh_inventory(clients: &Clients, scale_set: &str) -> Result<Inventory, String> {
    let nodes = list_nodes(&clients.kube).await.map_err(|e| crate::error::render_chain(&e))?;
    let set = ScaleSetInfo { name: scale_set.to_owned(), pool: String::new() };
    let s = &clients.scope;
    let vms = clients
        .compute
        .list_vms(&s.subscription_id, &s.resource_group, &set)
        .await
        .map_err(|e| crate::error::render_chain(&e))?;
    Ok(Inventory { nodes: nodes.into_iter().map(|(n, _)| n).collect(), scale_sets: vec![set], vms })
}

/// Re-checks, deletes in one batch, confirms by re-listing; `(target, success, details)` per instance.
async fn delete_ghosts(
    clients: &Clients,
    scale_set: &str,
    instances: &[crate::remediation::plan::GhostTarget],
) -> Vec<(String, Outcome)> {
    let target = |id: &str| vm_target(scale_set, id);
    let fail_all = |why: String| {
        instances.iter().map(|i| (target(&i.instance_id), Outcome::Failed(format!("{}; {why}", i.reason)))).collect()
    };
    // Re-check: re-plan over fresh data and keep only instances that are still ghosts.
    let fresh = match fresh_inventory(clients, scale_set).await {
        Ok(f) => f,
        Err(e) => return fail_all(format!("re-check failed, nothing deleted: {e}")),
    };
    let replan = plan(
        &fresh,
        &RemediationConfig { max_deletions_per_run: u64::MAX, ..clients.config.clone() },
        Timestamp::now(),
    );
    let still: Vec<String> = replan
        .actions
        .iter()
        .filter_map(|a| match a {
            Planned::DeleteInstances { scale_set: s, instances } if s == scale_set => Some(instances),
            _ => None,
        })
        .flatten()
        .map(|g| g.instance_id.clone())
        .collect();
    let mut out = Vec::new();
    let ids: Vec<String> = instances.iter().map(|i| i.instance_id.clone()).filter(|id| still.contains(id)).collect();
    for i in instances.iter().filter(|i| !still.contains(&i.instance_id)) {
        let why = replan.breaker.as_deref().unwrap_or("no longer a ghost at re-check");
        out.push((target(&i.instance_id), Outcome::Skipped(format!("{}; not deleted: {why}", i.reason))));
    }
    if ids.is_empty() {
        return out;
    }
    let s = &clients.scope;
    let result = clients
        .compute
        .delete_instances(&s.subscription_id, &s.resource_group, scale_set, &ids, clients.delete_timeout)
        .await;
    // Re-list to confirm, whatever the operation said.
    let remaining =
        fresh_inventory(clients, scale_set).await.map(|f| f.vms.into_iter().map(|v| v.instance_id).collect::<Vec<_>>());
    for i in instances.iter().filter(|i| ids.contains(&i.instance_id)) {
        let gone = remaining.as_ref().map(|r| !r.contains(&i.instance_id));
        let r = &i.reason;
        let outcome = match (&result, gone) {
            (Ok(()), Ok(true)) => {
                Outcome::Done(format!("{r}; deleted in one batch {ids:?}; confirmed gone by re-listing"))
            }
            (Ok(()), Ok(false)) => {
                Outcome::Failed(format!("{r}; delete operation succeeded but the instance is still listed"))
            }
            (Ok(()), Err(e)) => Outcome::Failed(format!("{r}; delete operation succeeded but re-listing failed: {e}")),
            (Err(e), _) => Outcome::Failed(format!("{r}; delete failed: {}", crate::error::render_chain(e))),
        };
        out.push((target(&i.instance_id), outcome));
    }
    out
}

/// Re-checks the node and its VM, then deletes the Node and confirms it is gone.
async fn delete_stuck_node(clients: &Clients, node: &str, vm: Option<&(String, String)>) -> Outcome {
    let api: Api<Node> = Api::all(clients.kube.clone());
    let current = match api.get_opt(node).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Skipped("not deleted: already gone at re-check".into()),
        Err(e) => return Outcome::Failed(format!("re-check failed, not deleted: {e}")),
    };
    if crate::remediation::inventory::node_facts(&current).ready {
        return Outcome::Skipped("not deleted: the node is Ready again at re-check".into());
    }
    let vm_status = match vm {
        None => return Outcome::Skipped("not deleted: no VM reference to confirm it gone".into()),
        Some((set, id)) => {
            let fresh = match fresh_inventory(clients, set).await {
                Ok(f) => f,
                Err(e) => return Outcome::Failed(format!("re-check of its VM failed, not deleted: {e}")),
            };
            match fresh.vms.iter().find(|v| &v.instance_id == id) {
                None => "VM confirmed gone".to_owned(),
                Some(v) if v.power_state.as_deref() == Some("deallocated") => "VM confirmed deallocated".to_owned(),
                Some(v)
                    if v.provisioning_state.as_deref() == Some("Failed")
                        && v.power_state.as_deref() != Some("running") =>
                {
                    "VM confirmed Failed".to_owned()
                }
                Some(v) => {
                    return Outcome::Skipped(format!(
                        "not deleted: at re-check its VM is {} / {}",
                        v.provisioning_state.as_deref().unwrap_or("?"),
                        v.power_state.as_deref().unwrap_or("?")
                    ));
                }
            }
        }
    };
    if let Err(e) = api.delete(node, &DeleteParams::default()).await {
        return Outcome::Failed(format!("{vm_status}; delete failed: {e}"));
    }
    match api.get_opt(node).await {
        Ok(None) => Outcome::Done(format!("{vm_status}; Node deleted, confirmed gone")),
        Ok(Some(n)) if n.metadata.deletion_timestamp.is_some() => {
            Outcome::Done(format!("{vm_status}; Node deletion in progress"))
        }
        Ok(Some(_)) => Outcome::Failed(format!("{vm_status}; Node still present after delete")),
        Err(e) => Outcome::Done(format!("{vm_status}; Node deleted (confirming re-read failed: {e})")),
    }
}

/// Leaves an Event about the action; a failure here is logged, never fails the action.
async fn audit(kube: &kube::Client, target: &str, success: bool, details: &str) {
    let api: Api<Event> = Api::namespaced(kube.clone(), EVENT_NAMESPACE);
    let (kind, name) = match target.strip_prefix("node/") {
        Some(n) => ("Node", n.to_owned()),
        None => ("VirtualMachineScaleSetVM", target.replace('/', "_")),
    };
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(Timestamp::now());
    let event = Event {
        metadata: ObjectMeta { generate_name: Some("aks-spot-test-remediation-".into()), ..ObjectMeta::default() },
        involved_object: ObjectReference { kind: Some(kind.into()), name: Some(name), ..ObjectReference::default() },
        reason: Some(EVENT_REASON.into()),
        message: Some(details.chars().take(1000).collect()),
        type_: Some(if success { "Normal" } else { "Warning" }.into()),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        count: Some(1),
        source: Some(k8s_openapi::api::core::v1::EventSource { component: Some("aks-spot-test".into()), host: None }),
        ..Event::default()
    };
    if let Err(e) = api.create(&PostParams::default(), &event).await {
        tracing::warn!("failed to record the audit event for {target}: {e}");
    }
}
