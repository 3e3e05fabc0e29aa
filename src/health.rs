//! Health events: incidents detected from a run's per-service time series,
//! written as `events.json` in the shape of a public cloud status feed and
//! printed as a short timeline.
//!
//! For every (region, service) of a strategy run, each interval of the time
//! series is judged when it holds at least `health.min_responses` responses:
//! it is *bad* when its share of `ServiceUnavailable` answers reaches
//! `health.error_rate`, or its p99 latency reaches both `health.p99_ms` and
//! `health.p99_factor` times the series' usual p99 (the median of its
//! intervals' p99s), so a strategy whose every request crosses to the home
//! region is not an incident by design, but a stall on top of it is. An incident
//! opens after `health.min_intervals` consecutive bad intervals (it starts at
//! the first of them) and resolves after as many consecutive good ones (it
//! ends with the last bad interval); one still open when measurement ends is
//! reported as `open`. Intervals with too few responses are skipped: they
//! neither extend nor break a run of bad or good intervals.
//!
//! Times in events are on the simulated UTC clock.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::clock::format_rfc3339_ms;
use crate::metrics::ServicePoint;
use crate::service::Service;
use crate::summary::{write_atomically, RunSummary};

/// The thresholds of health detection: the workload's `[health]` table.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Share of `ServiceUnavailable` answers at which an interval is bad.
    #[serde(default = "default_error_rate")]
    pub error_rate: f64,
    /// p99 latency, milliseconds, at which an interval is bad (when it is
    /// also `p99_factor` times the series' usual p99).
    #[serde(default = "default_p99_ms")]
    pub p99_ms: f64,
    /// How many times the series' usual p99 (the median of its intervals'
    /// p99s) an interval's p99 must reach to be bad.
    #[serde(default = "default_p99_factor")]
    pub p99_factor: f64,
    /// Consecutive bad intervals that open an incident, and consecutive good
    /// ones that resolve it.
    #[serde(default = "default_min_intervals")]
    pub min_intervals: usize,
    /// Responses an interval needs to be judged.
    #[serde(default = "default_min_responses")]
    pub min_responses: u32,
}

fn default_error_rate() -> f64 {
    0.05
}
fn default_p99_ms() -> f64 {
    50.0
}
fn default_p99_factor() -> f64 {
    5.0
}
fn default_min_intervals() -> usize {
    3
}
fn default_min_responses() -> u32 {
    5
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            error_rate: default_error_rate(),
            p99_ms: default_p99_ms(),
            p99_factor: default_p99_factor(),
            min_intervals: default_min_intervals(),
            min_responses: default_min_responses(),
        }
    }
}

impl HealthConfig {
    /// Check every value; the error is `(field path, message)`.
    ///
    /// # Errors
    ///
    /// The first value out of range, with its field (`health.p99_ms`).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, message: String| Err((format!("health.{field}"), message));
        if !(self.error_rate.is_finite() && self.error_rate > 0.0 && self.error_rate <= 1.0) {
            return bad(
                "error_rate",
                format!(
                    "must be more than 0 and at most 1 (a share of responses), not {}",
                    self.error_rate
                ),
            );
        }
        if !(self.p99_ms.is_finite() && (1.0..=3_600_000.0).contains(&self.p99_ms)) {
            return bad(
                "p99_ms",
                format!(
                    "must be between 1 and 3600000 milliseconds, not {}",
                    self.p99_ms
                ),
            );
        }
        if !(self.p99_factor.is_finite() && (0.0..=1_000_000.0).contains(&self.p99_factor)) {
            return bad(
                "p99_factor",
                format!(
                    "must be between 0 (judge by p99_ms alone) and 1000000, not {}",
                    self.p99_factor
                ),
            );
        }
        if !(1..=10_000).contains(&self.min_intervals) {
            return bad(
                "min_intervals",
                format!("must be 1 to 10000, not {}", self.min_intervals),
            );
        }
        if self.min_responses == 0 {
            return bad("min_responses", "must be at least 1".into());
        }
        Ok(())
    }

    fn is_bad(&self, p: &ServicePoint, p99_threshold_us: f64) -> bool {
        error_rate(p) >= self.error_rate || p.p99_us >= p99_threshold_us
    }

    /// The p99 (microseconds) at which an interval of `points` is slow: the
    /// larger of `p99_ms` and `p99_factor` times the median p99 of the
    /// judged intervals.
    pub fn p99_threshold_us(&self, points: &[ServicePoint]) -> f64 {
        let mut p99s: Vec<f64> = points
            .iter()
            .filter(|p| p.responses >= self.min_responses)
            .map(|p| p.p99_us)
            .collect();
        let floor = self.p99_ms * 1000.0;
        if p99s.is_empty() {
            return floor;
        }
        let mid = p99s.len() / 2;
        let (_, median, _) = p99s.select_nth_unstable_by(mid, f64::total_cmp);
        floor.max(self.p99_factor * *median)
    }
}

