//! The scalability probe: how a strategy's verification path scales with
//! threads, measured closed-loop so that nothing but the data plane is
//! measured.
//!
//! A rate sweep's points all run the data planes on the workload's thread
//! count, and when it varies `data_plane.workers` instead, the one load
//! generator thread shares the cores and, near saturation, sets the
//! throughput itself: neither says how the verification path scales. The
//! probe removes the generator: it signs a pool of the workload's requests
//! (its traffic mix, regions, keys and faults-free world) before measuring,
//! warms the caches, then for each thread count N runs N threads that each
//! hand pre-signed requests to [`DataPlanes::handle`] back to back for a
//! fixed time, and counts the decisions. Every request is still parsed,
//! canonicalized, verified and authorized in full; only the signing, the
//! pacing and the per-request task and histogram machinery of a run are left
//! out, so the probe's throughput per thread is higher than a run's, and it
//! is the shape of X(N), not its level, that the Universal Scalability Law
//! fit describes. Threads beyond the machine's cores share cores: those
//! points measure the machine, and the fit then says so.
//!
//! [`DataPlanes::handle`]: crate::data_plane::DataPlanes::handle

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::data_plane::{DataPlanes, Outcome};
use crate::loadgen::traffic::{Factory, Outgoing};
use crate::metrics::Expectation;
use crate::run::{mix, Plan, World};
use crate::strategy::Strategy;
use crate::workload::Workload;

/// Requests signed before the probe measures; every thread walks the whole
/// pool from its own offset.
pub const POOL: usize = 4096;

/// How long every thread count is measured, by default.
pub const DEFAULT_SECONDS: f64 = 1.0;

/// The thread counts probed by default on a machine of `cores` logical
/// cores: 1 to 4 on up to four cores (so that even a small machine gives
/// the three points a fit needs, past its cores), else doubling from 1 and
/// ending at the core count, so that no point oversubscribes the machine.
pub fn auto_threads(cores: usize) -> Vec<usize> {
    if cores <= 4 {
        return vec![1, 2, 3, 4];
    }
    let top = cores.min(MAX_THREADS);
    let mut threads: Vec<usize> = std::iter::successors(Some(1usize), |n| Some(n * 2))
        .take_while(|&n| n < top)
        .collect();
    threads.push(top);
    threads
}

/// The most threads one point may run.
pub const MAX_THREADS: usize = 256;

/// What a sweep probes: the thread counts (none: no probe) and the
/// measured seconds of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Thread counts, ascending.
    pub threads: Vec<usize>,
    /// Measured seconds per thread count.
    pub seconds: f64,
}

impl Settings {
    /// Checked settings; an error names the flag it is about.
    ///
    /// # Errors
    ///
    /// Thread counts [`check_threads`] refuses, or seconds outside 0.05 to
    /// 60 (when there are threads to probe).
    pub fn new(threads: Vec<usize>, seconds: f64) -> Result<Settings, String> {
        if !threads.is_empty() {
            check_threads(&threads).map_err(|e| format!("--usl-threads: {e}"))?;
            if !(0.05..=60.0).contains(&seconds) {
                return Err(format!(
                    "--probe-seconds: must be 0.05 to 60 seconds, not {seconds}"
                ));
            }
        }
        Ok(Settings { threads, seconds })
    }

    /// No probe.
    pub fn off() -> Settings {
        Settings {
            threads: Vec::new(),
            seconds: DEFAULT_SECONDS,
        }
    }
}

/// One thread count's measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbePoint {
    /// Threads calling the data planes at once.
    pub threads: usize,
    /// Decisions per second, all threads together.
    pub verifications_per_s: f64,
    /// Decisions made in the measured time.
    pub verifications: u64,
    /// The measured wall time, seconds.
    pub seconds: f64,
    /// Process CPU time over the measured time, seconds.
    pub cpu_s: f64,
    /// Decisions that contradicted the request's intent (a legitimate
    /// request refused although the replica's state allowed it, or a bad one
    /// allowed): a correctness defect, as in a run.
    pub unexpected: u64,
}

