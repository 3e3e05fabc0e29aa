//! `sigstorm sweep`: a real tiny sweep writes summary.json with its sweep
//! section and the charts, matches `schemas/sweep.schema.json`, and carries
//! the what-if answer from its own points (and a workers sweep its USL fit);
//! bad input exits 2 naming the field.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `workloads/capacity.toml` without warm-up, so a point costs its measured
/// second and the drain.
fn capacity_without_warmup(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("workloads/capacity.toml")).unwrap();
    assert!(text.contains("warmup_s = 1\n"), "capacity.toml changed");
    let path = dir.join("capacity.toml");
    std::fs::write(&path, text.replace("warmup_s = 1\n", "warmup_s = 0\n")).unwrap();
    path
}

/// A validator of `schemas/sweep.schema.json`, with the run schema it
/// refers to (for the workload and environment) registered under its id.
fn sweep_validator() -> jsonschema::Validator {
    let read = |name: &str| -> Value {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{name}.schema.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let summary = read("summary");
    let id = summary["$id"].as_str().unwrap().to_string();
    jsonschema::options()
        .with_resource(id, jsonschema::Resource::from_contents(summary).unwrap())
        .build(&read("sweep"))
        .unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, v: &Value) -> Vec<String> {
    validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

fn f(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {field} in {v}"))
}

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
            "--usl-threads",
            "none",
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
    assert!(!stdout.contains("scalability probe"), "{stdout}");
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
    // --usl-threads none: no probe, so no fit.
    assert!(sweep[0].get("probe").is_none(), "{}", sweep[0]);
    assert!(sweep[0]["usl"].is_null());
    for chart in ["sweep-throughput", "sweep-p99"] {
        for ext in ["svg", "png"] {
            let f = out.join(format!("{chart}.{ext}"));
            assert!(std::fs::metadata(&f).unwrap().len() > 0, "{}", f.display());
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The highest rate swept met the SLO: the knee is only a lower bound,
    // and every output says so.
    assert!(html.contains("knee at least 600 req/s"), "headline");
    assert!(
        stdout.contains("knee: at least 600 req/s (a lower bound"),
        "{stdout}"
    );
    let caveats = sweep[0]["knee_caveats"].as_array().unwrap();
    assert_eq!(caveats.len(), 1, "{caveats:?}");
    assert!(caveats[0].as_str().unwrap().starts_with("a lower bound"));
    // Each point carries the machine's own stalls.
    for p in points {
        assert!(p["detail"]["hiccup_p99_us"].as_f64().unwrap() > 0.0, "{p}");
        assert!(
            p["detail"]["hiccup_max_us"].as_f64().unwrap()
                >= p["detail"]["hiccup_p99_us"].as_f64().unwrap()
        );
    }
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
        (vec!["--vary", "rate=1000", "--p99-ms", "0"], "--p99-ms"),
        (vec!["--vary", "rate=1000", "--keys", "0"], "--keys"),
        (
            vec!["--vary", "rate=1000", "--rps-per-region=-5"],
            "--rps-per-region",
        ),
        (
            vec!["--vary", "rate=1000", "--usl-threads", "0,1"],
            "--usl-threads",
        ),
        (
            vec!["--vary", "rate=1000", "--usl-threads", "two"],
            "--usl-threads",
        ),
        (
            vec!["--vary", "rate=1000", "--probe-seconds", "0"],
            "--probe-seconds",
        ),
        (
            vec!["--vary", "workers=1,2", "--usl-threads", "1,2,3"],
            "follows a rate sweep",
        ),
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

#[test]
fn a_real_sweep_matches_its_schema_and_its_figures_and_whatif_agree() {
    let dir = scratch("schema");
    let workload = capacity_without_warmup(&dir);
    let out = dir.join("results");
    let o = sigstorm()
        .arg("sweep")
        .arg(&workload)
        .args([
            "--vary",
            "rate=300,600",
            "--duration",
            "1",
            "--slo",
            "p99=1s",
        ])
        .args([
            "--rps-per-region",
            "50000",
            "--p99-ms",
            "3",
            "--keys",
            "2000",
        ])
        .args(["--regions", "4", "--quiet", "--out"])
        .arg(&out)
        .args(["--usl-threads", "1,2,3", "--probe-seconds", "0.2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("what if: 50,000 req/s per region at p99 <= 3 ms, 2,000 keys, 4 regions"),
        "{stdout}"
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let validator = sweep_validator();
    let errors = schema_errors(&validator, &summary);
    assert!(
        errors.is_empty(),
        "summary.json does not match schemas/sweep.schema.json:\n{}",
        errors.join("\n")
    );
    // The schema is not vacuous: a point without its verdict, or a knee
    // that is not a number, is refused.
    let mut bad = summary.clone();
    bad["sweep"][0]["points"][0]
        .as_object_mut()
        .unwrap()
        .remove("meets_slo");
    assert!(!schema_errors(&validator, &bad).is_empty());
    let mut bad = summary.clone();
    bad["sweep"][0]["knee_rps"] = Value::from("600");
    assert!(!schema_errors(&validator, &bad).is_empty());
    // ... and so is a workload the run schema (referenced) refuses.
    let mut bad = summary.clone();
    bad["workload"]
        .as_object_mut()
        .unwrap()
        .remove("data_plane");
    assert!(!schema_errors(&validator, &bad).is_empty());

    assert_eq!(summary["complete"], true);
    let slo_us = f(&summary["slo"], "p99_us");
    assert_eq!(slo_us, 1_000_000.0);
    let share = f(&summary["slo"], "min_achieved_share");
    let warmup = f(&summary["workload"]["run"], "warmup_s");
    let duration = f(&summary["workload"]["run"], "duration_s");
    assert_eq!((warmup, duration), (0.0, 1.0));
    let sweep = summary["sweep"].as_array().unwrap();
    let labels: Vec<&str> = sweep.iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["per-region", "per-service"]);
    for st in sweep {
        let points = st["points"].as_array().unwrap();
        let values: Vec<f64> = points.iter().map(|p| f(p, "value")).collect();
        assert_eq!(values, [300.0, 600.0]);
        for p in points {
            for field in ["offered_rps", "achieved_rps", "p99_us"] {
                assert!(f(p, field) > 0.0, "{field}: {p}");
            }
            // Offered is measured: within 25 % of the configured rate.
            assert!(
                (f(p, "offered_rps") / f(p, "value") - 1.0).abs() < 0.25,
                "{p}"
            );
            let shed = p["shed"].as_u64().unwrap();
            let meets = f(p, "p99_us") <= slo_us
                && shed == 0
                && f(p, "achieved_rps") >= share * f(p, "offered_rps");
            assert_eq!(p["meets_slo"], meets, "{p}");
            assert_eq!(p["why"].as_str().unwrap().is_empty(), meets, "{p}");
            assert_eq!(f(p, "p99_us"), f(&p["detail"], "p99_us"));
            assert_eq!(p["shed"], p["detail"]["shed"]);
            for defect in [
                "stale_accepts",
                "unexpected_rejections",
                "unexpected_accepts",
            ] {
                assert_eq!(p["detail"][defect], 0, "{defect}: {p}");
            }
        }
        // The knee: the largest offered rate whose point meets the SLO with
        // nothing shed; at these light rates both do.
        let knee = points
            .iter()
            .filter(|p| p["meets_slo"] == true && p["shed"] == 0)
            .map(|p| f(p, "value"))
            .fold(None, |k: Option<f64>, v| Some(k.map_or(v, |k| k.max(v))));
        assert_eq!(st["knee_rps"].as_f64(), knee, "{st}");
        assert_eq!(knee, Some(600.0), "{st}");
        // The scalability probe: each thread count measured for 0.2 s
        // without the generator, every decision as intended, and the USL
        // fitted to it.
        let probe = &st["probe"];
        let pts = probe["points"].as_array().unwrap();
        let threads: Vec<u64> = pts.iter().map(|p| p["threads"].as_u64().unwrap()).collect();
        assert_eq!(threads, [1, 2, 3]);
        for p in pts {
            let n = p["verifications"].as_u64().unwrap();
            assert!(n > 1000, "{p}");
            assert_eq!(p["unexpected"], 0, "{p}");
            let secs = f(p, "seconds");
            assert!((0.2..0.5).contains(&secs), "{p}");
            assert!((f(p, "verifications_per_s") - n as f64 / secs).abs() < 1e-6);
        }
        assert_eq!(st["usl_points"], "probe", "{st}");
        let fit = &st["usl"];
        assert!(f(fit, "lambda") > 0.0, "{st}");
        assert_eq!(fit["residuals"].as_array().unwrap().len(), 3);
    }
    let cores = summary["environment"]["cores"].as_u64().unwrap();

    // The what-if answer, from the sweep's own points.
    let w = &summary["whatif"];
    assert!(summary["whatif_error"].is_null());
    assert_eq!(
        w["target"],
        serde_json::json!({"rps_per_region": 50000.0, "p99_ms": 3.0, "keys": 2000, "regions": 4})
    );
    assert_eq!(w["measured_on"]["kind"], "sweep");
    assert_eq!(w["measured_on"]["run_id"], summary["run_id"]);
    assert_eq!(w["measured_on"]["keys"], 200);
    let answers = w["strategies"].as_array().unwrap();
    assert_eq!(answers.len(), 2);
    for (a, st) in answers.iter().zip(sweep) {
        assert_eq!(a["label"], st["label"]);
        // The probe's fit sizes the answer only where its threads had
        // cores of their own.
        let said = a["assumptions"].to_string();
        if cores < 3 {
            assert_eq!(a["model"], "linear");
            assert!(
                said.contains("the USL fit of the scalability probe is not used"),
                "{said}"
            );
        } else {
            assert_eq!(a["model"], "usl");
            assert!(said.contains("closed-loop scalability probe"), "{said}");
        }
        // The cost comes from the point with the highest achieved rate
        // meeting the SLO: its data-plane CPU over its requests.
        let best = st["points"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["meets_slo"] == true)
            .max_by(|x, y| f(x, "achieved_rps").total_cmp(&f(y, "achieved_rps")))
            .unwrap();
        let cpu = f(&best["detail"]["cpu"], "data_plane_s");
        let cost_us = cpu / (f(best, "achieved_rps") * (warmup + duration)) * 1e6;
        let measured = f(a, "cpu_us_per_request");
        assert!(
            (measured / cost_us - 1.0).abs() < 1e-9,
            "{measured} vs {cost_us}"
        );
        assert_eq!(f(a, "measured_rps"), f(best, "achieved_rps"));
        assert!((f(a, "per_core_rps") * measured - 1e6).abs() < 1e-3);
        let workers = a["workers_per_region"].as_u64().unwrap();
        let need = 50_000.0 / f(a, "per_core_rps");
        if a["model"] == "linear" {
            assert!(
                (workers as f64) >= need - 1e-9 && (workers as f64) < need + 1.0,
                "{workers} workers for {need}"
            );
        }
        assert_eq!(a["total_cores"].as_u64().unwrap(), workers * 4);
        assert_eq!(a["replicated_bytes_per_az"], 2000.0 * 700.0);
        assert!(!a["assumptions"].as_array().unwrap().is_empty());
    }
    assert!(w["control_plane"].is_null(), "none was not swept");

    // The report and summary.md carry the knee, the answer and its
    // assumptions.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let first = answers[0]["assumptions"][0].as_str().unwrap();
    for doc in [&html, &md] {
        assert!(doc.contains("knee"), "{doc}");
        assert!(doc.contains("What if"), "{doc}");
        assert!(doc.contains("assumptions:"), "{doc}");
        assert!(doc.contains("measured on "), "{doc}");
    }
    assert!(md.contains(first), "{first}\n{md}");
    assert!(html.contains("id=\"probe-per-region\""), "probe paragraph");
    assert!(html.contains("id=\"chart-sweep-usl\""), "USL chart");
    assert!(md.contains("scalability probe"), "{md}");
    assert!(md.contains("| 600 |"), "{md}");
    assert!(
        html.contains("50,000 req/s per region at p99 &lt;= 3 ms with 2,000 keys over 4 regions")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_workers_sweep_reports_its_usl_fit_and_a_usl_whatif() {
    let dir = scratch("workers");
    let workload = capacity_without_warmup(&dir);
    let out = dir.join("results");
    let o = sigstorm()
        .arg("sweep")
        .arg(&workload)
        .args([
            "--vary",
            "workers=1,2,3",
            // Far past what one generator thread can send, so that every
            // point saturates (the fit takes saturated points only).
            "--rate",
            "400000",
            "--duration",
            "0.5",
        ])
        .args(["--strategies", "per-region", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let errors = schema_errors(&sweep_validator(), &summary);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(summary["vary"]["field"], "data_plane.workers");
    let st = &summary["sweep"][0];
    assert!(
        st["knee_rps"].is_null(),
        "no knee unless the rate is varied"
    );
    let threads: Vec<u64> = st["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["detail"]["cpu"]["data_plane_threads"].as_u64().unwrap())
        .collect();
    assert_eq!(threads, [1, 2, 3], "each point ran its worker count");
    let fit = &st["usl"];
    assert!(fit.is_object(), "no fit: {}", st["usl_points"]);
    assert_eq!(st["usl_points"], "saturated");
    assert!(f(fit, "lambda") > 0.0 && f(fit, "sigma") >= 0.0 && f(fit, "kappa") >= 0.0);
    let residuals = fit["residuals"].as_array().unwrap();
    assert_eq!(residuals.len(), 3, "one per worker count: {fit}");
    for chart in ["sweep-throughput", "sweep-p99", "sweep-usl"] {
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{chart}");
        assert!(
            std::fs::metadata(out.join(format!("{chart}.png")))
                .unwrap()
                .len()
                > 0
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for want in [
        "Universal Scalability Law fit",
        &format!("σ = {:.4}", f(fit, "sigma")),
        &format!("κ = {:.5}", f(fit, "kappa")),
        &format!("λ = {:.0} req/s per thread", f(fit, "lambda")),
        &format!("R² = {:.3}", f(fit, "r2")),
        "Residuals (measured − fitted): N=1 ",
        "id=\"chart-sweep-usl\"",
        "USL fit (R²",
    ] {
        assert!(html.contains(want), "report.html lacks {want}");
    }
    // With a fit, the what-if answer uses its shape (and the peak, when
    // there is one, is in words), unless a stall of this machine made the
    // generator late enough to bind a point: then it says why not.
    let bound = st["points"].as_array().unwrap().iter().any(|p| {
        let late = f(&p["detail"], "lateness_p99_us");
        late > 1000.0 && late >= 0.5 * f(p, "p99_us")
    });
    let answer = &summary["whatif"]["strategies"][0];
    if bound {
        assert_eq!(answer["model"], "linear");
        assert!(answer["assumptions"]
            .to_string()
            .contains("USL fit is not used"));
    } else {
        assert_eq!(answer["model"], "usl");
        assert_eq!(answer["usl"], *fit);
    }
    assert!(html.contains(if !fit["peak_n"].is_null() {
        "throughput peaks at "
    } else if f(fit, "sigma") > 0.0 {
        "no peak: throughput levels off toward"
    } else {
        "throughput grows in proportion to threads"
    }));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_help_documents_the_whatif_target_and_the_exit_status() {
    let o = sigstorm().args(["sweep", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{help}");
    for want in [
        "What-if target:",
        "--rps-per-region <REQ_PER_SEC>",
        "[default: 1000000]",
        "--p99-ms <MS>",
        "[default: 5]",
        "--keys <N>",
        "[default: 10000000]",
        "--regions <N>",
        "[default: 17]",
        "summary.md",
        "Exit status: 0 done; 1 done, but a correctness check failed at some point",
        "2 bad input;\n130 interrupted",
    ] {
        assert!(help.contains(want), "'{want}' missing from\n{help}");
    }
}

#[test]
fn the_reference_sweeps_match_the_schema() {
    let validator = sweep_validator();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut checked = 0;
    for machine in std::fs::read_dir(&root).unwrap().flatten() {
        for dir in std::fs::read_dir(machine.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = dir.path().join("summary.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["kind"] != "sweep" {
                continue;
            }
            let errors = schema_errors(&validator, &v);
            assert!(
                errors.is_empty(),
                "{}: {}",
                path.display(),
                errors.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} reference sweeps");
}
