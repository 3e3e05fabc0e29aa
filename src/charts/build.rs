//! The charts of a run, from plain inputs: one [`RunInput`] per run label
//! (a strategy, with its cache backend when a workload compares backends).
//! Every function returns `None` when its chart would have nothing to show
//! (no cached strategy, no replication, no errors), and [`run_charts`] says
//! why for each one left out.

use hdrhistogram::Histogram;

use super::{
    band_class, Axis, Band, BarGroup, BarPanel, Body, Chart, HeatPanel, HeatRow, LinePanel, Scale,
    Series, ValueFormat,
};

/// One phase of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseInput {
    /// `steady`, `storm: <kind>`, `fault: <kind>` or `recovery`.
    pub name: String,
    /// Seconds from the start of measurement.
    pub start_s: f64,
    /// Seconds from the start of measurement.
    pub end_s: f64,
}

/// One interval of a run's time series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntervalInput {
    /// Start, seconds from the start of measurement.
    pub t_s: f64,
    /// Responses per second that arrived in the interval.
    pub achieved_rps: f64,
    /// Responses to requests intended in it.
    pub responses: u64,
    /// Their p99 latency, microseconds.
    pub p99_us: f64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Cache misses.
    pub cache_misses: u64,
    /// The largest replication backlog sampled in it, per region (in the
    /// order of [`RunInput::regions`]); empty when only the largest over all
    /// regions is known.
    pub backlog_by_region: Vec<Option<u64>>,
    /// The largest applied-version lag sampled in it, per region,
    /// milliseconds.
    pub lag_ms_by_region: Vec<Option<f64>>,
    /// The largest backlog over all regions.
    pub backlog: Option<u64>,
    /// The largest lag over all regions, milliseconds.
    pub lag_ms: Option<f64>,
}

/// `ServiceUnavailable` answers of one service in one region, per interval.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceErrorsInput {
    /// Region code.
    pub region: String,
    /// Service signing name.
    pub service: String,
    /// `ServiceUnavailable` answers per interval.
    pub errors: Vec<u32>,
    /// Responses per interval.
    pub responses: Vec<u32>,
}

/// A run's totals, for the bar chart.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Requests offered per second.
    pub offered_rps: f64,
    /// Responses per second.
    pub achieved_rps: f64,
    /// Latency percentiles, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, microseconds.
    pub p999_us: f64,
    /// Largest, microseconds.
    pub max_us: f64,
}

/// Everything the charts need of one run label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInput {
    /// The run's label: `per-service`, `per-service/quick-cache`.
    pub label: String,
    /// Measured seconds.
    pub duration_s: f64,
    /// Length of one interval, seconds.
    pub interval_s: f64,
    /// Region codes, in the workload's order.
    pub regions: Vec<String>,
    /// The phases (they tile the measured window).
    pub phases: Vec<PhaseInput>,
    /// The time series.
    pub intervals: Vec<IntervalInput>,
    /// Per (region, service) with any `ServiceUnavailable`.
    pub service_errors: Vec<ServiceErrorsInput>,
    /// The latency spectrum: `(quantile, latency in microseconds)`, quantile
    /// ascending and below 1 (see [`spectrum`]).
    pub spectrum: Vec<(f64, f64)>,
    /// p99 latency per log interval: `(midpoint, microseconds)`, the
    /// interval's histograms of every region merged; not finite (or 0) for
    /// an interval without responses. Empty when the run has no histograms
    /// (the p99 over time then comes from [`RunInput::intervals`]).
    pub p99_series: Vec<(f64, f64)>,
    /// Totals.
    pub totals: Totals,
}

/// A chart left out of a report, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The chart's id.
    pub id: String,
    /// Why, in words.
    pub reason: String,
}

const TIME_AXIS: &str = "time since measurement started, s";

/// Every chart of a report for `runs`, in reading order, and those left
/// out with the reason.
pub fn run_charts(runs: &[RunInput]) -> (Vec<Chart>, Vec<Skipped>) {
    let mut charts = Vec::new();
    let mut skipped = Vec::new();
    let mut add = |id: &str, chart: Option<Chart>, reason: &str| match chart {
        Some(c) => charts.push(c),
        None => skipped.push(Skipped {
            id: id.to_string(),
            reason: reason.to_string(),
        }),
    };
    add(
        "strategies",
        strategies(runs),
        "no run answered any request",
    );
    add(
        "latency-spectrum",
        latency_spectrum(runs),
        "no latency was recorded",
    );
    add(
        "throughput",
        throughput_over_time(runs),
        "no interval was recorded",
    );
    add(
        "latency-p99",
        p99_over_time(runs),
        "no interval had a response",
    );
    add(
        "cache-hit-ratio",
        cache_hit_ratio(runs),
        "no run used a signing-key cache",
    );
    add(
        "errors",
        errors_by_service(runs),
        "no request was answered ServiceUnavailable",
    );
    add(
        "replication-backlog",
        replication_backlog(runs),
        "no control-plane write was waiting to reach a region during measurement",
    );
    add(
        "replication-lag",
        replication_lag(runs),
        "no control-plane write was waiting to reach a region during measurement",
    );
    (charts, skipped)
}

