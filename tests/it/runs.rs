//! Real runs of the main job through the binary: the summary matches its
//! committed JSON Schema, every strategy's figures add up exactly (HMACs per
//! authenticated request, control-plane calls; phases, intervals and server
//! errors per service to the run), nothing legitimate is refused, the
//! latency log reads back into the summary's counts, health events are
//! detected and written, and an interrupted run keeps what it measured.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A small world: four regions with short simulated round trips, a few
/// users, and generous shares of refused requests so every outcome shows up.
/// A replication stall (harmless: nothing is written during the run) splits
/// the run into three phases.
const WORKLOAD: &str = r#"
name = "test-small"
seed = 7
[clock]
start = "2026-06-01T12:00:00Z"
[run]
duration_s = 1.5
warmup_s = 0.5
drain_timeout_s = 5
[load]
rate_per_sec = 600
arrival = "poisson"
[[regions]]
name = "us-east-1"
rtt_ms = 1
[[regions]]
name = "eu-north-1"
rtt_ms = 12
[[regions]]
name = "me-south-1"
rtt_ms = 18
[[regions]]
name = "ap-northeast-1"
rtt_ms = 15
[data_plane]
workers = 2
cache_backends = ["moka", "sharded"]
[principals]
users = 20
[traffic]
presigned_share = 0.2
wrong_secret_share = 0.03
unknown_key_share = 0.03
skewed_clock_share = 0.03
policy_denied_share = 0.06
[[schedule]]
kind = "replication_stall"
at_s = 0.5
duration_s = 0.5
"#;

/// A regional incident after the stall, to the end of the run: a third of
/// eu-north-1's requests are answered `ServiceUnavailable`.
const INCIDENT: &str = r#"
[[schedule]]
kind = "regional_incident"
at_s = 1.0
duration_s = 0.5
region = "eu-north-1"
error_rate = 0.3
"#;

/// 2026-06-01T12:00:00Z, the test workload's simulated start.
const CLOCK_START_S: i64 = 1_780_315_200;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigstorm-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_workload(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("workload.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn sigstorm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigstorm"))
}

fn schema() -> Value {
    schema_named("summary")
}

fn schema_named(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{name}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value, field: &str) -> f64 {
    v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("no number {field} in {v}"))
}

/// Read `events.json` of a run folder and check it against its schema.
fn events(out: &Path) -> Vec<Value> {
    let events: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("events.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema_named("events")).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&events)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "events.json does not match the schema:\n{}",
        errors.join("\n")
    );
    events.as_array().unwrap().clone()
}

