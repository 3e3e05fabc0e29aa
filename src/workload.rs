//! Workloads: the TOML files that say what world to build and what traffic to
//! offer it. Every field is documented in `workloads/README.md`; an unknown
//! field, a wrong type or an impossible value is refused with the file, line
//! and field named.
//!
//! The default workload is embedded in the binary (`workloads/default.toml`),
//! so `sigstorm run` works with no file at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::cache::CacheBackend;
use crate::clock::parse_rfc3339_ms;
use crate::health::HealthConfig;
use crate::schedule::Event;
use crate::service::Service;
use crate::sigv4::crypto::Backend;
use crate::strategy::Strategy;

/// The default workload's text, embedded at build time.
pub const DEFAULT_WORKLOAD: &str = include_str!("../workloads/default.toml");

/// The most regions a workload may list. AWS has a few dozen; the data planes
/// index regions with 16 bits in their cache keys, and every region holds
/// `data_plane.azs` full replicas of the key store.
pub const MAX_REGIONS: usize = 64;

/// The longest workload name, in characters: the name ends up in the run's
/// folder name (`results/<date>-<time>-<name>/`).
pub const MAX_NAME_CHARS: usize = 64;

/// The lowest offered load, requests per second. The generator turns the
/// mean gap between arrivals into a `Duration`, which cannot hold the gaps
/// of rates near zero (1e-308 per second is a gap of 1e308 seconds).
pub const MIN_RATE_PER_SEC: f64 = 0.001;

/// The most permits a concurrency limit (`control_plane.workers`,
/// `data_plane.az_concurrency`) may have; tokio's semaphores panic beyond
/// about 2^61, and a million is already far past any real endpoint.
pub const MAX_PERMITS: usize = 1_000_000;

/// The latest simulated start: the end of year 9998, so that a run's dates
/// never reach the end of what `X-Amz-Date` can write.
pub const MAX_CLOCK_START_MS: i64 = 253_370_764_799_000;

/// The most replicated key copies (users x keys per user x regions x AZ
/// replicas) a run builds: about 700 bytes each, so some 7 GB.
pub const MAX_REPLICATED_KEYS: usize = 10_000_000;

/// Why a workload was refused.
#[derive(Debug, Error)]
pub enum WorkloadError {
    /// The file could not be read.
    #[error("{path}: cannot read the workload")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown field or a wrong type.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file (or `<embedded default>`).
        file: String,
        /// 1-based line.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line of the field (0 when it could not be located).
        line: usize,
        /// The field's path, such as `load.rate_per_sec`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A whole workload.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// A short name, used in run ids and reports.
    pub name: String,
    /// What the workload shows.
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice (traffic, keys, delays).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Strategies to run, in order; all four when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategies: Option<Vec<Strategy>>,
    /// Crypto backend of signers and verifiers.
    #[serde(default)]
    pub crypto: Backend,
    /// The simulated clock.
    #[serde(default)]
    pub clock: ClockConfig,
    /// Duration of each strategy's run.
    pub run: RunConfig,
    /// The offered load.
    pub load: LoadConfig,
    /// The regions, the home region among them.
    pub regions: Vec<RegionConfig>,
    /// The control plane in the home region.
    #[serde(default)]
    pub control_plane: ControlPlaneConfig,
    /// The regional data planes.
    #[serde(default)]
    pub data_plane: DataPlaneConfig,
    /// Replication from the control plane to the regions.
    #[serde(default)]
    pub replication: ReplicationConfig,
    /// Users and keys.
    #[serde(default)]
    pub principals: PrincipalsConfig,
    /// Share of requests per service (weights, normalized).
    #[serde(default = "default_services")]
    pub services: BTreeMap<Service, f64>,
    /// Shares of requests that are presigned or meant to be refused.
    #[serde(default)]
    pub traffic: TrafficConfig,
    /// Storms and faults while traffic flows, by start time.
    #[serde(default)]
    pub schedule: Vec<Event>,
    /// Thresholds of health-event detection.
    #[serde(default)]
    pub health: HealthConfig,
    /// The service-level objective `sigstorm sweep` judges each point by
    /// (`--slo` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloConfig>,
}

/// A service-level objective on latency.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SloConfig {
    /// The largest acceptable p99 latency, milliseconds (from each request's
    /// intended start).
    pub p99_ms: f64,
}

/// The simulated clock's start.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// RFC 3339 UTC instant at which simulated time starts, or `"now"`.
    #[serde(default = "default_clock_start")]
    pub start: String,
}

