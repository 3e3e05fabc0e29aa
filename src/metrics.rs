//! Recording a run: HDR histograms (3 significant digits, nanoseconds) of
//! latency per region, generator lateness and service time, and counters of
//! outcomes, HMACs, cache hits and misses, control-plane calls and correctness
//! defects.
//!
//! Threads record into shards, one per thread (a thread's shard lock is never
//! contended in practice), so the hot path takes no shared lock; shards are
//! merged when the run ends. Only requests whose intended start falls in the
//! measured window count; achieved throughput counts responses that arrived
//! within it.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;
use parking_lot::{Mutex, MutexGuard};

use crate::data_plane::{CacheUse, Decision, Outcome};
use crate::schedule::PhaseSpan;
use crate::service::Service;

/// The largest latency a histogram holds: one hour, in nanoseconds. Larger
/// values are recorded as this value.
pub const MAX_RECORDED_NS: u64 = 3_600_000_000_000;

/// Shards in a recorder; threads beyond this share.
const SHARDS: usize = 16;

/// A new latency histogram: 1 ns to one hour at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, MAX_RECORDED_NS, 3)
        .unwrap_or_else(|_| unreachable!("valid bounds"))
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.clamp(1, MAX_RECORDED_NS));
}

fn nanos_between(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_nanos() as u64
}

/// Figures of one region (or of all regions, merged).
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
}

impl Default for Live {
    fn default() -> Self {
        Live {
            latency: histogram(),
            responses: 0,
            rejected: 0,
        }
    }
}

struct Shard {
    regions: Vec<RegionFigures>,
    lateness: Histogram<u64>,
    service_time: Histogram<u64>,
    live: Live,
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
}

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
    window_start: Instant,
    window_end: Instant,
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
    /// The run's phases, in seconds from `window_start`.
    pub phases: Vec<PhaseSpan>,
    /// Length of one time-series interval.
    pub interval: Duration,
}

impl Recorder {
    /// A recorder for `spec`.
    pub fn with_spec(spec: Spec) -> Recorder {
        Recorder::new(spec.regions, spec.window_start, spec.window_end)
    }

    /// The replicas of `region` applied a change-log entry `delay_ms` after
    /// the control plane wrote it (simulated milliseconds).
    pub fn record_propagation(&self, region: usize, delay_ms: f64) {
        let _ = (region, delay_ms);
    }

    /// A periodic sample of `region`'s replication: entries the control plane
    /// has written that its slowest AZ replica has not applied.
    pub fn sample_replication(&self, region: usize, backlog: u64) {
        let _ = (region, backlog);
    }

    /// A recorder for `regions` regions measuring requests intended in
    /// `[window_start, window_end)`.
    pub fn new(regions: usize, window_start: Instant, window_end: Instant) -> Recorder {
        let shards = (0..SHARDS)
            .map(|_| {
                CachePadded::new(Mutex::new(Shard {
                    regions: vec![RegionFigures::default(); regions],
                    lateness: histogram(),
                    service_time: histogram(),
                    live: Live::default(),
                }))
            })
            .collect();
        Recorder {
            shards,
            window_start,
            window_end,
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

    /// The generator sent a request intended at `intended` at `actual`.
    pub fn record_dispatch(&self, region: usize, intended: Instant, actual: Instant) {
        if !self.in_window(intended) {
            return;
        }
        let mut shard = self.shard();
        record(&mut shard.lateness, nanos_between(intended, actual));
        shard.regions[region].offered += 1;
    }

    /// The generator shed a request intended at `intended`.
    pub fn record_shed(&self, region: usize, intended: Instant) {
        if !self.in_window(intended) {
            return;
        }
        let mut shard = self.shard();
        shard.regions[region].offered += 1;
        shard.regions[region].shed += 1;
    }

    /// A request of `region`, intended at `intended` and started at `started`,
    /// got `decision`.
    pub fn record_response(
        &self,
        region: usize,
        service: Service,
        intended: Instant,
        started: Instant,
        decision: &Decision,
        expected: Expectation,
    ) {
        let _ = service;
        let latency = nanos_between(intended, decision.responded);
        let in_window = self.in_window(intended);
        let completed_in_window =
            decision.responded >= self.window_start && decision.responded < self.window_end;
        let refused = matches!(decision.outcome, Outcome::Rejected(_) | Outcome::BadRequest);

        let mut shard = self.shard();
        record(&mut shard.live.latency, latency);
        shard.live.responses += 1;
        shard.live.rejected += u64::from(refused);
        if in_window {
            record(
                &mut shard.service_time,
                nanos_between(started, decision.responded),
            );
        }
        let figures = &mut shard.regions[region];
        figures.completed_in_window += u64::from(completed_in_window);
        if !in_window {
            return;
        }
        record(&mut figures.latency, latency);
        figures.outcomes[decision.outcome.index()] += 1;
        figures.hmacs += u64::from(decision.hmacs);
        figures.cache_hits += u64::from(decision.cache == CacheUse::Hit);
        figures.cache_misses += u64::from(decision.cache == CacheUse::Miss);
        figures.control_plane_calls += u64::from(decision.control_plane_call);
        figures.stale_accepts += u64::from(decision.stale_accept);
        let allowed = decision.outcome == Outcome::Allowed;
        if expected == Expectation::Allowed && !allowed && decision.state_allows {
            figures.unexpected_rejections += 1;
        }
        if expected == Expectation::Refused && allowed {
            figures.unexpected_accepts += 1;
        }
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
            shard.live = Live::default();
        }
        live
    }

    /// Merge every shard.
    pub fn finish(&self) -> Figures {
        let regions = self.shards[0].lock().regions.len();
        let mut figures = Figures {
            regions: vec![RegionFigures::default(); regions],
            total: RegionFigures::default(),
            lateness: histogram(),
            service_time: histogram(),
        };
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (mine, theirs) in figures.regions.iter_mut().zip(&shard.regions) {
                mine.merge(theirs);
            }
            let _ = figures.lateness.add(&shard.lateness);
            let _ = figures.service_time.add(&shard.service_time);
        }
        for r in &figures.regions {
            figures.total.merge(r);
        }
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::ErrorCode;

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
}
