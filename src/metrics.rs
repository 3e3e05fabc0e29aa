//! Recording a run: HDR histograms (3 significant digits, nanoseconds) of
//! latency per region and per phase, generator lateness and service time;
//! counters of outcomes, HMACs, cache hits and misses, control-plane calls,
//! correctness defects and eventual-consistency exposure; a time series of
//! fixed intervals; per-service health series; and replication figures
//! (propagation delay, backlog, applied-version lag) per region.
//!
//! Threads record into shards, one per thread (a thread's shard lock is never
//! contended in practice), so the hot path takes no shared lock; shards are
//! merged when the run ends. Only requests whose intended start falls in the
//! measured window count; achieved throughput counts responses that arrived
//! within it.
//!
//! # Phases and intervals
//!
//! A request belongs to the phase and the interval its *intended* start falls
//! in (start inclusive, end exclusive), so its latency is charged to the time
//! it was meant to be served; throughput (`completed`) counts a response in
//! the phase and interval its *response* arrived in.
//!
//! # Memory bounds
//!
//! Everything is preallocated or allocated once per shard (or per service)
//! per run, on its first response, which is usually in the warm-up; never
//! per request. A run has at most [`MAX_INTERVALS`] intervals, and at most
//! [`MAX_SERVICE_CELLS`] (region, service, interval) health cells: when the
//! window divided by `run.interval_ms` exceeds either bound, the recorder
//! widens the interval to a whole multiple of it ([`Figures::interval`]
//! reports the interval used). An interval holds about 1 KB per shard that
//! records (a [`INTERVAL_SCALE`] histogram and counters); a health cell holds
//! 180 bytes, shared by all threads (atomics), allocated per (region,
//! service) only once that service gets a response: at most about 47 MB at
//! the bounds, about 0.3 MB for the default workload. Phase figures keep a
//! full HDR histogram per phase, per shard that records.
//!
//! # The latency log
//!
//! Besides, latency is kept as real HDR histograms per region and *log
//! interval* ([`LOG_INTERVAL`] of intended start, a coarser grid than the time
//! series) for `histograms.hlog` ([`crate::hlog`]), at
//! [`LOG_SIGNIFICANT_DIGITS`] significant digits: 37 KB a histogram, where 3
//! digits would take 270 KB. Each shard keeps the last [`LOG_RING`] log
//! intervals of each region open; when a response opens a newer one, the
//! oldest is added into the recorder's merged histogram of its (region, log
//! interval) and its histogram is reset and reused, so the steady path does
//! not allocate (a shard's first response of a region allocates its slot,
//! and the first flush of each (region, log interval) allocates the merged
//! one). A response older than a shard's open intervals is recorded straight
//! into the merged histogram. Memory: at most one histogram per (region, log
//! interval), plus `regions x LOG_RING` per shard that records: 6 regions for
//! 30 s on one data-plane thread is about 7.5 MB. A run has at most
//! [`MAX_LOG_CELLS`] (region, log interval) cells (about 150 MB): a longer
//! run widens its log interval to a whole number of seconds
//! ([`Figures::log_interval`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use parking_lot::{Mutex, MutexGuard};

use crate::data_plane::{CacheUse, Decision, Outcome};
use crate::schedule::PhaseSpan;
use crate::service::Service;
use crate::sigv4::ErrorCode;

/// The largest latency a histogram holds: one hour, in nanoseconds. Larger
/// values are recorded as this value.
pub const MAX_RECORDED_NS: u64 = 3_600_000_000_000;

/// The largest propagation delay the delay histograms hold: one hour, in
/// microseconds.
pub const MAX_DELAY_US: u64 = 3_600_000_000;

/// The most intervals of a run's time series.
pub const MAX_INTERVALS: usize = 4096;

/// The most (region, service, interval) health cells of a run.
pub const MAX_SERVICE_CELLS: usize = 262_144;

/// Shards in a recorder; threads beyond this share.
const SHARDS: usize = 16;

/// The length of one interval of the latency log, unless a run has more
/// than [`MAX_LOG_CELLS`] (region, log interval) cells.
pub const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The most (region, log interval) histograms of one run's latency log.
pub const MAX_LOG_CELLS: usize = 4096;

/// Significant digits of the latency log's histograms ([`log_histogram`]).
pub const LOG_SIGNIFICANT_DIGITS: u8 = 2;

/// Log intervals a shard keeps open per region before adding the oldest
/// into the merged histograms.
pub const LOG_RING: usize = 4;

/// A new latency histogram: 1 ns to one hour at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_RECORDED_NS, 3)
        .unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// A new histogram of the latency log: 1 ns to one hour at
/// [`LOG_SIGNIFICANT_DIGITS`] significant digits (a value is known to within
/// 1 %).
pub fn log_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_RECORDED_NS, LOG_SIGNIFICANT_DIGITS)
        .unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// A new propagation-delay histogram: 1 µs to one hour at 3 significant
/// digits.
pub fn delay_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_DELAY_US, 3).unwrap_or_else(|_| unreachable!("valid bounds"))
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.clamp(1, MAX_RECORDED_NS));
}

fn nanos_between(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_nanos() as u64
}

/// A log-linear bucket layout over microseconds, for the compact histograms
/// of the time series: bucket 0 holds values below `2^lo_exp` µs, then each
/// power of two up to `2^hi_exp` µs is split into `2^sub_bits` equal
/// buckets, and the last bucket holds everything above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogScale {
    sub_bits: u32,
    lo_exp: u32,
    hi_exp: u32,
}

/// The scale of the per-interval latency histograms: 8 µs to about 71
/// minutes, 8 buckets per power of two (a value is known to within 1/16 of
/// itself).
pub const INTERVAL_SCALE: LogScale = LogScale {
    sub_bits: 3,
    lo_exp: 3,
    hi_exp: 32,
};

/// Buckets of [`INTERVAL_SCALE`].
pub const INTERVAL_BUCKETS: usize = INTERVAL_SCALE.buckets();

/// The scale of the per-service health histograms: 128 µs to about 134 s,
/// 2 buckets per power of two (a p99 is known to within about a fifth).
pub const HEALTH_SCALE: LogScale = LogScale {
    sub_bits: 1,
    lo_exp: 7,
    hi_exp: 27,
};

/// Buckets of [`HEALTH_SCALE`].
pub const HEALTH_BUCKETS: usize = HEALTH_SCALE.buckets();

impl LogScale {
    /// How many buckets the scale has.
    pub const fn buckets(self) -> usize {
        2 + (((self.hi_exp - self.lo_exp) as usize) << self.sub_bits)
    }

    /// The bucket of `us` microseconds.
    pub fn index(self, us: u64) -> usize {
        if us < 1 << self.lo_exp {
            return 0;
        }
        if us >= 1 << self.hi_exp {
            return self.buckets() - 1;
        }
        let e = 63 - us.leading_zeros();
        let sub = ((us >> (e - self.sub_bits)) as usize) & ((1 << self.sub_bits) - 1);
        1 + (((e - self.lo_exp) as usize) << self.sub_bits) + sub
    }

    /// The values of bucket `i`, microseconds: `[lower, upper)`; the last
    /// bucket's upper bound is `u64::MAX`.
    pub fn bounds(self, i: usize) -> (u64, u64) {
        if i == 0 {
            return (0, 1 << self.lo_exp);
        }
        if i >= self.buckets() - 1 {
            return (1 << self.hi_exp, u64::MAX);
        }
        let k = i - 1;
        let e = self.lo_exp + (k >> self.sub_bits) as u32;
        let s = (k & ((1 << self.sub_bits) - 1)) as u64;
        let width = 1u64 << (e - self.sub_bits);
        let lower = (1u64 << e) + s * width;
        (lower, lower + width)
    }

