//! `sigstorm whatif` on the committed reference run.

use std::process::Command;

const REFERENCE: &str = "results/2026-12-03-xeon-2vcpu/default";

fn whatif(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sigstorm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("whatif")
        .args(args)
        .output()
        .expect("sigstorm runs")
}

#[test]
fn whatif_on_the_reference_run_names_every_strategy_and_its_assumptions() {
    let out = whatif(&[
        "--from",
        REFERENCE,
        "--rps-per-region",
        "1000000",
        "--p99-ms",
        "5",
        "--keys",
        "10000000",
        "--regions",
        "17",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "none",
        "per-region",
        "per-service",
        "per-service-prekeyed",
        "assumptions:",
        "measured on Intel(R) Xeon(R) Processor",
        "extrapolated ×332",
        "model: linear",
        "control plane",
        "cannot meet p99 <= 5 ms",
        "hit ratio would be about 0.20%",
    ] {
        assert!(text.contains(want), "'{want}' missing from\n{text}");
    }

    let out = whatif(&["--from", REFERENCE, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let labels: Vec<&str> = v["strategies"]
        .as_array()
        .expect("strategies")
        .iter()
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert_eq!(
        labels,
        ["none", "per-region", "per-service", "per-service-prekeyed"]
    );
    assert!(v["control_plane"]["cores"].as_u64().is_some_and(|c| c > 0));
    assert_eq!(v["strategies"][0]["meets_p99"], false);
}

#[test]
fn whatif_without_a_summary_exits_2() {
    let dir = std::env::temp_dir().join(format!("sigstorm-whatif-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let out = whatif(&["--from", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no summary.json"));
    let _ = std::fs::remove_dir_all(&dir);
}
