//! `summary.json`: the machine-readable result of a run, its environment, and
//! writing it atomically (a temporary file renamed into place), so a reader
//! never sees half a file and an interrupted run keeps what it measured. The
//! schema is committed as `schemas/summary.schema.json`. Every type here
//! also deserializes, so a `summary.json` reads back into the same figures
//! ([`crate::rundir`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::cache::CacheBackend;
use crate::data_plane::Outcome;
use crate::hlog::LogEntry;
use crate::loadgen::GeneratorReport;
use crate::metrics::{
    Figures, IntervalFigures, PhaseFigures, RegionFigures, ReplicationFigures, ServiceSeries,
};
use crate::report::human_us;
use crate::service::Service;
use crate::strategy::Strategy;
use crate::workload::Workload;

/// While an AZ replica is down, the run's p99 may be at most this many
/// times the steady phase's (plus [`AZ_LOSS_P99_SLACK_US`]); beyond, the run
/// warns.
pub const AZ_LOSS_P99_FACTOR: f64 = 2.0;

/// Slack added to the AZ-loss p99 bound, microseconds: on a shared 2-vCPU
/// machine a single late wake-up moves a p99 of a few hundred microseconds
/// by that much.
pub const AZ_LOSS_P99_SLACK_US: f64 = 1000.0;

/// The whole summary of a run of a workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// The tool and its version.
    pub sigstorm_version: String,
    /// The run's id (its folder's name).
    pub run_id: String,
    /// The workload as run (after command-line overrides).
    pub workload: Workload,
    /// The seed of every random choice.
    pub seed: u64,
    /// Where it ran.
    pub environment: Environment,
    /// Real UTC time the run started, RFC 3339.
    pub started_at: String,
    /// Whether every strategy ran to the end.
    pub complete: bool,
    /// One entry per strategy, in run order.
    pub runs: Vec<RunSummary>,
}

/// The machine and build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Environment {
    /// CPU model.
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// The compiler that built sigstorm.
    pub rustc: String,
    /// The git commit of the working tree (`-dirty` when it had changes).
    pub git_commit: String,
    /// Operating system and architecture.
    pub os: String,
    /// Build profile (`release` or `debug`).
    pub profile: String,
}

/// Latency percentiles, microseconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
}

/// Generator lateness percentiles, microseconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Lateness {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

/// Cache figures of the `per-service` strategy (zero for the others).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct CacheSummary {
    /// Lookups that found the signing key.
    pub hits: u64,
    /// Lookups that derived it.
    pub misses: u64,
    /// hits / (hits + misses); `null` when the strategy has no cache.
    pub hit_ratio: Option<f64>,
}

/// How the CPU was split between the load generator and the data planes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct CpuSplit {
    /// Wall-clock seconds of the run (warm-up and drain included).
    pub wall_s: f64,
    /// CPU seconds of the generator thread (signing, pacing, dispatch).
    pub generator_s: f64,
    /// Of which spent spinning (yielding) before intended starts.
    pub generator_spin_s: f64,
    /// CPU seconds of everything else in the process: the data planes, the
    /// control plane, the recorder.
    pub data_plane_s: f64,
    /// Threads the data planes ran on.
    pub data_plane_threads: usize,
    /// Logical cores of the machine.
    pub cores: usize,
}

/// Figures of one region or of a whole strategy run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    /// Requests offered per second in the measured window.
    pub offered_rps: f64,
    /// Responses per second that arrived within the window.
    pub achieved_rps: f64,
    /// Requests intended within the window (sent or shed).
    pub requests: u64,
    /// Requests shed by the in-flight bound.
    pub shed: u64,
    /// Latency from intended start to response.
    pub latency_us: Percentiles,
    /// Counts per outcome: `allowed`, `denied` (explicit + implicit),
    /// `denied_explicit`, `denied_implicit`, `bad_request`, and each of AWS's
    /// rejection codes.
    pub outcomes: BTreeMap<String, u64>,
    /// Legitimate requests refused although their AZ's applied state allowed
    /// them (`ServiceUnavailable` is an availability error, not counted here).
    pub unexpected_rejections: u64,
    /// Requests built to be refused that were allowed.
    pub unexpected_accepts: u64,
    /// Cache figures.
    pub cache: CacheSummary,
    /// HMAC-SHA256 computations on the verifying side, derivations included.
    pub hmacs: u64,
    /// HMACs per response.
    pub hmacs_per_request: f64,
    /// Calls to the control plane.
    pub control_plane_calls: u64,
    /// Allowed requests whose AZ had applied a revocation or deny: must be 0.
    pub stale_accepts: u64,
    /// Requests allowed between the control plane's revocation (or deny) and
    /// the AZ's apply of it: the eventual-consistency exposure.
    pub exposure_accepts: u64,
    /// Requests still unanswered when the drain timed out.
    pub unfinished: u64,
}

