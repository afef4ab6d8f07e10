//! The simulated AKS over real HTTP: control plane reactions through the Kubernetes API, PDBs,
//! ARM batch deletes through the real `azure_mgmt_compute` client, spot evictions, and scale.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aks_spot_test::sim::testing::{Fault, ResourceKind, Scenario, SimHandle, SimOptions, start};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, EvictParams, ListParams};

/// The default scenario without its timeline, pods starting at once: a quiet cluster to act on.
fn quiet_default() -> Scenario {
    let mut s = Scenario::builtin("default").expect("default scenario");
    s.timeline.clear();
    s.timings.pod_start_seconds = 0.0;
    s.timings.eviction_notice_seconds = 0.2;
    s.timings.node_removal_seconds = 0.2;
    s.timings.delete_operation_seconds = 0.5;
    s
}

async fn sim(s: Scenario) -> SimHandle {
    start(SimOptions::new(s)).await.expect("simulator starts")
}

fn zone(n: &Node) -> String {
    n.metadata.labels.as_ref().and_then(|l| l.get("topology.kubernetes.io/zone")).cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordoned_zone_gets_no_replacements() {
    let h = sim(quiet_default()).await;
    let client = h.kube_client().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "robot-shop");
    let all_nodes = nodes.list(&ListParams::default()).await.expect("list nodes").items;
    let target = "australiaeast-1";
    let in_zone: BTreeSet<String> =
        all_nodes.iter().filter(|n| zone(n) == target).filter_map(|n| n.metadata.name.clone()).collect();
    for n in &in_zone {
        nodes.cordon(n).await.expect("cordon");
    }
    let victims: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some_and(|n| in_zone.contains(n)))
        .filter_map(|p| p.metadata.name)
        .collect();
    assert!(!victims.is_empty(), "the target zone runs robot-shop pods");
    for v in &victims {
        pods.delete(v, &DeleteParams::default()).await.expect("delete pod");
    }
    assert!(h.wait_settled(Duration::from_secs(20)).await, "deployments back at replica count within 20 s");
    let after = pods.list(&ListParams::default()).await.expect("list pods").items;
    assert_eq!(after.len(), 12);
    for p in &after {
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default();
        assert!(!in_zone.contains(&node), "{:?} landed in the cordoned zone", p.metadata.name);
        assert!(!victims.contains(p.metadata.name.as_ref().expect("name")));
    }
    let zone_of = |node: &str| all_nodes.iter().find(|n| n.metadata.name.as_deref() == Some(node)).map(zone);
    let web_zones: BTreeSet<String> = after
        .iter()
        .filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get("app")).is_some_and(|a| a == "web"))
        .filter_map(|p| zone_of(p.spec.as_ref()?.node_name.as_deref()?))
        .collect();
    assert_eq!(web_zones.len(), 2, "web spreads over the two remaining zones: {web_zones:?}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdb_status_is_kept_and_blocks_a_second_eviction() {
    let mut s = quiet_default();
    // Replacements stay Pending for the whole test.
    s.timings.pod_start_seconds = 600.0;
    let h = sim(s).await;
    // kube-rs retries 429 by itself (15 times, exponential backoff: minutes): see the refusal directly.
    let mut config = h.kube_config();
    config.default_retry = false;
    let client = kube::Client::try_from(config).expect("client");
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "robot-shop");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "robot-shop");
    assert!(h.wait_settled(Duration::from_secs(10)).await);
    let st = pdbs.get_status("web-pdb").await.expect("pdb").status.expect("status");
    assert_eq!((st.expected_pods, st.current_healthy, st.desired_healthy, st.disruptions_allowed), (3, 3, 2, 1));
    let web: Vec<String> = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    pods.evict(&web[0], &EvictParams::default()).await.expect("first eviction is allowed");
    let second = pods.evict(&web[1], &EvictParams::default()).await;
    match second {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 429, "{status:?}"),
        other => panic!("second eviction should be refused with 429, got {other:?}"),
    }
    // The control plane replaces the evicted pod (not ready yet) and recomputes the budget; give it up to 5 s.
    let mut seen = (0, 0, 0);
    for _ in 0..50 {
        let st = pdbs.get_status("web-pdb").await.expect("pdb").status.expect("status");
        seen = (st.expected_pods, st.current_healthy, st.disruptions_allowed);
        if seen == (3, 2, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, (3, 2, 0));
    assert_eq!(pods.list(&ListParams::default().labels("app=web")).await.expect("list").items.len(), 3);
    h.shutdown().await;
}

