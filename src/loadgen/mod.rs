//! The open-loop load generator: a dedicated thread that computes each
//! request's *intended start* from the arrival process (constant rate or
//! Poisson), signs the request ahead of time, waits precisely until the
//! intended start and hands it to the data planes; it never waits for a
//! response, so a slow data plane cannot slow the offered load (no coordinated
//! omission). Latency counts from the intended start; the generator's lateness
//! (actual start minus intended start) is recorded beside it.
//!
//! Waiting: the tokio timer's millisecond resolution is far too coarse for
//! microsecond services, and even `nanosleep` on a virtual machine wakes tens
//! of microseconds late, so the [`Pacer`] sleeps until shortly before the
//! intended start and spins (yielding the core) for the rest. How much it
//! spins adapts to the oversleep it observes.
//!
//! A bound on requests in flight sheds excess requests; each shed request is
//! counted (and charged against achieved throughput), never silently dropped.

pub mod traffic;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};

use crate::clock::SimClock;
use crate::data_plane::DataPlanes;
use crate::metrics::Recorder;
use crate::workload::Arrival;
use traffic::{Factory, Outgoing};

/// Intended start times of an open-loop arrival process.
pub struct Schedule {
    next: Instant,
    mean_gap_s: f64,
    exp: Option<Exp<f64>>,
    rng: StdRng,
}

