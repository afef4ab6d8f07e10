//! The simulated world: scenario → Kubernetes objects in the store and scale-set VMs in the cloud
//! model, plus the operations that keep the two one model (a VM's node, a node's VM, events).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::error::SimError;
use super::scenario::{DeploymentSpec, EvictionPolicy, Fault, PdbSpec, PoolSpec, Priority, Scenario};
use super::store::{ResourceKind, Store, StoreError};

/// Taint every AKS spot node carries.
pub const SPOT_TAINT_KEY: &str = "kubernetes.azure.com/scalesetpriority";
/// Taint the cloud provider puts on a node whose VM is shut down (deallocated).
pub const SHUTDOWN_TAINT_KEY: &str = "node.cloudprovider.kubernetes.io/shutdown";

/// One scale-set VM.
#[derive(Debug, Clone, PartialEq)]
pub struct Vm {
    pub instance_id: u64,
    /// Zone number ("1".."3"), `None` on a non-zonal pool.
    pub zone: Option<String>,
    /// `Succeeded`, `Failed`, `Creating`, `Deleting`.
    pub provisioning_state: String,
    /// `running`, `deallocated`, `stopped`.
    pub power_state: String,
    /// Seconds since the epoch.
    pub time_created: i64,
    pub computer_name: String,
}

/// One scale set (one node pool).
#[derive(Debug, Clone)]
pub struct Vmss {
    pub name: String,
    pub pool: PoolSpec,
    pub next_instance: u64,
    pub vms: BTreeMap<u64, Vm>,
}

/// The cloud side of the world: scale sets by name.
#[derive(Debug, Default)]
pub struct Cloud {
    pub scale_sets: BTreeMap<String, Vmss>,
}

/// Cluster identity every part of the simulator shares.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub name: String,
    pub region: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub node_resource_group: String,
    pub kubernetes_version: String,
    pub tenant_id: String,
    /// The 8-digit number in node and scale-set names.
    pub name_hash: u32,
}