/// Median, 99th percentile and largest value.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Tail {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

/// One phase of a run (steady, a storm, a fault, recovery): requests intended
/// in it, and responses that arrived in it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// `steady`, `storm: <kind>`, `fault: <kind>` or `recovery`.
    pub name: String,
    /// Seconds from the start of measurement.
    pub start_s: f64,
    /// Seconds from the start of measurement.
    pub end_s: f64,
    /// Its figures (`unfinished` is counted for the whole run only, so 0
    /// here).
    #[serde(flatten)]
    pub figures: Measured,
}

/// One interval of a run's time series, over all regions. Requests count in
/// the interval of their intended start; `completed` and `achieved_rps`
/// count responses in the interval they arrived in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntervalSummary {
    /// Start, seconds from the start of measurement.
    pub t_s: f64,
    /// Requests intended in the interval (sent or shed).
    pub requests: u64,
    /// Responses to them: `allowed + denied + refused + server_errors`.
    pub responses: u64,
    /// Responses that arrived in the interval.
    pub completed: u64,
    /// `completed` per second of the interval.
    pub achieved_rps: f64,
    /// Latency of `responses`, microseconds (within 1/16 of the value; the
    /// largest is exact).
    pub latency_us: Tail,
    /// Allowed.
    pub allowed: u64,
    /// Denied by policy (explicitly or implicitly).
    pub denied: u64,
    /// Refused with an error code other than `ServiceUnavailable`, or as a
    /// bad request.
    pub refused: u64,
    /// `ServiceUnavailable`.
    pub server_errors: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Cache misses.
    pub cache_misses: u64,
    /// Eventual-consistency exposure accepts.
    pub exposure_accepts: u64,
    /// Stale accepts (defects).
    pub stale_accepts: u64,
    /// The largest replication backlog sampled in the interval, over all
    /// regions (`null` when no sample fell in it).
    pub backlog: Option<u64>,
    /// The largest applied-version lag sampled in the interval, over all
    /// regions, simulated milliseconds (`null` when no sample fell in it).
    pub lag_ms: Option<f64>,
    /// Per region, in the order of `regions`: the largest replication
    /// backlog sampled in the interval (`null` when no sample of the region
    /// fell in it).
    #[serde(default)]
    pub backlog_by_region: Vec<Option<u64>>,
    /// Per region, in the order of `regions`: the largest applied-version
    /// lag sampled in the interval, simulated milliseconds (`null` when no
    /// sample of the region fell in it).
    #[serde(default)]
    pub lag_ms_by_region: Vec<Option<f64>>,
}

/// One region's replication.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicationSummary {
    /// Region code.
    pub region: String,
    /// Delay from a control-plane write to an AZ replica's apply of it,
    /// simulated milliseconds, over the entries applied from the start of
    /// measurement on (zeros when none).
    pub propagation_delay_ms: Tail,
    /// Entries applied from the start of measurement on, counted per AZ
    /// replica.
    pub applied: u64,
    /// The largest backlog sampled during measurement: entries written that
    /// the region's slowest AZ replica had not applied.
    pub max_backlog: u64,
    /// The largest applied-version lag sampled during measurement: the age
    /// of the oldest entry the slowest AZ replica had not applied, simulated
    /// milliseconds.
    pub max_lag_ms: f64,
    /// Requests allowed between a revocation (or deny) and the region's
    /// apply of it.
    pub exposure_accepts: u64,
}

/// One region's figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegionSummary {
    /// Region code.
    pub region: String,
    /// Simulated round trip to the home region, milliseconds.
    pub rtt_ms: f64,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Measured,
}

