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
