//! ARM JSON for scale sets, scale-set VMs and errors, shaped as api-version 2024-07-01 answers.

use serde_json::{Value, json};

use crate::sim::scenario::{EvictionPolicy, Priority};
use crate::sim::world::{ClusterInfo, Vm, Vmss, k8s_time};

/// `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<vmss>`.
pub fn vmss_id(info: &ClusterInfo, vmss: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}",
        info.subscription_id, info.node_resource_group
    )
}

pub fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

pub fn scale_set(info: &ClusterInfo, set: &Vmss) -> Value {
    let spot = set.pool.priority == Priority::Spot;
    let mut profile = json!({
        "osProfile": {"computerNamePrefix": set.name, "adminUsername": "azureuser"},
        "storageProfile": {"imageReference": {"id": "/subscriptions/109a5e88-712a-48ae-9078-9ca8b3c81345/resourceGroups/AKS-Ubuntu/providers/Microsoft.Compute/galleries/AKSUbuntu/images/2204gen2containerd/versions/202510.03.0"}},
    });
    if spot {
        let policy = match set.pool.eviction_policy {
            EvictionPolicy::Delete => "Delete",
            EvictionPolicy::Deallocate => "Deallocate",
        };
        profile["priority"] = json!("Spot");
        profile["evictionPolicy"] = json!(policy);
        profile["billingProfile"] = json!({"maxPrice": -1.0});
    } else {
        profile["priority"] = json!("Regular");
    }
    let mut v = json!({
        "id": vmss_id(info, &set.name),
        "name": set.name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": info.region,
        "tags": {
            "aks-managed-poolName": set.pool.name,
            "aks-managed-orchestrator": format!("Kubernetes:{}", info.kubernetes_version),
            "aks-managed-createOperationID": "00000000-0000-0000-0000-000000000000",
        },
        "sku": {"name": set.pool.vm_size, "tier": "Standard", "capacity": set.vms.len()},
        "properties": {
            "provisioningState": "Succeeded",
            "orchestrationMode": "Uniform",
            "overprovision": false,
            "singlePlacementGroup": false,
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": profile,
            "uniqueId": format!("{:08x}-0000-4000-8000-000000000000", info.name_hash),
            "timeCreated": k8s_time(jiff::Timestamp::now().as_second() - 3 * 24 * 3600),
        },
    });
    if set.pool.is_zonal() {
        v["zones"] = json!(set.pool.zones);
    }
    v
}

fn status_display(state: &str) -> &'static str {
    match state {
        "Succeeded" => "Provisioning succeeded",
        "Failed" => "Provisioning failed",
        "Deleting" => "Deleting",
        "Creating" => "Creating",
        _ => "Updating",
    }
}

pub fn vm(info: &ClusterInfo, set: &Vmss, vm: &Vm, expand_instance_view: bool) -> Value {
    let id = format!("{}/virtualMachines/{}", vmss_id(info, &set.name), vm.instance_id);
    let created = k8s_time(vm.time_created);
    let mut props = json!({
        "latestModelApplied": true,
        "provisioningState": vm.provisioning_state,
        "timeCreated": created,
        "vmId": format!("{:08x}-0000-4000-8000-{:012x}", vm.instance_id, u64::from(info.name_hash)),
        "hardwareProfile": {"vmSize": set.pool.vm_size},
        "osProfile": {"computerName": vm.computer_name, "adminUsername": "azureuser"},
        "networkProfile": {"networkInterfaces": []},
    });
    if expand_instance_view {
        let mut statuses = vec![json!({
            "code": format!("ProvisioningState/{}", vm.provisioning_state.to_lowercase()),
            "level": if vm.provisioning_state == "Failed" { "Error" } else { "Info" },
            "displayStatus": status_display(&vm.provisioning_state),
            "time": created,
        })];
        statuses.push(json!({
            "code": format!("PowerState/{}", vm.power_state),
            "level": "Info",
            "displayStatus": format!("VM {}", vm.power_state),
        }));
        props["instanceView"] = json!({
            "computerName": vm.computer_name,
            "osName": "ubuntu",
            "osVersion": "22.04",
            "statuses": statuses,
        });
    }
    let mut v = json!({
        "id": id,
        "name": format!("{}_{}", set.name, vm.instance_id),
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": info.region,
        "instanceId": vm.instance_id.to_string(),
        "sku": {"name": set.pool.vm_size, "tier": "Standard"},
        "tags": {"aks-managed-poolName": set.pool.name},
        "properties": props,
    });
    if let Some(z) = &vm.zone {
        v["zones"] = json!([z]);
    }
    v
}