fn compute_client(h: &SimHandle) -> azure_mgmt_compute::Client {
    let http = azure_core::new_http_client();
    let cred = azure_identity::ClientSecretCredential::new(
        http,
        h.authority_url().parse().expect("authority url"),
        h.tenant_id().to_string(),
        "client-id".into(),
        "client-secret".into(),
    );
    azure_mgmt_compute::Client::builder(Arc::new(cred))
        .endpoint(azure_core::Url::parse(&h.arm_url()).expect("arm url"))
        .scopes(&["https://management.azure.com/.default"])
        .build()
        .expect("compute client")
}

async fn list_vms(h: &SimHandle, c: &azure_mgmt_compute::Client, vmss: &str) -> Vec<serde_json::Value> {
    let mut stream = c
        .virtual_machine_scale_set_v_ms_client()
        .list(h.node_resource_group(), vmss, h.subscription_id())
        .expand("instanceView")
        .into_stream();
    let mut out = vec![];
    while let Some(page) = stream.next().await {
        for vm in page.expect("vm page").value {
            out.push(serde_json::to_value(&vm).expect("vm json"));
        }
    }
    out
}

/// Polls an Azure-AsyncOperation URL until it is terminal; returns every status seen.
async fn poll_operation(h: &SimHandle, headers: &azure_core::headers::Headers) -> Vec<String> {
    let url =
        azure_core::lro::location::get_location(headers, azure_core::lro::location::FinalState::AzureAsyncOperation)
            .expect("location header")
            .expect("operation url");
    let http = azure_core::new_http_client();
    let mut seen = vec![];
    // At most 30 polls of the sim's Retry-After (1 s): the slowest injected operation is 3 s.
    for _ in 0..30 {
        let mut req = azure_core::Request::new(url.clone(), azure_core::Method::Get);
        req.insert_header("authorization", format!("Bearer {}", h.token()));
        let resp = http.execute_request(&req).await.expect("poll");
        let retry = azure_core::lro::get_retry_after(resp.headers());
        let body = resp.into_body().collect().await.expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("operation json");
        let status = v["status"].as_str().unwrap_or_default().to_string();
        seen.push(status.clone());
        if status != "InProgress" {
            assert!(v["startTime"].is_string() && v["endTime"].is_string(), "{v}");
            return seen;
        }
        tokio::time::sleep(retry.min(Duration::from_secs(1))).await;
    }
    panic!("operation never finished: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_delete_through_azure_mgmt_compute_removes_vms_and_nodes() {
    let h = sim(quiet_default()).await;
    let c = compute_client(&h);
    // Scale sets, with the AKS tags.
    let mut sets =
        c.virtual_machine_scale_sets_client().list(h.node_resource_group(), h.subscription_id()).into_stream();
    let mut names = vec![];
    while let Some(page) = sets.next().await {
        for s in page.expect("vmss page").value {
            let v = serde_json::to_value(&s).expect("vmss json");
            assert!(v["tags"]["aks-managed-poolName"].is_string(), "{v}");
            assert!(v["tags"]["aks-managed-orchestrator"].is_string(), "{v}");
            names.push(v["name"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(names.len(), 6);
    let vmss = names.iter().find(|n| n.contains("spotgeneral1")).expect("spotgeneral1 vmss").clone();
    let vms = list_vms(&h, &c, &vmss).await;
    // 4 nodes + 1 ghost (Failed, old) from the scenario? The quiet scenario has no ghost: 4.
    assert_eq!(vms.len(), 4);
    let first = &vms[0];
    let codes: Vec<&str> = first["properties"]["instanceView"]["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .filter_map(|s| s["code"].as_str())
        .collect();
    assert!(codes.contains(&"PowerState/running"), "{codes:?}");
    let computer = first["properties"]["osProfile"]["computerName"].as_str().expect("computer name").to_string();
    let id = first["instanceId"].as_str().expect("instance id").to_string();
    assert_eq!(first["name"], format!("{vmss}_{id}"));
    assert!(h.store().get(ResourceKind::Node, "", &computer).is_some());

    // A 429 storm first: the client's own retry honours Retry-After and gets through.
    h.arm_faults().throttle(2, Duration::from_secs(1));
    h.arm_faults().set_delete_duration(Some(Duration::from_secs(3)));
    let resp = c
        .virtual_machine_scale_sets_client()
        .delete_instances(
            h.node_resource_group(),
            &vmss,
            azure_mgmt_compute::models::VirtualMachineScaleSetVmInstanceRequiredIDs::new(vec![id.clone()]),
            h.subscription_id(),
        )
        .send()
        .await
        .expect("delete accepted");
    let raw = resp.as_raw_response();
    assert_eq!(u16::from(raw.status()), 202);
    assert!(raw.headers().get_optional_str(&azure_core::headers::HeaderName::from_static("retry-after")).is_some());
    let statuses = poll_operation(&h, raw.headers()).await;
    assert_eq!(statuses.first().map(String::as_str), Some("InProgress"), "slow LRO is seen in progress");
    assert_eq!(statuses.last().map(String::as_str), Some("Succeeded"));
    let throttled = h.log().records().iter().filter(|r| r.endpoint == "arm" && r.status == 429).count();
    assert_eq!(throttled, 2);
    assert!(h.store().get(ResourceKind::Node, "", &computer).is_none(), "the node went with its VM");
    assert_eq!(list_vms(&h, &c, &vmss).await.len(), 3);

    // A failing delete leaves the VM and its node.
    h.arm_faults().set_delete_duration(None);
    h.arm_faults().fail_next_deletes(1);
    let keep = list_vms(&h, &c, &vmss).await[0]["instanceId"].as_str().expect("id").to_string();
    let resp = c
        .virtual_machine_scale_sets_client()
        .delete_instances(
            h.node_resource_group(),
            &vmss,
            azure_mgmt_compute::models::VirtualMachineScaleSetVmInstanceRequiredIDs::new(vec![keep]),
            h.subscription_id(),
        )
        .send()
        .await
        .expect("delete accepted");
    let statuses = poll_operation(&h, resp.as_raw_response().headers()).await;
    assert_eq!(statuses.last().map(String::as_str), Some("Failed"));
    assert_eq!(list_vms(&h, &c, &vmss).await.len(), 3);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_rejects_missing_token_and_api_version() {
    let h = sim(quiet_default()).await;
    let http = azure_core::new_http_client();
    let base = format!(
        "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets",
        h.arm_url(),
        h.subscription_id(),
        h.node_resource_group()
    );
    let get = |url: String, token: Option<String>| {
        let http = http.clone();
        async move {
            let mut req = azure_core::Request::new(azure_core::Url::parse(&url).expect("url"), azure_core::Method::Get);
            if let Some(t) = token {
                req.insert_header("authorization", format!("Bearer {t}"));
            }
            let resp = http.execute_request(&req).await.expect("request");
            let status = u16::from(resp.status());
            let body: serde_json::Value =
                serde_json::from_slice(&resp.into_body().collect().await.expect("body")).expect("json");
            (status, body)
        }
    };
    let (s, b) = get(format!("{base}?api-version=2024-07-01"), None).await;
    assert_eq!(s, 401);
    assert!(b["error"]["code"].is_string());
    let (s, b) = get(format!("{base}?api-version=2024-07-01"), Some("not-issued".into())).await;
    assert_eq!((s, b["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")));
    let (s, b) = get(base.clone(), Some(h.token().into())).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("MissingApiVersionParameter")));
    // IMDS-style token: string numbers, and the token it issues is accepted.
    let mut req = azure_core::Request::new(
        azure_core::Url::parse(&format!(
            "{}?api-version=2018-02-01&resource=https://management.azure.com/",
            h.token_url()
        ))
        .expect("url"),
        azure_core::Method::Get,
    );
    req.insert_header("metadata", "true");
    let resp = http.execute_request(&req).await.expect("imds");
    assert_eq!(u16::from(resp.status()), 200);
    let tok: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.expect("body")).expect("json");
    assert!(tok["expires_in"].is_string() && tok["expires_on"].is_string() && tok["not_before"].is_string());
    let (s, b) = get(format!("{base}?api-version=2024-07-01"), tok["access_token"].as_str().map(String::from)).await;
    assert_eq!(s, 200, "{b}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_eviction_plays_the_event_sequence() {
    let h = sim(quiet_default()).await;
    let client = h.kube_client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "robot-shop");
    // A web pod on a node whose pool deletes evicted VMs (spotcompute deallocates instead).
    let victim_pod = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("list")
        .items
        .into_iter()
        .find(|p| {
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()).is_some_and(|n| {
                h.world().eviction_policy_of(n) == aks_spot_test::sim::scenario::EvictionPolicy::Delete
            })
        })
        .expect("a web pod on a Delete-policy pool");
    let node = victim_pod.spec.as_ref().and_then(|s| s.node_name.clone()).expect("bound");
    let on_node_before: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()))
        .filter_map(|p| p.metadata.name)
        .collect();
    let (vmss, _) = h.world().vm_of_node(&node).expect("vm behind the node");
    h.evict_node(&node);
    // Node removal takes notice (0.2 s) + removal (0.2 s) in this scenario; 20 s is generous.
    let nodes: Api<Node> = Api::all(client.clone());
    let mut gone = false;
    for _ in 0..200 {
        if nodes.get_opt(&node).await.expect("get node").is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "node {node} removed after its VM was deleted");
    assert!(h.wait_settled(Duration::from_secs(20)).await);

    let events: Api<Event> = Api::all(client.clone());
    let all = events.list(&ListParams::default()).await.expect("events").items;
    let node_events: Vec<(String, String)> = all
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("Node")
                && e.involved_object.name.as_deref() == Some(node.as_str())
        })
        .map(|e| {
            (
                e.reason.clone().unwrap_or_default(),
                e.source.as_ref().and_then(|s| s.component.clone()).unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("PreemptScheduled", "node-problem-detector"),
        ("NodeNotReady", "node-controller"),
        ("DeletingNode", "cloud-node-lifecycle-controller"),
        ("RemovingNode", "node-controller"),
    ];
    let got: Vec<(&str, &str)> = node_events.iter().map(|(r, c)| (r.as_str(), c.as_str())).collect();
    assert_eq!(got, expected, "node events in order");
    for p in &on_node_before {
        let reasons: Vec<(String, String)> = all
            .iter()
            .filter(|e| {
                e.involved_object.name.as_deref() == Some(p.as_str())
                    && e.involved_object.kind.as_deref() == Some("Pod")
            })
            .map(|e| (e.reason.clone().unwrap_or_default(), e.type_.clone().unwrap_or_default()))
            .collect();
        assert!(reasons.contains(&("NodeNotReady".into(), "Warning".into())), "{p}: {reasons:?}");
        assert!(reasons.contains(&("TaintManagerEviction".into(), "Normal".into())), "{p}: {reasons:?}");
    }
    let after = pods.list(&ListParams::default()).await.expect("list").items;
    assert_eq!(after.len(), 12);
    for p in &after {
        assert_ne!(p.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some(node.as_str()));
        assert!(!on_node_before.contains(p.metadata.name.as_ref().expect("name")));
    }
    let c = compute_client(&h);
    let names: Vec<String> = list_vms(&h, &c, &vmss)
        .await
        .iter()
        .filter_map(|v| v["properties"]["osProfile"]["computerName"].as_str().map(String::from))
        .collect();
    assert!(!names.contains(&node), "the VM is gone from {vmss}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_policy_keeps_the_node_not_ready_and_tainted() {
    let h = sim(quiet_default()).await;
    let node = h.world().pick_node(Some("spotcompute"), None).expect("a spotcompute node");
    h.inject(&Fault::Evict { pool: None, node: Some(node.clone()), count: 1 });
    let mut tainted = false;
    for _ in 0..100 {
        let n = h.store().get(ResourceKind::Node, "", &node).expect("node stays");
        if n["spec"]["taints"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["key"] == "node.cloudprovider.kubernetes.io/shutdown"))
        {
            tainted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(tainted, "deallocated node gets the shutdown taint");
    let n = h.store().get(ResourceKind::Node, "", &node).expect("node stays");
    assert!(!aks_spot_test::sim::world::node_ready(&n));
    let (vmss, id) = h.world().vm_of_node(&node).expect("vm stays");
    assert_eq!(h.world().cloud().scale_sets[&vmss].vms[&id].power_state, "deallocated");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_scenario_starts_fast_and_lists_150k_pods() {
    let h = sim(Scenario::builtin("large").expect("large")).await;
    println!("large scenario (5,000 nodes, 150,000 pods) started in {:.2?}", h.startup);
    let client = h.kube_client().await;
    let pods: Api<Pod> = Api::all(client.clone());
    let mut lp = ListParams::default().limit(500);
    let mut total = 0usize;
    let began = std::time::Instant::now();
    loop {
        // Metadata only: decoding 150,000 full Pods in a debug build costs minutes on the client side.
        let page = pods.list_metadata(&lp).await.expect("page");
        total += page.items.len();
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    println!("paginated list of {total} pods took {:.2?}", began.elapsed());
    assert_eq!(total, 150_000);
    let nodes: Api<Node> = Api::all(client);
    assert_eq!(nodes.list(&ListParams::default()).await.expect("nodes").items.len(), 5_000);
    // 1,000 VMs in one scale set come back over two ARM pages joined by nextLink.
    let c = compute_client(&h);
    let vms = list_vms(&h, &c, &h.world().vmss_name("spotgeneral1")).await;
    assert_eq!(vms.len(), 1_000);
    let ids: BTreeSet<&str> = vms.iter().filter_map(|v| v["instanceId"].as_str()).collect();
    assert_eq!(ids.len(), 1_000, "no VM twice across pages");
    assert!(h.log().records().iter().any(|r| r.endpoint == "arm" && r.path.contains("skiptoken")));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_endpoint_serves_kube_rs_and_kubectl_through_the_written_kubeconfig() {
    let h = aks_spot_test::sim::testing::start_tls(SimOptions::new(quiet_default())).await.expect("starts");
    assert!(h.kube_url().starts_with("https://"));
    let nodes: Api<Node> = Api::all(h.kube_client().await);
    assert_eq!(nodes.list(&ListParams::default()).await.expect("list over https").items.len(), 18);
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    let env = h.write_connection_files(&kc).expect("write");
    let env_text = std::fs::read_to_string(&env).expect("env file");
    assert!(env_text.contains(&format!("AZURE_ARM_ENDPOINT={}", h.arm_url())), "{env_text}");
    assert!(env_text.contains(&format!("AZURE_SUBSCRIPTION_ID={}", h.subscription_id())), "{env_text}");
    // The written kubeconfig works for kube-rs as a user would load it.
    let parsed = kube::config::Kubeconfig::read_from(&kc).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(parsed, &kube::config::KubeConfigOptions::default())
        .await
        .expect("config from kubeconfig");
    let from_file: Api<Node> = Api::all(kube::Client::try_from(config).expect("client"));
    assert_eq!(from_file.list(&ListParams::default()).await.expect("list").items.len(), 18);
    // And for kubectl, which sends the token only over https (kubernetes/kubectl#744).
    let out = tokio::process::Command::new("kubectl")
        .args(["get", "nodes", "-o", "name"])
        .env("KUBECONFIG", &kc)
        .output()
        .await
        .expect("kubectl runs (installed at /usr/bin/kubectl here)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 18);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_scenario_has_a_ghost_and_a_stuck_node_visible_through_arm() {
    let mut s = Scenario::builtin("default").expect("default");
    // Keep the initial faults, drop the timed evictions.
    s.timeline.retain(|e| e.at_seconds <= 0.0);
    let h = sim(s).await;
    let c = compute_client(&h);
    let mut ghosts = vec![];
    let mut deallocated = vec![];
    for pool in ["spotgeneral1", "spotcompute"] {
        for vm in list_vms(&h, &c, &h.world().vmss_name(pool)).await {
            let props = &vm["properties"];
            let codes: Vec<String> = props["instanceView"]["statuses"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s["code"].as_str().map(String::from)).collect())
                .unwrap_or_default();
            let name = props["osProfile"]["computerName"].as_str().unwrap_or_default().to_string();
            if props["provisioningState"] == "Failed" {
                let created: jiff::Timestamp =
                    props["timeCreated"].as_str().expect("timeCreated").parse().expect("rfc3339");
                let age = jiff::Timestamp::now().duration_since(created).as_secs();
                ghosts.push((name.clone(), age, codes.clone()));
            }
            if codes.iter().any(|c| c == "PowerState/deallocated") {
                deallocated.push(name);
            }
        }
    }
    assert_eq!(ghosts.len(), 1, "{ghosts:?}");
    assert!(ghosts[0].1 >= 45 * 60, "ghost created 45 minutes ago: {ghosts:?}");
    assert!(ghosts[0].2.contains(&"ProvisioningState/failed".to_string()));
    assert!(h.store().get(ResourceKind::Node, "", &ghosts[0].0).is_none(), "a ghost has no node");
    assert_eq!(deallocated.len(), 1);
    let stuck = h.store().get(ResourceKind::Node, "", &deallocated[0]).expect("stuck node exists");
    assert!(!aks_spot_test::sim::world::node_ready(&stuck));
    let since: jiff::Timestamp = stuck["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["lastTransitionTime"].as_str())
        .expect("Ready transition")
        .parse()
        .expect("rfc3339");
    assert!(jiff::Timestamp::now().duration_since(since).as_secs() >= 10 * 60);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_applies_faults_at_their_time() {
    let mut s = quiet_default();
    let extra = r#"
- {at_seconds: 0.2, fault: unregistered_vm, pool: spotgeneral1, age_minutes: 30}
- {at_seconds: 0.2, fault: arm429, count: 1, retry_after_seconds: 1}
- {at_seconds: 0.2, fault: node_not_ready, pool: stdworkload, since_minutes: 12}
"#;
    s.timeline = serde_yaml_ng::from_str(extra).expect("timeline yaml");
    let h = sim(s).await;
    let vmss = h.world().vmss_name("spotgeneral1");
    // Poll the in-memory world for up to 5 s; the faults are due after 0.2 s.
    let mut applied = false;
    for _ in 0..50 {
        if h.world().cloud().scale_sets[&vmss].vms.len() == 5 {
            applied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(applied, "the unregistered VM was added");
    let c = compute_client(&h);
    // The first ARM request meets the injected 429; azure_core's retry gets through.
    let vms = list_vms(&h, &c, &vmss).await;
    assert_eq!(vms.len(), 5);
    let statuses: Vec<u16> = h
        .log()
        .records()
        .iter()
        .filter(|r| r.endpoint == "arm" && r.path.starts_with("/subscriptions"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.first(), Some(&429), "{statuses:?}");
    let names: BTreeSet<String> =
        vms.iter().filter_map(|v| v["properties"]["osProfile"]["computerName"].as_str().map(String::from)).collect();
    let registered = names.iter().filter(|n| h.store().get(ResourceKind::Node, "", n).is_some()).count();
    assert_eq!(registered, 4, "one VM never registered as a node");
    let not_ready = h
        .store()
        .list(ResourceKind::Node, None, None, None, |n| !aks_spot_test::sim::world::node_ready(n))
        .expect("list")
        .items
        .len();
    assert_eq!(not_ready, 1, "one stdworkload node went NotReady");
    h.shutdown().await;
}
