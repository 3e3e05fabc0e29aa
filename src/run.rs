//! Running a workload: for each strategy, build the world afresh from the
//! same seed (control plane, regions, AZ replicas), bootstrap the users and
//! keys, start the data planes on a tokio runtime, drive the open-loop
//! generator on its own thread, drain, and summarize. After every strategy the
//! summary is rewritten atomically, so an interrupted run keeps what it
//! measured.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::cache::CacheBackend;
use crate::clock::{format_rfc3339_ms, SimClock};
use crate::control_plane::{self, ControlPlane, IssuedKey};
use crate::data_plane::{DataPlanes, Sizing};
use crate::health::{self, HealthEvent};
use crate::hiccup::Hiccups;
use crate::hlog;
use crate::identity::UserId;
use crate::loadgen::traffic::{user_policy, ClientBook, Factory, Mix};
use crate::loadgen::{drive, Dispatch, GeneratorProgress, Schedule};
use crate::metrics::{Recorder, Spec};
use crate::progress::Progress;
use crate::replication::{run_applier, Applier, ApplySchedule, DelayModel};
use crate::sigv4::crypto::Backend;
use crate::storm::{push_for, Driver};
use crate::strategy::Strategy;
use crate::summary::{
    write_atomically, ControlPlaneActivity, CpuSplit, Environment, RunSummary, Summary,
};
use crate::workload::Workload;

/// Command-line choices that override the workload.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Strategies to run instead of the workload's.
    pub strategies: Option<Vec<Strategy>>,
    /// Measured seconds per strategy.
    pub duration_s: Option<f64>,
    /// Offered requests per second.
    pub rate_per_sec: Option<f64>,
    /// Seed.
    pub seed: Option<u64>,
    /// Crypto backend.
    pub crypto: Option<Backend>,
    /// Cache backends of the cached strategies.
    pub cache_backends: Option<Vec<CacheBackend>>,
    /// A few seconds per strategy, for CI.
    pub quick: bool,
}

impl Overrides {
    /// Apply the overrides to `workload`.
    ///
    /// # Errors
    ///
    /// An override value out of range.
    pub fn apply(&self, workload: &mut Workload) -> Result<()> {
        if let Some(s) = &self.strategies {
            if s.is_empty() {
                bail!("--strategies needs at least one strategy");
            }
            workload.strategies = Some(s.clone());
        }
        if self.quick {
            workload.run.duration_s = 3.0;
            workload.run.warmup_s = workload.run.warmup_s.min(1.0);
            workload.run.drain_timeout_s = workload.run.drain_timeout_s.min(5.0);
        }
        if let Some(d) = self.duration_s {
            if !(0.1..=3600.0).contains(&d) {
                bail!("--duration must be 0.1 to 3600 seconds, not {d}");
            }
            workload.run.duration_s = d;
        }
        if self.quick || self.duration_s.is_some() {
            let d = workload.run.duration_s;
            for (i, e) in workload.schedule.iter().enumerate() {
                if e.at_s() >= d {
                    eprintln!(
                        "sigstorm: note: schedule[{i}] ({} at {} s) falls after the measured {d} s \
                         and will not happen",
                        e.kind(),
                        e.at_s()
                    );
                } else if e.window_s(f64::INFINITY).is_finite()
                    && e.window_s(f64::INFINITY) + e.at_s() > d
                {
                    eprintln!(
                        "sigstorm: note: schedule[{i}] ({} at {} s) is cut short by the end of \
                         measurement at {d} s",
                        e.kind(),
                        e.at_s()
                    );
                }
            }
        }
        if let Some(r) = self.rate_per_sec {
            if !(r > 0.0 && r <= 10_000_000.0) {
                bail!(
                    "--rate must be more than 0 and at most 10000000 requests per second, not {r}"
                );
            }
            workload.load.rate_per_sec = r;
        }
        if let Some(seed) = self.seed {
            workload.seed = seed;
        }
        if let Some(c) = self.crypto {
            workload.crypto = c;
        }
        if let Some(b) = &self.cache_backends {
            if b.is_empty() {
                bail!("--cache-backends needs at least one backend");
            }
            workload.data_plane.cache_backends = b.clone();
        }
        Ok(())
    }
}

/// Where and how to report.
#[derive(Clone, Debug)]
pub struct Output {
    /// The folder run folders are created in (`results/`), unless `dir` is set.
    pub results_root: PathBuf,
    /// An explicit folder for this run.
    pub dir: Option<PathBuf>,
    /// No progress line.
    pub quiet: bool,
}

