//! `sigstorm whatif`: from a results folder's measurements, how many
//! data-plane workers (cores) each strategy would need for a target such as
//! 1,000,000 requests per second per region at p99 ≤ 5 ms with 10 million
//! keys over 17 regions, with every assumption behind the answer printed
//! beside it.
//!
//! The folder's `summary.json` is read as plain JSON, so both a run folder
//! (`runs`) and a sweep folder (`sweep`, with a Universal Scalability Law fit
//! per label when the sweep varied `data_plane.workers`) are understood.
//!
//! The arithmetic, per run label:
//!
//! - CPU per request = the data planes' CPU seconds / (achieved rate ×
//!   (warm-up + measured seconds)): the generator offers the same rate
//!   during warm-up, and the process CPU of the data planes is counted over
//!   both. It is taken from the sweep point with the highest achieved rate
//!   that met the sweep's SLO (the run itself for a run folder).
//! - Per-core capacity = 1 / CPU per request.
//! - Workers per region: with a USL fit, the fitted shape (σ, κ) with one
//!   worker's throughput set to the per-core capacity, and the smallest N
//!   reaching the target; beyond the model's peak, replicas of the peak's
//!   size. Without a fit, linear: ⌈target / per-core capacity⌉.
//! - `none` also needs the home region's control plane: target × regions
//!   calls per second, each charged 5 HMACs at the run's CPU per HMAC.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::report::{human_rate, human_us};
use crate::sweep::probe::Probe;
use crate::usl::UslFit;

/// Bytes per replicated key in an AZ replica (`workloads/README.md`: "about
/// 700 bytes each").
pub const BYTES_PER_REPLICATED_KEY: f64 = 700.0;

/// Bytes per cache entry assumed for memory estimates: the key (access key
/// id, version, date, region, service), the 32-byte signing key and the
/// cache's own bookkeeping; an order of magnitude, not a measurement.
pub const BYTES_PER_CACHE_ENTRY: f64 = 256.0;

/// HMACs the control plane computes per call under `none` (kSecret to
/// kSigning, and the signature).
pub const CONTROL_PLANE_HMACS_PER_CALL: f64 = 5.0;

/// HMACs a `per-service` cache miss adds: kService and kSigning from
/// kRegion.
const HMACS_PER_MISS: f64 = 2.0;

/// What the answer is for.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Requests per second each region must answer.
    pub rps_per_region: f64,
    /// The p99 latency each region must stay under, milliseconds.
    pub p99_ms: f64,
    /// Access keys in the world (each replicated to every AZ replica).
    pub keys: u64,
    /// Regions.
    pub regions: u64,
}

/// Why no answer could be given.
#[derive(Debug, thiserror::Error)]
pub enum WhatifError {
    /// The folder does not exist.
    #[error("{0} does not exist (--from takes a results folder that sigstorm run or sigstorm sweep wrote)")]
    NoFolder(PathBuf),
    /// `--from` names a file.
    #[error("{0} is a file; --from takes the results folder that holds summary.json")]
    NotAFolder(PathBuf),
    /// The folder holds no `summary.json`.
    #[error("{0} holds no summary.json: not a sigstorm results folder (sigstorm run or sigstorm sweep writes one)")]
    NoSummary(PathBuf),
    /// A figure the answer needs is out of range.
    #[error("{0}")]
    BadFigure(String),
    /// `summary.json` cannot be read or is not JSON.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No run in the summary has the figures needed.
    #[error("{0}")]
    NoUsableRun(String),
    /// A target value out of range.
    #[error("{0}")]
    BadTarget(String),
}

/// Where the measurements were taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredOn {
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: u64,
    /// The compiler.
    pub rustc: String,
    /// The git commit.
    pub git_commit: String,
    /// Build profile.
    pub profile: String,
    /// `run` or `sweep`.
    pub kind: String,
    /// The run's or sweep's id.
    pub run_id: String,
    /// Regions of the measured world.
    pub regions: u64,
    /// Access keys of the measured world (users × keys per user).
    pub keys: u64,
}

/// The answer for one run label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyAnswer {
    /// The run label (the strategy, with the cache backend when compared).
    pub label: String,
    /// The strategy.
    pub strategy: String,
    /// Which measurement the cost comes from, in words.
    pub measured_at: String,
    /// The achieved rate of that measurement, requests per second over all
    /// regions of the process.
    pub measured_rps: f64,
    /// The largest achieved rate measured for the label.
    pub largest_measured_rps: f64,
    /// Target per region / the rate of the measurement the CPU figure came
    /// from (`measured_rps`).
    pub extrapolation: f64,
    /// Data-plane CPU per request, microseconds.
    pub cpu_us_per_request: f64,
    /// Requests per second one core serves at that cost.
    pub per_core_rps: f64,
    /// `usl` or `linear`.
    pub model: String,
    /// The fit used, for `usl`.
    pub usl: Option<UslFit>,
    /// Data-plane workers (cores) per region.
    pub workers_per_region: u64,
    /// Independent replicas per region the workers are split into (1 unless
    /// the target lies beyond the USL peak of one replica).
    pub replicas_per_region: u64,
    /// Workers in each replica.
    pub workers_per_replica: u64,
    /// Workers over all regions.
    pub total_cores: u64,
    /// The measured p99 latency at that measurement, milliseconds.
    pub measured_p99_ms: f64,
    /// The lowest p99 the strategy can have at the target, milliseconds:
    /// the measured p99, or for `none` the longest round trip to the home
    /// region when larger.
    pub p99_floor_ms: f64,
    /// Whether the p99 target looks reachable.
    pub meets_p99: bool,
    /// HMACs per request, measured.
    pub hmacs_per_request: f64,
    /// Cache hit ratio, measured (cached strategies only).
    pub hit_ratio_measured: Option<f64>,
    /// Cache hit ratio estimated at the target's key count (uniform
    /// popularity).
    pub hit_ratio_at_keys: Option<f64>,
    /// HMACs per request at that hit ratio.
    pub hmacs_per_request_at_keys: Option<f64>,
    /// Replicated key material per AZ replica at the target's key count,
    /// bytes (`null` for `none`, whose regions hold no keys).
    pub replicated_bytes_per_az: Option<f64>,
    /// The cache's memory per AZ replica when full, bytes.
    pub cache_bytes_per_az: Option<f64>,
    /// What this answer assumes, in words.
    pub assumptions: Vec<String>,
}

/// What `none`'s control plane in the home region would need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlPlaneAnswer {
    /// Calls per second: target × regions.
    pub calls_per_sec: f64,
    /// Calls per request measured under `none`.
    pub measured_calls_per_request: f64,
    /// CPU per HMAC, microseconds (an upper bound: the run's data-plane CPU
    /// per request / HMACs per request).
    pub us_per_hmac: f64,
    /// CPU per call, microseconds.
    pub us_per_call: f64,
    /// Cores needed.
    pub cores: u64,
    /// The longest simulated round trip to the home region, milliseconds.
    pub max_rtt_ms: f64,
    /// The region with it.
    pub farthest_region: String,
    /// Measured regions whose round trip alone reaches the p99 target.
    pub regions_over_target: u64,
    /// Regions measured.
    pub regions_measured: u64,
    /// What this assumes.
    pub assumptions: Vec<String>,
}

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// What was asked.
    pub target: Target,
    /// The results folder read.
    pub from: String,
    /// The machine and build measured.
    pub measured_on: MeasuredOn,
    /// Per run label.
    pub strategies: Vec<StrategyAnswer>,
    /// `none`'s control plane, when `none` was measured.
    pub control_plane: Option<ControlPlaneAnswer>,
    /// Assumptions shared by every answer.
    pub assumptions: Vec<String>,
}

/// The measured world a figure comes from: the workload's regions, keys,
/// cache and AZs, and how long traffic ran.
#[derive(Clone, Debug)]
struct World {
    region_rtts: Vec<(String, f64)>,
    keys: u64,
    cache_capacity: Option<f64>,
    azs: f64,
    services: f64,
    warmup_s: f64,
    duration_s: f64,
}

/// The world of a workload as `summary.json` writes it.
fn world_of(workload: &Value) -> World {
    let users = num(workload, &["principals", "users"]).unwrap_or(0.0);
    let keys_per_user = num(workload, &["principals", "keys_per_user"]).unwrap_or(1.0);
    World {
        region_rtts: workload
            .get("regions")
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| Some((text(r, &["name"]), num(r, &["rtt_ms"])?)))
                    .collect()
            })
            .unwrap_or_default(),
        keys: (users * keys_per_user).max(0.0) as u64,
        cache_capacity: num(workload, &["data_plane", "cache_capacity"]),
        azs: num(workload, &["data_plane", "azs"]).unwrap_or(3.0),
        services: workload
            .get("services")
            .and_then(Value::as_object)
            .map_or(5.0, |s| s.len().max(1) as f64),
        warmup_s: num(workload, &["run", "warmup_s"]).unwrap_or(0.0),
        duration_s: num(workload, &["run", "duration_s"]).unwrap_or(0.0),
    }
}