/// How long each strategy runs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Measured seconds per strategy.
    pub duration_s: f64,
    /// Seconds of traffic before measuring starts (figures discarded).
    #[serde(default = "default_warmup")]
    pub warmup_s: f64,
    /// Longest wait for in-flight requests after the load stops, seconds.
    #[serde(default = "default_drain")]
    pub drain_timeout_s: f64,
    /// Length of one interval of the time series, milliseconds.
    #[serde(default = "default_interval")]
    pub interval_ms: f64,
}

/// Open-loop arrivals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Evenly spaced requests.
    Constant,
    /// Exponentially distributed gaps (a Poisson process).
    Poisson,
}

/// The offered load.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadConfig {
    /// Requests per second offered, over all regions.
    pub rate_per_sec: f64,
    /// Arrival process.
    #[serde(default = "default_arrival")]
    pub arrival: Arrival,
    /// Requests in flight beyond which new ones are shed (counted, never lost).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

/// One region.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Region code, such as `eu-north-1`.
    pub name: String,
    /// Simulated round trip to the home region, milliseconds; defaults to a
    /// realistic figure for known regions.
    pub rtt_ms: Option<f64>,
    /// Share of traffic sent to this region (weight).
    #[serde(default = "one")]
    pub weight: f64,
}

/// The control plane.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneConfig {
    /// Home region; must be one of `regions`.
    #[serde(default = "default_home")]
    pub home_region: String,
    /// Verification calls it serves at once (`none` strategy).
    #[serde(default = "default_cp_workers")]
    pub workers: usize,
    /// Simulated time each call occupies a worker, milliseconds, besides the
    /// real HMAC work.
    #[serde(default = "default_cp_service_ms")]
    pub service_time_ms: f64,
    /// Calls that may wait for a worker; more are refused (ServiceUnavailable).
    #[serde(default = "default_cp_queue")]
    pub max_queue: usize,
    /// Seconds before UTC midnight from which tomorrow's region keys are
    /// pushed to the regions.
    #[serde(default = "default_push_ahead")]
    pub push_ahead_s: f64,
}

/// The regional data planes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataPlaneConfig {
    /// AZ replicas per region (at least 3).
    #[serde(default = "default_azs")]
    pub azs: usize,
    /// Requests one AZ replica serves at once; more wait.
    #[serde(default = "default_az_concurrency")]
    pub az_concurrency: usize,
    /// Threads that run the data planes (tokio workers).
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Entries of the `per-service` signing-key cache, per AZ replica.
    #[serde(default = "default_cache_capacity")]
    pub cache_capacity: u64,
    /// Cache backends; the cached strategies run once per backend.
    #[serde(default = "default_cache_backends")]
    pub cache_backends: Vec<CacheBackend>,
}

/// Replication of control-plane writes.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationConfig {
    /// Median propagation delay, milliseconds (lognormal).
    #[serde(default = "default_delay_median")]
    pub delay_median_ms: f64,
    /// 99th percentile of the propagation delay, milliseconds.
    #[serde(default = "default_delay_p99")]
    pub delay_p99_ms: f64,
    /// Changes an AZ replica applies per second at most.
    #[serde(default = "default_apply_rate")]
    pub apply_rate_per_sec: f64,
}

/// The user population.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalsConfig {
    /// Number of users.
    #[serde(default = "default_users")]
    pub users: usize,
    /// Access keys per user (1 or 2, IAM's limit).
    #[serde(default = "default_keys_per_user")]
    pub keys_per_user: usize,
    /// Zipf exponent of key popularity (0 = uniform).
    #[serde(default = "default_zipf")]
    pub zipf_exponent: f64,
    /// The 12-digit account id.
    #[serde(default = "default_account")]
    pub account_id: String,
}

/// Shares of special requests (each 0 to 1, summing to at most 1).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Share of S3 GETs sent as presigned URLs.
    #[serde(default = "default_presigned")]
    pub presigned_share: f64,
    /// Requests signed with a wrong secret (SignatureDoesNotMatch).
    #[serde(default = "default_bad_share")]
    pub wrong_secret_share: f64,
    /// Requests naming an unknown access key (InvalidAccessKeyId).
    #[serde(default = "default_bad_share")]
    pub unknown_key_share: f64,
    /// Requests signed with a clock 20 minutes off (RequestTimeTooSkewed).
    #[serde(default = "default_bad_share")]
    pub skewed_clock_share: f64,
    /// Requests a policy denies (half explicitly, half implicitly).
    #[serde(default = "default_denied_share")]
    pub policy_denied_share: f64,
}