fn error_rate(p: &ServicePoint) -> f64 {
    if p.responses == 0 {
        0.0
    } else {
        f64::from(p.server_errors) / f64::from(p.responses)
    }
}

/// What went wrong in an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Some interval's error rate reached the threshold.
    Errors,
    /// Only latency reached its threshold.
    Latency,
}

/// Whether an incident ended before measurement did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It resolved.
    Resolved,
    /// It was still going on when measurement ended.
    Open,
}

/// An incident found in one series, by interval index.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// The first bad interval.
    pub first: usize,
    /// The last bad interval.
    pub last: usize,
    /// Resolved or still open.
    pub status: Status,
    /// Errors or latency.
    pub kind: Kind,
    /// Responses from `first` to `last`, both included.
    pub responses: u64,
    /// Of which `ServiceUnavailable`.
    pub server_errors: u64,
    /// The highest error rate of a judged interval, and that interval.
    pub peak_error_rate: (f64, usize),
    /// The highest p99 of a judged interval (microseconds), and that
    /// interval.
    pub peak_p99_us: (f64, usize),
    /// The p99 at which an interval of this series was slow, microseconds.
    pub p99_threshold_us: f64,
}

/// The incidents of one series of intervals, in time order.
pub fn incidents(points: &[ServicePoint], config: &HealthConfig) -> Vec<Incident> {
    let need = config.min_intervals.max(1);
    let threshold_us = config.p99_threshold_us(points);
    let mut found = Vec::new();
    // A run of bad intervals that has not opened an incident yet.
    let mut streak: Option<(usize, usize)> = None; // (first, count)
                                                   // The open incident and the good intervals seen since its last bad one.
    let mut open: Option<(usize, usize, usize)> = None; // (first, last bad, good count)
    for (i, p) in points.iter().enumerate() {
        if p.responses < config.min_responses {
            continue;
        }
        let bad = config.is_bad(p, threshold_us);
        match (&mut open, bad) {
            (Some((_, last, good)), true) => {
                *last = i;
                *good = 0;
            }
            (Some((first, last, good)), false) => {
                *good += 1;
                if *good >= need {
                    found.push(summarize(
                        points,
                        config,
                        threshold_us,
                        (*first, *last),
                        Status::Resolved,
                    ));
                    open = None;
                }
            }
            (None, true) => {
                let (first, count) = streak.map_or((i, 1), |(f, c)| (f, c + 1));
                if count >= need {
                    open = Some((first, i, 0));
                    streak = None;
                } else {
                    streak = Some((first, count));
                }
            }
            (None, false) => streak = None,
        }
    }
    if let Some((first, last, _)) = open {
        found.push(summarize(
            points,
            config,
            threshold_us,
            (first, last),
            Status::Open,
        ));
    }
    found
}

