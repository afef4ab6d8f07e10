//! Scenarios: the YAML description of a simulated cluster (pools, workloads, timings, a timeline
//! of faults) and the built-in ones (`default`, `single-zone`, `large`).
//!
//! Input format: YAML (see `src/sim/scenarios/default.yaml`). Unknown fields are an error so a
//! typo in a scenario does not silently change the cluster.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::SimError;

/// A whole simulated cluster: what exists at start and what happens over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub pools: Vec<PoolSpec>,
    #[serde(default)]
    pub workloads: Workloads,
    #[serde(default)]
    pub timings: Timings,
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// Generated bulk workload (the `large` scenario): objects built directly, no scheduling loop.
    #[serde(default)]
    pub generate: Option<Generate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: String,
    pub region: String,
    pub subscription_id: String,
    pub resource_group: String,
    /// `MC_<rg>_<cluster>_<region>` when absent.
    #[serde(default)]
    pub node_resource_group: Option<String>,
    #[serde(default = "default_k8s_version")]
    pub kubernetes_version: String,
    #[serde(default = "default_tenant")]
    pub tenant_id: String,
}

fn default_k8s_version() -> String {
    "1.33.2".into()
}

fn default_tenant() -> String {
    "00000000-0000-0000-0000-00000000000a".into()
}

impl ClusterSpec {
    pub fn node_resource_group(&self) -> String {
        self.node_resource_group
            .clone()
            .unwrap_or_else(|| format!("MC_{}_{}_{}", self.resource_group, self.name, self.region))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    Regular,
    Spot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PoolMode {
    System,
    #[default]
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum EvictionPolicy {
    #[default]
    Delete,
    Deallocate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub name: String,
    #[serde(default)]
    pub mode: PoolMode,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default = "default_vm_size")]
    pub vm_size: String,
    /// Zone numbers ("1", "2", "3"); empty or `["0"]` means a non-zonal pool.
    #[serde(default)]
    pub zones: Vec<String>,
    pub count: u32,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra taints in Kubernetes form (`{key, value, effect}`); spot pools get the spot taint anyway.
    #[serde(default)]
    pub taints: Vec<Value>,
    #[serde(default)]
    pub eviction_policy: EvictionPolicy,
}

fn default_vm_size() -> String {
    "Standard_D4s_v5".into()
}

impl PoolSpec {
    pub fn is_zonal(&self) -> bool {
        !(self.zones.is_empty() || self.zones.iter().all(|z| z == "0"))
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workloads {
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub deployments: Vec<DeploymentSpec>,
    #[serde(default)]
    pub pdbs: Vec<PdbSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSpec {
    pub name: String,
    pub namespace: String,
    pub replicas: u32,
    /// Pod labels; `app: <name>` when empty.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes tolerations, as in a pod spec.
    #[serde(default)]
    pub tolerations: Vec<Value>,
    /// Kubernetes `affinity.nodeAffinity`, as in a pod spec.
    #[serde(default)]
    pub node_affinity: Option<Value>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default = "default_image")]
    pub image: String,
}

fn default_image() -> String {
    "registry.k8s.io/pause:3.10".into()
}

impl DeploymentSpec {
    pub fn pod_labels(&self) -> BTreeMap<String, String> {
        if self.labels.is_empty() {
            BTreeMap::from([("app".to_string(), self.name.clone())])
        } else {
            self.labels.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdbSpec {
    pub name: String,
    pub namespace: String,
    /// `matchLabels` of the PDB selector.
    pub selector: BTreeMap<String, String>,
    #[serde(default)]
    pub min_available: Option<Value>,
    #[serde(default)]
    pub max_unavailable: Option<Value>,
}

/// Real timings compressed to seconds (fractions allowed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    /// Preempt notice to the node going NotReady (real: up to 30 s).
    pub eviction_notice_seconds: f64,
    /// NotReady to the cloud node lifecycle controller removing a deleted VM's node (real: ~40 s).
    pub node_removal_seconds: f64,
    /// How long an ARM batch delete stays InProgress.
    pub delete_operation_seconds: f64,
    /// `Retry-After` on ARM 202 answers.
    pub delete_retry_after_seconds: u64,
    /// Pending to Running for a replacement pod.
    pub pod_start_seconds: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            eviction_notice_seconds: 0.3,
            node_removal_seconds: 0.5,
            delete_operation_seconds: 1.0,
            delete_retry_after_seconds: 1,
            pod_start_seconds: 0.0,
        }
    }
}

/// One fault on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Seconds after start; 0 applies the fault while building the world.
    #[serde(default)]
    pub at_seconds: f64,
    #[serde(flatten)]
    pub fault: Fault,
}

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Spot eviction of one node, or of `count` nodes of a pool.
    Evict {
        #[serde(default)]
        pool: Option<String>,
        #[serde(default)]
        node: Option<String>,
        #[serde(default = "one")]
        count: u32,
    },
    /// Evictions of a pool's nodes at a steady rate until the pool is empty or `max` is reached.
    EvictRate {
        pool: String,
        per_minute: f64,
        #[serde(default)]
        max: Option<u32>,
    },
    /// A scale-set instance stuck in provisioning state `Failed`, created `age_minutes` ago, with no node.
    FailedInstance {
        pool: String,
        #[serde(default = "ten")]
        age_minutes: u64,
        #[serde(default)]
        power_state: Option<String>,
    },
    /// A running VM that never registered as a node.
    UnregisteredVm {
        pool: String,
        #[serde(default = "ten")]
        age_minutes: u64,
    },
    /// A node NotReady since `since_minutes` ago; optionally its VM deallocated.
    NodeNotReady {
        #[serde(default)]
        pool: Option<String>,
        #[serde(default)]
        node: Option<String>,
        #[serde(default = "ten")]
        since_minutes: u64,
        #[serde(default)]
        deallocate_vm: bool,
    },
    /// Close every open watch connection.
    DropWatches,
    /// Forget watch history: watches resuming from an older resourceVersion get 410 Gone.
    WatchGone,
    /// The next `count` ARM requests answer 429 with `Retry-After`.
    Arm429 {
        count: u32,
        #[serde(default = "one_u64")]
        retry_after_seconds: u64,
    },
    /// Batch deletes take this long before they finish.
    SlowDelete { seconds: f64 },
    /// The next `count` batch deletes end in `Failed` and leave their VMs.
    FailDelete {
        #[serde(default = "one")]
        count: u32,
    },
}

