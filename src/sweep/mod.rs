//! `sigstorm sweep`: run a workload once per value of one numeric field (and
//! per strategy), judge every point against a latency SLO, and find the
//! knee: the largest offered rate that meets the SLO with nothing shed.
//!
//! A field is named by its dotted path in the workload (`load.rate_per_sec`,
//! `data_plane.workers`, `schedule[0].count`) or by a short alias (`rate`,
//! `workers`, `users`, `keys`, `cache`, `delay`, `regions`). Setting it goes
//! through the workload's own serialization and validation, so every numeric
//! field works and a bad value is refused with the field named.
//!
//! A point *meets the SLO* when its p99 latency is at most the SLO's (when
//! there is one), nothing was shed, and the achieved throughput is at least
//! [`MIN_ACHIEVED_SHARE`] of the offered. The knee is the largest offered
//! rate (the configured `load.rate_per_sec`) among the points that meet it;
//! `--bisect N` then runs N more rates per strategy, halving the gap between
//! the knee and the next higher rate that failed. The knee is only defined
//! when the varied field is the rate.
//!
//! The folder holds `summary.json` (rewritten atomically after every point,
//! so an interrupted sweep keeps its points), `report.html` and the charts.
//! The submodule `field` names and sets the varied field; `report` writes what a
//! sweep found for people (the table, `summary.md`, `report.html`, charts).

mod field;
pub mod probe;
mod report;

pub use field::{resolve, set_field, Vary, ALIASES, MAX_VALUES};
pub use report::{charts, html, markdown, table, usl_chart, whatif_text, write_report, Written};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::cache::CacheBackend;
use crate::clock::format_rfc3339_ms;
use crate::progress::Progress;
use crate::report::{human_rate, human_us};
use crate::run::{plans, run_strategy, Plan};
use crate::strategy::Strategy;
use crate::summary::{platform_bound, write_atomically, CpuSplit, Environment, RunSummary};
use crate::whatif::{Answer, Target};
use crate::workload::Workload;

/// A point keeps up when it achieves at least this share of the offered
/// throughput.
pub const MIN_ACHIEVED_SHARE: f64 = 0.98;

/// The workload path of the offered rate.
pub const RATE_FIELD: &str = "load.rate_per_sec";

/// The workload path of the data-plane thread count (a sweep of it gets a
/// Universal Scalability Law fit).
pub const WORKERS_FIELD: &str = "data_plane.workers";

/// The SLO a sweep judges points by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// The largest acceptable p99 latency, microseconds; `null` when only
    /// shedding and keeping up are judged.
    pub p99_us: Option<f64>,
    /// Where it came from: `--slo`, `workload` (its `[slo]`) or `none`.
    pub source: String,
    /// A point must achieve at least this share of the offered throughput.
    pub min_achieved_share: f64,
}

impl Slo {
    /// The SLO of `--slo` when given, else the workload's, else none.
    pub fn choose(flag: Option<f64>, workload: &Workload) -> Slo {
        let (p99_us, source) = match (flag, workload.slo) {
            (Some(us), _) => (Some(us), "--slo"),
            (None, Some(s)) => (Some(s.p99_ms * 1000.0), "workload"),
            (None, None) => (None, "none"),
        };
        Slo {
            p99_us,
            source: source.to_string(),
            min_achieved_share: MIN_ACHIEVED_SHARE,
        }
    }

    /// Whether figures meet it, and if not, why.
    pub fn judge(&self, m: &Measurement) -> (bool, String) {
        let mut why = Vec::new();
        if m.responses < MIN_RESPONSES {
            why.push(format!(
                "only {} responses measured, too few for a p99 (at least {MIN_RESPONSES}): \
                 lengthen --duration or raise the rate",
                m.responses
            ));
        }
        if let Some(limit) = self.p99_us {
            if m.p99_us.is_nan() || m.p99_us > limit {
                let mut reason = format!("p99 {} > {}", human_us(m.p99_us), human_us(limit));
                // Latency counts from the intended start, so a late generator
                // fails a point by itself: say so rather than blame the server.
                if m.lateness_p99_us >= 0.5 * m.p99_us {
                    reason.push_str(&format!(
                        " (of which generator lateness p99 {}: the pacing, not the data plane)",
                        human_us(m.lateness_p99_us)
                    ));
                }
                // So does a machine whose own stalls make up the tail.
                if let Some(h) = m.hiccup_p99_us.filter(|h| platform_bound(*h, m.p99_us)) {
                    reason.push_str(&format!(
                        " (scheduling stalls of {} at p99, hiccups: this point measures how long a \
                         waking thread waits for a core here)",
                        human_us(h)
                    ));
                }
                why.push(reason);
            }
        }
        if m.shed > 0 {
            why.push(format!("{} shed", m.shed));
        }
        if m.achieved_rps.is_nan() || m.achieved_rps < self.min_achieved_share * m.offered_rps {
            why.push(format!(
                "achieved {:.1}% of offered",
                if m.offered_rps > 0.0 {
                    100.0 * m.achieved_rps / m.offered_rps
                } else {
                    0.0
                }
            ));
        }
        (why.is_empty(), why.join(", "))
    }

    /// The SLO in words.
    pub fn describe(&self) -> String {
        let keep = format!(
            "nothing shed and at least {:.0}% of the offered rate achieved",
            self.min_achieved_share * 100.0
        );
        match self.p99_us {
            Some(us) => format!("p99 <= {}, {keep}", human_us(us)),
            None => format!("no latency SLO; {keep}"),
        }
    }
}

/// Parse `p99=2ms` (units `us`/`µs`, `ms`, `s`) into microseconds.
///
/// # Errors
///
/// Another percentile, a missing unit, or a value that is not positive.
pub fn parse_slo(s: &str) -> Result<f64> {
    let Some((what, v)) = s.split_once('=') else {
        bail!("--slo '{s}' is not p99=DURATION (for example p99=2ms)");
    };
    if what.trim() != "p99" {
        bail!("--slo '{s}': only p99 is supported, as p99=2ms");
    }
    let v = v.trim();
    let (num, unit) = if let Some(n) = v.strip_suffix("us").or_else(|| v.strip_suffix("µs")) {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        bail!("--slo '{s}': the duration needs a unit: us, ms or s (p99=2ms)");
    };
    match num.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x * unit <= 3.6e9 => Ok(x * unit),
        Ok(x) if x.is_finite() && x > 0.0 => {
            bail!("--slo '{s}': a p99 of more than an hour is no SLO (at most 3600s)")
        }
        _ => bail!("--slo '{s}': '{v}' is not a positive duration"),
    }
}

/// Fewer responses than this in a point's window leave its p99 to a handful
/// of requests (the 99th percentile of 100 is the second largest): such a
/// point fails the SLO with the reason, rather than pass on too little.
pub const MIN_RESPONSES: u64 = 100;

/// The headline figures of one strategy run at one point.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Measurement {
    /// Responses in the measured window.
    #[serde(default)]
    pub responses: u64,
    /// Requests offered per second in the measured window.
    pub offered_rps: f64,
    /// Responses per second in the measured window.
    pub achieved_rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile latency, microseconds.
    pub p999_us: f64,
    /// Largest latency, microseconds.
    pub max_us: f64,
    /// 99th percentile service time, microseconds.
    pub service_p99_us: f64,
    /// 99th percentile generator lateness, microseconds.
    pub lateness_p99_us: f64,
    /// Requests shed by the in-flight bound.
    pub shed: u64,
    /// Requests unanswered when the drain timed out.
    pub unfinished: u64,
    /// `ServiceUnavailable` answers.
    pub unavailable: u64,
    /// The signing-key cache's hit ratio, for the cached strategies.
    pub hit_ratio: Option<f64>,
    /// HMACs per response on the verifying side.
    pub hmacs_per_request: f64,
    /// How the CPU was split.
    pub cpu: Option<CpuSplit>,
    /// The run's warnings.
    pub warnings: Vec<String>,
    /// Stopped early by an interrupt.
    pub interrupted: bool,
    /// Scheduling stalls (hiccups): p99 over time of how long a thread waking every 1 ms waited
    /// over the window, microseconds ([`crate::hiccup`]); `null` when not
    /// measured.
    #[serde(default)]
    pub hiccup_p99_us: Option<f64>,
    /// The longest such stall, microseconds.
    #[serde(default)]
    pub hiccup_max_us: Option<f64>,
    /// Requests allowed although the AZ's applied state did not allow them
    /// (a correctness defect).
    #[serde(default)]
    pub stale_accepts: u64,
    /// Legitimate requests refused although the AZ's applied state allowed
    /// them (a correctness defect).
    #[serde(default)]
    pub unexpected_rejections: u64,
    /// Requests built to be refused that were allowed (a correctness
    /// defect).
    #[serde(default)]
    pub unexpected_accepts: u64,
}