fn summarize(
    points: &[ServicePoint],
    config: &HealthConfig,
    p99_threshold_us: f64,
    (first, last): (usize, usize),
    status: Status,
) -> Incident {
    let mut incident = Incident {
        first,
        last,
        status,
        p99_threshold_us,
        kind: Kind::Latency,
        responses: 0,
        server_errors: 0,
        peak_error_rate: (0.0, first),
        peak_p99_us: (0.0, first),
    };
    for (i, p) in points.iter().enumerate().take(last + 1).skip(first) {
        incident.responses += u64::from(p.responses);
        incident.server_errors += u64::from(p.server_errors);
        if p.responses < config.min_responses {
            continue;
        }
        let rate = error_rate(p);
        if rate >= config.error_rate {
            incident.kind = Kind::Errors;
        }
        if rate > incident.peak_error_rate.0 {
            incident.peak_error_rate = (rate, i);
        }
        if p.p99_us > incident.peak_p99_us.0 {
            incident.peak_p99_us = (p.p99_us, i);
        }
    }
    incident
}

/// One detected incident, shaped like an entry of a public cloud status
/// feed, plus where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthEvent {
    /// The feed's service id: `<service>-<region>`, such as `s3-eu-north-1`.
    pub service: String,
    /// The service and region for people, such as `Amazon Simple Storage
    /// Service (Stockholm)`.
    pub service_name: String,
    /// The region code.
    pub region: String,
    /// The headline, `[RESOLVED] ...` once resolved.
    pub summary: String,
    /// Start, simulated Unix seconds, as a string (as status feeds write it).
    pub date: String,
    /// Start, simulated UTC, RFC 3339.
    pub start_utc: String,
    /// End (the end of measurement when still open), simulated UTC, RFC 3339.
    pub end_utc: String,
    /// `resolved` or `open`.
    pub status: Status,
    /// Start, peak and recovery in plain words, with simulated UTC times.
    pub description: String,
    /// `errors` or `latency`.
    pub kind: Kind,
    /// The run's label (strategy, and cache backend when compared).
    pub strategy: String,
    /// Start, seconds from the start of measurement.
    pub start_s: f64,
    /// End (the end of measurement when still open), seconds from the start
    /// of measurement.
    pub end_s: f64,
    /// The highest share of `ServiceUnavailable` answers in an interval.
    pub peak_error_rate: f64,
    /// The highest p99 latency of an interval, milliseconds.
    pub peak_p99_ms: f64,
    /// Start, simulated Unix milliseconds; not written.
    #[serde(skip)]
    pub start_ms: i64,
    /// End, simulated Unix milliseconds; not written.
    #[serde(skip)]
    pub end_ms: i64,
}

/// The simulated time (Unix milliseconds) at which measurement started: the
/// clock started at `clock_start_ms` when the run was begun at `begun` (the
/// run builds its clock first thing), and measurement started at
/// `window_start`.
pub fn window_origin_ms(clock_start_ms: i64, begun: Instant, window_start: Instant) -> i64 {
    clock_start_ms + window_start.saturating_duration_since(begun).as_millis() as i64
}

/// The health events of one strategy run, by start time; `origin_ms` is the
/// simulated time at which measurement started (see [`window_origin_ms`]).
pub fn detect_run(run: &RunSummary, config: &HealthConfig, origin_ms: i64) -> Vec<HealthEvent> {
    let mut events = Vec::new();
    for series in &run.services {
        let Some(region) = run.regions.get(series.region) else {
            continue;
        };
        let context = Context {
            region: &region.region,
            service: series.service,
            strategy: &run.label,
            interval_s: run.interval_s,
            window_s: run.duration_s,
            origin_ms,
            config,
        };
        for incident in incidents(&series.points, config) {
            // Intervals past an interrupted run's end hold nothing to judge.
            if (incident.first as f64) * run.interval_s >= run.duration_s {
                continue;
            }
            events.push(context.event(&incident));
        }
    }
    events.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    events
}

