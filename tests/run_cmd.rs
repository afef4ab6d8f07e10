//! `aks-spot-test run` and `demo` through the real binary against the in-process simulated AKS: evictions
//! during the suites are counted exactly (also across a dropped watch answered 410 Gone), an unreachable API
//! server is exit 2 naming it, an API outage mid-run is reported as missed, a held run lock is exit 2 naming the
//! holder, a hung suite is killed with its children and the run goes on, a missing tool is a FAIL entry.
//!
//! Each test starts its own simulator (free ports) and writes its config, kubeconfig and tiny suites into its own
//! tempdir. Suites that must overlap a test action wait for a marker file the test writes, so nothing depends on
//! how fast this machine is; `WAIT` only bounds a hang.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aks_spot_test::sim::testing::{ResourceKind, Scenario, SimHandle, SimOptions, start};
use serde_json::Value;
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_aks-spot-test");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// Upper bound for anything a test waits for; reaching it is a failure, not a timing assertion.
const WAIT: Duration = Duration::from_secs(180);
/// Where `hack/tools.sh` installs Go and pytest (hack/test.sh also puts it on PATH).
const TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hack/.tools/venv/bin");

/// The default scenario without its timeline, so the only evictions are the ones a test makes.
async fn start_sim() -> SimHandle {
    let mut scenario = Scenario::builtin("default").expect("default scenario");
    scenario.timeline.clear();
    let mut attempt = 0;
    loop {
        match start(SimOptions::new(scenario.clone())).await {
            Ok(sim) => return sim,
            // World building can collide on a random pod-name suffix (reported to the simulator's owner).
            Err(e) if attempt < 5 => {
                attempt += 1;
                eprintln!("simulator start failed ({e}), retrying");
            }
            Err(e) => panic!("simulator: {e}"),
        }
    }
}

