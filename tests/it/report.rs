//! The report every run writes: a short real run with a storm and a fault
//! writes `report.html`, `summary.md` and every chart as SVG and PNG;
//! `report.html` opened in headless Chromium renders every chart (skipped
//! when Chromium is not installed, unless `SIGSTORM_REQUIRE_CHROMIUM=1`);
//! `sigstorm report DIR` regenerates it all from the folder; `sigstorm
//! compare A B` tells two runs apart; both exit 2 on a folder that is not a
//! run's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A small world with something to draw in every chart: a cached and an
/// uncached strategy, new users early (control-plane writes that take
/// seconds to replicate: a backlog and a lag), and a regional incident
/// (ServiceUnavailable answers in one region).
const WORKLOAD: &str = r#"
name = "test-report"
seed = 11
strategies = ["none", "per-service"]
[clock]
start = "2026-06-01T12:00:00Z"
[run]
duration_s = 2.0
warmup_s = 0.5
drain_timeout_s = 5
interval_ms = 100
[load]
rate_per_sec = 500
[[regions]]
name = "us-east-1"
rtt_ms = 1
[[regions]]
name = "eu-north-1"
rtt_ms = 8
[data_plane]
workers = 1
[principals]
users = 20
[[schedule]]
kind = "create_users"
at_s = 0.2
count = 5
use_after_s = 5
[[schedule]]
kind = "regional_incident"
at_s = 0.8
duration_s = 0.6
region = "eu-north-1"
error_rate = 0.5
"#;

/// Every chart the run above draws.
const CHARTS: [&str; 8] = [
    "strategies",
    "latency-spectrum",
    "throughput",
    "latency-p99",
    "cache-hit-ratio",
    "errors",
    "replication-backlog",
    "replication-lag",
];

fn sigstorm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigstorm"))
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sigstorm-it-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The results folder of one short real run, shared by the tests here.
fn run_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("run");
        let workload = dir.join("workload.toml");
        std::fs::write(&workload, WORKLOAD).unwrap();
        let out = dir.join("results");
        let o = sigstorm()
            .arg("run")
            .arg(&workload)
            .arg("--quiet")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("report.html"), "{stderr}");
        out
    })
}

/// The tests that use [`run_dir`]; the last to finish removes it (a failed
/// test leaves it behind to look at).
const RUN_USERS: usize = 4;

fn done_with_run_dir() {
    static DONE: AtomicUsize = AtomicUsize::new(0);
    if DONE.fetch_add(1, Ordering::SeqCst) + 1 == RUN_USERS {
        if let Some(parent) = run_dir().parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn a_run_writes_a_report_and_every_chart() {
    let dir = run_dir();
    let names = files(dir);
    for f in [
        "summary.json",
        "events.json",
        "histograms.hlog",
        "report.html",
        "summary.md",
    ] {
        assert!(names.iter().any(|n| n == f), "{f} in {names:?}");
    }
    for id in CHARTS {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{id}.{ext}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                bytes.len() > 2000,
                "{} is {} bytes",
                path.display(),
                bytes.len()
            );
            if ext == "png" {
                assert_eq!(&bytes[1..4], b"PNG", "{}", path.display());
            }
        }
    }
    assert!(names.len() <= 30, "{} files: {names:?}", names.len());

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // Self-contained: nothing is fetched.
    for remote in ["http://", "https://", "<link", "src=\""] {
        let found = html
            .match_indices(remote)
            .map(|(i, _)| &html[i.saturating_sub(40)..(i + 60).min(html.len())])
            .find(|ctx| !ctx.contains("www.w3.org/2000/svg"));
        assert!(found.is_none(), "report.html refers to {remote}: {found:?}");
    }
    for id in CHARTS {
        assert!(
            html.contains(&format!("id=\"chart-{id}\" data-chart=\"{id}\"><svg")),
            "chart {id} inlined"
        );
    }
    for section in [
        "id=\"headline\"",
        "id=\"comparison-table\"",
        "id=\"phase-table\"",
        "id=\"events-table\"",
        "id=\"workload\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
    assert!(html.contains("storm: create_users") && html.contains("fault: regional_incident"));
    let headline = html.split("id=\"headline\">").nth(1).unwrap();
    assert!(
        headline.starts_with("per-service wins:"),
        "{}",
        &headline[..200]
    );

    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.lines().count() <= 30, "{md}");
    assert!(md.contains("| **per-service** |"), "{md}");
    assert!(md.contains("fault: regional_incident`"), "{md}");
    assert!(md.contains("ServiceUnavailable"), "{md}");
    done_with_run_dir();
}

/// The name of an installed Chromium, or `None`.
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
                .map(|_| name.to_string())
        })
}