    /// The value at quantile `q` of `counts` (one per bucket), microseconds:
    /// the middle of the bucket that holds it, at most `max_us` (the largest
    /// value recorded, known exactly). 0 when nothing was recorded.
    pub fn quantile(self, counts: &[u32], q: f64, max_us: f64) -> f64 {
        let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let (lower, upper) = self.bounds(i);
                if upper == u64::MAX {
                    return max_us;
                }
                return ((lower + upper) as f64 / 2.0).min(max_us);
            }
        }
        max_us
    }
}

/// Figures of one region (or of all regions, merged; or of one phase).
#[derive(Clone, Debug)]
pub struct RegionFigures {
    /// Latency from intended start to response, nanoseconds.
    pub latency: Histogram<u64>,
    /// Requests intended within the window (sent or shed).
    pub offered: u64,
    /// Responses that arrived within the window (any intended start).
    pub completed_in_window: u64,
    /// Requests shed because too many were in flight.
    pub shed: u64,
    /// Counts by [`Outcome::index`].
    pub outcomes: [u64; Outcome::COUNT],
    /// HMAC-SHA256 computations on the verifying side.
    pub hmacs: u64,
    /// `per-service` cache hits.
    pub cache_hits: u64,
    /// `per-service` cache misses.
    pub cache_misses: u64,
    /// Calls to the control plane.
    pub control_plane_calls: u64,
    /// Requests allowed although the AZ's applied state did not allow them.
    pub stale_accepts: u64,
    /// Requests allowed between the control plane's revocation (or deny) and
    /// the AZ's apply of it: the eventual-consistency exposure.
    pub exposure_accepts: u64,
    /// Legitimate requests refused although the AZ's applied state allowed them.
    pub unexpected_rejections: u64,
    /// Requests built to be refused that were allowed.
    pub unexpected_accepts: u64,
    /// Requests still unanswered when the drain timeout ran out.
    pub unfinished: u64,
}

impl Default for RegionFigures {
    fn default() -> Self {
        RegionFigures {
            latency: histogram(),
            offered: 0,
            completed_in_window: 0,
            shed: 0,
            outcomes: [0; Outcome::COUNT],
            hmacs: 0,
            cache_hits: 0,
            cache_misses: 0,
            control_plane_calls: 0,
            stale_accepts: 0,
            exposure_accepts: 0,
            unexpected_rejections: 0,
            unexpected_accepts: 0,
            unfinished: 0,
        }
    }
}

impl RegionFigures {
    /// Add `other` into these figures.
    pub fn merge(&mut self, other: &RegionFigures) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.offered += other.offered;
        self.completed_in_window += other.completed_in_window;
        self.shed += other.shed;
        for (a, b) in self.outcomes.iter_mut().zip(other.outcomes) {
            *a += b;
        }
        self.hmacs += other.hmacs;
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
        self.control_plane_calls += other.control_plane_calls;
        self.stale_accepts += other.stale_accepts;
        self.exposure_accepts += other.exposure_accepts;
        self.unexpected_rejections += other.unexpected_rejections;
        self.unexpected_accepts += other.unexpected_accepts;
        self.unfinished += other.unfinished;
    }

    /// Responses recorded (every outcome).
    pub fn responses(&self) -> u64 {
        self.outcomes.iter().sum()
    }

    /// The count of `outcome`.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes[outcome.index()]
    }

    /// Count a response of latency `latency_ns`.
    fn add_response(&mut self, latency_ns: u64, decision: &Decision, expected: Expectation) {
        record(&mut self.latency, latency_ns);
        self.outcomes[decision.outcome.index()] += 1;
        self.hmacs += u64::from(decision.hmacs);
        self.cache_hits += u64::from(decision.cache == CacheUse::Hit);
        self.cache_misses += u64::from(decision.cache == CacheUse::Miss);
        self.control_plane_calls += u64::from(decision.control_plane_call);
        self.stale_accepts += u64::from(decision.stale_accept);
        self.exposure_accepts += u64::from(decision.exposure);
        let allowed = decision.outcome == Outcome::Allowed;
        // A refusal for unavailability (a fault, an overloaded control
        // plane) is an error the run reports, not a wrong decision.
        let unavailable = decision.outcome == Outcome::Rejected(ErrorCode::ServiceUnavailable);
        if expected == Expectation::Allowed && !allowed && decision.state_allows && !unavailable {
            self.unexpected_rejections += 1;
        }
        if expected == Expectation::Refused && allowed {
            self.unexpected_accepts += 1;
        }
    }
}

/// Whether `outcome` is a server error: the data plane (or the control plane
/// behind it) could not answer, `ServiceUnavailable`.
pub fn is_server_error(outcome: Outcome) -> bool {
    outcome == Outcome::Rejected(ErrorCode::ServiceUnavailable)
}

/// One phase's figures over all regions.
#[derive(Clone, Debug)]
pub struct PhaseFigures {
    /// The phase.
    pub span: PhaseSpan,
    /// Its figures: requests intended in it, responses that arrived in it.
    pub figures: RegionFigures,
}

/// One interval of the time series, over all regions.
#[derive(Clone, Debug)]
pub struct IntervalFigures {
    /// Requests intended in the interval (sent or shed).
    pub offered: u64,
    /// Responses to requests intended in the interval.
    pub responses: u64,
    /// Of which allowed.
    pub allowed: u64,
    /// Of which denied by policy (explicitly or implicitly).
    pub denied: u64,
    /// Of which refused with an error code other than `ServiceUnavailable`,
    /// or as a bad request.
    pub refused: u64,
    /// Of which `ServiceUnavailable`.
    pub server_errors: u64,
    /// `per-service` cache hits of those requests.
    pub cache_hits: u64,
    /// `per-service` cache misses of those requests.
    pub cache_misses: u64,
    /// Of which eventual-consistency exposure accepts.
    pub exposure_accepts: u64,
    /// Of which stale accepts (defects).
    pub stale_accepts: u64,
    /// Responses that arrived in the interval (any intended start).
    pub completed: u64,
    /// Latency of `responses`, in [`INTERVAL_SCALE`] buckets.
    pub latency: [u32; INTERVAL_BUCKETS],
    /// The largest latency of `responses`, nanoseconds.
    pub max_latency_ns: u64,
    /// The largest replication backlog sampled in the interval, over all
    /// regions (`None` when no sample fell in it).
    pub backlog: Option<u64>,
    /// The largest applied-version lag sampled in the interval, over all
    /// regions, simulated milliseconds.
    pub lag_ms: Option<f64>,
    /// Per region, in world order: the largest replication backlog sampled
    /// in the interval (`None` when no sample of the region fell in it).
    /// Filled by [`Recorder::finish`]; empty in a shard.
    pub backlog_by_region: Vec<Option<u64>>,
    /// Per region, in world order: the largest applied-version lag sampled
    /// in the interval, simulated milliseconds (`None` when no sample of the
    /// region fell in it). Filled by [`Recorder::finish`].
    pub lag_ms_by_region: Vec<Option<f64>>,
}

impl Default for IntervalFigures {
    fn default() -> Self {
        IntervalFigures {
            offered: 0,
            responses: 0,
            allowed: 0,
            denied: 0,
            refused: 0,
            server_errors: 0,
            cache_hits: 0,
            cache_misses: 0,
            exposure_accepts: 0,
            stale_accepts: 0,
            completed: 0,
            latency: [0; INTERVAL_BUCKETS],
            max_latency_ns: 0,
            backlog: None,
            lag_ms: None,
            backlog_by_region: Vec::new(),
            lag_ms_by_region: Vec::new(),
        }
    }
}

impl IntervalFigures {
    /// Add `other` into these figures.
    pub fn merge(&mut self, other: &IntervalFigures) {
        self.offered += other.offered;
        self.responses += other.responses;
        self.allowed += other.allowed;
        self.denied += other.denied;
        self.refused += other.refused;
        self.server_errors += other.server_errors;
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
        self.exposure_accepts += other.exposure_accepts;
        self.stale_accepts += other.stale_accepts;
        self.completed += other.completed;
        for (a, b) in self.latency.iter_mut().zip(other.latency.iter()) {
            *a = a.saturating_add(*b);
        }
        self.max_latency_ns = self.max_latency_ns.max(other.max_latency_ns);
        self.backlog = max_option(self.backlog, other.backlog);
        self.lag_ms = max_option_f64(self.lag_ms, other.lag_ms);
        merge_by_region(
            &mut self.backlog_by_region,
            &other.backlog_by_region,
            max_option,
        );
        merge_by_region(
            &mut self.lag_ms_by_region,
            &other.lag_ms_by_region,
            max_option_f64,
        );
    }

