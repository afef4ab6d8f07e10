//! The HTML report: an insta snapshot of the realistic report, hostile text that must stay text
//! (checked on the markup, by property, and in a real headless Chromium), and the file writer.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aks_spot_test::config::schema::ReportFormat;
use aks_spot_test::report::model::TestReport;
use aks_spot_test::report::{build_report, to_html, to_json, write_reports};
use common::fixtures::{TestResultBuilder, facts, realistic_report};
use proptest::prelude::*;

mod common;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Sets `data-pwned` on the body if any of it ever runs as script.
const IMG_PAYLOAD: &str = r#"<img src=x onerror="document.body.setAttribute('data-pwned','img')">"#;
const SCRIPT_PAYLOAD: &str = r#"</script><script>document.body.setAttribute('data-pwned','script')</script>"#;

fn hostile_report() -> TestReport {
    let results = vec![
        TestResultBuilder::new(IMG_PAYLOAD).bash().category("<b>bold</b>").fail(SCRIPT_PAYLOAD).build(),
        TestResultBuilder::new(SCRIPT_PAYLOAD)
            .python()
            .name("{{cluster}} {{{report_pretty}}}")
            .fail("line\u{2028}separator\u{2029}<!--<script>")
            .reproduce("echo '</script>' && kubectl get nodes")
            .output("\"><svg onload=\"document.body.setAttribute('data-pwned','svg')\">")
            .build(),
        TestResultBuilder::new("javascript:alert(1)").terratest().skip("' onmouseover='x").build(),
        TestResultBuilder::new("plain-ok").bash().build(),
    ];
    let mut f = facts();
    f.cluster_name = "<svg onload=\"document.body.setAttribute('data-pwned','cluster')\">".to_string();
    f.notes = vec![SCRIPT_PAYLOAD.to_string()];
    build_report(results, f)
}

/// The text of the `<script type="application/json">` element.
fn embedded_json(html: &str) -> &str {
    let open = r#"<script type="application/json" id="report-data">"#;
    let start = html.find(open).unwrap() + open.len();
    let len = html[start..].find("</script>").unwrap();
    &html[start..start + len]
}

fn assert_markup_is_safe(report: &TestReport, html: &str) {
    // Two script elements in the template, so two closing tags; a third means text broke out.
    assert_eq!(html.to_ascii_lowercase().matches("</script").count(), 2, "a script element was closed early");
    let json = embedded_json(html);
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'), "{json}");
    assert!(!json.contains('\u{2028}') && !json.contains('\u{2029}'));
    let back: TestReport = serde_json::from_str(json).unwrap();
    assert_eq!(to_json(&back).unwrap(), to_json(report).unwrap(), "embedded JSON must be the report itself");
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", to_html(&realistic_report()).unwrap());
}

#[test]
fn realistic_report_has_every_section() {
    let html = to_html(&realistic_report()).unwrap();
    for id in [
        "quick-stats",
        "summary",
        "cluster-health",
        "evictions",
        "remediation",
        "results",
        "failed",
        "preflight",
        "appendix",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "section {id} missing");
    }
    assert_eq!(html.matches("<tr class=\"result ").count(), 8);
    assert_eq!(html.matches("<div class=\"deep\">").count(), 5);
    assert!(html.contains("<span class=\"badge fail\" id=\"overall\">FAIL</span>"));
    assert!(html.contains("aks-spotgeneral1-12345678-vmss000002"));
    assert!(html.contains("delete_vmss_ghost"));
    // The derived rerun command for a Go subtest, quoted for the shell, then escaped for HTML.
    assert!(html.contains("go test -count&#x3D;1 -run &#x27;^TestAksSpotModulePlan$/^spot_pools$&#x27;"), "{html}");
    assert_markup_is_safe(&realistic_report(), &html);
}

