//! The simulated Kubernetes API server over real HTTP: kubectl subprocesses and a kube-rs client.
//! Every test starts its own server on 127.0.0.1:0 with a hand-seeded store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use aks_spot_test::sim::kube_api::{KubeApiState, KubeFaults, router};
use aks_spot_test::sim::request_log::RequestLog;
use aks_spot_test::sim::store::{ResourceKind, Store};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const TOKEN: &str = "sim-token-1234";
/// Bound on every wait in these tests, so a broken server fails a test instead of hanging it.
const WAIT: Duration = Duration::from_secs(60);

struct Sim {
    addr: std::net::SocketAddr,
    store: Arc<Store>,
    faults: KubeFaults,
    log: RequestLog,
    dir: tempfile::TempDir,
}

impl Sim {
    async fn start() -> Sim {
        let store = Arc::new(Store::default());
        let faults = KubeFaults::default();
        let log = RequestLog::default();
        let state =
            KubeApiState { store: store.clone(), token: TOKEN.into(), faults: faults.clone(), log: log.clone() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, router(state)).await });
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: sim\n  user:\n    token: {TOKEN}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n\
             current-context: sim\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("write kubeconfig");
        Sim { addr, store, faults, log, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    async fn config(&self) -> kube::Config {
        let kc = Kubeconfig::read_from(self.kubeconfig()).expect("read kubeconfig");
        kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.expect("config")
    }

    async fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config().await).expect("client")
    }

    /// kube retries 429 by itself (15 times, minutes in all): an eviction refusal must reach the test.
    async fn client_without_retry(&self) -> kube::Client {
        let mut config = self.config().await;
        config.default_retry = false;
        kube::Client::try_from(config).expect("client")
    }

    fn kubectl(&self, kubectl: &Path, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(kubectl);
        cmd.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn kubectl_ok(&self, kubectl: &Path, args: &[&str]) -> String {
        let out = tokio::time::timeout(WAIT, self.kubectl(kubectl, args).output())
            .await
            .expect("kubectl finished in time")
            .expect("kubectl ran");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Waits until the request log shows a request matching `pred`.
    async fn until_request(&self, pred: impl Fn(&str, &str) -> bool) {
        tokio::time::timeout(WAIT, async {
            while !self.log.records().iter().any(|r| pred(&r.method, &r.path)) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("request seen in time");
    }
}

fn kubectl_path() -> Option<PathBuf> {
    let p = std::env::var_os("KUBECTL").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/kubectl"));
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: kubectl not found at {} (set KUBECTL)", p.display());
        None
    }
}

fn node(name: &str, spot: bool, ready: bool) -> Value {
    let priority = if spot { "spot" } else { "regular" };
    json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.azure.com/scalesetpriority": priority, "kubernetes.io/role": "agent",
            "topology.kubernetes.io/zone": "eastus-1"}},
        "spec": {"providerID": format!("azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/{name}")},
        "status": {
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": "10.224.0.4"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.33.2", "osImage": "Ubuntu 22.04.5 LTS", "kernelVersion": "5.15.0-1089-azure",
                         "containerRuntimeVersion": "containerd://1.7.27-1", "architecture": "amd64", "operatingSystem": "linux",
                         "bootID": "", "kubeProxyVersion": "", "machineID": "", "systemUUID": ""}
        }
    })
}

fn pod(ns: &str, name: &str, node: &str, ready: bool) -> Value {
    let t = if ready { "True" } else { "False" };
    json!({
        "metadata": {"namespace": ns, "name": name, "labels": {"app": name.split('-').next().unwrap_or(name)}},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "nginx"}]},
        "status": {
            "phase": "Running", "podIP": "10.244.0.9",
            "conditions": [{"type": "Ready", "status": t}, {"type": "ContainersReady", "status": t}],
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": 0, "image": "nginx", "imageID": "",
                                   "started": ready, "state": {"running": {}}}]
        }
    })
}