    /// The latency at quantile `q`, microseconds (see [`LogScale::quantile`]).
    pub fn latency_us(&self, q: f64) -> f64 {
        let max_us = self.max_latency_ns as f64 / 1000.0;
        if q >= 1.0 {
            return max_us;
        }
        INTERVAL_SCALE.quantile(&self.latency, q, max_us)
    }

    fn add_response(&mut self, latency_ns: u64, decision: &Decision) {
        self.responses += 1;
        match decision.outcome {
            Outcome::Allowed => self.allowed += 1,
            Outcome::DeniedExplicit | Outcome::DeniedImplicit => self.denied += 1,
            o if is_server_error(o) => self.server_errors += 1,
            Outcome::Rejected(_) | Outcome::BadRequest => self.refused += 1,
        }
        self.cache_hits += u64::from(decision.cache == CacheUse::Hit);
        self.cache_misses += u64::from(decision.cache == CacheUse::Miss);
        self.exposure_accepts += u64::from(decision.exposure);
        self.stale_accepts += u64::from(decision.stale_accept);
        let bucket = INTERVAL_SCALE.index(latency_ns / 1000);
        self.latency[bucket] = self.latency[bucket].saturating_add(1);
        self.max_latency_ns = self.max_latency_ns.max(latency_ns);
    }
}

/// Merge `theirs` into `mine` element by element with `max`, extending
/// `mine` to the longer length.
fn merge_by_region<T: Copy>(
    mine: &mut Vec<Option<T>>,
    theirs: &[Option<T>],
    max: fn(Option<T>, Option<T>) -> Option<T>,
) {
    if mine.len() < theirs.len() {
        mine.resize(theirs.len(), None);
    }
    for (a, b) in mine.iter_mut().zip(theirs) {
        *a = max(*a, *b);
    }
}

fn max_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn max_option_f64(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// One interval of one service in one region, for health detection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServicePoint {
    /// Responses to requests intended in the interval.
    pub responses: u32,
    /// Of which `ServiceUnavailable`.
    pub server_errors: u32,
    /// Their 99th-percentile latency, microseconds (within about a fifth:
    /// see [`HEALTH_SCALE`]; exact when fewer than 100 responses, where it
    /// is the largest).
    pub p99_us: f64,
}

/// The health series of one service in one region.
#[derive(Clone, Debug)]
pub struct ServiceSeries {
    /// Region index, in world order.
    pub region: usize,
    /// The service.
    pub service: Service,
    /// One point per interval of the run.
    pub points: Vec<ServicePoint>,
}

/// Shared health cell of one (region, service, interval).
struct HealthCell {
    responses: AtomicU32,
    server_errors: AtomicU32,
    max_us: AtomicU32,
    latency: [AtomicU32; HEALTH_BUCKETS],
}

impl Default for HealthCell {
    fn default() -> Self {
        HealthCell {
            responses: AtomicU32::new(0),
            server_errors: AtomicU32::new(0),
            max_us: AtomicU32::new(0),
            latency: [const { AtomicU32::new(0) }; HEALTH_BUCKETS],
        }
    }
}

impl HealthCell {
    fn record(&self, latency_ns: u64, outcome: Outcome) {
        let us = latency_ns / 1000;
        self.responses.fetch_add(1, Ordering::Relaxed);
        if is_server_error(outcome) {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.latency[HEALTH_SCALE.index(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us
            .fetch_max(u32::try_from(us).unwrap_or(u32::MAX), Ordering::Relaxed);
    }

    fn point(&self) -> ServicePoint {
        let mut counts = [0u32; HEALTH_BUCKETS];
        for (c, a) in counts.iter_mut().zip(&self.latency) {
            *c = a.load(Ordering::Relaxed);
        }
        let responses = self.responses.load(Ordering::Relaxed);
        let max_us = f64::from(self.max_us.load(Ordering::Relaxed));
        // Below 100 responses the 99th percentile is the largest value,
        // which is known exactly.
        let p99_us = if responses < 100 {
            max_us
        } else {
            HEALTH_SCALE.quantile(&counts, 0.99, max_us)
        };
        ServicePoint {
            responses,
            server_errors: self.server_errors.load(Ordering::Relaxed),
            p99_us,
        }
    }
}

/// Replication figures of one region.
#[derive(Clone, Debug)]
pub struct ReplicationFigures {
    /// Delay from a control-plane write to an AZ replica's apply of it,
    /// simulated microseconds, one value per entry per AZ replica applied
    /// from the start of measurement on.
    pub delays_us: Histogram<u64>,
    /// Entries applied from the start of measurement on, counted per AZ
    /// replica.
    pub applied: u64,
    /// The largest backlog sampled in the window (`None` without samples).
    pub max_backlog: Option<u64>,
    /// The largest applied-version lag sampled in the window, simulated
    /// milliseconds.
    pub max_lag_ms: Option<f64>,
}

impl Default for ReplicationFigures {
    fn default() -> Self {
        ReplicationFigures {
            delays_us: delay_histogram(),
            applied: 0,
            max_backlog: None,
            max_lag_ms: None,
        }
    }
}

/// Figures of the latest progress interval, for the live status line.
#[derive(Clone, Debug)]
pub struct Live {
    /// Latency of responses in the interval.
    pub latency: Histogram<u64>,
    /// Responses in the interval.
    pub responses: u64,
    /// Responses that were refusals other than policy denials.
    pub rejected: u64,
    /// Of which `ServiceUnavailable` (server errors).
    pub server_errors: u64,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            latency: histogram(),
            responses: 0,
            rejected: 0,
            server_errors: 0,
        }
    }
}

struct Shard {
    regions: Vec<RegionFigures>,
    /// Per phase; allocated when the shard first records anything.
    phases: Vec<RegionFigures>,
    /// Per interval; allocated with `phases`.
    intervals: Vec<IntervalFigures>,
    lateness: Histogram<u64>,
    service_time: Histogram<u64>,
    live: Live,
    /// The open log intervals: [`LOG_RING`] slots per region, by log
    /// interval modulo [`LOG_RING`]; allocated with `phases`.
    log: Vec<Option<LogSlot>>,
}

/// One open log interval of one region in a shard.
struct LogSlot {
    /// The log interval.
    interval: usize,
    /// Latency of the shard's responses to requests intended in it.
    histogram: Histogram<u64>,
}

impl Shard {
    /// Allocate the per-phase, per-interval and log figures, once.
    fn ensure_series(&mut self, phases: usize, intervals: usize, regions: usize) {
        if self.intervals.len() != intervals {
            self.phases = vec![RegionFigures::default(); phases];
            self.intervals = vec![IntervalFigures::default(); intervals];
        }
        if self.log.len() != regions * LOG_RING {
            self.log = (0..regions * LOG_RING).map(|_| None).collect();
        }
    }
}

/// Everything one run recorded, merged.
#[derive(Clone, Debug)]
pub struct Figures {
    /// Per region, in world order.
    pub regions: Vec<RegionFigures>,
    /// All regions together.
    pub total: RegionFigures,
    /// Generator lateness (actual start minus intended start), nanoseconds.
    pub lateness: Histogram<u64>,
    /// Service time (actual start to response), nanoseconds.
    pub service_time: Histogram<u64>,
    /// Start of the measured window.
    pub window_start: Instant,
    /// Per phase, in time order; they tile the window.
    pub phases: Vec<PhaseFigures>,
    /// Length of one interval of the time series (the workload's, or a whole
    /// multiple of it within the memory bounds).
    pub interval: Duration,
    /// The time series, one per interval from the start of the window.
    pub intervals: Vec<IntervalFigures>,
    /// Health series per (region, service) that got a response (warm-up
    /// included; only measured requests are counted in them), by region then
    /// service.
    pub services: Vec<ServiceSeries>,
    /// Replication, per region.
    pub replication: Vec<ReplicationFigures>,
    /// Length of one interval of the latency log: [`LOG_INTERVAL`], or a
    /// whole number of seconds within [`MAX_LOG_CELLS`].
    pub log_interval: Duration,
    /// The latency log: per region (world order), per log interval from the
    /// start of the window, the latency (nanoseconds, [`log_histogram`]) of
    /// responses to requests intended in it; `None` where there were none.
    pub log: Vec<LogSeries>,
}

/// One region's latency log: a histogram per log interval, `None` where no
/// response was recorded.
pub type LogSeries = Vec<Option<Histogram<u64>>>;

/// Whether a request was built to be allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Correctly signed with an active key, for an action its policy allows.
    Allowed,
    /// Built to be refused or denied.
    Refused,
}