/// The world of each point of a sweep that varies `name`: the base
/// workload with the point's value set, as the sweep ran it. A field that
/// is not the rate or the thread count may change the world (regions,
/// keys, cache, warm-up, duration); when the base cannot be read back, the
/// base world stands for every point.
fn point_world(base: &Value, name: &str, value: Option<f64>) -> World {
    let set = || {
        let w: crate::workload::Workload = serde_json::from_value(base.clone()).ok()?;
        let point = crate::sweep::set_field(&w, name, value?).ok()?;
        serde_json::to_value(point).ok()
    };
    world_of(&set().unwrap_or_else(|| base.clone()))
}

/// Whether a point's world is not the base's in what the answer reads.
fn world_differs(a: &World, b: &World) -> bool {
    a.region_rtts != b.region_rtts
        || a.keys != b.keys
        || a.cache_capacity != b.cache_capacity
        || a.azs != b.azs
        || a.warmup_s != b.warmup_s
        || a.duration_s != b.duration_s
}

/// One measurement of a label.
#[derive(Clone, Debug)]
struct Obs {
    /// The world it was measured in.
    world: World,
    /// The sweep's value (None for a run).
    value: Option<f64>,
    achieved_rps: f64,
    p99_us: f64,
    /// The sweep's verdict (None for a run).
    meets_slo: Option<bool>,
    data_plane_s: Option<f64>,
    threads: Option<f64>,
    hmacs_per_request: f64,
    hit_ratio: Option<f64>,
    control_plane_calls_per_request: Option<f64>,
    /// Seconds over which the data-plane CPU was counted with traffic.
    traffic_s: f64,
    interrupted: bool,
    /// A sweep point that measured the load generator, not the data planes
    /// ([`crate::sweep::generator_bound`]).
    generator_bound: bool,
}

#[derive(Clone, Debug)]
struct Label {
    label: String,
    strategy: String,
    obs: Vec<Obs>,
    usl: Option<UslFit>,
    /// Why the sweep's USL fit is not used, when it has one.
    usl_rejected: Option<String>,
    /// Whether the fit is the scalability probe's.
    probed: bool,
    /// The thread counts the fit was made over.
    fit_ns: Vec<f64>,
}

/// Why the USL fit of a scalability probe cannot size anything, or `None`
/// when it can.
fn probe_unusable(pr: &Probe, summary: &Value) -> Option<String> {
    let not_used = "the USL fit of the scalability probe is not used";
    let cores = num(summary, &["environment", "cores"]).unwrap_or(0.0);
    if cores < 1.0 {
        return Some(format!(
            "{not_used}: the machine's core count is not recorded, so whether its threads had \
             cores of their own is unknown"
        ));
    }
    if pr.interrupted {
        return Some(format!("{not_used}: the probe was interrupted"));
    }
    if pr.unexpected() > 0 {
        return Some(format!(
            "{not_used}: the probe made {} wrong decisions (a correctness defect)",
            pr.unexpected()
        ));
    }
    let starved = pr.starved();
    if !starved.is_empty() {
        let at: Vec<String> = starved.iter().map(|s| s.0.to_string()).collect();
        return Some(format!(
            "{not_used}: at {} thread(s) the threads did not get the CPU they could use \
             (something else on the machine took it), so the curve shows the neighbours too",
            at.join(",")
        ));
    }
    // Past the cores the curve shows the threads sharing them, not how
    // the path scales.
    let crowded: Vec<String> = pr
        .points
        .iter()
        .filter(|p| p.threads as f64 > cores)
        .map(|p| p.threads.to_string())
        .collect();
    if !crowded.is_empty() {
        return Some(format!(
            "{not_used}: it ran {} threads on a machine of {} cores, so past the cores it shows \
             the threads sharing them, not how the verification path scales; probe up to the \
             core count on a machine with more cores for a usable fit",
            crowded.join(","),
            fmt_value(cores)
        ));
    }
    None
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_f64()
}

fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for k in path {
        match cur.get(k) {
            Some(next) => cur = next,
            None => return "unknown".to_string(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => "unknown".to_string(),
        other => other.to_string(),
    }
}

impl Default for Target {
    /// The question sigstorm's users ask: 1,000,000 requests per second per
    /// region at p99 ≤ 5 ms, with 10 million keys over 17 regions.
    fn default() -> Target {
        Target {
            rps_per_region: DEFAULT_RPS_PER_REGION,
            p99_ms: DEFAULT_P99_MS,
            keys: DEFAULT_KEYS,
            regions: DEFAULT_REGIONS,
        }
    }
}

/// Below this share of their threads' time busy, the data planes measured
/// at a light load, where CPU per request is inflated by fixed costs.
const LIGHT_LOAD: f64 = 0.25;

/// The default target's requests per second per region.
pub const DEFAULT_RPS_PER_REGION: f64 = 1_000_000.0;
/// The default target's p99, milliseconds.
pub const DEFAULT_P99_MS: f64 = 5.0;
/// The default target's access keys.
pub const DEFAULT_KEYS: u64 = 10_000_000;
/// The default target's regions.
pub const DEFAULT_REGIONS: u64 = 17;

impl Target {
    /// Check the target's values.
    ///
    /// # Errors
    ///
    /// [`WhatifError::BadTarget`] for a value that is not positive and
    /// finite.
    pub fn validate(&self) -> Result<(), WhatifError> {
        let range = |flag: &str, v: f64, lo: f64, hi: f64, what: &str| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(WhatifError::BadTarget(format!(
                    "{flag} must be {what}, not {v}"
                )))
            }
        };
        range(
            "--rps-per-region",
            self.rps_per_region,
            1.0,
            MAX_RPS_PER_REGION,
            "1 to 1000000000000 requests per second",
        )?;
        if self.p99_ms.is_nan() || self.p99_ms <= 0.0 {
            return Err(WhatifError::BadTarget(format!(
                "--p99-ms must be more than 0 milliseconds, not {}",
                self.p99_ms
            )));
        }
        range(
            "--p99-ms",
            self.p99_ms,
            0.0,
            MAX_P99_MS,
            "at most 3600000 milliseconds (an hour)",
        )?;
        range(
            "--keys",
            self.keys as f64,
            1.0,
            MAX_KEYS as f64,
            "1 to 1000000000000 access keys",
        )?;
        range(
            "--regions",
            self.regions as f64,
            1.0,
            MAX_REGIONS as f64,
            "1 to 1000 regions",
        )?;
        Ok(())
    }
}

/// The largest target rate per region: a million times today's largest
/// fleets, beyond which the arithmetic (and the question) stops meaning much.
pub const MAX_RPS_PER_REGION: f64 = 1e12;
/// The largest target p99, milliseconds: an hour.
pub const MAX_P99_MS: f64 = 3_600_000.0;
/// The most access keys a target may have.
pub const MAX_KEYS: u64 = 1_000_000_000_000;
/// The most regions a target may have.
pub const MAX_REGIONS: u64 = 1000;