#[test]
fn report_html_renders_every_chart_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("SIGSTORM_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!("SIGSTORM_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install -y chromium)");
        }
        eprintln!(
            "skipped: chromium is not installed (apt-get install -y chromium to run this test)"
        );
        done_with_run_dir();
        return;
    };
    let dir = run_dir();
    let work = scratch("chromium");
    let dom_path = work.join("dom.html");
    let page = dir.join("report.html").canonicalize().unwrap();
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dom_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium exited with {status}");
    let dom = std::fs::read_to_string(&dom_path).unwrap();
    let tally = format!(
        "<pre id=\"render-check\" data-total=\"{n}\" data-ok=\"{n}\">charts={n} rendered={n}",
        n = CHARTS.len()
    );
    let check = dom
        .split("<pre id=\"render-check\"")
        .nth(1)
        .map(|s| s.split("</pre>").next().unwrap_or(s))
        .unwrap_or("(no render-check element: the page's script did not run)");
    assert!(dom.contains(&tally), "render check: {check}");
    for id in CHARTS {
        let tag = dom
            .split(&format!("data-chart=\"{id}\""))
            .nth(1)
            .and_then(|s| s.split('>').next())
            .unwrap_or_else(|| panic!("chart {id} missing from the DOM"));
        assert!(
            tag.contains("data-rendered=\"yes\""),
            "{id}: {tag}; {check}"
        );
    }
    let _ = std::fs::remove_dir_all(work);
    done_with_run_dir();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn report_regenerates_everything_from_the_folder() {
    let work = scratch("regenerate");
    let copy = work.join("run");
    copy_dir(run_dir(), &copy);
    let before = files(&copy);
    for name in &before {
        if name.ends_with(".svg")
            || name.ends_with(".png")
            || name == "report.html"
            || name == "summary.md"
        {
            std::fs::remove_file(copy.join(name)).unwrap();
        }
    }
    let o = sigstorm().arg("report").arg(&copy).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(files(&copy), before);
    assert_eq!(
        std::fs::read_to_string(copy.join("summary.md")).unwrap(),
        std::fs::read_to_string(run_dir().join("summary.md")).unwrap()
    );
    let _ = std::fs::remove_dir_all(work);
    done_with_run_dir();
}

#[test]
fn compare_tells_two_runs_apart() {
    let work = scratch("compare");
    let a = run_dir();
    // B: the same run with per-service's p99 doubled and its throughput
    // halved.
    let b = work.join("b");
    copy_dir(a, &b);
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("summary.json")).unwrap()).unwrap();
    summary["run_id"] = Value::from("run-b");
    for run in summary["runs"].as_array_mut().unwrap() {
        if run["label"] == "per-service" {
            let p99 = run["latency_us"]["p99"].as_f64().unwrap();
            run["latency_us"]["p99"] = Value::from(p99 * 2.0);
            let rps = run["achieved_rps"].as_f64().unwrap();
            run["achieved_rps"] = Value::from(rps / 2.0);
        }
    }
    std::fs::write(
        b.join("summary.json"),
        serde_json::to_vec(&summary).unwrap(),
    )
    .unwrap();
    let out = work.join("out");
    let o = sigstorm()
        .arg("compare")
        .arg(a)
        .arg(&b)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = |label: &str, metric: &str| {
        let mut current = String::new();
        stdout
            .lines()
            .find(|l| {
                let mut cells = l.split_whitespace();
                let first = cells.next().unwrap_or("");
                if first == "none" || first == "per-service" {
                    current = first.to_string();
                }
                current == label && l.split_whitespace().any(|c| c == metric)
            })
            .unwrap_or_else(|| panic!("no {label} {metric} line in\n{stdout}"))
            .to_string()
    };
    assert!(
        line("per-service", "p99").contains("2.00x  worse"),
        "{stdout}"
    );
    assert!(
        line("per-service", "throughput").ends_with("worse"),
        "{stdout}"
    );
    assert!(line("per-service", "p50").ends_with("same"), "{stdout}");
    assert!(line("none", "p99").ends_with("same"), "{stdout}");
    assert!(stdout.contains("0 better, 2 worse, 8 same"), "{stdout}");
    for ext in ["svg", "png"] {
        assert!(
            out.join(format!("compare.{ext}")).is_file(),
            "compare.{ext}"
        );
    }
    // Without --out, the chart goes into B's folder.
    let o = sigstorm().arg("compare").arg(a).arg(&b).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(b.join("compare.svg").is_file() && b.join("compare.png").is_file());
    let _ = std::fs::remove_dir_all(work);
    done_with_run_dir();
}

#[test]
fn report_and_compare_refuse_a_folder_without_a_summary() {
    let empty = scratch("empty");
    let o = sigstorm().arg("report").arg(&empty).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("holds no summary.json"), "{stderr}");
    let o = sigstorm()
        .arg("compare")
        .arg(&empty)
        .arg(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("A: ") && stderr.contains("holds no summary.json"),
        "{stderr}"
    );
    let o = sigstorm().args(["compare", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("better") && help.contains("--tolerance"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(empty);
}
