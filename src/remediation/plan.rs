//! The pure remediation plan: which ghost instances and stuck nodes to delete, and why each candidate is or is not
//! acted on. No I/O: the inventory and the clock come in, the plan comes out.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::azure::vmss::VmInfo;
use crate::config::schema::RemediationConfig;
use crate::remediation::inventory::{Inventory, NodeFacts};

/// One ghost instance in a batch, with why it is a ghost.
#[derive(Debug, Clone, PartialEq)]
pub struct GhostTarget {
    pub instance_id: String,
    pub reason: String,
}

/// One planned mutation.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// One batch delete per scale set.
    DeleteInstances { scale_set: String, instances: Vec<GhostTarget> },
    /// Delete the Node object of a NotReady node whose VM is gone, deallocated or failed.
    DeleteNode {
        node: String,
        /// `(scale set, instance id)` of its VM when the providerID names one.
        vm: Option<(String, String)>,
        reason: String,
    },
}

impl Planned {
    /// Deletions this action makes.
    pub fn count(&self) -> usize {
        match self {
            Planned::DeleteInstances { instances, .. } => instances.len(),
            Planned::DeleteNode { .. } => 1,
        }
    }
}

/// What remediation will do, and why not for the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Planned>,
    /// `(target, reason)` for every candidate not acted on.
    pub skipped: Vec<(String, String)>,
    /// Set when the circuit breaker tripped: then `actions` is empty.
    pub breaker: Option<String>,
}

/// `scale_set/instance_id`, the target name of a VM in plans and reports.
pub fn vm_target(scale_set: &str, instance_id: &str) -> String {
    format!("{scale_set}/{instance_id}")
}

fn minutes_between(from: Timestamp, to: Timestamp) -> f64 {
    (to.as_second() - from.as_second()) as f64 / 60.0
}

fn is_failed(vm: &VmInfo) -> bool {
    vm.provisioning_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Failed"))
}

fn is_running(vm: &VmInfo) -> bool {
    vm.power_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("running"))
}

fn is_deallocated(vm: &VmInfo) -> bool {
    vm.power_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("deallocated"))
}