fn seed_cluster(store: &Store) {
    for ns in ["default", "robot-shop", "kube-system"] {
        store.create(ResourceKind::Namespace, json!({"metadata": {"name": ns}})).expect("namespace");
    }
    store.create(ResourceKind::Node, node("aks-system-0", false, true)).expect("node");
    store.create(ResourceKind::Node, node("aks-spot-0", true, true)).expect("node");
    store.create(ResourceKind::Node, node("aks-spot-1", true, false)).expect("node");
    for (i, n) in ["cart", "web", "ratings"].iter().enumerate() {
        let node = if i % 2 == 0 { "aks-spot-0" } else { "aks-system-0" };
        store.create(ResourceKind::Pod, pod("robot-shop", &format!("{n}-0"), node, true)).expect("pod");
    }
    store.create(ResourceKind::Pod, pod("kube-system", "coredns-0", "aks-system-0", true)).expect("pod");
}

/// A minimal HTTP/1.1 GET with `Connection: close`: status and body.
async fn raw_get(addr: std::net::SocketAddr, path: &str, token: Option<&str>, accept: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Accept: {accept}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = String::new();
    tokio::time::timeout(WAIT, s.read_to_string(&mut buf)).await.expect("read in time").expect("read");
    let status = buf.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("status line");
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_gets_nodes_wide_pods_json_and_spot_jsonpath() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    // kubectl sends no token over plain http (client-go applies credentials only with TLS).
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);

    let wide = sim.kubectl_ok(&kubectl, &["get", "nodes", "-o", "wide"]).await;
    let header: Vec<&str> = wide.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
        .iter()
        .flat_map(|h| h.split_whitespace())
        .collect::<Vec<_>>()
    );
    assert!(
        wide.lines().any(|l| l.starts_with("aks-spot-1") && l.contains("NotReady") && l.contains("10.224.0.4")),
        "{wide}"
    );
    assert_eq!(wide.lines().count(), 4, "{wide}");

    let pods: Value = serde_json::from_str(&sim.kubectl_ok(&kubectl, &["get", "pods", "-A", "-o", "json"]).await)
        .expect("kubectl -o json is JSON");
    let mut names: Vec<&str> =
        pods["items"].as_array().expect("items").iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["cart-0", "coredns-0", "ratings-0", "web-0"]);

    let spot = sim
        .kubectl_ok(
            &kubectl,
            &[
                "get",
                "nodes",
                "-l",
                "kubernetes.azure.com/scalesetpriority=spot",
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ],
        )
        .await;
    assert_eq!(spot.trim(), "aks-spot-0 aks-spot-1");

    let table = sim.kubectl_ok(&kubectl, &["get", "pods", "-n", "robot-shop"]).await;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("web-0") && l.contains("1/1") && l.contains("Running")), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_cordon_uncordon_and_delete_pod() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    // kubectl sends no token over plain http (client-go applies credentials only with TLS).
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);
    let unschedulable = |s: &Store| {
        s.get(ResourceKind::Node, "", "aks-spot-0")
            .and_then(|n| n.pointer("/spec/unschedulable").and_then(Value::as_bool))
    };

    sim.kubectl_ok(&kubectl, &["cordon", "aks-spot-0"]).await;
    assert_eq!(unschedulable(&sim.store), Some(true));
    let nodes = sim.kubectl_ok(&kubectl, &["get", "nodes"]).await;
    assert!(nodes.lines().any(|l| l.starts_with("aks-spot-0") && l.contains("Ready,SchedulingDisabled")), "{nodes}");
    sim.kubectl_ok(&kubectl, &["uncordon", "aks-spot-0"]).await;
    assert_eq!(unschedulable(&sim.store), None);
    assert!(sim.log.mutating().iter().all(|r| r.method == "PATCH" && r.status == 200), "{:?}", sim.log.mutating());

    let out = sim.kubectl_ok(&kubectl, &["delete", "pod", "web-0", "-n", "robot-shop", "--timeout=30s"]).await;
    assert!(out.contains("pod \"web-0\" deleted"), "{out}");
    assert!(sim.store.get(ResourceKind::Pod, "robot-shop", "web-0").is_none());
    let missing = sim.kubectl(&kubectl, &["get", "pod", "web-0", "-n", "robot-shop"]).output().await.expect("ran");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pods \"web-0\" not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_wait_sees_a_pod_become_ready() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    // kubectl sends no token over plain http (client-go applies credentials only with TLS).
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);
    sim.store.create(ResourceKind::Pod, pod("robot-shop", "payment-0", "aks-spot-0", false)).expect("pod");

    let waiter = sim
        .kubectl(&kubectl, &["wait", "--for=condition=Ready", "pods", "--all", "-n", "robot-shop", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl wait");
    // Flip the pod only once kubectl is watching it, so the test proves the watch path.
    sim.until_request(|m, p| m == "GET" && p.contains("watch=true") && p.contains("payment-0")).await;
    assert!(sim.log.records().iter().all(|r| r.status < 400 || r.path.contains("openapi")), "{:?}", sim.log.records());
    sim.store
        .mutate(ResourceKind::Pod, "robot-shop", "payment-0", |p| {
            p["status"] = pod("robot-shop", "payment-0", "aks-spot-0", true)["status"].clone();
            Ok(())
        })
        .expect("make ready");
    let out = tokio::time::timeout(WAIT, waiter.wait_with_output()).await.expect("wait finished").expect("ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("condition met").count(), 4, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_watches_events_as_they_are_created() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    // kubectl sends no token over plain http (client-go applies credentials only with TLS).
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);
    let event = |name: &str, reason: &str, msg: &str| {
        json!({"metadata": {"namespace": "default", "name": name}, "type": "Warning", "reason": reason, "message": msg,
               "involvedObject": {"kind": "Node", "name": "aks-spot-0"}, "source": {"component": "sim"},
               "lastTimestamp": jiff::Timestamp::now().to_string(), "count": 1})
    };
    sim.store.create(ResourceKind::Event, event("before", "Seeded", "was here first")).expect("event");

    let mut child = sim
        .kubectl(&kubectl, &["get", "events", "-A", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kubectl get events --watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    sim.until_request(|m, p| m == "GET" && p.contains("watch=true")).await;
    sim.store.create(ResourceKind::Event, event("e1", "SpotEviction", "node is being preempted")).expect("event");
    sim.store.create(ResourceKind::Event, event("e2", "NodeNotReady", "node went away")).expect("event");

    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            seen.push(line);
            if seen.iter().any(|l| l.contains("NodeNotReady")) {
                break;
            }
        }
    })
    .await
    .expect("events printed in time");
    child.kill().await.expect("kill kubectl");
    let all = seen.join("\n");
    assert!(seen.first().is_some_and(|l| l.starts_with("NAMESPACE")), "{all}");
    for want in ["Seeded", "SpotEviction", "node is being preempted", "NodeNotReady", "node/aks-spot-0"] {
        assert!(all.contains(want), "{want} missing from:\n{all}");
    }
}