impl Schedule {
    /// Arrivals at `rate_per_sec`, the first at `start`.
    pub fn new(start: Instant, rate_per_sec: f64, arrival: Arrival, seed: u64) -> Schedule {
        let exp = match arrival {
            Arrival::Poisson => Exp::new(rate_per_sec).ok(),
            Arrival::Constant => None,
        };
        Schedule {
            next: start,
            mean_gap_s: 1.0 / rate_per_sec,
            exp,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next intended start.
    pub fn next_start(&mut self) -> Instant {
        let now = self.next;
        let gap = match &self.exp {
            Some(exp) => exp.sample(&mut self.rng),
            None => self.mean_gap_s,
        };
        self.next += Duration::from_secs_f64(gap);
        now
    }
}

/// Waits until an instant with microsecond precision: sleeps until a margin
/// before it, then busy-spins. The margin tracks the sleep's oversleep (mean
/// plus two mean deviations, at most 150 µs), so most wake-ups land inside it
/// while the spinning stays a small share of a core.
///
/// The spin does not yield: yielding hands the core to a runnable data-plane
/// thread for a whole scheduler slice, which made the generator milliseconds
/// late. The spinning is counted and reported in the CPU split.
pub struct Pacer {
    margin: Duration,
    mean_ns: f64,
    dev_ns: f64,
    /// Time spent spinning, for the CPU report.
    pub spun: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    const MIN_MARGIN: Duration = Duration::from_micros(20);
    const MAX_MARGIN: Duration = Duration::from_micros(150);

    /// A pacer; on Linux it also asks the kernel for the finest timer slack
    /// for the calling thread.
    pub fn new() -> Pacer {
        #[cfg(target_os = "linux")]
        {
            // Best effort: without it sleeps wake up to 50 µs later.
            let _ = nix::sys::prctl::set_timerslack(1);
        }
        Pacer {
            margin: Duration::from_micros(200),
            mean_ns: 50_000.0,
            dev_ns: 25_000.0,
            spun: Duration::ZERO,
        }
    }

    /// Return at `target` (or at once if it has passed).
    pub fn wait_until(&mut self, target: Instant) {
        let now = Instant::now();
        if target <= now {
            return;
        }
        if target - now > self.margin {
            let wake = target - self.margin;
            std::thread::sleep(wake - now);
            self.observe(Instant::now().saturating_duration_since(wake));
        }
        let spin_start = Instant::now();
        while Instant::now() < target {
            std::hint::spin_loop();
        }
        self.spun += spin_start.elapsed();
    }

    fn observe(&mut self, oversleep: Duration) {
        let x = oversleep.as_nanos() as f64;
        self.mean_ns = 0.95 * self.mean_ns + 0.05 * x;
        self.dev_ns = 0.95 * self.dev_ns + 0.05 * (x - self.mean_ns).abs();
        let margin = Duration::from_nanos((self.mean_ns + 2.0 * self.dev_ns) as u64);
        self.margin = margin.clamp(Self::MIN_MARGIN, Self::MAX_MARGIN);
    }
}

/// Everything the generator thread needs to send requests.
pub struct Dispatch {
    /// The runtime the data planes run on.
    pub runtime: tokio::runtime::Handle,
    /// The data planes.
    pub planes: Arc<DataPlanes>,
    /// Where figures go.
    pub recorder: Arc<Recorder>,
    /// Requests sent and not yet answered, per region.
    pub in_flight: Arc<Vec<AtomicUsize>>,
    /// The bound on requests in flight (all regions).
    pub max_in_flight: usize,
    /// Requests sent and not yet answered, all regions.
    pub total_in_flight: Arc<AtomicUsize>,
}

impl Dispatch {
    fn send(&self, out: Outgoing, intended: Instant, seq: u64) -> bool {
        if self.total_in_flight.load(Ordering::Acquire) >= self.max_in_flight {
            self.recorder.record_shed(out.region, intended);
            return false;
        }
        let actual = Instant::now();
        self.recorder.record_dispatch(out.region, intended, actual);
        self.total_in_flight.fetch_add(1, Ordering::AcqRel);
        self.in_flight[out.region].fetch_add(1, Ordering::AcqRel);
        let planes = self.planes.clone();
        let recorder = self.recorder.clone();
        let in_flight = self.in_flight.clone();
        let total = self.total_in_flight.clone();
        self.runtime.spawn(async move {
            let decision = planes.handle(out.region, out.service, &out.raw, seq).await;
            recorder.record_response(
                out.region,
                out.service,
                intended,
                actual,
                &decision,
                out.intent.expectation(),
            );
            in_flight[out.region].fetch_sub(1, Ordering::AcqRel);
            total.fetch_sub(1, Ordering::AcqRel);
        });
        true
    }
}

/// What the generator thread did.
#[derive(Clone, Debug, Default)]
pub struct GeneratorReport {
    /// Requests sent.
    pub sent: u64,
    /// Requests shed.
    pub shed: u64,
    /// CPU time the generator thread used, seconds.
    pub cpu_s: f64,
    /// Part of its wall time spent spinning before intended starts, seconds.
    pub spin_s: f64,
    /// Whether it stopped early because of an interrupt.
    pub interrupted: bool,
}

/// Live counters the progress line reads.
#[derive(Debug, Default)]
pub struct GeneratorProgress {
    /// Requests sent or shed so far.
    pub offered: AtomicU64,
}

/// Requests signed ahead of their intended start, at most.
const LOOKAHEAD: usize = 256;

/// Signing ahead stops when the next start is this close.
const TOP_UP_SLACK: Duration = Duration::from_micros(60);

/// Run the generator on the calling thread until `end` (intended starts at
/// or after it are not sent) or until `stop` is set.
#[allow(clippy::too_many_arguments)]
pub fn drive(
    mut schedule: Schedule,
    mut factory: Factory,
    dispatch: &Dispatch,
    clock: &SimClock,
    end: Instant,
    stop: &AtomicBool,
    progress: &GeneratorProgress,
) -> GeneratorReport {
    let cpu_start = cpu_time::ThreadTime::now();
    let mut pacer = Pacer::new();
    let mut report = GeneratorReport::default();
    let mut ahead: VecDeque<(Instant, Outgoing)> = VecDeque::with_capacity(LOOKAHEAD);
    let mut exhausted = false;
    let mut seq = 0u64;
    loop {
        // Sign ahead, with the simulated clock at each request's intended
        // start, while the next start is far enough away: signing never
        // delays a start that is due.
        while !exhausted && ahead.len() < LOOKAHEAD {
            let due_soon = ahead
                .front()
                .is_some_and(|(t, _)| t.saturating_duration_since(Instant::now()) < TOP_UP_SLACK);
            if due_soon {
                break;
            }
            let intended = schedule.next_start();
            if intended >= end {
                exhausted = true;
                break;
            }
            ahead.push_back((intended, factory.next(clock.at_instant_ms(intended))));
        }
        let Some((intended, out)) = ahead.pop_front() else {
            break;
        };
        if stop.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        pacer.wait_until(intended);
        seq += 1;
        if dispatch.send(out, intended, seq) {
            report.sent += 1;
        } else {
            report.shed += 1;
        }
        progress.offered.fetch_add(1, Ordering::Relaxed);
    }
    report.cpu_s = cpu_start.elapsed().as_secs_f64();
    report.spin_s = pacer.spun.as_secs_f64();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_schedule_is_evenly_spaced() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 1000.0, Arrival::Constant, 1);
        let starts: Vec<Instant> = (0..5).map(|_| s.next_start()).collect();
        assert_eq!(starts[0], t0);
        for w in starts.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(1));
        }
    }

    #[test]
    fn poisson_schedule_has_the_asked_mean_rate() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, 5000.0, Arrival::Poisson, 7);
        let n = 50_000;
        let mut last = t0;
        for _ in 0..n {
            last = s.next_start();
        }
        let rate = n as f64 / (last - t0).as_secs_f64();
        assert!((rate / 5000.0 - 1.0).abs() < 0.02, "{rate}");
    }
}