/// The result of running a workload.
pub struct Completed {
    /// The summary, as written.
    pub summary: Summary,
    /// The folder holding `summary.json`.
    pub dir: PathBuf,
    /// The health events of every run, as written to `events.json`.
    pub events: Vec<HealthEvent>,
}

/// Run `workload` once per strategy and write `summary.json` and
/// `events.json` (the health events detected so far); `stop` ends the run
/// early (an interrupt), keeping what was measured.
///
/// # Errors
///
/// Setup problems only (a folder that cannot be written, a world that cannot
/// be built); failed requests are measurements, not errors.
pub fn run_workload(workload: &Workload, output: &Output, stop: &AtomicBool) -> Result<Completed> {
    let started_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let run_id = run_id(&workload.name, started_ms);
    let dir = match &output.dir {
        Some(d) => d.clone(),
        None => unique_dir(&output.results_root, &run_id),
    };
    if dir.join("summary.json").exists() {
        bail!(
            "{} already holds a summary.json; choose another --out folder or remove it",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the results folder {}", dir.display()))?;
    let mut summary = Summary {
        sigstorm_version: format!("sigstorm {}", env!("CARGO_PKG_VERSION")),
        run_id: dir
            .file_name()
            .map_or(run_id.clone(), |n| n.to_string_lossy().into_owned()),
        workload: Workload {
            strategies: Some(workload.strategies()),
            ..workload.clone()
        },
        seed: workload.seed,
        environment: Environment::detect(),
        started_at: format_rfc3339_ms(started_ms),
        complete: false,
        runs: Vec::new(),
    };
    let path = dir.join(crate::rundir::SUMMARY_FILE);
    let events_path = dir.join("events.json");
    let hlog_path = dir.join(crate::rundir::HISTOGRAMS_FILE);
    let save_histograms = |runs: &[RunSummary]| {
        let histograms = runs.iter().flat_map(|r| &r.histograms);
        hlog::write(&hlog_path, started_ms as f64 / 1000.0, histograms)
            .with_context(|| format!("cannot write {}", hlog_path.display()))
    };
    let mut events: Vec<HealthEvent> = Vec::new();
    let save_events = |events: &[HealthEvent]| {
        health::write_events(&events_path, events)
            .with_context(|| format!("cannot write {}", events_path.display()))
    };
    let plans = plans(workload);
    for (i, plan) in plans.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let progress = Progress::new(output.quiet, &plan.label(workload), i + 1, plans.len());
        // The run starts its simulated clock at the workload's start first
        // thing; from that, the simulated time measurement started at.
        let clock_start_ms = workload.clock_start_ms();
        let begun = Instant::now();
        let run = run_strategy(workload, *plan, &progress, stop)?;
        let origin_ms = health::window_origin_ms(clock_start_ms, begun, run.window_start);
        events.extend(health::detect_run(&run, &workload.health, origin_ms));
        summary.runs.push(run);
        summary.complete =
            summary.runs.len() == plans.len() && !summary.runs.iter().any(|r| r.interrupted);
        save(&path, &summary)?;
        save_histograms(&summary.runs)?;
        save_events(&events)?;
    }
    save(&path, &summary)?;
    save_histograms(&summary.runs)?;
    save_events(&events)?;
    Ok(Completed {
        summary,
        dir,
        events,
    })
}

/// One strategy run of a workload: the strategy, and the cache backend when
/// the strategy keeps a cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The strategy.
    pub strategy: Strategy,
    /// The signing-key cache's backend, for the cached strategies.
    pub cache_backend: Option<CacheBackend>,
}

impl Plan {
    /// The name in tables: the strategy, followed by the backend when the
    /// workload compares several or uses another than `moka`.
    pub fn label(&self, workload: &Workload) -> String {
        label(
            self.strategy,
            self.cache_backend,
            &workload.data_plane.cache_backends,
        )
    }
}

/// A run's name in tables; see [`Plan::label`].
pub fn label(
    strategy: Strategy,
    backend: Option<CacheBackend>,
    backends: &[CacheBackend],
) -> String {
    match backend {
        Some(b) if backends != [CacheBackend::Moka] => format!("{strategy}/{b}"),
        _ => strategy.to_string(),
    }
}

