//! The workloads shipped in `workloads/`: each one parses and validates, is
//! described in `workloads/README.md`, and the midnight ones cross midnight
//! inside the measured window; the reference runs in `results/` still load
//! and show no correctness defect.

use std::path::PathBuf;

use sigstorm::run::midnight_s;
use sigstorm::storm::push_for;
use sigstorm::workload::Workload;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("workloads")
}

fn load(name: &str) -> Workload {
    Workload::load(&dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_workload_validates_and_is_documented() {
    let readme = std::fs::read_to_string(dir().join("README.md")).expect("workloads/README.md");
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("workloads/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    for name in &names {
        let w = load(name);
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not described in workloads/README.md"
        );
        assert_eq!(
            format!("{}.toml", w.name),
            *name,
            "a workload's name is its file's"
        );
    }
}

#[test]
fn the_storm_and_fault_workloads_schedule_what_they_are_named_for() {
    let kinds = |name: &str| -> Vec<&'static str> {
        load(name).schedule.iter().map(|e| e.kind()).collect()
    };
    let storm = kinds("replication-storm.toml");
    for kind in [
        "rotate_keys",
        "create_users",
        "policy_change",
        "replication_stall",
    ] {
        assert!(storm.contains(&kind), "{kind} missing: {storm:?}");
    }
    assert_eq!(
        kinds("control-plane-incident.toml")[0],
        "control_plane_incident"
    );
    assert_eq!(kinds("regional-incident.toml"), ["regional_incident"]);
    assert_eq!(kinds("az-loss.toml"), ["az_loss", "pause"]);
}

#[test]
fn the_midnight_workloads_cross_midnight_ten_seconds_in() {
    for (name, push_at) in [
        ("midnight-roll.toml", Some(2.0)),
        ("midnight-roll-no-push.toml", Some(10.0)),
    ] {
        let w = load(name);
        assert_eq!(midnight_s(&w), Some(10.0), "{name}");
        let window_start_ms = w.clock_start_ms() + (w.run.warmup_s * 1000.0) as i64;
        let push = push_for(
            midnight_s(&w),
            w.control_plane.push_ahead_s,
            w.run.warmup_s,
            window_start_ms,
        );
        assert_eq!(push.map(|p| p.at_s), push_at, "{name}");
        // 2026-06-02T00:00:00Z
        assert_eq!(push.map(|p| p.midnight_unix_s), Some(1_780_358_400));
    }
}

#[test]
fn the_reference_runs_load_back_and_kept_their_promises() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    let (mut loaded, mut sweeps) = (0, 0);
    for machine in std::fs::read_dir(&root).expect("results/").flatten() {
        for run in std::fs::read_dir(machine.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if !run.path().join("summary.json").exists() {
                continue;
            }
            if sigstorm::sweep::is_sweep_dir(&run.path()) {
                let sweep = sigstorm::sweep::read_summary(&run.path())
                    .unwrap_or_else(|e| panic!("{}: {e:#}", run.path().display()));
                assert!(sweep.complete, "{}", run.path().display());
                assert_eq!(sweep.defects(), 0, "{}", run.path().display());
                assert!(sweep.whatif.is_some(), "{}", run.path().display());
                sweeps += 1;
                continue;
            }
            let data = sigstorm::rundir::load(&run.path())
                .unwrap_or_else(|e| panic!("{}: {e:#}", run.path().display()));
            assert!(data.summary.complete, "{}", run.path().display());
            for r in &data.summary.runs {
                assert_eq!(
                    r.figures.stale_accepts,
                    0,
                    "{} {}",
                    run.path().display(),
                    r.label
                );
                assert_eq!(r.figures.unexpected_rejections, 0);
                assert_eq!(r.figures.unexpected_accepts, 0);
            }
            loaded += 1;
        }
    }
    assert!(loaded >= 7, "{loaded} reference runs");
    assert!(sweeps >= 2, "{sweeps} reference sweeps");
}