/// The sharded recorder of one run.
pub struct Recorder {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    regions: usize,
    window_start: Instant,
    window_end: Instant,
    phases: Vec<PhaseSpan>,
    /// Start of each phase, nanoseconds from `window_start`.
    phase_starts_ns: Vec<u64>,
    interval_ns: u64,
    intervals: usize,
    /// Per (region, service): the health cells of every interval, allocated
    /// when the service first sees a measured request.
    health: Box<[OnceLock<Box<[HealthCell]>>]>,
    replication: Box<[Mutex<ReplicationFigures>]>,
    /// Per (interval, region), interval-major: the largest backlog and lag
    /// sampled in it.
    samples: Mutex<Vec<(Option<u64>, Option<f64>)>>,
    /// Length of one log interval, nanoseconds.
    log_interval_ns: u64,
    /// Log intervals of the window.
    log_intervals: usize,
    /// Per region: the merged histogram of each log interval, added from
    /// the shards' open intervals as they close.
    log: Box<[Mutex<LogSeries>]>,
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_SHARD: Cell<usize> = Cell::new(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
}

/// What a recorder measures.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Regions, in world order.
    pub regions: usize,
    /// Start of the measured window (requests intended before it are not
    /// measured).
    pub window_start: Instant,
    /// End of the measured window.
    pub window_end: Instant,
    /// The run's phases, in seconds from `window_start`, in time order; when
    /// empty, the whole window is one `steady` phase.
    pub phases: Vec<PhaseSpan>,
    /// Length of one time-series interval (at least a millisecond is used).
    pub interval: Duration,
}

/// The interval length and count for a window of `window_ns` and a
/// requested interval of `interval_ns`, within [`MAX_INTERVALS`] and
/// [`MAX_SERVICE_CELLS`] for `regions` regions.
fn interval_layout(window_ns: u64, interval_ns: u64, regions: usize) -> (u64, usize) {
    let interval_ns = interval_ns.max(1_000_000);
    let cap = (MAX_SERVICE_CELLS / (regions.max(1) * Service::ALL.len())).clamp(1, MAX_INTERVALS);
    let wanted = window_ns.div_ceil(interval_ns).max(1);
    let factor = wanted.div_ceil(cap as u64).max(1);
    let interval_ns = interval_ns.saturating_mul(factor);
    let count = window_ns.div_ceil(interval_ns).max(1);
    (interval_ns, count as usize)
}

/// The log interval length and count for a window of `window_ns` with
/// `regions` regions: whole seconds, within [`MAX_LOG_CELLS`].
fn log_layout(window_ns: u64, regions: usize) -> (u64, usize) {
    let second = LOG_INTERVAL.as_nanos() as u64;
    let cap = (MAX_LOG_CELLS / regions.max(1)).max(1) as u64;
    let wanted = window_ns.div_ceil(second).max(1);
    let interval_ns = second.saturating_mul(wanted.div_ceil(cap).max(1));
    let count = window_ns.div_ceil(interval_ns).max(1);
    (interval_ns, count as usize)
}

impl Recorder {
    /// A recorder for `spec`.
    pub fn with_spec(spec: Spec) -> Recorder {
        let regions = spec.regions;
        let window_ns = nanos_between(spec.window_start, spec.window_end);
        let (interval_ns, intervals) =
            interval_layout(window_ns, spec.interval.as_nanos() as u64, regions);
        let mut phases = spec.phases;
        if phases.is_empty() {
            phases.push(PhaseSpan {
                name: "steady".to_string(),
                start_s: 0.0,
                end_s: window_ns as f64 / 1e9,
            });
        }
        let phase_starts_ns = phases
            .iter()
            .map(|p| (p.start_s.max(0.0) * 1e9).round() as u64)
            .collect();
        let (log_interval_ns, log_intervals) = log_layout(window_ns, regions);
        let shards = (0..SHARDS)
            .map(|_| {
                CachePadded::new(Mutex::new(Shard {
                    regions: vec![RegionFigures::default(); regions],
                    phases: Vec::new(),
                    intervals: Vec::new(),
                    lateness: histogram(),
                    service_time: histogram(),
                    live: Live::default(),
                    log: Vec::new(),
                }))
            })
            .collect();
        Recorder {
            shards,
            regions,
            window_start: spec.window_start,
            window_end: spec.window_end,
            phases,
            phase_starts_ns,
            interval_ns,
            intervals,
            health: (0..regions * Service::ALL.len())
                .map(|_| OnceLock::new())
                .collect(),
            replication: (0..regions)
                .map(|_| Mutex::new(ReplicationFigures::default()))
                .collect(),
            samples: Mutex::new(vec![(None, None); intervals * regions]),
            log_interval_ns,
            log_intervals,
            log: (0..regions)
                .map(|_| Mutex::new((0..log_intervals).map(|_| None).collect()))
                .collect(),
        }
    }

    /// A recorder for `regions` regions measuring requests intended in
    /// `[window_start, window_end)`, as one phase, in 100 ms intervals.
    pub fn new(regions: usize, window_start: Instant, window_end: Instant) -> Recorder {
        Recorder::with_spec(Spec {
            regions,
            window_start,
            window_end,
            phases: Vec::new(),
            interval: Duration::from_millis(100),
        })
    }

    /// The length of one interval of the time series, as used.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    /// The replicas of `region` applied a change-log entry `delay_ms` after
    /// the control plane wrote it (simulated milliseconds). Applies before
    /// the measured window are not counted.
    pub fn record_propagation(&self, region: usize, delay_ms: f64) {
        self.record_propagation_at(region, delay_ms, Instant::now());
    }

    fn record_propagation_at(&self, region: usize, delay_ms: f64, at: Instant) {
        if at < self.window_start || !delay_ms.is_finite() {
            return;
        }
        let Some(rep) = self.replication.get(region) else {
            return;
        };
        let us = (delay_ms.max(0.0) * 1000.0).round() as u64;
        let mut rep = rep.lock();
        rep.delays_us.saturating_record(us.clamp(1, MAX_DELAY_US));
        rep.applied += 1;
    }

    /// A periodic sample of `region`'s replication: `backlog` entries the
    /// control plane has written that its slowest AZ replica has not applied,
    /// and `lag_ms`, the age (simulated milliseconds) of the oldest of them
    /// (0 when none). Samples outside the measured window are ignored.
    pub fn sample_replication(&self, region: usize, backlog: u64, lag_ms: f64) {
        self.sample_replication_at(region, backlog, lag_ms, Instant::now());
    }

    fn sample_replication_at(&self, region: usize, backlog: u64, lag_ms: f64, at: Instant) {
        if !self.in_window(at) {
            return;
        }
        let lag_ms = if lag_ms.is_finite() {
            lag_ms.max(0.0)
        } else {
            0.0
        };
        if let Some(rep) = self.replication.get(region) {
            let mut rep = rep.lock();
            rep.max_backlog = max_option(rep.max_backlog, Some(backlog));
            rep.max_lag_ms = max_option_f64(rep.max_lag_ms, Some(lag_ms));
        }
        let i = self.interval_of(nanos_between(self.window_start, at));
        if let Some(s) = self.samples.lock().get_mut(i * self.regions + region) {
            s.0 = max_option(s.0, Some(backlog));
            s.1 = max_option_f64(s.1, Some(lag_ms));
        }
    }