impl Measurement {
    /// The headline figures of a run.
    pub fn of(run: &RunSummary) -> Measurement {
        let f = &run.figures;
        Measurement {
            responses: (f.achieved_rps * run.duration_s).round() as u64,
            offered_rps: f.offered_rps,
            achieved_rps: f.achieved_rps,
            p50_us: f.latency_us.p50,
            p99_us: f.latency_us.p99,
            p999_us: f.latency_us.p999,
            max_us: f.latency_us.max,
            service_p99_us: run.service_time_us.p99,
            lateness_p99_us: run.generator_lateness_us.p99,
            shed: f.shed,
            unfinished: f.unfinished,
            unavailable: f.outcomes.get("ServiceUnavailable").copied().unwrap_or(0),
            hit_ratio: f.cache.hit_ratio,
            hmacs_per_request: f.hmacs_per_request,
            cpu: Some(run.cpu),
            warnings: run.warnings.clone(),
            interrupted: run.interrupted,
            hiccup_p99_us: run.platform_hiccups_us.map(|h| h.p99),
            hiccup_max_us: run.platform_hiccups_us.map(|h| h.max),
            stale_accepts: f.stale_accepts,
            unexpected_rejections: f.unexpected_rejections,
            unexpected_accepts: f.unexpected_accepts,
        }
    }

    /// Correctness defects: stale accepts, unexpected rejections and
    /// unexpected accepts (what makes `sigstorm run` exit 1).
    pub fn defects(&self) -> u64 {
        self.stale_accepts
            .saturating_add(self.unexpected_rejections)
            .saturating_add(self.unexpected_accepts)
    }
}

/// One point of a strategy's sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Point {
    /// The varied field's value.
    pub value: f64,
    /// Requests offered per second (measured).
    pub offered_rps: f64,
    /// Responses per second (measured).
    pub achieved_rps: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// Requests shed.
    pub shed: u64,
    /// Whether the point meets the SLO (see [`Slo`]).
    pub meets_slo: bool,
    /// Why not, in words (empty when it meets it).
    pub why: String,
    /// Run by the bisection, not one of the listed values.
    pub bisect: bool,
    /// The rest of the run's headline figures.
    pub detail: Measurement,
}

/// The sweep of one run label (a strategy, with its cache backend when the
/// workload compares several).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StrategySweep {
    /// The run label, as in `sigstorm run`'s table.
    pub label: String,
    /// The strategy.
    pub strategy: Strategy,
    /// The cache backend, for the cached strategies.
    pub cache_backend: Option<CacheBackend>,
    /// The points, by ascending value.
    pub points: Vec<Point>,
    /// The largest offered rate meeting the SLO; `null` when no point does
    /// or the varied field is not the rate.
    pub knee_rps: Option<f64>,
    /// Why the knee may not be the knee, in words (see [`knee_caveats`]).
    #[serde(default)]
    pub knee_caveats: Vec<String>,
    /// The Universal Scalability Law fit of throughput against data-plane
    /// threads, when the sweep varies `data_plane.workers`.
    #[serde(default)]
    pub usl: Option<crate::usl::UslFit>,
    /// Which points the fit used: `saturated` (a workers sweep's points
    /// that achieved below [`MIN_ACHIEVED_SHARE`] of offered, or shed) or
    /// `probe` (the scalability probe after a rate sweep, [`probe`]); or why
    /// there is no fit.
    #[serde(default)]
    pub usl_points: Option<String>,
    /// The closed-loop scalability probe after a rate sweep (see
    /// [`probe`]): decisions per second at each thread count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<probe::Probe>,
}

/// A sweep's `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The tool and its version.
    pub sigstorm_version: String,
    /// `sweep`.
    pub kind: String,
    /// The sweep's id (its folder's name).
    pub run_id: String,
    /// The workload before the varied field is set (after `--strategies`,
    /// `--duration` and the other overrides).
    pub workload: Workload,
    /// The seed of every random choice.
    pub seed: u64,
    /// Where it ran.
    pub environment: Environment,
    /// Real UTC time the sweep started, RFC 3339.
    pub started_at: String,
    /// Whether every point (and the bisection) ran to the end.
    pub complete: bool,
    /// What was varied.
    pub vary: Vary,
    /// Extra runs per strategy to refine the knee.
    pub bisect: usize,
    /// The SLO the points are judged by.
    pub slo: Slo,
    /// Per run label, its points and knee.
    pub sweep: Vec<StrategySweep>,
    /// The what-if answer from this sweep's own measurements (as
    /// `sigstorm whatif --from DIR` gives it, for the target of the sweep's
    /// `--rps-per-region`, `--p99-ms`, `--keys` and `--regions`); `null`
    /// until the sweep ends, or when no point had the figures needed (see
    /// `whatif_error`).
    #[serde(default)]
    pub whatif: Option<Answer>,
    /// Why there is no what-if answer.
    #[serde(default)]
    pub whatif_error: Option<String>,
}

impl SweepSummary {
    /// Correctness defects over every point (see [`Measurement::defects`]).
    pub fn defects(&self) -> u64 {
        defects(&self.sweep)
    }

