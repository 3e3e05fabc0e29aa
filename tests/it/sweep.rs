//! `sigstorm sweep`: a real tiny sweep writes summary.json with its sweep
//! section and the charts; bad input exits 2 naming the field.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn sigstorm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigstorm"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigstorm-it-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_tiny_rate_sweep_writes_its_points_knee_and_charts() {
    let dir = scratch("rate");
    let out = dir.join("results");
    let o = sigstorm()
        .args(["sweep", "workloads/capacity.toml", "--vary", "rate=300,600"])
        .args([
            "--strategies",
            "per-region",
            "--duration",
            "0.5",
            "--slo",
            "p99=1s",
        ])
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("knee: "), "{stdout}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["kind"], "sweep");
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["vary"]["field"], "load.rate_per_sec");
    assert_eq!(summary["slo"]["p99_us"], 1_000_000.0);
    let sweep = summary["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 1);
    assert_eq!(sweep[0]["label"], "per-region");
    let points = sweep[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for (p, rate) in points.iter().zip([300.0, 600.0]) {
        assert_eq!(p["value"], rate);
        for field in ["offered_rps", "achieved_rps", "p99_us"] {
            assert!(p[field].as_f64().unwrap() > 0.0, "{field}: {p}");
        }
        assert_eq!(p["shed"], 0);
        assert!(p["meets_slo"].is_boolean());
    }
    // A sweep this light keeps up: the knee is the larger rate.
    assert_eq!(sweep[0]["knee_rps"], 600.0, "{}", sweep[0]);
    for chart in ["sweep-throughput", "sweep-p99"] {
        for ext in ["svg", "png"] {
            let f = out.join(format!("{chart}.{ext}"));
            assert!(std::fs::metadata(&f).unwrap().len() > 0, "{}", f.display());
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("knee at 600 req/s"), "headline");
    // `sigstorm report` regenerates a sweep's report.
    let o = sigstorm().arg("report").arg(&out).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_sweeps_exit_2_naming_the_field() {
    let dir = scratch("bad");
    for (args, needle) in [
        (vec!["--vary", "load.rat=1,2"], "load.rat"),
        (vec!["--vary", "name=1"], "not a numeric field"),
        (vec!["--vary", "workers=0,1"], "data_plane.workers"),
        (vec!["--vary", "rate=1000", "--slo", "p99=2"], "unit"),
        (vec!["--vary", "workers=1,2", "--bisect", "2"], "--bisect"),
    ] {
        let o = sigstorm()
            .args(["sweep", "workloads/capacity.toml", "--quiet", "--out"])
            .arg(dir.join("out"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!dir.join("out").join("summary.json").exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