/// Read `DIR/summary.json` and answer `target`.
///
/// # Errors
///
/// No or unreadable `summary.json`, a bad target, or no usable run.
pub fn whatif_dir(dir: &Path, target: &Target) -> Result<Answer, WhatifError> {
    let path = dir.join("summary.json");
    if !dir.exists() {
        return Err(WhatifError::NoFolder(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(WhatifError::NotAFolder(dir.to_path_buf()));
    }
    if !path.is_file() {
        return Err(WhatifError::NoSummary(dir.to_path_buf()));
    }
    let body = std::fs::read_to_string(&path).map_err(|e| WhatifError::Unreadable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let summary: Value = serde_json::from_str(&body).map_err(|e| WhatifError::Unreadable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    // Read it as `sigstorm report` does first, so that a missing or
    // mistyped field is named with its line rather than read as nothing.
    let typed = if summary.get("kind").and_then(Value::as_str) == Some("sweep") {
        crate::sweep::read_summary(dir).map(|_| ())
    } else {
        crate::page::read_summary(dir).map(|_| ())
    };
    typed.map_err(|e| WhatifError::Unreadable {
        path: path.clone(),
        reason: e.root_cause().to_string(),
    })?;
    whatif(&summary, &dir.display().to_string(), target)
}

fn labels(summary: &Value) -> (String, Vec<Label>) {
    let base = summary.get("workload").cloned().unwrap_or(Value::Null);
    let base_world = world_of(&base);
    if let Some(sweep) = summary.get("sweep").and_then(Value::as_array) {
        let field = text(summary, &["vary", "field"]);
        let name = text(summary, &["vary", "name"]);
        let workers_sweep = field == crate::sweep::WORKERS_FIELD;
        let world_sweep = !workers_sweep && field != crate::sweep::RATE_FIELD;
        let out = sweep
            .iter()
            .map(|s| {
                let obs: Vec<Obs> = s
                    .get("points")
                    .and_then(Value::as_array)
                    .map(|points| {
                        points
                            .iter()
                            .map(|p| {
                                let d = p.get("detail").unwrap_or(&Value::Null);
                                let value = num(p, &["value"]);
                                let world = if world_sweep {
                                    point_world(&base, &name, value)
                                } else {
                                    base_world.clone()
                                };
                                Obs {
                                    traffic_s: world.warmup_s + world.duration_s,
                                    world,
                                    value,
                                    achieved_rps: num(p, &["achieved_rps"]).unwrap_or(0.0),
                                    p99_us: num(p, &["p99_us"]).unwrap_or(f64::NAN),
                                    meets_slo: p.get("meets_slo").and_then(Value::as_bool),
                                    data_plane_s: num(d, &["cpu", "data_plane_s"]),
                                    threads: num(d, &["cpu", "data_plane_threads"]),
                                    hmacs_per_request: num(d, &["hmacs_per_request"])
                                        .unwrap_or(f64::NAN),
                                    hit_ratio: num(d, &["hit_ratio"]),
                                    control_plane_calls_per_request: None,
                                    interrupted: d
                                        .get("interrupted")
                                        .and_then(Value::as_bool)
                                        .unwrap_or(false),
                                    generator_bound: crate::sweep::generator_bound(
                                        num(d, &["lateness_p99_us"]).unwrap_or(0.0),
                                        num(p, &["p99_us"]).unwrap_or(f64::NAN),
                                    ),
                                }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let usl_points = s.get("usl_points").and_then(Value::as_str).unwrap_or("");
                let probe = s
                    .get("probe")
                    .and_then(|p| serde_json::from_value::<Probe>(p.clone()).ok());
                let probed = usl_points == crate::sweep::PROBE_POINTS && probe.is_some();
                let mut usl = if workers_sweep || probed {
                    s.get("usl")
                        .and_then(|u| serde_json::from_value::<UslFit>(u.clone()).ok())
                } else {
                    None
                };
                let crowded = match (&probe, probed && usl.is_some()) {
                    (Some(pr), true) => probe_unusable(pr, summary).inspect(|_| usl = None),
                    _ => None,
                };
                // Only a fit over saturated points (or the closed-loop
                // probe) describes capacity.
                let unsaturated = (usl.is_some() && !probed && usl_points != "saturated").then(|| {
                    usl = None;
                    format!(
                        "the sweep's USL fit is not used: it is not over saturated points \
                         ({usl_points}), so it describes the offered load, not capacity"
                    )
                });
                let no_fit = (usl.is_none() && unsaturated.is_none() && crowded.is_none())
                    .then(|| {
                        if probe.is_some() {
                            Some(format!("the scalability probe allows no USL fit ({usl_points})"))
                        } else if workers_sweep {
                            Some(format!("the sweep's points allow no USL fit ({usl_points})"))
                        } else {
                            None
                        }
                    })
                    .flatten();
                // The thread counts the fit was made over, for sizing
                // replicas when the model has no peak.
                let fit_ns: Vec<f64> = match &probe {
                    Some(pr) if probed => pr.points.iter().map(|p| p.threads as f64).collect(),
                    _ => obs.iter().filter_map(|o| o.value).collect(),
                };
                // A fit through points where the generator could not offer
                // more shows the generator's ceiling, not how the data plane
                // scales: sizing from it would be fiction.
                let bound: Vec<String> = obs
                    .iter()
                    .filter(|o| o.generator_bound && !o.interrupted)
                    .filter_map(|o| o.value.map(fmt_value))
                    .collect();
                let usl_rejected = (usl.is_some() && !probed && !bound.is_empty())
                    .then(|| {
                        usl = None;
                        format!(
                            "the sweep's USL fit is not used: its points at workers={} were \
                             generator-bound (the load generator, sharing the cores, could not \
                             offer more), so they show the generator's ceiling, not how the data \
                             plane scales; rerun the sweep where the generator has cores of its own",
                            bound.join(",")
                        )
                    })
                    .or(crowded)
                    .or(unsaturated)
                    .or(no_fit);
                Label {
                    label: text(s, &["label"]),
                    strategy: text(s, &["strategy"]),
                    obs,
                    usl,
                    usl_rejected,
                    probed,
                    fit_ns,
                }
            })
            .collect();
        return ("sweep".to_string(), out);
    }
    let runs = summary
        .get("runs")
        .and_then(Value::as_array)
        .map(|runs| {
            runs.iter()
                .map(|r| {
                    let requests = num(r, &["requests"]).unwrap_or(0.0);
                    Label {
                        label: text(r, &["label"]),
                        strategy: text(r, &["strategy"]),
                        obs: vec![Obs {
                            value: None,
                            achieved_rps: num(r, &["achieved_rps"]).unwrap_or(0.0),
                            p99_us: num(r, &["latency_us", "p99"]).unwrap_or(f64::NAN),
                            meets_slo: None,
                            data_plane_s: num(r, &["cpu", "data_plane_s"]),
                            threads: num(r, &["cpu", "data_plane_threads"]),
                            hmacs_per_request: num(r, &["hmacs_per_request"]).unwrap_or(f64::NAN),
                            hit_ratio: num(r, &["cache", "hit_ratio"]),
                            control_plane_calls_per_request: num(r, &["control_plane_calls"])
                                .filter(|_| requests > 0.0)
                                .map(|c| c / requests),
                            traffic_s: base_world.warmup_s
                                + num(r, &["duration_s"]).unwrap_or(base_world.duration_s),
                            world: base_world.clone(),
                            interrupted: r
                                .get("interrupted")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            generator_bound: false,
                        }],
                        usl: None,
                        usl_rejected: None,
                        probed: false,
                        fit_ns: Vec::new(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ("run".to_string(), runs)
}

/// CPU seconds per request of a measurement, when it has what is needed.
fn cost_s(o: &Obs) -> Option<f64> {
    let cpu = o.data_plane_s?;
    let requests = o.achieved_rps * o.traffic_s;
    let cost = cpu / requests;
    (!o.interrupted && cpu > 0.0 && requests > 0.0 && cost.is_finite()).then_some(cost)
}

/// Refuse figures no measurement can have (negative, or not numbers where
/// one is required), naming the first: a hand-edited `summary.json` must
/// not turn into an answer.
fn check_figures(summary: &Value, from: &str) -> Result<(), WhatifError> {
    let check = |v: &Value, path: &str, field: &str, required: bool| -> Result<(), WhatifError> {
        let bad = |what: &str| WhatifError::BadFigure(format!("{from}: {path}.{field} {what}"));
        match v.get(field) {
            None | Some(Value::Null) if !required => Ok(()),
            None | Some(Value::Null) => Err(bad("is missing")),
            Some(Value::Number(n)) if n.as_f64().is_some_and(|x| x >= 0.0) => Ok(()),
            Some(Value::Number(_)) => Err(bad("is negative")),
            Some(_) => Err(bad("is not a number")),
        }
    };
    let figures = |v: &Value, path: &str, p99: &[&str], hmacs: &str| -> Result<(), WhatifError> {
        check(v, path, "achieved_rps", true)?;
        let mut node = v;
        let mut at = path.to_string();
        for step in &p99[..p99.len() - 1] {
            node = node.get(step).unwrap_or(&Value::Null);
            at = format!("{at}.{step}");
        }
        check(node, &at, p99[p99.len() - 1], true)?;
        let (d, dpath) = if hmacs == "detail" {
            (
                v.get("detail").unwrap_or(&Value::Null),
                format!("{path}.detail"),
            )
        } else {
            (v, path.to_string())
        };
        check(d, &dpath, "hmacs_per_request", true)?;
        let cpu = d.get("cpu").unwrap_or(&Value::Null);
        check(cpu, &format!("{dpath}.cpu"), "data_plane_s", false)
    };
    if let Some(sweep) = summary.get("sweep").and_then(Value::as_array) {
        for (i, s) in sweep.iter().enumerate() {
            let points = s.get("points").and_then(Value::as_array);
            for (j, p) in points.into_iter().flatten().enumerate() {
                figures(p, &format!("sweep[{i}].points[{j}]"), &["p99_us"], "detail")?;
            }
            check_fit(s, &format!("{from}: sweep[{i}]"))?;
        }
    } else if let Some(runs) = summary.get("runs").and_then(Value::as_array) {
        for (i, r) in runs.iter().enumerate() {
            figures(r, &format!("runs[{i}]"), &["latency_us", "p99"], "run")?;
        }
    }
    Ok(())
}

/// A sweep entry's `usl` and `probe`, when present, must be what a sweep
/// writes: a fit with λ > 0 and σ, κ ≥ 0, a probe of whole thread counts
/// and non-negative figures. `at` names the entry.
fn check_fit(s: &Value, at: &str) -> Result<(), WhatifError> {
    let bad = |what: String| Err(WhatifError::BadFigure(format!("{at}.{what}")));
    if let Some(u) = s.get("usl").filter(|u| !u.is_null()) {
        let fit = match serde_json::from_value::<UslFit>(u.clone()) {
            Ok(f) => f,
            Err(e) => return bad(format!("usl is not a fit: {e}")),
        };
        for (name, v) in [
            ("sigma", fit.sigma),
            ("kappa", fit.kappa),
            ("lambda", fit.lambda),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(format!(
                    "usl.{name} must be a number of at least 0, not {v}"
                ));
            }
        }
        if fit.lambda <= 0.0 {
            return bad("usl.lambda must be above 0".to_string());
        }
        if let Some(p) = fit.peak_n {
            if !p.is_finite() || p < 1.0 {
                return bad(format!("usl.peak_n must be at least 1 or null, not {p}"));
            }
        }
    }
    if let Some(p) = s.get("probe").filter(|p| !p.is_null()) {
        let pr = match serde_json::from_value::<Probe>(p.clone()) {
            Ok(pr) => pr,
            Err(e) => return bad(format!("probe is not a probe: {e}")),
        };
        if pr.cores == 0 || pr.pool == 0 {
            return bad("probe.cores and probe.pool must be at least 1".to_string());
        }
        for (j, q) in pr.points.iter().enumerate() {
            if q.threads == 0 {
                return bad(format!("probe.points[{j}].threads must be at least 1"));
            }
            for (name, v) in [
                ("verifications_per_s", q.verifications_per_s),
                ("seconds", q.seconds),
                ("cpu_s", q.cpu_s),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return bad(format!(
                        "probe.points[{j}].{name} must be a number of at least 0, not {v}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The measurement to take the cost from, and why it was chosen.
fn choose(obs: &[Obs]) -> Option<(&Obs, String)> {
    let usable = || obs.iter().filter(|o| cost_s(o).is_some());
    let by_rate = |a: &&Obs, b: &&Obs| a.achieved_rps.total_cmp(&b.achieved_rps);
    if let Some(o) = usable()
        .filter(|o| o.meets_slo == Some(true))
        .max_by(by_rate)
    {
        return Some((
            o,
            format!(
                "the sweep point {} with the highest achieved rate meeting the sweep's SLO",
                o.value.map_or("?".to_string(), fmt_value)
            ),
        ));
    }
    let o = usable().max_by(by_rate)?;
    Some(match o.value {
        Some(v) => (
            o,
            format!(
                "the sweep point {} with the highest achieved rate (no point met the sweep's SLO)",
                fmt_value(v)
            ),
        ),
        None => (o, "the run".to_string()),
    })
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Answer `target` from a parsed `summary.json` (`from` names the folder
/// in the answer).
///
/// # Errors
///
/// A bad target, or no run with the figures needed.
pub fn whatif(summary: &Value, from: &str, target: &Target) -> Result<Answer, WhatifError> {
    target.validate()?;
    check_figures(summary, from)?;
    let (kind, labels) = labels(summary);
    let base = world_of(summary.get("workload").unwrap_or(&Value::Null));
    let measured_on = MeasuredOn {
        cpu: text(summary, &["environment", "cpu"]),
        cores: num(summary, &["environment", "cores"]).unwrap_or(0.0) as u64,
        rustc: text(summary, &["environment", "rustc"]),
        git_commit: text(summary, &["environment", "git_commit"]),
        profile: text(summary, &["environment", "profile"]),
        kind: kind.clone(),
        run_id: text(summary, &["run_id"]),
        regions: base.region_rtts.len() as u64,
        keys: base.keys,
    };
    let t = target.rps_per_region;
    let mut strategies = Vec::new();
    let mut control_plane = None;
    let mut skipped = Vec::new();
    for l in &labels {
        let Some((o, why)) = choose(&l.obs) else {
            skipped.push(l.label.clone());
            continue;
        };
        let Some(cost) = cost_s(o) else {
            skipped.push(l.label.clone());
            continue;
        };
        let per_core = 1.0 / cost;
        let World {
            region_rtts,
            keys: measured_keys,
            cache_capacity,
            services,
            ..
        } = &o.world;
        let (measured_keys, cache_capacity, services) =
            (*measured_keys, *cache_capacity, *services);
        let world_line = world_differs(&o.world, &base).then(|| {
            let w = &o.world;
            format!(
                "measured in that point's world, not the sweep's base: {} regions, {} keys, a \
                     cache of {}, {} AZ replicas, {} s of warm-up and {} s measured",
                w.region_rtts.len(),
                grouped(w.keys),
                w.cache_capacity
                    .map_or("none".to_string(), |c| grouped(c as u64)),
                fmt_value(w.azs),
                fmt_value(w.warmup_s),
                fmt_value(w.duration_s)
            )
        });
        let largest = l
            .obs
            .iter()
            .map(|o| o.achieved_rps)
            .fold(0.0_f64, f64::max)
            .max(o.achieved_rps);
        let mut assumptions = vec![format!(
            "CPU per request {} = data-plane CPU {:.3} s / ({} req/s × {:.1} s of traffic, warm-up included), from {why}{}",
            human_us(cost * 1e6),
            o.data_plane_s.unwrap_or(0.0),
            human_rate(o.achieved_rps),
            o.traffic_s,
            o.threads
                .map_or(String::new(), |n| format!(" on {} data-plane thread(s)", fmt_value(n)))
        )];
        assumptions.extend(world_line);
        let (model, workers, replicas, per_replica, usl) = match &l.usl {
            Some(fit) if fit.lambda > 0.0 => {
                let scale = per_core / fit.lambda;
                assumptions.push(format!(
                    "model: the Universal Scalability Law fitted to {} (σ {:.4}, κ {:.6}, λ {} req/s, R² {:.3}), its one-worker throughput scaled to the per-core capacity ({} req/s, ×{:.2})",
                    if l.probed {
                        "the closed-loop scalability probe (verification alone, no generator)"
                    } else {
                        "the sweep"
                    },
                    fit.sigma, fit.kappa, human_rate(fit.lambda), fit.r2, human_rate(per_core), scale
                ));
                match fit.workers_for(t / scale) {
                    Some(n) => ("usl", n, 1, n, Some(fit.clone())),
                    None => {
                        let size = replica_size(fit, &l.fit_ns);
                        let each = fit.predict(size as f64) * scale;
                        let replicas = if each > 0.0 {
                            ceil(t / each) as u64
                        } else {
                            u64::MAX
                        };
                        assumptions.push(format!(
                            "{} req/s cannot be reached by adding workers to one replica: the model's most is {} req/s{}; so {replicas} replicas of {size} workers ({} req/s each)",
                            human_rate(t),
                            human_rate(fit.max_throughput() * scale),
                            fit.peak_n.map_or(" (an asymptote)".to_string(), |p| format!(" at {p:.1} workers")),
                            human_rate(each)
                        ));
                        (
                            "usl",
                            replicas.saturating_mul(size),
                            replicas,
                            size,
                            Some(fit.clone()),
                        )
                    }
                }
            }
            _ => {
                let n = ceil(t / per_core).max(1.0) as u64;
                assumptions.push(match &l.usl_rejected {
                    Some(why) => format!(
                        "model: linear, every core serves {} req/s ({why})",
                        human_rate(per_core)
                    ),
                    None => format!(
                        "model: linear, every core serves {} req/s (no contention or coherency cost measured: sweep data_plane.workers for a USL fit)",
                        human_rate(per_core)
                    ),
                });
                ("linear", n, 1, n, None)
            }
        };
        let extrapolation = if o.achieved_rps > 0.0 {
            t / o.achieved_rps
        } else {
            f64::INFINITY
        };
        assumptions.push(if extrapolation > 1.0 {
            format!(
                "extrapolated ×{:.0} beyond the rate the CPU figure was measured at ({} req/s over all {} regions of one process; the most measured was {} req/s)",
                extrapolation,
                human_rate(o.achieved_rps),
                region_rtts.len(),
                human_rate(largest)
            )
        } else {
            format!(
                "the target per region is within the rate the CPU figure was measured at ({} req/s over all {} regions of one process)",
                human_rate(o.achieved_rps),
                region_rtts.len()
            )
        });
        // CPU per request falls as load rises: the fixed costs of running
        // (timers, idle wake-ups, recording) are shared by more requests.
        let busy = o
            .data_plane_s
            .zip(o.threads)
            .map(|(cpu, n)| cpu / (o.traffic_s * n.max(1.0)))
            .filter(|b| b.is_finite());
        if let Some(b) = busy.filter(|b| *b < LIGHT_LOAD) {
            assumptions.push(format!(
                "at that point the data planes were busy {:.0}% of the time: CPU per request falls as load rises (fixed costs are shared by more requests), so from so light a load this answer overstates the cores; take it from a sweep point nearer saturation",
                b * 100.0
            ));
        }
        let measured_p99_ms = o.p99_us / 1000.0;
        let is_none = l.strategy == "none";
        let (max_rtt_name, max_rtt) = region_rtts
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .cloned()
            .unwrap_or_else(|| ("unknown".to_string(), 0.0));
        let p99_floor_ms = if is_none && max_rtt > 0.0 {
            max_rtt
        } else {
            measured_p99_ms
        };
        let meets_p99 = p99_floor_ms.is_finite()
            && p99_floor_ms <= target.p99_ms
            && measured_p99_ms <= target.p99_ms;
        if is_none {
            assumptions.push(format!(
                "p99 floor: every request waits for a round trip to the home region, up to {max_rtt} ms ({max_rtt_name}); measured p99 {}",
                human_us(o.p99_us)
            ));
        } else {
            assumptions.push(format!(
                "p99: the measured {} at {} req/s, assumed to hold at the target with every worker as busy as measured",
                human_us(o.p99_us),
                human_rate(o.achieved_rps)
            ));
        }
        let (hit_at_keys, hmacs_at_keys) = match (o.hit_ratio, cache_capacity) {
            (Some(h), Some(cap)) => {
                let working_set = target.keys as f64 * services;
                let est = (cap / working_set).min(1.0);
                let hmacs = o.hmacs_per_request + HMACS_PER_MISS * (h - est).max(0.0);
                assumptions.push(format!(
                    "cache: measured hit ratio {:.1}% with {} keys; with {} keys the working set per AZ is {} entries (keys × {services} services) against {} cached, so under uniform popularity the hit ratio would be about {:.2}% (a lower bound: real popularity is skewed) and HMACs per request {:.2} instead of the measured {:.2} (each miss adds {HMACS_PER_MISS}); the workers above assume the measured hit ratio",
                    h * 100.0,
                    grouped(measured_keys),
                    grouped(target.keys),
                    grouped(working_set as u64),
                    grouped(cap as u64),
                    est * 100.0,
                    hmacs,
                    o.hmacs_per_request
                ));
                (Some(est), Some(hmacs))
            }
            _ => (None, None),
        };
        if is_none {
            let per_hmac = cost / o.hmacs_per_request.max(1.0);
            let per_call = CONTROL_PLANE_HMACS_PER_CALL * per_hmac;
            let calls = t * target.regions as f64;
            let over = region_rtts.iter().filter(|r| r.1 >= target.p99_ms).count() as u64;
            control_plane = Some(ControlPlaneAnswer {
                calls_per_sec: calls,
                measured_calls_per_request: o.control_plane_calls_per_request.unwrap_or(1.0),
                us_per_hmac: per_hmac * 1e6,
                us_per_call: per_call * 1e6,
                cores: ceil(calls * per_call) as u64,
                max_rtt_ms: max_rtt,
                farthest_region: max_rtt_name.clone(),
                regions_over_target: over,
                regions_measured: region_rtts.len() as u64,
                assumptions: vec![
                    format!(
                        "one control-plane call per request: {} req/s × {} regions{}",
                        human_rate(t),
                        target.regions,
                        o.control_plane_calls_per_request.map_or(String::new(), |c| format!(
                            " (measured {c:.3} calls per request: refusals before any key work make none)"
                        ))
                    ),
                    format!(
                        "the run cannot separate the control plane's CPU from the regions' (one process): each call is charged {CONTROL_PLANE_HMACS_PER_CALL} HMACs at {} per HMAC, the run's CPU per request / its {:.2} HMACs per request (an upper bound: all CPU counted as HMAC work)",
                        human_us(per_hmac * 1e6),
                        o.hmacs_per_request
                    ),
                    "the regional data planes' CPU under `none` also holds the control plane's work, so their workers are an upper bound too".to_string(),
                ],
            });
        }
        strategies.push(StrategyAnswer {
            label: l.label.clone(),
            strategy: l.strategy.clone(),
            measured_at: why,
            measured_rps: o.achieved_rps,
            largest_measured_rps: largest,
            extrapolation,
            cpu_us_per_request: cost * 1e6,
            per_core_rps: per_core,
            model: model.to_string(),
            usl,
            workers_per_region: workers,
            replicas_per_region: replicas,
            workers_per_replica: per_replica,
            total_cores: workers.saturating_mul(target.regions),
            measured_p99_ms,
            p99_floor_ms,
            meets_p99,
            hmacs_per_request: o.hmacs_per_request,
            hit_ratio_measured: o.hit_ratio,
            hit_ratio_at_keys: hit_at_keys,
            hmacs_per_request_at_keys: hmacs_at_keys,
            replicated_bytes_per_az: (!is_none)
                .then_some(target.keys as f64 * BYTES_PER_REPLICATED_KEY),
            cache_bytes_per_az: cache_capacity
                .filter(|_| o.hit_ratio.is_some())
                .map(|c| c * BYTES_PER_CACHE_ENTRY),
            assumptions,
        });
    }
    if strategies.is_empty() {
        return Err(WhatifError::NoUsableRun(format!(
            "{from}: no run with an achieved rate and data-plane CPU to take a cost from{}",
            if skipped.is_empty() {
                " (the summary holds no runs)".to_string()
            } else {
                format!(" (looked at {})", skipped.join(", "))
            }
        )));
    }
    let mut assumptions = vec![
        format!(
            "measured on {} ({} logical cores, shared by the load generator and the data planes), {}, commit {}, {} build: {} {}",
            measured_on.cpu,
            measured_on.cores,
            measured_on.rustc,
            measured_on.git_commit,
            measured_on.profile,
            measured_on.kind,
            measured_on.run_id
        ),
        format!(
            "one data-plane worker = one core running at the measured CPU per request; workers per region serve the region's {} AZ replicas together; regions are independent, so total cores = workers per region × {}",
            fmt_value(base.azs),
            target.regions
        ),
        format!(
            "the measured world: {} regions, {} keys; the target: {} regions, {} keys (key count changes memory and cache hit ratio, not the CPU figures above)",
            measured_on.regions,
            grouped(base.keys),
            target.regions,
            grouped(target.keys)
        ),
        format!(
            "memory per AZ replica: {} replicated keys × ~{BYTES_PER_REPLICATED_KEY:.0} bytes (workloads/README.md) for the local strategies; a full cache × ~{BYTES_PER_CACHE_ENTRY:.0} bytes per entry (an order of magnitude, not measured)",
            grouped(target.keys)
        ),
    ];
    if summary.get("complete").and_then(Value::as_bool) == Some(false) {
        assumptions.push(format!(
            "the {kind} was interrupted before it finished: the answer uses only what it measured \
             until then"
        ));
    }
    if !skipped.is_empty() {
        assumptions.push(format!(
            "left out (no usable measurement): {}",
            skipped.join(", ")
        ));
    }
    Ok(Answer {
        target: *target,
        from: from.to_string(),
        measured_on,
        strategies,
        control_plane,
        assumptions,
    })
}

/// The replica size beyond the model's reach: the whole number of workers
/// nearest the peak with the most throughput, or (no peak) the largest
/// measured worker count.
fn replica_size(fit: &UslFit, fit_ns: &[f64]) -> u64 {
    if fit.sigma >= 1.0 && fit.peak_n.is_none() {
        // Every worker added costs more than it brings.
        return 1;
    }
    match fit.peak_n {
        Some(p) => {
            let lo = p.floor().max(1.0);
            let hi = p.ceil().max(1.0);
            if fit.predict(hi) > fit.predict(lo) {
                hi as u64
            } else {
                lo as u64
            }
        }
        None => fit_ns.iter().copied().fold(1.0_f64, f64::max).max(1.0) as u64,
    }
}

/// ⌈x⌉, forgiving float rounding just above a whole number (1 µs × 10⁶
/// is 1.0000000000000002).
fn ceil(x: f64) -> f64 {
    (x * (1.0 - 1e-12)).ceil()
}

fn bytes(b: f64) -> String {
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// A whole number with thousands separated by commas: `10,000,000`.
pub(crate) fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Answer {
    /// The answer for people: a table per strategy, then every assumption.
    pub fn text(&self) -> String {
        let t = &self.target;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "what if: {} req/s per region at p99 <= {} ms, {} keys, {} regions (from {})",
            grouped(t.rps_per_region.round() as u64),
            fmt_value(t.p99_ms),
            grouped(t.keys),
            t.regions,
            self.from
        );
        let _ = writeln!(
            out,
            "measured on {}, {} cores, {}, commit {}",
            self.measured_on.cpu,
            self.measured_on.cores,
            self.measured_on.rustc,
            self.measured_on.git_commit
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<22} {:>9} {:>10} {:>7} {:>14} {:>11} {:>9} {:>6} {:>9} {:>16} {:>12} {:>10}",
            "strategy",
            "CPU/req",
            "req/s/core",
            "model",
            "workers/region",
            "cores total",
            "p99 est",
            "p99 ok",
            "HMAC/req",
            "hit ratio (keys)",
            "keys mem/AZ",
            "cache/AZ"
        );
        for s in &self.strategies {
            let hit = match (s.hit_ratio_measured, s.hit_ratio_at_keys) {
                (Some(m), Some(k)) => format!("{:.1}%→{:.2}%", m * 100.0, k * 100.0),
                (Some(m), None) => format!("{:.1}%", m * 100.0),
                _ => "-".to_string(),
            };
            let workers = if s.replicas_per_region > 1 {
                format!(
                    "{} ({}×{})",
                    grouped(s.workers_per_region),
                    s.replicas_per_region,
                    s.workers_per_replica
                )
            } else {
                grouped(s.workers_per_region)
            };
            let _ = writeln!(
                out,
                "{:<22} {:>9} {:>10} {:>7} {:>14} {:>11} {:>9} {:>6} {:>9.2} {:>16} {:>12} {:>10}",
                s.label,
                human_us(s.cpu_us_per_request),
                human_rate(s.per_core_rps),
                s.model,
                workers,
                grouped(s.total_cores),
                human_us(s.p99_floor_ms * 1000.0),
                if s.meets_p99 { "yes" } else { "no" },
                s.hmacs_per_request,
                hit,
                s.replicated_bytes_per_az.map_or("-".to_string(), bytes),
                s.cache_bytes_per_az.map_or("-".to_string(), bytes),
            );
        }
        if let Some(cp) = &self.control_plane {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "none's control plane (home region): {} calls/s × {} per call = {} cores; every request also waits a round trip of up to {} ms ({}): {} of {} measured regions are {} ms or more away, {}",
                human_rate(cp.calls_per_sec),
                human_us(cp.us_per_call),
                grouped(cp.cores),
                fmt_value(cp.max_rtt_ms),
                cp.farthest_region,
                cp.regions_over_target,
                cp.regions_measured,
                fmt_value(t.p99_ms),
                if cp.max_rtt_ms >= t.p99_ms {
                    format!("so none cannot meet p99 <= {} ms there", fmt_value(t.p99_ms))
                } else {
                    "so the round trip alone does not break the p99 target".to_string()
                }
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "assumptions:");
        for a in &self.assumptions {
            let _ = writeln!(out, "- {a}");
        }
        for s in &self.strategies {
            let _ = writeln!(out, "{}:", s.label);
            for a in &s.assumptions {
                let _ = writeln!(out, "  - {a}");
            }
        }
        if let Some(cp) = &self.control_plane {
            let _ = writeln!(out, "none's control plane:");
            for a in &cp.assumptions {
                let _ = writeln!(out, "  - {a}");
            }
        }
        out
    }
}

/// The target of a what-if answer on the command line: `sigstorm whatif`'s
/// flags, and `sigstorm sweep`'s for the answer in its report.
#[derive(Clone, Debug, clap::Args)]
#[command(next_help_heading = "What-if target")]
pub struct TargetArgs {
    /// Target requests per second in each region.
    #[arg(long, value_name = "REQ_PER_SEC", default_value_t = DEFAULT_RPS_PER_REGION)]
    pub rps_per_region: f64,
    /// Target p99 latency in each region, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_P99_MS)]
    pub p99_ms: f64,
    /// Access keys in the target world, each replicated to every AZ replica
    /// (not the measured workload's users).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_KEYS)]
    pub keys: u64,
    /// Regions of the target world (not the measured workload's regions).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_REGIONS)]
    pub regions: u64,
}

impl TargetArgs {
    /// The target the flags describe.
    pub fn target(&self) -> Target {
        Target {
            rps_per_region: self.rps_per_region,
            p99_ms: self.p99_ms,
            keys: self.keys,
            regions: self.regions,
        }
    }
}

/// Flags of `sigstorm whatif`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Per strategy: the data-plane CPU per request measured in DIR (CPU/req), the requests per second
one core serves at that cost (req/s/core), the model (the USL fit of a sweep that varied
data_plane.workers over saturated points, else linear), the workers (cores) per region and over
all regions, the p99 expected at the target (p99 est: the measured p99, or for `none` the round
trip to the home region) and whether it meets --p99-ms, HMACs per request, the cache hit ratio
measured and estimated at --keys, and the memory per AZ replica of the replicated keys (keys
mem/AZ) and of a full cache (cache/AZ); then every assumption. `none` also gets the home
region's control plane: calls per second, cores, round trip.

CPU per request falls as load rises (fixed costs are shared by more requests), so an answer
from a lightly loaded run overstates the cores (it says so); a sweep's folder gives the
answer from its busiest point that met the SLO. `sigstorm sweep` puts the same answer, for
the same target flags, in its report.
Exit status: 0 answered; 2 DIR holds no readable summary.json, or no usable run.")]
pub struct WhatifArgs {
    /// A results folder: a run's (sigstorm run) or a sweep's (sigstorm
    /// sweep; a sweep of data_plane.workers brings a USL fit).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// The target (listed last: its flags get their own heading).
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Run `sigstorm whatif`; returns the exit code.
///
/// # Errors
///
/// No readable `summary.json`, a bad target or no usable run (exit code 2),
/// or stdout cannot be written.
pub fn command(args: &WhatifArgs) -> anyhow::Result<i32> {
    use std::io::Write as _;
    let target = args.target.target();
    let answer = whatif_dir(&args.from, &target)?;
    let body = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&answer)?)
    } else {
        answer.text()
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(body.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
        Ok(()) => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target() -> Target {
        Target {
            rps_per_region: 1_000_000.0,
            p99_ms: 5.0,
            keys: 10_000_000,
            regions: 17,
        }
    }

    fn workload() -> Value {
        json!({
            "run": {"duration_s": 8.0, "warmup_s": 2.0},
            "regions": [
                {"name": "us-east-1", "rtt_ms": 1.0},
                {"name": "ap-northeast-1", "rtt_ms": 150.0}
            ],
            "principals": {"users": 100, "keys_per_user": 1},
            "data_plane": {"azs": 3, "cache_capacity": 100000, "workers": 1},
            "services": {"s3": 1.0, "ec2": 1.0, "sts": 1.0, "sqs": 1.0, "elasticloadbalancing": 1.0}
        })
    }

    fn environment() -> Value {
        json!({"cpu": "Test CPU", "cores": 2, "rustc": "rustc 1.95.0", "git_commit": "abc123", "os": "linux", "profile": "release"})
    }

    /// A run: 1000 req/s over 10 s of traffic = 10,000 requests; `cpu_s`
    /// data-plane seconds.
    fn run(label: &str, cpu_s: f64, hmacs: f64, hit: Option<f64>, p99_us: f64) -> Value {
        json!({
            "label": label, "strategy": label, "duration_s": 8.0, "interrupted": false,
            "achieved_rps": 1000.0, "offered_rps": 1000.0, "requests": 8000,
            "latency_us": {"p99": p99_us},
            "hmacs_per_request": hmacs,
            "cache": {"hit_ratio": hit},
            "control_plane_calls": if label == "none" { 8000 } else { 0 },
            "cpu": {"data_plane_s": cpu_s, "data_plane_threads": 1}
        })
    }

    fn run_summary() -> Value {
        json!({
            "run_id": "test", "workload": workload(), "environment": environment(),
            "runs": [
                // 10 ms for 10,000 requests: 1 µs each, 1,000,000 req/s per core.
                run("per-region", 0.01, 3.0, None, 200.0),
                // 20 ms: 2 µs each (5 HMACs: 0.4 µs per HMAC).
                run("none", 0.02, 5.0, None, 150_000.0),
                // 0.1 s: 10 µs each.
                run("per-service", 0.1, 1.1, Some(0.95), 300.0),
            ]
        })
    }

    fn by_label<'a>(a: &'a Answer, label: &str) -> &'a StrategyAnswer {
        a.strategies
            .iter()
            .find(|s| s.label == label)
            .expect("label")
    }

    #[test]
    fn linear_answers_computable_by_hand() {
        let a = whatif(&run_summary(), "test", &target()).expect("answer");
        let pr = by_label(&a, "per-region");
        assert!((pr.cpu_us_per_request - 1.0).abs() < 1e-9);
        assert_eq!(pr.model, "linear");
        assert_eq!(pr.workers_per_region, 1);
        assert_eq!(pr.total_cores, 17);
        assert!(pr.meets_p99);
        assert!((pr.extrapolation - 1000.0).abs() < 1e-9);
        assert_eq!(pr.replicated_bytes_per_az, Some(7.0e9));
        let ps = by_label(&a, "per-service");
        assert_eq!(ps.workers_per_region, 10);
        assert_eq!(ps.total_cores, 170);
        // 100,000 cached against 10M keys × 5 services: 0.2 %.
        assert!((ps.hit_ratio_at_keys.expect("estimate") - 0.002).abs() < 1e-12);
        // 1.1 + 2 × (0.95 − 0.002).
        assert!((ps.hmacs_per_request_at_keys.expect("hmacs") - 2.996).abs() < 1e-9);
        assert_eq!(
            ps.cache_bytes_per_az,
            Some(100_000.0 * BYTES_PER_CACHE_ENTRY)
        );
        let text = a.text();
        for label in [
            "per-region",
            "per-service",
            "none",
            "assumptions:",
            "Test CPU",
            "×1000",
        ] {
            assert!(text.contains(label), "{label} missing from\n{text}");
        }
    }

    #[test]
    fn none_reports_the_control_plane_and_the_round_trip() {
        let a = whatif(&run_summary(), "test", &target()).expect("answer");
        let none = by_label(&a, "none");
        assert_eq!(none.workers_per_region, 2);
        assert!(!none.meets_p99);
        assert_eq!(none.p99_floor_ms, 150.0);
        assert_eq!(none.replicated_bytes_per_az, None);
        let cp = a.control_plane.as_ref().expect("control plane");
        assert_eq!(cp.calls_per_sec, 17_000_000.0);
        // 2 µs per request / 5 HMACs = 0.4 µs; 5 per call = 2 µs; 34 cores.
        assert!((cp.us_per_hmac - 0.4).abs() < 1e-9);
        assert!((cp.us_per_call - 2.0).abs() < 1e-9);
        assert_eq!(cp.cores, 34);
        assert_eq!(cp.farthest_region, "ap-northeast-1");
        assert_eq!(cp.regions_over_target, 1);
        assert!(a.text().contains("cannot meet p99 <= 5 ms"));
    }

    fn sweep_summary(usl: Value) -> Value {
        // Workers 1, 2, 4 at 1000 req/s, 1 µs per request.
        let point = |n: f64, meets: bool, achieved: f64| {
            json!({
                "value": n, "offered_rps": achieved, "achieved_rps": achieved, "p99_us": 400.0,
                "shed": 0, "meets_slo": meets,
                "detail": {"cpu": {"data_plane_s": achieved * 10.0 * 1e-6, "data_plane_threads": n},
                           "hmacs_per_request": 3.0, "hit_ratio": null, "interrupted": false}
            })
        };
        json!({
            "kind": "sweep", "run_id": "sweep-test", "workload": workload(), "environment": environment(),
            "vary": {"name": "workers", "field": "data_plane.workers", "values": [1.0, 2.0, 4.0]},
            "slo": {"p99_us": 1000.0},
            "sweep": [{
                "label": "per-region", "strategy": "per-region",
                "points": [point(1.0, true, 1000.0), point(2.0, true, 1500.0), point(4.0, false, 1800.0)],
                "knee_rps": null,
                "usl": usl, "usl_points": "saturated"
            }]
        })
    }

    #[test]
    fn an_answer_from_a_light_load_says_it_overstates() {
        // 0.1 s of data-plane CPU over 10 s of traffic: busy 1 % of the time.
        let a = whatif(&run_summary(), "x", &target()).unwrap();
        let said = by_label(&a, "per-service").assumptions.join("\n");
        assert!(said.contains("busy 1% of the time"), "{said}");
        // 5 s of 10: busy half the time, no such line.
        let mut busy = run_summary();
        busy["runs"][2]["cpu"]["data_plane_s"] = json!(5.0);
        let a = whatif(&busy, "x", &target()).unwrap();
        assert!(!by_label(&a, "per-service")
            .assumptions
            .join("\n")
            .contains("overstates"));
    }

    #[test]
    fn each_point_is_read_in_its_own_world() {
        // A sweep of the warm-up and of the regions, over the real default
        // workload (8 s measured, 4 regions).
        let base = crate::workload::Workload::default_workload().unwrap();
        let regions = base.regions.len();
        let sweep_of = |name: &str, field: &str, value: f64| {
            json!({
                "kind": "sweep", "run_id": "sweep-world", "workload": serde_json::to_value(&base).unwrap(),
                "environment": environment(),
                "vary": {"name": name, "field": field, "values": [value]},
                "sweep": [{
                    "label": "none", "strategy": "none",
                    "points": [{
                        "value": value, "offered_rps": 1000.0, "achieved_rps": 1000.0, "p99_us": 400.0,
                        "shed": 0, "meets_slo": true,
                        "detail": {"cpu": {"data_plane_s": 0.11, "data_plane_threads": 1.0},
                                   "hmacs_per_request": 5.0, "hit_ratio": null, "interrupted": false}
                    }],
                    "knee_rps": null, "usl": null
                }]
            })
        };
        // Warm-up 3 s: 11 s of traffic, so 0.11 s / 11,000 requests = 10 µs.
        let a = whatif(
            &sweep_of("run.warmup_s", "run.warmup_s", 3.0),
            "s",
            &target(),
        )
        .unwrap();
        let st = &a.strategies[0];
        assert!(
            (st.cpu_us_per_request - 10.0).abs() < 1e-9,
            "{}",
            st.cpu_us_per_request
        );
        let said = st.assumptions.join("\n");
        assert!(said.contains("× 11.0 s of traffic"), "{said}");
        assert!(said.contains("3 s of warm-up and 8 s measured"), "{said}");
        // One region kept: the measured world and `none`'s round trips are
        // that region's.
        let a = whatif(&sweep_of("regions", "regions", 1.0), "s", &target()).unwrap();
        let cp = a.control_plane.as_ref().expect("none's control plane");
        assert_eq!(cp.regions_measured, 1, "of {regions}");
        assert_eq!(cp.farthest_region, base.regions[0].name);
        assert!(a.strategies[0].assumptions.join("\n").contains("1 regions"));
        // A rate sweep reads the base world.
        let a = whatif(
            &sweep_of("rate", "load.rate_per_sec", 1000.0),
            "s",
            &target(),
        )
        .unwrap();
        assert_eq!(a.control_plane.unwrap().regions_measured, regions as u64);
    }

    #[test]
    fn a_fit_through_generator_bound_points_is_not_used() {
        let fit = json!({"sigma": 0.1, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        let mut summary = sweep_summary(fit);
        // Point 4: the generator 1.2 ms late at p99 of 1.5 ms.
        let p = &mut summary["sweep"][0]["points"][2];
        p["p99_us"] = json!(1500.0);
        p["detail"]["lateness_p99_us"] = json!(1200.0);
        let a = whatif(&summary, "sweep", &target()).expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.model, "linear");
        assert!(pr.usl.is_none());
        let said = pr.assumptions.join("\n");
        assert!(
            said.contains(
                "the sweep's USL fit is not used: its points at workers=4 were generator-bound"
            ),
            "{said}"
        );
        // Lateness under a millisecond is pacing noise, not a bound.
        summary["sweep"][0]["points"][2]["detail"]["lateness_p99_us"] = json!(900.0);
        let a = whatif(&summary, "sweep", &target()).expect("answer");
        assert_eq!(by_label(&a, "per-region").model, "usl");
    }

    /// `sweep_summary` as a rate sweep whose fit came from the scalability
    /// probe at `threads`, on a machine of `cores`.
    fn probed_summary(fit: Value, threads: &[u64], cores: u64) -> Value {
        let mut summary = sweep_summary(fit);
        summary["vary"] = json!({"name": "rate", "field": "load.rate_per_sec", "values": [1000.0]});
        summary["environment"]["cores"] = json!(cores);
        let st = &mut summary["sweep"][0];
        st["usl_points"] = json!("probe");
        st["probe"] = json!({
            "pool": 4096, "cores": cores, "seconds_each": 1.0, "interrupted": false,
            "points": threads.iter().map(|&n| json!({
                "threads": n, "verifications_per_s": 100_000.0 * n as f64, "verifications": 100_000 * n,
                "seconds": 1.0, "cpu_s": n.min(cores) as f64, "unexpected": 0
            })).collect::<Vec<_>>()
        });
        // Generator-bound rate points do not touch the probe's fit, which
        // ran without the generator.
        st["points"][2]["p99_us"] = json!(1500.0);
        st["points"][2]["detail"]["lateness_p99_us"] = json!(1200.0);
        summary
    }

    #[test]
    fn the_probes_fit_is_used_within_the_cores_and_refused_beyond() {
        let fit = json!({"sigma": 0.1, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        let t = Target {
            rps_per_region: 4_990_000.0,
            ..target()
        };
        let a = whatif(&probed_summary(fit.clone(), &[1, 2, 4], 4), "sweep", &t).expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.model, "usl");
        assert_eq!(pr.workers_per_region, 9);
        let said = pr.assumptions.join("\n");
        assert!(
            said.contains("fitted to the closed-loop scalability probe"),
            "{said}"
        );

        let a = whatif(&probed_summary(fit, &[1, 2, 3, 4], 2), "sweep", &t).expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.model, "linear");
        assert!(pr.usl.is_none());
        let said = pr.assumptions.join("\n");
        assert!(
            said.contains(
                "the USL fit of the scalability probe is not used: it ran 3,4 threads on a \
                 machine of 2 cores"
            ),
            "{said}"
        );
    }

    #[test]
    fn a_probe_that_was_interrupted_wrong_or_starved_is_not_used() {
        let fit = json!({"sigma": 0.1, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        let said = |summary: &Value| {
            let a = whatif(summary, "sweep", &target()).expect("answer");
            let pr = by_label(&a, "per-region");
            assert_eq!(pr.model, "linear");
            pr.assumptions.join("\n")
        };
        let mut s = probed_summary(fit.clone(), &[1, 2, 4], 4);
        s["sweep"][0]["probe"]["interrupted"] = json!(true);
        assert!(said(&s).contains("the probe was interrupted"));
        let mut s = probed_summary(fit.clone(), &[1, 2, 4], 4);
        s["sweep"][0]["probe"]["points"][1]["unexpected"] = json!(3);
        assert!(said(&s).contains("the probe made 3 wrong decisions"));
        let mut s = probed_summary(fit.clone(), &[1, 2, 4], 4);
        s["sweep"][0]["probe"]["points"][2]["cpu_s"] = json!(1.5);
        assert!(said(&s).contains("at 4 thread(s) the threads did not get the CPU"));
        let mut s = probed_summary(fit.clone(), &[1, 2, 4], 4);
        s["environment"]["cores"] = json!(0);
        assert!(said(&s).contains("core count is not recorded"));
        // A probe that gave no fit says so, not "sweep data_plane.workers".
        let mut s = probed_summary(Value::Null, &[1, 2], 4);
        s["sweep"][0]["usl_points"] = json!("no fit: the probe measured 2 thread count(s)");
        let text = said(&s);
        assert!(
            text.contains("the scalability probe allows no USL fit"),
            "{text}"
        );
        assert!(!text.contains("sweep data_plane.workers"), "{text}");
    }

    #[test]
    fn replicas_are_sized_from_the_probes_threads_not_the_rates() {
        // σ 0.5, κ 0: scaled to the per-core capacity the model tops out
        // at λ/σ, below 5,000,000 req/s, so the answer is replicas of the
        // largest probed thread count (4), not of a rate value.
        let fit = json!({"sigma": 0.5, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        let mut s = probed_summary(fit, &[1, 2, 4], 4);
        s["sweep"][0]["points"][0]["value"] = json!(2000.0);
        s["sweep"][0]["points"][1]["value"] = json!(3000.0);
        s["sweep"][0]["points"][2]["value"] = json!(4000.0);
        let t = Target {
            rps_per_region: 5_000_000.0,
            ..target()
        };
        let a = whatif(&s, "sweep", &t).expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.model, "usl");
        assert_eq!(pr.workers_per_region % pr.replicas_per_region, 0);
        assert_eq!(pr.workers_per_region / pr.replicas_per_region, 4);
    }

    #[test]
    fn malformed_fits_and_probes_are_named() {
        let fit = json!({"sigma": 0.1, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        for (path, value, needle) in [
            (&["usl", "sigma"][..], json!(-0.5), "usl.sigma must be"),
            (&["usl", "kappa"][..], json!(-0.5), "usl.kappa must be"),
            (
                &["usl", "lambda"][..],
                json!(0.0),
                "usl.lambda must be above 0",
            ),
            (&["usl", "peak_n"][..], json!(-3.0), "usl.peak_n must be"),
            (&["usl", "sigma"][..], json!("x"), "usl is not a fit"),
            (&["probe", "cores"][..], json!(0), "probe.cores"),
            (&["probe", "pool"][..], json!(0), "probe.pool"),
            (
                &["probe", "points"][..],
                json!([{"threads": 0, "verifications_per_s": 1.0, "verifications": 1, "seconds": 1.0, "cpu_s": 1.0, "unexpected": 0}]),
                "probe.points[0].threads",
            ),
            (
                &["probe", "points"][..],
                json!([{"threads": 1, "verifications_per_s": -1.0, "verifications": 1, "seconds": 1.0, "cpu_s": 1.0, "unexpected": 0}]),
                "probe.points[0].verifications_per_s",
            ),
            (&["probe", "points"][..], json!("x"), "probe is not a probe"),
        ] {
            let mut s = probed_summary(fit.clone(), &[1, 2, 4], 4);
            let mut node = &mut s["sweep"][0];
            for step in &path[..path.len() - 1] {
                node = &mut node[*step];
            }
            node[path[path.len() - 1]] = value;
            let e = whatif(&s, "sweep", &target()).unwrap_err().to_string();
            assert!(e.contains(needle), "{path:?}: {e}");
            assert!(e.contains("sweep: sweep[0]."), "{path:?}: {e}");
        }
    }

    #[test]
    fn usl_path_within_reach() {
        // λ equal to the per-core capacity (1 µs: 1,000,000 req/s), σ 0.1:
        // 1,000,000 × N / (1 + 0.1(N−1)) ≥ 5,000,000 at N = 9.
        let fit = json!({"sigma": 0.1, "kappa": 0.0, "lambda": 1_000_000.0, "r2": 0.99, "residuals": [], "peak_n": null});
        let t = Target {
            rps_per_region: 4_990_000.0,
            ..target()
        };
        let a = whatif(&sweep_summary(fit), "sweep", &t).expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.model, "usl");
        assert!(pr.measured_at.contains("point 2"), "{}", pr.measured_at);
        assert_eq!(pr.workers_per_region, 9);
        assert_eq!(pr.replicas_per_region, 1);
        // From the point the CPU figure came from (1500 req/s), not the
        // most measured (1800).
        assert!((pr.extrapolation - 4_990_000.0 / 1500.0).abs() < 1e-6);
        assert_eq!(pr.largest_measured_rps, 1800.0);
    }

    #[test]
    fn usl_path_beyond_the_peak_splits_into_replicas() {
        // λ 1,000 req/s, σ 0.05, κ 0.001: peak at √950 = 30.8 workers; the
        // fit's λ is scaled to the per-core capacity, ×1000.
        let fit = json!({"sigma": 0.05, "kappa": 0.001, "lambda": 1000.0, "r2": 0.99, "residuals": [], "peak_n": 950f64.sqrt()});
        let a = whatif(&sweep_summary(fit), "sweep", &target()).expect("answer");
        let pr = by_label(&a, "per-region");
        let model = UslFit {
            sigma: 0.05,
            kappa: 0.001,
            lambda: 1000.0,
            r2: 0.99,
            residuals: vec![],
            peak_n: Some(950f64.sqrt()),
        };
        // 1,000,000 / 1000 = 1000 req/s of the fit: X(1) already reaches it.
        assert_eq!(pr.workers_per_region, 1);
        let far = Target {
            rps_per_region: 1e9,
            ..target()
        };
        let a = whatif(
            &sweep_summary(serde_json::to_value(&model).expect("json")),
            "s",
            &far,
        )
        .expect("answer");
        let pr = by_label(&a, "per-region");
        assert_eq!(pr.workers_per_replica, 31);
        let each = model.predict(31.0) * 1000.0;
        assert_eq!(pr.replicas_per_region, (1e9 / each).ceil() as u64);
        assert_eq!(pr.workers_per_region, pr.replicas_per_region * 31);
        assert!(pr
            .assumptions
            .iter()
            .any(|a| a.contains("cannot be reached by adding workers to one replica")));
    }

    #[test]
    fn no_usable_run_and_bad_targets_are_errors() {
        let empty = json!({"runs": []});
        assert!(matches!(
            whatif(&empty, "x", &target()),
            Err(WhatifError::NoUsableRun(_))
        ));
        let no_cpu = json!({"runs": [{"label": "per-region", "strategy": "per-region", "achieved_rps": 10.0,
                                      "latency_us": {"p99": 100.0}, "hmacs_per_request": 3.0}]});
        let e = whatif(&no_cpu, "x", &target()).expect_err("no cpu");
        assert!(e.to_string().contains("per-region"), "{e}");
        // Figures no run can have are named, not answered.
        let mut negative = run_summary();
        negative["runs"][0]["latency_us"]["p99"] = json!(-5.0);
        let e = whatif(&negative, "x", &target()).expect_err("negative");
        assert_eq!(e.to_string(), "x: runs[0].latency_us.p99 is negative");
        let mut missing = run_summary();
        missing["runs"][1]
            .as_object_mut()
            .unwrap()
            .remove("hmacs_per_request");
        let e = whatif(&missing, "x", &target()).expect_err("missing");
        assert_eq!(e.to_string(), "x: runs[1].hmacs_per_request is missing");
        // Targets past their bounds name their flag.
        for (bad, flag) in [
            (
                Target {
                    rps_per_region: 1e20,
                    ..target()
                },
                "--rps-per-region",
            ),
            (
                Target {
                    rps_per_region: 0.4,
                    ..target()
                },
                "--rps-per-region",
            ),
            (
                Target {
                    p99_ms: 1e308,
                    ..target()
                },
                "--p99-ms",
            ),
            (
                Target {
                    keys: 0,
                    ..target()
                },
                "--keys",
            ),
            (
                Target {
                    keys: u64::MAX,
                    ..target()
                },
                "--keys",
            ),
            (
                Target {
                    regions: 0,
                    ..target()
                },
                "--regions",
            ),
            (
                Target {
                    regions: 100_000,
                    ..target()
                },
                "--regions",
            ),
        ] {
            let e = bad.validate().expect_err(flag).to_string();
            assert!(e.starts_with(flag), "{e}");
        }
        let bad = Target {
            p99_ms: 0.0,
            ..target()
        };
        assert!(matches!(
            whatif(&run_summary(), "x", &bad),
            Err(WhatifError::BadTarget(_))
        ));
        let dir = std::env::temp_dir().join(format!("sigstorm-whatif-{}", std::process::id()));
        assert!(matches!(
            whatif_dir(&dir, &target()),
            Err(WhatifError::NoFolder(_))
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        assert!(matches!(
            whatif_dir(&dir, &target()),
            Err(WhatifError::NoSummary(_))
        ));
        std::fs::write(dir.join("summary.json"), "{not json").expect("write");
        assert!(matches!(
            whatif_dir(&dir, &target()),
            Err(WhatifError::Unreadable { .. })
        ));
        assert!(matches!(
            whatif_dir(&dir.join("summary.json"), &target()),
            Err(WhatifError::NotAFolder(_))
        ));
        // Valid JSON that is not a summary names what is missing.
        std::fs::write(dir.join("summary.json"), "[]").expect("write");
        let e = whatif_dir(&dir, &target()).expect_err("not a summary");
        assert!(e.to_string().contains("expected struct Summary"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn json_output_names_every_field() {
        let a = whatif(&run_summary(), "test", &target()).expect("answer");
        let v = serde_json::to_value(&a).expect("json");
        assert_eq!(v["strategies"][0]["label"], "per-region");
        assert_eq!(v["control_plane"]["cores"], 34);
        assert!(v["assumptions"].as_array().is_some_and(|a| !a.is_empty()));
    }

    #[test]
    fn whatif_and_sweep_share_the_target_flags_and_their_default() {
        use crate::cli::{Cli, Command};
        use clap::Parser as _;
        assert_eq!(Target::default(), target());
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses").command;
        match parse(&["sigstorm", "whatif", "--from", "d"]) {
            Some(Command::Whatif(a)) => assert_eq!(a.target.target(), Target::default()),
            other => panic!("{other:?}"),
        }
        match parse(&["sigstorm", "sweep", "--vary", "rate=1"]) {
            Some(Command::Sweep(a)) => assert_eq!(a.target.target(), Target::default()),
            other => panic!("{other:?}"),
        }
        match parse(&[
            "sigstorm",
            "sweep",
            "--vary",
            "rate=1",
            "--rps-per-region",
            "5000",
            "--p99-ms",
            "2.5",
            "--keys",
            "1000",
            "--regions",
            "3",
        ]) {
            Some(Command::Sweep(a)) => assert_eq!(
                a.target.target(),
                Target {
                    rps_per_region: 5000.0,
                    p99_ms: 2.5,
                    keys: 1000,
                    regions: 3
                }
            ),
            other => panic!("{other:?}"),
        }
        let e = Cli::try_parse_from(["sigstorm", "sweep", "--vary", "rate=1", "--keys=-3"])
            .expect_err("negative keys");
        assert!(e.to_string().contains("--keys"), "{e}");
    }
}
