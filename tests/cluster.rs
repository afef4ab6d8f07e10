//! The cluster side against the simulated AKS over real HTTP: eviction watch (drops, 410 Gone, API down),
//! pre-flight against a down server, the run lock, cordon restore, snapshots of the large scenario, and the
//! IMDS credential against a local token endpoint.
//!
//! The simulator's control plane (`src/sim/testing.rs`) had not landed when these were written: the harness below
//! serves `sim::kube_api::router` over a `sim::world::World` itself and injects evictions with the World's own
//! event helpers, in the order a real spot eviction produces them (Preempt notice, then node removal).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aks_spot_test::cluster::cordon::{CORDONED_BY_ANNOTATION, restore_cordons};
use aks_spot_test::cluster::lease::RunLock;
use aks_spot_test::cluster::snapshot::{list_nodes, take_snapshot};
use aks_spot_test::cluster::{ClusterError, Connection, KubeconfigInput, connect, preflight_api, start_eviction_watch};
use aks_spot_test::config::schema::RunLockConfig;
use aks_spot_test::report::model::EvictionMonitoring;
use aks_spot_test::sim::Scenario;
use aks_spot_test::sim::kube_api::{KubeApiState, KubeFaults, router};
use aks_spot_test::sim::request_log::RequestLog;
use aks_spot_test::sim::store::{ResourceKind, Store};
use aks_spot_test::sim::world::World;
use serde_json::json;

const TOKEN: &str = "sim-token";
/// Upper bound for anything the tests wait for; reaching it is a failure, not a timing assertion.
const WAIT: Duration = Duration::from_secs(60);

struct Sim {
    server: String,
    store: Arc<Store>,
    world: Arc<World>,
    faults: KubeFaults,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl Sim {
    async fn start(scenario: &str) -> Sim {
        // RUST_LOG=debug shows the watch's view when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let scenario = Scenario::builtin(scenario).expect("built-in scenario");
        // World building names pods with a random 5-letter suffix and fails on the rare collision (about one
        // build in two for `large`, reported to the sim's owner): build again on a fresh store.
        let mut attempt = 0;
        let (store, world) = loop {
            let store = Arc::new(Store::new(100_000));
            match World::build(scenario.clone(), Arc::clone(&store)) {
                Ok(world) => break (store, world),
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    eprintln!("world build failed ({e}), retrying");
                }
                Err(e) => panic!("world: {e}"),
            }
        };
        let faults = KubeFaults::default();
        let state = KubeApiState {
            store: Arc::clone(&store),
            token: TOKEN.into(),
            faults: faults.clone(),
            log: RequestLog::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, router(state)).await;
        });
        let server = format!("http://{addr}");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim-cluster\n  cluster: {{server: \
             \"{server}\"}}\ncontexts:\n- name: sim\n  context: {{cluster: sim-cluster, user: sim}}\nusers:\n- name: \
             sim\n  user: {{token: {TOKEN}}}\n"
        );
        std::fs::write(&kubeconfig, text).expect("kubeconfig");
        Sim { server, store, world, faults, _dir: dir, kubeconfig }
    }

    async fn connect(&self) -> Connection {
        connect(&KubeconfigInput { explicit: Some(self.kubeconfig.clone()), env: vec![] }, None).await.expect("connect")
    }

    /// Spot node names of a pool, from the store.
    fn spot_nodes(&self, pool: &str) -> Vec<String> {
        let page = self.store.list(ResourceKind::Node, None, None, None, |_| true).expect("list nodes");
        let mut names: Vec<String> = page
            .items
            .iter()
            .filter(|n| n["metadata"]["labels"]["kubernetes.azure.com/agentpool"] == pool)
            .filter(|n| n["metadata"]["labels"]["kubernetes.azure.com/scalesetpriority"] == "spot")
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    fn uid(&self, node: &str) -> String {
        let obj = self.store.get(ResourceKind::Node, "", node).expect("node exists");
        obj["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
    }

    /// A spot eviction with policy Delete: two Preempt notices (the event repeats), then node removal.
    fn evict(&self, node: &str) {
        let uid = self.uid(node);
        for _ in 0..2 {
            self.world.event(
                "Node",
                "",
                node,
                &uid,
                "Warning",
                "PreemptScheduled",
                "VM scheduled event: Preempt, NotBefore in 30 s",
                "custom-scheduledevents-consolidated-condition-plugin-monitor",
            );
        }
        self.world.remove_node_of_deleted_vm(node);
    }
}

async fn wait_for(mut done: impl FnMut() -> bool, what: &str) {
    let polled = tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "gave up waiting for {what}");
}