/// The latency spectrum of a nanosecond histogram: `(quantile, microseconds)`
/// at 20 points per decade of "nines", from the minimum (quantile 0) to the
/// largest value, drawn at quantile `1 - 1/count` (where the largest value
/// sits). Empty for an empty histogram.
pub fn spectrum(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    // The highest nines the data resolve, at most 7 (99.99999%).
    let top = (n as f64).log10().clamp(0.0, 7.0);
    let steps = (top * 20.0).floor() as usize;
    let mut out = Vec::with_capacity(steps + 2);
    for i in 0..=steps {
        let x = i as f64 / 20.0;
        let q = 1.0 - 10f64.powf(-x);
        if q >= 1.0 {
            break;
        }
        out.push((q, h.value_at_quantile(q) as f64 / 1000.0));
    }
    let q_max = 1.0 - 1.0 / n as f64;
    if out.last().is_none_or(|(q, _)| *q < q_max - 1e-12) && q_max > 0.0 {
        out.push((q_max, h.max() as f64 / 1000.0));
    } else if let Some(last) = out.last_mut() {
        last.1 = h.max() as f64 / 1000.0;
    }
    out
}

/// A spectrum from percentiles alone (when a run's histograms are not
/// available): p50, p90, p99, p99.9 and the largest at `1 - 1/responses`.
pub fn spectrum_from_percentiles(
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    responses: u64,
) -> Vec<(f64, f64)> {
    if responses == 0 {
        return Vec::new();
    }
    let mut out = vec![
        (0.5, p50_us),
        (0.9, p90_us),
        (0.99, p99_us),
        (0.999, p999_us),
    ];
    let q_max = 1.0 - 1.0 / responses as f64;
    out.retain(|(q, _)| *q < q_max);
    if q_max > out.last().map_or(0.0, |(q, _)| *q) {
        out.push((q_max, max_us));
    }
    out
}

/// The shaded bands of a run's phases (every phase but `steady`).
pub fn bands(phases: &[PhaseInput]) -> Vec<Band> {
    phases
        .iter()
        .filter_map(|p| {
            band_class(&p.name).map(|class| Band {
                name: p.name.clone(),
                class,
                start: p.start_s,
                end: p.end_s,
            })
        })
        .collect()
}

/// The bands of the run with the longest measured window (runs of one
/// workload share their schedule; an interrupted one is shorter).
fn common_bands(runs: &[RunInput]) -> Vec<Band> {
    runs.iter()
        .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))
        .map(|r| bands(&r.phases))
        .unwrap_or_default()
}

/// Bins of the over-time charts: at least this long, seconds...
const MIN_BIN_S: f64 = 0.5;
/// ...and at most this many per run.
const MAX_BINS: usize = 200;

/// A run's intervals merged into bins of at least [`MIN_BIN_S`] and at most
/// [`MAX_BINS`] per run, each with its midpoint: responses per second
/// averaged over the bin, counts summed, p99, backlog and lag the largest of
/// the bin's.
fn binned(run: &RunInput) -> Vec<(f64, IntervalInput)> {
    let n = run.intervals.len();
    if n == 0 || run.interval_s <= 0.0 {
        return Vec::new();
    }
    let per = ((MIN_BIN_S / run.interval_s).ceil() as usize)
        .max(n.div_ceil(MAX_BINS))
        .max(1);
    let max_opt = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let max_optf = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    run.intervals
        .chunks(per)
        .map(|chunk| {
            let start = chunk[0].t_s;
            let end = chunk.last().map_or(start, |i| {
                (i.t_s + run.interval_s).min(run.duration_s.max(i.t_s))
            });
            let mut merged = IntervalInput {
                t_s: start,
                ..IntervalInput::default()
            };
            let mut weighted = 0.0;
            let mut length = 0.0;
            for i in chunk {
                let len = (i.t_s + run.interval_s).min(run.duration_s.max(i.t_s)) - i.t_s;
                let len = if len > 0.0 { len } else { run.interval_s };
                weighted += i.achieved_rps * len;
                length += len;
                merged.responses += i.responses;
                merged.p99_us = merged
                    .p99_us
                    .max(if i.responses > 0 { i.p99_us } else { 0.0 });
                merged.cache_hits += i.cache_hits;
                merged.cache_misses += i.cache_misses;
                for (k, v) in i.backlog_by_region.iter().enumerate() {
                    if merged.backlog_by_region.len() <= k {
                        merged.backlog_by_region.resize(k + 1, None);
                    }
                    merged.backlog_by_region[k] = max_opt(merged.backlog_by_region[k], *v);
                }
                for (k, v) in i.lag_ms_by_region.iter().enumerate() {
                    if merged.lag_ms_by_region.len() <= k {
                        merged.lag_ms_by_region.resize(k + 1, None);
                    }
                    merged.lag_ms_by_region[k] = max_optf(merged.lag_ms_by_region[k], *v);
                }
                merged.backlog = max_opt(merged.backlog, i.backlog);
                merged.lag_ms = max_optf(merged.lag_ms, i.lag_ms);
            }
            merged.achieved_rps = if length > 0.0 { weighted / length } else { 0.0 };
            ((start + end) / 2.0, merged)
        })
        .collect()
}