#[tokio::test]
async fn errors_are_metav1_status_with_codes() {
    let sim = Sim::start().await;
    seed_cluster(&sim.store);
    let (code, body) = raw_get(sim.addr, "/api/v1/nodes", None, "application/json").await;
    assert_eq!(code, 401);
    let status: Value = serde_json::from_str(&body).expect("json");
    assert_eq!((status["kind"].as_str(), status["reason"].as_str()), (Some("Status"), Some("Unauthorized")));
    assert_eq!(raw_get(sim.addr, "/api/v1/nodes", Some("wrong"), "application/json").await.0, 401);
    assert_eq!(raw_get(sim.addr, "/version", None, "application/json").await.0, 200);

    let (code, body) =
        raw_get(sim.addr, "/api/v1/namespaces/robot-shop/pods/nope", Some(TOKEN), "application/json").await;
    assert_eq!(code, 404);
    assert!(body.contains("pods \\\"nope\\\" not found"), "{body}");
    assert_eq!(raw_get(sim.addr, "/openapi/v2", Some(TOKEN), "application/json").await.0, 404);
    let (code, body) =
        raw_get(sim.addr, "/api/v1/pods?labelSelector=app+in+cart", Some(TOKEN), "application/json").await;
    assert_eq!(code, 400, "{body}");

    sim.faults.set_down(true);
    let (code, body) = raw_get(sim.addr, "/api/v1/nodes", Some(TOKEN), "application/json").await;
    assert_eq!(code, 503);
    assert!(body.contains("ServiceUnavailable"));
    sim.faults.set_down(false);
    assert_eq!(raw_get(sim.addr, "/api/v1/nodes", Some(TOKEN), "application/json").await.0, 200);

    sim.faults.fail_next_lists(1);
    assert_eq!(raw_get(sim.addr, "/api/v1/pods", Some(TOKEN), "application/json").await.0, 500);
    assert_eq!(raw_get(sim.addr, "/api/v1/pods", Some(TOKEN), "application/json").await.0, 200);

    let codes: Vec<u16> = sim.log.records().iter().filter(|r| r.endpoint == "kube").map(|r| r.status).collect();
    assert_eq!(codes, [401, 401, 200, 404, 404, 400, 503, 200, 500, 200]);
}

