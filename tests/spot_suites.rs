//! The spot-behavior suites shipped under `tests/suites/`: their shared helpers agree across
//! languages, every script and module builds with the toolchains users run.
//!
//! Running the suites against the simulator lives in the `against_sim` tests below.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn suites_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites")
}

/// A tool from PATH, else from the project's `hack/.tools/venv/bin` (where `hack/tools.sh` puts it).
fn tool(name: &str) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name));
    let from_venv = std::iter::once(Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/.tools/venv/bin").join(name));
    from_path.chain(from_venv).find(|p| p.is_file())
}

fn stdout_of(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Zone labels as AKS writes them: zonal pools `<region>-<n>`, non-zonal pools a fault-domain number.
const ZONE_CASES: &[(&str, bool)] = &[
    ("eastus-1", true),
    ("australiaeast-3", true),
    ("eastus2-2", true),
    ("0", false),
    ("1", false),
    ("", false),
    ("eastus", false),
    ("eastus-", false),
    ("EastUS-1", false),
];

#[test]
fn bash_and_python_agree_on_which_zones_are_zonal() {
    let lib = suites_dir().join("spot-behavior/lib/cluster.sh");
    let mut script = format!("source '{}'\n", lib.display());
    for (zone, _) in ZONE_CASES {
        script.push_str(&format!("if is_zonal_zone '{zone}'; then echo true; else echo false; fi\n"));
    }
    let bash = stdout_of(&Command::new("bash").arg("-c").arg(&script).output().expect("bash runs"), "bash");

    let Some(python) = tool("python3") else {
        panic!("python3 not found on PATH or in hack/.tools/venv/bin: run hack/tools.sh");
    };
    let zones: Vec<&str> = ZONE_CASES.iter().map(|(z, _)| *z).collect();
    let py_script = format!(
        "import sys; sys.path.insert(0, {:?}); from helpers.kube import is_zonal_zone\nfor z in {:?}: print(str(is_zonal_zone(z)).lower())",
        suites_dir().join("spot-behavior-python").display().to_string(),
        zones
    );
    let py = stdout_of(&Command::new(python).arg("-c").arg(&py_script).output().expect("python runs"), "python");

    let want: Vec<String> = ZONE_CASES.iter().map(|(_, z)| z.to_string()).collect();
    assert_eq!(bash.lines().collect::<Vec<_>>(), want, "bash is_zonal_zone");
    assert_eq!(py.lines().collect::<Vec<_>>(), want, "python is_zonal_zone");
}

/// One toleration: (key, operator, value, effect).
type Toleration = (&'static str, &'static str, &'static str, &'static str);

/// A pod's tolerations, and whether they let it onto a spot node.
const TOLERATION_CASES: &[(&[Toleration], bool)] = &[
    (&[("kubernetes.azure.com/scalesetpriority", "Equal", "spot", "NoSchedule")], true),
    (&[("kubernetes.azure.com/scalesetpriority", "Exists", "", "NoSchedule")], true),
    (&[("kubernetes.azure.com/scalesetpriority", "Equal", "spot", "")], true),
    (&[("", "Exists", "", "")], true),
    (&[("kubernetes.azure.com/scalesetpriority", "Equal", "regular", "NoSchedule")], false),
    (&[("kubernetes.azure.com/scalesetpriority", "Equal", "spot", "NoExecute")], false),
    (&[("node.kubernetes.io/not-ready", "Exists", "", "NoExecute")], false),
    (&[], false),
    (
        &[
            ("node.kubernetes.io/unreachable", "Exists", "", "NoExecute"),
            ("kubernetes.azure.com/scalesetpriority", "Equal", "spot", "NoSchedule"),
        ],
        true,
    ),
];

#[test]
fn bash_and_python_agree_on_spot_tolerations() {
    let lib = suites_dir().join("spot-behavior/lib/cluster.sh");
    let mut script = format!("source '{}'\n", lib.display());
    let mut py_cases = Vec::new();
    for (tolerations, _) in TOLERATION_CASES {
        // The jsonpath row DIST-003 reads: key=operator=value:effect, comma-terminated.
        let row: String = tolerations.iter().map(|(k, o, v, e)| format!("{k}={o}={v}:{e},")).collect();
        script.push_str(&format!("if tolerates_spot '{row}'; then echo true; else echo false; fi\n"));
        let objs: Vec<String> = tolerations
            .iter()
            .map(|(k, o, v, e)| format!("{{'key': {k:?}, 'operator': {o:?}, 'value': {v:?}, 'effect': {e:?}}}"))
            .collect();
        py_cases.push(format!("[{}]", objs.join(", ")));
    }
    let bash = stdout_of(&Command::new("bash").arg("-c").arg(&script).output().expect("bash runs"), "bash");

    let python = tool("python3").expect("python3 not found: run hack/tools.sh");
    let py_script = format!(
        "import sys; sys.path.insert(0, {:?}); from helpers.kube import tolerates_spot\nfor t in [{}]: print(str(tolerates_spot({{'spec': {{'tolerations': t}}}})).lower())",
        suites_dir().join("spot-behavior-python").display().to_string(),
        py_cases.join(", ")
    );
    let py = stdout_of(&Command::new(python).arg("-c").arg(&py_script).output().expect("python runs"), "python");

    let want: Vec<String> = TOLERATION_CASES.iter().map(|(_, t)| t.to_string()).collect();
    assert_eq!(bash.lines().collect::<Vec<_>>(), want, "bash tolerates_spot");
    assert_eq!(py.lines().collect::<Vec<_>>(), want, "python tolerates_spot");
}

#[test]
fn every_bash_script_parses() {
    let dir = suites_dir().join("spot-behavior");
    let mut scripts = vec![dir.join("lib/cluster.sh")];
    for category in std::fs::read_dir(dir.join("categories")).expect("categories/ exists") {
        for entry in std::fs::read_dir(category.expect("entry").path()).expect("category dir") {
            scripts.push(entry.expect("entry").path());
        }
    }
    assert!(scripts.len() >= 6, "expected the lib and at least five test scripts, found {scripts:?}");
    for script in scripts {
        let out = Command::new("bash").arg("-n").arg(&script).output().expect("bash runs");
        assert!(out.status.success(), "{}: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn bash_suite_is_shellcheck_clean() {
    let Some(shellcheck) = tool("shellcheck") else {
        eprintln!("skipped: shellcheck not found on PATH (apt-get install shellcheck)");
        return;
    };
    let dir = suites_dir().join("spot-behavior");
    // Run from the suite directory so .shellcheckrc resolves the `source` lines.
    let out = Command::new(shellcheck)
        .args(["lib/cluster.sh", "categories/01-pod-distribution/DIST-001_stateless_on_spot.sh"])
        .args([
            "categories/01-pod-distribution/DIST-002_stateful_off_spot.sh",
            "categories/01-pod-distribution/DIST-003_spot_tolerations.sh",
            "categories/03-pdb/PDB-001_stateful_pdbs_exist.sh",
            "categories/10-edge-cases/EDGE-006_zone_failure.sh",
        ])
        .current_dir(&dir)
        .output()
        .expect("shellcheck runs");
    stdout_of(&out, "shellcheck");
}

#[test]
fn python_suite_compiles() {
    let python = tool("python3").expect("python3 not found: run hack/tools.sh");
    let dir = suites_dir().join("spot-behavior-python");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = Command::new(python)
        .args(["-m", "compileall", "-q", "."])
        .current_dir(&dir)
        .env("PYTHONPYCACHEPREFIX", cache.path())
        .output()
        .expect("python runs");
    stdout_of(&out, "python -m compileall");
}

/// `go vet` builds the test package: proves the Terratest module compiles with old and new Go.
fn go_vet(go: &Path) {
    let cache = std::env::temp_dir().join("aks-spot-test-suites-gocache");
    let out = Command::new(go)
        .args(["vet", "./..."])
        .current_dir(suites_dir().join("terratest"))
        .env("GOCACHE", &cache)
        .env("GOPATH", cache.join("gopath"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go runs");
    stdout_of(&out, &format!("{} vet", go.display()));
}

#[test]
fn terratest_module_builds_with_current_go() {
    match tool("go") {
        Some(go) => go_vet(&go),
        None => eprintln!("skipped: go not found on PATH or in hack/.tools/venv/bin (run hack/tools.sh)"),
    }
}

#[test]
fn terratest_module_builds_with_go_1_19() {
    let go = std::env::var_os("AKS_SPOT_TEST_GO119")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/go-1.19/bin/go"));
    if go.is_file() {
        go_vet(&go);
    } else {
        eprintln!("skipped: Go 1.19 not found at {} (set AKS_SPOT_TEST_GO119)", go.display());
    }
}

/// The suites run against the simulated AKS, as a user runs them against a real cluster.
mod against_sim {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};
    use std::process::{Output, Stdio};
    use std::time::Duration;

    use aks_spot_test::sim::testing::{ResourceKind, Scenario, SimHandle, SimOptions, start};
    use serde_json::Value;
    use tokio::process::Command;

    use super::{suites_dir, tool};

    const ANNOTATION: &str = "aks-spot-test.io/cordoned-by";

    struct Cluster {
        sim: SimHandle,
        dir: tempfile::TempDir,
        kubeconfig: PathBuf,
    }

    /// Starts `scenario`, waits (at most 60 s) for its deployments to be ready, writes a kubeconfig.
    /// `pod_start_seconds` slows replacements down so a test can act while EDGE-006 waits for them.
    async fn cluster(scenario: &str, pod_start_seconds: Option<f64>) -> Cluster {
        cluster_with(scenario, |sc| {
            if let Some(secs) = pod_start_seconds {
                sc.timings.pod_start_seconds = secs;
            }
        })
        .await
    }

    async fn cluster_with(scenario: &str, tweak: impl FnOnce(&mut Scenario)) -> Cluster {
        let mut sc = Scenario::builtin(scenario).expect("built-in scenario");
        // Scheduled evictions would race the suites' own assertions (DIST-001 counts pods on spot):
        // these tests are about the suites, so the cluster holds still apart from what EDGE-006 does.
        sc.timeline.clear();
        tweak(&mut sc);
        let sim = start(SimOptions::new(sc)).await.expect("simulator starts");
        assert!(sim.wait_settled(Duration::from_secs(60)).await, "scenario {scenario} did not settle within 60 s");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        // kubectl (client-go) sends no bearer token over plain http, and the simulator serves plain
        // http: let it answer token-less requests, as a real server answers kubectl's over TLS.
        sim.kube_faults().set_anonymous(true);
        Cluster { sim, dir, kubeconfig }
    }

    fn kubectl_present() -> bool {
        let found = tool("kubectl").is_some();
        if !found {
            eprintln!("skipped: kubectl not found on PATH");
        }
        found
    }

    fn suite_command(program: &Path, dir: &str, c: &Cluster) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(suites_dir().join(dir))
            .env("KUBECONFIG", &c.kubeconfig)
            .env("NAMESPACE", "robot-shop")
            .env("STATELESS_SERVICES", "web cart catalogue")
            .env("STATEFUL_SERVICES", "mongodb mysql redis")
            .env("SERVICE_LABEL", "app")
            .env("SPOT_LABEL", "kubernetes.azure.com/scalesetpriority=spot")
            .env("EDGE006_EVICTION_RETRY_TIMEOUT", "60")
            .env("EDGE006_RECOVERY_TIMEOUT", "60")
            .env("EDGE006_READY_TIMEOUT", "60")
            .env("RESULTS_DIR", c.dir.path().join("results"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn run_bash(c: &Cluster, filter: &str) -> Output {
        let mut cmd = suite_command(Path::new("bash"), "spot-behavior", c);
        cmd.arg("run-all-tests.sh").env("TEST_FILTER", filter);
        cmd.output().await.expect("bash runs")
    }

    fn bash_result(c: &Cluster, id: &str) -> Value {
        let path = c.dir.path().join("results").join(format!("{id}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
    }

    async fn run_pytest(c: &Cluster, select: &str) -> (Output, Value) {
        let pytest = tool("pytest").expect("pytest not found: run hack/tools.sh");
        let report = c.dir.path().join("pytest.json");
        let mut cmd = suite_command(&pytest, "spot-behavior-python", c);
        cmd.args(["-p", "no:cacheprovider", "-q", "--json-report"])
            .arg(format!("--json-report-file={}", report.display()))
            .arg(select);
        let out = cmd.output().await.expect("pytest runs");
        let text =
            std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{}: {e}\n{}", report.display(), show(&out)));
        (out, serde_json::from_str(&text).expect("pytest-json-report JSON"))
    }

    fn show(out: &Output) -> String {
        format!(
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Nodes that are cordoned or carry EDGE-006's mark.
    fn cordoned_or_marked(sim: &SimHandle) -> BTreeSet<String> {
        let page = sim
            .store()
            .list(ResourceKind::Node, None, None, None, |n| {
                n["spec"]["unschedulable"] == true || !n["metadata"]["annotations"][ANNOTATION].is_null()
            })
            .expect("list nodes");
        page.items.iter().filter_map(|n| n["metadata"]["name"].as_str().map(String::from)).collect()
    }

    fn user_property<'a>(test: &'a Value, key: &str) -> Option<&'a Value> {
        test["user_properties"].as_array()?.iter().find_map(|p| p.get(key))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bash_suite_passes_on_the_default_cluster() {
        if !kubectl_present() {
            return;
        }
        let c = cluster("default", None).await;
        let before = cordoned_or_marked(&c.sim);
        let out = run_bash(&c, "").await;
        for id in ["DIST-001", "DIST-002", "DIST-003", "PDB-001", "EDGE-006"] {
            let r = bash_result(&c, id);
            assert_eq!(r["status"], "PASS", "{id}: {r:#}\n{}", show(&out));
        }
        assert!(out.status.success(), "{}", show(&out));
        let edge = bash_result(&c, "EDGE-006");
        eprintln!("EDGE-006 (bash) on default: {edge:#}");
        assert!(edge["evidence"]["evicted_pods"].as_str().is_some_and(|s| !s.is_empty()), "{edge:#}");
        assert_eq!(cordoned_or_marked(&c.sim), before, "EDGE-006 left nodes cordoned or marked");
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn python_suite_passes_on_the_default_cluster() {
        if !kubectl_present() {
            return;
        }
        let c = cluster("default", None).await;
        let before = cordoned_or_marked(&c.sim);
        let (out, report) = run_pytest(&c, ".").await;
        let tests = report["tests"].as_array().expect("tests[]");
        let ids: BTreeSet<&str> = tests.iter().filter_map(|t| user_property(t, "test_id")?.as_str()).collect();
        assert_eq!(ids, BTreeSet::from(["DIST-001", "DIST-002", "DIST-003", "EDGE-006", "PDB-001"]), "{}", show(&out));
        for t in tests {
            assert_eq!(t["outcome"], "passed", "{}: {:#}\n{}", t["nodeid"], t, show(&out));
        }
        assert_eq!(report["exitcode"], 0);
        assert_eq!(cordoned_or_marked(&c.sim), before, "EDGE-006 left nodes cordoned or marked");
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edge_006_fails_honestly_on_a_non_zonal_cluster() {
        if !kubectl_present() {
            return;
        }
        let c = cluster("single-zone", None).await;
        let out = run_bash(&c, "EDGE-006").await;
        let r = bash_result(&c, "EDGE-006");
        assert_eq!(r["status"], "FAIL", "{r:#}\n{}", show(&out));
        let msg = r["error_message"].as_str().unwrap_or_default();
        assert!(msg.contains("every node pool is zonal") && msg.contains("zone '0'"), "{msg}");

        let (out, report) = run_pytest(&c, "test_edge_cases.py").await;
        let t = &report["tests"][0];
        assert_eq!(t["outcome"], "failed", "{}", show(&out));
        let crash = t["call"]["longrepr"].as_str().unwrap_or_default();
        assert!(crash.contains("every node pool is zonal") && crash.contains("zone '0'"), "{crash}");

        assert!(cordoned_or_marked(&c.sim).is_empty(), "a refused run must not cordon anything");
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edge_006_reports_an_eviction_its_pdb_refuses() {
        if !kubectl_present() {
            return;
        }
        // web runs 3 replicas; a budget of 3 available allows no eviction at all.
        let c = cluster_with("default", |sc| {
            let web = sc.workloads.pdbs.iter_mut().find(|p| p.name == "web-pdb").expect("web-pdb in default");
            web.min_available = Some(serde_json::json!(3));
            web.max_unavailable = None;
        })
        .await;
        let before = cordoned_or_marked(&c.sim);

        let mut cmd = suite_command(Path::new("bash"), "spot-behavior", &c);
        cmd.arg("run-all-tests.sh").env("TEST_FILTER", "EDGE-006").env("EDGE006_EVICTION_RETRY_TIMEOUT", "2");
        let out = cmd.output().await.expect("bash runs");
        let r = bash_result(&c, "EDGE-006");
        assert_eq!(r["status"], "FAIL", "{r:#}\n{}", show(&out));
        let msg = r["error_message"].as_str().unwrap_or_default();
        assert!(msg.contains("eviction of web-") && msg.contains("429"), "{msg}");
        assert_eq!(cordoned_or_marked(&c.sim), before, "bash left nodes cordoned");

        let pytest = tool("pytest").expect("pytest not found: run hack/tools.sh");
        let report_path = c.dir.path().join("pytest.json");
        let mut cmd = suite_command(&pytest, "spot-behavior-python", &c);
        cmd.args(["-p", "no:cacheprovider", "-q", "--json-report", "test_edge_cases.py"])
            .arg(format!("--json-report-file={}", report_path.display()))
            .env("EDGE006_EVICTION_RETRY_TIMEOUT", "2");
        let out = cmd.output().await.expect("pytest runs");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&report_path).expect("report written")).expect("JSON");
        let t = &report["tests"][0];
        assert_eq!(t["outcome"], "failed", "{}", show(&out));
        let crash = t["call"]["longrepr"].as_str().unwrap_or_default();
        assert!(crash.contains("eviction of web-") && crash.contains("429"), "{crash}");
        assert_eq!(cordoned_or_marked(&c.sim), before, "python left nodes cordoned");
        c.sim.shutdown().await;
    }

    /// Starts `cmd` in its own process group, waits (at most 60 s) until EDGE-006 has marked a node,
    /// lets it go on for 2 s (into its evictions and waits), then sends `signal` to the whole group.
    async fn signal_mid_run(c: &Cluster, mut cmd: Command, signal: nix::sys::signal::Signal) -> Output {
        cmd.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("suite starts");
        let pgid = child.id().expect("child pid") as i32;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        // Poll the store (cheap, in memory) for the first mark; the deadline above bounds it.
        let marked = |n: &Value| n["metadata"]["annotations"][ANNOTATION] == "EDGE-006";
        while c.sim.store().list(ResourceKind::Node, None, None, None, marked).expect("list nodes").items.is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "EDGE-006 marked no node within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!cordoned_or_marked(&c.sim).is_empty(), "EDGE-006 should still hold the zone when signalled");
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal).expect("signal the suite's process group");
        // Restoring takes a few kubectl calls; 60 s bounds a hung one.
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("suite exits within 60 s of the signal")
            .expect("wait for the suite")
    }

    async fn terminate_mid_run(c: &Cluster, cmd: Command) -> Output {
        signal_mid_run(c, cmd, nix::sys::signal::Signal::SIGTERM).await
    }

    /// SIGKILL cannot be trapped: the zone stays cordoned, but every node carries EDGE-006's mark, which is
    /// what the orchestrator's restore step and the next EDGE-006 run look for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edge_006_after_sigkill_the_marks_let_the_next_run_restore_the_zone() {
        if !kubectl_present() {
            return;
        }
        let c = cluster("default", Some(20.0)).await;
        let before = cordoned_or_marked(&c.sim);
        let mut cmd = suite_command(Path::new("bash"), "spot-behavior", &c);
        cmd.arg("run-all-tests.sh").env("TEST_FILTER", "EDGE-006");
        signal_mid_run(&c, cmd, nix::sys::signal::Signal::SIGKILL).await;

        let left: BTreeSet<String> = cordoned_or_marked(&c.sim).difference(&before).cloned().collect();
        assert!(!left.is_empty(), "SIGKILL mid-run should leave the zone cordoned");
        let unmarked = c
            .sim
            .store()
            .list(ResourceKind::Node, None, None, None, |n| {
                n["spec"]["unschedulable"] == true && n["metadata"]["annotations"][ANNOTATION] != "EDGE-006"
            })
            .expect("list nodes");
        let unmarked: BTreeSet<String> =
            unmarked.items.iter().filter_map(|n| n["metadata"]["name"].as_str().map(String::from)).collect();
        assert!(unmarked.is_subset(&before), "cordoned without a mark: {unmarked:?}");

        // The next run restores them first, then does its own work and restores that too.
        let out = run_bash(&c, "EDGE-006").await;
        let r = bash_result(&c, "EDGE-006");
        let restored: BTreeSet<String> = r["evidence"]["restored_from_previous_run"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        assert_eq!(restored, left, "{r:#}\n{}", show(&out));
        assert_eq!(cordoned_or_marked(&c.sim), before, "{}", show(&out));
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edge_006_bash_restores_the_zone_when_terminated() {
        if !kubectl_present() {
            return;
        }
        // Replacements take 20 s to start, so EDGE-006 is still waiting when the signal comes.
        let c = cluster("default", Some(20.0)).await;
        let before = cordoned_or_marked(&c.sim);
        let mut cmd = suite_command(Path::new("bash"), "spot-behavior", &c);
        cmd.arg("run-all-tests.sh").env("TEST_FILTER", "EDGE-006");
        let out = terminate_mid_run(&c, cmd).await;
        assert_eq!(cordoned_or_marked(&c.sim), before, "nodes left cordoned after SIGTERM\n{}", show(&out));
        let r = bash_result(&c, "EDGE-006");
        assert_eq!(r["status"], "FAIL", "{r:#}");
        assert_eq!(r["evidence"]["interrupted_by"], "SIGTERM", "{r:#}");
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn edge_006_python_restores_the_zone_when_terminated() {
        if !kubectl_present() {
            return;
        }
        let c = cluster("default", Some(20.0)).await;
        let before = cordoned_or_marked(&c.sim);
        let pytest = tool("pytest").expect("pytest not found: run hack/tools.sh");
        let report_path = c.dir.path().join("pytest.json");
        let mut cmd = suite_command(&pytest, "spot-behavior-python", &c);
        cmd.args(["-p", "no:cacheprovider", "-q", "--json-report", "test_edge_cases.py"])
            .arg(format!("--json-report-file={}", report_path.display()));
        let out = terminate_mid_run(&c, cmd).await;
        assert_eq!(cordoned_or_marked(&c.sim), before, "nodes left cordoned after SIGTERM\n{}", show(&out));
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&report_path).expect("report written")).expect("JSON");
        assert_eq!(report["exitcode"], 2, "an interrupted session");
        let t = &report["tests"][0];
        assert_eq!(t["outcome"], "failed", "{t:#}");
        assert_eq!(user_property(t, "test_id").and_then(Value::as_str), Some("EDGE-006"));
        c.sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn terratest_suite_passes_on_default_and_fails_on_single_zone() {
        let (Some(go), true) = (tool("go"), kubectl_present()) else {
            eprintln!("skipped: go or kubectl missing");
            return;
        };
        for (scenario, want_fail) in
            [("default", &[][..]), ("single-zone", &["TestEveryPoolIsZonal", "TestSpotNodesSpanZones"][..])]
        {
            let c = cluster(scenario, None).await;
            let cache = std::env::temp_dir().join("aks-spot-test-suites-gocache");
            let mut cmd = suite_command(&go, "terratest", &c);
            cmd.args(["test", "-count=1", "-json", "./..."])
                .env("GOCACHE", &cache)
                .env("GOPATH", cache.join("gopath"))
                .env("GOPROXY", "off")
                .env("GOFLAGS", "-mod=mod")
                .env("GOTOOLCHAIN", "local");
            let out = cmd.output().await.expect("go test runs");
            let mut failed = BTreeSet::new();
            let mut passed = BTreeSet::new();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let Ok(ev) = serde_json::from_str::<Value>(line) else { continue };
                let (Some(test), Some(action)) = (ev["Test"].as_str(), ev["Action"].as_str()) else { continue };
                if test.contains('/') {
                    continue;
                }
                match action {
                    "fail" => failed.insert(test.to_string()),
                    "pass" => passed.insert(test.to_string()),
                    _ => false,
                };
            }
            let want: BTreeSet<String> = want_fail.iter().map(|s| s.to_string()).collect();
            assert_eq!(failed, want, "{scenario}: {}", show(&out));
            assert_eq!(passed.len() + failed.len(), 4, "{scenario}: {}", show(&out));
            c.sim.shutdown().await;
        }
    }
}
