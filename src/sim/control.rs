//! The little control plane: deployments keep their replica count (replacements scheduled onto
//! nodes that fit, spread across zones), pods of vanished nodes are collected, deployment and PDB
//! status is kept current, and a spot eviction plays out the real event sequence.
//!
//! It reacts to store changes (one broadcast subscription, debounced) rather than polling.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::scenario::EvictionPolicy;
use super::store::{ResourceKind, StoreError, key_of};
use super::world::{self, Placer, World, k8s_time, uid_of};

/// Quiet time after a change before reconciling, so a burst of changes costs one pass.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// Runs the control plane until `cancel` fires.
pub fn spawn(world: Arc<World>, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    // Subscribe before the first pass so no change between the pass and the loop is missed.
    let start = world.store.watch(ResourceKind::Pod, 0);
    tokio::spawn(async move {
        let Ok(start) = start else { return };
        let mut rx = start.live;
        reconcile_logged(&world);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = rx.recv() => match r {
                    Ok(change) if change.kind == ResourceKind::Event || change.kind == ResourceKind::Lease => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                },
            }
            tokio::time::sleep(DEBOUNCE).await;
            while !matches!(
                rx.try_recv(),
                Err(tokio::sync::broadcast::error::TryRecvError::Empty
                    | tokio::sync::broadcast::error::TryRecvError::Closed)
            ) {}
            reconcile_logged(&world);
        }
    })
}

fn reconcile_logged(world: &Arc<World>) {
    if let Err(e) = reconcile(world) {
        tracing::debug!(error = %e, "control plane pass failed; the next change retries");
    }
}

fn now() -> String {
    k8s_time(jiff::Timestamp::now().as_second())
}

fn is_active(pod: &Value) -> bool {
    !matches!(pod["status"]["phase"].as_str(), Some("Failed" | "Succeeded"))
        && pod["metadata"]["deletionTimestamp"].is_null()
}

fn pod_ready(pod: &Value) -> bool {
    world::condition_status(pod, "Ready") == Some("True")
}

fn owner_name<'a>(obj: &'a Value, kind: &str) -> Option<&'a str> {
    obj["metadata"]["ownerReferences"].as_array()?.iter().find(|o| o["kind"] == kind)?["name"].as_str()
}