fn time_axis(runs: &[RunInput]) -> Axis {
    let end = runs.iter().map(|r| r.duration_s).fold(0.0, f64::max);
    let axis = Axis::new(TIME_AXIS, Scale::Linear);
    if end > 0.0 {
        axis.with_range(0.0, end)
    } else {
        axis
    }
}

/// Achieved throughput over time, a line per run, phases shaded.
pub fn throughput_over_time(runs: &[RunInput]) -> Option<Chart> {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.intervals.is_empty())
        .map(|(k, r)| Series {
            name: r.label.clone(),
            color: k,
            points: binned(r)
                .iter()
                .map(|(t, i)| (*t, i.achieved_rps))
                .collect(),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(Chart {
        id: "throughput".into(),
        title: "Throughput over time".into(),
        note: "Responses per second, a line per strategy; shaded windows are the storms and \
               faults of the schedule. A dip means the data planes fell behind or stopped \
               answering."
            .into(),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: time_axis(runs),
            y: Axis::new("responses per second", Scale::Linear),
            series,
            bands: common_bands(runs),
        }]),
    })
}

/// p99 latency over time (log scale), a line per run, phases shaded: per
/// log interval (one second) when the run has [`RunInput::p99_series`],
/// else the largest interval p99 of each bin.
pub fn p99_over_time(runs: &[RunInput]) -> Option<Chart> {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let points: Vec<(f64, f64)> = if r.p99_series.is_empty() {
                binned(r)
                    .iter()
                    .map(|(t, i)| {
                        let y = if i.responses > 0 && i.p99_us > 0.0 {
                            i.p99_us / 1000.0
                        } else {
                            f64::NAN
                        };
                        (*t, y)
                    })
                    .collect()
            } else {
                r.p99_series
                    .iter()
                    .map(|(t, us)| (*t, if *us > 0.0 { us / 1000.0 } else { f64::NAN }))
                    .collect()
            };
            Series {
                name: r.label.clone(),
                color: k,
                points,
            }
        })
        .filter(|s| s.points.iter().any(|(_, y)| y.is_finite()))
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(Chart {
        id: "latency-p99".into(),
        title: "p99 latency over time".into(),
        note: "The 99th percentile latency of the requests intended in each second (log \
               scale), a line per strategy; shaded windows are storms and faults. A storm that \
               costs a strategy nothing leaves its line flat."
            .into(),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: time_axis(runs),
            y: Axis::new("p99 latency, ms (log scale)", Scale::Log),
            series,
            bands: common_bands(runs),
        }]),
    })
}

/// The latency spectrum of every run: latency at each percentile, on a
/// "nines" axis.
pub fn latency_spectrum(runs: &[RunInput]) -> Option<Chart> {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.spectrum.is_empty())
        .map(|(k, r)| Series {
            name: r.label.clone(),
            color: k,
            points: r.spectrum.iter().map(|(q, us)| (*q, us / 1000.0)).collect(),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    Some(Chart {
        id: "latency-spectrum".into(),
        title: "Latency by percentile".into(),
        note: "Latency (log scale) at each percentile of all requests measured, a line per \
               strategy; each step right is ten times rarer (90%, 99%, 99.9%, ...). Lower is \
               better; the right end is the largest latency."
            .into(),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: Axis::new("percentile (\"nines\" scale)", Scale::Nines),
            y: Axis::new("latency, ms (log scale)", Scale::Log),
            series,
            bands: Vec::new(),
        }]),
    })
}

/// The cache hit ratio over time, a line per run with a cache.
pub fn cache_hit_ratio(runs: &[RunInput]) -> Option<Chart> {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.intervals
                .iter()
                .any(|i| i.cache_hits + i.cache_misses > 0)
        })
        .map(|(k, r)| Series {
            name: r.label.clone(),
            color: k,
            points: binned(r)
                .iter()
                .map(|(t, i)| {
                    let lookups = i.cache_hits + i.cache_misses;
                    let y = if lookups == 0 {
                        f64::NAN
                    } else {
                        100.0 * i.cache_hits as f64 / lookups as f64
                    };
                    (*t, y)
                })
                .collect(),
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let lowest = series
        .iter()
        .flat_map(|s| &s.points)
        .map(|(_, y)| *y)
        .filter(|y| y.is_finite())
        .fold(100.0, f64::min);
    let floor = ((lowest - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    Some(Chart {
        id: "cache-hit-ratio".into(),
        title: "Signing-key cache hit ratio over time".into(),
        note: "Share of signing-key lookups found in the cache, a line per cached strategy. \
               Rotated or new keys, and the midnight roll, show as dips while the cache \
               refills."
            .into(),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: time_axis(runs),
            y: Axis::new("cache hit ratio, %", Scale::Linear).with_range(floor, 100.0),
            series,
            bands: common_bands(runs),
        }]),
    })
}