/// What the probe measured for one strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The points, by ascending thread count.
    pub points: Vec<ProbePoint>,
    /// Requests in the pre-signed pool.
    pub pool: usize,
    /// The logical cores of the machine.
    pub cores: usize,
    /// The measured seconds asked for each thread count (a point's own
    /// `seconds` may run a little over, while every thread notices the end).
    #[serde(default)]
    pub seconds_each: f64,
    /// Whether it was interrupted (the points so far are kept).
    #[serde(default)]
    pub interrupted: bool,
}

/// A point whose threads got less than this share of the cores they could
/// use was starved by something else on the machine.
pub const MIN_CPU_SHARE: f64 = 0.75;

impl Probe {
    /// The (threads, decisions per second) points a fit uses.
    pub fn fit_inputs(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .map(|p| (p.threads as f64, p.verifications_per_s))
            .collect()
    }

    /// Whether some point ran more threads than the machine has cores.
    pub fn oversubscribed(&self) -> bool {
        self.points.iter().any(|p| p.threads > self.cores)
    }

    /// Decisions that contradicted their intent, all points together.
    pub fn unexpected(&self) -> u64 {
        self.points.iter().map(|p| p.unexpected).sum()
    }

    /// The points whose threads did not get the CPU they could use (less
    /// than [`MIN_CPU_SHARE`] of min(threads, cores) cores busy): something
    /// else on the machine took it, so their throughput shows the
    /// neighbours as much as the threads. (threads, cores used, cores
    /// usable).
    pub fn starved(&self) -> Vec<(usize, f64, f64)> {
        self.points
            .iter()
            .filter(|p| p.seconds > 0.0)
            .map(|p| {
                (
                    p.threads,
                    p.cpu_s / p.seconds,
                    p.threads.min(self.cores.max(1)) as f64,
                )
            })
            .filter(|&(_, used, usable)| used < MIN_CPU_SHARE * usable)
            .collect()
    }
}

/// Why a strategy cannot be probed, or `None` when it can: `none` waits for
/// a simulated round trip on every request, so its closed-loop throughput
/// is the number of threads over the round trip, not what its threads can
/// verify.
pub fn unprobeable(strategy: Strategy) -> Option<&'static str> {
    (strategy == Strategy::None).then_some(
        "not probed: `none` waits for the simulated round trip to the control plane on every \
         request, so a closed loop measures the round trip, not the threads",
    )
}

/// Check a list of thread counts.
///
/// # Errors
///
/// An empty list, a zero, a count above [`MAX_THREADS`], or counts not in
/// ascending order.
pub fn check_threads(threads: &[usize]) -> Result<(), String> {
    if threads.is_empty() {
        return Err("name at least one thread count".into());
    }
    for &n in threads {
        if n == 0 || n > MAX_THREADS {
            return Err(format!("thread counts must be 1 to {MAX_THREADS}, not {n}"));
        }
    }
    if threads.windows(2).any(|w| w[0] >= w[1]) {
        return Err("thread counts must be distinct and ascending".into());
    }
    Ok(())
}

/// Probe `plan` of `workload` at each of `threads`, `seconds` each, after
/// each thread's untimed pass over the pool that fills the caches. `stop`
/// ends it early, keeping the points measured.
///
/// # Errors
///
/// The world cannot be built, a thread or runtime cannot start, or a probe
/// thread panicked.
pub fn probe(
    workload: &Workload,
    plan: Plan,
    threads: &[usize],
    seconds: f64,
    stop: &AtomicBool,
) -> Result<Probe> {
    let clock = crate::clock::SimClock::starting_at(workload.clock_start_ms());
    let world = World::build(workload, plan, clock.clone())?;
    let mut factory = Factory::with_book(
        mix(workload),
        world.book.clone(),
        workload.crypto,
        workload.seed ^ 0x5167,
    )
    .map_err(anyhow::Error::msg)?;
    let now = clock.now_ms();
    let pool: Arc<Vec<Outgoing>> = Arc::new((0..POOL).map(|_| factory.next(now)).collect());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = Probe {
        points: Vec::new(),
        pool: pool.len(),
        cores,
        seconds_each: seconds,
        interrupted: false,
    };
    for &n in threads {
        if stop.load(Ordering::Relaxed) {
            out.interrupted = true;
            break;
        }
        let point = measure(
            &world.planes,
            &pool,
            n,
            Duration::from_secs_f64(seconds),
            stop,
        )?;
        if stop.load(Ordering::Relaxed) {
            out.interrupted = true;
            break;
        }
        out.points.push(point);
    }
    Ok(out)
}