    fn shard(&self) -> MutexGuard<'_, Shard> {
        let i = THREAD_SHARD.with(Cell::get) % self.shards.len();
        self.shards[i].lock()
    }

    /// Whether a request intended at `intended` is measured.
    pub fn in_window(&self, intended: Instant) -> bool {
        intended >= self.window_start && intended < self.window_end
    }

    /// The phase of an instant `offset_ns` after the window's start.
    fn phase_of(&self, offset_ns: u64) -> usize {
        self.phase_starts_ns
            .partition_point(|&s| s <= offset_ns)
            .saturating_sub(1)
    }

    /// The interval of an instant `offset_ns` after the window's start.
    fn interval_of(&self, offset_ns: u64) -> usize {
        ((offset_ns / self.interval_ns) as usize).min(self.intervals - 1)
    }

    /// The log interval of an instant `offset_ns` after the window's start.
    fn log_interval_of(&self, offset_ns: u64) -> usize {
        ((offset_ns / self.log_interval_ns) as usize).min(self.log_intervals - 1)
    }

    /// Record `latency_ns` of a response of `region` to a request intended
    /// in log interval `interval`, in the shard's open `slots`.
    fn record_log(
        &self,
        slots: &mut [Option<LogSlot>],
        region: usize,
        interval: usize,
        latency_ns: u64,
    ) {
        let Some(slot) = slots.get_mut(region * LOG_RING + interval % LOG_RING) else {
            return;
        };
        match slot {
            Some(open) if open.interval == interval => record(&mut open.histogram, latency_ns),
            Some(open) if open.interval < interval => {
                // The slot's interval closes in this shard: add it into the
                // merged histograms and reuse its histogram.
                self.merge_log(region, open.interval, &open.histogram);
                open.histogram.reset();
                open.interval = interval;
                record(&mut open.histogram, latency_ns);
            }
            Some(_) => {
                // Older than every open interval: straight into the merged one.
                let mut merged = self.log[region].lock();
                if let Some(cell) = merged.get_mut(interval) {
                    record(cell.get_or_insert_with(log_histogram), latency_ns);
                }
            }
            None => {
                let mut histogram = log_histogram();
                record(&mut histogram, latency_ns);
                *slot = Some(LogSlot {
                    interval,
                    histogram,
                });
            }
        }
    }

    /// Add `histogram` into the merged log histogram of `region`'s log
    /// interval `interval`.
    fn merge_log(&self, region: usize, interval: usize, histogram: &Histogram<u64>) {
        let Some(merged) = self.log.get(region) else {
            return;
        };
        let mut merged = merged.lock();
        match merged.get_mut(interval) {
            // Same bounds: adding cannot fail.
            Some(Some(cell)) => {
                let _ = cell.add(histogram);
            }
            Some(cell) => *cell = Some(histogram.clone()),
            None => {}
        }
    }

    /// The generator sent a request intended at `intended` at `actual`.
    pub fn record_dispatch(&self, region: usize, intended: Instant, actual: Instant) {
        if !self.in_window(intended) {
            return;
        }
        let offset = nanos_between(self.window_start, intended);
        let (phase, interval) = (self.phase_of(offset), self.interval_of(offset));
        let mut shard = self.shard();
        shard.ensure_series(self.phases.len(), self.intervals, self.regions);
        record(&mut shard.lateness, nanos_between(intended, actual));
        shard.regions[region].offered += 1;
        shard.phases[phase].offered += 1;
        shard.intervals[interval].offered += 1;
    }

    /// The generator shed a request intended at `intended`.
    pub fn record_shed(&self, region: usize, intended: Instant) {
        if !self.in_window(intended) {
            return;
        }
        let offset = nanos_between(self.window_start, intended);
        let (phase, interval) = (self.phase_of(offset), self.interval_of(offset));
        let mut shard = self.shard();
        shard.ensure_series(self.phases.len(), self.intervals, self.regions);
        shard.regions[region].offered += 1;
        shard.regions[region].shed += 1;
        shard.phases[phase].offered += 1;
        shard.phases[phase].shed += 1;
        shard.intervals[interval].offered += 1;
    }

    /// A request of `region` for `service`, intended at `intended` and
    /// started at `started`, got `decision`.
    pub fn record_response(
        &self,
        region: usize,
        service: Service,
        intended: Instant,
        started: Instant,
        decision: &Decision,
        expected: Expectation,
    ) {
        let latency = nanos_between(intended, decision.responded);
        let in_window = self.in_window(intended);
        let completed_in_window = self.in_window(decision.responded);
        let refused = matches!(decision.outcome, Outcome::Rejected(_) | Outcome::BadRequest);
        let intended_at = nanos_between(self.window_start, intended);
        let responded_at = nanos_between(self.window_start, decision.responded);

        // The series of this thread's shard and of this service are
        // allocated on their first response, usually in the warm-up.
        let cells = self.health_cells(region, service);
        {
            let mut shard = self.shard();
            shard.ensure_series(self.phases.len(), self.intervals, self.regions);
            record(&mut shard.live.latency, latency);
            shard.live.responses += 1;
            shard.live.rejected += u64::from(refused);
            shard.live.server_errors += u64::from(is_server_error(decision.outcome));
            if !in_window && !completed_in_window {
                return;
            }
            if completed_in_window {
                let (phase, interval) =
                    (self.phase_of(responded_at), self.interval_of(responded_at));
                shard.regions[region].completed_in_window += 1;
                shard.phases[phase].completed_in_window += 1;
                shard.intervals[interval].completed += 1;
            }
            if !in_window {
                return;
            }
            record(
                &mut shard.service_time,
                nanos_between(started, decision.responded),
            );
            let (phase, interval) = (self.phase_of(intended_at), self.interval_of(intended_at));
            shard.regions[region].add_response(latency, decision, expected);
            shard.phases[phase].add_response(latency, decision, expected);
            shard.intervals[interval].add_response(latency, decision);
            let log_interval = self.log_interval_of(intended_at);
            self.record_log(&mut shard.log, region, log_interval, latency);
        }
        if let Some(cell) = cells.and_then(|c| c.get(self.interval_of(intended_at))) {
            cell.record(latency, decision.outcome);
        }
    }

    /// The health cells of `region`'s `service`, allocated on first use.
    fn health_cells(&self, region: usize, service: Service) -> Option<&[HealthCell]> {
        let series = self
            .health
            .get(region * Service::ALL.len() + service.index())?;
        Some(series.get_or_init(|| (0..self.intervals).map(|_| HealthCell::default()).collect()))
    }

    /// `count` requests of `region` intended in the window never got an answer.
    pub fn record_unfinished(&self, region: usize, count: u64) {
        self.shard().regions[region].unfinished += count;
    }

    /// The figures of the interval since the last call, resetting them.
    pub fn take_live(&self) -> Live {
        let mut live = Live::default();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            let _ = live.latency.add(&shard.live.latency);
            live.responses += shard.live.responses;
            live.rejected += shard.live.rejected;
            live.server_errors += shard.live.server_errors;
            shard.live = Live::default();
        }
        live
    }

    /// Merge every shard. The shards' open log intervals are added into the
    /// merged log histograms, so calling it again returns the same figures.
    pub fn finish(&self) -> Figures {
        let mut regions = vec![RegionFigures::default(); self.regions];
        let mut phases: Vec<PhaseFigures> = self
            .phases
            .iter()
            .map(|span| PhaseFigures {
                span: span.clone(),
                figures: RegionFigures::default(),
            })
            .collect();
        let mut intervals = vec![IntervalFigures::default(); self.intervals];
        let mut lateness = histogram();
        let mut service_time = histogram();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            for (i, slot) in shard.log.iter_mut().enumerate() {
                if let Some(open) = slot.take() {
                    self.merge_log(i / LOG_RING, open.interval, &open.histogram);
                }
            }
            for (mine, theirs) in regions.iter_mut().zip(&shard.regions) {
                mine.merge(theirs);
            }
            for (mine, theirs) in phases.iter_mut().zip(&shard.phases) {
                mine.figures.merge(theirs);
            }
            for (mine, theirs) in intervals.iter_mut().zip(&shard.intervals) {
                mine.merge(theirs);
            }
            let _ = lateness.add(&shard.lateness);
            let _ = service_time.add(&shard.service_time);
        }
        {
            let samples = self.samples.lock();
            for (mine, by_region) in intervals
                .iter_mut()
                .zip(samples.chunks(self.regions.max(1)))
            {
                mine.backlog_by_region = by_region.iter().map(|s| s.0).collect();
                mine.lag_ms_by_region = by_region.iter().map(|s| s.1).collect();
                mine.backlog = by_region.iter().fold(None, |m, s| max_option(m, s.0));
                mine.lag_ms = by_region.iter().fold(None, |m, s| max_option_f64(m, s.1));
            }
        }
        let mut total = RegionFigures::default();
        for r in &regions {
            total.merge(r);
        }
        let services = self
            .health
            .iter()
            .enumerate()
            .filter_map(|(i, series)| {
                let cells = series.get()?;
                Some(ServiceSeries {
                    region: i / Service::ALL.len(),
                    service: Service::ALL[i % Service::ALL.len()],
                    points: cells.iter().map(HealthCell::point).collect(),
                })
            })
            .collect();
        Figures {
            regions,
            total,
            lateness,
            service_time,
            window_start: self.window_start,
            phases,
            interval: self.interval(),
            intervals,
            services,
            replication: self.replication.iter().map(|r| r.lock().clone()).collect(),
            log_interval: Duration::from_nanos(self.log_interval_ns),
            log: self.log.iter().map(|l| l.lock().clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(outcome: Outcome, responded: Instant, state_allows: bool) -> Decision {
        Decision {
            outcome,
            responded,
            az: 0,
            hmacs: 3,
            cache: CacheUse::Miss,
            control_plane_call: false,
            stale_accept: false,
            state_allows,
            exposure: false,
        }
    }

    #[test]
    fn only_requests_intended_in_the_window_count() {
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0 + Duration::from_secs(1), t0 + Duration::from_secs(2));
        let before = t0;
        let inside = t0 + Duration::from_millis(1500);
        rec.record_dispatch(0, before, before);
        rec.record_dispatch(1, inside, inside + Duration::from_micros(3));
        let late = decision(Outcome::Allowed, inside + Duration::from_micros(250), true);
        rec.record_response(1, Service::S3, inside, inside, &late, Expectation::Allowed);
        rec.record_response(
            0,
            Service::S3,
            before,
            before,
            &decision(Outcome::Allowed, before, true),
            Expectation::Allowed,
        );
        let f = rec.finish();
        assert_eq!(f.total.offered, 1);
        assert_eq!(f.regions[1].responses(), 1);
        assert_eq!(f.regions[0].responses(), 0);
        assert_eq!(f.total.hmacs, 3);
        // 250 µs at 3 significant digits.
        let p50 = f.total.latency.value_at_quantile(0.5);
        assert!((249_000..=251_000).contains(&p50), "{p50}");
        assert_eq!(f.lateness.len(), 1);
        assert!(
            (2_990..=3_010).contains(&f.lateness.max()),
            "{}",
            f.lateness.max()
        );
    }

    #[test]
    fn defects_are_counted() {
        let t0 = Instant::now();
        let rec = Recorder::new(1, t0, t0 + Duration::from_secs(10));
        let refused = decision(
            Outcome::Rejected(ErrorCode::SignatureDoesNotMatch),
            t0,
            true,
        );
        rec.record_response(0, Service::S3, t0, t0, &refused, Expectation::Allowed);
        let refused_fairly = decision(Outcome::Rejected(ErrorCode::InvalidAccessKeyId), t0, false);
        rec.record_response(
            0,
            Service::S3,
            t0,
            t0,
            &refused_fairly,
            Expectation::Allowed,
        );
        rec.record_response(
            0,
            Service::S3,
            t0,
            t0,
            &decision(Outcome::Allowed, t0, true),
            Expectation::Refused,
        );
        let mut stale = decision(Outcome::Allowed, t0, false);
        stale.stale_accept = true;
        rec.record_response(0, Service::S3, t0, t0, &stale, Expectation::Allowed);
        rec.record_shed(0, t0);
        let f = rec.finish();
        assert_eq!(f.total.unexpected_rejections, 1);
        assert_eq!(f.total.unexpected_accepts, 1);
        assert_eq!(f.total.stale_accepts, 1);
        assert_eq!(f.total.shed, 1);
        assert_eq!(f.total.count(Outcome::Allowed), 2);
        assert_eq!(f.total.cache_misses, 4);
    }

    #[test]
    fn shards_from_many_threads_merge() {
        let t0 = Instant::now();
        let rec = std::sync::Arc::new(Recorder::new(1, t0, t0 + Duration::from_secs(60)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let rec = rec.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u64 {
                        let d = decision(Outcome::Allowed, t0 + Duration::from_nanos(i + 1), true);
                        rec.record_response(0, Service::S3, t0, t0, &d, Expectation::Allowed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let f = rec.finish();
        assert_eq!(f.total.responses(), 4000);
        assert_eq!(f.total.latency.len(), 4000);
        assert_eq!(rec.take_live().responses, 4000);
        assert_eq!(rec.take_live().responses, 0);
    }

    fn spans() -> Vec<PhaseSpan> {
        ["steady", "storm: rotate_keys", "recovery"]
            .iter()
            .enumerate()
            .map(|(i, name)| PhaseSpan {
                name: name.to_string(),
                start_s: i as f64,
                end_s: i as f64 + 1.0,
            })
            .collect()
    }

    fn three_phases(t0: Instant) -> Recorder {
        Recorder::with_spec(Spec {
            regions: 2,
            window_start: t0,
            window_end: t0 + Duration::from_secs(3),
            phases: spans(),
            interval: Duration::from_millis(100),
        })
    }

    fn answer(
        rec: &Recorder,
        region: usize,
        intended: Instant,
        responded: Instant,
        outcome: Outcome,
    ) {
        rec.record_dispatch(region, intended, intended);
        let d = decision(outcome, responded, true);
        rec.record_response(
            region,
            Service::S3,
            intended,
            intended,
            &d,
            Expectation::Allowed,
        );
    }

    #[test]
    fn phases_take_requests_by_intended_start_and_throughput_by_response() {
        let t0 = Instant::now();
        let rec = three_phases(t0);
        let ms = Duration::from_millis;
        let ns = Duration::from_nanos;
        // The last nanosecond of the steady phase, answered in the storm.
        answer(
            &rec,
            0,
            t0 + ms(1000) - ns(1),
            t0 + ms(1200),
            Outcome::Allowed,
        );
        // Exactly at the storm's start: the storm's.
        answer(&rec, 1, t0 + ms(1000), t0 + ms(1000), Outcome::Allowed);
        // Exactly at the recovery's start, answered after the window.
        answer(
            &rec,
            0,
            t0 + ms(2000),
            t0 + ms(3500),
            Outcome::Rejected(ErrorCode::ServiceUnavailable),
        );
        // The window's very first instant.
        answer(&rec, 1, t0, t0 + ms(5), Outcome::DeniedImplicit);
        rec.record_shed(0, t0 + ms(2999));
        let f = rec.finish();
        let names: Vec<&str> = f.phases.iter().map(|p| p.span.name.as_str()).collect();
        assert_eq!(names, ["steady", "storm: rotate_keys", "recovery"]);
        let p = |i: usize| &f.phases[i].figures;
        assert_eq!(
            [p(0).offered, p(1).offered, p(2).offered],
            [2, 1, 2],
            "offered by intended start, shed included"
        );
        assert_eq!(
            [p(0).responses(), p(1).responses(), p(2).responses()],
            [2, 1, 1]
        );
        assert_eq!(p(2).shed, 1);
        assert_eq!(p(0).count(Outcome::DeniedImplicit), 1);
        assert_eq!(
            p(2).count(Outcome::Rejected(ErrorCode::ServiceUnavailable)),
            1
        );
        assert_eq!(
            [
                p(0).completed_in_window,
                p(1).completed_in_window,
                p(2).completed_in_window
            ],
            [1, 2, 0],
            "completed by response time; the one after the window is not"
        );
        // The storm's request took 200 ms: charged to the steady phase.
        let steady_max = p(0).latency.max();
        assert!(
            (199_000_000..=201_000_000).contains(&steady_max),
            "{steady_max}"
        );
        // The phases add up to the run.
        let offered: u64 = f.phases.iter().map(|p| p.figures.offered).sum();
        assert_eq!(offered, f.total.offered);
        let responses: u64 = f.phases.iter().map(|p| p.figures.responses()).sum();
        assert_eq!(responses, f.total.responses());
    }

    #[test]
    fn intervals_bin_by_intended_start_and_count_completions_by_response() {
        let t0 = Instant::now();
        let rec = Recorder::new(1, t0, t0 + Duration::from_millis(950));
        assert_eq!(rec.interval(), Duration::from_millis(100));
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        answer(&rec, 0, t0, t0 + us(40), Outcome::Allowed);
        answer(
            &rec,
            0,
            t0 + ms(100) - us(1),
            t0 + ms(100) + us(99),
            Outcome::Allowed,
        );
        answer(&rec, 0, t0 + ms(100), t0 + ms(130), Outcome::DeniedExplicit);
        answer(
            &rec,
            0,
            t0 + ms(940),
            t0 + ms(941),
            Outcome::Rejected(ErrorCode::SignatureDoesNotMatch),
        );
        answer(
            &rec,
            0,
            t0 + ms(945),
            t0 + ms(2000),
            Outcome::Rejected(ErrorCode::ServiceUnavailable),
        );
        let f = rec.finish();
        // 950 ms in 100 ms intervals: the last is 50 ms long.
        assert_eq!(f.intervals.len(), 10);
        let i = &f.intervals;
        assert_eq!((i[0].responses, i[0].allowed, i[0].completed), (2, 2, 1));
        assert_eq!((i[1].responses, i[1].denied, i[1].completed), (1, 1, 2));
        assert_eq!(
            (
                i[9].responses,
                i[9].refused,
                i[9].server_errors,
                i[9].completed
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(i[9].offered, 2);
        let responses: u64 = i.iter().map(|x| x.responses).sum();
        assert_eq!(responses, f.total.responses());
        let completed: u64 = i.iter().map(|x| x.completed).sum();
        assert_eq!(completed, f.total.completed_in_window);
        // Interval 0 holds 40 µs and 100 µs; interval 1 holds 30 ms.
        assert!((f.intervals[0].latency_us(1.0) - 100.0).abs() < 0.01);
        let p50 = f.intervals[0].latency_us(0.5);
        assert!((37.0..=43.0).contains(&p50), "{p50}");
        let p99 = f.intervals[1].latency_us(0.99);
        assert!((28_000.0..=30_000.0).contains(&p99), "{p99}");
        assert_eq!(f.intervals[5].responses, 0);
        assert_eq!(f.intervals[5].latency_us(0.99), 0.0);
    }

    #[test]
    fn long_windows_widen_the_interval_within_the_bounds() {
        let hour = 3_600_000_000_000;
        let (interval, count) = interval_layout(hour, 10_000_000, 64);
        let cap = MAX_SERVICE_CELLS / (64 * Service::ALL.len());
        assert_eq!(cap, 819);
        assert_eq!(
            interval % 10_000_000,
            0,
            "a whole multiple of the workload's"
        );
        assert_eq!(interval, 440 * 10_000_000);
        assert_eq!(count, 819);
        assert!(count * 64 * Service::ALL.len() <= MAX_SERVICE_CELLS);
        // A short window keeps the workload's interval.
        assert_eq!(
            interval_layout(8_000_000_000, 100_000_000, 4),
            (100_000_000, 80)
        );
        // Few regions: capped by MAX_INTERVALS.
        let (interval, count) = interval_layout(hour, 100_000_000, 1);
        assert_eq!(interval, 900_000_000);
        assert_eq!(count, 4000);
        assert!(count <= MAX_INTERVALS);
    }

    #[test]
    fn log_scale_buckets_hold_their_values() {
        for scale in [INTERVAL_SCALE, HEALTH_SCALE] {
            let mut last = 0;
            for v in (0..40).flat_map(|e| {
                let base = 1u64 << e;
                [base - 1, base, base + base / 3]
            }) {
                let i = scale.index(v);
                let (lo, hi) = scale.bounds(i);
                assert!(lo <= v && v < hi, "{v} in bucket {i} = [{lo}, {hi})");
                assert!(i < scale.buckets());
                assert!(i >= last, "monotonic");
                last = i;
            }
        }
        assert_eq!(INTERVAL_BUCKETS, 234);
        assert_eq!(HEALTH_BUCKETS, 42);
        // 1000 values 1..=1000 µs: the median's bucket is [480, 512).
        let mut counts = [0u32; INTERVAL_BUCKETS];
        for v in 1..=1000u64 {
            counts[INTERVAL_SCALE.index(v)] += 1;
        }
        assert_eq!(INTERVAL_SCALE.quantile(&counts, 0.5, 1000.0), 496.0);
        assert_eq!(INTERVAL_SCALE.quantile(&counts, 0.99, 1000.0), 992.0);
        assert_eq!(INTERVAL_SCALE.quantile(&counts, 0.999, 1000.0), 992.0);
        // Never above the largest value recorded.
        assert_eq!(INTERVAL_SCALE.quantile(&counts, 0.5, 300.0), 300.0);
        // Beyond the scale: the largest value.
        let mut far = [0u32; HEALTH_BUCKETS];
        far[HEALTH_SCALE.index(1 << 40)] = 1;
        assert_eq!(HEALTH_SCALE.quantile(&far, 0.99, 2e12), 2e12);
    }

    #[test]
    fn propagation_delays_are_a_histogram_per_region() {
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0, t0 + Duration::from_secs(10));
        let inside = t0 + Duration::from_secs(1);
        for ms in 1..=1000 {
            rec.record_propagation_at(1, f64::from(ms), inside);
        }
        rec.record_propagation_at(0, 5.0, t0 - Duration::from_millis(1));
        rec.record_propagation_at(0, f64::NAN, inside);
        // After the window (the drain): still counted.
        rec.record_propagation_at(0, 2.5, t0 + Duration::from_secs(11));
        let f = rec.finish();
        let d = &f.replication[1].delays_us;
        assert_eq!(f.replication[1].applied, 1000);
        let p50 = d.value_at_quantile(0.5);
        assert!((499_000..=501_000).contains(&p50), "{p50}");
        let p99 = d.value_at_quantile(0.99);
        assert!((989_000..=991_000).contains(&p99), "{p99}");
        assert!((999_000..=1_001_000).contains(&d.max()), "{}", d.max());
        assert_eq!(
            f.replication[0].applied, 1,
            "before the window: not counted"
        );
        assert!((2_499..=2_501).contains(&f.replication[0].delays_us.max()));
    }

    #[test]
    fn replication_samples_keep_the_largest_per_region_and_interval() {
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0, t0 + Duration::from_secs(1));
        let ms = Duration::from_millis;
        rec.sample_replication_at(0, 500, 900.0, t0 - ms(10));
        rec.sample_replication_at(0, 3, 40.0, t0 + ms(10));
        rec.sample_replication_at(1, 7, 25.0, t0 + ms(20));
        rec.sample_replication_at(0, 1, 80.0, t0 + ms(150));
        rec.sample_replication_at(1, 0, 0.0, t0 + ms(450));
        rec.sample_replication_at(1, 9, f64::INFINITY, t0 + ms(1000));
        let f = rec.finish();
        assert_eq!(f.replication[0].max_backlog, Some(3));
        assert_eq!(f.replication[0].max_lag_ms, Some(80.0));
        assert_eq!(f.replication[1].max_backlog, Some(7));
        assert_eq!(f.replication[1].max_lag_ms, Some(25.0));
        let i = &f.intervals;
        assert_eq!((i[0].backlog, i[0].lag_ms), (Some(7), Some(40.0)));
        assert_eq!((i[1].backlog, i[1].lag_ms), (Some(1), Some(80.0)));
        assert_eq!((i[2].backlog, i[2].lag_ms), (None, None));
        assert_eq!((i[4].backlog, i[4].lag_ms), (Some(0), Some(0.0)));
        // Per region: each region's own largest sample, in world order.
        assert_eq!(i[0].backlog_by_region, [Some(3), Some(7)]);
        assert_eq!(i[0].lag_ms_by_region, [Some(40.0), Some(25.0)]);
        assert_eq!(i[1].backlog_by_region, [Some(1), None]);
        assert_eq!(i[1].lag_ms_by_region, [Some(80.0), None]);
        assert_eq!(i[2].backlog_by_region, [None, None]);
        assert_eq!(i[4].backlog_by_region, [None, Some(0)]);
        assert_eq!(i[4].lag_ms_by_region, [None, Some(0.0)]);
        assert!(i.iter().all(|x| x.backlog_by_region.len() == 2));
    }

    /// Record a response of `region` intended `intended_ms` into the window,
    /// taking `latency_us`.
    fn respond(rec: &Recorder, t0: Instant, region: usize, intended_ms: u64, latency_us: u64) {
        let intended = t0 + Duration::from_millis(intended_ms);
        let d = decision(
            Outcome::Allowed,
            intended + Duration::from_micros(latency_us),
            true,
        );
        rec.record_response(
            region,
            Service::S3,
            intended,
            intended,
            &d,
            Expectation::Allowed,
        );
    }

    /// (value, count) of every bucket recorded, values as the bucket's
    /// lowest equivalent.
    fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| {
                (
                    h.lowest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                )
            })
            .collect()
    }

    #[test]
    fn the_latency_log_keeps_a_histogram_per_region_and_second() {
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0, t0 + Duration::from_millis(6500));
        // Region 1: one response per second, (s + 1) ms each, in order, so
        // the shard's four open seconds wrap around (second 4 closes 0).
        for s in 0..7u64 {
            respond(&rec, t0, 1, s * 1000 + 10, (s + 1) * 1000);
        }
        // Late answers to second 0 and 1 (older than every open second), and
        // one to second 5 (still open).
        respond(&rec, t0, 1, 20, 7_000_000);
        respond(&rec, t0, 1, 1200, 40);
        respond(&rec, t0, 1, 5999, 900);
        // Region 0: from another thread (another shard), seconds 0 and 6.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                respond(&rec, t0, 0, 0, 100);
                respond(&rec, t0, 0, 999, 100);
                respond(&rec, t0, 0, 6499, 250);
            });
        });
        respond(&rec, t0, 0, 500, 100);
        // Outside the window: not logged.
        respond(&rec, t0, 0, 6500, 5);

        let f = rec.finish();
        assert_eq!(f.log_interval, Duration::from_secs(1));
        assert_eq!(f.log.len(), 2);
        assert_eq!(f.log[0].len(), 7);
        let cell = |r: usize, s: usize| f.log[r][s].as_ref().map(buckets).unwrap_or_default();
        let at = |ns: u64| log_histogram().lowest_equivalent(ns);
        assert_eq!(cell(0, 0), [(at(100_000), 3)]);
        assert!((1..6).all(|s| f.log[0][s].is_none()));
        assert_eq!(cell(0, 6), [(at(250_000), 1)]);
        assert_eq!(cell(1, 0), [(at(1_000_000), 1), (at(7_000_000_000), 1)]);
        assert_eq!(cell(1, 1), [(at(40_000), 1), (at(2_000_000), 1)]);
        for s in 2..5 {
            assert_eq!(
                cell(1, s),
                [(at((s as u64 + 1) * 1_000_000), 1)],
                "second {s}"
            );
        }
        assert_eq!(cell(1, 5), [(at(900_000), 1), (at(6_000_000), 1)]);
        assert_eq!(cell(1, 6), [(at(7_000_000), 1)]);
        // The log holds every measured response, as the totals do.
        let logged: u64 = f.log.iter().flatten().flatten().map(Histogram::len).sum();
        assert_eq!(logged, f.total.responses());
        assert_eq!(logged, 14);
        // At 2 significant digits, within 1 % of the value.
        let h = f.log[1][0].as_ref().unwrap();
        assert_eq!(h.sigfig(), LOG_SIGNIFICANT_DIGITS);
        let max = h.max();
        assert!((7_000_000_000..=7_070_000_000).contains(&max), "{max}");
        // Finishing again gives the same log: nothing counted twice.
        let again = rec.finish();
        assert_eq!(again.log, f.log);
    }

    #[test]
    fn the_latency_log_layout_stays_within_its_bounds() {
        let second = 1_000_000_000;
        assert_eq!(log_layout(8 * second, 4), (second, 8));
        assert_eq!(log_layout(1_500_000_000, 4), (second, 2));
        assert_eq!(log_layout(1, 4), (second, 1));
        // 64 regions for an hour: 64 intervals of 57 s.
        assert_eq!(log_layout(3600 * second, 64), (57 * second, 64));
        // 4 regions for an hour: 4 s intervals.
        let (interval, count) = log_layout(3600 * second, 4);
        assert_eq!((interval, count), (4 * second, 900));
        assert!(count * 4 <= MAX_LOG_CELLS);
        // One histogram: 4608 counters of 8 bytes, 36 KiB.
        assert_eq!(log_histogram().distinct_values(), 4608);
        assert_eq!(histogram().distinct_values(), 33_792);
    }

    #[test]
    fn health_series_count_server_errors_and_p99_per_service() {
        let t0 = Instant::now();
        let rec = Recorder::new(2, t0, t0 + Duration::from_secs(1));
        let ms = Duration::from_millis;
        for i in 0..10u64 {
            let outcome = if i < 3 {
                Outcome::Rejected(ErrorCode::ServiceUnavailable)
            } else {
                Outcome::Allowed
            };
            let d = decision(outcome, t0 + ms(150) + ms(i), true);
            rec.record_response(1, Service::Sqs, t0 + ms(150), t0, &d, Expectation::Allowed);
        }
        // 200 responses in the next interval: one in a hundred is slow.
        for i in 0..200u64 {
            let latency = if i < 2 {
                ms(40)
            } else {
                Duration::from_micros(300)
            };
            let d = decision(Outcome::Allowed, t0 + ms(250) + latency, true);
            rec.record_response(1, Service::Sqs, t0 + ms(250), t0, &d, Expectation::Allowed);
        }
        let d = decision(Outcome::Allowed, t0 + ms(10), true);
        rec.record_response(0, Service::Ec2, t0, t0, &d, Expectation::Allowed);
        let f = rec.finish();
        let series: Vec<(usize, Service)> =
            f.services.iter().map(|s| (s.region, s.service)).collect();
        assert_eq!(series, [(0, Service::Ec2), (1, Service::Sqs)]);
        let sqs = &f.services[1].points;
        assert_eq!(sqs.len(), 10);
        assert_eq!((sqs[1].responses, sqs[1].server_errors), (10, 3));
        // Fewer than 100: the p99 is the largest latency, 9 ms.
        assert_eq!(sqs[1].p99_us, 9000.0);
        assert_eq!(sqs[2].responses, 200);
        // The 198th of 200 is 300 µs: the middle of its bucket [256, 384).
        assert_eq!(sqs[2].p99_us, 320.0);
        assert_eq!(sqs[0], ServicePoint::default());
    }
}