/// Per-region series of a run from `per_region` (the value of region `r` in
/// a bin), or one series of the largest over regions from `largest` when
/// the run has no per-region values.
fn region_series(
    run: &RunInput,
    per_region: impl Fn(&IntervalInput, usize) -> Option<f64>,
    largest: impl Fn(&IntervalInput) -> Option<f64>,
) -> Vec<Series> {
    let has_regions = run
        .intervals
        .iter()
        .any(|i| !i.backlog_by_region.is_empty() || !i.lag_ms_by_region.is_empty());
    let bins = binned(run);
    if has_regions {
        run.regions
            .iter()
            .enumerate()
            .map(|(r, name)| Series {
                name: name.clone(),
                color: r,
                points: bins
                    .iter()
                    .map(|(t, i)| (*t, per_region(i, r).unwrap_or(f64::NAN)))
                    .collect(),
            })
            .collect()
    } else {
        vec![Series {
            name: "largest over regions".into(),
            color: 0,
            points: bins
                .iter()
                .map(|(t, i)| (*t, largest(i).unwrap_or(f64::NAN)))
                .collect(),
        }]
    }
}

fn small_multiples(
    runs: &[RunInput],
    y: Axis,
    per_region: impl Fn(&IntervalInput, usize) -> Option<f64> + Copy,
    largest: impl Fn(&IntervalInput) -> Option<f64> + Copy,
) -> Option<Vec<LinePanel>> {
    let any = runs.iter().any(|r| {
        r.intervals.iter().any(|i| {
            largest(i).is_some_and(|v| v > 0.0)
                || (0..r.regions.len()).any(|k| per_region(i, k).is_some_and(|v| v > 0.0))
        })
    });
    if !any {
        return None;
    }
    let x = time_axis(runs);
    Some(
        runs.iter()
            .filter(|r| !r.intervals.is_empty())
            .map(|r| LinePanel {
                title: Some(r.label.clone()),
                x: x.clone(),
                y: y.clone(),
                series: region_series(r, per_region, largest),
                bands: bands(&r.phases),
            })
            .collect(),
    )
}

/// The replication backlog per region over time, a panel per run.
pub fn replication_backlog(runs: &[RunInput]) -> Option<Chart> {
    let panels = small_multiples(
        runs,
        Axis::new("backlog, entries", Scale::Linear),
        |i, r| {
            i.backlog_by_region
                .get(r)
                .copied()
                .flatten()
                .map(|v| v as f64)
        },
        |i| i.backlog.map(|v| v as f64),
    )?;
    Some(Chart {
        id: "replication-backlog".into(),
        title: "Replication backlog per region".into(),
        note: "Control-plane writes (new keys, deactivations, policies) that the slowest AZ \
               replica of each region had not applied yet, a panel per strategy and a line per \
               region. A stall or incident shows as a climb, its end as the drain."
            .into(),
        body: Body::Lines(panels),
    })
}

/// The replication lag (age of the oldest unapplied write) per region over
/// time, a panel per run.
pub fn replication_lag(runs: &[RunInput]) -> Option<Chart> {
    let panels = small_multiples(
        runs,
        Axis::new("oldest unapplied write, s", Scale::Linear),
        |i, r| {
            i.lag_ms_by_region
                .get(r)
                .copied()
                .flatten()
                .map(|v| v / 1000.0)
        },
        |i| i.lag_ms.map(|v| v / 1000.0),
    )?;
    Some(Chart {
        id: "replication-lag".into(),
        title: "Replication propagation delay per region".into(),
        note: "How old the oldest control-plane write not yet applied by a region's slowest AZ \
               replica was (simulated seconds), a panel per strategy and a line per region: how \
               long a revoked key could still be accepted there."
            .into(),
        body: Body::Lines(panels),
    })
}

/// The most rows of a heat map panel; a run with more series with errors
/// shows those with the most.
const MAX_HEAT_ROWS: usize = 30;

/// The most columns of a heat map row.
const MAX_CELLS: usize = 150;

