//! Remediation against the in-process simulator over real HTTP: dry run mutates nothing and names both targets, a
//! real run removes the ghost and the stuck node and nothing else, ARM 429 storms are retried (and a capped storm
//! fails one action while the others go on), the circuit breaker stops everything, and the `remediate` command.

use std::time::Duration;

use aks_spot_test::cluster::{Connection, KubeconfigInput, connect};
use aks_spot_test::config::schema::RemediationConfig;
use aks_spot_test::remediation::executor::{DELETE_TIMEOUT, remediate_with};
use aks_spot_test::remediation::{AzureTarget, Clients, execute, gather, plan, remediate};
use aks_spot_test::report::model::Remediation;
use aks_spot_test::sim::testing::{Fault, ResourceKind, Scenario, SimHandle, SimOptions, start};

/// The default scenario with only its start-time faults: one ghost (Failed, 45 min) and one stuck node (NotReady
/// 10 min, VM deallocated); the timed evictions would race the assertions.
async fn quiet_sim() -> SimHandle {
    let mut s = Scenario::builtin("default").expect("default scenario");
    s.timeline.retain(|e| e.at_seconds <= 0.0);
    start(SimOptions::new(s)).await.expect("simulator starts")
}

fn target(sim: &SimHandle) -> AzureTarget {
    AzureTarget {
        arm_endpoint: Some(sim.arm_url()),
        subscription_id: None,
        token_endpoint: Some(sim.token_url()),
        client_id: None,
    }
}

async fn connection(sim: &SimHandle, dir: &tempfile::TempDir) -> Connection {
    let path = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&path).expect("kubeconfig");
    connect(&KubeconfigInput { explicit: Some(path), env: vec![] }, None).await.expect("connect")
}