#[tokio::test]
async fn discovery_and_tables_read_like_a_real_server() {
    let sim = Sim::start().await;
    seed_cluster(&sim.store);
    let get = |p: &'static str| raw_get(sim.addr, p, Some(TOKEN), "application/json");
    let (_, api) = get("/api").await;
    let api: Value = serde_json::from_str(&api).expect("json");
    assert_eq!(api["kind"], "APIVersions");
    let (_, groups) = get("/apis").await;
    let groups: Value = serde_json::from_str(&groups).expect("json");
    assert_eq!(groups["kind"], "APIGroupList");
    let (_, policy) = get("/apis/policy/v1").await;
    let policy: Value = serde_json::from_str(&policy).expect("json");
    assert_eq!(policy["kind"], "APIResourceList");
    assert_eq!(policy["resources"][0]["shortNames"], json!(["pdb"]));

    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (code, body) = raw_get(sim.addr, "/api/v1/nodes?limit=2", Some(TOKEN), accept).await;
    assert_eq!(code, 200);
    let t: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["rows"].as_array().map(Vec::len), Some(2));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(t["metadata"]["remainingItemCount"], 1);
    assert!(t["metadata"]["continue"].is_string());

    // A watch that allows bookmarks ends with one at its timeout.
    let (code, body) = raw_get(
        sim.addr,
        "/api/v1/nodes?watch=1&timeoutSeconds=1&allowWatchBookmarks=true",
        Some(TOKEN),
        "application/json",
    )
    .await;
    assert_eq!(code, 200);
    let types: Vec<String> = body
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["type"].as_str().map(str::to_string))
        .collect();
    assert_eq!(types, ["ADDED", "ADDED", "ADDED", "BOOKMARK"], "{body}");
}