/// One strategy's run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSummary {
    /// The strategy.
    pub strategy: Strategy,
    /// The signing-key cache's backend (`null` for strategies without one).
    pub cache_backend: Option<CacheBackend>,
    /// The run's name in tables: the strategy, with the backend when a
    /// workload compares backends.
    pub label: String,
    /// Crypto backend.
    pub crypto: String,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Whether an interrupt cut the run short.
    pub interrupted: bool,
    /// The figures over all regions.
    #[serde(flatten)]
    pub figures: Measured,
    /// Service time (actual start to response), microseconds.
    pub service_time_us: Percentiles,
    /// Generator lateness (actual start minus intended start), microseconds.
    pub generator_lateness_us: Lateness,
    /// How the CPU was split.
    pub cpu: CpuSplit,
    /// Scheduling stalls over the measured window (hiccups): how late a
    /// thread sleeping [`crate::hiccup::PERIOD`] at a time woke up,
    /// microseconds, over time ([`crate::hiccup`]); `null` in files written
    /// before it was measured.
    #[serde(default)]
    pub platform_hiccups_us: Option<Percentiles>,
    /// Reasons the figures may not mean what they seem (the generator could
    /// not pace the load, the data planes fell behind, requests were shed).
    pub warnings: Vec<String>,
    /// Per region.
    pub regions: Vec<RegionSummary>,
    /// Length of one interval of `intervals`, seconds: `run.interval_ms`,
    /// or a whole multiple of it when the run is too long for
    /// [`crate::metrics::MAX_INTERVALS`] intervals.
    pub interval_s: f64,
    /// The phases of the workload's schedule; they tile the measured window.
    pub phases: Vec<PhaseSummary>,
    /// The time series, one entry per interval of the measured window.
    pub intervals: Vec<IntervalSummary>,
    /// Replication, per region.
    pub replication: Vec<ReplicationSummary>,
    /// Server errors over time: every (region, service) that answered at
    /// least one `ServiceUnavailable` in the measured window, by region then
    /// service, with its counts per interval of `intervals`.
    #[serde(default)]
    pub service_errors: Vec<ServiceErrors>,
    /// Per (region, service) and interval: responses, server errors and
    /// p99, for health detection ([`crate::health`]); not written.
    #[serde(skip)]
    pub services: Vec<ServiceSeries>,
    /// When measurement started (real time); not written (the time of
    /// reading, when read back).
    #[serde(skip, default = "Instant::now")]
    pub window_start: Instant,
    /// The latency log of the run: per log interval and region, tagged
    /// `label@region` ([`crate::hlog::entries`]); written to
    /// `histograms.hlog`, not to `summary.json` (empty when read back: see
    /// [`crate::rundir::RunData::histograms`]).
    #[serde(skip)]
    pub histograms: Vec<LogEntry>,
    /// What the control plane was asked to do during the run: the
    /// schedule's actions and the push of tomorrow's keys.
    pub control_plane: ControlPlaneActivity,
}

/// One service's server errors in one region, per interval of the run's time
/// series (requests count in the interval of their intended start).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceErrors {
    /// Region code.
    pub region: String,
    /// The service.
    pub service: Service,
    /// `ServiceUnavailable` answers per interval.
    pub errors: Vec<u32>,
    /// Responses per interval (every outcome).
    pub responses: Vec<u32>,
}

impl ServiceErrors {
    /// The series of `figures.services` that hold a server error, cut to the
    /// first `intervals` intervals; `regions` names the regions in world
    /// order.
    pub fn from_figures(
        figures: &Figures,
        regions: &[(String, f64)],
        intervals: usize,
    ) -> Vec<ServiceErrors> {
        figures
            .services
            .iter()
            .filter(|s| s.points.iter().take(intervals).any(|p| p.server_errors > 0))
            .filter_map(|s| {
                let (region, _) = regions.get(s.region)?;
                let points = &s.points[..intervals.min(s.points.len())];
                Some(ServiceErrors {
                    region: region.clone(),
                    service: s.service,
                    errors: points.iter().map(|p| p.server_errors).collect(),
                    responses: points.iter().map(|p| p.responses).collect(),
                })
            })
            .collect()
    }
}

/// The control plane's part in a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ControlPlaneActivity {
    /// API calls made (by the schedule's storms).
    pub api_calls: u64,
    /// Calls that failed (an incident's `ServiceFailure`, IAM's limits).
    pub api_errors: u64,
    /// Each action of the schedule, in the order performed.
    pub actions: Vec<crate::storm::ActionRecord>,
}

fn us(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let ns = if q >= 1.0 {
        h.max()
    } else {
        h.value_at_quantile(q)
    };
    ns as f64 / 1000.0
}

/// Percentiles of a nanosecond histogram, in microseconds.
pub fn percentiles(h: &Histogram<u64>) -> Percentiles {
    Percentiles {
        p50: us(h, 0.5),
        p90: us(h, 0.9),
        p99: us(h, 0.99),
        p999: us(h, 0.999),
        max: us(h, 1.0),
    }
}

