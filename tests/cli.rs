//! The binary as a user meets it: `--help` texts (insta snapshots), exit codes of bad usage and bad
//! configuration, and completion scripts.

use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aks-spot-test"));
    // Help wraps at the terminal width: fix it. Env values show in help (`[env: X=value]`) and the layers
    // read these, so none may leak in from the machine running the tests.
    cmd.env("COLUMNS", "100").env("NO_COLOR", "1");
    // No ~/.kube/config of the machine running the tests may point a command at a real cluster.
    cmd.env("HOME", "/nonexistent/aks-spot-test-home");
    for var in [
        "AKS_SPOT_TEST_CONFIG",
        "AKS_SPOT_TEST_OUTPUT_DIR",
        "AKS_SPOT_TEST_CONTEXT",
        "AKS_SPOT_TEST_CLUSTER_NAME",
        "AKS_SPOT_TEST_NO_REMEDIATE",
        "AKS_SPOT_TEST_FORMATS",
        "KUBECONFIG",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

fn write_config(dir: &Path, body: &str) -> String {
    let file = dir.join("config.yaml");
    std::fs::write(&file, body).expect("write config");
    file.to_str().expect("utf-8 temp path").to_string()
}

#[test]
fn help_of_the_binary_and_every_subcommand() {
    let cases: [(&str, &[&str]); 9] = [
        ("root", &["--help"]),
        ("run", &["run", "--help"]),
        ("report", &["report", "--help"]),
        ("remediate", &["remediate", "--help"]),
        ("monitor", &["monitor", "--help"]),
        ("snapshot", &["snapshot", "--help"]),
        ("demo", &["demo", "--help"]),
        ("sim", &["sim", "--help"]),
        ("completions", &["completions", "--help"]),
    ];
    for (name, args) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        insta::assert_snapshot!(format!("help_{name}"), text(&out.stdout));
    }
}

#[test]
fn version_exits_zero() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("aks-spot-test "), "{}", text(&out.stdout));
}

#[test]
fn bad_usage_exits_3() {
    let cases: [&[&str]; 6] = [
        &[],
        &["frobnicate"],
        &["run", "--bogus"],
        &["-v", "-q", "snapshot"],
        &["completions", "powershell"],
        &["monitor", "--interval", "soon"],
    ];
    for args in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
        assert!(!out.stderr.is_empty(), "{args:?} says nothing");
    }
}

#[test]
fn wrong_type_in_config_exits_3_naming_file_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "test_suites:\n  bash:\n    timeout_minutes: ten\n");
    let out = run(&["--config", &file, "run"]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stderr).trim_end(),
        format!(r#"error: {file}: test_suites.bash.timeout_minutes: invalid type: string "ten", expected f64"#)
    );
}

#[test]
fn invalid_value_in_config_exits_3_naming_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "remediation:\n  max_unhealthy_percent: 150\n");
    let out = run(&["--config", &file, "snapshot"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("remediation.max_unhealthy_percent: must be between 0 and 100"));
}

#[test]
fn config_from_env_variable_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "cluster:\n  run_lock:\n    lease_seconds: 5\n");
    let out = bin().env("AKS_SPOT_TEST_CONFIG", &file).arg("remediate").output().expect("binary runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cluster.run_lock.lease_seconds: must be at least 15"));
}

#[test]
fn missing_or_broken_config_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.yaml");
    let out = run(&["--config", missing.to_str().expect("utf-8"), "run"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("failed to read"), "{}", text(&out.stderr));

    let file = write_config(dir.path(), "cluster: [\n");
    let out = run(&["--config", &file, "run"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("not valid YAML"), "{}", text(&out.stderr));
}

#[test]
fn bad_environment_value_exits_3_naming_the_variable() {
    let out = bin().env("AKS_SPOT_TEST_FORMATS", "json,pdf").arg("report").output().expect("binary runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("env AKS_SPOT_TEST_FORMATS: unknown format \"pdf\""));
}

#[test]
fn unknown_key_warns_and_does_not_stop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_config(dir.path(), "cluster:\n  contxt: spot\n");
    let out = run(&["--config", &file, "snapshot"]);
    assert_ne!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{file}: cluster.contxt: unknown key, ignored")), "{stderr}");

    // -q: errors only, so the warning goes.
    let out = run(&["-q", "--config", &file, "snapshot"]);
    assert!(!text(&out.stderr).contains("unknown key"), "{}", text(&out.stderr));
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("aks-spot-test"), "{shell}");
        assert!(script.contains("skip-terratest"), "{shell} lacks run's flags");
    }
}

#[test]
fn a_bad_scenario_file_exits_3_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, "name: x\nbogus: 1\n").expect("write");
    let out = run(&["sim", "--scenario", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unknown field `bogus`"), "{}", text(&out.stderr));
    let missing = dir.path().join("none.yaml");
    let out = run(&["sim", "--scenario", missing.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}