/// Decides what to delete. `now` is the caller's clock, so the plan is reproducible.
pub fn plan(inv: &Inventory, cfg: &RemediationConfig, now: Timestamp) -> Plan {
    let mut out = Plan::default();
    let by_key: BTreeMap<&str, &NodeFacts> =
        inv.nodes.iter().filter_map(|n| Some((n.provider_key.as_deref()?, n))).collect();
    let excluded = |n: &NodeFacts| n.labels.contains_key(&cfg.exclude_label);
    let mut candidates: Vec<Planned> = Vec::new();

    // Ghost instances, grouped per scale set (BTreeMap: a stable order).
    let mut ghosts: BTreeMap<&str, Vec<GhostTarget>> = BTreeMap::new();
    let mut ghost_keys: BTreeSet<&str> = BTreeSet::new();
    for vm in &inv.vms {
        let target = vm_target(&vm.scale_set, &vm.instance_id);
        let node = by_key.get(vm.resource_key.as_str()).copied();
        let age = vm.time_created.map(|t| minutes_between(t, now));
        let age_text = age.map_or_else(|| "unknown age".to_owned(), |a| format!("{a:.0} min old"));
        if vm.provisioning_state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Deleting")) {
            out.skipped.push((target, "already being deleted".into()));
            continue;
        }
        let ghost_reason = if is_failed(vm) {
            // Failed only reflects the last operation: a VM behind a Ready node is serving, whatever its state says.
            if let Some(n) = node.filter(|n| n.ready) {
                let power = vm.power_state.as_deref().map_or("unknown".to_owned(), |p| format!("PowerState/{p}"));
                out.skipped.push((
                    target,
                    format!("provisioningState Failed but {power} and backs Ready node {}: not a ghost", n.name),
                ));
                continue;
            }
            match age {
                Some(a) if a >= cfg.vmss_ghosts.min_age_minutes => {
                    format!("provisioningState Failed, {age_text} (min {} min)", cfg.vmss_ghosts.min_age_minutes)
                }
                _ => {
                    out.skipped.push((
                        target,
                        format!(
                            "provisioningState Failed but {age_text}, younger than {} min",
                            cfg.vmss_ghosts.min_age_minutes
                        ),
                    ));
                    continue;
                }
            }
        } else if node.is_none() {
            match age {
                Some(a) if a >= cfg.vmss_ghosts.registration_deadline_minutes => format!(
                    "no Node registered with its providerID after {age_text} (deadline {} min)",
                    cfg.vmss_ghosts.registration_deadline_minutes
                ),
                _ => {
                    out.skipped.push((
                        target,
                        format!(
                            "no Node yet, {age_text}: within the {} min registration deadline",
                            cfg.vmss_ghosts.registration_deadline_minutes
                        ),
                    ));
                    continue;
                }
            }
        } else {
            // A healthy instance backing a node: not a candidate.
            continue;
        };
        if let Some(n) = node.filter(|n| excluded(n)) {
            out.skipped.push((target, format!("node {} carries exclusion label {}", n.name, cfg.exclude_label)));
            continue;
        }
        if !cfg.vmss_ghosts.enabled {
            out.skipped.push((target, format!("{ghost_reason}; ghost remediation is disabled")));
            continue;
        }
        ghost_keys.insert(vm.resource_key.as_str());
        ghosts
            .entry(vm.scale_set.as_str())
            .or_default()
            .push(GhostTarget { instance_id: vm.instance_id.clone(), reason: ghost_reason });
    }
    for (set, instances) in ghosts {
        candidates.push(Planned::DeleteInstances { scale_set: set.to_owned(), instances });
    }

    // Stuck nodes.
    let vms_by_key: BTreeMap<&str, &VmInfo> = inv.vms.iter().map(|v| (v.resource_key.as_str(), v)).collect();
    let listed_sets: BTreeSet<String> = inv.scale_sets.iter().map(|s| s.name.to_ascii_lowercase()).collect();
    let unhealthy: Vec<&NodeFacts> = inv.nodes.iter().filter(|n| !n.ready).collect();
    for n in &unhealthy {
        let target = format!("node/{}", n.name);
        let since = n.ready_since.map(|t| minutes_between(t, now));
        let since_text = since.map_or_else(|| "for an unknown time".to_owned(), |m| format!("for {m:.0} min"));
        if excluded(n) {
            out.skipped
                .push((target, format!("NotReady {since_text}, but carries exclusion label {}", cfg.exclude_label)));
            continue;
        }
        if !since.is_some_and(|m| m >= cfg.stuck_nodes.min_age_minutes) {
            out.skipped.push((
                target,
                format!(
                    "NotReady {since_text}, not yet {} min: AKS auto-repair gets its chance first",
                    cfg.stuck_nodes.min_age_minutes
                ),
            ));
            continue;
        }
        let Some(key) = n.provider_key.as_deref() else {
            out.skipped.push((target, "NotReady but has no providerID: its VM cannot be confirmed gone".into()));
            continue;
        };
        let pid = crate::remediation::inventory::parse_provider_id(&format!("azure://{key}"));
        let vm_ref = pid.as_ref().map(|p| (p.scale_set.clone(), p.instance_id.clone()));
        let vm_state = match vms_by_key.get(key) {
            Some(vm) if ghost_keys.contains(key) => {
                out.skipped.push((
                    target,
                    format!(
                        "NotReady {since_text}; its VM {} is deleted as a ghost, which removes the node",
                        vm_target(&vm.scale_set, &vm.instance_id)
                    ),
                ));
                continue;
            }
            Some(vm) if is_deallocated(vm) => "its VM is deallocated".to_owned(),
            // A running VM keeps its Node even when its last operation Failed: deleting the Node makes a zombie.
            Some(vm) if is_failed(vm) && !is_running(vm) => "its VM is in provisioningState Failed".to_owned(),
            Some(vm) => {
                out.skipped.push((
                    target,
                    format!(
                        "NotReady {since_text}, but its VM is {}: deleting the Node would leave a zombie VM; left to AKS auto-repair",
                        vm.power_state.as_deref().map_or("in an unknown power state".to_owned(), |p| format!("PowerState/{p}"))
                    ),
                ));
                continue;
            }
            None if pid.as_ref().is_some_and(|p| listed_sets.contains(&p.scale_set.to_ascii_lowercase())) => {
                "its VM no longer exists".to_owned()
            }
            None => {
                out.skipped.push((
                    target,
                    "NotReady, but its scale set is not an AKS-managed one in the node resource group: out of scope"
                        .into(),
                ));
                continue;
            }
        };
        let reason = format!("NotReady {since_text} (min {} min) and {vm_state}", cfg.stuck_nodes.min_age_minutes);
        if !cfg.stuck_nodes.enabled {
            out.skipped.push((target, format!("{reason}; stuck-node remediation is disabled")));
            continue;
        }
        candidates.push(Planned::DeleteNode { node: n.name.clone(), vm: vm_ref, reason });
    }

    // Circuit breaker: too many unhealthy nodes means something bigger than a ghost is going on.
    let total = inv.nodes.len();
    let percent = if total == 0 { 0.0 } else { unhealthy.len() as f64 * 100.0 / total as f64 };
    if unhealthy.len() as u64 > cfg.max_unhealthy_nodes || percent > cfg.max_unhealthy_percent {
        let reason = format!(
            "circuit breaker: {} of {total} nodes unhealthy ({percent:.0} %), limits {} nodes / {} %",
            unhealthy.len(),
            cfg.max_unhealthy_nodes,
            cfg.max_unhealthy_percent
        );
        for c in candidates {
            skip_all(&mut out.skipped, c, &reason);
        }
        out.breaker = Some(reason);
        return out;
    }

    // Cap: whole actions first, then the part of a batch that still fits.
    let mut left = usize::try_from(cfg.max_deletions_per_run).unwrap_or(usize::MAX);
    let cap_reason = format!("cap of {} deletions per run reached", cfg.max_deletions_per_run);
    for c in candidates {
        match c {
            Planned::DeleteInstances { scale_set, mut instances } => {
                let over = instances.split_off(left.min(instances.len()));
                left -= instances.len();
                skip_all(
                    &mut out.skipped,
                    Planned::DeleteInstances { scale_set: scale_set.clone(), instances: over },
                    &cap_reason,
                );
                if !instances.is_empty() {
                    out.actions.push(Planned::DeleteInstances { scale_set, instances });
                }
            }
            node @ Planned::DeleteNode { .. } if left == 0 => skip_all(&mut out.skipped, node, &cap_reason),
            node => {
                left -= 1;
                out.actions.push(node);
            }
        }
    }
    out
}