fn one() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn ten() -> u64 {
    10
}

/// Parameters of a generated bulk workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    pub namespaces: u32,
    pub deployments_per_namespace: u32,
    pub replicas: u32,
}

const DEFAULT_YAML: &str = include_str!("scenarios/default.yaml");
const SINGLE_ZONE_YAML: &str = include_str!("scenarios/single-zone.yaml");
const LARGE_YAML: &str = include_str!("scenarios/large.yaml");

impl Scenario {
    /// Names of the built-in scenarios.
    pub const BUILTIN: [&'static str; 3] = ["default", "single-zone", "large"];

    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let text = match name {
            "default" => DEFAULT_YAML,
            "single-zone" => SINGLE_ZONE_YAML,
            "large" => LARGE_YAML,
            _ => return None,
        };
        // Built-ins are checked by unit tests, so a parse failure here is a build defect.
        Scenario::from_yaml(text).ok()
    }

    pub fn from_yaml(text: &str) -> Result<Scenario, SimError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(de)
            .map_err(|e| SimError::ScenarioParse { path: e.path().to_string(), message: e.inner().to_string() })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// A built-in name, or else a YAML file path.
    pub fn load(name_or_file: &str) -> Result<Scenario, SimError> {
        if let Some(s) = Scenario::builtin(name_or_file) {
            return Ok(s);
        }
        let path = Path::new(name_or_file);
        let text =
            std::fs::read_to_string(path).map_err(|source| SimError::Scenario { path: path.to_path_buf(), source })?;
        Scenario::from_yaml(&text)
    }

    fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::ScenarioInvalid(m));
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.pools {
            if !seen.insert(p.name.as_str()) {
                return bad(format!("pool {} is defined twice", p.name));
            }
            if p.name.is_empty()
                || p.name.len() > 12
                || !p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                return bad(format!("pool name {:?} must be 1-12 lower-case letters or digits", p.name));
            }
        }
        for e in &self.timeline {
            let pool = match &e.fault {
                Fault::Evict { pool, .. } | Fault::NodeNotReady { pool, .. } => pool.as_deref(),
                Fault::EvictRate { pool, .. }
                | Fault::FailedInstance { pool, .. }
                | Fault::UnregisteredVm { pool, .. } => Some(pool.as_str()),
                _ => None,
            };
            if let Some(p) = pool {
                if !seen.contains(p) {
                    return bad(format!("timeline refers to unknown pool {p}"));
                }
            }
            if e.at_seconds.is_nan() || e.at_seconds < 0.0 {
                return bad(format!("at_seconds must be >= 0, got {}", e.at_seconds));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_validate() {
        for name in Scenario::BUILTIN {
            let text = match name {
                "default" => DEFAULT_YAML,
                "single-zone" => SINGLE_ZONE_YAML,
                _ => LARGE_YAML,
            };
            let s = Scenario::from_yaml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(s.name, name);
        }
    }

    #[test]
    fn default_has_the_design_pools() {
        let s = Scenario::builtin("default").unwrap();
        let pools: Vec<(&str, u32)> = s.pools.iter().map(|p| (p.name.as_str(), p.count)).collect();
        assert_eq!(
            pools,
            vec![
                ("system", 3),
                ("stdworkload", 3),
                ("spotgeneral1", 4),
                ("spotmemory1", 3),
                ("spotgeneral2", 3),
                ("spotcompute", 2)
            ]
        );
    }

    #[test]
    fn unknown_field_is_an_error_with_its_path() {
        let text = "name: x\ncluster: {name: c, region: r, subscription_id: s, resource_group: g}\npools:\n- {name: a, count: 1, colour: red}\n";
        let err = Scenario::from_yaml(text).unwrap_err().to_string();
        assert!(err.contains("pools[0]"), "{err}");
    }

    #[test]
    fn timeline_fault_to_unknown_pool_is_rejected() {
        let text = "name: x\ncluster: {name: c, region: r, subscription_id: s, resource_group: g}\ntimeline:\n- {at_seconds: 1, fault: evict, pool: nope}\n";
        assert!(matches!(Scenario::from_yaml(text), Err(SimError::ScenarioInvalid(_))));
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn from_yaml_never_panics(text in ".{0,400}") {
            let _ = Scenario::from_yaml(&text);
        }

        #[test]
        fn mangled_default_never_panics(cut in 0usize..4000, junk in "[ -~\n]{0,20}") {
            let base = DEFAULT_YAML;
            let at = base.char_indices().map(|(i, _)| i).nth(cut % base.chars().count()).unwrap_or(0);
            let text = format!("{}{}{}", &base[..at], junk, &base[at..]);
            let _ = Scenario::from_yaml(&text);
        }
    }
}