#[tokio::test]
async fn kube_rs_lists_pages_and_hits_conflicts() {
    let sim = Sim::start().await;
    seed_cluster(&sim.store);
    for i in 0..23 {
        sim.store.create(ResourceKind::Pod, pod("default", &format!("batch-{i:02}"), "aks-spot-0", true)).expect("pod");
    }
    let client = sim.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");

    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(5);
    loop {
        let page = pods.list(&lp).await.expect("list page");
        assert!(page.items.len() <= 5);
        names.extend(page.items.iter().filter_map(|p| p.metadata.name.clone()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = lp.continue_token(&c),
            None => break,
        }
    }
    assert_eq!(names.len(), 23);
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 23);
    let first = pods.list(&ListParams::default().limit(5)).await.expect("list");
    assert_eq!(first.metadata.remaining_item_count, Some(18));

    let all: Api<Pod> = Api::all(client.clone());
    let on_spot = all.list(&ListParams::default().fields("spec.nodeName=aks-spot-0,status.phase=Running")).await;
    assert_eq!(on_spot.expect("field selector").items.len(), 25);
    let carts = all.list(&ListParams::default().labels("app in (cart,web),app!=web")).await.expect("labels");
    assert_eq!(carts.items.len(), 1);

    let existing = pods.get("batch-00").await.expect("get");
    let again = pods
        .create(&PostParams::default(), &serde_json::from_value(pod("default", "batch-00", "n", true)).expect("pod"))
        .await;
    match again {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let generated: Pod =
        serde_json::from_value(json!({"metadata": {"generateName": "gen-"}, "spec": {"containers": []}})).expect("pod");
    let made = pods.create(&PostParams::default(), &generated).await.expect("generateName");
    assert!(made.metadata.name.as_deref().is_some_and(|n| n.starts_with("gen-") && n.len() > 4));

    let mut changed = existing.clone();
    changed.metadata.labels.get_or_insert_default().insert("touched".into(), "yes".into());
    let replaced = pods.replace("batch-00", &PostParams::default(), &changed).await.expect("replace");
    assert_ne!(replaced.metadata.resource_version, existing.metadata.resource_version);
    match pods.replace("batch-00", &PostParams::default(), &changed).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("expected Conflict, got {other:?}"),
    }

    let nodes: Api<Node> = Api::all(client.clone());
    nodes.cordon("aks-spot-1").await.expect("cordon");
    let patched = nodes
        .patch(
            "aks-spot-1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"drained": "true"}}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.spec.and_then(|s| s.unschedulable), Some(true));
    assert_eq!(patched.metadata.labels.and_then(|l| l.get("drained").cloned()).as_deref(), Some("true"));
    // Status goes through /status only.
    let status_patch =
        json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}});
    let ignored =
        nodes.patch("aks-spot-1", &PatchParams::default(), &Patch::Merge(&status_patch)).await.expect("patch");
    assert_eq!(ignored.status.and_then(|s| s.conditions).map(|c| c[0].status.clone()).as_deref(), Some("False"));
    let ready = nodes
        .patch_status("aks-spot-1", &PatchParams::default(), &Patch::Strategic(&status_patch))
        .await
        .expect("status");
    assert_eq!(ready.status.and_then(|s| s.conditions).map(|c| c[0].status.clone()).as_deref(), Some("True"));

    let stale = DeleteParams {
        preconditions: Some(kube::api::Preconditions { resource_version: Some("1".into()), uid: None }),
        ..DeleteParams::default()
    };
    match pods.delete("batch-01", &stale).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("expected a failed precondition, got {other:?}"),
    }
    let deleted = pods.delete("batch-01", &DeleteParams::default()).await.expect("delete");
    assert!(deleted.left().is_some_and(|p| p.metadata.name.as_deref() == Some("batch-01")));
    match pods.delete("batch-01", &DeleteParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (404, "NotFound")),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let gone = pods
        .delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=batch"))
        .await
        .expect("delete collection");
    assert_eq!(gone.left().map(|l| l.items.len()), Some(22));
    assert_eq!(sim.store.count(ResourceKind::Pod), 4 + 1);
}