    /// Answer `target` from this sweep's measurements, into `whatif` (or
    /// `whatif_error`).
    pub fn answer(&mut self, target: &Target) {
        let (answer, error) = match serde_json::to_value(&*self) {
            Ok(v) => {
                match crate::whatif::whatif(&v, &format!("this sweep, {}", self.run_id), target) {
                    Ok(a) => (Some(a), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
            Err(e) => (None, Some(format!("cannot represent the sweep: {e}"))),
        };
        self.whatif = answer;
        self.whatif_error = error;
    }
}

/// Correctness defects over every point of `sweeps`.
pub fn defects(sweeps: &[StrategySweep]) -> u64 {
    let probes = sweeps
        .iter()
        .filter_map(|s| s.probe.as_ref())
        .map(probe::Probe::unexpected)
        .fold(0, u64::saturating_add);
    sweeps
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.detail.defects())
        .fold(probes, u64::saturating_add)
}

/// The points with correctness defects, in words (`per-region rate=600: 2
/// unexpected rejections`).
pub fn defect_lines(s: &SweepSummary) -> Vec<String> {
    let mut out = Vec::new();
    for st in &s.sweep {
        for p in &st.points {
            let d = &p.detail;
            if d.defects() == 0 {
                continue;
            }
            let mut what = Vec::new();
            for (n, name) in [
                (d.stale_accepts, "stale accepts"),
                (d.unexpected_rejections, "unexpected rejections"),
                (d.unexpected_accepts, "unexpected accepts"),
            ] {
                if n > 0 {
                    what.push(format!("{n} {name}"));
                }
            }
            out.push(format!(
                "{} {}={}: {}",
                st.label,
                s.vary.name,
                fmt_value(p.value),
                what.join(", ")
            ));
        }
        if let Some(pr) = &st.probe {
            for p in pr.points.iter().filter(|p| p.unexpected > 0) {
                out.push(format!(
                    "{} probe at {} threads: {} unexpected decisions",
                    st.label, p.threads, p.unexpected
                ));
            }
        }
    }
    out
}

/// A generator late by more than this (p99) and by at least half the
/// point's p99 latency sets the point's figures itself.
pub const LATE_GENERATOR_US: f64 = 1000.0;

/// Whether a point with this generator lateness and latency (p99,
/// microseconds) measured the load generator rather than the data planes
/// (see [`LATE_GENERATOR_US`]).
pub fn generator_bound(lateness_p99_us: f64, p99_us: f64) -> bool {
    lateness_p99_us > LATE_GENERATOR_US && lateness_p99_us >= 0.5 * p99_us
}

/// One line per run label whose points were held back by the load
/// generator: it shares the cores with the data planes, and past its own
/// ceiling it offers the load late, so such points (and a USL fit or what-if
/// drawn from them) measure the generator, not data-plane scaling.
pub fn late_generator_lines(s: &SweepSummary) -> Vec<String> {
    let mut out = Vec::new();
    for st in &s.sweep {
        let late: Vec<&Point> = st
            .points
            .iter()
            .filter(|p| generator_bound(p.detail.lateness_p99_us, p.p99_us))
            .collect();
        let Some(worst) = late
            .iter()
            .map(|p| p.detail.lateness_p99_us)
            .max_by(f64::total_cmp)
        else {
            continue;
        };
        let values: Vec<String> = late.iter().map(|p| fmt_value(p.value)).collect();
        out.push(format!(
            "{}: the generator was late at {}={} (lateness p99 up to {}): there the load \
             generator, sharing the cores, sent requests late (offered/s counts their intended \
             starts, so it still reads the full rate), so these points{} measure the generator, \
             not the data planes; lower --rate or give the generator its own cores",
            st.label,
            s.vary.name,
            values.join(","),
            human_us(worst),
            if st.usl.is_some() && st.probe.is_none() {
                " and the USL fit"
            } else {
                ""
            }
        ));
    }
    out
}

/// The knee of `points`: the largest value (an offered rate) among those
/// meeting the SLO, interrupted points aside.
pub fn knee(points: &[Point]) -> Option<f64> {
    points
        .iter()
        .filter(|p| p.meets_slo && !p.detail.interrupted)
        .map(|p| p.value)
        .max_by(f64::total_cmp)
}

/// Where to bisect: the knee (or 0 when no point meets the SLO) and the
/// smallest failing rate above it; `None` when nothing failed above it.
pub fn bracket(points: &[Point]) -> Option<(f64, f64)> {
    let lo = knee(points).unwrap_or(0.0);
    let hi = points
        .iter()
        .filter(|p| !p.meets_slo && !p.detail.interrupted && p.value > lo)
        .map(|p| p.value)
        .min_by(f64::total_cmp)?;
    Some((lo, hi))
}

/// The next rate to try between `lo` (met) and `hi` (failed), whole
/// requests per second; `None` when they are too close to split.
pub fn midpoint(lo: f64, hi: f64) -> Option<f64> {
    let mid = ((lo + hi) / 2.0).round();
    (mid > lo && mid < hi).then_some(mid)
}

/// Runs one strategy at one point: `(workload with the value set, plan,
/// label, value, point number, of)`.
pub type Runner<'a> =
    dyn FnMut(&Workload, Plan, &str, f64, usize, usize) -> Result<Measurement> + 'a;

/// Run every point of the sweep, then the bisection; `save` is called after
/// every point with the sweep so far (and whether it is complete). `stop`
/// ends it early, keeping the points.
///
/// # Errors
///
/// A value the workload refuses (before anything runs), a run that cannot
/// be set up, or `save` failing.
pub fn execute(
    base: &Workload,
    vary: &Vary,
    bisect: usize,
    slo: &Slo,
    stop: &AtomicBool,
    run: &mut Runner<'_>,
    save: &mut dyn FnMut(&[StrategySweep], bool) -> Result<()>,
) -> Result<Vec<StrategySweep>> {
    if bisect > 0 && !vary.is_rate() {
        bail!(
            "--bisect refines the knee, an offered rate: it needs --vary rate=..., not {}",
            vary.name
        );
    }
    // Every value is checked before anything runs.
    let workloads: Vec<Workload> = vary
        .values
        .iter()
        .map(|v| set_field(base, &vary.name, *v))
        .collect::<Result<_>>()?;
    let plans = plans(base);
    let mut sweeps: Vec<StrategySweep> = plans
        .iter()
        .map(|p| StrategySweep {
            label: p.label(base),
            strategy: p.strategy,
            cache_backend: p.cache_backend,
            points: Vec::new(),
            knee_rps: None,
            knee_caveats: Vec::new(),
            usl: None,
            usl_points: None,
            probe: None,
        })
        .collect();
    let total = vary.values.len() * plans.len() + bisect * plans.len();
    let mut n = 0;
    let mut interrupted = false;
    'values: for (value, w) in vary.values.iter().zip(&workloads) {
        for (k, plan) in plans.iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break 'values;
            }
            n += 1;
            let m = run(w, *plan, &sweeps[k].label, *value, n, total)?;
            interrupted |= m.interrupted;
            sweeps[k].points.push(point(*value, m, slo, false));
            finish(&mut sweeps[k], vary);
            save(&sweeps, false)?;
        }
    }
    if !interrupted && bisect > 0 {
        for (k, plan) in plans.iter().enumerate() {
            for _ in 0..bisect {
                if stop.load(Ordering::Relaxed) {
                    interrupted = true;
                    break;
                }
                let Some(mid) = bracket(&sweeps[k].points).and_then(|(lo, hi)| midpoint(lo, hi))
                else {
                    break;
                };
                n += 1;
                let w = set_field(base, &vary.name, mid)?;
                let m = run(&w, *plan, &sweeps[k].label, mid, n, total)?;
                interrupted |= m.interrupted;
                sweeps[k].points.push(point(mid, m, slo, true));
                sweeps[k].points.sort_by(|a, b| a.value.total_cmp(&b.value));
                finish(&mut sweeps[k], vary);
                save(&sweeps, false)?;
            }
        }
    }
    for s in &mut sweeps {
        finish(s, vary);
        if vary.is_workers() {
            fit_usl(s);
        }
    }
    save(&sweeps, !interrupted && !stop.load(Ordering::Relaxed))?;
    Ok(sweeps)
}

fn point(value: f64, m: Measurement, slo: &Slo, bisect: bool) -> Point {
    let (meets, why) = slo.judge(&m);
    let why = if m.interrupted {
        "interrupted".to_string()
    } else {
        why
    };
    Point {
        value,
        offered_rps: m.offered_rps,
        achieved_rps: m.achieved_rps,
        p99_us: m.p99_us,
        shed: m.shed,
        meets_slo: meets && !m.interrupted,
        why,
        bisect,
        detail: m,
    }
}

fn finish(s: &mut StrategySweep, vary: &Vary) {
    s.knee_rps = if vary.is_rate() {
        knee(&s.points)
    } else {
        None
    };
    s.knee_caveats = match s.knee_rps {
        Some(k) => knee_caveats(&s.points, k, vary),
        None => Vec::new(),
    };
}

/// Why a knee at `knee` may not be the knee: when the highest rate swept
/// met the SLO the knee is only a lower bound, and when rates below it
/// failed, the points disagree with each other (on a busy or virtual
/// machine, a few milliseconds of stall can fail one short point and spare
/// the next).
pub fn knee_caveats(points: &[Point], knee: f64, vary: &Vary) -> Vec<String> {
    let name = &vary.name;
    let usable: Vec<&Point> = points.iter().filter(|p| !p.detail.interrupted).collect();
    let mut caveats = Vec::new();
    if usable.iter().all(|p| p.value <= knee) {
        let planned = vary.values.iter().copied().fold(knee, f64::max);
        caveats.push(if planned > knee {
            format!(
                "a lower bound: the sweep was interrupted before the {name} values above it \
                 were measured"
            )
        } else {
            format!(
                "a lower bound: the highest {name} swept met the SLO; sweep higher to find the knee"
            )
        });
    }
    let below: Vec<String> = usable
        .iter()
        .filter(|p| !p.meets_slo && p.value < knee)
        .map(|p| fmt_value(p.value))
        .collect();
    if !below.is_empty() {
        caveats.push(format!(
            "{name}={} below the knee failed the SLO: the points disagree (see why), so the knee \
             is uncertain; repeat the sweep or lengthen --duration",
            below.join(",")
        ));
    }
    // The first failure above the knee sets it; when scheduling stalls
    // explain that failure, the knee may lie higher.
    let next = usable
        .iter()
        .filter(|p| !p.meets_slo && p.value > knee)
        .min_by(|a, b| a.value.total_cmp(&b.value));
    if let Some(p) = next {
        let stalled = p
            .detail
            .hiccup_p99_us
            .is_some_and(|h| platform_bound(h, p.p99_us));
        if stalled {
            caveats.push(format!(
                "{name}={} above it failed during scheduling stalls (hiccups), so the knee may \
                 lie higher; repeat the sweep",
                fmt_value(p.value)
            ));
        }
    }
    caveats
}