fn skip_all(skipped: &mut Vec<(String, String)>, action: Planned, why: &str) {
    match action {
        Planned::DeleteInstances { scale_set, instances } => {
            for i in instances {
                skipped.push((vm_target(&scale_set, &i.instance_id), format!("{}; not deleted: {why}", i.reason)));
            }
        }
        Planned::DeleteNode { node, reason, .. } => {
            skipped.push((format!("node/{node}"), format!("{reason}; not deleted: {why}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::vmss::ScaleSetInfo;

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).expect("now")
    }
    fn ago(min: i64) -> Option<Timestamp> {
        Timestamp::from_second(1_800_000_000 - min * 60).ok()
    }
    fn key(set: &str, id: u32) -> String {
        format!(
            "/subscriptions/s/resourcegroups/mc/providers/microsoft.compute/virtualmachinescalesets/{set}/virtualmachines/{id}"
        )
    }
    fn vm(set: &str, id: u32, prov: &str, power: &str, age: i64) -> VmInfo {
        VmInfo {
            scale_set: set.into(),
            pool: set.into(),
            instance_id: id.to_string(),
            resource_key: key(set, id),
            provisioning_state: Some(prov.into()),
            power_state: Some(power.into()),
            time_created: ago(age),
        }
    }
    fn node(name: &str, set: &str, id: u32, ready: bool, since: i64) -> NodeFacts {
        NodeFacts {
            name: name.into(),
            provider_key: Some(key(set, id)),
            ready,
            ready_since: ago(since),
            ..NodeFacts::default()
        }
    }
    /// Ten healthy nodes on `a`, plus whatever the test adds.
    fn base() -> Inventory {
        let mut inv = Inventory {
            scale_sets: vec![
                ScaleSetInfo { name: "a".into(), pool: "a".into() },
                ScaleSetInfo { name: "b".into(), pool: "b".into() },
            ],
            ..Inventory::default()
        };
        for i in 0..10 {
            inv.vms.push(vm("a", i, "Succeeded", "running", 600));
            inv.nodes.push(node(&format!("n{i}"), "a", i, true, 600));
        }
        inv
    }

    #[test]
    fn default_scenario_shape_plans_ghost_and_stuck_node() {
        let mut inv = base();
        inv.vms.push(vm("a", 20, "Failed", "stopped", 45));
        inv.vms.push(vm("b", 1, "Succeeded", "deallocated", 600));
        inv.nodes.push(node("stuck", "b", 1, false, 10));
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert_eq!(p.breaker, None);
        assert_eq!(p.actions.len(), 2, "{p:?}");
        assert!(
            matches!(&p.actions[0], Planned::DeleteInstances { scale_set, instances } if scale_set == "a" && instances[0].instance_id == "20")
        );
        assert!(
            matches!(&p.actions[1], Planned::DeleteNode { node, reason, .. } if node == "stuck" && reason.contains("deallocated"))
        );
    }

    #[test]
    fn never_a_running_failed_instance_behind_a_ready_node() {
        let mut inv = base();
        inv.vms[3].provisioning_state = Some("Failed".into());
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty());
        assert!(p.skipped.iter().any(|(t, r)| t == "a/3" && r.contains("Ready node n3")));
    }

    #[test]
    fn never_a_node_whose_vm_runs_and_says_why() {
        let mut inv = base();
        inv.nodes[2].ready = false;
        inv.nodes[2].ready_since = ago(30);
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty());
        assert!(p.skipped.iter().any(|(t, r)| t == "node/n2" && r.contains("PowerState/running")));
    }

    #[test]
    fn running_vm_keeps_its_notready_node_even_when_failed() {
        let mut inv = base();
        inv.vms[5].provisioning_state = Some("Failed".into());
        inv.vms[5].time_created = ago(1);
        inv.nodes[5].ready = false;
        inv.nodes[5].ready_since = ago(30);
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty(), "{p:?}");
        assert!(p.skipped.iter().any(|(t, r)| t == "node/n5" && r.contains("PowerState/running")));
    }

    #[test]
    fn young_ghosts_and_fresh_notready_wait() {
        let mut inv = base();
        inv.vms.push(vm("a", 30, "Failed", "stopped", 2));
        inv.vms.push(vm("a", 31, "Succeeded", "running", 5));
        inv.vms[4].power_state = Some("deallocated".into());
        inv.nodes[4].ready = false;
        inv.nodes[4].ready_since = ago(1);
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty(), "{p:?}");
        assert_eq!(p.skipped.len(), 3);
    }

    #[test]
    fn unregistered_vm_past_deadline_is_a_ghost() {
        let mut inv = base();
        inv.vms.push(vm("b", 7, "Succeeded", "running", 20));
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(
            matches!(&p.actions[..], [Planned::DeleteInstances { instances, .. }] if instances[0].reason.contains("no Node"))
        );
    }

    #[test]
    fn exclusion_label_protects() {
        let mut inv = base();
        inv.vms[1].power_state = Some("deallocated".into());
        inv.nodes[1].ready = false;
        inv.nodes[1].labels.insert("aks-spot-test.io/exclude".into(), "true".into());
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty());
        assert!(p.skipped[0].1.contains("exclusion label"));
    }

    #[test]
    fn breaker_trips_on_many_unhealthy() {
        let mut inv = base();
        for i in 0..4 {
            inv.nodes[i].ready = false;
            inv.vms[i].power_state = Some("deallocated".into());
        }
        let p = plan(&inv, &RemediationConfig::default(), now());
        assert!(p.actions.is_empty());
        assert!(p.breaker.as_deref().is_some_and(|b| b.contains("4 of 10")));
        assert_eq!(p.skipped.len(), 4);
    }

    #[test]
    fn cap_limits_deletions_and_batches_per_scale_set() {
        let mut inv = base();
        for i in 40..47 {
            inv.vms.push(vm("b", i, "Failed", "stopped", 60));
        }
        let cfg = RemediationConfig { max_deletions_per_run: 5, ..RemediationConfig::default() };
        let p = plan(&inv, &cfg, now());
        assert_eq!(p.actions.len(), 1);
        assert_eq!(p.actions.iter().map(Planned::count).sum::<usize>(), 5);
        assert_eq!(p.skipped.iter().filter(|(_, r)| r.contains("cap of 5")).count(), 2);
    }

    proptest::proptest! {
        #[test]
        fn plan_respects_safety_rules(
            states in proptest::collection::vec((0u8..3, 0u8..3, 0i64..120, proptest::bool::ANY, 0i64..120, proptest::bool::ANY, proptest::bool::ANY), 0..20),
            cap in 0u64..6,
        ) {
            let mut inv = Inventory { scale_sets: vec![ScaleSetInfo { name: "a".into(), pool: "a".into() }], ..Inventory::default() };
            for (i, (prov, power, age, has_node, since, ready, excl)) in states.iter().enumerate() {
                let id = i as u32;
                let prov = ["Succeeded", "Failed", "Deleting"][*prov as usize];
                let power = ["running", "deallocated", "stopped"][*power as usize];
                inv.vms.push(vm("a", id, prov, power, *age));
                if *has_node {
                    let mut n = node(&format!("n{i}"), "a", id, *ready, *since);
                    if *excl { n.labels.insert("aks-spot-test.io/exclude".into(), String::new()); }
                    inv.nodes.push(n);
                }
            }
            let cfg = RemediationConfig { max_deletions_per_run: cap, ..RemediationConfig::default() };
            let p = plan(&inv, &cfg, now());
            let total: usize = p.actions.iter().map(Planned::count).sum();
            proptest::prop_assert!(total as u64 <= cap);
            if p.breaker.is_some() { proptest::prop_assert!(p.actions.is_empty()); }
            for a in &p.actions {
                match a {
                    Planned::DeleteInstances { instances, .. } => for g in instances {
                        let v = inv.vms.iter().find(|v| v.instance_id == g.instance_id).expect("vm");
                        let n = inv.nodes.iter().find(|n| n.provider_key.as_deref() == Some(v.resource_key.as_str()));
                        proptest::prop_assert!(!n.is_some_and(|n| n.ready), "never a VM behind a Ready node");
                        proptest::prop_assert!(!n.is_some_and(|n| n.labels.contains_key(&cfg.exclude_label)));
                    },
                    Planned::DeleteNode { node, .. } => {
                        let n = inv.nodes.iter().find(|n| &n.name == node).expect("node");
                        proptest::prop_assert!(!n.ready);
                        let v = inv.vms.iter().find(|v| Some(v.resource_key.as_str()) == n.provider_key.as_deref());
                        proptest::prop_assert!(!v.is_some_and(is_running));
                    }
                }
            }
        }
    }
}