#[tokio::test]
async fn eviction_respects_disruption_budgets() {
    let sim = Sim::start().await;
    seed_cluster(&sim.store);
    let pdb = |name: &str, app: &str, allowed: i64| {
        json!({"metadata": {"namespace": "robot-shop", "name": name},
               "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}},
               "status": {"disruptionsAllowed": allowed, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}})
    };
    sim.store.create(ResourceKind::PodDisruptionBudget, pdb("cart-pdb", "cart", 0)).expect("pdb");
    sim.store.create(ResourceKind::PodDisruptionBudget, pdb("web-pdb", "web", 1)).expect("pdb");
    let pods: Api<Pod> = Api::namespaced(sim.client_without_retry().await, "robot-shop");

    match pods.evict("cart-0", &EvictParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (429, "TooManyRequests"));
            assert!(s.message.contains("disruption budget"), "{}", s.message);
            let cause = s.details.and_then(|d| d.causes.into_iter().next());
            assert_eq!(
                cause.map(|c| (c.reason, c.message)),
                Some((
                    "DisruptionBudget".to_string(),
                    "The disruption budget cart-pdb needs 1 healthy pods and has 1 currently".to_string()
                ))
            );
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(sim.store.get(ResourceKind::Pod, "robot-shop", "cart-0").is_some());

    pods.evict("web-0", &EvictParams::default()).await.expect("evict within budget");
    assert!(sim.store.get(ResourceKind::Pod, "robot-shop", "web-0").is_none());
    let budget = sim.store.get(ResourceKind::PodDisruptionBudget, "robot-shop", "web-pdb").expect("pdb");
    assert_eq!(budget["status"]["disruptionsAllowed"], 0);

    pods.evict("ratings-0", &EvictParams::default()).await.expect("no budget, no limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_sees_every_object_through_drops_and_gone() {
    let sim = Sim::start().await;
    seed_cluster(&sim.store);
    let pods: Api<Pod> = Api::namespaced(sim.client().await, "default");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stream = watcher(pods, watcher::Config::default()).boxed();
    let watch_task = tokio::spawn(async move {
        // Errors (the injected 410) are expected: the watcher re-lists by itself, so keep polling.
        while let Some(ev) = stream.next().await {
            if tx.send(ev.map_err(|e| e.to_string())).is_err() {
                break;
            }
        }
    });

    let mut applied: Vec<(String, String)> = Vec::new();
    let mut listed: HashSet<String> = HashSet::new();
    let mut inits = 0;
    let mut errors = Vec::new();
    let mut created = Vec::new();
    let mut await_names =
        async |want: &[String], rx: &mut tokio::sync::mpsc::UnboundedReceiver<Result<watcher::Event<Pod>, String>>| {
            tokio::time::timeout(WAIT, async {
                loop {
                    let seen: HashSet<&String> = applied.iter().map(|(n, _)| n).chain(listed.iter()).collect();
                    if want.iter().all(|w| seen.contains(w)) {
                        break;
                    }
                    match rx.recv().await.expect("watcher alive") {
                        Ok(watcher::Event::Init) => inits += 1,
                        Ok(watcher::Event::InitApply(p)) => {
                            listed.insert(p.metadata.name.unwrap_or_default());
                        }
                        Ok(watcher::Event::Apply(p)) => applied.push((
                            p.metadata.name.unwrap_or_default(),
                            p.metadata.resource_version.unwrap_or_default(),
                        )),
                        Ok(_) => {}
                        Err(e) => errors.push(e),
                    }
                }
            })
            .await
            .expect("watcher saw the objects in time");
        };

    let batch = |from: usize, sim: &Sim, created: &mut Vec<String>| {
        for i in from..from + 5 {
            let name = format!("w-{i:02}");
            sim.store.create(ResourceKind::Pod, pod("default", &name, "aks-spot-0", true)).expect("pod");
            created.push(name);
        }
    };
    batch(0, &sim, &mut created);
    await_names(&created, &mut rx).await;

    sim.until_request(|m, p| m == "GET" && p.contains("watch=true")).await;
    sim.faults.drop_watches();
    batch(5, &sim, &mut created);
    await_names(&created, &mut rx).await;

    sim.faults.gone_next_watches(1);
    sim.faults.drop_watches();
    batch(10, &sim, &mut created);
    await_names(&created, &mut rx).await;
    watch_task.abort();

    let unique: HashSet<&(String, String)> = applied.iter().collect();
    assert_eq!(unique.len(), applied.len(), "a change was delivered twice: {applied:?}");
    let mut seen: HashSet<String> = listed.clone();
    seen.extend(applied.iter().map(|(n, _)| n.clone()));
    assert!(created.iter().all(|c| seen.contains(c)));
    assert!(inits >= 2, "the 410 should force a re-list (inits {inits}, errors {errors:?})");
    assert!(errors.iter().any(|e| e.contains("410") || e.to_lowercase().contains("expired")), "{errors:?}");
    let watches = sim.log.records().iter().filter(|r| r.path.contains("watch=true")).count();
    assert!(watches >= 3, "{watches}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_drain_evicts_through_the_budget() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);
    // kubectl drain only evicts pods a controller owns.
    for name in ["cart-0", "ratings-0"] {
        sim.store
            .mutate(ResourceKind::Pod, "robot-shop", name, |p| {
                p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "rs", "uid": "00000000-0000-4000-8000-00000000ffff", "controller": true}]);
                Ok(())
            })
            .expect("own pod");
    }
    sim.store
        .create(
            ResourceKind::PodDisruptionBudget,
            json!({"metadata": {"namespace": "robot-shop", "name": "cart-pdb"},
                   "spec": {"selector": {"matchLabels": {"app": "cart"}}}, "status": {"disruptionsAllowed": 1}}),
        )
        .expect("pdb");

    let out = sim.kubectl_ok(&kubectl, &["drain", "aks-spot-0", "--ignore-daemonsets", "--timeout=30s"]).await;
    assert!(out.contains("pod/cart-0 evicted") && out.contains("node/aks-spot-0 drained"), "{out}");
    assert!(sim.store.get(ResourceKind::Pod, "robot-shop", "cart-0").is_none());
    assert!(sim.store.get(ResourceKind::Pod, "robot-shop", "ratings-0").is_none());
    let pdb = sim.store.get(ResourceKind::PodDisruptionBudget, "robot-shop", "cart-pdb").expect("pdb");
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    let evictions = sim.log.records().iter().filter(|r| r.path.ends_with("/eviction") && r.status == 201).count();
    assert_eq!(evictions, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_what_the_spot_suites_run() {
    let Some(kubectl) = kubectl_path() else { return };
    let sim = Sim::start().await;
    sim.faults.set_anonymous(true);
    seed_cluster(&sim.store);
    sim.store
        .create(
            ResourceKind::PodDisruptionBudget,
            json!({"metadata": {"namespace": "robot-shop", "name": "web-pdb"},
                   "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
                   "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}}),
        )
        .expect("pdb");
    let annotation = |s: &Store| {
        s.get(ResourceKind::Node, "", "aks-spot-0")
            .and_then(|n| n.pointer("/metadata/annotations/aks-spot-test.io~1cordoned-by").cloned())
    };

    sim.kubectl_ok(&kubectl, &["annotate", "node", "aks-spot-0", "aks-spot-test.io/cordoned-by=EDGE-006"]).await;
    assert_eq!(annotation(&sim.store), Some(json!("EDGE-006")));
    sim.kubectl_ok(&kubectl, &["annotate", "node", "aks-spot-0", "aks-spot-test.io/cordoned-by-"]).await;
    assert_eq!(annotation(&sim.store), None);

    let labelled = sim
        .kubectl_ok(
            &kubectl,
            &["get", "nodes", "-L", "topology.kubernetes.io/zone,kubernetes.azure.com/scalesetpriority"],
        )
        .await;
    let header: Vec<&str> = labelled.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "ZONE", "SCALESETPRIORITY"]);
    assert!(labelled.lines().any(|l| l.starts_with("aks-spot-0") && l.ends_with("eastus-1   spot")), "{labelled}");

    let columns = sim
        .kubectl_ok(
            &kubectl,
            &["get", "nodes", "-o", "custom-columns=NAME:.metadata.name,UNSCHEDULABLE:.spec.unschedulable"],
        )
        .await;
    assert!(columns.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["aks-spot-0", "<none>"]), "{columns}");

    let pdbs = sim.kubectl_ok(&kubectl, &["get", "pdb", "-n", "robot-shop", "-o", "wide"]).await;
    let rows: Vec<Vec<&str>> = pdbs.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]);
    assert_eq!(rows[1][..4], ["web-pdb", "1", "N/A", "0"]);

    let no_headers = sim.kubectl_ok(&kubectl, &["get", "pods", "-n", "robot-shop", "--no-headers"]).await;
    assert_eq!(no_headers.lines().filter(|l| l.contains(" Running ")).count(), 3, "{no_headers}");

    let waiter = sim
        .kubectl(&kubectl, &["wait", "--for=delete", "pod/cart-0", "-n", "robot-shop", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl wait --for=delete");
    sim.until_request(|m, p| m == "GET" && p.contains("watch=true") && p.contains("cart-0")).await;
    sim.store.delete(ResourceKind::Pod, "robot-shop", "cart-0").expect("delete");
    let out = tokio::time::timeout(WAIT, waiter.wait_with_output()).await.expect("wait finished").expect("ran");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pod/cart-0 condition met"));
}