impl Measured {
    /// Summarize `f` over a window of `window_s` seconds.
    pub fn from_figures(f: &RegionFigures, window_s: f64) -> Measured {
        let mut outcomes = BTreeMap::new();
        for i in 0..Outcome::COUNT {
            if let Some(o) = Outcome::from_index(i) {
                outcomes.insert(o.name().to_string(), f.outcomes[i]);
            }
        }
        let denied = f.count(Outcome::DeniedExplicit) + f.count(Outcome::DeniedImplicit);
        outcomes.insert("denied".to_string(), denied);
        let lookups = f.cache_hits + f.cache_misses;
        let responses = f.responses();
        Measured {
            offered_rps: rate(f.offered, window_s),
            achieved_rps: rate(f.completed_in_window, window_s),
            requests: f.offered,
            shed: f.shed,
            latency_us: percentiles(&f.latency),
            outcomes,
            unexpected_rejections: f.unexpected_rejections,
            unexpected_accepts: f.unexpected_accepts,
            cache: CacheSummary {
                hits: f.cache_hits,
                misses: f.cache_misses,
                hit_ratio: (lookups > 0).then(|| f.cache_hits as f64 / lookups as f64),
            },
            hmacs: f.hmacs,
            hmacs_per_request: if responses == 0 {
                0.0
            } else {
                f.hmacs as f64 / responses as f64
            },
            control_plane_calls: f.control_plane_calls,
            stale_accepts: f.stale_accepts,
            exposure_accepts: f.exposure_accepts,
            unfinished: f.unfinished,
        }
    }
}

impl PhaseSummary {
    /// Summarize a phase, cut to a measured window of `window_s` seconds
    /// (`None` when the phase starts after it).
    pub fn from_figures(p: &PhaseFigures, window_s: f64) -> Option<PhaseSummary> {
        let start_s = p.span.start_s;
        let end_s = p.span.end_s.min(window_s);
        if start_s >= end_s && start_s > 0.0 {
            return None;
        }
        Some(PhaseSummary {
            name: p.span.name.clone(),
            start_s,
            end_s,
            figures: Measured::from_figures(&p.figures, end_s - start_s),
        })
    }
}

impl IntervalSummary {
    /// Summarize interval `i` of length `interval_s` of a window of
    /// `window_s` seconds (the last interval may be shorter).
    pub fn from_figures(i: usize, f: &IntervalFigures, interval_s: f64, window_s: f64) -> Self {
        let t_s = round_to_micros(i as f64 * interval_s);
        let length_s = interval_s.min(window_s - t_s);
        IntervalSummary {
            t_s,
            requests: f.offered,
            responses: f.responses,
            completed: f.completed,
            achieved_rps: rate(f.completed, length_s),
            latency_us: Tail {
                p50: f.latency_us(0.5),
                p99: f.latency_us(0.99),
                max: f.latency_us(1.0),
            },
            allowed: f.allowed,
            denied: f.denied,
            refused: f.refused,
            server_errors: f.server_errors,
            cache_hits: f.cache_hits,
            cache_misses: f.cache_misses,
            exposure_accepts: f.exposure_accepts,
            stale_accepts: f.stale_accepts,
            backlog: f.backlog,
            lag_ms: f.lag_ms,
            backlog_by_region: f.backlog_by_region.clone(),
            lag_ms_by_region: f.lag_ms_by_region.clone(),
        }
    }
}

impl ReplicationSummary {
    /// Summarize region `region`'s replication; `exposure_accepts` comes
    /// from its request figures.
    pub fn from_figures(
        region: &str,
        r: &ReplicationFigures,
        exposure_accepts: u64,
    ) -> ReplicationSummary {
        let ms = |q: f64| {
            let h = &r.delays_us;
            if h.is_empty() {
                0.0
            } else if q >= 1.0 {
                h.max() as f64 / 1000.0
            } else {
                h.value_at_quantile(q) as f64 / 1000.0
            }
        };
        ReplicationSummary {
            region: region.to_string(),
            propagation_delay_ms: Tail {
                p50: ms(0.5),
                p99: ms(0.99),
                max: ms(1.0),
            },
            applied: r.applied,
            max_backlog: r.max_backlog.unwrap_or(0),
            max_lag_ms: r.max_lag_ms.unwrap_or(0.0),
            exposure_accepts,
        }
    }
}

/// Hiccups below this (p99, microseconds) are a sleeping thread's ordinary
/// wake-up latency, not stalls worth a warning.
pub const HICCUP_WARN_US: f64 = 500.0;

/// Whether scheduling stalls (`hiccup_p99_us`) explain at least half
/// of a p99 latency of `p99_us`.
pub fn platform_bound(hiccup_p99_us: f64, p99_us: f64) -> bool {
    hiccup_p99_us >= HICCUP_WARN_US && p99_us > 0.0 && hiccup_p99_us >= 0.5 * p99_us
}