/// `ServiceUnavailable` answers per service and region over time: a heat
/// map panel per run with any.
pub fn errors_by_service(runs: &[RunInput]) -> Option<Chart> {
    let mut panels = Vec::new();
    for r in runs {
        let mut series: Vec<&ServiceErrorsInput> = r
            .service_errors
            .iter()
            .filter(|s| s.errors.iter().any(|e| *e > 0))
            .collect();
        if series.is_empty() {
            continue;
        }
        let total = series.len();
        if total > MAX_HEAT_ROWS {
            // The series with the most errors (ties: the first).
            let errors =
                |s: &ServiceErrorsInput| s.errors.iter().map(|e| u64::from(*e)).sum::<u64>();
            series.sort_by_key(|s| std::cmp::Reverse(errors(s)));
            series.truncate(MAX_HEAT_ROWS);
        }
        let region_rank = |name: &str| {
            r.regions
                .iter()
                .position(|x| x == name)
                .unwrap_or(usize::MAX)
        };
        series.sort_by(|a, b| {
            region_rank(&a.region)
                .cmp(&region_rank(&b.region))
                .then_with(|| a.region.cmp(&b.region))
                .then_with(|| a.service.cmp(&b.service))
        });
        let rows = series
            .iter()
            .map(|s| HeatRow {
                name: format!("{} {}", s.region, s.service),
                cells: heat_cells(r, &s.errors, &s.responses),
            })
            .collect();
        panels.push(HeatPanel {
            title: Some(if total > MAX_HEAT_ROWS {
                format!(
                    "{} ({MAX_HEAT_ROWS} of {total} region-service series with errors: those \
                     with the most)",
                    r.label
                )
            } else {
                r.label.clone()
            }),
            x: time_axis(runs),
            value_label: "share answered ServiceUnavailable".into(),
            rows,
            bands: bands(&r.phases),
        });
    }
    if panels.is_empty() {
        return None;
    }
    Some(Chart {
        id: "errors".into(),
        title: "ServiceUnavailable answers per region and service".into(),
        note: "A row per region and service that answered any request ServiceUnavailable, a \
               panel per strategy: the darker a cell, the larger the share of that interval's \
               requests that failed. The strip on top shows the phases."
            .into(),
        body: Body::Heat(panels),
    })
}

/// Cells of one heat map row: intervals merged into columns of at least
/// [`MIN_BIN_S`] and at most [`MAX_CELLS`] of them, the share of errors in
/// each, those with any.
fn heat_cells(run: &RunInput, errors: &[u32], responses: &[u32]) -> Vec<(f64, f64, f64)> {
    let n = errors.len().min(responses.len());
    if n == 0 || run.interval_s <= 0.0 {
        return Vec::new();
    }
    let per = ((MIN_BIN_S / run.interval_s).ceil() as usize)
        .max(n.div_ceil(MAX_CELLS))
        .max(1);
    let mut cells = Vec::new();
    let mut i = 0;
    while i < n {
        let j = (i + per).min(n);
        let e: u64 = errors[i..j].iter().map(|v| u64::from(*v)).sum();
        let total: u64 = responses[i..j].iter().map(|v| u64::from(*v)).sum();
        if e > 0 {
            let start = i as f64 * run.interval_s;
            let end = (j as f64 * run.interval_s).min(run.duration_s.max(start));
            cells.push((start, end, e as f64 / total.max(e) as f64));
        }
        i = j;
    }
    cells
}

/// The runs side by side: throughput, and latency at p50, p99, p99.9 and
/// the largest.
pub fn strategies(runs: &[RunInput]) -> Option<Chart> {
    let shown: Vec<&RunInput> = runs
        .iter()
        .filter(|r| r.totals.achieved_rps > 0.0 || r.totals.max_us > 0.0)
        .collect();
    if shown.is_empty() {
        return None;
    }
    let categories: Vec<String> = shown.iter().map(|r| r.label.clone()).collect();
    let group = |name: &str, color: usize, f: &dyn Fn(&Totals) -> f64| BarGroup {
        name: name.to_string(),
        color,
        values: shown
            .iter()
            .map(|r| Some(f(&r.totals)).filter(|v| *v > 0.0))
            .collect(),
    };
    let throughput = BarPanel {
        title: Some("Throughput (higher is better)".into()),
        x: Axis::new("requests per second", Scale::Linear),
        categories: categories.clone(),
        groups: vec![
            group("offered", 7, &|t| t.offered_rps),
            group("achieved", 0, &|t| t.achieved_rps),
        ],
        format: ValueFormat::Rate,
        baseline: None,
        shade: None,
    };
    let latency = BarPanel {
        title: Some("Latency (lower is better)".into()),
        x: Axis::new("latency, ms (log scale)", Scale::Log),
        categories,
        groups: vec![
            group("p50", 2, &|t| t.p50_us / 1000.0),
            group("p99", 1, &|t| t.p99_us / 1000.0),
            group("p99.9", 3, &|t| t.p999_us / 1000.0),
            group("max", 4, &|t| t.max_us / 1000.0),
        ],
        format: ValueFormat::Ms,
        baseline: None,
        shade: None,
    };
    Some(Chart {
        id: "strategies".into(),
        title: "Strategies side by side".into(),
        note: "Throughput offered and achieved, and latency percentiles (log scale: each \
               gridline is ten times the one before), a row per strategy."
            .into(),
        body: Body::Bars(vec![throughput, latency]),
    })
}

/// One run label's figures in a comparison of two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareInput {
    /// The label.
    pub label: String,
    /// Factor of improvement from A to B per metric, in the order of
    /// [`COMPARE_METRICS`]: B/A for throughput, A/B for latencies, so that
    /// more than 1 is better; `None` when a side has no value.
    pub improvement: Vec<Option<f64>>,
}