/// Run `threads` threads for `span`, each handing requests of `pool` to the
/// data planes back to back. Each thread first walks the whole pool once
/// untimed, so that caches private to a thread (the `per-thread` backend)
/// are as warm as shared ones; then all start together.
fn measure(
    planes: &Arc<DataPlanes>,
    pool: &Arc<Vec<Outgoing>>,
    threads: usize,
    span: Duration,
    stop: &AtomicBool,
) -> Result<ProbePoint> {
    let gate = Gate::default();
    let (counts, start, cpu_start) = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        for t in 0..threads {
            let planes = planes.clone();
            let pool = pool.clone();
            let gate = &gate;
            let spawned = std::thread::Builder::new()
                .name(format!("probe-{t}"))
                .spawn_scoped(scope, move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build();
                    let Ok(runtime) = runtime else {
                        gate.abort.store(true, Ordering::Release);
                        anyhow::bail!("cannot start a probe thread's runtime");
                    };
                    let offset = t * pool.len() / threads;
                    Ok(runtime.block_on(async {
                        walk(&planes, &pool, offset, None, stop).await;
                        match gate.pass() {
                            Some(deadline) => {
                                walk(&planes, &pool, offset, Some(deadline), stop).await
                            }
                            None => (0, 0),
                        }
                    }))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // The threads started see the abort and return.
                    gate.abort.store(true, Ordering::Release);
                    return Err(anyhow::Error::new(e).context("cannot start a probe thread"));
                }
            }
        }
        while gate.warmed.load(Ordering::Acquire) < threads && !gate.abort.load(Ordering::Acquire) {
            // A thread that ended before the start panicked: release the
            // others, and the join below reports it.
            if handles.iter().any(|h| h.is_finished()) {
                gate.abort.store(true, Ordering::Release);
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        let start = Instant::now();
        let cpu_start = cpu_time::ProcessTime::now();
        // One window for all: each thread stops at the same instant.
        let _ = gate.deadline.set(start + span);
        gate.go.store(true, Ordering::Release);
        let counts = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a probe thread panicked"))?
            })
            .collect::<Result<Vec<(u64, u64)>>>()?;
        Ok((counts, start, cpu_start))
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu_s = cpu_start.elapsed().as_secs_f64();
    let verifications: u64 = counts.iter().map(|c| c.0).sum();
    Ok(ProbePoint {
        threads,
        verifications_per_s: verifications as f64 / seconds,
        verifications,
        seconds,
        cpu_s,
        unexpected: counts.iter().map(|c| c.1).sum(),
    })
}

/// Where the probe threads wait for each other between the warm pass and
/// the measured one.
#[derive(Default)]
struct Gate {
    /// Threads done with the warm pass.
    warmed: AtomicUsize,
    /// Set when all are warm: measure.
    go: AtomicBool,
    /// The end of the measured window, set before `go`.
    deadline: OnceLock<Instant>,
    /// Set when some thread could not start: return at once.
    abort: AtomicBool,
}