impl Workload {
    /// The embedded default workload.
    ///
    /// # Errors
    ///
    /// Only if the embedded file is broken, which a test rules out.
    pub fn default_workload() -> Result<Workload, WorkloadError> {
        Workload::parse(DEFAULT_WORKLOAD, "<embedded default>")
    }

    /// Read and validate the workload at `path`.
    ///
    /// # Errors
    ///
    /// [`WorkloadError`] naming the file, line and field.
    pub fn load(path: &Path) -> Result<Workload, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Workload::parse(&text, &path.display().to_string())
    }

    /// Parse and validate workload text; `file` names it in errors.
    ///
    /// # Errors
    ///
    /// [`WorkloadError`] naming the file, line and field.
    pub fn parse(text: &str, file: &str) -> Result<Workload, WorkloadError> {
        let workload: Workload = toml::from_str(text).map_err(|e| syntax_error(text, file, &e))?;
        workload
            .validate()
            .map_err(|(field, message)| WorkloadError::Invalid {
                file: file.to_string(),
                line: locate(text, &field),
                field,
                message,
            })?;
        Ok(workload)
    }

    /// The strategies to run: the workload's list, or all four.
    pub fn strategies(&self) -> Vec<Strategy> {
        self.strategies
            .clone()
            .unwrap_or_else(|| Strategy::ALL.to_vec())
    }

    /// The simulated clock's start in Unix milliseconds (`now` reads the real
    /// clock).
    pub fn clock_start_ms(&self) -> i64 {
        if self.clock.start == "now" {
            return time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        }
        parse_rfc3339_ms(&self.clock.start).unwrap_or(0)
    }

    /// The round trip of region `r` to the home region, milliseconds.
    pub fn rtt_ms(&self, r: &RegionConfig) -> f64 {
        if r.name == self.control_plane.home_region {
            return r.rtt_ms.unwrap_or(1.0);
        }
        r.rtt_ms.unwrap_or_else(|| default_rtt_ms(&r.name))
    }

    /// Check every value; the error is `(field path, message)`.
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, msg: String| Err((field.to_string(), msg));
        if self.name.is_empty()
            || self.name.len() > MAX_NAME_CHARS
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} letters, digits, '-' or '_'"),
            );
        }
        let strategies = self.strategies.as_deref().unwrap_or(&Strategy::ALL);
        if strategies.is_empty() {
            return bad(
                "strategies",
                "needs at least one strategy (leave the field out to run all four)".into(),
            );
        }
        for (i, s) in strategies.iter().enumerate() {
            if strategies[..i].contains(s) {
                return bad(
                    "strategies",
                    format!("strategy '{}' is listed twice", s.name()),
                );
            }
        }
        let start_ok = |ms: i64| (0..=MAX_CLOCK_START_MS).contains(&ms);
        if self.clock.start != "now" && !parse_rfc3339_ms(&self.clock.start).is_some_and(start_ok) {
            return bad(
                "clock.start",
                format!(
                    "'{}' is not an RFC 3339 instant from 1970 to 9998, such as 2026-06-01T23:59:50Z",
                    self.clock.start
                ),
            );
        }
        positive("run.duration_s", self.run.duration_s, 3600.0)?;
        range("run.warmup_s", self.run.warmup_s, 0.0, 600.0)?;
        range("run.drain_timeout_s", self.run.drain_timeout_s, 0.1, 600.0)?;
        range("run.interval_ms", self.run.interval_ms, 10.0, 60_000.0)?;
        positive("load.rate_per_sec", self.load.rate_per_sec, 10_000_000.0)?;
        if self.load.rate_per_sec < MIN_RATE_PER_SEC {
            return bad(
                "load.rate_per_sec",
                format!(
                    "must be at least {MIN_RATE_PER_SEC} (one request per 1000 seconds), not {}",
                    self.load.rate_per_sec
                ),
            );
        }
        if self.load.max_in_flight == 0 || self.load.max_in_flight > MAX_PERMITS {
            return bad(
                "load.max_in_flight",
                format!(
                    "must be 1 to {MAX_PERMITS}, not {}",
                    self.load.max_in_flight
                ),
            );
        }
        if self.run.duration_s < 0.1 {
            return bad(
                "run.duration_s",
                format!("must be at least 0.1, not {}", self.run.duration_s),
            );
        }
        self.validate_regions()?;
        let cp = &self.control_plane;
        if cp.workers == 0 || cp.workers > MAX_PERMITS {
            return bad(
                "control_plane.workers",
                format!("must be 1 to {MAX_PERMITS}, not {}", cp.workers),
            );
        }
        range(
            "control_plane.service_time_ms",
            cp.service_time_ms,
            0.0,
            10_000.0,
        )?;
        range("control_plane.push_ahead_s", cp.push_ahead_s, 0.0, 86_400.0)?;
        if cp.max_queue > MAX_PERMITS {
            return bad(
                "control_plane.max_queue",
                format!("must be at most {MAX_PERMITS}, not {}", cp.max_queue),
            );
        }
        let dp = &self.data_plane;
        if dp.azs < 3 || dp.azs > 16 {
            return bad(
                "data_plane.azs",
                format!(
                    "must be 3 to 16 (each region runs at least three AZ replicas), not {}",
                    dp.azs
                ),
            );
        }
        if dp.az_concurrency == 0 || dp.az_concurrency > MAX_PERMITS {
            return bad(
                "data_plane.az_concurrency",
                format!("must be 1 to {MAX_PERMITS}, not {}", dp.az_concurrency),
            );
        }
        if dp.workers == 0 || dp.workers > 256 {
            return bad(
                "data_plane.workers",
                format!("must be 1 to 256, not {}", dp.workers),
            );
        }
        if dp.cache_capacity == 0 {
            return bad("data_plane.cache_capacity", "must be at least 1".into());
        }
        if dp.cache_backends.is_empty() {
            return bad(
                "data_plane.cache_backends",
                "needs at least one backend".into(),
            );
        }
        for (i, b) in dp.cache_backends.iter().enumerate() {
            if dp.cache_backends[..i].contains(b) {
                return bad(
                    "data_plane.cache_backends",
                    format!("cache backend '{b}' is listed twice"),
                );
            }
        }
        let rep = &self.replication;
        range(
            "replication.delay_median_ms",
            rep.delay_median_ms,
            0.0,
            3_600_000.0,
        )?;
        range(
            "replication.delay_p99_ms",
            rep.delay_p99_ms,
            rep.delay_median_ms,
            3_600_000.0,
        )
        .map_err(|(field, message)| {
            (
                field,
                format!(
                    "{message} (at least delay_median_ms, which is {})",
                    rep.delay_median_ms
                ),
            )
        })?;
        range(
            "replication.apply_rate_per_sec",
            rep.apply_rate_per_sec,
            0.001,
            1e9,
        )?;
        let p = &self.principals;
        if p.users == 0 || p.users > 10_000_000 {
            return bad(
                "principals.users",
                format!("must be 1 to 10000000, not {}", p.users),
            );
        }
        if !(1..=2).contains(&p.keys_per_user) {
            return bad(
                "principals.keys_per_user",
                format!(
                    "IAM allows 1 or 2 access keys per user, not {}",
                    p.keys_per_user
                ),
            );
        }
        let copies = (p.users * p.keys_per_user)
            .saturating_mul(self.regions.len())
            .saturating_mul(self.data_plane.azs);
        if copies > MAX_REPLICATED_KEYS {
            return bad(
                "principals.users",
                format!(
                    "{} users x {} keys x {} regions x {} AZ replicas = {copies} replicated keys, \
                     more than the {MAX_REPLICATED_KEYS} a run can hold in memory (about 700 \
                     bytes each)",
                    p.users,
                    p.keys_per_user,
                    self.regions.len(),
                    self.data_plane.azs
                ),
            );
        }
        range("principals.zipf_exponent", p.zipf_exponent, 0.0, 10.0)?;
        if p.account_id.len() != 12 || !p.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return bad("principals.account_id", "must be 12 digits".into());
        }
        if self.services.is_empty()
            || self
                .services
                .values()
                .any(|w| !w.is_finite() || *w < 0.0 || *w > 1e9)
            || self.services.values().sum::<f64>() <= 0.0
        {
            return bad(
                "services",
                "weights must be numbers from 0 to 1e9 with a positive sum".into(),
            );
        }
        self.validate_traffic()?;
        self.validate_schedule()?;
        if let Some(slo) = &self.slo {
            positive("slo.p99_ms", slo.p99_ms, 3_600_000.0)?;
        }
        self.health.validate()
    }

    fn validate_regions(&self) -> Result<(), (String, String)> {
        if self.regions.is_empty() || self.regions.len() > MAX_REGIONS {
            return Err((
                "regions".into(),
                format!(
                    "1 to {MAX_REGIONS} regions are required, not {}",
                    self.regions.len()
                ),
            ));
        }
        for (i, r) in self.regions.iter().enumerate() {
            let field = |f: &str| format!("regions[{i}].{f}");
            let valid = r.name.split('-').count() >= 3
                && r.name.split('-').all(|part| !part.is_empty())
                && r.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err((
                    field("name"),
                    format!("'{}' is not a region code such as eu-north-1", r.name),
                ));
            }
            if self.regions[..i].iter().any(|o| o.name == r.name) {
                return Err((
                    field("name"),
                    format!("region '{}' is listed twice", r.name),
                ));
            }
            if let Some(rtt) = r.rtt_ms {
                range(&field("rtt_ms"), rtt, 0.0, 10_000.0)?;
            }
            range(&field("weight"), r.weight, 0.0, 1e9)?;
        }
        if self.regions.iter().map(|r| r.weight).sum::<f64>() <= 0.0 {
            return Err((
                "regions".into(),
                "region weights must have a positive sum".into(),
            ));
        }
        if !self
            .regions
            .iter()
            .any(|r| r.name == self.control_plane.home_region)
        {
            return Err((
                "control_plane.home_region".into(),
                format!(
                    "'{}' (the default unless set) is not one of the workload's regions: add it \
                     as a [[regions]] table or set control_plane.home_region to one of them",
                    self.control_plane.home_region
                ),
            ));
        }
        Ok(())
    }

    fn validate_schedule(&self) -> Result<(), (String, String)> {
        let regions: Vec<String> = self.regions.iter().map(|r| r.name.clone()).collect();
        for (i, event) in self.schedule.iter().enumerate() {
            event
                .validate(&regions, self.data_plane.azs)
                .map_err(|(field, message)| (format!("schedule[{i}].{field}"), message))?;
            if event.at_s() >= self.run.duration_s {
                return Err((
                    format!("schedule[{i}].at_s"),
                    format!(
                        "{} is not within the measured {} seconds (run.duration_s)",
                        event.at_s(),
                        self.run.duration_s
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_traffic(&self) -> Result<(), (String, String)> {
        let t = &self.traffic;
        for (field, v) in [
            ("traffic.presigned_share", t.presigned_share),
            ("traffic.wrong_secret_share", t.wrong_secret_share),
            ("traffic.unknown_key_share", t.unknown_key_share),
            ("traffic.skewed_clock_share", t.skewed_clock_share),
            ("traffic.policy_denied_share", t.policy_denied_share),
        ] {
            range(field, v, 0.0, 1.0)?;
        }
        let refused = t.wrong_secret_share
            + t.unknown_key_share
            + t.skewed_clock_share
            + t.policy_denied_share;
        if refused > 1.0 {
            return Err((
                "traffic".into(),
                format!("the refused shares add up to {refused}, more than 1"),
            ));
        }
        Ok(())
    }
}

fn range(field: &str, v: f64, lo: f64, hi: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be between {lo} and {hi}, not {v}"),
        ))
    }
}

fn positive(field: &str, v: f64, hi: f64) -> Result<(), (String, String)> {
    if v.is_finite() && v > 0.0 && v <= hi {
        Ok(())
    } else {
        Err((
            field.to_string(),
            format!("must be greater than 0 and at most {hi}, not {v}"),
        ))
    }
}

/// The 1-based line where `field` (such as `load.rate_per_sec` or
/// `regions[2].rtt_ms`) is set in `text`, or that of its table; 0 if neither
/// is found. A plain line scan, which covers the layouts workloads use.
pub fn locate(text: &str, field: &str) -> usize {
    let parts: Vec<&str> = field.split('.').collect();
    let (table, index, key) = match parts.as_slice() {
        [key] => (None, None, *key),
        [table, key] => match table.split_once('[') {
            Some((t, i)) => (Some(t), i.trim_end_matches(']').parse::<usize>().ok(), *key),
            None => (Some(*table), None, *key),
        },
        _ => return 0,
    };
    let mut in_table = table.is_none();
    let mut top_level = true;
    let mut seen = 0usize;
    let mut table_line = 0;
    for (no, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            let name = trimmed.trim_matches(|c| c == '[' || c == ']').trim();
            in_table = false;
            top_level = false;
            // A field that is a whole table (`services`, `traffic`) or array
            // of tables (`regions`) is found at its first header.
            if table.is_none() && name == key && table_line == 0 {
                table_line = no + 1;
            }
            if Some(name) == table {
                let this = seen;
                seen += 1;
                if index.is_none_or(|i| i == this) {
                    in_table = true;
                    table_line = no + 1;
                }
            }
            continue;
        }
        let k = trimmed.split('=').next().unwrap_or("").trim();
        if !trimmed.contains('=') {
            continue;
        }
        if in_table && k == key {
            return no + 1;
        }
        // Dotted keys and inline tables before the first header:
        // `load.rate_per_sec = 5`, `load = { rate_per_sec = 5 }`.
        if top_level && index.is_none() && k == field {
            return no + 1;
        }
        if top_level && table.is_some_and(|t| t == k) && table_line == 0 {
            table_line = no + 1;
        }
    }
    table_line
}

/// A TOML or type error as a [`WorkloadError::Syntax`] on one line, naming
/// the field when the error points into a value.
fn syntax_error(text: &str, file: &str, e: &toml::de::Error) -> WorkloadError {
    let start = e.span().map(|s| s.start.min(text.len()));
    let line = start.map_or(0, |s| {
        1 + text.as_bytes()[..s].iter().filter(|&&b| b == b'\n').count()
    });
    // toml's message may run over several lines; the error is one line.
    let message = plain_words(&e.message().trim_end().replace('\n', ": "));
    let message = match start.and_then(|s| field_at(text, s)) {
        Some(field) => format!("field `{field}`: {message}"),
        None => message,
    };
    WorkloadError::Syntax {
        file: file.to_string(),
        line,
        message,
    }
}

/// serde's messages in a workload author's words: no Rust type names.
fn plain_words(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, plain) in [
        ("expected f64", "expected a number"),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected usize", "expected a whole number of at least 0"),
        ("expected u32", "expected a whole number of at least 0"),
        ("expected a string", "expected text in quotes"),
    ] {
        m = m.replace(rust, plain);
    }
    if m.contains("`elasticloadbalancing`") {
        m = m.replace("unknown variant", "unknown service");
    } else if m.contains("`per-region`") {
        m = m.replace("unknown variant", "unknown strategy");
    } else {
        m = m.replace("unknown variant", "unknown value");
    }
    m
}