/// The runs of `workload`, in order: each strategy, the cached ones once per
/// cache backend.
pub fn plans(workload: &Workload) -> Vec<Plan> {
    let mut plans = Vec::new();
    for strategy in workload.strategies() {
        if strategy.uses_cache() {
            plans.extend(workload.data_plane.cache_backends.iter().map(|b| Plan {
                strategy,
                cache_backend: Some(*b),
            }));
        } else {
            plans.push(Plan {
                strategy,
                cache_backend: None,
            });
        }
    }
    plans
}

fn save(path: &Path, summary: &Summary) -> Result<()> {
    let json = serde_json::to_vec_pretty(summary).context("cannot serialize the summary")?;
    write_atomically(path, &json).with_context(|| format!("cannot write {}", path.display()))
}

/// Build the world of `workload`, run `plan` on it, and summarize.
///
/// # Errors
///
/// When the world cannot be built.
pub fn run_strategy(
    workload: &Workload,
    plan: Plan,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<RunSummary> {
    let clock = SimClock::starting_at(workload.clock_start_ms());
    let world = World::build(workload, plan, clock.clone())?;
    let regions: Vec<(String, f64)> = workload
        .regions
        .iter()
        .map(|r| (r.name.clone(), workload.rtt_ms(r)))
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workload.data_plane.workers)
        .thread_name("data-plane")
        .enable_time()
        .build()
        .context("cannot start the data-plane runtime")?;
    let cpu_start = cpu_time::ProcessTime::now();
    let wall_start = Instant::now();
    let start = wall_start + Duration::from_millis(50);
    let warmup = Duration::from_secs_f64(workload.run.warmup_s);
    let window = Duration::from_secs_f64(workload.run.duration_s);
    // The simulated clock started when the world was built, so measurement
    // starts a little later than the workload's clock start plus warm-up;
    // the midnight roll and the push are placed on the clock itself.
    let window_start_unix_ms = clock.at_instant_ms(start + warmup);
    let midnight = midnight_after(window_start_unix_ms, workload.run.duration_s);
    let phases = crate::schedule::phases(&workload.schedule, midnight, workload.run.duration_s);
    let recorder = Arc::new(Recorder::with_spec(Spec {
        regions: regions.len(),
        window_start: start + warmup,
        window_end: start + warmup + window,
        phases: phases.clone(),
        interval: Duration::from_secs_f64(workload.run.interval_ms / 1000.0),
    }));
    world.start_replication(&runtime, workload, &clock, &recorder);
    let dispatch = Dispatch {
        runtime: runtime.handle().clone(),
        planes: world.planes.clone(),
        recorder: recorder.clone(),
        in_flight: Arc::new((0..regions.len()).map(|_| AtomicUsize::new(0)).collect()),
        max_in_flight: workload.load.max_in_flight,
        total_in_flight: Arc::new(AtomicUsize::new(0)),
    };
    let schedule = Schedule::new(
        start,
        workload.load.rate_per_sec,
        workload.load.arrival,
        workload.seed,
    );
    let factory = Factory::with_book(
        mix(workload),
        world.book.clone(),
        workload.crypto,
        workload.seed ^ 0x5167,
    )
    .map_err(anyhow::Error::msg)?;
    let mut driver = Driver::new(
        &workload.schedule,
        world.planes.clone(),
        world.book.clone(),
        &workload.principals.account_id,
        push_for(
            midnight,
            workload.control_plane.push_ahead_s,
            workload.run.warmup_s,
            window_start_unix_ms,
        ),
    );
    let generator_progress = GeneratorProgress::default();

    let end = start + warmup + window;
    let (report, hiccups) = std::thread::scope(|scope| {
        let generator = std::thread::Builder::new()
            .name("generator".into())
            .spawn_scoped(scope, || {
                drive(
                    schedule,
                    factory,
                    &dispatch,
                    &clock,
                    end,
                    stop,
                    &generator_progress,
                )
            })
            .context("cannot start the generator thread")?;
        let storms = std::thread::Builder::new()
            .name("storms".into())
            .spawn_scoped(scope, || driver.run(start + warmup, end, stop))
            .context("cannot start the schedule thread")?;
        let hiccups = std::thread::Builder::new()
            .name("hiccup-meter".into())
            .spawn_scoped(scope, || Hiccups::measure(start + warmup, end, stop))
            .context("cannot start the hiccup meter thread")?;
        let sample_every = Duration::from_secs_f64(workload.run.interval_ms / 1000.0)
            .min(Duration::from_millis(100));
        while !generator.is_finished() {
            std::thread::sleep(sample_every);
            world.sample_replication(&recorder);
            progress.tick(&recorder, start, warmup, window, &phases);
        }
        let report = generator
            .join()
            .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?;
        storms
            .join()
            .map_err(|_| anyhow::anyhow!("the schedule thread panicked"))?;
        let hiccups = hiccups
            .join()
            .map_err(|_| anyhow::anyhow!("the hiccup meter thread panicked"))?;
        Ok::<_, anyhow::Error>((report, hiccups))
    })?;

    // Drain: wait for answers to requests still in flight, up to the timeout.
    let drain_deadline = Instant::now() + Duration::from_secs_f64(workload.run.drain_timeout_s);
    while dispatch.total_in_flight.load(Ordering::Acquire) > 0 && Instant::now() < drain_deadline {
        std::thread::sleep(Duration::from_millis(5));
        progress.tick(&recorder, start, warmup, window, &phases);
    }
    for (region, count) in dispatch.in_flight.iter().enumerate() {
        recorder.record_unfinished(region, count.load(Ordering::Acquire) as u64);
    }
    let cpu_total = cpu_start.elapsed().as_secs_f64();
    let wall_s = wall_start.elapsed().as_secs_f64();
    // A fault that outlasts the run stays in force through the drain: a
    // region paused past the end leaves its requests unfinished (counted
    // above), and they are dropped with the runtime, never answered late.
    runtime.shutdown_timeout(Duration::from_millis(500));
    driver.heal();
    let actions = driver.into_log();
    progress.finish();

    let figures = recorder.finish();
    let measured_s = if report.interrupted {
        Instant::now()
            .min(end)
            .saturating_duration_since(start + warmup)
            .as_secs_f64()
            .min(window.as_secs_f64())
    } else {
        window.as_secs_f64()
    };
    let cpu = CpuSplit {
        wall_s,
        generator_s: report.cpu_s,
        generator_spin_s: report.spin_s,
        data_plane_s: (cpu_total - report.cpu_s).max(0.0),
        data_plane_threads: workload.data_plane.workers,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let (api_calls, api_errors) = world.planes.control_plane().api_stats();
    let mut summary = RunSummary::new(
        plan.strategy,
        plan.cache_backend,
        &plan.label(workload),
        workload.crypto.name(),
        &figures,
        &regions,
        measured_s,
        &report,
        cpu,
    );
    summary.set_hiccups(hiccups.histogram());
    summary.control_plane = ControlPlaneActivity {
        api_calls,
        api_errors,
        actions,
    };
    Ok(summary)
}

/// The world of one strategy run: control plane, data planes, and the key
/// pairs the clients were given.
pub struct World {
    /// The data planes (which hold the control plane).
    pub planes: Arc<DataPlanes>,
    /// The clients' key pairs, in creation order.
    pub clients: Vec<IssuedKey>,
    /// The clients the generator signs for, as storms change them.
    pub book: Arc<ClientBook>,
}

impl World {
    /// Build the world of `workload` and bootstrap its users, keys and
    /// policies; every region starts from the control plane's snapshot.
    ///
    /// # Errors
    ///
    /// When a control-plane write fails (a bug in the workload's sizing).
    pub fn build(workload: &Workload, plan: Plan, clock: SimClock) -> Result<World> {
        let cp = Arc::new(ControlPlane::new(
            control_plane::Settings {
                home_region: workload.control_plane.home_region.clone(),
                regions: workload.regions.iter().map(|r| r.name.clone()).collect(),
                account_id: workload.principals.account_id.clone(),
                backend: workload.crypto,
                workers: workload.control_plane.workers,
                service_time: Duration::from_secs_f64(
                    workload.control_plane.service_time_ms / 1000.0,
                ),
                max_queue: workload.control_plane.max_queue,
                push_ahead_s: workload.control_plane.push_ahead_s,
                seed: workload.seed,
            },
            clock.clone(),
        ));
        let policy = user_policy(&workload.principals.account_id);
        let mut users: Vec<UserId> = Vec::with_capacity(workload.principals.users);
        for i in 0..workload.principals.users {
            let user = cp.create_user(&format!("user-{i:06}"))?;
            users.push(user);
        }
        cp.put_user_policy_bulk(&users, "sigstorm-default", &policy)?;
        let clients = cp.create_access_keys_bulk(&users, workload.principals.keys_per_user)?;
        let regions: Vec<(String, Duration)> = workload
            .regions
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    Duration::from_secs_f64(workload.rtt_ms(r) / 1000.0),
                )
            })
            .collect();
        let sizing = Sizing {
            azs: workload.data_plane.azs,
            az_concurrency: workload.data_plane.az_concurrency,
            cache_capacity: workload.data_plane.cache_capacity,
            cache_backend: plan.cache_backend.unwrap_or_default(),
        };
        let planes = Arc::new(DataPlanes::new(
            &regions,
            &sizing,
            plan.strategy,
            workload.crypto,
            clock,
            cp,
        ));
        let book = Arc::new(ClientBook::new(clients.clone()));
        Ok(World {
            planes,
            clients,
            book,
        })
    }

    /// Record each region's replication backlog (entries the control plane
    /// has written that the region's slowest AZ replica has not applied) and
    /// applied-version lag (the age, in simulated milliseconds, of the oldest
    /// of them; 0 when there are none).
    pub fn sample_replication(&self, recorder: &Recorder) {
        let log = self.planes.control_plane().log();
        let head = log.head();
        let now_ms = self.planes.clock().now_ms();
        for (r, region) in self.planes.regions.iter().enumerate() {
            let slowest = region
                .azs
                .iter()
                .map(|az| az.replica.applied_version())
                .min()
                .unwrap_or(head);
            let backlog = head.saturating_sub(slowest);
            let lag_ms = if backlog == 0 {
                0.0
            } else {
                log.get(slowest + 1)
                    .map_or(0.0, |oldest| (now_ms - oldest.committed_ms).max(0) as f64)
            };
            recorder.sample_replication(r, backlog, lag_ms);
        }
    }

    /// Start one replication applier per AZ replica on `runtime`.
    pub fn start_replication(
        &self,
        runtime: &tokio::runtime::Runtime,
        workload: &Workload,
        clock: &SimClock,
        recorder: &Arc<Recorder>,
    ) {
        let log = self.planes.control_plane().log();
        let rep = &workload.replication;
        for (r, region) in self.planes.regions.iter().enumerate() {
            for (a, az) in region.azs.iter().enumerate() {
                let schedule = ApplySchedule::new(
                    DelayModel::lognormal(rep.delay_median_ms, rep.delay_p99_ms),
                    rep.apply_rate_per_sec,
                    workload.seed ^ ((r as u64) << 8 | a as u64),
                );
                let applier = Applier::new(log.clone(), az.replica.clone(), schedule);
                let recorder = recorder.clone();
                runtime.spawn(run_applier(
                    applier,
                    region.gate.clone(),
                    clock.clone(),
                    move |delay_ms| recorder.record_propagation(r, delay_ms),
                ));
            }
        }
    }
}