/// `x` rounded to whole microseconds. Dividing by a million (rather than
/// multiplying by 1e-6, which is not exact in binary) gives the nearest
/// double to the decimal, so 0.1 s is written `0.1`, not `0.09999999999999999`.
fn round_to_micros(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The intervals of `figures` that start within a measured window of
/// `window_s` seconds (at least one).
fn intervals(figures: &Figures, window_s: f64) -> Vec<IntervalSummary> {
    let interval_s = figures.interval.as_secs_f64();
    figures
        .intervals
        .iter()
        .enumerate()
        .take_while(|(i, _)| *i == 0 || (*i as f64) * interval_s < window_s - 1e-9)
        .map(|(i, f)| IntervalSummary::from_figures(i, f, interval_s, window_s))
        .collect()
}

fn rate(count: u64, window_s: f64) -> f64 {
    if window_s <= 0.0 {
        0.0
    } else {
        (count as f64 / window_s * 10.0).round() / 10.0
    }
}

impl RunSummary {
    /// Summarize one strategy's figures.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        strategy: Strategy,
        cache_backend: Option<CacheBackend>,
        label: &str,
        crypto: &str,
        figures: &Figures,
        regions: &[(String, f64)],
        window_s: f64,
        generator: &GeneratorReport,
        cpu: CpuSplit,
    ) -> RunSummary {
        let intervals = intervals(figures, window_s);
        let region_names: Vec<String> = regions.iter().map(|(name, _)| name.clone()).collect();
        let mut run = RunSummary {
            strategy,
            cache_backend,
            label: label.to_string(),
            crypto: crypto.to_string(),
            duration_s: window_s,
            interrupted: generator.interrupted,
            figures: Measured::from_figures(&figures.total, window_s),
            service_time_us: percentiles(&figures.service_time),
            generator_lateness_us: Lateness {
                p50: us(&figures.lateness, 0.5),
                p99: us(&figures.lateness, 0.99),
                max: us(&figures.lateness, 1.0),
            },
            cpu,
            platform_hiccups_us: None,
            control_plane: ControlPlaneActivity::default(),
            regions: regions
                .iter()
                .zip(&figures.regions)
                .map(|((name, rtt_ms), f)| RegionSummary {
                    region: name.clone(),
                    rtt_ms: *rtt_ms,
                    figures: Measured::from_figures(f, window_s),
                })
                .collect(),
            warnings: Vec::new(),
            interval_s: figures.interval.as_secs_f64(),
            phases: figures
                .phases
                .iter()
                .filter_map(|p| PhaseSummary::from_figures(p, window_s))
                .collect(),
            service_errors: ServiceErrors::from_figures(figures, regions, intervals.len()),
            intervals,
            replication: regions
                .iter()
                .zip(&figures.replication)
                .zip(&figures.regions)
                .map(|(((name, _), rep), f)| {
                    ReplicationSummary::from_figures(name, rep, f.exposure_accepts)
                })
                .collect(),
            services: figures.services.clone(),
            window_start: figures.window_start,
            histograms: crate::hlog::entries(label, &region_names, figures, window_s),
        };
        run.warnings = run.validity_warnings();
        run
    }

    /// Set the hiccup meter's record of the measured window (nanoseconds)
    /// and judge the figures again with it.
    pub fn set_hiccups(&mut self, hiccups: &Histogram<u64>) {
        self.platform_hiccups_us = (!hiccups.is_empty()).then(|| percentiles(hiccups));
        self.warnings = self.validity_warnings();
    }

    /// Why the figures may not mean what they seem, in words.
    fn validity_warnings(&self) -> Vec<String> {
        let f = &self.figures;
        let mut warnings = Vec::new();
        let late = self.generator_lateness_us.p99;
        if f.latency_us.p99 > 0.0 && late > 0.5 * f.latency_us.p99 {
            warnings.push(format!(
                "the generator's p99 lateness ({}) is {:.0}% of the p99 latency ({}): this machine \
                 could not pace the load precisely, and the latency percentiles include that lateness",
                human_us(late),
                100.0 * late / f.latency_us.p99,
                human_us(f.latency_us.p99)
            ));
        }
        if let Some(h) = &self.platform_hiccups_us {
            if platform_bound(h.p99, f.latency_us.p99) {
                warnings.push(format!(
                    "scheduling stalls: a thread waking every 1 ms waited {} or more 1% of the \
                     time (the longest {}), {:.0}% of the p99 latency ({}): the tail measures how \
                     long a waking thread waits for a core here (the virtual machine's host, other \
                     processes, and this run's own generator and data planes sharing the cores) \
                     more than the data planes' work",
                    human_us(h.p99),
                    human_us(h.max),
                    100.0 * h.p99 / f.latency_us.p99,
                    human_us(f.latency_us.p99)
                ));
            }
        }
        if f.offered_rps > 0.0 && f.achieved_rps < 0.98 * f.offered_rps {
            warnings.push(format!(
                "achieved {:.0} of {:.0} requests per second offered: the data planes fell behind",
                f.achieved_rps, f.offered_rps
            ));
        }
        if f.shed > 0 {
            warnings.push(format!(
                "{} requests were shed because load.max_in_flight requests were already in flight",
                f.shed
            ));
        }
        if f.unfinished > 0 {
            warnings.push(format!(
                "{} requests were still unanswered when run.drain_timeout_s ran out",
                f.unfinished
            ));
        }
        warnings.extend(self.az_loss_warnings());
        warnings
    }

    /// The AZ-loss promise: while a replica is down, the others answer every
    /// request (no `ServiceUnavailable`) with a p99 of at most
    /// [`AZ_LOSS_P99_FACTOR`] times the steady phase's plus
    /// [`AZ_LOSS_P99_SLACK_US`].
    fn az_loss_warnings(&self) -> Vec<String> {
        let Some(steady) = self.phases.iter().find(|p| p.name == "steady") else {
            return Vec::new();
        };
        let bound = AZ_LOSS_P99_FACTOR * steady.figures.latency_us.p99 + AZ_LOSS_P99_SLACK_US;
        let mut warnings = Vec::new();
        for phase in self
            .phases
            .iter()
            .filter(|p| p.name.contains("fault: az_loss"))
        {
            let p99 = phase.figures.latency_us.p99;
            if p99 > bound {
                warnings.push(format!(
                    "AZ loss ({:.1}-{:.1} s): p99 {} exceeds the bound of {:.0} times the steady \
                     phase's p99 plus {} ({})",
                    phase.start_s,
                    phase.end_s,
                    human_us(p99),
                    AZ_LOSS_P99_FACTOR,
                    human_us(AZ_LOSS_P99_SLACK_US),
                    human_us(bound)
                ));
            }
            let unavailable = phase
                .figures
                .outcomes
                .get("ServiceUnavailable")
                .copied()
                .unwrap_or(0);
            if unavailable > 0 && !phase.name.contains('+') {
                warnings.push(format!(
                    "AZ loss ({:.1}-{:.1} s): {unavailable} requests answered ServiceUnavailable \
                     although the other AZ replicas were up",
                    phase.start_s, phase.end_s
                ));
            }
        }
        warnings
    }
}