/// The path (`run.duration_s`, `regions[1].rtt_ms`, `strategies[0]`) of the
/// value that starts at byte `offset` of `text`: the table header above its
/// line, then the keys, inline tables and arrays on the line before it.
/// `None` when `offset` is not inside a value (a key, a header, a line start).
/// A plain scan, like [`locate`], that covers the layouts workloads use.
fn field_at(text: &str, offset: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let line_start = bytes[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut path: Vec<String> = table_header_before(&bytes[..line_start])
        .into_iter()
        .collect();

    // Frames of inline tables (no index) and arrays (the element's index).
    let mut frames: Vec<(String, Option<usize>)> = Vec::new();
    let mut key: Option<String> = None;
    let (mut segment, mut quote) = (line_start, None);
    for (i, &b) in bytes.iter().enumerate().take(offset).skip(line_start) {
        if let Some(q) = quote {
            quote = (b != q).then_some(q);
            continue;
        }
        match b {
            b'"' | b'\'' => quote = Some(b),
            b'=' => {
                let k = String::from_utf8_lossy(&bytes[segment..i]);
                key = Some(k.trim().trim_matches(['"', '\'']).to_string());
            }
            b'{' | b'[' => frames.push((key.take().unwrap_or_default(), (b == b'[').then_some(0))),
            b',' => {
                if let Some((_, Some(n))) = frames.last_mut() {
                    *n += 1;
                }
                key = None;
            }
            b'}' | b']' => {
                frames.pop();
                key = None;
            }
            _ => continue,
        }
        segment = i + 1;
    }
    let in_array = matches!(frames.last(), Some((_, Some(_))));
    if key.is_none() && !in_array {
        return None;
    }
    for (name, index) in frames {
        let index = index.map(|n| format!("[{n}]")).unwrap_or_default();
        match path.last_mut() {
            Some(last) if name.is_empty() => last.push_str(&index),
            _ => path.push(format!("{name}{index}")),
        }
    }
    path.extend(key);
    Some(path.join("."))
}

/// The last table header in `head` as a path component: `run`, or
/// `regions[2]` for the third `[[regions]]`.
fn table_header_before(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head);
    let mut last = None;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in head.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let n = counts.entry(name.trim().to_string()).or_default();
            last = Some(format!("{}[{n}]", name.trim()));
            *n += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            last = Some(name.trim().to_string());
        }
    }
    last
}