/// Phases tile the measured window and add up to the run.
fn check_phases(run: &Value) {
    let strategy = run["label"].as_str().unwrap();
    let duration = f(run, "duration_s");
    let phases = run["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "steady",
            "storm: replication_stall",
            "fault: regional_incident"
        ]
    );
    assert_eq!(f(&phases[0], "start_s"), 0.0);
    for pair in phases.windows(2) {
        assert_eq!(f(&pair[0], "end_s"), f(&pair[1], "start_s"), "{strategy}");
    }
    assert_eq!(f(phases.last().unwrap(), "end_s"), duration);
    for field in [
        "requests",
        "hmacs",
        "control_plane_calls",
        "stale_accepts",
        "exposure_accepts",
    ] {
        let sum: u64 = phases.iter().map(|p| u(p, field)).sum();
        assert_eq!(sum, u(run, field), "{strategy}: phases' {field}");
    }
    for (outcome, count) in run["outcomes"].as_object().unwrap() {
        let sum: u64 = phases
            .iter()
            .map(|p| p["outcomes"][outcome].as_u64().unwrap())
            .sum();
        assert_eq!(Some(sum), count.as_u64(), "{strategy}: phases' {outcome}");
    }
    let hits: u64 = phases
        .iter()
        .map(|p| p["cache"]["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(hits), run["cache"]["hits"].as_u64(), "{strategy}");
    for p in phases {
        // The offered rate is the phase's requests over its own length.
        let length = f(p, "end_s") - f(p, "start_s");
        let rate = u(p, "requests") as f64 / length;
        assert!(
            (f(p, "offered_rps") - rate).abs() <= 0.051,
            "{strategy}: {p}"
        );
        // A phase's worst latency is no worse than the run's.
        let max = f(&p["latency_us"], "max");
        assert!(max <= f(&run["latency_us"], "max"), "{strategy}");
    }
}

/// The time series covers the window interval by interval and adds up to
/// the run.
fn check_intervals(run: &Value) {
    let strategy = run["label"].as_str().unwrap();
    let duration = f(run, "duration_s");
    let interval_s = f(run, "interval_s");
    assert_eq!(interval_s, 0.1, "the workload's default run.interval_ms");
    let intervals = run["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), (duration / interval_s).ceil() as usize);
    for (i, iv) in intervals.iter().enumerate() {
        assert!((f(iv, "t_s") - i as f64 * interval_s).abs() < 1e-9, "{iv}");
        let parts: u64 = ["allowed", "denied", "refused", "server_errors"]
            .iter()
            .map(|k| u(iv, k))
            .sum();
        assert_eq!(parts, u(iv, "responses"), "{strategy}: {iv}");
        let l = &iv["latency_us"];
        assert!(
            f(l, "p50") <= f(l, "p99") && f(l, "p99") <= f(l, "max"),
            "{strategy}: {iv}"
        );
        assert_eq!(
            u(iv, "responses") > 0,
            f(l, "max") > 0.0,
            "{strategy}: {iv}"
        );
        // Nothing is written during the run: nothing to replicate.
        if !iv["backlog"].is_null() {
            assert_eq!(u(iv, "backlog"), 0, "{strategy}: {iv}");
            assert_eq!(f(iv, "lag_ms"), 0.0, "{strategy}: {iv}");
        }
        // Per region, in the regions' order; the largest is the interval's.
        let regions = run["regions"].as_array().unwrap().len();
        for (field, all) in [
            ("backlog_by_region", "backlog"),
            ("lag_ms_by_region", "lag_ms"),
        ] {
            let by_region = iv[field].as_array().unwrap();
            assert_eq!(by_region.len(), regions, "{strategy}: {iv}");
            let largest = by_region
                .iter()
                .filter_map(Value::as_f64)
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            assert_eq!(largest, iv[all].as_f64(), "{strategy}: {field} {iv}");
        }
    }
    let sum = |k: &str| intervals.iter().map(|iv| u(iv, k)).sum::<u64>();
    assert_eq!(sum("requests"), u(run, "requests"), "{strategy}");
    let responses: u64 = run["outcomes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "denied"))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert_eq!(sum("responses"), responses, "{strategy}");
    assert_eq!(sum("allowed"), count(run, "allowed"), "{strategy}");
    assert_eq!(sum("denied"), count(run, "denied"), "{strategy}");
    assert_eq!(
        sum("server_errors"),
        count(run, "ServiceUnavailable"),
        "{strategy}"
    );
    assert_eq!(
        sum("cache_hits"),
        run["cache"]["hits"].as_u64().unwrap(),
        "{strategy}"
    );
    assert_eq!(
        sum("cache_misses"),
        run["cache"]["misses"].as_u64().unwrap(),
        "{strategy}"
    );
    assert_eq!(sum("exposure_accepts"), u(run, "exposure_accepts"));
    assert_eq!(sum("stale_accepts"), u(run, "stale_accepts"));
    // Throughput by response time: the intervals' completions are the
    // run's achieved rate (rounded to 0.1 per second).
    let achieved = sum("completed") as f64 / duration;
    assert!(
        (achieved - f(run, "achieved_rps")).abs() <= 0.051,
        "{strategy}: {achieved} vs {}",
        run["achieved_rps"]
    );
    // The worst interval holds the run's worst latency (the run's histogram
    // rounds to 3 significant digits, upwards).
    let worst = intervals
        .iter()
        .map(|iv| f(&iv["latency_us"], "max"))
        .fold(0.0, f64::max);
    let run_max = f(&run["latency_us"], "max");
    assert!(
        worst <= run_max && run_max <= worst * 1.002,
        "{strategy}: {worst} vs {run_max}"
    );
    // The sampler runs every 100 ms during measurement.
    let sampled = intervals
        .iter()
        .filter(|iv| !iv["backlog"].is_null())
        .count();
    assert!(
        sampled >= intervals.len() / 2,
        "{strategy}: {sampled} sampled"
    );
}

/// Server errors per service and region add up to each region's
/// `ServiceUnavailable` count; the incident's are eu-north-1's, from its
/// start on.
fn check_service_errors(run: &Value) {
    let strategy = run["label"].as_str().unwrap();
    let intervals = run["intervals"].as_array().unwrap();
    let series = run["service_errors"].as_array().unwrap();
    assert!(!series.is_empty(), "{strategy}: no server errors");
    for s in series {
        assert_eq!(s["region"], "eu-north-1", "{strategy}: {s}");
        let errors = s["errors"].as_array().unwrap();
        let responses = s["responses"].as_array().unwrap();
        assert_eq!(errors.len(), intervals.len(), "{strategy}");
        assert_eq!(responses.len(), intervals.len(), "{strategy}");
        assert!(errors.iter().any(|e| e.as_u64().unwrap() > 0), "{s}");
        for (i, (e, r)) in errors.iter().zip(responses).enumerate() {
            let (e, r) = (e.as_u64().unwrap(), r.as_u64().unwrap());
            assert!(e <= r, "{strategy}: {s}");
            // The incident starts 1 s in (requests count by intended start;
            // one intended just before may be answered in it).
            if e > 0 {
                assert!(f(&intervals[i], "t_s") >= 0.9 - 1e-9, "{strategy}: {s}");
            }
        }
    }
    let mut total = 0;
    for region in run["regions"].as_array().unwrap() {
        let name = region["region"].as_str().unwrap();
        let errors: u64 = series
            .iter()
            .filter(|s| s["region"] == name)
            .flat_map(|s| s["errors"].as_array().unwrap())
            .map(|e| e.as_u64().unwrap())
            .sum();
        assert_eq!(
            errors,
            count(region, "ServiceUnavailable"),
            "{strategy}: {name}"
        );
        total += errors;
    }
    assert_eq!(total, count(run, "ServiceUnavailable"), "{strategy}");
    assert!(total > 0, "{strategy}");
}

/// `histograms.hlog` reads back: one histogram per run, region and second,
/// holding every response the summary counts, per region.
fn check_histograms(out: &Path) {
    let data = sigstorm::rundir::load(out).unwrap();
    let runs = &data.summary.runs;
    // 1.5 s measured: the seconds from 0 and from 1 (half a second).
    assert_eq!(data.histograms.len(), runs.len() * 4 * 2);
    for entry in &data.histograms {
        assert!(
            (entry.start_s, entry.duration_s) == (0.0, 1.0)
                || (entry.start_s, entry.duration_s) == (1.0, 0.5),
            "{} {} {}",
            entry.tag,
            entry.start_s,
            entry.duration_s
        );
    }
    let by_label = data.latency_by_label();
    assert_eq!(by_label.len(), runs.len());
    for ((label, h), run) in by_label.iter().zip(runs) {
        assert_eq!(label, &run.label);
        assert_eq!(h.len(), run.figures.requests, "{label}: every response");
        // The summary's max at 3 significant digits, the log's at 2.
        let max_us = h.max() as f64 / 1000.0;
        let summary_max = run.figures.latency_us.max;
        assert!(
            (max_us - summary_max).abs() <= 0.011 * summary_max,
            "{label}: {max_us} vs {summary_max}"
        );
    }
    let by_region = data.latency_by_label_region();
    assert_eq!(by_region.len(), runs.len() * 4);
    let expected: Vec<(String, String, u64)> = runs
        .iter()
        .flat_map(|r| {
            r.regions
                .iter()
                .map(|g| (r.label.clone(), g.region.clone(), g.figures.requests))
        })
        .collect();
    let got: Vec<(String, String, u64)> = by_region
        .into_iter()
        .map(|(l, r, h)| (l, r, h.len()))
        .collect();
    assert_eq!(got, expected);
}

/// Replication per region, in world order, consistent with the regions.
fn check_replication(run: &Value) {
    let strategy = run["label"].as_str().unwrap();
    let replication = run["replication"].as_array().unwrap();
    let regions = run["regions"].as_array().unwrap();
    assert_eq!(replication.len(), regions.len());
    let mut exposure = 0;
    for (rep, region) in replication.iter().zip(regions) {
        assert_eq!(rep["region"], region["region"]);
        assert_eq!(
            u(rep, "exposure_accepts"),
            u(region, "exposure_accepts"),
            "{strategy}"
        );
        exposure += u(rep, "exposure_accepts");
        // Nothing is written during the run.
        assert_eq!(u(rep, "applied"), 0, "{strategy}: {rep}");
        assert_eq!(u(rep, "max_backlog"), 0, "{strategy}: {rep}");
        assert_eq!(f(&rep["propagation_delay_ms"], "max"), 0.0, "{strategy}");
    }
    assert_eq!(exposure, u(run, "exposure_accepts"), "{strategy}");
}

fn count(run: &Value, outcome: &str) -> u64 {
    run["outcomes"][outcome]
        .as_u64()
        .unwrap_or_else(|| panic!("no outcome {outcome}"))
}

fn u(run: &Value, field: &str) -> u64 {
    run[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no field {field}"))
}

#[test]
fn a_real_run_matches_the_schema_and_its_figures_add_up() {
    let dir = temp_dir("schema");
    let workload = write_workload(&dir, &format!("{WORKLOAD}{INCIDENT}"));
    let out = dir.join("run");
    let output = sigstorm()
        .args([
            "run",
            workload.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for header in [
        "strategy",
        "offered/s",
        "achieved/s",
        "p99.9",
        "late p99",
        "hit ratio",
        "HMAC/req",
        "CP calls",
    ] {
        assert!(stdout.contains(header), "table lacks {header}:\n{stdout}");
    }

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&summary)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "summary.json does not match the schema:\n{}",
        errors.join("\n")
    );

    assert_eq!(summary["complete"], true);
    assert_eq!(summary["seed"], 7);
    let runs = summary["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["label"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "none",
            "per-region",
            "per-service/moka",
            "per-service/sharded",
            "per-service-prekeyed/moka",
            "per-service-prekeyed/sharded"
        ]
    );

    for run in runs {
        let strategy = run["strategy"].as_str().unwrap();
        let requests = u(run, "requests");
        assert!(requests > 500, "{strategy}: only {requests} requests");
        for defect in [
            "unexpected_rejections",
            "unexpected_accepts",
            "stale_accepts",
            "unfinished",
            "shed",
        ] {
            assert_eq!(u(run, defect), 0, "{strategy}: {defect}");
        }
        for outcome in [
            "allowed",
            "denied_explicit",
            "denied_implicit",
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId",
            "RequestTimeTooSkewed",
        ] {
            assert!(count(run, outcome) > 0, "{strategy}: no {outcome}");
        }
        let responses: u64 = ["allowed", "denied", "bad_request"]
            .iter()
            .map(|o| count(run, o))
            .sum::<u64>()
            + [
                "SignatureDoesNotMatch",
                "InvalidAccessKeyId",
                "RequestTimeTooSkewed",
                "AccessDenied",
                "ServiceUnavailable",
            ]
            .iter()
            .map(|o| count(run, o))
            .sum::<u64>();
        assert_eq!(
            responses, requests,
            "{strategy}: every request is answered and counted once"
        );
        // Requests that reach key material: all but unknown keys, skewed
        // clocks and those the regional incident refused up front.
        let keyed = responses
            - count(run, "InvalidAccessKeyId")
            - count(run, "RequestTimeTooSkewed")
            - count(run, "ServiceUnavailable");
        let hmacs = u(run, "hmacs");
        let cp_calls = u(run, "control_plane_calls");
        match strategy {
            "none" => {
                assert_eq!(
                    hmacs,
                    5 * keyed,
                    "none: 4 derivations and 1 signature at the control plane"
                );
                assert_eq!(
                    cp_calls,
                    keyed + count(run, "InvalidAccessKeyId"),
                    "none: one call per authenticated request"
                );
            }
            "per-region" => {
                assert_eq!(
                    hmacs,
                    3 * keyed,
                    "per-region: 2 derivations and 1 signature per request"
                );
                assert_eq!(cp_calls, 0);
            }
            _ => {
                let cache = &run["cache"];
                let (hits, misses) = (
                    cache["hits"].as_u64().unwrap(),
                    cache["misses"].as_u64().unwrap(),
                );
                assert_eq!(
                    hits + misses,
                    keyed,
                    "per-service: one cache lookup per keyed request"
                );
                assert!(
                    hmacs >= keyed && hmacs <= keyed + 2 * misses,
                    "per-service hmacs {hmacs}, keyed {keyed}, misses {misses}"
                );
                assert!(hits > misses, "per-service: hits {hits} misses {misses}");
                assert_eq!(cp_calls, 0);
                let backend = run["cache_backend"].as_str().unwrap();
                assert!(run["label"].as_str().unwrap().ends_with(backend));
                if backend == "sharded" {
                    assert_eq!(
                        hmacs,
                        keyed + 2 * misses,
                        "a sharded map derives on every miss"
                    );
                }
            }
        }
        let regions = run["regions"].as_array().unwrap();
        assert_eq!(regions.len(), 4);
        let per_region: u64 = regions.iter().map(|r| u(r, "requests")).sum();
        assert_eq!(per_region, requests, "{strategy}: regions add up");
        let p50 = run["latency_us"]["p50"].as_f64().unwrap();
        let p99 = run["latency_us"]["p99"].as_f64().unwrap();
        assert!(p50 > 0.0 && p50 <= p99, "{strategy}: p50 {p50} p99 {p99}");
        check_phases(run);
        check_intervals(run);
        check_service_errors(run);
        check_replication(run);
    }
    check_histograms(&out);
    assert!(stdout.contains("phases of per-region"), "{stdout}");
    assert!(
        stdout.contains("No incidents detected.") || stdout.contains("health events ("),
        "{stdout}"
    );
    // Whatever incidents this machine's timing produced are well formed.
    for event in events(&out) {
        assert!(names.contains(&event["strategy"].as_str().unwrap()));
        let (start, end) = (f(&event, "start_s"), f(&event, "end_s"));
        assert!(0.0 <= start && start < end && end <= 1.5, "{event}");
        let date: i64 = event["date"].as_str().unwrap().parse().unwrap();
        // The simulated clock starts at noon; measuring starts after the
        // world is built and half a second of warm-up.
        let earliest = CLOCK_START_S + start as i64;
        assert!((earliest..earliest + 30).contains(&date), "{event}");
    }
    // The none strategy pays the simulated round trip; the local ones do not.
    let none_p50 = runs[0]["latency_us"]["p50"].as_f64().unwrap();
    let local_p50 = runs[1]["latency_us"]["p50"].as_f64().unwrap();
    assert!(
        none_p50 > 1000.0 && none_p50 > 10.0 * local_p50,
        "none {none_p50} µs, per-service {local_p50} µs"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_slow_region_is_reported_as_an_open_latency_incident() {
    let dir = temp_dir("health");
    // Under `none` every authentication pays the round trip to us-east-1
    // (12 to 18 ms here), far above a 5 ms p99 threshold.
    let text = WORKLOAD.replace("warmup_s = 0.5", "warmup_s = 0.5\ninterval_ms = 500")
        + "[health]\np99_ms = 5\np99_factor = 0\nmin_intervals = 2\nmin_responses = 3\n";
    let workload = write_workload(&dir, &text);
    let out = dir.join("run");
    let output = sigstorm()
        .args([
            "run",
            workload.to_str().unwrap(),
            "--quiet",
            "--strategies",
            "none",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["workload"]["health"]["p99_ms"], 5.0);
    assert_eq!(summary["runs"][0]["interval_s"], 0.5);
    assert_eq!(summary["runs"][0]["intervals"].as_array().unwrap().len(), 3);
    let events = events(&out);
    for (region, rtt_ms) in [
        ("eu-north-1", 12.0),
        ("me-south-1", 18.0),
        ("ap-northeast-1", 15.0),
    ] {
        for service in ["s3", "ec2", "elasticloadbalancing", "sts", "sqs"] {
            let id = format!("{service}-{region}");
            let found: Vec<&Value> = events
                .iter()
                .filter(|e| e["service"] == id.as_str())
                .collect();
            assert_eq!(found.len(), 1, "{id}: {events:?}");
            let e = found[0];
            assert_eq!(e["strategy"], "none");
            assert_eq!(e["status"], "open", "{e}");
            assert_eq!(e["kind"], "latency", "{e}");
            assert_eq!(e["summary"], "Increased IAM authentication latencies");
            assert!(f(e, "start_s") <= 0.5, "{e}");
            assert_eq!(f(e, "end_s"), 1.5, "{e}");
            // The peak p99 is at least the round trip (to the histogram's
            // resolution, a quarter below at worst).
            assert!(f(e, "peak_p99_ms") >= 0.75 * rtt_ms, "{e}");
            let description = e["description"].as_str().unwrap();
            assert!(description.starts_with("Since 12:0"), "{description}");
            assert!(
                description.contains(&format!("requests in {region} was elevated")),
                "{description}"
            );
            assert!(description.contains("ongoing when measurement ended"));
        }
    }
    assert!(events
        .iter()
        .any(|e| e["service_name"] == "Amazon Simple Storage Service (Stockholm)"));
    assert!(stdout.contains("health events ("), "{stdout}");
    assert!(stdout.contains("me-south-1"), "{stdout}");
    assert!(stdout.contains("s3,ec2,elb,sts,sqs"), "{stdout}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn an_interrupted_run_keeps_what_it_measured() {
    let dir = temp_dir("interrupt");
    let slow = WORKLOAD.replace("duration_s = 1.5", "duration_s = 30");
    let workload = write_workload(&dir, &slow);
    let out = dir.join("run");
    let child = sigstorm()
        .args([
            "run",
            workload.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
            "--strategies",
            "per-region,per-service",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "the second strategy never started");
    assert_eq!(runs[0]["interrupted"], true);
    assert!(u(&runs[0], "requests") > 300, "{}", runs[0]["requests"]);
    let duration = runs[0]["duration_s"].as_f64().unwrap();
    assert!(
        duration > 1.0 && duration < 5.0,
        "measured window {duration}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