impl Environment {
    /// Describe this machine and build.
    pub fn detect() -> Environment {
        Environment {
            cpu: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            rustc: env!("SIGSTORM_RUSTC").to_string(),
            git_commit: git_commit(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn git_commit() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        None => option_env!("SIGSTORM_GIT_COMMIT")
            .unwrap_or("unknown")
            .to_string(),
    }
}

/// Write `contents` to `path` atomically: a temporary file in the same folder,
/// flushed to disk, then renamed over `path`.
///
/// # Errors
///
/// Any I/O error, with the path.
pub fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    use crate::control_plane::PushReport;
    use crate::data_plane::{CacheUse, Decision};
    use crate::metrics::{Expectation, Recorder};
    use crate::sigv4::ErrorCode;
    use crate::storm::ActionRecord;

    #[test]
    fn interval_starts_are_written_as_their_decimals() {
        for i in 0..100u32 {
            let t = round_to_micros(f64::from(i) * 0.1);
            // The shortest text of the double is the decimal itself.
            assert_eq!(t.to_string(), format!("{}", f64::from(i) / 10.0), "{i}");
        }
        assert_eq!(round_to_micros(0.1 + 0.2), 0.3);
        assert_eq!(round_to_micros(2.000_000_4), 2.0);
    }

    const WORKLOAD: &str = r#"
name = "roundtrip"
seed = 7
[clock]
start = "2026-06-01T23:59:50Z"
[run]
duration_s = 2
warmup_s = 0.5
[load]
rate_per_sec = 100
[[regions]]
name = "us-east-1"
[[regions]]
name = "eu-north-1"
weight = 2
[data_plane]
cache_backends = ["moka", "sharded"]
[[schedule]]
kind = "regional_incident"
at_s = 0.5
duration_s = 1
region = "eu-north-1"
error_rate = 0.3
[[schedule]]
kind = "rotate_keys"
at_s = 1
count = 2
"#;

    /// Record `outcome` for `service` in `region`, intended `at_ms` into
    /// the window starting at `t0`, answered `latency_us` later.
    fn answer(
        rec: &Recorder,
        t0: Instant,
        region: usize,
        service: Service,
        at_ms: u64,
        latency_us: u64,
        outcome: Outcome,
    ) {
        let intended = t0 + Duration::from_millis(at_ms);
        rec.record_dispatch(region, intended, intended);
        let d = Decision {
            outcome,
            responded: intended + Duration::from_micros(latency_us),
            az: 0,
            hmacs: 1,
            cache: CacheUse::Hit,
            control_plane_call: false,
            stale_accept: false,
            state_allows: true,
            exposure: false,
        };
        rec.record_response(
            region,
            service,
            intended,
            intended,
            &d,
            Expectation::Allowed,
        );
    }

    /// A summary of one strategy run of two regions with server errors in
    /// both, replication samples and control-plane actions.
    pub(crate) fn sample_summary() -> Summary {
        let workload = Workload::parse(WORKLOAD, "roundtrip.toml").unwrap();
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0, t0 + Duration::from_secs(2));
        let unavailable = Outcome::Rejected(ErrorCode::ServiceUnavailable);
        for i in 0..20 {
            answer(&rec, t0, 0, Service::S3, i * 100, 50 + i, Outcome::Allowed);
        }
        for i in 0..4 {
            let outcome = if i < 3 { unavailable } else { Outcome::Allowed };
            answer(&rec, t0, 1, Service::Sqs, 120 + i, 300, outcome);
        }
        answer(&rec, t0, 1, Service::Sqs, 1900, 1_000, unavailable);
        answer(&rec, t0, 1, Service::Ec2, 1250, 2_000, unavailable);
        answer(&rec, t0, 1, Service::S3, 1250, 90, Outcome::DeniedExplicit);
        answer(&rec, t0, 0, Service::Sts, 1999, 70, unavailable);
        rec.sample_replication(0, 0, 0.0);
        rec.sample_replication(1, 12, 2500.5);
        let figures = rec.finish();
        let regions = vec![
            ("us-east-1".to_string(), 1.0),
            ("eu-north-1".to_string(), 110.0),
        ];
        let cpu = CpuSplit {
            wall_s: 3.25,
            generator_s: 1.5,
            generator_spin_s: 0.25,
            data_plane_s: 0.75,
            data_plane_threads: 1,
            cores: 2,
        };
        let mut run = RunSummary::new(
            Strategy::PerService,
            Some(CacheBackend::Moka),
            "per-service/moka",
            "ring",
            &figures,
            &regions,
            2.0,
            &GeneratorReport::default(),
            cpu,
        );
        run.control_plane = ControlPlaneActivity {
            api_calls: 5,
            api_errors: 1,
            actions: vec![
                ActionRecord {
                    at_s: -0.25,
                    action: "push tomorrow's region keys".to_string(),
                    target: "2 regions".to_string(),
                    late_ms: 0.0,
                    duration_ms: 12.5,
                    api_calls: 0,
                    api_errors: BTreeMap::new(),
                    push: Some(PushReport {
                        keys: 100,
                        regions: 2,
                        hmacs: 400,
                        duration_ms: 12,
                    }),
                },
                ActionRecord {
                    at_s: 1.0,
                    action: "CreateAccessKey".to_string(),
                    target: "user-000001".to_string(),
                    late_ms: 0.125,
                    duration_ms: 1.5,
                    api_calls: 5,
                    api_errors: BTreeMap::from([("LimitExceeded".to_string(), 1)]),
                    push: None,
                },
            ],
        };
        Summary {
            sigstorm_version: "sigstorm 0.1.0".to_string(),
            run_id: "20260601-235950-roundtrip".to_string(),
            workload,
            seed: 7,
            environment: Environment::detect(),
            started_at: "2026-06-01T23:59:50.000Z".to_string(),
            complete: true,
            runs: vec![run],
        }
    }