/// The traffic mix of `workload`.
pub fn mix(workload: &Workload) -> Mix {
    let t = &workload.traffic;
    Mix {
        region_weights: workload.regions.iter().map(|r| r.weight).collect(),
        region_names: workload.regions.iter().map(|r| r.name.clone()).collect(),
        services: workload.services.iter().map(|(s, w)| (*s, *w)).collect(),
        presigned_share: t.presigned_share,
        wrong_secret: t.wrong_secret_share,
        unknown_key: t.unknown_key_share,
        skewed_clock: t.skewed_clock_share,
        policy_denied: t.policy_denied_share,
        zipf_exponent: workload.principals.zipf_exponent,
        account_id: workload.principals.account_id.clone(),
    }
}

/// Seconds from the start of measurement to the first UTC midnight after the
/// simulated clock's start, when the run crosses one.
pub fn midnight_s(workload: &Workload) -> Option<f64> {
    let start_ms = workload.clock_start_ms() + (workload.run.warmup_s * 1000.0) as i64;
    midnight_after(start_ms, workload.run.duration_s)
}

/// Seconds from `window_start_unix_ms` (simulated) to the next UTC midnight,
/// when it falls within `duration_s`.
pub fn midnight_after(window_start_unix_ms: i64, duration_s: f64) -> Option<f64> {
    let next_midnight_ms = (window_start_unix_ms.div_euclid(86_400_000) + 1) * 86_400_000;
    let s = (next_midnight_ms - window_start_unix_ms) as f64 / 1000.0;
    (s < duration_s).then_some(s)
}

pub(crate) fn run_id(name: &str, unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}-{name}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn unique_dir(root: &Path, run_id: &str) -> PathBuf {
    let mut dir = root.join(run_id);
    let mut n = 2;
    while dir.exists() {
        dir = root.join(format!("{run_id}-{n}"));
        n += 1;
    }
    dir
}