fn match_labels(selector: &Value, labels: &Value) -> bool {
    let ml_ok = selector["matchLabels"].as_object().is_none_or(|m| m.iter().all(|(k, v)| labels[k.as_str()] == *v));
    let me_ok = selector["matchExpressions"].as_array().is_none_or(|exprs| {
        exprs.iter().all(|e| {
            let v = labels[e["key"].as_str().unwrap_or_default()].as_str();
            let vals: Vec<&str> =
                e["values"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            match e["operator"].as_str().unwrap_or_default() {
                "In" => v.is_some_and(|v| vals.contains(&v)),
                "NotIn" => v.is_none_or(|v| !vals.contains(&v)),
                "Exists" => v.is_some(),
                "DoesNotExist" => v.is_none(),
                _ => false,
            }
        })
    });
    ml_ok && me_ok
}

/// `intstr` scaled against `total`, rounding up as the disruption controller does.
fn scaled(v: &Value, total: i64) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(pct) => (pct * total + 99) / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// One pass: collect orphaned pods, bring every deployment to its replica count, refresh status.
pub fn reconcile(world: &Arc<World>) -> Result<(), StoreError> {
    let store = &world.store;
    let nodes = store.list(ResourceKind::Node, None, None, None, |_| true)?.items;
    let node_names: HashSet<String> = nodes.iter().map(|n| key_of(n).1).collect();
    let mut pods = store.list(ResourceKind::Pod, None, None, None, |_| true)?.items;

    // Pod garbage collection: a pod bound to a node that no longer exists is gone with it.
    let (orphans, live): (Vec<_>, Vec<_>) =
        pods.drain(..).partition(|p| p["spec"]["nodeName"].as_str().is_some_and(|n| !node_names.contains(n)));
    for p in &orphans {
        let (ns, name) = key_of(p);
        let _ = store.delete(ResourceKind::Pod, &ns, &name);
    }
    let pods = live;

    let replica_sets = store.list(ResourceKind::ReplicaSet, None, None, None, |_| true)?.items;
    // (ns, rs) → deployment name.
    let rs_owner: HashMap<(String, String), String> = replica_sets
        .iter()
        .filter_map(|rs| owner_name(rs, "Deployment").map(|d| (key_of(rs), d.to_string())))
        .collect();
    let deploy_of_pod = |p: &Value| -> Option<String> {
        let ns = p["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
        let rs = owner_name(p, "ReplicaSet")?.to_string();
        rs_owner.get(&(ns, rs)).cloned()
    };
    let mut placer = Placer::with_pods(nodes.clone(), &pods, deploy_of_pod);
    let mut by_rs: HashMap<(String, String), Vec<&Arc<Value>>> = HashMap::new();
    for p in &pods {
        if let Some(rs) = owner_name(p, "ReplicaSet") {
            let ns = p["metadata"]["namespace"].as_str().unwrap_or_default().to_string();
            by_rs.entry((ns, rs.to_string())).or_default().push(p);
        }
    }
    let start_delay = world.scenario.timings.pod_start_seconds;
    let deployments = store.list(ResourceKind::Deployment, None, None, None, |_| true)?.items;
    let mut replicas_of: HashMap<(String, String), i64> = HashMap::new();
    for d in &deployments {
        let (ns, dname) = key_of(d);
        let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
        replicas_of.insert((ns.clone(), dname.clone()), want);
        let Some(rs) = replica_sets.iter().find(|rs| {
            let k = key_of(rs);
            k.0 == ns && rs_owner.get(&k).is_some_and(|o| *o == dname)
        }) else {
            continue;
        };
        let rs_key = key_of(rs);
        let template = &rs["spec"]["template"];
        let owned: Vec<&Arc<Value>> =
            by_rs.get(&rs_key).map(|v| v.iter().copied().filter(|p| is_active(p)).collect()).unwrap_or_default();
        let have = owned.len() as i64;
        if have < want {
            for _ in have..want {
                let node = placer.place(template, &ns, &dname);
                let running = node.is_some() && start_delay <= 0.0;
                let pod = world.pod_json(rs, template, node.as_deref(), running);
                let created = store.create(ResourceKind::Pod, pod)?;
                if let Some(node) = node {
                    scheduled_event(world, &created, &node);
                    if !running {
                        spawn_start(world.clone(), key_of(&created), start_delay);
                    }
                }
            }
        } else if have > want {
            let mut extra: Vec<&&Arc<Value>> = owned.iter().collect();
            extra.sort_by_key(|p| (pod_ready(p), p["spec"]["nodeName"].is_string()));
            for p in extra.into_iter().take((have - want) as usize) {
                let (pns, pname) = key_of(p);
                let _ = store.delete(ResourceKind::Pod, &pns, &pname);
            }
        }
        // Pending pods with no node: try again now that something changed.
        for p in owned.iter().filter(|p| p["spec"]["nodeName"].is_null()) {
            if let Some(node) = placer.place(template, &ns, &dname) {
                let (pns, pname) = key_of(p);
                let running = start_delay <= 0.0;
                let ip = world.pod_ip();
                let updated = store.mutate(ResourceKind::Pod, &pns, &pname, |o| {
                    o["spec"]["nodeName"] = json!(node);
                    if running {
                        let spec = o["spec"].clone();
                        world::mark_running(&mut o["status"], &ip, &now(), &spec);
                    }
                    Ok(())
                })?;
                scheduled_event(world, &updated, &node);
                if !running {
                    spawn_start(world.clone(), (pns, pname), start_delay);
                }
            }
        }
        // Status from what is stored now (creations above are counted as not yet ready).
        let current: Vec<Arc<Value>> = store
            .list(ResourceKind::Pod, Some(&ns), None, None, |p| {
                owner_name(p, "ReplicaSet") == Some(rs_key.1.as_str()) && is_active(p)
            })?
            .items;
        let total = current.len() as i64;
        let ready = current.iter().filter(|p| pod_ready(p)).count() as i64;
        let status = json!({"observedGeneration": d["metadata"]["generation"].as_i64().unwrap_or(1), "replicas": total,
            "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": total,
            "unavailableReplicas": (want - ready).max(0)});
        store.mutate(ResourceKind::Deployment, &ns, &dname, |o| {
            merge_status(o, &status);
            Ok(())
        })?;
        store.mutate(ResourceKind::ReplicaSet, &ns, &rs_key.1, |o| {
            o["spec"]["replicas"] = json!(want);
            merge_status(
                o,
                &json!({"replicas": total, "readyReplicas": ready, "availableReplicas": ready,
                                    "fullyLabeledReplicas": total, "observedGeneration": 1}),
            );
            Ok(())
        })?;
    }
    update_pdbs(world, &replicas_of, &rs_owner)
}

fn merge_status(obj: &mut Value, status: &Value) {
    if !obj["status"].is_object() {
        obj["status"] = json!({});
    }
    if let (Some(dst), Some(src)) = (obj["status"].as_object_mut(), status.as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
}

fn update_pdbs(
    world: &Arc<World>,
    replicas_of: &HashMap<(String, String), i64>,
    rs_owner: &HashMap<(String, String), String>,
) -> Result<(), StoreError> {
    let store = &world.store;
    for pdb in store.list(ResourceKind::PodDisruptionBudget, None, None, None, |_| true)?.items {
        let (ns, name) = key_of(&pdb);
        let selector = &pdb["spec"]["selector"];
        let matching = store.list(ResourceKind::Pod, Some(&ns), None, None, |p| {
            is_active(p) && match_labels(selector, &p["metadata"]["labels"])
        })?;
        // Expected pods: the scale of the controllers owning the matching pods, as the disruption controller computes it.
        let owners: BTreeSet<String> = matching
            .items
            .iter()
            .filter_map(|p| {
                owner_name(p, "ReplicaSet").and_then(|rs| rs_owner.get(&(ns.clone(), rs.to_string()))).cloned()
            })
            .collect();
        let expected: i64 = if owners.is_empty() {
            matching.items.len() as i64
        } else {
            owners.iter().map(|d| replicas_of.get(&(ns.clone(), d.clone())).copied().unwrap_or(0)).sum()
        };
        let healthy = matching.items.iter().filter(|p| pod_ready(p)).count() as i64;
        let desired = if let Some(min) = pdb["spec"].get("minAvailable").filter(|v| !v.is_null()) {
            scaled(min, expected)
        } else if let Some(max) = pdb["spec"].get("maxUnavailable").filter(|v| !v.is_null()) {
            (expected - scaled(max, expected)).max(0)
        } else {
            expected
        };
        let allowed = (healthy - desired).max(0);
        let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(1);
        store.mutate(ResourceKind::PodDisruptionBudget, &ns, &name, |o| {
            let changed = o["status"]["disruptionsAllowed"] != json!(allowed)
                || o["status"]["currentHealthy"] != json!(healthy)
                || o["status"]["desiredHealthy"] != json!(desired)
                || o["status"]["expectedPods"] != json!(expected);
            let transition = if changed || o["status"]["conditions"].is_null() {
                now()
            } else {
                o["status"]["conditions"][0]["lastTransitionTime"].as_str().unwrap_or_default().to_string()
            };
            let (cstatus, reason) =
                if allowed > 0 { ("True", "SufficientPods") } else { ("False", "InsufficientPods") };
            merge_status(
                o,
                &json!({
                    "observedGeneration": generation, "disruptionsAllowed": allowed, "currentHealthy": healthy,
                    "desiredHealthy": desired, "expectedPods": expected,
                    "conditions": [{"type": "DisruptionAllowed", "status": cstatus, "reason": reason, "message": "",
                                    "observedGeneration": generation, "lastTransitionTime": transition}],
                }),
            );
            Ok(())
        })?;
    }
    Ok(())
}

fn scheduled_event(world: &World, pod: &Value, node: &str) {
    let (ns, name) = key_of(pod);
    world.event(
        "Pod",
        &ns,
        &name,
        &uid_of(pod),
        "Normal",
        "Scheduled",
        &format!("Successfully assigned {ns}/{name} to {node}"),
        "default-scheduler",
    );
}

/// Pending to Running after the scenario's start delay (the kubelet pulling and starting containers).
fn spawn_start(world: Arc<World>, key: (String, String), delay: f64) {
    tokio::spawn(async move {
        // Bounded by the scenario's pod_start_seconds.
        tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        let ip = world.pod_ip();
        let _ = world.store.mutate(ResourceKind::Pod, &key.0, &key.1, |o| {
            if o["spec"]["nodeName"].is_string() && o["status"]["phase"] == "Pending" {
                let spec = o["spec"].clone();
                world::mark_running(&mut o["status"], &ip, &now(), &spec);
            }
            Ok(())
        });
    });
}

/// A spot eviction of `node`, start to end: preempt notice, NotReady, pods evicted and replaced,
/// then the VM deleted (node removed) or deallocated (node tainted, stays NotReady) per the pool's policy.
pub async fn spot_evict(world: Arc<World>, node: String) {
    let store = &world.store;
    let Some(obj) = store.get(ResourceKind::Node, "", &node) else { return };
    let uid = uid_of(&obj);
    let timings = world.scenario.timings.clone();
    let not_before = k8s_time(jiff::Timestamp::now().as_second() + 30);
    let _ = store.mutate(ResourceKind::Node, "", &node, |n| {
        if let Some(conds) = n["status"]["conditions"].as_array_mut() {
            conds.push(json!({"type": "VMEventScheduled", "status": "True", "reason": "VMEventScheduled",
                "message": format!("VM event scheduled: Preempt, NotBefore: {not_before}"),
                "lastHeartbeatTime": now(), "lastTransitionTime": now()}));
        }
        Ok(())
    });
    world.event(
        "Node",
        "",
        &node,
        &uid,
        "Warning",
        "PreemptScheduled",
        &format!("VM event scheduled: Preempt (NotBefore: {not_before}); the VM is being evicted"),
        "node-problem-detector",
    );
    // The preempt notice (real: up to 30 s), compressed by the scenario.
    tokio::time::sleep(Duration::from_secs_f64(timings.eviction_notice_seconds.max(0.0))).await;
    let since = now();
    let _ = store.mutate(ResourceKind::Node, "", &node, |n| {
        world::set_not_ready(n, &since);
        Ok(())
    });
    world.event(
        "Node",
        "",
        &node,
        &uid,
        "Normal",
        "NodeNotReady",
        &format!("Node {node} status is now: NodeNotReady"),
        "node-controller",
    );
    let pods = store
        .list(ResourceKind::Pod, None, None, None, |p| p["spec"]["nodeName"] == node.as_str())
        .map(|p| p.items)
        .unwrap_or_default();
    for p in &pods {
        let (ns, name) = key_of(p);
        let puid = uid_of(p);
        let _ = store.mutate(ResourceKind::Pod, &ns, &name, |o| {
            if let Some(conds) = o["status"]["conditions"].as_array_mut() {
                for c in conds.iter_mut().filter(|c| c["type"] == "Ready" || c["type"] == "ContainersReady") {
                    c["status"] = json!("False");
                    c["lastTransitionTime"] = json!(since);
                }
            }
            Ok(())
        });
        world.event("Pod", &ns, &name, &puid, "Warning", "NodeNotReady", "Node is not ready", "node-controller");
    }
    for p in &pods {
        let (ns, name) = key_of(p);
        world.event(
            "Pod",
            &ns,
            &name,
            &uid_of(p),
            "Normal",
            "TaintManagerEviction",
            &format!("Marking for deletion Pod {ns}/{name}"),
            "taint-eviction-controller",
        );
        let _ = store.delete(ResourceKind::Pod, &ns, &name);
    }
    match world.eviction_policy_of(&node) {
        EvictionPolicy::Delete => {
            if let Some((vmss, id)) = world.vm_of_node(&node) {
                world.remove_vms(&vmss, &[id]);
            }
            // The cloud node lifecycle controller notices the missing VM on its next sync.
            tokio::time::sleep(Duration::from_secs_f64(timings.node_removal_seconds.max(0.0))).await;
            world.remove_node_of_deleted_vm(&node);
        }
        EvictionPolicy::Deallocate => {
            world.set_power_state(&node, "deallocated");
            let _ = store.mutate(ResourceKind::Node, "", &node, |n| {
                world::add_taint(n, world::SHUTDOWN_TAINT_KEY, "", "NoSchedule");
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario::Scenario;
    use crate::sim::store::Store;

    #[test]
    fn scaled_rounds_percentages_up() {
        assert_eq!(scaled(&json!(2), 3), 2);
        assert_eq!(scaled(&json!("50%"), 3), 2);
        assert_eq!(scaled(&json!("3"), 10), 3);
    }

    #[tokio::test]
    async fn deleted_pod_is_replaced_and_pdb_status_is_kept() {
        let mut scenario = Scenario::builtin("default").unwrap();
        scenario.timings.pod_start_seconds = 0.0;
        scenario.timeline.clear();
        let store = Arc::new(Store::default());
        let world = World::build(scenario, store.clone()).unwrap();
        reconcile(&world).unwrap();
        let pdb = store.get(ResourceKind::PodDisruptionBudget, "robot-shop", "web-pdb").unwrap();
        assert_eq!(pdb["status"]["expectedPods"], 3);
        assert_eq!(pdb["status"]["currentHealthy"], 3);
        assert_eq!(pdb["status"]["desiredHealthy"], 2);
        assert_eq!(pdb["status"]["disruptionsAllowed"], 1);
        let cat = store.get(ResourceKind::PodDisruptionBudget, "robot-shop", "catalogue-pdb").unwrap();
        assert_eq!(cat["status"]["desiredHealthy"], 2);
        let web = store
            .list(ResourceKind::Pod, Some("robot-shop"), None, None, |p| p["metadata"]["labels"]["app"] == "web")
            .unwrap();
        let victim = key_of(&web.items[0]);
        store.delete(ResourceKind::Pod, &victim.0, &victim.1).unwrap();
        reconcile(&world).unwrap();
        let after = store
            .list(ResourceKind::Pod, Some("robot-shop"), None, None, |p| p["metadata"]["labels"]["app"] == "web")
            .unwrap();
        assert_eq!(after.items.len(), 3);
        assert!(after.items.iter().all(|p| key_of(p) != victim && pod_ready(p)));
    }
}