fn has_node(m: &EvictionMonitoring, node: &str) -> bool {
    m.events.iter().any(|e| e.node == node)
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evictions_are_counted_exactly_through_dropped_watches_and_410_gone() {
    let sim = Sim::start("default").await;
    let conn = sim.connect().await;
    // History before the watch starts must not count.
    let g1 = sim.spot_nodes("spotgeneral1");
    let m1 = sim.spot_nodes("spotmemory1");
    sim.evict(&g1[0]);
    // Event times have one-second resolution: make "before the watch" unambiguous.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let watch = start_eviction_watch(conn.watch_client().expect("watch client")).await.expect("watch");

    sim.evict(&g1[1]);
    sim.evict(&m1[0]);
    // Not evictions: a failed IMDS query on a healthy spot node, and a regular node removed.
    let healthy = &g1[2];
    sim.world.event(
        "Node",
        "",
        healthy,
        &sim.uid(healthy),
        "Warning",
        "PreemptScheduled",
        "IMDS query failed",
        "custom-scheduledevents-consolidated-condition-plugin-monitor",
    );
    let page = sim.store.list(ResourceKind::Node, None, None, None, |_| true).expect("nodes");
    let regular = page
        .items
        .iter()
        .find(|n| n["metadata"]["labels"]["kubernetes.azure.com/agentpool"] == "stdworkload")
        .and_then(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .expect("a regular node");
    sim.world.remove_node_of_deleted_vm(&regular);
    wait_for(|| has_node(&watch.current(), &m1[0]), "the first evictions").await;

    // The connection drops and the re-watch is answered 410 Gone: the watcher re-lists, which replays old events.
    sim.faults.gone_next_watches(4);
    sim.faults.drop_watches();
    sim.evict(&m1[1]);
    let g2 = sim.spot_nodes("spotgeneral2");
    sim.evict(&g2[0]);
    // A sentinel eviction last: once it is seen, everything injected before it has been seen too.
    let sentinel = g2[1].clone();
    sim.evict(&sentinel);
    wait_for(|| has_node(&watch.current(), &sentinel), "the sentinel eviction").await;
    let m = watch.stop().await;

    let nodes: Vec<&str> = m.events.iter().map(|e| e.node.as_str()).collect();
    assert_eq!(m.total_evictions, 5, "evicted: {nodes:?}");
    assert!(!has_node(&m, &g1[0]), "history before the watch counted");
    assert!(!has_node(&m, healthy) && !has_node(&m, &regular));
    assert_eq!(m.per_pool.get("spotgeneral1"), Some(&1));
    assert_eq!(m.per_pool.get("spotmemory1"), Some(&2));
    assert_eq!(m.per_pool.get("spotgeneral2"), Some(&2));
    assert!(m.watched_seconds > 0.0);
    let expected_rate = 5.0 * 3600.0 / m.watched_seconds;
    assert!((m.eviction_rate_per_hour - expected_rate).abs() < 1e-6 * expected_rate);
    assert!(m.events.iter().all(|e| e.zone.is_some()));
    assert!(m.gaps.is_empty(), "410 Gone is a resync, not a gap: {:?}", m.gaps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_down_mid_run_records_a_gap_and_loses_nothing() {
    let sim = Sim::start("default").await;
    let conn = sim.connect().await;
    let watch = start_eviction_watch(conn.watch_client().expect("watch client")).await.expect("watch");
    sim.faults.set_down(true);
    sim.faults.drop_watches();
    wait_for(|| !watch.current().gaps.is_empty(), "the gap to open").await;
    // Evicted while the watch is blind: the re-list after recovery must still find it.
    let victim = sim.spot_nodes("spotgeneral1")[0].clone();
    sim.evict(&victim);
    sim.faults.set_down(false);
    let sentinel = sim.spot_nodes("spotmemory1")[0].clone();
    sim.evict(&sentinel);
    wait_for(|| has_node(&watch.current(), &sentinel), "the sentinel eviction").await;
    let m = watch.stop().await;
    assert!(has_node(&m, &victim), "eviction during the outage was lost: {:?}", m.events);
    assert_eq!(m.total_evictions, 2);
    assert_eq!(m.gaps.len(), 1, "{:?}", m.gaps);
    assert!(m.gaps[0].starts_with("watch lost the API server from"), "{}", m.gaps[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_against_a_down_server_fails_naming_context_and_server() {
    let sim = Sim::start("default").await;
    let conn = sim.connect().await;
    assert!(preflight_api(&conn, Duration::from_secs(5)).await.is_ok());
    sim.faults.set_down(true);
    // The outer bound only catches a hang; the stated timeout is what ends the call.
    let result = tokio::time::timeout(WAIT, preflight_api(&conn, Duration::from_secs(2))).await.expect("no hang");
    let err = result.expect_err("down server must fail pre-flight");
    let text = err.to_string();
    assert!(text.contains(&sim.server), "{text}");
    assert!(text.contains("context sim"), "{text}");
    let code = aks_spot_test::error::Error::from(err).exit_code();
    assert_eq!(code, aks_spot_test::exit::ExitCode::ToolError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_lock_is_exclusive_and_expired_leases_are_taken_over() {
    let sim = Sim::start("default").await;
    let conn = sim.connect().await;
    let config =
        RunLockConfig { enabled: true, namespace: "kube-system".into(), name: "lock-a".into(), lease_seconds: 60 };
    let first = RunLock::acquire(conn.client.clone(), &config, "run-1").await.expect("first acquires");
    match RunLock::acquire(conn.client.clone(), &config, "run-2").await {
        Err(ClusterError::LockHeld { holder, lease, .. }) => {
            assert_eq!(holder, "run-1");
            assert_eq!(lease, "kube-system/lock-a");
        }
        other => panic!("second acquisition must fail naming the holder, got {other:?}"),
    }
    first.release().await.expect("release");
    let again = RunLock::acquire(conn.client.clone(), &config, "run-2").await.expect("free after release");
    assert!(!again.is_lost());
    again.release().await.expect("release");

    // A crashed run: its lease was last renewed long ago.
    sim.store
        .create(
            ResourceKind::Lease,
            json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "lock-b", "namespace": "kube-system"},
                   "spec": {"holderIdentity": "crashed-run", "leaseDurationSeconds": 60,
                            "renewTime": "2020-01-01T00:00:00.000000Z", "leaseTransitions": 4}}),
        )
        .expect("crashed lease");
    let config_b = RunLockConfig { name: "lock-b".into(), ..config };
    let taken = RunLock::acquire(conn.client.clone(), &config_b, "run-3").await.expect("expired lease taken over");
    let lease = sim.store.get(ResourceKind::Lease, "kube-system", "lock-b").expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "run-3");
    assert_eq!(lease["spec"]["leaseTransitions"], 5);
    taken.release().await.expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordons_left_by_a_crashed_run_are_restored() {
    let sim = Sim::start("default").await;
    let conn = sim.connect().await;
    let victims = sim.spot_nodes("spotgeneral1");
    for name in &victims[..2] {
        sim.store
            .mutate(ResourceKind::Node, "", name, |o| {
                o["spec"]["unschedulable"] = json!(true);
                o["metadata"]["annotations"][CORDONED_BY_ANNOTATION] = json!("EDGE-006");
                Ok(())
            })
            .expect("cordon");
    }
    // Cordoned by someone else (no mark): not ours to undo.
    sim.store
        .mutate(ResourceKind::Node, "", &victims[2], |o| {
            o["spec"]["unschedulable"] = json!(true);
            Ok(())
        })
        .expect("cordon");
    let restored = restore_cordons(&conn.client).await.expect("restore");
    let mut names: Vec<String> = restored.iter().map(|r| r.node.clone()).collect();
    names.sort();
    assert_eq!(names, victims[..2].to_vec());
    assert!(restored.iter().all(|r| r.cordoned_by == "EDGE-006"));
    for name in &victims[..2] {
        let node = sim.store.get(ResourceKind::Node, "", name).expect("node");
        assert_ne!(node["spec"]["unschedulable"], json!(true), "{name} still cordoned");
        assert!(node["metadata"]["annotations"].get(CORDONED_BY_ANNOTATION).is_none());
    }
    let other = sim.store.get(ResourceKind::Node, "", &victims[2]).expect("node");
    assert_eq!(other["spec"]["unschedulable"], json!(true));
    assert!(restore_cordons(&conn.client).await.expect("second restore").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_of_the_large_scenario_has_correct_totals() {
    let sim = Sim::start("large").await;
    let conn = sim.connect().await;
    let snap = take_snapshot(&conn.client).await.expect("snapshot");
    let nodes = sim.store.list(ResourceKind::Node, None, None, None, |_| true).expect("nodes").items;
    let pods = sim.store.list(ResourceKind::Pod, None, None, None, |_| true).expect("pods").items;
    assert_eq!(snap.total_nodes, nodes.len() as u64);
    assert_eq!(snap.total_pods, pods.len() as u64);
    assert!(snap.total_pods > 500, "pagination not exercised");
    let pending = pods.iter().filter(|p| p["status"]["phase"] == "Pending").count() as u64;
    assert_eq!(snap.pending_pods, pending);
    let spot =
        nodes.iter().filter(|n| n["metadata"]["labels"]["kubernetes.azure.com/scalesetpriority"] == "spot").count()
            as u64;
    assert_eq!(snap.spot_nodes, spot);
    assert_eq!(snap.node_pool_counts.values().sum::<u64>(), snap.total_nodes);
    assert_eq!(snap.zone_node_counts.values().sum::<u64>(), snap.total_nodes);
    let scheduled = pods.iter().filter(|p| p["spec"]["nodeName"].is_string()).count() as u64;
    assert_eq!(snap.pool_pod_counts.values().sum::<u64>(), scheduled);
    assert_eq!(snap.zone_pod_counts.values().sum::<u64>(), scheduled);
    assert_eq!(snap.node_pool_counts.get("spotgeneral1"), Some(&1000));
    assert_eq!(list_nodes(&conn.client).await.expect("nodes").len(), nodes.len());
}

#[derive(Clone)]
struct TokenEndpoint {
    calls: Arc<AtomicU64>,
    expires_in: u64,
}

async fn token_handler(
    axum::extract::State(ep): axum::extract::State<TokenEndpoint>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> (axum::http::StatusCode, String) {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return (axum::http::StatusCode::BAD_REQUEST, "{\"error\":\"missing Metadata header\"}".into());
    }
    if q.get("client_id").map(String::as_str) != Some("cid-1")
        || q.get("resource").map(String::as_str) != Some("https://management.azure.com")
    {
        return (axum::http::StatusCode::BAD_REQUEST, "{\"error\":\"unknown identity\"}".into());
    }
    let n = ep.calls.fetch_add(1, Ordering::SeqCst);
    (axum::http::StatusCode::OK, format!("{{\"access_token\":\"tok-{n}\",\"expires_in\":\"{}\"}}", ep.expires_in))
}

async fn serve_tokens(expires_in: u64) -> (String, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new()
        .route("/token", axum::routing::get(token_handler))
        .with_state(TokenEndpoint { calls: Arc::clone(&calls), expires_in });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/token"), calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imds_credential_sends_metadata_header_and_caches_tokens() {
    use aks_spot_test::azure::credential::{ARM_SCOPE, ImdsCredential, check_token};
    use azure_core::auth::TokenCredential;

    // An hour-long token is served from the cache.
    let (url, calls) = serve_tokens(3600).await;
    let cred = ImdsCredential::with_endpoint(&url, Some("cid-1".into())).expect("cred");
    let a = cred.get_token(&[ARM_SCOPE]).await.expect("token");
    let b = cred.get_token(&[ARM_SCOPE]).await.expect("token");
    assert_eq!(a.token.secret(), b.token.secret());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let check = check_token(&cred, ARM_SCOPE).await.expect("check");
    assert!(!check.message.contains("tok-"), "pre-flight must not show the token");

    // A token within five minutes of expiry is refreshed on every call.
    let (url, calls) = serve_tokens(120).await;
    let cred = ImdsCredential::with_endpoint(&url, Some("cid-1".into())).expect("cred");
    cred.get_token(&[ARM_SCOPE]).await.expect("token");
    cred.get_token(&[ARM_SCOPE]).await.expect("token");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Wrong identity: the endpoint's answer reaches the caller.
    let wrong = ImdsCredential::with_endpoint(&url, Some("other".into())).expect("cred");
    let err = check_token(&wrong, ARM_SCOPE).await.expect_err("must fail");
    let text = chain(&err);
    assert!(text.contains("400") && text.contains("unknown identity"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evictions_by_the_simulator_control_plane_delete_and_deallocate() {
    use aks_spot_test::sim::testing::{SimOptions, start};
    let sim = start(SimOptions::new(Scenario::builtin("default").expect("scenario"))).await.expect("sim");
    let client = sim.kube_client().await;
    let pool_nodes = |pool: &str| -> Vec<String> {
        let page = sim.store().list(ResourceKind::Node, None, None, None, |_| true).expect("nodes");
        let mut v: Vec<String> = page
            .items
            .iter()
            .filter(|n| n["metadata"]["labels"]["kubernetes.azure.com/agentpool"] == pool)
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    let deleted = pool_nodes("spotgeneral1")[0].clone();
    // spotcompute's eviction policy is Deallocate: the node stays, tainted as shut down.
    let deallocated = pool_nodes("spotcompute")[0].clone();
    let watch = start_eviction_watch(client).await.expect("watch");
    sim.evict_node(&deleted);
    sim.evict_node(&deallocated);
    wait_for(
        || {
            let m = watch.current();
            has_node(&m, &deleted) && has_node(&m, &deallocated)
        },
        "both evictions",
    )
    .await;
    let m = watch.stop().await;
    assert_eq!(m.total_evictions, 2, "{:?}", m.events);
    assert_eq!(m.per_pool.get("spotgeneral1"), Some(&1));
    assert_eq!(m.per_pool.get("spotcompute"), Some(&1));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_monitor_commands_against_the_simulator() {
    let sim = Sim::start("default").await;
    let bin = env!("CARGO_BIN_EXE_aks-spot-test");
    let kc = sim.kubeconfig.clone();
    let run = |args: Vec<String>| {
        let kc = kc.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .args(["--kubeconfig".to_owned(), kc.display().to_string()])
                .args(args)
                .env_remove("KUBECONFIG")
                .output()
                .expect("run binary")
        })
    };
    let out = run(vec!["snapshot".into(), "-o".into(), "json".into()]).await.expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let snap: serde_json::Value = serde_json::from_slice(&out.stdout).expect("snapshot json");
    let nodes = sim.store.list(ResourceKind::Node, None, None, None, |_| true).expect("nodes").items.len();
    assert_eq!(snap["total_nodes"], nodes);

    let out =
        run(vec!["monitor".into(), "--duration".into(), "1".into(), "-o".into(), "json".into()]).await.expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().expect("a line")).expect("json line");
    assert_eq!(last["type"], "final");
    assert_eq!(last["total_evictions"], 0);

    sim.faults.set_down(true);
    let out = run(vec!["snapshot".into()]).await.expect("join");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&sim.server) && err.contains("context sim"), "{err}");
}