fn node_names(sim: &SimHandle, ready: bool) -> Vec<String> {
    let mut names: Vec<String> = sim
        .store()
        .list(ResourceKind::Node, None, None, None, |_| true)
        .expect("nodes")
        .items
        .iter()
        .filter(|n| {
            let is_ready = n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            is_ready == ready
        })
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn of_type<'a>(r: &'a Remediation, action: &str) -> Vec<&'a aks_spot_test::report::model::RemediationAction> {
    r.details.iter().filter(|a| a.action_type == action).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_mutates_nothing_and_names_both_targets() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().expect("tmp");
    let conn = connection(&sim, &dir).await;
    let stuck = node_names(&sim, false);
    assert_eq!(stuck.len(), 1, "the scenario has one NotReady node");
    sim.log().clear();

    let r = remediate(&conn, &target(&sim), &RemediationConfig::default(), true).await.expect("remediate");

    assert!(sim.log().mutating().is_empty(), "dry run mutated: {:?}", sim.log().mutating());
    assert!(!sim.log().records().is_empty(), "the dry run did read the cluster");
    let ghosts = of_type(&r, "delete_vmss_instance");
    assert_eq!(ghosts.len(), 1, "{:#?}", r.details);
    assert!(ghosts[0].target.contains("spotgeneral1") && ghosts[0].dry_run && ghosts[0].details.contains("would POST"));
    assert!(ghosts[0].details.contains("Failed"), "{}", ghosts[0].details);
    let nodes = of_type(&r, "delete_node");
    assert_eq!(nodes.len(), 1, "{:#?}", r.details);
    assert_eq!(nodes[0].target, format!("node/{}", stuck[0]));
    assert!(nodes[0].details.contains("would DELETE") && nodes[0].details.contains("deallocated"));
    assert_eq!((r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted), (0, 0, 0));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_run_removes_ghost_and_stuck_node_only() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().expect("tmp");
    let conn = connection(&sim, &dir).await;
    let ready_before = node_names(&sim, true);
    let stuck = node_names(&sim, false);
    sim.log().clear();

    let r = remediate(&conn, &target(&sim), &RemediationConfig::default(), false).await.expect("remediate");

    assert!(r.details.iter().all(|a| a.success), "{:#?}", r.details);
    assert_eq!((r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted), (2, 1, 1), "{:#?}", r.details);
    assert!(node_names(&sim, false).is_empty(), "stuck node {stuck:?} still there");
    assert_eq!(node_names(&sim, true), ready_before, "a Ready node was touched");
    // One batch delete on ARM, one Node delete, and nothing else but audit Events.
    let mutating = sim.log().mutating();
    let arm_posts: Vec<_> = mutating.iter().filter(|m| m.endpoint == "arm").collect();
    assert_eq!(arm_posts.len(), 1, "{mutating:?}");
    assert!(arm_posts[0].method == "POST" && arm_posts[0].path.contains("/delete"), "{:?}", arm_posts[0]);
    assert!(
        mutating.iter().any(|m| m.method == "DELETE" && m.path.contains(&format!("/nodes/{}", stuck[0]))),
        "{mutating:?}"
    );
    let events = sim.store().list(ResourceKind::Event, Some("default"), None, None, |_| true).expect("events").items;
    let audits = events.iter().filter(|e| e["reason"] == "AksSpotTestRemediation").count();
    assert_eq!(audits, 2, "one audit event per action");

    // The ghost is gone from ARM: a second dry run finds no Failed instance.
    let again = remediate(&conn, &target(&sim), &RemediationConfig::default(), true).await.expect("again");
    assert!(of_type(&again, "delete_vmss_instance").iter().all(|a| !a.details.contains("Failed")), "{:#?}", again);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_throttling_is_retried_after_retry_after() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().expect("tmp");
    let conn = connection(&sim, &dir).await;
    sim.log().clear();
    sim.arm_faults().throttle(2, Duration::from_secs(1));

    let r = remediate(&conn, &target(&sim), &RemediationConfig::default(), false).await.expect("retried");

    let throttled = sim.log().records().iter().filter(|r| r.endpoint == "arm" && r.status == 429).count();
    assert_eq!(throttled, 2, "both throttled answers were seen and retried");
    assert_eq!(r.vmss_ghosts_deleted, 1, "{:#?}", r.details);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capped_storm_fails_one_action_and_the_others_continue() {
    let sim = quiet_sim().await;
    let kube = sim.kube_client().await;
    let compute = target(&sim).compute_client().expect("compute").with_delays(vec![
        Duration::from_millis(10),
        Duration::from_millis(10),
        Duration::from_millis(10),
    ]);
    let cfg = RemediationConfig::default();
    let (inventory, scope) = gather(&kube, &compute, None).await.expect("inventory");
    let planned = plan(&inventory, &cfg, jiff::Timestamp::now());
    assert_eq!(planned.actions.len(), 2);
    // The ghost's re-check is the next ARM call: four 429s exhaust its 1 + 3 attempts, and no more remain after.
    sim.arm_faults().throttle(4, Duration::from_secs(1));
    let clients = Clients { kube, compute, scope, config: cfg, delete_timeout: DELETE_TIMEOUT };

    let r = execute(&planned, &clients, false).await;

    let ghost = of_type(&r, "delete_vmss_instance");
    assert_eq!(ghost.len(), 1);
    assert!(!ghost[0].success && ghost[0].details.contains("4 attempts"), "{:#?}", ghost[0]);
    let node = of_type(&r, "delete_node");
    assert!(node[0].success, "{:#?}", node[0]);
    assert_eq!((r.vmss_ghosts_deleted, r.stuck_nodes_deleted), (0, 1));
    assert!(sim.log().mutating().iter().all(|m| m.endpoint != "arm"), "no delete was sent for the ghost");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_delete_operation_is_a_failed_action_and_the_node_still_goes() {
    let sim = quiet_sim().await;
    let kube = sim.kube_client().await;
    sim.arm_faults().fail_next_deletes(1);
    let compute = target(&sim).compute_client().expect("compute");

    let r = remediate_with(&kube, compute, None, &RemediationConfig::default(), false).await.expect("remediate");

    let ghost = of_type(&r, "delete_vmss_instance");
    assert!(!ghost[0].success && ghost[0].details.contains("ended Failed"), "{:#?}", ghost[0]);
    assert!(of_type(&r, "delete_node")[0].success, "{:#?}", r.details);
    assert_eq!((r.actions_taken, r.vmss_ghosts_deleted, r.stuck_nodes_deleted), (1, 0, 1));
    let events = sim.store().list(ResourceKind::Event, Some("default"), None, None, |_| true).expect("events").items;
    assert!(
        events.iter().any(|e| e["reason"] == "AksSpotTestRemediation" && e["type"] == "Warning"),
        "a failed action leaves a Warning audit event"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_stops_every_action() {
    let sim = quiet_sim().await;
    let kube = sim.kube_client().await;
    for pool in ["spotgeneral1", "spotmemory1", "spotgeneral2", "stdworkload"] {
        sim.inject(&Fault::NodeNotReady {
            pool: Some(pool.into()),
            node: None,
            since_minutes: 30,
            deallocate_vm: true,
        });
    }
    assert_eq!(node_names(&sim, false).len(), 5);
    sim.log().clear();
    let compute = target(&sim).compute_client().expect("compute");

    let r = remediate_with(&kube, compute, None, &RemediationConfig::default(), false).await.expect("remediate");

    assert!(sim.log().mutating().is_empty(), "{:?}", sim.log().mutating());
    let breaker = of_type(&r, "circuit_breaker");
    assert_eq!(breaker.len(), 1);
    assert!(breaker[0].details.contains("5 of"), "{}", breaker[0].details);
    assert!(r.details.iter().filter(|a| a.action_type == "skipped").any(|a| a.details.contains("circuit breaker")));
    assert_eq!(r.actions_taken, 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remediate_command_dry_run_then_real_run() {
    let sim = quiet_sim().await;
    let dir = tempfile::tempdir().expect("tmp");
    let kc = dir.path().join("kubeconfig");
    let env_file = sim.write_connection_files(&kc).expect("connection files");
    let env: Vec<(String, String)> = std::fs::read_to_string(&env_file)
        .expect("env file")
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    sim.log().clear();
    let bin = env!("CARGO_BIN_EXE_aks-spot-test");
    let run = |extra: &'static [&'static str]| {
        let (kc, env) = (kc.clone(), env.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .args(["--kubeconfig", &kc.display().to_string(), "remediate"])
                .args(extra)
                .env_remove("KUBECONFIG")
                .envs(env)
                .output()
                .expect("run binary")
        })
    };
    let out = run(&["--dry-run"]).await.expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("delete_vmss_instance") && stdout.contains("delete_node"), "{stdout}");
    assert!(stdout.contains("planned") && stdout.contains("0 actions taken"), "{stdout}");
    assert!(sim.log().mutating().is_empty(), "{:?}", sim.log().mutating());

    // The real run takes the run lock, acts, and exits 0 when nothing failed.
    let out = run(&[]).await.expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 actions taken: 1 ghost instances deleted, 1 stuck nodes deleted"), "{stdout}");
    assert!(node_names(&sim, false).is_empty());
    assert!(sim.log().mutating().iter().any(|m| m.path.contains("/leases")), "the run lock was taken");
    sim.shutdown().await;
}