/// The world: store (Kubernetes side) and cloud (ARM side).
#[derive(Debug)]
pub struct World {
    pub scenario: Scenario,
    pub info: ClusterInfo,
    pub store: Arc<Store>,
    cloud: Mutex<Cloud>,
    ip_seq: AtomicU64,
    event_seq: AtomicU64,
    pod_seq: AtomicU64,
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// RFC 3339 at whole seconds, as Kubernetes writes times.
pub fn k8s_time(epoch_secs: i64) -> String {
    jiff::Timestamp::from_second(epoch_secs).map(|t| t.to_string()).unwrap_or_default()
}

/// A pod name suffix: five letters that look random like the ReplicaSet controller's but never repeat
/// within a world. Random draws collide often enough at 150,000 pods to fail the `large` build; a counter
/// through a bijection on 26^5 (7,919 is coprime with 26) cannot.
pub fn pod_suffix(seq: u64) -> String {
    const SPACE: u64 = 26 * 26 * 26 * 26 * 26;
    let mut n = ((seq % SPACE) * 7_919 + 12_345) % SPACE;
    let mut out = [b'a'; 5];
    for slot in out.iter_mut().rev() {
        *slot = b'a' + (n % 26) as u8;
        n /= 26;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Instance id as AKS writes it in node names: base 36, 6 characters.
pub fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn stable_hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike std's RandomState.
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

fn label_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// Rough capacity from the VM size name (`Standard_D4s_v5` → 4 vCPU).
fn capacity(vm_size: &str) -> (u64, u64) {
    let body = vm_size.trim_start_matches("Standard_");
    let family = body.chars().next().unwrap_or('D');
    let cpus: u64 = body.chars().skip(1).take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(4);
    let gib_per_cpu = match family {
        'E' | 'M' => 8,
        'F' => 2,
        _ => 4,
    };
    (cpus, cpus * gib_per_cpu)
}

impl World {
    /// Builds the world from a scenario into `store`, applying the faults that are present from the start.
    pub fn build(scenario: Scenario, store: Arc<Store>) -> Result<Arc<World>, SimError> {
        let c = &scenario.cluster;
        let info = ClusterInfo {
            name: c.name.clone(),
            region: c.region.clone(),
            subscription_id: c.subscription_id.clone(),
            resource_group: c.resource_group.clone(),
            node_resource_group: c.node_resource_group(),
            kubernetes_version: c.kubernetes_version.clone(),
            tenant_id: c.tenant_id.clone(),
            name_hash: (stable_hash(&c.name) % 100_000_000) as u32,
        };
        let world = Arc::new(World {
            scenario,
            info,
            store,
            cloud: Mutex::new(Cloud::default()),
            ip_seq: AtomicU64::new(0),
            event_seq: AtomicU64::new(0),
            pod_seq: AtomicU64::new(0),
        });
        world.populate().map_err(|e| SimError::World(e.to_string()))?;
        Ok(world)
    }

    pub fn cloud(&self) -> MutexGuard<'_, Cloud> {
        self.cloud.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn populate(&self) -> Result<(), StoreError> {
        let store = &self.store;
        let mut namespaces: Vec<String> = ["default", "kube-system", "kube-node-lease"].map(String::from).to_vec();
        namespaces.extend(self.scenario.workloads.namespaces.iter().cloned());
        for d in &self.scenario.workloads.deployments {
            namespaces.push(d.namespace.clone());
        }
        if let Some(g) = &self.scenario.generate {
            namespaces.extend((0..g.namespaces).map(|i| format!("load-{i:03}")));
        }
        namespaces.sort();
        namespaces.dedup();
        for ns in &namespaces {
            store.create(
                ResourceKind::Namespace,
                json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                       "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
            )?;
        }
        let created = now_secs() - 3 * 24 * 3600;
        for pool in &self.scenario.pools {
            let vmss = self.vmss_name(&pool.name);
            let mut set = Vmss { name: vmss.clone(), pool: pool.clone(), next_instance: 0, vms: BTreeMap::new() };
            for _ in 0..pool.count {
                let vm = self.new_vm(&mut set, created);
                store.create(ResourceKind::Node, self.node_json(pool, &vmss, &vm))?;
                set.vms.insert(vm.instance_id, vm);
            }
            self.cloud().scale_sets.insert(vmss, set);
        }
        // Faults present from the start, before any workload lands, so nothing is scheduled on a stuck node.
        for entry in self.scenario.timeline.iter().filter(|e| e.at_seconds <= 0.0) {
            self.apply_static_fault(&entry.fault)?;
        }
        let mut placer = Placer::new(self);
        for d in &self.scenario.workloads.deployments {
            self.create_deployment(d, &mut placer)?;
        }
        for p in &self.scenario.workloads.pdbs {
            store.create(ResourceKind::PodDisruptionBudget, pdb_json(p))?;
        }
        if let Some(g) = self.scenario.generate.clone() {
            self.generate_bulk(&g, &mut placer)?;
        }
        Ok(())
    }

    /// `aks-<pool>-<hash>-vmss`.
    pub fn vmss_name(&self, pool: &str) -> String {
        format!("aks-{pool}-{:08}-vmss", self.info.name_hash)
    }

    fn new_vm(&self, set: &mut Vmss, time_created: i64) -> Vm {
        let id = set.next_instance;
        set.next_instance += 1;
        let zone = set.pool.is_zonal().then(|| set.pool.zones[(id as usize) % set.pool.zones.len()].clone());
        Vm {
            instance_id: id,
            zone,
            provisioning_state: "Succeeded".into(),
            power_state: "running".into(),
            time_created,
            computer_name: format!("{}{}", set.name, base36(id)),
        }
    }

    /// `azure:///subscriptions/<sub>/resourceGroups/<mc_rg lower>/providers/Microsoft.Compute/virtualMachineScaleSets/<vmss>/virtualMachines/<id>`.
    pub fn provider_id(&self, vmss: &str, instance_id: u64) -> String {
        format!(
            "azure:///subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{instance_id}",
            self.info.subscription_id,
            self.info.node_resource_group.to_lowercase()
        )
    }

    fn next_ip(&self, base: &str) -> String {
        let n = self.ip_seq.fetch_add(1, Ordering::Relaxed) + 4;
        format!("{base}.{}.{}", (n / 250) % 250, n % 250 + 1)
    }

    fn zone_label(&self, vm: &Vm) -> String {
        match &vm.zone {
            Some(z) => format!("{}-{z}", self.info.region),
            None => "0".to_string(),
        }
    }

    fn node_json(&self, pool: &PoolSpec, vmss: &str, vm: &Vm) -> Value {
        let name = &vm.computer_name;
        let zone = self.zone_label(vm);
        let mode = match pool.mode {
            super::scenario::PoolMode::System => "system",
            super::scenario::PoolMode::User => "user",
        };
        let mut labels = BTreeMap::from([
            ("agentpool".to_string(), pool.name.clone()),
            ("kubernetes.azure.com/agentpool".into(), pool.name.clone()),
            ("kubernetes.azure.com/mode".into(), mode.into()),
            ("kubernetes.azure.com/cluster".into(), self.info.node_resource_group.clone()),
            ("kubernetes.azure.com/role".into(), "agent".into()),
            ("kubernetes.azure.com/os-sku".into(), "Ubuntu".into()),
            ("kubernetes.azure.com/node-image-version".into(), "AKSUbuntu-2204gen2containerd-202510.03.0".into()),
            ("topology.kubernetes.io/zone".into(), zone.clone()),
            ("failure-domain.beta.kubernetes.io/zone".into(), zone),
            ("topology.kubernetes.io/region".into(), self.info.region.clone()),
            ("failure-domain.beta.kubernetes.io/region".into(), self.info.region.clone()),
            ("node.kubernetes.io/instance-type".into(), pool.vm_size.clone()),
            ("beta.kubernetes.io/instance-type".into(), pool.vm_size.clone()),
            ("kubernetes.io/hostname".into(), name.clone()),
            ("kubernetes.io/os".into(), "linux".into()),
            ("beta.kubernetes.io/os".into(), "linux".into()),
            ("kubernetes.io/arch".into(), "amd64".into()),
            ("beta.kubernetes.io/arch".into(), "amd64".into()),
        ]);
        let mut taints: Vec<Value> = Vec::new();
        if pool.priority == Priority::Spot {
            labels.insert(SPOT_TAINT_KEY.into(), "spot".into());
            taints.push(json!({"key": SPOT_TAINT_KEY, "value": "spot", "effect": "NoSchedule"}));
        }
        if pool.mode == super::scenario::PoolMode::System && pool.taints.is_empty() {
            // AKS system pools carry no taint unless asked (CriticalAddonsOnly is opt-in).
        }
        labels.extend(pool.labels.clone());
        taints.extend(pool.taints.iter().cloned());
        let (cpus, gib) = capacity(&pool.vm_size);
        let created = k8s_time(vm.time_created);
        let ip = self.next_ip("10.224");
        let cond = |t: &str, s: &str, reason: &str, msg: &str| {
            json!({"type": t, "status": s, "reason": reason, "message": msg,
                   "lastHeartbeatTime": k8s_time(now_secs()), "lastTransitionTime": created})
        };
        json!({
            "metadata": {
                "name": name,
                "labels": label_map(&labels),
                "annotations": {
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                },
                "creationTimestamp": created,
            },
            "spec": {"providerID": self.provider_id(vmss, vm.instance_id), "podCIDR": "", "taints": taints},
            "status": {
                "conditions": [
                    cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
                ],
                "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                "capacity": {"cpu": cpus.to_string(), "memory": format!("{}Ki", gib * 1024 * 1024),
                             "pods": "110", "ephemeral-storage": "129886128Ki"},
                "allocatable": {"cpu": format!("{}m", cpus * 1000 - 140), "memory": format!("{}Ki", gib * 1024 * 1024 * 85 / 100),
                                "pods": "110", "ephemeral-storage": "119703055367"},
                "nodeInfo": {
                    "kubeletVersion": format!("v{}", self.info.kubernetes_version),
                    "kubeProxyVersion": format!("v{}", self.info.kubernetes_version),
                    "containerRuntimeVersion": "containerd://1.7.27-1",
                    "osImage": "Ubuntu 22.04.5 LTS",
                    "kernelVersion": "5.15.0-1092-azure",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": format!("{:032x}", stable_hash(name)),
                    "systemUUID": format!("{:08x}-0000-4000-8000-{:012x}", vm.instance_id, stable_hash(name) & 0xffff_ffff_ffff),
                    "bootID": format!("{:08x}-0000-4000-8000-000000000000", stable_hash(name) as u32),
                },
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            },
        })
    }

    fn apply_static_fault(&self, fault: &Fault) -> Result<(), StoreError> {
        match fault {
            Fault::FailedInstance { pool, age_minutes, power_state } => {
                self.add_vm(pool, *age_minutes, "Failed", power_state.as_deref().unwrap_or("running"));
            }
            Fault::UnregisteredVm { pool, age_minutes } => {
                self.add_vm(pool, *age_minutes, "Succeeded", "running");
            }
            Fault::NodeNotReady { pool, node, since_minutes, deallocate_vm } => {
                if let Some(node) = self.pick_node(pool.as_deref(), node.as_deref()) {
                    self.make_not_ready(&node, *since_minutes, *deallocate_vm)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds a VM with no node (a ghost or an unregistered VM); returns its computer name.
    pub fn add_vm(&self, pool: &str, age_minutes: u64, provisioning_state: &str, power_state: &str) -> Option<String> {
        let vmss = self.vmss_name(pool);
        let mut cloud = self.cloud();
        let set = cloud.scale_sets.get_mut(&vmss)?;
        let mut vm = self.new_vm(set, now_secs() - (age_minutes as i64) * 60);
        vm.provisioning_state = provisioning_state.into();
        vm.power_state = power_state.into();
        let name = vm.computer_name.clone();
        set.vms.insert(vm.instance_id, vm);
        Some(name)
    }

    /// A node by name, or the last Ready node of a pool (the highest instance id, so tests can predict it).
    pub fn pick_node(&self, pool: Option<&str>, node: Option<&str>) -> Option<String> {
        if let Some(n) = node {
            return self.store.get(ResourceKind::Node, "", n).map(|_| n.to_string());
        }
        let vmss = self.vmss_name(pool?);
        let names: Vec<String> = self
            .cloud()
            .scale_sets
            .get(&vmss)?
            .vms
            .values()
            .rev()
            .filter(|vm| vm.provisioning_state == "Succeeded" && vm.power_state == "running")
            .map(|vm| vm.computer_name.clone())
            .collect();
        names.into_iter().find(|n| self.store.get(ResourceKind::Node, "", n).is_some_and(|o| node_ready(&o)))
    }

    /// Marks a node NotReady since `since_minutes` ago (Kubelet stopped posting), optionally deallocating its VM.
    pub fn make_not_ready(&self, node: &str, since_minutes: u64, deallocate_vm: bool) -> Result<(), StoreError> {
        let since = k8s_time(now_secs() - (since_minutes as i64) * 60);
        self.store.mutate(ResourceKind::Node, "", node, |n| {
            set_not_ready(n, &since);
            if deallocate_vm {
                add_taint(n, SHUTDOWN_TAINT_KEY, "", "NoSchedule");
            }
            Ok(())
        })?;
        if deallocate_vm {
            self.set_power_state(node, "deallocated");
        }
        Ok(())
    }

    /// Sets the power state of the VM behind a node.
    pub fn set_power_state(&self, node: &str, state: &str) {
        let mut cloud = self.cloud();
        for set in cloud.scale_sets.values_mut() {
            for vm in set.vms.values_mut() {
                if vm.computer_name == node {
                    vm.power_state = state.into();
                }
            }
        }
    }

    /// The scale set and instance id behind a node name.
    pub fn vm_of_node(&self, node: &str) -> Option<(String, u64)> {
        let cloud = self.cloud();
        cloud.scale_sets.values().find_map(|set| {
            set.vms.values().find(|vm| vm.computer_name == node).map(|vm| (set.name.clone(), vm.instance_id))
        })
    }

    /// The pool's eviction policy for a node's scale set.
    pub fn eviction_policy_of(&self, node: &str) -> EvictionPolicy {
        let cloud = self.cloud();
        cloud
            .scale_sets
            .values()
            .find(|set| set.vms.values().any(|vm| vm.computer_name == node))
            .map_or(EvictionPolicy::Delete, |s| s.pool.eviction_policy)
    }

    /// Removes VMs from a scale set; returns the computer names removed (their nodes are the caller's to remove).
    pub fn remove_vms(&self, vmss: &str, ids: &[u64]) -> Vec<String> {
        let mut cloud = self.cloud();
        let Some(set) = cloud.scale_sets.get_mut(vmss) else { return vec![] };
        ids.iter().filter_map(|id| set.vms.remove(id)).map(|vm| vm.computer_name).collect()
    }

    /// Removes a node whose VM is gone, as the cloud node lifecycle controller does (DeletingNode, RemovingNode).
    pub fn remove_node_of_deleted_vm(&self, node: &str) {
        let Some(obj) = self.store.get(ResourceKind::Node, "", node) else { return };
        let uid = uid_of(&obj);
        self.event(
            "Node",
            "",
            node,
            &uid,
            "Normal",
            "DeletingNode",
            &format!("Deleting node {node} because it does not exist in the cloud provider"),
            "cloud-node-lifecycle-controller",
        );
        self.event(
            "Node",
            "",
            node,
            &uid,
            "Normal",
            "RemovingNode",
            &format!("Node {node} event: Removing Node {node} from Controller"),
            "node-controller",
        );
        // Already gone is fine: someone deleted it first.
        let _ = self.store.delete(ResourceKind::Node, "", node);
    }

    /// Records a core/v1 Event. `ns` is the involved object's namespace ("" for nodes, whose events live in `default`).
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &self,
        kind: &str,
        ns: &str,
        name: &str,
        uid: &str,
        type_: &str,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        // Real event names are `<object>.<hex of creation nanos>`, so key order is time order; keep that, strictly increasing.
        let nanos = u64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(0);
        let seq = self
            .event_seq
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(nanos.max(last + 1)))
            .map_or(nanos, |last| nanos.max(last + 1));
        let now = k8s_time(now_secs());
        let event_ns = if ns.is_empty() { "default" } else { ns };
        let api_version = if kind == "Pod" || kind == "Node" { "v1" } else { "apps/v1" };
        let obj = json!({
            "metadata": {"name": format!("{name}.{seq:016x}"), "namespace": event_ns},
            "involvedObject": {"kind": kind, "name": name, "uid": uid, "namespace": ns, "apiVersion": api_version},
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": type_,
            "eventTime": null,
            "reportingComponent": component,
            "reportingInstance": "",
        });
        // A duplicate name would only lose one diagnostic event.
        let _ = self.store.create(ResourceKind::Event, obj);
    }

    fn create_deployment(&self, d: &DeploymentSpec, placer: &mut Placer) -> Result<(), StoreError> {
        let (deploy, rs) = deployment_objects(d);
        let deploy = self.store.create(ResourceKind::Deployment, deploy)?;
        let mut rs = rs;
        set_owner(&mut rs, "Deployment", &d.name, &uid_of(&deploy));
        let rs = self.store.create(ResourceKind::ReplicaSet, rs)?;
        let template = rs["spec"]["template"].clone();
        for _ in 0..d.replicas {
            let node = placer.place(&template, &d.namespace, &d.name);
            let pod = self.pod_json(&rs, &template, node.as_deref(), true);
            self.store.create(ResourceKind::Pod, pod)?;
        }
        Ok(())
    }

    /// A pod of a ReplicaSet; `running` makes it Running and Ready on `node`, else Pending.
    pub fn pod_json(&self, rs: &Value, template: &Value, node: Option<&str>, running: bool) -> Value {
        let (ns, rs_name) = super::store::key_of(rs);
        let suffix = pod_suffix(self.pod_seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let name = format!("{rs_name}-{suffix}");
        let now = k8s_time(now_secs());
        let mut spec = template["spec"].clone();
        let mut status = json!({"phase": "Pending", "qosClass": "BestEffort",
            "conditions": [{"type": "PodScheduled", "status": if node.is_some() {"True"} else {"False"},
                            "lastTransitionTime": now}]});
        if let Some(node) = node {
            spec["nodeName"] = json!(node);
            let host_ip = self
                .store
                .get(ResourceKind::Node, "", node)
                .and_then(|n| n["status"]["addresses"][0]["address"].as_str().map(String::from))
                .unwrap_or_default();
            status["hostIP"] = json!(host_ip);
            if running {
                mark_running(&mut status, &self.next_ip("10.244"), &now, &spec);
            }
        }
        json!({
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": template["metadata"]["labels"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                                     "uid": uid_of(rs), "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": spec,
            "status": status,
        })
    }

    /// Pod IP for a pod that starts running now.
    pub fn pod_ip(&self) -> String {
        self.next_ip("10.244")
    }

    fn generate_bulk(&self, g: &super::scenario::Generate, placer: &mut Placer) -> Result<(), StoreError> {
        // Round-robin placement over the schedulable nodes, one template pod per deployment cloned per
        // replica: linear in pods, no scoring, no per-pod lookups.
        let nodes = placer.all_schedulable();
        if nodes.is_empty() {
            return Ok(());
        }
        let node_ips: HashMap<String, String> = self
            .store
            .list(ResourceKind::Node, None, None, None, |_| true)?
            .items
            .iter()
            .map(|n| {
                (super::store::key_of(n).1, n["status"]["addresses"][0]["address"].as_str().unwrap_or("").to_string())
            })
            .collect();
        let created = k8s_time(now_secs() - 24 * 3600);
        let mut cursor = 0usize;
        let mut pod_seq = 0u64;
        for ns_i in 0..g.namespaces {
            let ns = format!("load-{ns_i:03}");
            for d_i in 0..g.deployments_per_namespace {
                let spec = DeploymentSpec {
                    name: format!("svc-{d_i:03}"),
                    namespace: ns.clone(),
                    replicas: g.replicas,
                    labels: BTreeMap::new(),
                    tolerations: vec![json!({"key": SPOT_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"})],
                    node_affinity: None,
                    node_selector: BTreeMap::new(),
                    image: "registry.k8s.io/pause:3.10".into(),
                };
                let (deploy, mut rs) = deployment_objects(&spec);
                let deploy = self.store.create(ResourceKind::Deployment, deploy)?;
                set_owner(&mut rs, "Deployment", &spec.name, &uid_of(&deploy));
                let rs = self.store.create(ResourceKind::ReplicaSet, rs)?;
                let template = rs["spec"]["template"].clone();
                let rs_name = super::store::key_of(&rs).1;
                let mut proto = self.pod_json(&rs, &template, nodes.first().map(String::as_str), true);
                proto["metadata"]["creationTimestamp"] = json!(created);
                for _ in 0..g.replicas {
                    let node = &nodes[cursor % nodes.len()];
                    cursor += 1;
                    pod_seq += 1;
                    let mut pod = proto.clone();
                    pod["metadata"]["name"] = json!(format!("{rs_name}-{}", &base36(pod_seq)[1..]));
                    pod["spec"]["nodeName"] = json!(node);
                    pod["status"]["hostIP"] = json!(node_ips.get(node).map_or("", String::as_str));
                    let ip = self.next_ip("10.244");
                    pod["status"]["podIPs"] = json!([{"ip": ip}]);
                    pod["status"]["podIP"] = json!(ip);
                    self.store.create(ResourceKind::Pod, pod)?;
                }
            }
        }
        Ok(())
    }
}

/// Deployment and its ReplicaSet for a spec (the ReplicaSet's owner reference is set after the Deployment exists).
pub fn deployment_objects(d: &DeploymentSpec) -> (Value, Value) {
    let labels = d.pod_labels();
    let hash = format!("{:010x}", stable_hash(&format!("{}/{}", d.namespace, d.name)) & 0xff_ffff_ffff);
    let hash: String = hash.chars().map(|c| if c == '0' { 'b' } else { c }).collect();
    let mut pod_labels = labels.clone();
    pod_labels.insert("pod-template-hash".into(), hash.clone());
    let mut pod_spec = json!({
        "containers": [{"name": d.name, "image": d.image, "resources": {}, "imagePullPolicy": "IfNotPresent"}],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "tolerations": d.tolerations.iter().cloned().chain([
            json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
            json!({"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
        ]).collect::<Vec<_>>(),
    });
    if let Some(a) = &d.node_affinity {
        pod_spec["affinity"] = json!({"nodeAffinity": a});
    }
    if !d.node_selector.is_empty() {
        pod_spec["nodeSelector"] = label_map(&d.node_selector);
    }
    let deploy = json!({
        "metadata": {"name": d.name, "namespace": d.namespace, "labels": label_map(&labels), "generation": 1,
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": d.replicas,
            "selector": {"matchLabels": label_map(&labels)},
            "template": {"metadata": {"labels": label_map(&labels)}, "spec": pod_spec},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {"observedGeneration": 1, "replicas": d.replicas, "readyReplicas": d.replicas,
                   "availableReplicas": d.replicas, "updatedReplicas": d.replicas},
    });
    let mut rs_selector = labels.clone();
    rs_selector.insert("pod-template-hash".into(), hash.clone());
    let rs = json!({
        "metadata": {"name": format!("{}-{hash}", d.name), "namespace": d.namespace, "labels": label_map(&pod_labels),
                     "generation": 1, "annotations": {"deployment.kubernetes.io/desired-replicas": d.replicas.to_string(),
                                                      "deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": d.replicas,
            "selector": {"matchLabels": label_map(&rs_selector)},
            "template": {"metadata": {"labels": label_map(&pod_labels)}, "spec": deploy["spec"]["template"]["spec"]},
        },
        "status": {"observedGeneration": 1, "replicas": d.replicas, "readyReplicas": d.replicas,
                   "availableReplicas": d.replicas, "fullyLabeledReplicas": d.replicas},
    });
    (deploy, rs)
}

fn pdb_json(p: &PdbSpec) -> Value {
    let mut spec = json!({"selector": {"matchLabels": label_map(&p.selector)}});
    if let Some(v) = &p.min_available {
        spec["minAvailable"] = v.clone();
    }
    if let Some(v) = &p.max_unavailable {
        spec["maxUnavailable"] = v.clone();
    }
    json!({"metadata": {"name": p.name, "namespace": p.namespace, "generation": 1}, "spec": spec, "status": {}})
}

fn set_owner(obj: &mut Value, kind: &str, name: &str, uid: &str) {
    obj["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid,
                                                  "controller": true, "blockOwnerDeletion": true}]);
}

/// Fills a pod status as Running and Ready.
pub fn mark_running(status: &mut Value, ip: &str, now: &str, spec: &Value) {
    status["phase"] = json!("Running");
    status["podIP"] = json!(ip);
    status["podIPs"] = json!([{"ip": ip}]);
    status["startTime"] = json!(now);
    status["conditions"] = json!([
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "Ready", "status": "True", "lastTransitionTime": now},
        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
    ]);
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    status["containerStatuses"] = Value::Array(
        containers
            .iter()
            .map(|c| {
                json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "started": true,
                       "restartCount": 0, "state": {"running": {"startedAt": now}}})
            })
            .collect(),
    );
}

pub fn uid_of(obj: &Value) -> String {
    obj["metadata"]["uid"].as_str().unwrap_or_default().to_string()
}

/// True when the node's Ready condition is True.
pub fn node_ready(node: &Value) -> bool {
    condition_status(node, "Ready") == Some("True")
}

/// Status of a condition (`True`/`False`/`Unknown`).
pub fn condition_status<'a>(obj: &'a Value, type_: &str) -> Option<&'a str> {
    obj["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)?["status"].as_str()
}

/// Ready=Unknown as when the kubelet stops posting, plus the unreachable taints the node controller adds.
pub fn set_not_ready(node: &mut Value, since: &str) {
    if let Some(conds) = node["status"]["conditions"].as_array_mut() {
        for c in conds.iter_mut() {
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
            c["lastTransitionTime"] = json!(since);
            c["lastHeartbeatTime"] = json!(since);
        }
    }
    add_taint(node, "node.kubernetes.io/unreachable", "", "NoSchedule");
    add_taint(node, "node.kubernetes.io/unreachable", "", "NoExecute");
}

pub fn add_taint(node: &mut Value, key: &str, value: &str, effect: &str) {
    if !node["spec"]["taints"].is_array() {
        node["spec"]["taints"] = json!([]);
    }
    if let Some(taints) = node["spec"]["taints"].as_array_mut() {
        if !taints.iter().any(|t| t["key"] == key && t["effect"] == effect) {
            let mut t = json!({"key": key, "effect": effect, "timeAdded": k8s_time(now_secs())});
            if !value.is_empty() {
                t["value"] = json!(value);
            }
            taints.push(t);
        }
    }
}

/// Lower is better: (-preferred affinity weight, pods of the owner in the zone, on the node, on the node in total).
type Score = (i64, i64, i64, i64);

/// Chooses nodes for pods, as kube-scheduler would for these simple pods: filters (Ready, schedulable,
/// taints, required affinity, nodeSelector) then scores (preferred affinity, zone spread, node spread).
#[derive(Debug)]
pub struct Placer {
    nodes: Vec<Arc<Value>>,
    /// (namespace/deployment, zone) → pods placed.
    per_zone: HashMap<(String, String), u32>,
    /// (namespace/deployment, node) → pods placed.
    per_node: HashMap<(String, String), u32>,
    /// node → pods placed.
    total: HashMap<String, u32>,
}

impl Placer {
    pub fn new(world: &World) -> Self {
        let nodes =
            world.store.list(ResourceKind::Node, None, None, None, |_| true).map(|p| p.items).unwrap_or_default();
        Placer { nodes, per_zone: HashMap::new(), per_node: HashMap::new(), total: HashMap::new() }
    }

    /// A placer over the given nodes with the current pods counted.
    pub fn with_pods(nodes: Vec<Arc<Value>>, pods: &[Arc<Value>], owner_of: impl Fn(&Value) -> Option<String>) -> Self {
        let mut p = Placer { nodes, per_zone: HashMap::new(), per_node: HashMap::new(), total: HashMap::new() };
        let zone_of: HashMap<String, String> =
            p.nodes.iter().map(|n| (super::store::key_of(n).1, node_zone(n).to_string())).collect();
        for pod in pods {
            let Some(node) = pod["spec"]["nodeName"].as_str() else { continue };
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            if let Some(owner) = owner_of(pod) {
                let key = format!("{ns}/{owner}");
                let zone = zone_of.get(node).cloned().unwrap_or_default();
                *p.per_zone.entry((key.clone(), zone)).or_default() += 1;
                *p.per_node.entry((key, node.to_string())).or_default() += 1;
            }
            *p.total.entry(node.to_string()).or_default() += 1;
        }
        p
    }

    fn all_schedulable(&self) -> Vec<String> {
        self.nodes.iter().filter(|n| schedulable(n)).map(|n| super::store::key_of(n).1).collect()
    }

    /// The best node for a pod of `template` owned by `ns/owner`, recording the placement.
    pub fn place(&mut self, template: &Value, ns: &str, owner: &str) -> Option<String> {
        let spec = &template["spec"];
        let key = format!("{ns}/{owner}");
        let mut best: Option<(Score, String, String)> = None;
        for n in &self.nodes {
            if !schedulable(n) || !fits(spec, n) {
                continue;
            }
            let name = super::store::key_of(n).1;
            let zone = node_zone(n).to_string();
            let pref = preferred_score(spec, n);
            let in_zone = i64::from(self.per_zone.get(&(key.clone(), zone.clone())).copied().unwrap_or(0));
            let on_node = i64::from(self.per_node.get(&(key.clone(), name.clone())).copied().unwrap_or(0));
            let total = i64::from(self.total.get(&name).copied().unwrap_or(0));
            if total >= 110 {
                continue;
            }
            let score = (-pref, in_zone, on_node, total);
            if best.as_ref().is_none_or(|(s, bn, _)| score < *s || (score == *s && name < *bn)) {
                best = Some((score, name, zone));
            }
        }
        let (_, name, zone) = best?;
        *self.per_zone.entry((key.clone(), zone)).or_default() += 1;
        *self.per_node.entry((key, name.clone())).or_default() += 1;
        *self.total.entry(name.clone()).or_default() += 1;
        Some(name)
    }
}

pub fn node_zone(node: &Value) -> &str {
    node["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str().unwrap_or("")
}

/// Ready and not cordoned.
pub fn schedulable(node: &Value) -> bool {
    node_ready(node) && !node["spec"]["unschedulable"].as_bool().unwrap_or(false)
}

fn tolerates(tolerations: &[Value], taint: &Value) -> bool {
    tolerations.iter().any(|t| {
        let key_ok = match t["key"].as_str() {
            None | Some("") => t["operator"] == "Exists",
            Some(k) => taint["key"] == k,
        };
        let effect_ok = match t["effect"].as_str() {
            None | Some("") => true,
            Some(e) => taint["effect"] == e,
        };
        let value_ok =
            t["operator"] == "Exists" || t["value"].as_str().unwrap_or("") == taint["value"].as_str().unwrap_or("");
        key_ok && effect_ok && value_ok
    })
}

fn expr_matches(expr: &Value, labels: &Value) -> bool {
    let key = expr["key"].as_str().unwrap_or_default();
    let val = labels[key].as_str();
    let values: Vec<&str> =
        expr["values"].as_array().map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    match expr["operator"].as_str().unwrap_or_default() {
        "In" => val.is_some_and(|v| values.contains(&v)),
        "NotIn" => val.is_none_or(|v| !values.contains(&v)),
        "Exists" => val.is_some(),
        "DoesNotExist" => val.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) =
                (val.and_then(|v| v.parse::<i64>().ok()), values.first().and_then(|b| b.parse::<i64>().ok()))
            else {
                return false;
            };
            if expr["operator"] == "Gt" { v > bound } else { v < bound }
        }
        _ => false,
    }
}

fn term_matches(term: &Value, labels: &Value) -> bool {
    term["matchExpressions"].as_array().is_none_or(|exprs| exprs.iter().all(|e| expr_matches(e, labels)))
}

/// Filters: taints with NoSchedule/NoExecute tolerated, nodeSelector, required node affinity.
pub fn fits(pod_spec: &Value, node: &Value) -> bool {
    let tolerations = pod_spec["tolerations"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let taints = node["spec"]["taints"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if taints.iter().any(|t| t["effect"] != "PreferNoSchedule" && !tolerates(tolerations, t)) {
        return false;
    }
    let labels = &node["metadata"]["labels"];
    if let Some(sel) = pod_spec["nodeSelector"].as_object() {
        if sel.iter().any(|(k, v)| labels[k.as_str()] != *v) {
            return false;
        }
    }
    let required =
        &pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
    match required.as_array() {
        Some(terms) if !terms.is_empty() => terms.iter().any(|t| term_matches(t, labels)),
        _ => true,
    }
}

fn preferred_score(pod_spec: &Value, node: &Value) -> i64 {
    let labels = &node["metadata"]["labels"];
    pod_spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        .as_array()
        .map(|prefs| {
            prefs
                .iter()
                .filter(|p| term_matches(&p["preference"], labels))
                .map(|p| p["weight"].as_i64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_suffixes_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(pod_suffix(i)), "suffix {i} repeats");
        }
    }

    #[test]
    fn base36_is_six_chars() {
        assert_eq!(base36(0), "000000");
        assert_eq!(base36(35), "00000z");
        assert_eq!(base36(36), "000010");
    }

    #[test]
    fn default_world_has_every_node_labelled_and_pods_placed() {
        let store = Arc::new(Store::default());
        let world = World::build(Scenario::builtin("default").unwrap(), store.clone()).unwrap();
        assert_eq!(store.count(ResourceKind::Node), 18);
        let nodes = store.list(ResourceKind::Node, None, None, None, |_| true).unwrap().items;
        for n in &nodes {
            let name = super::super::store::key_of(n).1;
            assert!(name.starts_with("aks-") && name.contains("-vmss"), "{name}");
            assert_eq!(name.rsplit("vmss").next().unwrap().len(), 6);
            let pid = n["spec"]["providerID"].as_str().unwrap();
            assert!(pid.contains(&world.info.node_resource_group.to_lowercase()), "{pid}");
            assert!(
                n["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str().unwrap().starts_with("australiaeast-")
            );
        }
        // 3 stateless × 3 + 3 stateful × 1.
        let pods = store.list(ResourceKind::Pod, None, None, None, |_| true).unwrap().items;
        assert_eq!(pods.len(), 12);
        let by_name: HashMap<String, Arc<Value>> =
            nodes.iter().map(|n| (super::super::store::key_of(n).1, n.clone())).collect();
        for p in &pods {
            let node = &by_name[p["spec"]["nodeName"].as_str().unwrap()];
            let spot = node["metadata"]["labels"][SPOT_TAINT_KEY] == "spot";
            let stateless =
                ["web", "cart", "catalogue"].iter().any(|d| p["metadata"]["name"].as_str().unwrap().starts_with(d));
            assert_eq!(spot, stateless, "{}", p["metadata"]["name"]);
            assert!(node_ready(node));
        }
        // The ghost exists only in the cloud; the stuck node is NotReady with a deallocated VM.
        let cloud = world.cloud();
        let ghosts: Vec<&Vm> = cloud
            .scale_sets
            .values()
            .flat_map(|s| s.vms.values())
            .filter(|v| v.provisioning_state == "Failed")
            .collect();
        assert_eq!(ghosts.len(), 1);
        assert!(store.get(ResourceKind::Node, "", &ghosts[0].computer_name).is_none());
        let dealloc: Vec<&Vm> =
            cloud.scale_sets.values().flat_map(|s| s.vms.values()).filter(|v| v.power_state == "deallocated").collect();
        assert_eq!(dealloc.len(), 1);
        let stuck = store.get(ResourceKind::Node, "", &dealloc[0].computer_name).unwrap();
        assert!(!node_ready(&stuck));
    }

    #[test]
    fn spread_across_zones() {
        let store = Arc::new(Store::default());
        World::build(Scenario::builtin("default").unwrap(), store.clone()).unwrap();
        let nodes: HashMap<String, Arc<Value>> = store
            .list(ResourceKind::Node, None, None, None, |_| true)
            .unwrap()
            .items
            .into_iter()
            .map(|n| (super::super::store::key_of(&n).1, n))
            .collect();
        let web_zones: std::collections::BTreeSet<String> = store
            .list(ResourceKind::Pod, Some("robot-shop"), None, None, |p| p["metadata"]["labels"]["app"] == "web")
            .unwrap()
            .items
            .iter()
            .map(|p| node_zone(&nodes[p["spec"]["nodeName"].as_str().unwrap()]).to_string())
            .collect();
        assert_eq!(web_zones.len(), 3);
    }

    #[test]
    fn required_affinity_and_taints_filter() {
        let node = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}});
        assert!(!fits(&json!({}), &node));
        let tol = json!({"tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}]});
        assert!(fits(&tol, &node));
        let mut aff = tol.clone();
        aff["affinity"] = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}]}}});
        assert!(!fits(&aff, &node));
    }
}