/// Realistic round trips to `us-east-1` for regions sigstorm knows,
/// milliseconds; 150 for others.
pub fn default_rtt_ms(region: &str) -> f64 {
    match region {
        "us-east-1" => 1.0,
        "us-east-2" => 12.0,
        "us-west-1" => 62.0,
        "us-west-2" => 68.0,
        "ca-central-1" => 18.0,
        "eu-west-1" => 70.0,
        "eu-central-1" => 90.0,
        "eu-north-1" => 110.0,
        "eu-south-1" => 100.0,
        "me-south-1" => 180.0,
        "af-south-1" => 230.0,
        "ap-east-1" => 200.0,
        "ap-northeast-1" => 150.0,
        "ap-southeast-1" => 215.0,
        "ap-southeast-2" => 200.0,
        "ap-south-1" => 190.0,
        "sa-east-1" => 115.0,
        _ => 150.0,
    }
}

fn default_seed() -> u64 {
    42
}
fn default_clock_start() -> String {
    "now".to_string()
}
fn default_warmup() -> f64 {
    2.0
}
fn default_drain() -> f64 {
    10.0
}
fn default_interval() -> f64 {
    100.0
}
fn default_arrival() -> Arrival {
    Arrival::Poisson
}
fn default_max_in_flight() -> usize {
    50_000
}
fn one() -> f64 {
    1.0
}
fn default_home() -> String {
    "us-east-1".to_string()
}
fn default_cp_workers() -> usize {
    32
}
fn default_cp_service_ms() -> f64 {
    1.0
}
fn default_cp_queue() -> usize {
    20_000
}
fn default_push_ahead() -> f64 {
    3600.0
}
fn default_azs() -> usize {
    3
}
fn default_az_concurrency() -> usize {
    1024
}
fn default_workers() -> usize {
    2
}
fn default_cache_capacity() -> u64 {
    100_000
}
fn default_cache_backends() -> Vec<CacheBackend> {
    vec![CacheBackend::Moka]
}
fn default_delay_median() -> f64 {
    2000.0
}
fn default_delay_p99() -> f64 {
    30_000.0
}
fn default_apply_rate() -> f64 {
    5000.0
}
fn default_users() -> usize {
    200
}
fn default_keys_per_user() -> usize {
    1
}
fn default_zipf() -> f64 {
    1.1
}
fn default_account() -> String {
    "123456789012".to_string()
}
fn default_services() -> BTreeMap<Service, f64> {
    Service::ALL.iter().map(|s| (*s, 1.0)).collect()
}
fn default_presigned() -> f64 {
    0.05
}
fn default_bad_share() -> f64 {
    0.005
}
fn default_denied_share() -> f64 {
    0.01
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            start: default_clock_start(),
        }
    }
}

