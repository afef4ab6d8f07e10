//! The scenario's timeline: faults applied at their `at_seconds` after start (faults at 0 are
//! part of the initial world, built by `world`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::arm::ArmFaults;
use super::control;
use super::kube_api::KubeFaults;
use super::scenario::Fault;
use super::store::ResourceKind;
use super::world::{World, node_ready};

/// Nodes already picked for eviction, so two faults never pick the same node.
#[derive(Debug, Default, Clone)]
pub struct Evicted(Arc<Mutex<HashSet<String>>>);

impl Evicted {
    /// Picks up to `n` Ready nodes of `pool` (or the named node) not picked before.
    pub fn pick(&self, world: &World, pool: Option<&str>, node: Option<&str>, n: u32) -> Vec<String> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(node) = node {
            return if seen.insert(node.to_string()) { vec![node.to_string()] } else { vec![] };
        }
        let Some(pool) = pool else { return vec![] };
        let vmss = world.vmss_name(pool);
        let candidates: Vec<String> = world
            .cloud()
            .scale_sets
            .get(&vmss)
            .map(|s| s.vms.values().rev().map(|vm| vm.computer_name.clone()).collect())
            .unwrap_or_default();
        let mut out = vec![];
        for c in candidates {
            if out.len() as u32 >= n {
                break;
            }
            if !seen.contains(&c) && world.store.get(ResourceKind::Node, "", &c).is_some_and(|o| node_ready(&o)) {
                seen.insert(c.clone());
                out.push(c);
            }
        }
        out
    }
}

/// Runs the timeline until it ends or `cancel` fires.
pub fn spawn(
    world: Arc<World>,
    kube: KubeFaults,
    arm: ArmFaults,
    evicted: Evicted,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut entries: Vec<_> = world.scenario.timeline.iter().filter(|e| e.at_seconds > 0.0).cloned().collect();
        entries.sort_by(|a, b| a.at_seconds.total_cmp(&b.at_seconds));
        let start = tokio::time::Instant::now();
        for entry in entries {
            let at = start + Duration::from_secs_f64(entry.at_seconds);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(at) => {}
            }
            apply(&world, &kube, &arm, &evicted, &entry.fault, &cancel);
        }
    })
}

/// Applies one fault now.
pub fn apply(
    world: &Arc<World>,
    kube: &KubeFaults,
    arm: &ArmFaults,
    evicted: &Evicted,
    fault: &Fault,
    cancel: &CancellationToken,
) {
    match fault {
        Fault::Evict { pool, node, count } => {
            for n in evicted.pick(world, pool.as_deref(), node.as_deref(), *count) {
                tokio::spawn(control::spot_evict(world.clone(), n));
            }
        }
        Fault::EvictRate { pool, per_minute, max } => {
            let (world, evicted, pool, cancel) = (world.clone(), evicted.clone(), pool.clone(), cancel.clone());
            let period = Duration::from_secs_f64(60.0 / per_minute.max(0.001));
            let max = max.unwrap_or(u32::MAX);
            tokio::spawn(async move {
                for _ in 0..max {
                    let Some(n) = evicted.pick(&world, Some(&pool), None, 1).pop() else { return };
                    tokio::spawn(control::spot_evict(world.clone(), n));
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(period) => {}
                    }
                }
            });
        }
        Fault::FailedInstance { pool, age_minutes, power_state } => {
            world.add_vm(pool, *age_minutes, "Failed", power_state.as_deref().unwrap_or("running"));
        }
        Fault::UnregisteredVm { pool, age_minutes } => {
            world.add_vm(pool, *age_minutes, "Succeeded", "running");
        }
        Fault::NodeNotReady { pool, node, since_minutes, deallocate_vm } => {
            for n in evicted.pick(world, pool.as_deref(), node.as_deref(), 1) {
                let _ = world.make_not_ready(&n, *since_minutes, *deallocate_vm);
            }
        }
        Fault::DropWatches => kube.drop_watches(),
        Fault::WatchGone => {
            world.store.compact();
            kube.gone_next_watches(1);
        }
        Fault::Arm429 { count, retry_after_seconds } => arm.throttle(*count, Duration::from_secs(*retry_after_seconds)),
        Fault::SlowDelete { seconds } => arm.set_delete_duration(Some(Duration::from_secs_f64(seconds.max(0.0)))),
        Fault::FailDelete { count } => arm.fail_next_deletes(*count),
    }
}