/// Whether a point is saturated: it achieved less than it was offered, or
/// shed.
pub fn saturated(p: &Point) -> bool {
    p.shed > 0 || p.achieved_rps < MIN_ACHIEVED_SHARE * p.offered_rps
}

/// The (threads, achieved) points a Universal Scalability Law fit uses, in
/// order: the probe's, when there was one; else the saturated points of a
/// workers sweep, interrupted points aside. Below saturation a
/// point's throughput is the offered load, not what its threads can do, so
/// no other point says anything about scaling.
pub fn usl_inputs(s: &StrategySweep) -> Vec<(f64, f64)> {
    if let Some(pr) = &s.probe {
        return pr.fit_inputs();
    }
    s.points
        .iter()
        .filter(|p| !p.detail.interrupted && saturated(p))
        .map(|p| (p.value, p.achieved_rps))
        .collect()
}

/// The fewest saturated points a fit of the law's three parameters takes.
pub const MIN_USL_POINTS: usize = 3;

/// Fit the Universal Scalability Law to (threads, achieved) of the
/// saturated points (see [`usl_inputs`]), or say why there is no fit.
fn fit_usl(s: &mut StrategySweep) {
    let pts = usl_inputs(s);
    let measured = s.points.iter().filter(|p| !p.detail.interrupted).count();
    let too_few = format!(
        "no fit: {} of {measured} points saturated (achieved below {:.0}% of offered, or shed) \
         and a fit needs {MIN_USL_POINTS}: below saturation a point's throughput is the offered \
         load, not its capacity; raise --rate",
        pts.len(),
        MIN_ACHIEVED_SHARE * 100.0
    );
    set_fit(s, &pts, "saturated", too_few);
}

/// Keep the probe `pr` in `s` and fit the Universal Scalability Law to its
/// points, or say why there is no fit.
pub fn fit_probe(s: &mut StrategySweep, pr: probe::Probe) {
    let pts = pr.fit_inputs();
    let too_few = format!(
        "no fit: the probe measured {} thread count(s) and a fit needs {MIN_USL_POINTS}",
        pts.len()
    );
    set_fit(s, &pts, PROBE_POINTS, too_few);
    s.probe = Some(pr);
}

/// Fit the law to `pts` into `s.usl`, with `source` as `usl_points`; or
/// no fit, with `too_few` (under [`MIN_USL_POINTS`]) or the fit's error as
/// the reason.
fn set_fit(s: &mut StrategySweep, pts: &[(f64, f64)], source: &str, too_few: String) {
    let fitted = if pts.len() < MIN_USL_POINTS {
        Err(too_few)
    } else {
        crate::usl::fit(pts).map_err(|e| format!("no fit: {e}"))
    };
    (s.usl, s.usl_points) = match fitted {
        Ok(fit) => (Some(fit), Some(source.to_string())),
        Err(why) => (None, Some(why)),
    };
}

/// `usl_points` of a fit to the scalability probe.
pub const PROBE_POINTS: &str = "probe";

/// Where and how a sweep reports.
#[derive(Clone, Debug)]
pub struct SweepOutput {
    /// The folder sweep folders are created in, unless `dir` is set.
    pub results_root: PathBuf,
    /// An explicit folder.
    pub dir: Option<PathBuf>,
    /// No progress lines.
    pub quiet: bool,
}