impl Gate {
    /// Say this thread is warm and wait for the others; the end of the
    /// measured window, or `None` when the point was aborted.
    fn pass(&self) -> Option<Instant> {
        self.warmed.fetch_add(1, Ordering::AcqRel);
        loop {
            if self.go.load(Ordering::Acquire) {
                return self.deadline.get().copied();
            }
            if self.abort.load(Ordering::Acquire) {
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

/// One thread's loop: (decisions, unexpected decisions). Without a
/// deadline, every request of the pool once (the warm pass); with one, round
/// and round until it.
async fn walk(
    planes: &DataPlanes,
    pool: &[Outgoing],
    offset: usize,
    deadline: Option<Instant>,
    stop: &AtomicBool,
) -> (u64, u64) {
    let mut done = 0u64;
    let mut unexpected = 0u64;
    let mut i = offset;
    loop {
        match deadline {
            None if done as usize == pool.len() => break,
            // The clock is read every 32 decisions: a decision takes a few
            // microseconds, so the overrun is about a hundred microseconds.
            Some(d) if done.is_multiple_of(32) && Instant::now() >= d => break,
            _ => {}
        }
        if done.is_multiple_of(32) && stop.load(Ordering::Relaxed) {
            break;
        }
        let out = &pool[i % pool.len()];
        let decision = planes
            .handle(out.region, out.service, &out.raw, i as u64)
            .await;
        let allowed = decision.outcome == Outcome::Allowed;
        let unavailable =
            decision.outcome == Outcome::Rejected(crate::sigv4::ErrorCode::ServiceUnavailable);
        unexpected += u64::from(match out.intent.expectation() {
            Expectation::Allowed => !allowed && decision.state_allows && !unavailable,
            Expectation::Refused => allowed,
        });
        done += 1;
        i += 1;
    }
    (done, unexpected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_lists_are_checked() {
        assert!(check_threads(&[1, 2, 4]).is_ok());
        assert!(check_threads(&[]).unwrap_err().contains("at least one"));
        assert!(check_threads(&[0, 1]).unwrap_err().contains("not 0"));
        assert!(check_threads(&[1, 300]).unwrap_err().contains("not 300"));
        assert!(check_threads(&[2, 1]).unwrap_err().contains("ascending"));
        assert!(check_threads(&[2, 2]).unwrap_err().contains("ascending"));
    }

    fn point(threads: usize, cpu_s: f64) -> ProbePoint {
        ProbePoint {
            threads,
            verifications_per_s: 1000.0,
            verifications: 1000,
            seconds: 1.0,
            cpu_s,
            unexpected: 0,
        }
    }

    #[test]
    fn starved_points_are_those_short_of_the_cores_they_could_use() {
        let pr = Probe {
            // On 2 cores: 1 thread can use 1 core, 3 threads 2 cores.
            points: vec![point(1, 0.95), point(2, 1.2), point(3, 1.9)],
            pool: POOL,
            cores: 2,
            seconds_each: 1.0,
            interrupted: false,
        };
        assert_eq!(pr.starved(), [(2, 1.2, 2.0)]);
        assert!(pr.oversubscribed());
        assert_eq!(
            pr.fit_inputs(),
            [(1.0, 1000.0), (2.0, 1000.0), (3.0, 1000.0)]
        );
    }

    #[test]
    fn automatic_thread_counts_follow_the_cores() {
        assert_eq!(auto_threads(1), [1, 2, 3, 4]);
        assert_eq!(auto_threads(2), [1, 2, 3, 4]);
        assert_eq!(auto_threads(4), [1, 2, 3, 4]);
        assert_eq!(auto_threads(6), [1, 2, 4, 6]);
        assert_eq!(auto_threads(16), [1, 2, 4, 8, 16]);
        assert_eq!(auto_threads(48), [1, 2, 4, 8, 16, 32, 48]);
        for cores in 1..=300 {
            assert!(check_threads(&auto_threads(cores)).is_ok(), "{cores}");
        }
    }

    #[test]
    fn none_is_not_probed_and_the_others_are() {
        assert!(unprobeable(Strategy::None).is_some());
        assert!(unprobeable(Strategy::PerRegion).is_none());
        assert!(unprobeable(Strategy::PerService).is_none());
    }
}