fn spot_nodes(sim: &SimHandle, pool: &str) -> Vec<String> {
    let page = sim.store().list(ResourceKind::Node, None, None, None, |_| true).expect("nodes");
    let mut names: Vec<String> = page
        .items
        .iter()
        .filter(|n| n["metadata"]["labels"]["kubernetes.azure.com/agentpool"] == pool)
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn node_exists(sim: &SimHandle, name: &str) -> bool {
    sim.store().get(ResourceKind::Node, "", name).is_some()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        // Polls an in-memory store or a file; WAIT above bounds it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A tempdir holding one run's config, kubeconfig, suites, markers and reports.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let ws = Workspace { dir: tempfile::tempdir().expect("tempdir") };
        std::fs::create_dir_all(ws.path("markers")).expect("markers dir");
        ws
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    fn marker(&self, name: &str) -> PathBuf {
        self.path("markers").join(name)
    }

    /// A Bash suite in `<name>/` run by the canonical runner, one script per `(file, body)`; the body runs after
    /// the canonical lib is sourced and `MARKERS` names the marker directory.
    fn bash_suite(&self, name: &str, tests: &[(&str, &str)]) {
        self.write(
            &format!("{name}/run-all-tests.sh"),
            &format!(
                "#!/usr/bin/env bash\nhere=\"$(cd \"$(dirname \"${{BASH_SOURCE[0]}}\")\" && pwd)\"\nSUITE_DIR=\"$here\" \
                 exec bash {REPO}/tests/suites/spot-behavior/run-all-tests.sh \"$@\"\n"
            ),
        );
        for (file, body) in tests {
            self.write(
                &format!("{name}/categories/01-run/{file}"),
                &format!(
                    "#!/usr/bin/env bash\nset -euo pipefail\nsource {REPO}/tests/suites/spot-behavior/lib/common.sh\n\
                     {body}\n"
                ),
            );
        }
        self.write(&format!("{name}/.env"), &format!("MARKERS={}\n", self.path("markers").display()));
    }

    fn config(&self, yaml: &str) -> PathBuf {
        self.write("config.yaml", yaml)
    }

    /// The one JSON report the run wrote.
    fn report(&self) -> Value {
        let dir = self.path("reports");
        let found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(found.len(), 1, "one JSON report: {found:?}");
        serde_json::from_str(&std::fs::read_to_string(&found[0]).expect("read")).expect("the report is JSON")
    }
}

/// A config whose suites are the given flow mappings (`OFF` for a disabled one), run lock `lock`, JSON reports.
fn config_yaml(timeout_seconds: u64, lock: &str, terratest: &str, bash: &str, python: &str) -> String {
    format!(
        "cluster:\n  timeout_seconds: {timeout_seconds}\n  run_lock: {{name: {lock}}}\nremediation: {{enabled: false}}\n\
         reports: {{output_dir: reports, formats: [json]}}\ntest_suites:\n  terratest: {terratest}\n  bash: {bash}\n  \
         python: {python}\n"
    )
}

const OFF: &str = "{enabled: false}";

/// The Bash suite in `suite/` with its `.env`, killed `timeout_minutes` in with a 1 s grace.
fn bash_on(timeout_minutes: f64) -> String {
    format!(
        "{{working_dir: suite, env_file: suite/.env, args: [run-all-tests.sh], timeout_minutes: {timeout_minutes}, \
         kill_grace_seconds: 1}}"
    )
}

struct Run {
    task: JoinHandle<(std::process::ExitStatus, Duration)>,
    pid: u32,
    stdout: PathBuf,
    stderr: PathBuf,
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Finished {
    fn text(&self) -> String {
        format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Starts `aks-spot-test <args>` in the workspace with `path` as its PATH. Output goes to files, so a run that
/// hangs can still be shown.
fn spawn(ws: &Workspace, args: &[&std::ffi::OsStr], path: &str) -> Run {
    spawn_with_env(ws, args, path, &[])
}

/// As `spawn`, with extra environment variables.
fn spawn_with_env(ws: &Workspace, args: &[&std::ffi::OsStr], path: &str, env: &[(&str, String)]) -> Run {
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let stdout = ws.path(&format!("run-{n}.stdout"));
    let stderr = ws.path(&format!("run-{n}.stderr"));
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .current_dir(ws.dir.path())
        .env_remove("AKS_SPOT_TEST_CONFIG")
        .env_remove("KUBECONFIG")
        .env("PATH", path)
        .env("GOCACHE", std::env::temp_dir().join("aks-spot-test-run-cmd-gocache"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .kill_on_drop(true);
    let began = Instant::now();
    let mut child = cmd.spawn().expect("spawn the binary");
    let pid = child.id().expect("pid");
    let task = tokio::spawn(async move {
        let status = child.wait().await.expect("wait for the binary");
        (status, began.elapsed())
    });
    Run { task, pid, stdout, stderr }
}

fn spawn_run(ws: &Workspace, path: &str) -> Run {
    let config = ws.path("config.yaml");
    let kubeconfig = ws.path("kubeconfig");
    let args =
        ["--config".as_ref(), config.as_os_str(), "--kubeconfig".as_ref(), kubeconfig.as_os_str(), "run".as_ref()];
    spawn(ws, &args, path)
}

async fn finish(run: Run) -> Finished {
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let Ok(joined) = tokio::time::timeout(WAIT, run.task).await else {
        panic!("the run did not end within {WAIT:?}\nstdout:\n{}\nstderr:\n{}", read(&run.stdout), read(&run.stderr));
    };
    let (status, elapsed) = joined.expect("join");
    let finished = Finished { code: status.code(), stdout: read(&run.stdout), stderr: read(&run.stderr), elapsed };
    println!("run took {:.1}s\n{}", finished.elapsed.as_secs_f64(), finished.text());
    finished
}

fn default_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// Waits for `marker` while the run is alive; a run that ended first fails the test with its output.
async fn wait_for_marker(run: &Run, marker: &Path) {
    let deadline = Instant::now() + WAIT;
    while !marker.exists() {
        assert!(!run.task.is_finished(), "the run ended before {} appeared", marker.display());
        assert!(Instant::now() < deadline, "gave up waiting for {}", marker.display());
        // A file poll bounded by WAIT.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Bash test that signals `started`, then holds the suite open until the test writes `release`.
const WAITING_TEST: &str = r#"start_test "EVT-001" "Holds the suite open while the cluster changes" "eviction-behavior"
touch "$MARKERS/started"
for _ in $(seq 1 3000); do [[ -e $MARKERS/release ]] && break; sleep 0.1; done
if [[ -e $MARKERS/release ]]; then assert_pass "released by the test"; else assert_fail "released by the test"; fi
finish_test"#;

/// Runs the waiting suite while the test evicts two spotgeneral1 nodes and one spotmemory1 node; with `gone`, the
/// watch connection is dropped after the first eviction and the re-watch answered 410 Gone.
async fn evictions_during_the_suites(gone: bool) {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    ws.bash_suite("suite", &[("EVT-001_wait.sh", WAITING_TEST)]);
    ws.config(&config_yaml(10, "evictions", OFF, &bash_on(3.0), OFF));
    let g1 = spot_nodes(&sim, "spotgeneral1");
    let m1 = spot_nodes(&sim, "spotmemory1");
    let victims = [(g1[0].clone(), "spotgeneral1"), (g1[1].clone(), "spotgeneral1"), (m1[0].clone(), "spotmemory1")];

    let run = spawn_run(&ws, &default_path());
    wait_for_marker(&run, &ws.marker("started")).await;
    // The eviction watch starts before the suites: everything from here on happens inside its window.
    sim.evict_node(&victims[0].0);
    if gone {
        wait_until("the first victim's node to go", || !node_exists(&sim, &victims[0].0)).await;
        sim.kube_faults().gone_next_watches(2);
        sim.kube_faults().drop_watches();
    }
    for (node, _) in &victims[1..] {
        sim.evict_node(node);
    }
    wait_until("every victim's node to go", || victims.iter().all(|(n, _)| !node_exists(&sim, n))).await;
    // The run's watch sees the same store over HTTP; this margin covers its re-list after a dropped connection,
    // not a measurement (the counts below are exact either way, or the test fails).
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::write(ws.marker("release"), "").expect("release");
    let done = finish(run).await;
    assert_eq!(done.code, Some(0), "{}", done.text());

    let report = ws.report();
    let m = &report["eviction_monitoring"];
    println!("eviction_monitoring: {m:#}");
    assert_eq!(m["total_evictions"], 3, "{m:#}");
    let mut seen: Vec<&str> =
        m["events"].as_array().expect("events").iter().filter_map(|e| e["node"].as_str()).collect();
    seen.sort();
    let mut want: Vec<&str> = victims.iter().map(|(n, _)| n.as_str()).collect();
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(m["per_pool"]["spotgeneral1"], 2, "{m:#}");
    assert_eq!(m["per_pool"]["spotmemory1"], 1, "{m:#}");
    assert_eq!(m["per_pool"].as_object().expect("per_pool").len(), 2, "{m:#}");
    let watched = m["watched_seconds"].as_f64().expect("watched_seconds");
    assert!(watched > 0.0);
    let rate = m["eviction_rate_per_hour"].as_f64().expect("rate");
    let expected = 3.0 * 3600.0 / watched;
    assert!((rate - expected).abs() <= 1e-6 * expected, "rate {rate}, expected {expected}");
    assert!(m["gaps"].as_array().is_none_or(|g| g.is_empty()), "a 410 Gone is a resync, not a gap: {m:#}");
    assert_eq!(report["summary"]["passed"], 1, "{:#}", report["summary"]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_counts_evictions_during_the_suites() {
    evictions_during_the_suites(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_counts_evictions_across_a_dropped_watch_answered_410_gone() {
    evictions_during_the_suites(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_at_start_exits_2_naming_the_server() {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    ws.bash_suite("suite", &[("EVT-001_wait.sh", WAITING_TEST)]);
    ws.config(&config_yaml(3, "down", OFF, &bash_on(1.0), OFF));
    sim.kube_faults().set_down(true);
    let done = finish(spawn_run(&ws, &default_path())).await;
    println!("exit 2 after {:.1}s with cluster.timeout_seconds 3", done.elapsed.as_secs_f64());
    assert_eq!(done.code, Some(2), "{}", done.text());
    assert!(done.stderr.contains(&sim.kube_url()), "{}", done.text());
    assert!(!ws.marker("started").exists(), "no suite runs against a dead cluster");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_at_start_exits_2_naming_the_server() {
    let ws = Workspace::new();
    // A port that was free a moment ago and has nobody listening now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let server = format!("http://127.0.0.1:{port}");
    ws.write(
        "kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {{server: \
             \"{server}\"}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: gone}}\nusers:\n- name: gone\n  \
             user: {{token: t}}\n"
        ),
    );
    ws.config(&config_yaml(3, "closed", OFF, OFF, OFF));
    let done = finish(spawn_run(&ws, &default_path())).await;
    println!("exit after {:.1}s with cluster.timeout_seconds 3", done.elapsed.as_secs_f64());
    assert_eq!(done.code, Some(2), "{}", done.text());
    assert!(done.stderr.contains(&server), "{}", done.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_down_mid_run_finishes_and_reports_what_was_missed() {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    ws.bash_suite("suite", &[("EVT-001_wait.sh", WAITING_TEST)]);
    ws.config(&config_yaml(5, "midrun", OFF, &bash_on(3.0), OFF));
    let run = spawn_run(&ws, &default_path());
    wait_for_marker(&run, &ws.marker("started")).await;
    sim.kube_faults().set_down(true);
    sim.kube_faults().drop_watches();
    std::fs::write(ws.marker("release"), "").expect("release");
    let done = finish(run).await;
    assert_eq!(done.code, Some(0), "the suite passed; an outage is not a test failure: {}", done.text());
    let report = ws.report();
    let notes: Vec<&str> = report["notes"].as_array().expect("notes").iter().filter_map(Value::as_str).collect();
    let gaps: Vec<&str> =
        report["eviction_monitoring"]["gaps"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    println!("notes: {notes:#?}\ngaps: {gaps:#?}");
    assert!(
        notes.iter().any(|n| n.contains(&sim.kube_url()) && n.contains("final cluster snapshot was missed")),
        "the missed final snapshot is not in the notes: {notes:#?}"
    );
    assert!(notes.iter().any(|n| n.contains("run lock")), "the unreleased lock is not in the notes: {notes:#?}");
    assert!(report["cluster_state"]["final"].is_null(), "{:#}", report["cluster_state"]);
    assert_eq!(report["summary"]["passed"], 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_concurrent_run_exits_2_naming_the_holder() {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    ws.bash_suite("suite", &[("EVT-001_wait.sh", WAITING_TEST)]);
    ws.config(&config_yaml(10, "concurrent", OFF, &bash_on(3.0), OFF));
    let first = spawn_run(&ws, &default_path());
    // The first run holds the lease from pre-flight until its report: its suite running proves it is inside.
    wait_for_marker(&first, &ws.marker("started")).await;
    let second = finish(spawn_run(&ws, &default_path())).await;
    std::fs::write(ws.marker("release"), "").expect("release");
    assert_eq!(second.code, Some(2), "{}", second.text());
    assert!(second.stderr.contains("concurrent is held by"), "{}", second.text());
    assert!(second.stderr.contains(&format!("/pid-{}/", first.pid)), "holder not named: {}", second.text());
    let first = finish(first).await;
    assert_eq!(first.code, Some(0), "{}", first.text());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_elsewhere_exits_2_naming_the_holder() {
    use aks_spot_test::cluster::lease::RunLock;
    use aks_spot_test::config::schema::RunLockConfig;
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    ws.bash_suite("suite", &[("EVT-001_wait.sh", WAITING_TEST)]);
    ws.config(&config_yaml(10, "held", OFF, &bash_on(1.0), OFF));
    let config =
        RunLockConfig { enabled: true, namespace: "kube-system".into(), name: "held".into(), lease_seconds: 300 };
    let lock = RunLock::acquire(sim.kube_client().await, &config, "ci-runner-7/pid-4242").await.expect("lease");
    let done = finish(spawn_run(&ws, &default_path())).await;
    assert_eq!(done.code, Some(2), "{}", done.text());
    assert!(done.stderr.contains("ci-runner-7/pid-4242"), "{}", done.text());
    assert!(!ws.marker("started").exists(), "no suite runs without the lock");
    lock.release().await.expect("release");
    sim.shutdown().await;
}

/// Processes whose command line is exactly `sleep <secs>`.
fn sleeps_of(secs: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
        if args.len() == 2 && args[0].ends_with(b"sleep") && args[1] == secs.as_bytes() {
            found.push(pid);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_suite_is_killed_with_its_children_and_the_run_goes_on() {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    // A sleep length no other process uses, so leftovers of this run are recognisable.
    let secs = format!("{}.{}", 4000 + std::process::id() % 1000, Instant::now().elapsed().subsec_nanos() % 997);
    ws.write("hang.env", &format!("FIXTURE_HANG=1\nFIXTURE_HANG_SECONDS={secs}\n"));
    ws.write("py/test_after.py", "def test_runs_after_the_hang():\n    assert True\n");
    let fixture = Path::new(REPO).join("tests/fixtures/suites/bash");
    // 0.1 min: long enough for the fixture's quick scripts before FIX-007 on a loaded machine.
    let bash = format!(
        "{{working_dir: {}, env_file: hang.env, args: [run-all-tests.sh], timeout_minutes: 0.1, kill_grace_seconds: 1}}",
        fixture.display()
    );
    let python = "{working_dir: py, env_file: py/.env, venv_path: ~, timeout_minutes: 2}";
    ws.config(&config_yaml(10, "hang", OFF, &bash, python));
    let done = finish(spawn_run(&ws, &format!("{TOOLS}:{}", default_path()))).await;
    assert_eq!(done.code, Some(1), "{}", done.text());

    let report = ws.report();
    let runs = report["suite_runs"].as_array().expect("suite_runs");
    let bash_run = runs.iter().find(|r| r["framework"] == "bash").expect("bash run");
    assert_eq!(bash_run["timed_out"], true, "{bash_run:#}");
    let results = report["test_results"].as_array().expect("results");
    let hung = results.iter().find(|r| r["test_id"] == "FIX-007").expect("the hung test has an entry");
    assert_eq!(hung["status"], "FAIL", "{hung:#}");
    let after = results.iter().find(|r| r["framework"] == "python").expect("the next suite ran");
    assert_eq!(after["status"], "PASS", "{after:#}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("timed out"), "{notes}");
    let left = sleeps_of(&secs);
    for pid in &left {
        // Leftovers of this very test (their sleep length is ours alone): don't leave them running.
        if let Ok(pid) = i32::try_from(*pid) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
    assert!(left.is_empty(), "the hung suite's children outlived it: {left:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_go_is_a_fail_entry_not_a_crash() {
    let sim = start_sim().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    std::fs::create_dir_all(ws.path("go")).expect("go dir");
    std::fs::create_dir_all(ws.path("bin")).expect("bin dir");
    std::os::unix::fs::symlink("/bin/bash", ws.path("bin/bash")).expect("bash link");
    let terratest = "{working_dir: go, env_file: go/.env, args: ['./...'], timeout_minutes: 1}";
    ws.config(&config_yaml(10, "nogo", terratest, OFF, OFF));
    let path = ws.path("bin").display().to_string();
    let done = finish(spawn_run(&ws, &path)).await;
    assert_eq!(done.code, Some(1), "{}", done.text());
    let report = ws.report();
    let fails: Vec<&Value> =
        report["test_results"].as_array().expect("results").iter().filter(|r| r["status"] == "FAIL").collect();
    assert_eq!(fails.len(), 1, "{fails:#?}");
    assert_eq!(fails[0]["framework"], "terratest");
    let message = fails[0]["error_message"].as_str().unwrap_or("");
    // "go not found on PATH (install Go and put it on PATH)"
    assert!(message.contains("go not found on PATH"), "{message}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_report_paths_and_exits_0_or_1() {
    let ws = Workspace::new();
    let out = ws.path("demo");
    let done = finish(spawn(
        &ws,
        &["demo".as_ref(), "--output-dir".as_ref(), out.as_os_str()],
        &format!("{TOOLS}:{}", default_path()),
    ))
    .await;
    assert!(matches!(done.code, Some(0 | 1)), "{}", done.text());
    let reports: Vec<PathBuf> =
        done.stdout.lines().filter_map(|l| l.strip_prefix("report: ")).map(PathBuf::from).collect();
    assert!(!reports.is_empty(), "{}", done.text());
    for r in &reports {
        assert!(r.is_file(), "{} printed but not written", r.display());
    }
    let json = reports.iter().find(|p| p.extension().is_some_and(|e| e == "json")).expect("a JSON report");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).expect("read")).expect("JSON");
    let s = &report["summary"];
    assert!(s["total_tests"].as_u64().expect("total") > 0, "{s:#}");
    assert_eq!(
        s["total_tests"].as_u64(),
        Some(
            s["passed"].as_u64().unwrap_or(0) + s["failed"].as_u64().unwrap_or(0) + s["skipped"].as_u64().unwrap_or(0)
        )
    );
    assert_eq!(done.code, Some(if s["failed"] == 0 { 0 } else { 1 }), "exit code disagrees with {s:#}");
}

/// The default scenario's ghost instance and stuck node, present from the start, and no evictions.
async fn start_sim_with_ghost_and_stuck_node() -> SimHandle {
    let mut scenario = Scenario::builtin("default").expect("default scenario");
    scenario.timeline.retain(|t| t.at_seconds == 0.0);
    assert_eq!(scenario.timeline.len(), 2, "the default scenario's ghost and stuck node");
    start(SimOptions::new(scenario)).await.expect("simulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_remediates_after_the_suites_and_no_remediate_leaves_azure_alone() {
    let sim = start_sim_with_ghost_and_stuck_node().await;
    let ws = Workspace::new();
    sim.write_kubeconfig(&ws.path("kubeconfig")).expect("kubeconfig");
    let yaml = config_yaml(10, "remediation", OFF, OFF, OFF).replace("remediation: {enabled: false}", "");
    ws.config(&yaml);
    let azure = [
        ("AZURE_ARM_ENDPOINT", sim.arm_url()),
        ("AZURE_SUBSCRIPTION_ID", sim.subscription_id().to_string()),
        ("AZURE_TOKEN_ENDPOINT", sim.token_url()),
    ];
    let run_args = |extra: &'static str| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--config".into(),
            ws.path("config.yaml").into(),
            "--kubeconfig".into(),
            ws.path("kubeconfig").into(),
            "run".into(),
        ];
        if !extra.is_empty() {
            args.push(extra.into());
        }
        args
    };
    let ready_before: Vec<String> = sim
        .store()
        .list(ResourceKind::Node, None, None, None, |n| {
            n["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .expect("nodes")
        .items
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    let nodes_before = sim.store().count(ResourceKind::Node);

    // --no-remediate: nothing in Azure or among the nodes changes, and the report says remediation was off.
    sim.log().clear();
    let args = run_args("--no-remediate");
    let argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let done = finish(spawn_with_env(&ws, &argv, &default_path(), &azure)).await;
    assert_eq!(done.code, Some(0), "{}", done.text());
    let report = ws.report();
    assert_eq!(report["remediation"]["actions_taken"], 0, "{:#?}", report["remediation"]);
    let notes = report["notes"].to_string();
    assert!(notes.contains("remediation is off"), "{notes}");
    let forbidden: Vec<_> = sim
        .log()
        .records()
        .into_iter()
        .filter(|r| r.endpoint == "arm" || (r.method == "DELETE" && r.path.contains("/nodes/")))
        .collect();
    assert!(forbidden.is_empty(), "--no-remediate reached Azure or deleted a node: {forbidden:?}");
    assert_eq!(sim.store().count(ResourceKind::Node), nodes_before);
    std::fs::remove_dir_all(ws.path("reports")).expect("clear reports");

    // A real run deletes the ghost and the stuck node, and only those.
    let args = run_args("");
    let argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let done = finish(spawn_with_env(&ws, &argv, &default_path(), &azure)).await;
    assert_eq!(done.code, Some(0), "{}", done.text());
    let report = ws.report();
    assert_eq!(report["remediation"]["vmss_ghosts_deleted"], 1, "{:#?}", report["remediation"]);
    assert_eq!(report["remediation"]["stuck_nodes_deleted"], 1, "{:#?}", report["remediation"]);
    assert_eq!(sim.store().count(ResourceKind::Node), nodes_before - 1);
    let gone: Vec<&String> = ready_before.iter().filter(|n| !node_exists(&sim, n)).collect();
    assert!(gone.is_empty(), "remediation touched Ready nodes: {gone:?}");
    sim.shutdown().await;
}