/// Run a sweep of `base` for real and write `summary.json` into its folder
/// after every point; after a rate sweep, run the scalability probe of
/// `probing` per strategy and fit the Universal Scalability Law to it; at
/// the end, answer the what-if `target` from the points measured (into
/// `whatif`). Returns the summary and the folder.
///
/// # Errors
///
/// Bad input (a value the workload refuses, `--bisect` without the rate, a
/// bad target), a folder that cannot be written, or a run that cannot be
/// set up.
#[allow(clippy::too_many_arguments)]
pub fn run_sweep(
    base: &Workload,
    vary: &Vary,
    bisect: usize,
    slo: &Slo,
    target: &Target,
    probing: &probe::Settings,
    output: &SweepOutput,
    stop: &AtomicBool,
) -> Result<(SweepSummary, PathBuf)> {
    // Refuse bad input before creating anything.
    target.validate()?;
    let usl_threads = &probing.threads;
    for v in &vary.values {
        set_field(base, &vary.name, *v)?;
    }
    if bisect > 0 && !vary.is_rate() {
        bail!(
            "--bisect refines the knee, an offered rate: it needs --vary rate=..., not {}",
            vary.name
        );
    }
    let started_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let run_id = crate::run::run_id(&format!("{}-sweep", base.name), started_ms);
    let dir = match &output.dir {
        Some(d) => d.clone(),
        None => crate::run::unique_dir(&output.results_root, &run_id),
    };
    let path = dir.join(crate::rundir::SUMMARY_FILE);
    if path.exists() {
        bail!(
            "{} already holds a summary.json; choose another --out folder or remove it",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the results folder {}", dir.display()))?;
    let mut summary = SweepSummary {
        sigstorm_version: format!("sigstorm {}", env!("CARGO_PKG_VERSION")),
        kind: "sweep".into(),
        run_id: dir
            .file_name()
            .map_or(run_id.clone(), |n| n.to_string_lossy().into_owned()),
        workload: Workload {
            strategies: Some(base.strategies()),
            ..base.clone()
        },
        seed: base.seed,
        environment: Environment::detect(),
        started_at: format_rfc3339_ms(started_ms),
        complete: false,
        vary: vary.clone(),
        bisect,
        slo: slo.clone(),
        sweep: Vec::new(),
        whatif: None,
        whatif_error: None,
    };
    let quiet = output.quiet;
    let vary_name = vary.name.clone();
    let mut runner = |w: &Workload, plan: Plan, label: &str, value: f64, n: usize, of: usize| {
        let name = format!("{label} {vary_name}={}", fmt_value(value));
        let progress = Progress::new(quiet, &name, n, of);
        let run = run_strategy(w, plan, &progress, stop)?;
        let m = Measurement::of(&run);
        if !quiet {
            let (ok, why) = slo.judge(&m);
            eprintln!(
                "sigstorm: [{n}/{of}] {name}: offered {}/s, achieved {}/s, p99 {}, shed {}: {}",
                human_rate(m.offered_rps),
                human_rate(m.achieved_rps),
                human_us(m.p99_us),
                m.shed,
                if m.interrupted {
                    "interrupted".to_string()
                } else if ok {
                    "meets the SLO".to_string()
                } else {
                    format!("misses the SLO ({why})")
                }
            );
        }
        Ok(m)
    };
    let mut save = |sweeps: &[StrategySweep], complete: bool| {
        summary.sweep = sweeps.to_vec();
        summary.complete = complete;
        save_summary(&path, &summary)
    };
    let mut sweeps = execute(base, vary, bisect, slo, stop, &mut runner, &mut save)?;
    if vary.is_rate() && !usl_threads.is_empty() {
        let plans = plans(base);
        for (k, plan) in plans.iter().enumerate() {
            let st = &mut sweeps[k];
            if stop.load(Ordering::Relaxed) {
                st.usl_points = Some("not probed: the sweep was interrupted".to_string());
                continue;
            }
            if let Some(why) = probe::unprobeable(plan.strategy) {
                st.usl_points = Some(why.to_string());
                continue;
            }
            if !quiet {
                eprintln!(
                    "sigstorm: scalability probe of {}: {} thread(s), {} s each, closed loop \
                     over {} pre-signed requests",
                    st.label,
                    usl_threads
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    fmt_value(probing.seconds),
                    probe::POOL
                );
            }
            let pr = probe::probe(base, *plan, usl_threads, probing.seconds, stop)?;
            fit_probe(st, pr);
            save(&sweeps, false)?;
        }
    }
    summary.sweep = sweeps;
    summary.complete = !stop.load(Ordering::Relaxed)
        && summary
            .sweep
            .iter()
            .all(|s| s.points.iter().all(|p| !p.detail.interrupted));
    summary.answer(target);
    save_summary(&path, &summary)?;
    Ok((summary, dir))
}

fn save_summary(path: &Path, summary: &SweepSummary) -> Result<()> {
    let json = serde_json::to_vec_pretty(summary).context("cannot serialize the sweep summary")?;
    write_atomically(path, &json).with_context(|| format!("cannot write {}", path.display()))
}

/// Read a sweep's `summary.json` from its folder.
///
/// # Errors
///
/// No readable file, or not a sweep's.
pub fn read_summary(dir: &Path) -> Result<SweepSummary> {
    let path = dir.join(crate::rundir::SUMMARY_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a sweep's summary", path.display()))
}

/// Whether the folder's `summary.json` is a sweep's.
pub fn is_sweep_dir(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(crate::rundir::SUMMARY_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("sweep"))
}

/// A value for people: whole numbers without a fraction.
pub fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::report::{knee_text, peak_text};
    use super::*;

    fn workload() -> Workload {
        Workload::default_workload().expect("the default workload")
    }

    #[test]
    fn aliases_and_dotted_paths_set_fields() {
        let w = workload();
        assert_eq!(
            set_field(&w, "rate", 1234.0).unwrap().load.rate_per_sec,
            1234.0
        );
        assert_eq!(
            set_field(&w, "load.rate_per_sec", 99.5)
                .unwrap()
                .load
                .rate_per_sec,
            99.5
        );
        assert_eq!(set_field(&w, "workers", 2.0).unwrap().data_plane.workers, 2);
        assert_eq!(set_field(&w, "users", 50.0).unwrap().principals.users, 50);
        assert_eq!(set_field(&w, "keys", 60.0).unwrap().principals.users, 60);
        assert_eq!(
            set_field(&w, "cache", 10.0)
                .unwrap()
                .data_plane
                .cache_capacity,
            10
        );
        assert_eq!(set_field(&w, "regions", 2.0).unwrap().regions.len(), 2);
        assert_eq!(
            set_field(&w, "regions[1].rtt_ms", 7.0).unwrap().regions[1].rtt_ms,
            Some(7.0)
        );
        let d = set_field(&w, "delay", 200.0).unwrap();
        assert_eq!(d.replication.delay_median_ms, 200.0);
        assert_eq!(d.replication.delay_p99_ms, 3000.0);
        let mut storm = w.clone();
        storm.schedule = crate::workload::Workload::parse(
            &format!(
                "{}\n[[schedule]]\nkind = \"create_users\"\nat_s = 1\ncount = 10\n",
                crate::workload::DEFAULT_WORKLOAD
            ),
            "t",
        )
        .unwrap()
        .schedule;
        let s = set_field(&storm, "schedule[0].count", 30.0).unwrap();
        let v = toml::Value::try_from(&s.schedule[0]).unwrap();
        assert_eq!(v.get("count").and_then(toml::Value::as_integer), Some(30));
        // The SLO section is optional: setting it creates it.
        assert_eq!(
            set_field(&w, "slo.p99_ms", 3.0)
                .unwrap()
                .slo
                .map(|s| s.p99_ms),
            Some(3.0)
        );
    }

    #[test]
    fn bad_fields_and_values_name_the_field() {
        let w = workload();
        let err = |name: &str, v: f64| format!("{:#}", set_field(&w, name, v).unwrap_err());
        assert!(
            err("load.rat", 5.0).contains("rat"),
            "{}",
            err("load.rat", 5.0)
        );
        assert!(err("nosuch.field", 5.0).contains("nosuch"));
        assert!(err("name", 5.0).contains("`name` is not a numeric field"));
        assert!(err("data_plane.cache_backends", 1.0).contains("not a numeric field"));
        assert!(err("workers", 1.5).contains("whole number"));
        assert!(err("workers", 0.0).contains("data_plane.workers"));
        assert!(err("rate", -3.0).contains("load.rate_per_sec"));
        assert!(err("regions", 9.0).contains("regions"));
        assert!(err("regions[9].rtt_ms", 1.0).contains("regions[9]"));
        assert!(err("load..x", 1.0).contains("not a workload field path"));
        assert!(err("schedule[0].count", 1.0).contains("schedule[0]"));

        // The SLO is not a field a point runs with.
        let e = format!("{:#}", Vary::parse("slo.p99_ms=1,2").unwrap_err());
        assert!(e.contains("set with --slo"), "{e}");
    }

    #[test]
    fn a_duration_cut_short_of_the_schedule_is_noted_not_refused() {
        let mut w = Workload::load(std::path::Path::new("workloads/az-loss.toml")).unwrap();
        // As `--duration 0.2` leaves it: every event falls after the end.
        w.run.duration_s = 0.2;
        assert!(w.schedule.iter().all(|e| e.at_s() >= 0.2));
        // Another field varies as `run` would run it.
        let set = set_field(&w, "rate", 1000.0).expect("a rate point runs");
        assert_eq!(set.load.rate_per_sec, 1000.0);
        assert_eq!(set.run.duration_s, 0.2, "the duration is not changed");
        // A field of an event that will not happen is refused, naming why.
        let e = format!("{:#}", set_field(&w, "schedule[0].at_s", 5.0).unwrap_err());
        assert!(e.contains("lengthen --duration"), "{e}");
    }

    #[test]
    fn vary_parses_and_sorts() {
        let v = Vary::parse("rate=5k,2000, 1000,2000").unwrap();
        assert_eq!(v.field, RATE_FIELD);
        assert_eq!(v.values, [1000.0, 2000.0, 5000.0]);
        assert!(v.is_rate());
        assert!(Vary::parse("rate").is_err());
        assert!(Vary::parse("=1,2").is_err());
        assert!(Vary::parse("rate=").is_err());
        assert!(Vary::parse("rate=1,x").is_err());
        assert!(Vary::parse("workers=1,2").unwrap().is_workers());
    }

    #[test]
    fn slo_parses_with_units() {
        assert_eq!(parse_slo("p99=2ms").unwrap(), 2000.0);
        assert_eq!(parse_slo("p99=250us").unwrap(), 250.0);
        assert_eq!(parse_slo("p99=250µs").unwrap(), 250.0);
        assert_eq!(parse_slo("p99=1.5s").unwrap(), 1_500_000.0);
        assert!(parse_slo("p99=2").is_err());
        assert!(parse_slo("p50=2ms").is_err());
        assert!(parse_slo("p99=-2ms").is_err());
        assert!(parse_slo("2ms").is_err());
        assert_eq!(parse_slo("p99=3600s").unwrap(), 3.6e9);
        let e = parse_slo("p99=5000000s").unwrap_err().to_string();
        assert!(e.contains("at most 3600s"), "{e}");
        let mut w = workload();
        assert_eq!(Slo::choose(None, &w).p99_us, None);
        w.slo = Some(crate::workload::SloConfig { p99_ms: 3.0 });
        assert_eq!(Slo::choose(None, &w).p99_us, Some(3000.0));
        assert_eq!(Slo::choose(Some(10.0), &w).p99_us, Some(10.0));
        assert_eq!(Slo::choose(Some(10.0), &w).source, "--slo");
    }

    #[test]
    fn slo_judges_latency_shedding_and_keeping_up() {
        let slo = Slo {
            p99_us: Some(2000.0),
            source: "--slo".into(),
            min_achieved_share: MIN_ACHIEVED_SHARE,
        };
        let m = |achieved: f64, p99: f64, shed: u64| Measurement {
            responses: 3000,
            offered_rps: 1000.0,
            achieved_rps: achieved,
            p99_us: p99,
            shed,
            ..Measurement::default()
        };
        assert!(slo.judge(&m(1000.0, 1999.0, 0)).0);
        assert!(slo.judge(&m(980.0, 2000.0, 0)).0);
        assert!(!slo.judge(&m(979.0, 100.0, 0)).0);
        assert!(!slo.judge(&m(1000.0, 2001.0, 0)).0);
        let (ok, why) = slo.judge(&m(1000.0, 100.0, 3));
        assert!(!ok);
        assert!(why.contains("3 shed"));
        // A late generator is named as the cause; a punctual one is not.
        let late = Measurement {
            lateness_p99_us: 2500.0,
            ..m(1000.0, 3000.0, 0)
        };
        let (ok, why) = slo.judge(&late);
        assert!(!ok);
        assert!(why.contains("generator lateness p99 2.50ms"), "{why}");
        let (_, why) = slo.judge(&m(1000.0, 3000.0, 0));
        assert_eq!(why, "p99 3.00ms > 2.00ms");
        // So is a machine whose own stalls make up the tail; ordinary
        // wake-up latency is not.
        let stalled = Measurement {
            hiccup_p99_us: Some(1800.0),
            ..m(1000.0, 3000.0, 0)
        };
        let (_, why) = slo.judge(&stalled);
        assert!(
            why.contains("scheduling stalls of 1.80ms at p99, hiccups"),
            "{why}"
        );
        let quiet = Measurement {
            hiccup_p99_us: Some(60.0),
            ..m(1000.0, 3000.0, 0)
        };
        assert_eq!(slo.judge(&quiet).1, "p99 3.00ms > 2.00ms");
        // Too few responses for a p99: a point with none cannot pass.
        let empty = Measurement {
            offered_rps: 0.0,
            achieved_rps: 0.0,
            ..Measurement::default()
        };
        let (ok, why) = slo.judge(&empty);
        assert!(!ok);
        assert!(why.starts_with("only 0 responses measured"), "{why}");
        let few = Measurement {
            responses: MIN_RESPONSES - 1,
            ..m(1000.0, 100.0, 0)
        };
        assert!(!slo.judge(&few).0);
        let enough = Measurement {
            responses: MIN_RESPONSES,
            ..m(1000.0, 100.0, 0)
        };
        assert!(slo.judge(&enough).0);
    }

    #[test]
    fn a_fit_through_three_points_says_it_proves_nothing() {
        let fit = |points: usize| crate::usl::UslFit {
            sigma: 0.1,
            kappa: 0.0,
            lambda: 1000.0,
            r2: 1.0,
            residuals: vec![0.0; points],
            peak_n: None,
        };
        assert!(peak_text(&fit(3), false).contains("only 3 points for 3 parameters"));
        assert!(peak_text(&fit(3), false).contains("sweep five or more worker counts"));
        assert!(peak_text(&fit(3), true).contains("probe five or more thread counts"));
        assert!(!peak_text(&fit(5), false).contains("proves nothing"));
        let falling = crate::usl::UslFit {
            sigma: 1.2,
            ..fit(5)
        };
        assert!(peak_text(&falling, true).starts_with("the most is at 1 thread (1000/s)"));
    }

    /// A fake data plane: keeps up to `capacity`, p99 climbs as it nears it.
    fn fake(
        capacity: f64,
    ) -> impl FnMut(&Workload, Plan, &str, f64, usize, usize) -> Result<Measurement> {
        move |w: &Workload, plan: Plan, _: &str, _: f64, _: usize, _: usize| {
            let cap = if plan.strategy == Strategy::PerService {
                capacity * 2.0
            } else {
                capacity
            };
            let rate = w.load.rate_per_sec;
            let load = rate / cap;
            Ok(Measurement {
                responses: 1000,
                offered_rps: rate,
                achieved_rps: rate.min(cap),
                p99_us: if load < 1.0 {
                    100.0 / (1.0 - load)
                } else {
                    1e6
                },
                ..Measurement::default()
            })
        }
    }

    #[test]
    fn sweep_finds_the_knee_and_bisects_toward_it() {
        let mut w = workload();
        w.strategies = Some(vec![Strategy::PerRegion, Strategy::PerService]);
        let vary = Vary::parse("rate=1000,4000,8000,16000").unwrap();
        let slo = Slo::choose(Some(1000.0), &w);
        let stop = AtomicBool::new(false);
        let mut saves = 0;
        let mut runner = fake(10_000.0);
        let sweeps = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, _| {
            saves += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(saves, 9, "after each of 8 points, and at the end");
        // p99 <= 1 ms while load <= 0.9: 9000 for per-region, 18000 for
        // per-service.
        assert_eq!(sweeps[0].label, "per-region");
        assert_eq!(sweeps[0].knee_rps, Some(8000.0));
        assert_eq!(sweeps[1].knee_rps, Some(16000.0));
        assert_eq!(bracket(&sweeps[0].points), Some((8000.0, 16000.0)));
        assert_eq!(bracket(&sweeps[1].points), None);

        let mut runner = fake(10_000.0);
        let sweeps = execute(&w, &vary, 4, &slo, &stop, &mut runner, &mut |_, _| Ok(())).unwrap();
        // 12000 fails, 10000 fails, 9000 fails (p99 a hair over 1 ms in floating
        // point), 8500 meets.
        let bisected: Vec<f64> = sweeps[0]
            .points
            .iter()
            .filter(|p| p.bisect)
            .map(|p| p.value)
            .collect();
        assert_eq!(bisected, [8500.0, 9000.0, 10000.0, 12000.0]);
        assert_eq!(sweeps[0].knee_rps, Some(8500.0));
        // Nothing failed above per-service's knee: no bisection.
        assert!(sweeps[1].points.iter().all(|p| !p.bisect));
        // Points stay sorted.
        assert!(sweeps[0].points.windows(2).all(|p| p[0].value < p[1].value));
    }

    #[test]
    fn knee_bracket_and_midpoint() {
        let p = |value: f64, meets: bool| Point {
            value,
            offered_rps: value,
            achieved_rps: value,
            p99_us: 1.0,
            shed: 0,
            meets_slo: meets,
            why: String::new(),
            bisect: false,
            detail: Measurement::default(),
        };
        assert_eq!(knee(&[p(1.0, false), p(2.0, false)]), None);
        assert_eq!(bracket(&[p(1.0, false), p(2.0, false)]), Some((0.0, 1.0)));
        // Not monotonic: the largest meeting value is the knee.
        let pts = [p(1.0, true), p(2.0, false), p(3.0, true), p(4.0, false)];
        assert_eq!(knee(&pts), Some(3.0));
        assert_eq!(bracket(&pts), Some((3.0, 4.0)));
        assert_eq!(midpoint(3.0, 4.0), None);
        assert_eq!(midpoint(1000.0, 2000.0), Some(1500.0));
        assert_eq!(midpoint(0.0, 1.0), None);

        // The caveats: none for a clean knee with a failure above it.
        let clean = [p(1000.0, true), p(2000.0, true), p(4000.0, false)];
        let rates = Vary::parse("rate=1000,2000,3000,4000,8000").unwrap();
        assert!(knee_caveats(&clean, 2000.0, &rates).is_empty());
        // The highest rate met the SLO: only a lower bound.
        let open = [p(1000.0, true), p(2000.0, true)];
        let c = knee_caveats(&open, 2000.0, &Vary::parse("rate=1000,2000").unwrap());
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].starts_with("a lower bound: the highest rate swept met the SLO"));
        // A failure below the knee: the points disagree, and which.
        let noisy = [
            p(1000.0, true),
            p(2000.0, false),
            p(3000.0, false),
            p(4000.0, true),
            p(8000.0, false),
        ];
        let c = knee_caveats(&noisy, 4000.0, &rates);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(
            c[0].starts_with("rate=2000,3000 below the knee failed the SLO"),
            "{c:?}"
        );
        // The failure that sets the knee came with scheduling stalls.
        let mut stalled = p(8000.0, false);
        stalled.p99_us = 3000.0;
        stalled.detail.hiccup_p99_us = Some(2000.0);
        let c = knee_caveats(&[p(1000.0, true), p(4000.0, true), stalled], 4000.0, &rates);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(
            c[0].starts_with("rate=8000 above it failed during scheduling stalls"),
            "{c:?}"
        );
        // Both at once; an interrupted point above does not lift the bound.
        let mut cut = p(9000.0, false);
        cut.detail.interrupted = true;
        let both = [p(1000.0, false), p(2000.0, true), cut];
        let c = knee_caveats(&both, 2000.0, &Vary::parse("rate=1000,2000,9000").unwrap());
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(
            c[0].contains("interrupted before the rate values above it"),
            "{c:?}"
        );

        let sweep = |points: Vec<Point>, vary: &Vary| {
            let mut st = StrategySweep {
                label: "per-region".into(),
                strategy: Strategy::PerRegion,
                cache_backend: None,
                points,
                knee_rps: None,
                knee_caveats: Vec::new(),
                usl: None,
                usl_points: None,
                probe: None,
            };
            finish(&mut st, vary);
            st
        };
        let rate = Vary::parse("rate=1000,2000").unwrap();
        assert_eq!(knee_text(&sweep(clean.to_vec(), &rate)), "2000 req/s");
        let t = knee_text(&sweep(open.to_vec(), &rate));
        assert!(t.starts_with("at least 2000 req/s (a lower bound"), "{t}");
        let t = knee_text(&sweep(noisy.to_vec(), &rate));
        assert!(t.starts_with("4000 req/s (rate=2000,3000 below"), "{t}");
        assert_eq!(
            knee_text(&sweep(vec![p(1.0, false)], &rate)),
            "none (no rate met the SLO)"
        );
        // Not a rate sweep: no knee, no caveats.
        let workers = Vary::parse("workers=1,2").unwrap();
        let st = sweep(open.to_vec(), &workers);
        assert_eq!(st.knee_rps, None);
        assert!(st.knee_caveats.is_empty());
    }

    #[test]
    fn bisect_needs_the_rate_and_bad_values_fail_before_running() {
        let w = workload();
        let stop = AtomicBool::new(false);
        let slo = Slo::choose(None, &w);
        let mut ran = 0;
        let mut runner = |_: &Workload, _: Plan, _: &str, _: f64, _: usize, _: usize| {
            ran += 1;
            Ok(Measurement::default())
        };
        let vary = Vary::parse("workers=1,2").unwrap();
        assert!(execute(&w, &vary, 2, &slo, &stop, &mut runner, &mut |_, _| Ok(())).is_err());
        let vary = Vary::parse("workers=1,0").unwrap();
        let e = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, _| Ok(())).unwrap_err();
        assert!(format!("{e:#}").contains("data_plane.workers"));
        assert_eq!(ran, 0);
    }

    #[test]
    fn an_interrupt_keeps_the_points_so_far() {
        let mut w = workload();
        w.strategies = Some(vec![Strategy::PerRegion]);
        let vary = Vary::parse("rate=1000,2000,3000").unwrap();
        let slo = Slo::choose(None, &w);
        let stop = AtomicBool::new(false);
        let mut runner = |w: &Workload, _: Plan, _: &str, _: f64, n: usize, _: usize| {
            if n == 2 {
                stop.store(true, Ordering::Relaxed);
            }
            Ok(Measurement {
                responses: 1000,
                offered_rps: w.load.rate_per_sec,
                achieved_rps: w.load.rate_per_sec,
                ..Measurement::default()
            })
        };
        let mut last_complete = None;
        let sweeps = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, c| {
            last_complete = Some(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(sweeps[0].points.len(), 2);
        assert_eq!(sweeps[0].knee_rps, Some(2000.0));
        assert_eq!(last_complete, Some(false));
    }

    /// A sweep summary around `sweeps`, as `run_sweep` writes it.
    fn summary_of(
        w: &Workload,
        vary: &Vary,
        slo: &Slo,
        sweeps: Vec<StrategySweep>,
    ) -> SweepSummary {
        SweepSummary {
            sigstorm_version: "sigstorm test".into(),
            kind: "sweep".into(),
            run_id: "sweep-test".into(),
            workload: w.clone(),
            seed: w.seed,
            environment: Environment {
                cpu: "Test CPU".into(),
                cores: 2,
                rustc: "rustc test".into(),
                git_commit: "abc123".into(),
                os: "linux".into(),
                profile: "release".into(),
            },
            started_at: "2026-06-01T12:00:00.000Z".into(),
            complete: true,
            vary: vary.clone(),
            bisect: 0,
            slo: slo.clone(),
            sweep: sweeps,
            whatif: None,
            whatif_error: None,
        }
    }

    #[test]
    fn a_probe_is_fitted_and_its_defects_count() {
        // X(N) from known parameters: σ 0.2, κ 0.01, λ 300,000/s.
        let law = |n: f64| 300_000.0 * n / (1.0 + 0.2 * (n - 1.0) + 0.01 * n * (n - 1.0));
        let pr = probe::Probe {
            points: (1..=6)
                .map(|n| probe::ProbePoint {
                    threads: n,
                    verifications_per_s: law(n as f64),
                    verifications: law(n as f64) as u64,
                    seconds: 1.0,
                    cpu_s: n as f64,
                    unexpected: if n == 3 { 2 } else { 0 },
                })
                .collect(),
            pool: probe::POOL,
            cores: 8,
            seconds_each: 1.0,
            interrupted: false,
        };
        assert!(!pr.oversubscribed());
        let mut st = StrategySweep {
            label: "per-region".into(),
            strategy: Strategy::PerRegion,
            cache_backend: None,
            points: Vec::new(),
            knee_rps: None,
            knee_caveats: Vec::new(),
            usl: None,
            usl_points: None,
            probe: None,
        };
        fit_probe(&mut st, pr.clone());
        let fit = st.usl.clone().expect("a fit");
        assert!((fit.sigma - 0.2).abs() < 1e-6, "{fit:?}");
        assert!((fit.kappa - 0.01).abs() < 1e-8, "{fit:?}");
        assert!((fit.lambda - 300_000.0).abs() < 1e-3, "{fit:?}");
        assert_eq!(st.usl_points.as_deref(), Some(PROBE_POINTS));
        assert_eq!(usl_inputs(&st).len(), 6);
        // The probe's wrong decisions are the sweep's defects.
        let sweeps = vec![st.clone()];
        assert_eq!(defects(&sweeps), 2);
        // Two thread counts allow no fit, and say so.
        let mut short = st.clone();
        let mut two = pr;
        two.points.truncate(2);
        fit_probe(&mut short, two);
        assert!(short.usl.is_none());
        assert!(short.usl_points.unwrap().contains("a fit needs 3"));
    }

    #[test]
    fn a_workers_sweep_reports_the_usl_fit_and_the_whatif_answer() {
        let mut w = workload();
        w.strategies = Some(vec![Strategy::PerRegion]);
        w.run.warmup_s = 0.0;
        w.run.duration_s = 10.0;
        let vary = Vary::parse("workers=1,2,3,4").unwrap();
        let slo = Slo::choose(None, &w);
        let stop = AtomicBool::new(false);
        // Saturated at every point: X(N) = 1000 N / (1 + 0.1 (N − 1)), each
        // request costing 100 µs of data-plane CPU.
        let mut runner = |w: &Workload, _: Plan, _: &str, _: f64, _: usize, _: usize| {
            let n = w.data_plane.workers as f64;
            let x = 1000.0 * n / (1.0 + 0.1 * (n - 1.0));
            Ok(Measurement {
                responses: 1000,
                offered_rps: 100_000.0,
                achieved_rps: x,
                p99_us: 900.0,
                cpu: Some(CpuSplit {
                    wall_s: 10.0,
                    generator_s: 1.0,
                    generator_spin_s: 0.0,
                    data_plane_s: x * 10.0 * 100e-6,
                    data_plane_threads: n as usize,
                    cores: 2,
                }),
                hmacs_per_request: 3.0,
                ..Measurement::default()
            })
        };
        let sweeps = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, _| Ok(())).unwrap();
        let mut s = summary_of(&w, &vary, &slo, sweeps);
        let fit = s.sweep[0].usl.clone().expect("a fit");
        assert!((fit.sigma - 0.1).abs() < 1e-3, "{fit:?}");
        assert!(fit.kappa < 1e-4, "{fit:?}");
        assert!((fit.lambda - 1000.0).abs() < 1.0, "{fit:?}");
        assert_eq!(fit.residuals.len(), 4);
        assert_eq!(s.sweep[0].usl_points.as_deref(), Some("saturated"));

        s.answer(&Target::default());
        assert_eq!(s.whatif_error, None);
        let a = s.whatif.clone().expect("an answer");
        assert_eq!(a.target, Target::default());
        let pr = &a.strategies[0];
        assert_eq!(pr.label, "per-region");
        assert_eq!(pr.model, "usl");
        // 100 µs per request: 10,000 req/s per core.
        assert!(
            (pr.per_core_rps - 10_000.0).abs() < 1e-6,
            "{}",
            pr.per_core_rps
        );
        assert_eq!(pr.total_cores, pr.workers_per_region * 17);
        // The fit's shape with λ = 10,000: X(N) < 1M for every N (the
        // asymptote λ/σ is 100,000), so replicas of the largest measured size.
        assert!(pr.replicas_per_region > 1, "{pr:?}");
        assert_eq!(pr.workers_per_replica, 4);

        // The summary round-trips with its answer (`sigstorm report`
        // regenerates from it).
        let back: SweepSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.whatif.as_ref(), Some(&a));

        let text = table(&s);
        assert!(
            text.contains("USL fit (saturated points): sigma 0.1000"),
            "{text}"
        );
        assert!(
            text.contains("residuals (measured - fitted): N=1 "),
            "{text}"
        );
        let chart_ids: Vec<String> = charts(&s).into_iter().map(|c| c.id).collect();
        assert_eq!(chart_ids, ["sweep-throughput", "sweep-p99", "sweep-usl"]);
        // Measured points are dots (one-point series under one legend
        // name), the fit a line.
        let usl = usl_chart(&s).expect("a USL chart");
        let crate::charts::Body::Lines(panels) = &usl.body else {
            panic!("a line chart")
        };
        let measured: Vec<&crate::charts::Series> = panels[0]
            .series
            .iter()
            .filter(|x| x.name.ends_with("measured"))
            .collect();
        assert_eq!(measured.len(), s.sweep[0].points.len());
        assert!(measured.iter().all(|x| x.points.len() == 1));
        let names: Vec<String> = usl.legend().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names.iter().filter(|n| n.ends_with("measured")).count(),
            1,
            "{names:?}"
        );
        let page = html(&s, &[]);
        let md = markdown(&s);
        for doc in [&page, &md] {
            for want in [
                "σ = 0.1000",
                "κ = 0.0000",
                "λ = 1000 req/s per thread",
                "R² = 1.000",
                "Residuals (measured − fitted): N=1 ",
                "N=4 ",
                "no peak: throughput levels off toward λ/σ = ",
                "What if",
                "1,000,000 req/s per region at p99 &lt;= 5 ms with 10,000,000 keys over 17 regions",
                "per-region: ",
                "usl model",
                "measured on Test CPU",
                "assumptions:",
                "cannot be reached by adding workers to one replica",
            ] {
                let want = if std::ptr::eq(doc, &md) {
                    want.replace("&lt;", "<")
                } else {
                    want.to_string()
                };
                assert!(doc.contains(&want), "'{want}' missing from\n{doc}");
            }
        }
    }

    #[test]
    fn a_workers_sweep_that_never_saturates_gets_no_fit() {
        let mut w = workload();
        w.strategies = Some(vec![Strategy::PerRegion]);
        let vary = Vary::parse("workers=1,2,3").unwrap();
        let slo = Slo::choose(None, &w);
        let stop = AtomicBool::new(false);
        // Every point keeps up with the offered 2000 req/s: flat
        // throughput that says nothing about how threads scale.
        let mut runner = |w: &Workload, _: Plan, _: &str, _: f64, _: usize, _: usize| {
            Ok(Measurement {
                responses: 2000,
                offered_rps: 2000.0,
                achieved_rps: 2000.0,
                p99_us: 300.0,
                cpu: Some(CpuSplit {
                    wall_s: 1.0,
                    generator_s: 0.5,
                    generator_spin_s: 0.0,
                    data_plane_s: 0.2,
                    data_plane_threads: w.data_plane.workers,
                    cores: 2,
                }),
                hmacs_per_request: 3.0,
                ..Measurement::default()
            })
        };
        let sweeps = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, _| Ok(())).unwrap();
        assert!(sweeps[0].usl.is_none());
        let why = sweeps[0].usl_points.clone().unwrap();
        assert!(why.starts_with("no fit: 0 of 3 points saturated"), "{why}");
        let mut s = summary_of(&w, &vary, &slo, sweeps);
        s.answer(&Target::default());
        let a = s.whatif.expect("an answer");
        assert_eq!(a.strategies[0].model, "linear");
        let said = a.strategies[0].assumptions.join("\n");
        assert!(
            said.contains("the sweep's points allow no USL fit (no fit: 0 of 3"),
            "{said}"
        );
    }

    #[test]
    fn no_usable_point_is_a_whatif_error_not_an_answer() {
        let w = workload();
        let vary = Vary::parse("rate=1000").unwrap();
        let slo = Slo::choose(None, &w);
        let mut s = summary_of(&w, &vary, &slo, Vec::new());
        s.answer(&Target::default());
        assert!(s.whatif.is_none());
        let e = s.whatif_error.clone().expect("why");
        assert!(e.contains("no run with an achieved rate"), "{e}");
        assert!(whatif_text(&s).contains(&e));
        assert!(html(&s, &[]).contains("no answer"));
    }

    #[test]
    fn correctness_defects_are_counted_and_named_per_point() {
        let mut w = workload();
        w.strategies = Some(vec![Strategy::PerRegion, Strategy::PerService]);
        let vary = Vary::parse("rate=1000,2000").unwrap();
        let slo = Slo::choose(None, &w);
        let stop = AtomicBool::new(false);
        let mut runner = |w: &Workload, plan: Plan, _: &str, _: f64, _: usize, _: usize| {
            let bad = plan.strategy == Strategy::PerService && w.load.rate_per_sec == 2000.0;
            Ok(Measurement {
                responses: 1000,
                offered_rps: w.load.rate_per_sec,
                achieved_rps: w.load.rate_per_sec,
                unexpected_rejections: if bad { 2 } else { 0 },
                stale_accepts: u64::from(bad),
                ..Measurement::default()
            })
        };
        let sweeps = execute(&w, &vary, 0, &slo, &stop, &mut runner, &mut |_, _| Ok(())).unwrap();
        assert_eq!(defects(&sweeps), 3);
        let s = summary_of(&w, &vary, &slo, sweeps);
        assert_eq!(s.defects(), 3);
        assert_eq!(
            defect_lines(&s),
            ["per-service rate=2000: 1 stale accepts, 2 unexpected rejections"]
        );
        assert!(table(&s).contains("correctness check failed"));
        assert!(html(&s, &[]).contains("id=\"defects\""));
        assert!(markdown(&s).contains("**Correctness check failed**"));
        // A clean sweep has none.
        let mut clean = s.clone();
        for st in &mut clean.sweep {
            for p in &mut st.points {
                p.detail.unexpected_rejections = 0;
                p.detail.stale_accepts = 0;
            }
        }
        assert_eq!(clean.defects(), 0);
        assert!(defect_lines(&clean).is_empty());
        assert!(late_generator_lines(&clean).is_empty());
        // A point whose p99 is mostly the generator's lateness is named.
        let mut late = clean.clone();
        late.sweep[0].points[0].p99_us = 150_000.0;
        late.sweep[0].points[0].detail.lateness_p99_us = 149_000.0;
        let lines = late_generator_lines(&late);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(&format!(
                "{}: the generator was late at rate=",
                late.sweep[0].label
            )),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("up to 149ms"), "{}", lines[0]);
        assert!(table(&late).contains("warning, generator-bound points:"));
        assert!(html(&late, &[]).contains("id=\"generator-bound\""));
        assert!(markdown(&late).contains("**Generator-bound points:**"));
        assert!(!table(&clean).contains("correctness"));
    }
}