impl Default for ControlPlaneConfig {
    fn default() -> Self {
        ControlPlaneConfig {
            home_region: default_home(),
            workers: default_cp_workers(),
            service_time_ms: default_cp_service_ms(),
            max_queue: default_cp_queue(),
            push_ahead_s: default_push_ahead(),
        }
    }
}

impl Default for DataPlaneConfig {
    fn default() -> Self {
        DataPlaneConfig {
            azs: default_azs(),
            az_concurrency: default_az_concurrency(),
            workers: default_workers(),
            cache_capacity: default_cache_capacity(),
            cache_backends: default_cache_backends(),
        }
    }
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            delay_median_ms: default_delay_median(),
            delay_p99_ms: default_delay_p99(),
            apply_rate_per_sec: default_apply_rate(),
        }
    }
}

impl Default for PrincipalsConfig {
    fn default() -> Self {
        PrincipalsConfig {
            users: default_users(),
            keys_per_user: default_keys_per_user(),
            zipf_exponent: default_zipf(),
            account_id: default_account(),
        }
    }
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            presigned_share: default_presigned(),
            wrong_secret_share: default_bad_share(),
            unknown_key_share: default_bad_share(),
            skewed_clock_share: default_bad_share(),
            policy_denied_share: default_denied_share(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name = \"t\"\n[run]\nduration_s = 1\n[load]\nrate_per_sec = 100\n[[regions]]\nname = \"us-east-1\"\n[[regions]]\nname = \"eu-north-1\"\nrtt_ms = 90\n";

    #[test]
    fn embedded_default_is_valid() {
        let w = Workload::default_workload().unwrap();
        assert_eq!(w.name, "default");
        assert!(w.regions.len() >= 4);
        assert_eq!(w.strategies().len(), 4);
    }

    #[test]
    fn minimal_workload_gets_defaults() {
        let w = Workload::parse(MINIMAL, "m.toml").unwrap();
        assert_eq!(w.data_plane.azs, 3);
        assert_eq!(w.rtt_ms(&w.regions[0]), 1.0);
        assert_eq!(w.rtt_ms(&w.regions[1]), 90.0);
        assert_eq!(w.services.len(), 5);
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let text = MINIMAL.replace("rate_per_sec = 100", "rate_per_sec = 100\nrat = 5");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.starts_with("w.toml:6:"), "{err}");
        assert!(err.contains("unknown field `rat`"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_line() {
        let text = MINIMAL.replace("duration_s = 1", "duration_s = \"long\"");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.starts_with("w.toml:3:"), "{err}");
    }

    #[test]
    fn impossible_values_name_file_line_and_field() {
        let text = MINIMAL.replace("rate_per_sec = 100", "rate_per_sec = -5");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert_eq!(err, "w.toml:5: field `load.rate_per_sec`: must be greater than 0 and at most 10000000, not -5");
        let text = MINIMAL.replace("rtt_ms = 90", "rtt_ms = -1");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("w.toml:10: field `regions[1].rtt_ms`"),
            "{err}"
        );
        let text = format!("{MINIMAL}[principals]\nkeys_per_user = 3\n");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("w.toml:12: field `principals.keys_per_user`: IAM allows 1 or 2"),
            "{err}"
        );
        let text = format!("{MINIMAL}[control_plane]\nhome_region = \"eu-west-3\"\n");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.contains("field `control_plane.home_region`"), "{err}");
    }

    #[test]
    fn type_errors_name_the_field_wherever_it_is_written() {
        let cases = [
            (
                MINIMAL.replace("rtt_ms = 90", "rtt_ms = \"far\""),
                "w.toml:10: field `regions[1].rtt_ms`: ",
            ),
            (
                format!("strategies = [\"none\", 7]\n{MINIMAL}"),
                "w.toml:1: field `strategies[1]`: ",
            ),
            (
                MINIMAL.replace(
                    "[load]\nrate_per_sec = 100",
                    "[load]\nrate_per_sec = 1\n[principals]\nusers = { n = 1 }",
                ),
                "w.toml:7: field `principals.users`: ",
            ),
        ];
        for (text, prefix) in cases {
            let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
            assert!(err.starts_with(prefix), "{err}");
        }
        assert_eq!(field_at("[run]\nduration_s = 1", 6), None);
        assert_eq!(
            field_at("x = { a = [1, { b = 2 }] }", 22).as_deref(),
            Some("x.a[1].b")
        );
    }

    #[test]
    fn whole_tables_are_located_at_their_header() {
        let text = format!("{MINIMAL}[traffic]\npresigned_share = 0.1\n");
        assert_eq!(locate(&text, "traffic"), 11);
        assert_eq!(locate(&text, "regions"), 6);
        assert_eq!(
            locate("load.rate_per_sec = 1\n[run]\n", "load.rate_per_sec"),
            1
        );
    }

    #[test]
    fn health_thresholds_default_and_are_checked() {
        let w = Workload::parse(MINIMAL, "m.toml").unwrap();
        assert_eq!(w.health, HealthConfig::default());
        assert_eq!(w.health.min_intervals, 3);
        let text = format!("{MINIMAL}[health]\nerror_rate = 0.2\np99_ms = 0\n");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("w.toml:13: field `health.p99_ms`: must be between 1 and"),
            "{err}"
        );
        let text = format!("{MINIMAL}[health]\nerror_rte = 0.2\n");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.contains("unknown field `error_rte`"), "{err}");
        let text = format!("{MINIMAL}[health]\nmin_intervals = 2\nmin_responses = 20\n");
        let w = Workload::parse(&text, "w.toml").unwrap();
        assert_eq!((w.health.min_intervals, w.health.min_responses), (2, 20));
        assert_eq!(w.health.error_rate, 0.05);
    }

    #[test]
    fn unknown_service_and_strategy_are_refused() {
        let text = format!("{MINIMAL}[services]\ndynamodb = 1\n");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.contains("w.toml:12"), "{err}");
        let text = format!("strategies = [\"fast\"]\n{MINIMAL}");
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        assert!(err.starts_with("w.toml:1:"), "{err}");
    }
}