    #[test]
    fn a_machine_whose_stalls_make_up_the_tail_is_named() {
        let mut run = sample_summary().runs.remove(0);
        run.figures.latency_us.p99 = 2_000.0;
        // Hiccups of 1..=1200 µs, one each: p99 about 1.19 ms.
        let mut h = crate::metrics::histogram();
        for us in 1..=1200u64 {
            h.record(us * 1000).unwrap();
        }
        run.set_hiccups(&h);
        let p = run.platform_hiccups_us.expect("measured");
        assert!((p.p99 - 1188.0).abs() < 2.0, "{p:?}");
        assert!(
            run.warnings
                .iter()
                .any(|w| w.starts_with("scheduling stalls: a thread waking every 1 ms")),
            "{:?}",
            run.warnings
        );
        // Ordinary wake-up latency (under HICCUP_WARN_US) is not a stall.
        let mut h = crate::metrics::histogram();
        h.record(60_000).unwrap();
        run.set_hiccups(&h);
        assert!(!run.warnings.iter().any(|w| w.contains("scheduling stalls")));
        // Nothing measured: nothing claimed.
        run.set_hiccups(&crate::metrics::histogram());
        assert!(run.platform_hiccups_us.is_none());
        assert!(platform_bound(1000.0, 1500.0));
        assert!(!platform_bound(1000.0, 2500.0));
        assert!(!platform_bound(400.0, 500.0));
    }

