//! Real runs of the main job through the binary: the summary matches its
//! committed JSON Schema, every strategy's figures add up exactly (HMACs per
//! authenticated request, control-plane calls), nothing legitimate is refused,
//! and an interrupted run keeps what it measured.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A small world: four regions with short simulated round trips, a few
/// users, and generous shares of refused requests so every outcome shows up.
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
"#;

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
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/summary.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
    let workload = write_workload(&dir, WORKLOAD);
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
        // Requests that reach key material: all but unknown keys and skewed clocks.
        let keyed =
            responses - count(run, "InvalidAccessKeyId") - count(run, "RequestTimeTooSkewed");
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