/// Where a series came from, to word its events.
pub struct Context<'a> {
    /// Region code.
    pub region: &'a str,
    /// The service.
    pub service: Service,
    /// The run's label.
    pub strategy: &'a str,
    /// Interval length, seconds.
    pub interval_s: f64,
    /// Measured window, seconds.
    pub window_s: f64,
    /// Simulated Unix milliseconds at the start of measurement.
    pub origin_ms: i64,
    /// The thresholds.
    pub config: &'a HealthConfig,
}

impl Context<'_> {
    fn at_ms(&self, s: f64) -> i64 {
        self.origin_ms + (s * 1000.0).round() as i64
    }

    fn time(&self, s: f64) -> String {
        utc_time(self.at_ms(s))
    }

    /// The event of `incident`.
    pub fn event(&self, incident: &Incident) -> HealthEvent {
        let start_s = incident.first as f64 * self.interval_s;
        let end_s = match incident.status {
            Status::Resolved => ((incident.last + 1) as f64 * self.interval_s).min(self.window_s),
            Status::Open => self.window_s,
        }
        .max(start_s);
        let what = match incident.kind {
            Kind::Errors => "Elevated IAM authentication errors",
            Kind::Latency => "Increased IAM authentication latencies",
        };
        let summary = match incident.status {
            Status::Resolved => format!("[RESOLVED] {what}"),
            Status::Open => what.to_string(),
        };
        let overall = if incident.responses == 0 {
            0.0
        } else {
            incident.server_errors as f64 / incident.responses as f64
        };
        let (peak_rate, peak_rate_at) = incident.peak_error_rate;
        let (peak_p99_us, peak_p99_at) = incident.peak_p99_us;
        let subject = format!(
            "IAM authentications for {} requests in {}",
            short_name(self.service),
            self.region
        );
        let when = match incident.status {
            Status::Resolved => format!(
                "Between {} and {} UTC",
                self.time(start_s),
                self.time(end_s)
            ),
            Status::Open => format!("Since {} UTC", self.time(start_s)),
        };
        let interval_time = |i: usize| self.time(i as f64 * self.interval_s);
        let body = match incident.kind {
            Kind::Errors => format!(
                "{when}, {} of {subject} failed with ServiceUnavailable (peak {} at {}); p99 \
                 latency reached {}.",
                percent(overall),
                percent(peak_rate),
                interval_time(peak_rate_at),
                ms_text(peak_p99_us / 1000.0),
            ),
            Kind::Latency => format!(
                "{when}, the latency of {subject} was elevated: p99 peaked at {} at {} \
                 (threshold {}), and {} of them failed.",
                ms_text(peak_p99_us / 1000.0),
                interval_time(peak_p99_at),
                ms_text(incident.p99_threshold_us / 1000.0),
                percent(overall),
            ),
        };
        let ending = match incident.status {
            Status::Resolved => {
                " The issue has resolved and the service is operating normally.".to_string()
            }
            Status::Open => format!(
                " The issue was ongoing when measurement ended at {} UTC.",
                self.time(self.window_s)
            ),
        };
        HealthEvent {
            service: format!("{}-{}", self.service.signing_name(), self.region),
            service_name: format!(
                "{} ({})",
                self.service.display_name(),
                region_location(self.region)
            ),
            region: self.region.to_string(),
            summary,
            date: self.at_ms(start_s).div_euclid(1000).to_string(),
            start_utc: format_rfc3339_ms(self.at_ms(start_s)),
            end_utc: format_rfc3339_ms(self.at_ms(end_s)),
            status: incident.status,
            description: format!("{body}{ending}"),
            kind: incident.kind,
            strategy: self.strategy.to_string(),
            start_s: round3(start_s),
            end_s: round3(end_s),
            peak_error_rate: (peak_rate * 10_000.0).round() / 10_000.0,
            peak_p99_ms: round3(peak_p99_us / 1000.0),
            start_ms: self.at_ms(start_s),
            end_ms: self.at_ms(end_s),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A short name of a service for sentences: `S3`, `EC2`, `Elastic Load
/// Balancing`, `STS`, `SQS`.
pub fn short_name(service: Service) -> &'static str {
    match service {
        Service::S3 => "S3",
        Service::Ec2 => "EC2",
        Service::ElasticLoadBalancing => "Elastic Load Balancing",
        Service::Sts => "STS",
        Service::Sqs => "SQS",
    }
}

/// Where a region is, as AWS's status page names it (`Stockholm` for
/// `eu-north-1`); the code itself for regions it does not know.
pub fn region_location(code: &str) -> &str {
    match code {
        "us-east-1" => "N. Virginia",
        "us-east-2" => "Ohio",
        "us-west-1" => "N. California",
        "us-west-2" => "Oregon",
        "af-south-1" => "Cape Town",
        "ap-east-1" => "Hong Kong",
        "ap-south-1" => "Mumbai",
        "ap-south-2" => "Hyderabad",
        "ap-northeast-1" => "Tokyo",
        "ap-northeast-2" => "Seoul",
        "ap-northeast-3" => "Osaka",
        "ap-southeast-1" => "Singapore",
        "ap-southeast-2" => "Sydney",
        "ap-southeast-3" => "Jakarta",
        "ap-southeast-4" => "Melbourne",
        "ca-central-1" => "Canada Central",
        "ca-west-1" => "Calgary",
        "eu-central-1" => "Frankfurt",
        "eu-central-2" => "Zurich",
        "eu-west-1" => "Ireland",
        "eu-west-2" => "London",
        "eu-west-3" => "Paris",
        "eu-north-1" => "Stockholm",
        "eu-south-1" => "Milan",
        "eu-south-2" => "Spain",
        "il-central-1" => "Tel Aviv",
        "me-south-1" => "Bahrain",
        "me-central-1" => "UAE",
        "sa-east-1" => "Sao Paulo",
        other => other,
    }
}

/// A simulated instant as `HH:MM:SS` UTC, to the nearest tenth of a second,
/// with the tenth when it is not zero (`12:00:03.3`).
pub fn utc_time(unix_ms: i64) -> String {
    let tenths = unix_ms.div_euclid(100) + i64::from(unix_ms.rem_euclid(100) >= 50);
    let tenths_of_day = tenths.rem_euclid(864_000);
    let (h, m, s, tenth) = (
        tenths_of_day / 36_000,
        tenths_of_day / 600 % 60,
        tenths_of_day / 10 % 60,
        tenths_of_day % 10,
    );
    if tenth == 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}.{tenth}")
    }
}

fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Write `events` as `events.json` at `path`, atomically.
///
/// # Errors
///
/// Any I/O error.
pub fn write_events(path: &Path, events: &[HealthEvent]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(events).map_err(std::io::Error::other)?;
    write_atomically(path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(responses: u32) -> ServicePoint {
        ServicePoint {
            responses,
            server_errors: 0,
            p99_us: 800.0,
        }
    }

    fn failing(responses: u32, server_errors: u32) -> ServicePoint {
        ServicePoint {
            responses,
            server_errors,
            p99_us: 900.0,
        }
    }

    fn slow(ms: f64) -> ServicePoint {
        ServicePoint {
            responses: 50,
            server_errors: 0,
            p99_us: ms * 1000.0,
        }
    }

    /// 2026-06-01T12:00:00Z.
    const NOON_MS: i64 = 1_780_315_200_000;

    fn context(config: &HealthConfig) -> Context<'_> {
        Context {
            region: "eu-north-1",
            service: Service::S3,
            strategy: "per-region",
            interval_s: 0.5,
            window_s: 10.0,
            origin_ms: NOON_MS,
            config,
        }
    }

    #[test]
    fn an_incident_opens_after_min_intervals_and_resolves_after_as_many_good() {
        let config = HealthConfig::default();
        // Intervals 0-3 good, 4-9 failing (peak 61% at 6), 10-12 good.
        let mut points = vec![ok(100); 4];
        points.extend([
            failing(100, 20),
            failing(100, 40),
            failing(100, 61),
            failing(100, 50),
            failing(100, 30),
            failing(100, 10),
        ]);
        points.extend(vec![ok(100); 3]);
        let found = incidents(&points, &config);
        assert_eq!(found.len(), 1);
        let inc = &found[0];
        assert_eq!((inc.first, inc.last), (4, 9));
        assert_eq!(inc.status, Status::Resolved);
        assert_eq!(inc.kind, Kind::Errors);
        assert_eq!((inc.responses, inc.server_errors), (600, 211));
        assert_eq!(inc.peak_error_rate, (0.61, 6));

        let e = context(&config).event(inc);
        assert_eq!(e.service, "s3-eu-north-1");
        assert_eq!(e.service_name, "Amazon Simple Storage Service (Stockholm)");
        assert_eq!(e.summary, "[RESOLVED] Elevated IAM authentication errors");
        assert_eq!(e.status, Status::Resolved);
        assert_eq!((e.start_s, e.end_s), (2.0, 5.0));
        assert_eq!(e.date, (NOON_MS / 1000 + 2).to_string());
        assert_eq!(e.start_utc, "2026-06-01T12:00:02Z");
        assert_eq!(e.end_utc, "2026-06-01T12:00:05Z");
        assert_eq!(e.peak_error_rate, 0.61);
        assert_eq!(
            e.description,
            "Between 12:00:02 and 12:00:05 UTC, 35% of IAM authentications for S3 requests in \
             eu-north-1 failed with ServiceUnavailable (peak 61% at 12:00:03); p99 latency \
             reached 0.9 ms. The issue has resolved and the service is operating normally."
        );
    }

    #[test]
    fn a_latency_that_is_usual_for_the_series_is_no_incident_but_a_stall_on_it_is() {
        // Every request crosses to the home region: p99 150 ms all along.
        let config = HealthConfig::default();
        let far = |ms: f64| ServicePoint {
            responses: 100,
            server_errors: 0,
            p99_us: ms * 1000.0,
        };
        let mut points = vec![far(150.0); 40];
        assert_eq!(config.p99_threshold_us(&points), 750_000.0);
        assert!(incidents(&points, &config).is_empty());
        // A one-second stall on top of it.
        for p in &mut points[10..15] {
            *p = far(1100.0);
        }
        let found = incidents(&points, &config);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].first, found[0].last), (10, 14));
        assert_eq!(found[0].kind, Kind::Latency);
        // Fast series: the floor, p99_ms, decides.
        assert_eq!(config.p99_threshold_us(&[ok(100); 10]), 50_000.0);
    }

    #[test]
    fn a_single_bad_interval_opens_nothing() {
        let config = HealthConfig::default();
        let mut points = vec![ok(100); 3];
        points.push(failing(100, 100));
        points.extend(vec![ok(100); 3]);
        // Two bad, a good one, two bad: never three in a row.
        points.extend([slow(80.0), slow(90.0), ok(100), slow(80.0), slow(90.0)]);
        assert!(incidents(&points, &config).is_empty());
        // With min_intervals = 1 each bad run is its own incident.
        let eager = HealthConfig {
            min_intervals: 1,
            ..HealthConfig::default()
        };
        let found = incidents(&points, &eager);
        let spans: Vec<(usize, usize)> = found.iter().map(|i| (i.first, i.last)).collect();
        assert_eq!(spans, [(3, 3), (7, 8), (10, 11)]);
    }

    #[test]
    fn a_run_ending_mid_incident_leaves_it_open() {
        let config = HealthConfig::default();
        let mut points = vec![ok(40); 5];
        points.extend([slow(60.0), slow(120.0), slow(75.0), slow(70.0), ok(40)]);
        // The tenth interval is good, but one good interval does not resolve.
        let found = incidents(&points, &config);
        assert_eq!(found.len(), 1);
        let inc = &found[0];
        assert_eq!((inc.first, inc.last, inc.status), (5, 8, Status::Open));
        assert_eq!(inc.kind, Kind::Latency);
        assert_eq!(inc.peak_p99_us, (120_000.0, 6));
        let e = context(&config).event(inc);
        assert_eq!(e.summary, "Increased IAM authentication latencies");
        assert_eq!(e.status, Status::Open);
        assert_eq!((e.start_s, e.end_s), (2.5, 10.0));
        assert_eq!(e.peak_p99_ms, 120.0);
        assert_eq!(
            e.description,
            "Since 12:00:02.5 UTC, the latency of IAM authentications for S3 requests in \
             eu-north-1 was elevated: p99 peaked at 120 ms at 12:00:03 (threshold 50 ms), and \
             0% of them failed. The issue was ongoing when measurement ended at 12:00:10 UTC."
        );
    }

    #[test]
    fn thin_intervals_are_not_judged() {
        let config = HealthConfig::default();
        // Bad, too thin (all errors, 3 responses), bad, thin, bad: three
        // judged bad intervals in a row open an incident from the first.
        let points = [
            failing(10, 9),
            failing(3, 3),
            failing(10, 9),
            ok(2),
            failing(10, 9),
            ok(10),
            ok(10),
            ok(10),
        ];
        let found = incidents(&points, &config);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].first, found[0].last), (0, 4));
        assert_eq!(found[0].status, Status::Resolved);
        // The thin intervals count in the totals but not in the peaks.
        assert_eq!((found[0].responses, found[0].server_errors), (35, 30));
        assert_eq!(found[0].peak_error_rate, (0.9, 0));
        // Nothing judged, nothing found.
        assert!(incidents(&[failing(4, 4); 20], &config).is_empty());
    }

    #[test]
    fn thresholds_are_validated_with_their_field() {
        assert!(HealthConfig::default().validate().is_ok());
        let cases = [
            (
                HealthConfig {
                    error_rate: 0.0,
                    ..HealthConfig::default()
                },
                "health.error_rate",
            ),
            (
                HealthConfig {
                    error_rate: f64::NAN,
                    ..HealthConfig::default()
                },
                "health.error_rate",
            ),
            (
                HealthConfig {
                    p99_ms: 0.5,
                    ..HealthConfig::default()
                },
                "health.p99_ms",
            ),
            (
                HealthConfig {
                    p99_factor: -1.0,
                    ..HealthConfig::default()
                },
                "health.p99_factor",
            ),
            (
                HealthConfig {
                    min_intervals: 0,
                    ..HealthConfig::default()
                },
                "health.min_intervals",
            ),
            (
                HealthConfig {
                    min_responses: 0,
                    ..HealthConfig::default()
                },
                "health.min_responses",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().unwrap_err().0, field);
        }
    }

    #[test]
    fn times_and_names_read_like_a_status_feed() {
        assert_eq!(utc_time(NOON_MS + 3_250), "12:00:03.3");
        assert_eq!(utc_time(NOON_MS + 3_249), "12:00:03.2");
        assert_eq!(utc_time(NOON_MS + 2_552), "12:00:02.6");
        assert_eq!(utc_time(NOON_MS - 1), "12:00:00");
        assert_eq!(utc_time(NOON_MS - 51), "11:59:59.9");
        assert_eq!(utc_time(0), "00:00:00");
        assert_eq!(utc_time(-100), "23:59:59.9");
        assert_eq!(region_location("me-south-1"), "Bahrain");
        assert_eq!(region_location("xx-test-9"), "xx-test-9");
        assert_eq!(percent(0.004), "0.4%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.615), "62%");
    }
}