    #[test]
    fn az_loss_beyond_its_p99_bound_or_with_errors_warns() {
        let mut run = sample_summary().runs.remove(0);
        let mut steady = run.phases[0].clone();
        steady.name = "steady".to_string();
        steady.figures.latency_us.p99 = 200.0;
        steady
            .figures
            .outcomes
            .insert("ServiceUnavailable".to_string(), 0);
        let mut lost = steady.clone();
        lost.name = "fault: az_loss".to_string();
        (lost.start_s, lost.end_s) = (5.0, 15.0);
        // Within 2 x 200 µs + 1 ms.
        lost.figures.latency_us.p99 = 1_400.0;
        run.phases = vec![steady.clone(), lost.clone()];
        assert!(run.az_loss_warnings().is_empty());
        lost.figures.latency_us.p99 = 1_500.0;
        lost.figures
            .outcomes
            .insert("ServiceUnavailable".to_string(), 3);
        run.phases = vec![steady, lost];
        let warnings = run.az_loss_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("p99 1.50ms exceeds"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("(1.40ms)"), "{}", warnings[0]);
        assert!(warnings[1].contains("3 requests answered ServiceUnavailable"));
    }

    #[test]
    fn a_summary_reads_back_equal_in_its_json() {
        let summary = sample_summary();
        let json = serde_json::to_string_pretty(&summary).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        let again = serde_json::to_value(&back).unwrap();
        assert_eq!(again, serde_json::to_value(&summary).unwrap());
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        // What is not written reads back empty.
        assert!(back.runs[0].services.is_empty());
        assert!(back.runs[0].histograms.is_empty());
        assert!(!summary.runs[0].histograms.is_empty());
    }

    #[test]
    fn server_errors_per_service_add_up_to_each_regions() {
        let summary = sample_summary();
        let run = &summary.runs[0];
        let series: Vec<(&str, Service)> = run
            .service_errors
            .iter()
            .map(|s| (s.region.as_str(), s.service))
            .collect();
        // Only services with a server error; by region, then service.
        assert_eq!(
            series,
            [
                ("us-east-1", Service::Sts),
                ("eu-north-1", Service::Ec2),
                ("eu-north-1", Service::Sqs)
            ]
        );
        let sqs = &run.service_errors[2];
        assert_eq!(sqs.errors.len(), run.intervals.len());
        assert_eq!(sqs.responses.len(), run.intervals.len());
        assert_eq!((sqs.errors[1], sqs.responses[1]), (3, 4));
        assert_eq!((sqs.errors[19], sqs.responses[19]), (1, 1));
        assert_eq!(sqs.errors.iter().sum::<u32>(), 4);
        assert_eq!(run.service_errors[1].errors[12], 1);
        for region in &run.regions {
            let errors: u32 = run
                .service_errors
                .iter()
                .filter(|s| s.region == region.region)
                .flat_map(|s| &s.errors)
                .sum();
            assert_eq!(
                u64::from(errors),
                region.figures.outcomes["ServiceUnavailable"],
                "{}",
                region.region
            );
        }
        // The intervals hold each region's replication sample.
        let sampled = run.intervals.iter().find(|i| i.backlog.is_some()).unwrap();
        assert_eq!(sampled.backlog_by_region, [Some(0), Some(12)]);
        assert_eq!(sampled.lag_ms_by_region, [Some(0.0), Some(2500.5)]);
        assert_eq!(sampled.backlog, Some(12));
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = std::env::temp_dir().join(format!("sigstorm-atomic-{}", std::process::id()));
        let path = dir.join("summary.json");
        write_atomically(&path, b"{\"a\":1}").unwrap();
        write_atomically(&path, b"{\"b\":2}").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"b\":2}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .collect();
        assert_eq!(leftovers.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = crate::metrics::histogram();
        for ns in 1..=1000u64 {
            h.record(ns * 1000).unwrap();
        }
        let p = percentiles(&h);
        assert!((p.p50 - 500.0).abs() <= 1.0, "{p:?}");
        assert!((p.p99 - 990.0).abs() <= 1.0, "{p:?}");
        assert!((p.max - 1000.0).abs() <= 1.0, "{p:?}");
    }
}