#[test]
fn hostile_text_stays_text() {
    let report = hostile_report();
    let html = to_html(&report).unwrap();
    assert_markup_is_safe(&report, &html);
    for raw in ["<img src=x", "<svg onload", "<b>bold", "<!--<script>"] {
        assert!(!html.contains(raw), "{raw} reached the markup unescaped");
    }
    assert!(html.contains("&lt;img src&#x3D;x onerror&#x3D;"));
    // Handlebars syntax inside data is data: it is printed, not evaluated.
    assert!(html.contains("{{cluster}} {{{report_pretty}}}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_text_keeps_the_markup_intact(
        id in "[a-z<>/&\"'=\u{2028}\u{2029} {}!-]{0,40}",
        message in any::<String>(),
        cluster in "[a-z<>/&\"' scrip-]{0,24}",
    ) {
        let mut f = facts();
        f.cluster_name = cluster;
        let report = build_report(vec![TestResultBuilder::new(&id).python().fail(&message).build()], f);
        let html = to_html(&report).unwrap();
        assert_markup_is_safe(&report, &html);
    }
}

#[test]
fn writer_writes_the_html_file() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = write_reports(&realistic_report(), &[ReportFormat::Html], dir.path());
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let (_, path) = &outcome.written[0];
    assert_eq!(path.file_name().unwrap(), "test-report-2026-02-08-143022.html");
    assert_eq!(std::fs::read_to_string(path).unwrap(), to_html(&realistic_report()).unwrap());
}

/// Runs headless Chromium on `url` with `extra` flags, in a fresh profile, for at most 90 s.
fn chromium(url: &str, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Lets the image error and any other queued task run before the DOM is dumped.
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Chromium normally finishes in a few seconds; a hung browser must fail the test, not stall it.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn chromium_present() -> bool {
    if Path::new(CHROMIUM).is_file() {
        return true;
    }
    eprintln!("skipped: {CHROMIUM} not found (hack/tools.sh installs it)");
    false
}

fn write_html(dir: &Path, report: &TestReport) -> PathBuf {
    let outcome = write_reports(report, &[ReportFormat::Html], dir);
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    outcome.written[0].1.clone()
}

/// The opening `<body ...>` tag of a dumped DOM, where the scripts leave their markers.
fn body_tag(dom: &str) -> &str {
    let start = dom.find("<body").unwrap_or(0);
    let end = dom[start..].find('>').map_or(dom.len(), |i| start + i + 1);
    &dom[start..end]
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn chromium_runs_the_script_and_filters_from_the_address() {
    if !chromium_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_html(dir.path(), &realistic_report());
    let dom = chromium(&file_url(&path), &["--dump-dom"]);
    assert!(dom.contains("data-script=\"ran\""), "the script did not run:\n{dom}");
    assert!(dom.contains("8 of 8 shown"), "{dom}");
    // Framework options are built by the script from the embedded JSON.
    assert!(dom.contains("<option value=\"terratest\">terratest</option>"), "{dom}");

    let dom = chromium(&format!("{}#status=FAIL", file_url(&path)), &["--dump-dom"]);
    assert!(dom.contains("5 of 8 shown"), "{dom}");
    assert_eq!(dom.matches("<tr class=\"result pass\" data-status=\"PASS\"").count(), 2);
    // Two passing rows, one skipped row and all eight detail rows are hidden.
    assert_eq!(dom.matches("hidden=\"\"").count(), 3 + 8, "{dom}");

    if std::env::var_os("AKS_SPOT_TEST_SCREENSHOT").is_some() {
        let shot = std::env::temp_dir().join("aks-spot-test-report.png");
        chromium(&file_url(&path), &[&format!("--screenshot={}", shot.display()), "--window-size=1280,3200"]);
        eprintln!("screenshot at {}", shot.display());
    }
}

#[test]
fn chromium_does_not_execute_hostile_text() {
    if !chromium_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_html(dir.path(), &hostile_report());
    let dom = chromium(&file_url(&path), &["--dump-dom"]);
    assert!(dom.contains("data-script=\"ran\""), "the page script broke:\n{dom}");
    assert!(dom.contains("4 of 4 shown"), "{dom}");
    // The payloads appear as text; only an attribute set on the body would mean one ran.
    assert!(!body_tag(&dom).contains("data-pwned") && !dom.contains("data-pwned=\""), "hostile text executed:\n{dom}");
    assert!(dom.contains("&lt;img src=x onerror="), "the hostile id is shown as text:\n{dom}");

    // The same payload written unescaped does set the marker: the check above can fail.
    let control = dir.path().join("control.html");
    std::fs::write(&control, format!("<!DOCTYPE html><html><body><p>{IMG_PAYLOAD}</p></body></html>")).unwrap();
    let dom = chromium(&file_url(&control), &["--dump-dom"]);
    assert!(body_tag(&dom).contains("data-pwned=\"img\""), "control payload did not run:\n{dom}");
}