/// The metrics of a comparison, in order.
pub const COMPARE_METRICS: [&str; 5] = ["throughput", "p50", "p99", "p99.9", "max"];

/// The comparison chart of two runs `a` and `b` (their names), with
/// `tolerance` (0.05 for 5 %) shaded as "same".
pub fn compare_chart(rows: &[CompareInput], a: &str, b: &str, tolerance: f64) -> Option<Chart> {
    if rows
        .iter()
        .all(|r| r.improvement.iter().all(Option::is_none))
    {
        return None;
    }
    let groups = COMPARE_METRICS
        .iter()
        .enumerate()
        .map(|(k, m)| BarGroup {
            name: (*m).to_string(),
            color: [0, 2, 1, 3, 4][k],
            values: rows
                .iter()
                .map(|r| r.improvement.get(k).copied().flatten().filter(|v| *v > 0.0))
                .collect(),
        })
        .collect();
    let tol = tolerance.max(0.0);
    Some(Chart {
        id: "compare".into(),
        title: format!("{b} against {a}"),
        note: format!(
            "How many times better B ({b}) is than A ({a}) per strategy and metric (log scale): \
             throughput B/A, latency A/B. Right of 1 is better, left is worse; the grey band is \
             'same' (within {:.0}%).",
            tol * 100.0
        ),
        body: Body::Bars(vec![BarPanel {
            title: Some("right of 1: B is better; left of 1: B is worse".into()),
            x: Axis::new("times better in B (log scale)", Scale::Log),
            categories: rows.iter().map(|r| r.label.clone()).collect(),
            groups,
            format: ValueFormat::Factor,
            baseline: Some(1.0),
            shade: Some((
                1.0 / (1.0 + tol),
                1.0 + tol,
                format!("same (within {:.0}%)", tol * 100.0),
            )),
        }]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::{svg, BandClass, Mark};

    fn run(label: &str, cached: bool) -> RunInput {
        let intervals = (0..20)
            .map(|k| IntervalInput {
                t_s: k as f64 * 0.5,
                achieved_rps: 1000.0 + k as f64,
                responses: if k == 7 { 0 } else { 500 },
                p99_us: 200.0 + 10.0 * k as f64,
                cache_hits: if cached { 90 } else { 0 },
                cache_misses: if cached { 10 } else { 0 },
                backlog_by_region: vec![Some(k), None, Some(2 * k)],
                lag_ms_by_region: vec![Some(100.0 * k as f64), None, Some(0.0)],
                backlog: Some(2 * k),
                lag_ms: Some(100.0 * k as f64),
            })
            .collect();
        let mut h = crate::metrics::histogram();
        for us in 1..=10_000u64 {
            h.record(us * 1000).unwrap();
        }
        RunInput {
            label: label.to_string(),
            duration_s: 10.0,
            interval_s: 0.5,
            regions: vec!["us-east-1".into(), "eu-north-1".into(), "me-south-1".into()],
            phases: vec![
                PhaseInput {
                    name: "steady".into(),
                    start_s: 0.0,
                    end_s: 2.0,
                },
                PhaseInput {
                    name: "storm: rotate_keys".into(),
                    start_s: 2.0,
                    end_s: 5.0,
                },
                PhaseInput {
                    name: "fault: regional_incident".into(),
                    start_s: 5.0,
                    end_s: 7.0,
                },
                PhaseInput {
                    name: "recovery".into(),
                    start_s: 7.0,
                    end_s: 10.0,
                },
            ],
            intervals,
            service_errors: vec![ServiceErrorsInput {
                region: "eu-north-1".into(),
                service: "s3".into(),
                errors: (0..20)
                    .map(|k| if (10..14).contains(&k) { 30 } else { 0 })
                    .collect(),
                responses: vec![100; 20],
            }],
            spectrum: spectrum(&h),
            p99_series: Vec::new(),
            totals: Totals {
                offered_rps: 1010.0,
                achieved_rps: 1009.0,
                p50_us: 5000.0,
                p99_us: 9900.0,
                p999_us: 9990.0,
                max_us: 10_000.0,
            },
        }
    }

    fn runs() -> Vec<RunInput> {
        vec![
            run("none", false),
            run("per-region", false),
            run("per-service", true),
        ]
    }

    /// The text of every `<text>` element of an SVG, trimmed.
    fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = t.split_once('>')?.1;
                Some(body.split_once("</text>")?.0.trim().replace("&quot;", "\""))
            })
            .collect()
    }

    /// The SVG holds the title, every axis label, every legend entry, and
    /// as many drawn elements as it should.
    fn check_svg(chart: &Chart) -> String {
        let text = svg(chart).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..100.min(text.len())]);
        let texts = svg_texts(&text);
        assert!(texts.contains(&chart.title), "title of {}", chart.id);
        let axes: Vec<String> = match &chart.body {
            crate::charts::Body::Lines(p) => p
                .iter()
                .flat_map(|p| [p.x.label.clone(), p.y.label.clone()])
                .collect(),
            crate::charts::Body::Bars(p) => p.iter().map(|p| p.x.label.clone()).collect(),
            crate::charts::Body::Heat(p) => p.iter().map(|p| p.x.label.clone()).collect(),
        };
        for label in axes {
            assert!(
                texts.contains(&label),
                "axis label {label:?} in {}",
                chart.id
            );
        }
        assert!(texts.iter().any(|t| t == "Legend"));
        for e in chart.legend() {
            assert!(
                texts.contains(&e.name),
                "legend entry {:?} in {}",
                e.name,
                chart.id
            );
        }
        assert!(chart.point_count() > 0, "{} is empty", chart.id);
        text
    }

    #[test]
    fn spectrum_runs_from_the_minimum_to_the_maximum_in_nines() {
        let mut h = crate::metrics::histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let s = spectrum(&h);
        // 3 decades at 20 points each, plus quantile 0 and the maximum.
        assert_eq!(s.len(), 61, "{s:?}");
        assert_eq!(s[0].0, 0.0);
        assert!((s[0].1 - 1.0).abs() < 0.01, "{:?}", s[0]);
        let (q, max) = *s.last().unwrap();
        assert!((q - 0.999).abs() < 1e-9, "{q}");
        assert!((max - 1000.0).abs() < 1.0, "{max}");
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert!(spectrum(&crate::metrics::histogram()).is_empty());
        let p = spectrum_from_percentiles(10.0, 20.0, 30.0, 40.0, 50.0, 100);
        assert_eq!(p, vec![(0.5, 10.0), (0.9, 20.0), (0.99, 50.0)]);
    }

    #[test]
    fn the_spectrum_has_a_line_per_run_and_draws() {
        let chart = latency_spectrum(&runs()).unwrap();
        assert_eq!(chart.series_names(), ["none", "per-region", "per-service"]);
        let crate::charts::Body::Lines(panels) = &chart.body else {
            panic!("lines");
        };
        assert_eq!(panels[0].series[0].points.len(), 81);
        assert_eq!(panels[0].x.scale, Scale::Nines);
        let text = check_svg(&chart);
        if let Ok(dir) = std::env::var("SIGSTORM_CHART_DUMP") {
            let (charts, _) = run_charts(&runs());
            for c in charts {
                crate::charts::write_files(&c, std::path::Path::new(&dir)).unwrap();
            }
        }
        let texts = svg_texts(&text);
        for tick in ["0%", "90%", "99%", "99.9%", "99.99%"] {
            assert!(texts.iter().any(|t| t == tick), "tick {tick} in {texts:?}");
        }
    }

    #[test]
    fn over_time_charts_hold_a_point_per_interval_and_the_phases() {
        let runs = runs();
        let chart = throughput_over_time(&runs).unwrap();
        assert_eq!(chart.series_names(), ["none", "per-region", "per-service"]);
        assert_eq!(chart.point_count(), 60);
        let legend = chart.legend();
        let names: Vec<&str> = legend.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "none",
                "per-region",
                "per-service",
                "storm: rotate_keys",
                "fault: regional_incident",
                "recovery"
            ]
        );
        assert_eq!(legend[3].mark, Mark::Band(BandClass::Storm, 0));
        assert_eq!(legend[4].mark, Mark::Band(BandClass::Fault, 0));
        check_svg(&chart);

        // Interval 7 had no response: a gap in every p99 line.
        let chart = p99_over_time(&runs).unwrap();
        assert_eq!(chart.point_count(), 57);
        check_svg(&chart);

        let chart = cache_hit_ratio(&runs).unwrap();
        assert_eq!(chart.series_names(), ["per-service"]);
        assert_eq!(chart.point_count(), 20);
        check_svg(&chart);
        assert!(cache_hit_ratio(&runs[..2]).is_none());
    }

    #[test]
    fn replication_and_error_charts_have_a_panel_per_run() {
        let runs = runs();
        let chart = replication_backlog(&runs).unwrap();
        assert_eq!(
            chart.series_names(),
            ["us-east-1", "eu-north-1", "me-south-1"]
        );
        let crate::charts::Body::Lines(panels) = &chart.body else {
            panic!("lines");
        };
        assert_eq!(panels.len(), 3);
        // eu-north-1 was never sampled: no points.
        assert_eq!(chart.point_count(), 3 * 40);
        check_svg(&chart);
        check_svg(&replication_lag(&runs).unwrap());

        let chart = errors_by_service(&runs).unwrap();
        assert_eq!(chart.series_names(), ["eu-north-1 s3"]);
        assert_eq!(chart.point_count(), 3 * 4);
        let crate::charts::Body::Heat(panels) = &chart.body else {
            panic!("heat");
        };
        assert_eq!(panels[0].rows[0].cells[0], (5.0, 5.5, 0.3));
        check_svg(&chart);

        // 40 series with errors: the 30 with the most are drawn.
        let mut many = run("none", false);
        many.service_errors = (0..40)
            .map(|k| ServiceErrorsInput {
                region: format!("r-{k:02}"),
                service: "s3".into(),
                errors: vec![k + 1; 20],
                responses: vec![100; 20],
            })
            .collect();
        let chart = errors_by_service(&[many]).unwrap();
        let names = chart.series_names();
        assert_eq!(names.len(), 30);
        assert_eq!(names[0], "r-10 s3");
        let crate::charts::Body::Heat(panels) = &chart.body else {
            panic!("heat");
        };
        assert!(panels[0].title.as_deref().unwrap().contains("30 of 40"));

        // Nothing happened: nothing to draw.
        let mut quiet = run("per-region", false);
        quiet.service_errors.clear();
        for i in &mut quiet.intervals {
            i.backlog_by_region = vec![Some(0); 3];
            i.lag_ms_by_region = vec![Some(0.0); 3];
            i.backlog = Some(0);
            i.lag_ms = Some(0.0);
        }
        let (charts, skipped) = run_charts(&[quiet]);
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "strategies",
                "latency-spectrum",
                "throughput",
                "latency-p99"
            ]
        );
        let left: Vec<&str> = skipped.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            left,
            [
                "cache-hit-ratio",
                "errors",
                "replication-backlog",
                "replication-lag"
            ]
        );
    }

    #[test]
    fn bars_put_the_runs_side_by_side_and_compare_marks_same() {
        let chart = strategies(&runs()).unwrap();
        assert_eq!(
            chart.series_names(),
            ["offered", "achieved", "p50", "p99", "p99.9", "max"]
        );
        assert_eq!(chart.point_count(), 3 * 6);
        let texts = svg_texts(&check_svg(&chart));
        assert!(texts.iter().any(|t| t == "per-service"), "category labels");
        assert!(
            texts.iter().any(|t| t == "9.90ms"),
            "bar values are written"
        );

        let rows = vec![
            CompareInput {
                label: "per-region".into(),
                improvement: vec![Some(1.0), Some(2.0), Some(0.5), None, Some(1.01)],
            },
            CompareInput {
                label: "per-service".into(),
                improvement: vec![Some(1.2); 5],
            },
        ];
        let chart = compare_chart(&rows, "run-a", "run-b", 0.05).unwrap();
        assert_eq!(chart.point_count(), 9);
        let texts = svg_texts(&check_svg(&chart));
        assert!(texts.iter().any(|t| t == "same (within 5%)"));
        assert!(texts.iter().any(|t| t == "2.00x"));
        assert!(compare_chart(&[], "a", "b", 0.05).is_none());
    }

    #[test]
    fn short_intervals_are_binned_and_log_p99s_preferred() {
        // 100 intervals of 0.1 s: bins of 5 (half a second), 20 points.
        let mut r = run("per-service", true);
        r.interval_s = 0.1;
        r.intervals = (0..100)
            .map(|k| IntervalInput {
                t_s: k as f64 * 0.1,
                achieved_rps: if k % 2 == 0 { 900.0 } else { 1100.0 },
                responses: 100,
                p99_us: 100.0 + k as f64,
                cache_hits: 9,
                cache_misses: 1,
                backlog_by_region: vec![Some(k), None, None],
                lag_ms_by_region: vec![Some(1.0), None, None],
                backlog: Some(k),
                lag_ms: Some(1.0),
            })
            .collect();
        let bins = binned(&r);
        assert_eq!(bins.len(), 20);
        let (t, first) = &bins[0];
        assert!((t - 0.25).abs() < 1e-9, "{t}");
        assert!(
            (first.achieved_rps - 980.0).abs() < 1e-6,
            "{}",
            first.achieved_rps
        );
        assert_eq!(first.responses, 500);
        assert_eq!(first.p99_us, 104.0);
        assert_eq!((first.cache_hits, first.cache_misses), (45, 5));
        assert_eq!(first.backlog_by_region, [Some(4), None, None]);
        let runs = [r.clone()];
        assert_eq!(throughput_over_time(&runs).unwrap().point_count(), 20);
        // Without log histograms, the p99 over time is the bins' largest.
        assert_eq!(p99_over_time(&runs).unwrap().point_count(), 20);
        // With them, one point per log interval (a gap where none answered).
        r.p99_series = vec![(0.5, 120.0), (1.5, f64::NAN), (2.5, 140.0)];
        let chart = p99_over_time(&[r]).unwrap();
        assert_eq!(chart.point_count(), 2);
        let Body::Lines(panels) = &chart.body else {
            panic!("lines");
        };
        assert_eq!(panels[0].series[0].points[0], (0.5, 0.12));
    }

    #[test]
    fn pngs_are_written() {
        let dir = std::env::temp_dir().join(format!("sigstorm-charts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (charts, _) = run_charts(&runs());
        assert_eq!(charts.len(), 8);
        for c in &charts {
            crate::charts::write_files(c, &dir).unwrap();
            let png = std::fs::read(dir.join(format!("{}.png", c.id))).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            assert!(png.len() > 5000, "{} PNG is {} bytes", c.id, png.len());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
