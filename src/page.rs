//! The report of a results folder, for people: `report.html` (one
//! self-contained file: inline CSS and SVG, nothing fetched), `summary.md`
//! (short enough to paste into a pull request), and every chart as
//! `<chart>.svg` and `<chart>.png`. Written after every run, and again by
//! `sigstorm report DIR` from what the folder holds (nothing is re-run).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use hdrhistogram::Histogram;
use serde::Deserialize;

use crate::charts::build::{
    run_charts, spectrum, spectrum_from_percentiles, IntervalInput, PhaseInput, RunInput,
    ServiceErrorsInput, Skipped, Totals,
};
use crate::charts::{write_files, Chart};
use crate::hlog::LogEntry;
use crate::report::{human_rate, human_us};
use crate::rundir::{RunData, HISTOGRAMS_FILE, SUMMARY_FILE};
use crate::summary::{Measured, PhaseSummary, RunSummary, Summary};

/// The report's HTML file name.
pub const HTML_FILE: &str = "report.html";
/// The Markdown summary's file name.
pub const MARKDOWN_FILE: &str = "summary.md";
/// The health events' file name.
pub const EVENTS_FILE: &str = "events.json";

/// Runs whose throughput is within this share of the best compete on
/// latency for the headline.
const THROUGHPUT_TIE: f64 = 0.05;
/// Winners whose p99 is within this share of the runner-up's are called
/// close.
const CLOSE_P99: f64 = 0.10;

/// A run's headline figures.
#[derive(Clone, Debug, PartialEq)]
pub struct RunTotals {
    /// The run's label.
    pub label: String,
    /// Requests offered per second.
    pub offered_rps: f64,
    /// Responses per second.
    pub achieved_rps: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// 99.9th percentile, microseconds.
    pub p999_us: f64,
    /// Largest, microseconds.
    pub max_us: f64,
    /// Stale accepts plus unexpected rejections and accepts: must be 0.
    pub defects: u64,
    /// Whether an interrupt cut it short.
    pub interrupted: bool,
}

impl RunTotals {
    /// The totals of a run of a summary.
    pub fn of(run: &RunSummary) -> RunTotals {
        let f = &run.figures;
        RunTotals {
            label: run.label.clone(),
            offered_rps: f.offered_rps,
            achieved_rps: f.achieved_rps,
            p50_us: f.latency_us.p50,
            p99_us: f.latency_us.p99,
            p999_us: f.latency_us.p999,
            max_us: f.latency_us.max,
            defects: f.stale_accepts + f.unexpected_rejections + f.unexpected_accepts,
            interrupted: run.interrupted,
        }
    }
}

/// A factor for sentences: `1.03x`, `3.1x`, `40x`, `1/40`, `0.85x`.
pub fn factor_text(r: f64) -> String {
    if !r.is_finite() || r <= 0.0 {
        return "-".to_string();
    }
    if r >= 1.0 {
        if r < 1.1 {
            format!("{r:.2}x")
        } else if r < 10.0 {
            format!("{r:.1}x")
        } else {
            format!("{}x", sig2(r))
        }
    } else if r <= 0.5 {
        format!("1/{}", sig2(1.0 / r))
    } else {
        format!("{r:.2}x")
    }
}

/// `v` rounded to two significant digits, without decimals when 10 or more.
fn sig2(v: f64) -> String {
    if v < 10.0 {
        return format!("{v:.1}");
    }
    let p = 10f64.powf(v.log10().floor() - 1.0);
    format!("{:.0}", (v / p).round() * p)
}

/// The headline: which run wins, by how much, and against what. The
/// winner has the most throughput (runs within 5 % of the best count as
/// tied) and, among those, the lowest p99; runs that failed a correctness
/// check cannot win, and runs cut short by an interrupt are ranked only when
/// no run finished.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    /// The winner's label (`None` when nothing was measured).
    pub winner: Option<String>,
    /// The sentence.
    pub text: String,
}

/// The headline of `runs`.
pub fn headline(runs: &[RunTotals]) -> Headline {
    let faulty: Vec<&RunTotals> = runs.iter().filter(|r| r.defects > 0).collect();
    let mut eligible: Vec<&RunTotals> = runs
        .iter()
        .filter(|r| r.defects == 0 && r.achieved_rps > 0.0)
        .collect();
    // A run cut short by an interrupt measured less: rank it only when no
    // run finished.
    let unranked: Vec<&str> = if eligible.iter().any(|r| !r.interrupted) {
        let cut: Vec<&str> = eligible
            .iter()
            .filter(|r| r.interrupted)
            .map(|r| r.label.as_str())
            .collect();
        eligible.retain(|r| !r.interrupted);
        cut
    } else {
        Vec::new()
    };
    let mut text = String::new();
    let winner = if eligible.is_empty() {
        text.push_str("No strategy answered requests without a correctness failure.");
        None
    } else {
        let best_rps = eligible.iter().map(|r| r.achieved_rps).fold(0.0, f64::max);
        let mut contenders: Vec<&RunTotals> = eligible
            .iter()
            .copied()
            .filter(|r| r.achieved_rps >= (1.0 - THROUGHPUT_TIE) * best_rps)
            .collect();
        contenders.sort_by(|a, b| a.p99_us.total_cmp(&b.p99_us));
        // The best run is among the contenders (`eligible` is not empty).
        let w = contenders.first().copied().unwrap_or(eligible[0]);
        // The baseline: `none` (the strategy without derived keys), else
        // the worst eligible run.
        let base = eligible
            .iter()
            .copied()
            .find(|r| r.label == "none" && r.label != w.label)
            .or_else(|| {
                eligible
                    .iter()
                    .copied()
                    .filter(|r| r.label != w.label)
                    .min_by(|a, b| {
                        a.achieved_rps
                            .total_cmp(&b.achieved_rps)
                            .then(b.p99_us.total_cmp(&a.p99_us))
                    })
            });
        match base {
            None => {
                let _ = write!(
                    text,
                    "{}: {} responses per second at a p99 of {} (the only strategy {}).",
                    w.label,
                    human_rate(w.achieved_rps),
                    human_us(w.p99_us),
                    if unranked.is_empty() {
                        "measured"
                    } else {
                        "that ran to the end"
                    }
                );
            }
            Some(b) => {
                let tp = w.achieved_rps / b.achieved_rps.max(f64::MIN_POSITIVE);
                let tp_text = if (tp - 1.0).abs() < 0.01 {
                    format!("the same throughput as {}", b.label)
                } else {
                    format!("{} the throughput of {}", factor_text(tp), b.label)
                };
                let lat = w.p99_us / b.p99_us.max(f64::MIN_POSITIVE);
                let _ = write!(
                    text,
                    "{} wins: {tp_text} at {} the p99 ({} against {}).",
                    w.label,
                    factor_text(lat),
                    human_us(w.p99_us),
                    human_us(b.p99_us)
                );
                if let Some(second) = contenders.get(1) {
                    let close = second.p99_us <= w.p99_us * (1.0 + CLOSE_P99);
                    if second.label != b.label {
                        let _ = write!(
                            text,
                            " Runner-up: {} (p99 {}, {} the winner's){}.",
                            second.label,
                            human_us(second.p99_us),
                            factor_text(second.p99_us / w.p99_us.max(f64::MIN_POSITIVE)),
                            if close {
                                "; that close, repeat the run before trusting the order"
                            } else {
                                ""
                            }
                        );
                    } else if close {
                        text.push_str(" That close, repeat the run before trusting the order.");
                    }
                }
            }
        }
        Some(w.label.clone())
    };
    for f in faulty {
        let _ = write!(
            text,
            " {} FAILED the correctness check: {} stale accepts or unexpected decisions.",
            f.label, f.defects
        );
    }
    if runs.iter().any(|r| r.interrupted) {
        text.push_str(" The run was interrupted: the figures cover what was measured");
        if unranked.is_empty() {
            text.push('.');
        } else {
            let _ = write!(
                text,
                ", and {} (cut short) is not ranked.",
                unranked.join(", ")
            );
        }
    }
    Headline { winner, text }
}

/// One run's figures in one phase.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseCell {
    /// The run's label.
    pub label: String,
    /// Responses per second in the phase.
    pub achieved_rps: f64,
    /// p99 latency of requests intended in it, microseconds.
    pub p99_us: f64,
    /// The run's p99 in its `steady` phase, microseconds.
    pub steady_p99_us: Option<f64>,
    /// `ServiceUnavailable` answers.
    pub errors: u64,
    /// Responses.
    pub responses: u64,
    /// Stale accepts (defects).
    pub stale: u64,
    /// Exposure accepts (eventual consistency).
    pub exposure: u64,
}

/// One phase across runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseRow {
    /// `storm: rotate_keys`.
    pub name: String,
    /// Seconds from the start of measurement.
    pub start_s: f64,
    /// Seconds from the start of measurement.
    pub end_s: f64,
    /// Per run that has the phase.
    pub cells: Vec<PhaseCell>,
}

/// Responses counted in `m`'s outcomes (`denied` is the sum of two others).
fn responses(m: &Measured) -> u64 {
    m.outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != "denied")
        .map(|(_, v)| *v)
        .sum()
}

/// The phases other than `steady` of the runs of `summary`, each with every
/// run's figures in it.
pub fn phase_rows(summary: &Summary) -> Vec<PhaseRow> {
    let Some(longest) = summary
        .runs
        .iter()
        .max_by(|a, b| a.duration_s.total_cmp(&b.duration_s))
    else {
        return Vec::new();
    };
    // The same phase in each run: same name, same occurrence of that name
    // (a phase placed on the simulated clock, such as the midnight roll,
    // starts a few milliseconds apart from run to run).
    let occurrence = |phases: &[PhaseSummary], i: usize| {
        phases[..i]
            .iter()
            .filter(|q| q.name == phases[i].name)
            .count()
    };
    longest
        .phases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.name != "steady")
        .map(|(i, p)| (p, occurrence(&longest.phases, i)))
        .map(|(p, nth)| PhaseRow {
            name: p.name.clone(),
            start_s: p.start_s,
            end_s: p.end_s,
            cells: summary
                .runs
                .iter()
                .filter_map(|r| {
                    let q = r.phases.iter().filter(|q| q.name == p.name).nth(nth)?;
                    let f = &q.figures;
                    Some(PhaseCell {
                        label: r.label.clone(),
                        achieved_rps: f.achieved_rps,
                        p99_us: f.latency_us.p99,
                        steady_p99_us: r
                            .phases
                            .iter()
                            .find(|s| s.name == "steady")
                            .map(|s| s.figures.latency_us.p99)
                            .filter(|v| *v > 0.0),
                        errors: f.outcomes.get("ServiceUnavailable").copied().unwrap_or(0),
                        responses: responses(f),
                        stale: f.stale_accepts,
                        exposure: f.exposure_accepts,
                    })
                })
                .collect(),
        })
        .collect()
}

/// What a phase did to one run, in words: `p99 2.1ms (12x steady), 4.1%
/// ServiceUnavailable`.
pub fn phase_effect(c: &PhaseCell) -> String {
    let mut parts = Vec::new();
    let ratio = c.steady_p99_us.map(|s| c.p99_us / s);
    match ratio {
        Some(r) if (0.8..=1.25).contains(&r) => {
            parts.push(format!("p99 {} (as steady)", human_us(c.p99_us)));
        }
        Some(r) => parts.push(format!(
            "p99 {} ({} steady)",
            human_us(c.p99_us),
            factor_text(r)
        )),
        None => parts.push(format!("p99 {}", human_us(c.p99_us))),
    }
    if c.errors > 0 {
        let share = c.errors as f64 / c.responses.max(1) as f64;
        parts.push(format!(
            "{} ServiceUnavailable ({:.1}%)",
            c.errors,
            share * 100.0
        ));
    }
    if c.exposure > 0 {
        parts.push(format!("{} exposure accepts", c.exposure));
    }
    if c.stale > 0 {
        parts.push(format!("{} STALE accepts", c.stale));
    }
    parts.join(", ")
}

/// A health event as read back from `events.json` (the fields the report
/// shows).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventRow {
    /// The run's label.
    pub strategy: String,
    /// Region code.
    pub region: String,
    /// `s3-eu-north-1`.
    pub service: String,
    /// `errors` or `latency`.
    pub kind: String,
    /// `resolved` or `open`.
    pub status: String,
    /// The headline.
    pub summary: String,
    /// In words.
    pub description: String,
    /// Start, seconds from the start of measurement.
    pub start_s: f64,
    /// End, seconds from the start of measurement.
    pub end_s: f64,
    /// Start, simulated UTC.
    pub start_utc: String,
    /// End, simulated UTC.
    pub end_utc: String,
    /// Peak share of `ServiceUnavailable`.
    pub peak_error_rate: f64,
    /// Peak p99, milliseconds.
    pub peak_p99_ms: f64,
}

/// The health events of a results folder (none when it has no
/// `events.json`).
///
/// # Errors
///
/// A file that cannot be read or parsed.
pub fn read_events(dir: &Path) -> Result<Vec<EventRow>> {
    let path = dir.join(EVENTS_FILE);
    if !path.is_file() {
        anyhow::bail!(
            "{} is missing, so this run's health events are unknown (a run writes it after \
             each strategy)",
            path.display()
        );
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
}

/// The chart inputs of a results folder's runs: the summary's time series
/// and phases, and each run's latency spectrum from its histograms (from
/// its percentiles when the folder has none).
pub fn chart_inputs(data: &RunData) -> Vec<RunInput> {
    let latency = data.latency_by_label();
    data.summary
        .runs
        .iter()
        .map(|r| {
            let f = &r.figures;
            let spectrum_points = latency
                .iter()
                .find(|(label, h)| *label == r.label && !h.is_empty())
                .map(|(_, h)| spectrum(h))
                .unwrap_or_else(|| {
                    let l = &f.latency_us;
                    spectrum_from_percentiles(
                        l.p50,
                        l.p90,
                        l.p99,
                        l.p999,
                        l.max,
                        r.intervals.iter().map(|i| i.responses).sum(),
                    )
                });
            RunInput {
                label: r.label.clone(),
                duration_s: r.duration_s,
                interval_s: r.interval_s,
                regions: r.regions.iter().map(|g| g.region.clone()).collect(),
                phases: r
                    .phases
                    .iter()
                    .map(|p| PhaseInput {
                        name: p.name.clone(),
                        start_s: p.start_s,
                        end_s: p.end_s,
                    })
                    .collect(),
                intervals: r
                    .intervals
                    .iter()
                    .map(|i| IntervalInput {
                        t_s: i.t_s,
                        achieved_rps: i.achieved_rps,
                        responses: i.responses,
                        p99_us: i.latency_us.p99,
                        cache_hits: i.cache_hits,
                        cache_misses: i.cache_misses,
                        backlog_by_region: i.backlog_by_region.clone(),
                        lag_ms_by_region: i.lag_ms_by_region.clone(),
                        backlog: i.backlog,
                        lag_ms: i.lag_ms,
                    })
                    .collect(),
                service_errors: r
                    .service_errors
                    .iter()
                    .map(|s| ServiceErrorsInput {
                        region: s.region.clone(),
                        service: s.service.signing_name().to_string(),
                        errors: s.errors.clone(),
                        responses: s.responses.clone(),
                    })
                    .collect(),
                spectrum: spectrum_points,
                p99_series: p99_per_interval(&data.histograms, &r.label),
                totals: Totals {
                    offered_rps: f.offered_rps,
                    achieved_rps: f.achieved_rps,
                    p50_us: f.latency_us.p50,
                    p99_us: f.latency_us.p99,
                    p999_us: f.latency_us.p999,
                    max_us: f.latency_us.max,
                },
            }
        })
        .collect()
}

/// The p99 latency of run `label` per log interval, every region's
/// histogram of the interval merged: `(midpoint, microseconds)`, `NaN` for an
/// interval without responses.
pub fn p99_per_interval(entries: &[LogEntry], label: &str) -> Vec<(f64, f64)> {
    let mut merged: BTreeMap<i64, (f64, f64, Histogram<u64>)> = BTreeMap::new();
    for e in entries {
        if crate::hlog::split_tag(&e.tag).map(|(l, _)| l) != Some(label) {
            continue;
        }
        let key = (e.start_s * 1000.0).round() as i64;
        match merged.get_mut(&key) {
            Some((_, _, h)) => {
                // Auto-resizing: adding cannot run out of range.
                let _ = h.add(&e.histogram);
            }
            None => {
                let mut h = e.histogram.clone();
                h.auto(true);
                merged.insert(key, (e.start_s, e.duration_s, h));
            }
        }
    }
    merged
        .into_values()
        .map(|(start, duration, h)| {
            let p99 = if h.is_empty() {
                f64::NAN
            } else {
                h.value_at_quantile(0.99) as f64 / 1000.0
            };
            (start + duration / 2.0, p99)
        })
        .collect()
}

/// Load a results folder for a report: [`crate::rundir::load`], or only
/// its `summary.json` when it has no `histograms.hlog` (an older run: the
/// latency spectrum then comes from the percentiles).
///
/// # Errors
///
/// The folder holds no readable `summary.json`, or a broken log.
pub fn load(dir: &Path) -> Result<RunData> {
    if dir.join(HISTOGRAMS_FILE).is_file() || !dir.join(SUMMARY_FILE).is_file() {
        return crate::rundir::load(dir);
    }
    Ok(RunData {
        dir: dir.to_path_buf(),
        summary: read_summary(dir)?,
        histograms: Vec::new(),
    })
}

/// Read and parse `dir/summary.json`.
///
/// # Errors
///
/// The folder holds none, or it cannot be read or parsed.
pub fn read_summary(dir: &Path) -> Result<Summary> {
    let path = dir.join(SUMMARY_FILE);
    if !path.is_file() {
        anyhow::bail!(
            "{} holds no {SUMMARY_FILE}: not a sigstorm results folder (sigstorm run writes one)",
            dir.display()
        );
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
}

/// What [`write_report`] wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// Every file written, `report.html` first.
    pub files: Vec<PathBuf>,
    /// Charts left out (nothing to show), with the reason.
    pub skipped: Vec<Skipped>,
    /// Charts that could not be drawn, in words (the rest of the report
    /// was written).
    pub failures: Vec<String>,
}

/// Every chart id a report may write; files of those a report leaves out are
/// removed, so a regenerated report never shows a stale chart beside it.
const CHART_IDS: [&str; 8] = [
    "strategies",
    "latency-spectrum",
    "throughput",
    "latency-p99",
    "cache-hit-ratio",
    "errors",
    "replication-backlog",
    "replication-lag",
];

/// Write the report of `data` into its folder: every chart as SVG and PNG,
/// `report.html` and `summary.md`.
///
/// # Errors
///
/// When `report.html` or `summary.md` cannot be written (a chart that
/// cannot be drawn is reported in [`Written::failures`] instead).
pub fn write_report(data: &RunData) -> Result<Written> {
    let dir = &data.dir;
    let inputs = chart_inputs(data);
    let (charts, skipped) = run_charts(&inputs);
    let mut files = vec![dir.join(HTML_FILE), dir.join(MARKDOWN_FILE)];
    let mut drawn: Vec<(Chart, String)> = Vec::new();
    let mut failures = Vec::new();
    for chart in charts {
        match write_files(&chart, dir) {
            Ok(svg) => {
                files.push(dir.join(format!("{}.svg", chart.id)));
                files.push(dir.join(format!("{}.png", chart.id)));
                drawn.push((chart, svg));
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    for id in CHART_IDS {
        if !drawn.iter().any(|(c, _)| c.id == id) {
            for ext in ["svg", "png"] {
                let _ = std::fs::remove_file(dir.join(format!("{id}.{ext}")));
            }
        }
    }
    let (events, events_error) = match read_events(dir) {
        Ok(e) => (e, None),
        Err(e) => (Vec::new(), Some(format!("{e:#}"))),
    };
    let html = html(
        &data.summary,
        &events,
        &drawn,
        &skipped,
        &failures,
        events_error.as_deref(),
        data.histograms.is_empty(),
    );
    let path = dir.join(HTML_FILE);
    crate::summary::write_atomically(&path, html.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let md = markdown(&data.summary, &events, events_error.as_deref());
    let path = dir.join(MARKDOWN_FILE);
    crate::summary::write_atomically(&path, md.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Written {
        files,
        skipped,
        failures,
    })
}

/// Escape text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape text for a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn hit_ratio(r: &RunSummary) -> String {
    r.figures
        .cache
        .hit_ratio
        .map_or("-".to_string(), |h| format!("{:.2}%", h * 100.0))
}

fn unavailable(m: &Measured) -> u64 {
    m.outcomes.get("ServiceUnavailable").copied().unwrap_or(0)
}

/// The one-line description of the workload as run.
fn workload_line(s: &Summary) -> String {
    let w = &s.workload;
    format!(
        "workload {} (seed {}): {} region{} x {} AZ replicas, {} users, {} req/s offered ({}), \
         {} s measured per strategy after {} s of warm-up, {} crypto",
        w.name,
        s.seed,
        w.regions.len(),
        if w.regions.len() == 1 { "" } else { "s" },
        w.data_plane.azs,
        w.principals.users,
        human_rate(w.load.rate_per_sec),
        serde_json::to_value(w.load.arrival)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        w.run.duration_s,
        w.run.warmup_s,
        w.crypto
    )
}

/// The schedule's events, one line each: `at 10 s: rotate_keys count=20`.
fn schedule_lines(s: &Summary) -> Vec<String> {
    s.workload
        .schedule
        .iter()
        .map(|e| {
            let fields = serde_json::to_value(e)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| k.as_str() != "kind" && k.as_str() != "at_s")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            format!("at {} s: {} {}", e.at_s(), e.kind(), fields)
                .trim_end()
                .to_string()
        })
        .collect()
}

/// The scheduling stalls (hiccups) per run, in words; `None` when no run measured
/// them (files written before the hiccup meter).
fn hiccups_line(s: &Summary) -> Option<String> {
    let parts: Vec<String> = s
        .runs
        .iter()
        .filter_map(|r| {
            r.platform_hiccups_us.map(|h| {
                format!(
                    "{}: p50 {}, p99 {}, p99.9 {}, max {}",
                    r.label,
                    human_us(h.p50),
                    human_us(h.p99),
                    human_us(h.p999),
                    human_us(h.max)
                )
            })
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "how long a thread waking every 1 ms waited for a core over the measured window \
             (percentiles over time): scheduling that any waking data-plane thread meets too; {}",
            parts.join("; ")
        )
    })
}

fn environment_line(s: &Summary) -> String {
    let e = &s.environment;
    format!(
        "{}, {} cores, {}, {}, commit {}, {} build, {}",
        e.cpu, e.cores, e.os, e.rustc, e.git_commit, e.profile, s.sigstorm_version
    )
}

/// `summary.md`: the headline, a table of the runs, what each storm or
/// fault did and the incidents, short enough for a pull request.
pub fn markdown(s: &Summary, events: &[EventRow], events_error: Option<&str>) -> String {
    let totals: Vec<RunTotals> = s.runs.iter().map(RunTotals::of).collect();
    let head = headline(&totals);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### sigstorm `{}`: run `{}`\n",
        md_cell(&s.workload.name),
        md_cell(&s.run_id)
    );
    let _ = writeln!(out, "**{}**\n", md_cell(&head.text));
    let _ = writeln!(
        out,
        "| strategy | achieved/s | p50 | p99 | p99.9 | max | hit ratio | ServiceUnavailable | stale |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for r in &s.runs {
        let f = &r.figures;
        let name = if head.winner.as_deref() == Some(r.label.as_str()) {
            format!("**{}**", md_cell(&r.label))
        } else {
            md_cell(&r.label)
        };
        let _ = writeln!(
            out,
            "| {name}{} | {} | {} | {} | {} | {} | {} | {} | {} |",
            if r.interrupted { " (interrupted)" } else { "" },
            human_rate(f.achieved_rps),
            human_us(f.latency_us.p50),
            human_us(f.latency_us.p99),
            human_us(f.latency_us.p999),
            human_us(f.latency_us.max),
            hit_ratio(r),
            unavailable(f),
            f.stale_accepts
        );
    }
    let phases = phase_rows(s);
    if !phases.is_empty() {
        let _ = writeln!(out, "\nStorms and faults:");
        for p in &phases {
            let effects: Vec<String> = p
                .cells
                .iter()
                .map(|c| format!("{}: {}", c.label, phase_effect(c)))
                .collect();
            let _ = writeln!(
                out,
                "- `{}` ({:.1}-{:.1} s): {}",
                md_cell(&p.name),
                p.start_s,
                p.end_s,
                md_cell(&effects.join("; "))
            );
        }
    }
    if let Some(e) = events_error {
        let _ = writeln!(out, "\nHealth events unknown: {e}.");
    } else if events.is_empty() {
        let _ = writeln!(out, "\nNo incidents detected.");
    } else {
        let _ = writeln!(
            out,
            "\n{} incident{} detected (details in `events.json`):",
            events.len(),
            if events.len() == 1 { "" } else { "s" }
        );
        const SHOWN: usize = 6;
        for e in events.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "- {} `{}` {:.1}-{:.1} s: {} ({})",
                md_cell(&e.strategy),
                md_cell(&e.service),
                e.start_s,
                e.end_s,
                md_cell(&e.summary),
                event_peak(e)
            );
        }
        if events.len() > SHOWN {
            let _ = writeln!(out, "- ... and {} more", events.len() - SHOWN);
        }
    }
    if let Some(line) = hiccups_line(s) {
        let _ = writeln!(out, "\nScheduling stalls (hiccups): {}.", md_cell(&line));
    }
    let _ = writeln!(
        out,
        "\n<sub>{}; {}. Full report: `report.html`.</sub>",
        md_cell(&workload_line(s)),
        md_cell(&environment_line(s))
    );
    out
}

/// Health events of one strategy, region, kind and status, merged.
#[derive(Clone, Debug, PartialEq)]
pub struct EventGroup {
    /// The run's label.
    pub strategy: String,
    /// Region code.
    pub region: String,
    /// The summary line, without `[RESOLVED]`.
    pub summary: String,
    /// `resolved` or `open`.
    pub status: String,
    /// The services, as their short names (`s3`, `elasticloadbalancing`).
    pub services: Vec<String>,
    /// The earliest start, seconds from the start of measurement.
    pub start_s: f64,
    /// The latest end.
    pub end_s: f64,
    /// The earliest start, simulated UTC.
    pub start_utc: String,
    /// The latest end, simulated UTC.
    pub end_utc: String,
    /// The highest peak, in words.
    pub peak: String,
}

/// The events grouped by strategy, region, kind and status, in order of
/// first appearance.
pub fn event_groups(events: &[EventRow]) -> Vec<EventGroup> {
    let mut groups: Vec<(EventGroup, f64)> = Vec::new();
    for e in events {
        let service = e
            .service
            .strip_suffix(e.region.as_str())
            .and_then(|s| s.strip_suffix('-'))
            .unwrap_or(&e.service)
            .to_string();
        let peak_value = if e.kind == "errors" {
            e.peak_error_rate
        } else {
            e.peak_p99_ms
        };
        let summary = e
            .summary
            .trim_start_matches("[RESOLVED]")
            .trim()
            .to_string();
        match groups.iter_mut().find(|(g, _)| {
            g.strategy == e.strategy
                && g.region == e.region
                && g.summary == summary
                && g.status == e.status
        }) {
            Some((g, peak)) => {
                if !g.services.contains(&service) {
                    g.services.push(service);
                }
                if e.start_s < g.start_s {
                    g.start_s = e.start_s;
                    g.start_utc.clone_from(&e.start_utc);
                }
                if e.end_s > g.end_s {
                    g.end_s = e.end_s;
                    g.end_utc.clone_from(&e.end_utc);
                }
                if peak_value > *peak {
                    *peak = peak_value;
                    g.peak = event_peak(e);
                }
            }
            None => groups.push((
                EventGroup {
                    strategy: e.strategy.clone(),
                    region: e.region.clone(),
                    summary,
                    status: e.status.clone(),
                    services: vec![service],
                    start_s: e.start_s,
                    end_s: e.end_s,
                    start_utc: e.start_utc.clone(),
                    end_utc: e.end_utc.clone(),
                    peak: event_peak(e),
                },
                peak_value,
            )),
        }
    }
    groups.into_iter().map(|(g, _)| g).collect()
}

/// `12:00:08` of `2026-06-01T12:00:08.123Z`.
fn utc_clock(rfc3339: &str) -> &str {
    rfc3339
        .split_once('T')
        .map_or(rfc3339, |(_, t)| t.get(..8).unwrap_or(t))
}

fn event_peak(e: &EventRow) -> String {
    if e.kind == "errors" {
        format!("peak {:.0}% errors", e.peak_error_rate * 100.0)
    } else {
        format!("p99 peak {}", human_us(e.peak_p99_ms * 1000.0))
    }
}

pub(crate) const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0 auto;\
max-width:1180px;padding:16px 24px 48px;color:#1b1b1b;line-height:1.45}\
h1{font-size:1.6em;margin:.4em 0 .1em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.sub{color:#555;margin:0}.headline{font-size:1.2em;background:#eef6ee;border-left:5px solid #2ca02c;padding:10px 14px;margin:14px 0}\
.headline.bad{background:#fbeeee;border-color:#d62728}\
table{border-collapse:collapse;margin:8px 0;font-size:.92em}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top}\
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.win td{background:#eef6ee;font-weight:600}tr.bad td{background:#fbeeee}\
.warn{color:#8a4b00}figure.chart{margin:18px 0 28px}figure.chart svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#444;font-size:.93em;max-width:1100px}code{background:#f4f4f4;padding:0 3px}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dt{font-weight:600}dd{margin:0}\
details{margin:6px 0}#render-check{display:none}.scroll{overflow-x:auto}\
th{white-space:nowrap}td:first-child{white-space:nowrap}";

/// Charts are figures with `id="chart-<id>"` and `data-chart="<id>"`; this
/// script (no network, nothing fetched) marks each with `data-rendered` and
/// writes a tally into `<pre id="render-check">`, for tests that open the
/// page in a headless browser.
const RENDER_CHECK: &str = r#"<script>
(function () {
  function check() {
    var figs = document.querySelectorAll('[data-chart]');
    var ok = 0, lines = [];
    for (var i = 0; i < figs.length; i++) {
      var f = figs[i], svg = f.querySelector('svg');
      var r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      var box = { width: 0, height: 0 };
      try { if (svg) box = svg.getBBox(); } catch (e) {}
      var marks = svg ? svg.querySelectorAll('path,polyline,rect,line,circle,text').length : 0;
      var good = r.width > 0 && r.height > 0 && box.width > 0 && box.height > 0 && marks > 10;
      f.setAttribute('data-rendered', good ? 'yes' : 'no');
      if (good) ok++;
      lines.push(f.getAttribute('data-chart') + ' ' + (good ? 'rendered' : 'NOT-rendered') + ' ' +
        Math.round(r.width) + 'x' + Math.round(r.height) + ' marks=' + marks);
    }
    var pre = document.getElementById('render-check');
    pre.setAttribute('data-total', String(figs.length));
    pre.setAttribute('data-ok', String(ok));
    pre.textContent = 'charts=' + figs.length + ' rendered=' + ok + '\n' + lines.join('\n');
  }
  if (document.readyState === 'complete') { check(); } else { window.addEventListener('load', check); }
})();
</script>"#;

/// `report.html`: one self-contained page.
#[allow(clippy::too_many_arguments)]
pub fn html(
    s: &Summary,
    events: &[EventRow],
    charts: &[(Chart, String)],
    skipped: &[Skipped],
    failures: &[String],
    events_error: Option<&str>,
    no_histograms: bool,
) -> String {
    let totals: Vec<RunTotals> = s.runs.iter().map(RunTotals::of).collect();
    let head = headline(&totals);
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>sigstorm report: {} ({})</title><style>{CSS}</style></head><body>\n",
        esc(&s.workload.name),
        esc(&s.run_id)
    );
    let _ = writeln!(
        o,
        "<h1>sigstorm report: workload <code>{}</code></h1>",
        esc(&s.workload.name)
    );
    let _ = writeln!(
        o,
        "<p class=\"sub\">run <code>{}</code>, started {} (real UTC){}</p>",
        esc(&s.run_id),
        esc(&s.started_at),
        if s.complete {
            String::new()
        } else {
            ", <b class=\"warn\">incomplete: interrupted, the figures cover what was measured</b>"
                .to_string()
        }
    );
    if !s.workload.description.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", esc(&s.workload.description));
    }
    let bad = totals.iter().any(|t| t.defects > 0);
    let _ = writeln!(
        o,
        "<p class=\"headline{}\" id=\"headline\">{}</p>",
        if bad { " bad" } else { "" },
        esc(&head.text)
    );
    let _ = writeln!(o, "<p class=\"sub\">{}.</p>", esc(&workload_line(s)));
    let _ = writeln!(
        o,
        "<p>Latency counts from each request's <em>intended</em> start (open-loop load, no \
         coordinated omission); lower is better. Throughput is responses per second; higher is \
         better. Round trips to the home region, replication delays and the regions themselves \
         are simulated; the signatures, HMACs, caches and their CPU cost are real.</p>"
    );

    // The comparison table.
    let _ = writeln!(o, "<h2 id=\"comparison\">Strategies compared</h2>");
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><table id=\"comparison-table\"><tr><th>strategy</th>\
         <th>offered/s</th><th>achieved/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th>\
         <th title=\"service time: actual start to response\">svc p99</th>\
         <th title=\"generator lateness\">late p99</th><th>hit ratio</th><th>HMAC/req</th>\
         <th title=\"calls to the control plane\">CP calls</th>\
         <th title=\"ServiceUnavailable answers\">unavailable</th><th>shed</th>\
         <th title=\"unexpected rejections and accepts\">unexpected</th><th>stale</th></tr>"
    );
    for (r, t) in s.runs.iter().zip(&totals) {
        let f = &r.figures;
        let class = if t.defects > 0 {
            " class=\"bad\""
        } else if head.winner.as_deref() == Some(r.label.as_str()) {
            " class=\"win\""
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "<tr{class}><td>{}{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{:.2}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&r.label),
            if r.interrupted { " (interrupted)" } else { "" },
            human_rate(f.offered_rps),
            human_rate(f.achieved_rps),
            human_us(f.latency_us.p50),
            human_us(f.latency_us.p99),
            human_us(f.latency_us.p999),
            human_us(f.latency_us.max),
            human_us(r.service_time_us.p99),
            human_us(r.generator_lateness_us.p99),
            hit_ratio(r),
            f.hmacs_per_request,
            f.control_plane_calls,
            unavailable(f),
            f.shed,
            f.unexpected_rejections + f.unexpected_accepts,
            f.stale_accepts
        );
    }
    let _ = writeln!(o, "</table></div>");
    let _ = writeln!(
        o,
        "<p class=\"sub\">svc p99: service time, from the actual start (what the data planes took); \
         late p99: how late the generator sent requests, part of every latency; CP calls: calls \
         to the control plane; unavailable: ServiceUnavailable answers; unexpected and stale \
         must be 0. README.md, \"How to read it\", explains every column.</p>"
    );
    let warnings: Vec<String> = s
        .runs
        .iter()
        .flat_map(|r| r.warnings.iter().map(move |w| format!("[{}] {w}", r.label)))
        .collect();
    if !warnings.is_empty() {
        let _ = writeln!(o, "<ul class=\"warn\" id=\"warnings\">");
        for w in &warnings {
            let _ = writeln!(o, "<li>{}</li>", esc(w));
        }
        let _ = writeln!(o, "</ul>");
    }

    // Storms and faults.
    let phases = phase_rows(s);
    let _ = writeln!(o, "<h2 id=\"phases\">Storms and faults</h2>");
    if phases.is_empty() {
        if s.workload.schedule.is_empty() {
            let _ = writeln!(
                o,
                "<p>The workload has no schedule: the whole run was steady.</p>"
            );
        } else {
            let _ = writeln!(
                o,
                "<p>No event of the schedule started within the {} s measured, so the whole run \
                 was steady (a longer <code>--duration</code> reaches them).</p>",
                s.runs.iter().map(|r| r.duration_s).fold(0.0, f64::max)
            );
        }
    } else {
        let _ = writeln!(
            o,
            "<p>Each phase holds the requests intended in it; \"steady\" is the run before the \
             first event, against which each phase's p99 is compared.</p>"
        );
        let _ = write!(
            o,
            "<div class=\"scroll\"><table id=\"phase-table\"><tr><th>phase</th><th>window</th>"
        );
        for r in &s.runs {
            let _ = write!(o, "<th>{}</th>", esc(&r.label));
        }
        let _ = writeln!(o, "</tr>");
        for p in &phases {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=n>{:.1}-{:.1} s</td>",
                esc(&p.name),
                p.start_s,
                p.end_s
            );
            for r in &s.runs {
                match p.cells.iter().find(|c| c.label == r.label) {
                    Some(c) => {
                        let _ = write!(
                            o,
                            "<td>{}<br>{}/s</td>",
                            esc(&phase_effect(c)),
                            human_rate(c.achieved_rps)
                        );
                    }
                    None => o.push_str("<td>-</td>"),
                }
            }
            let _ = writeln!(o, "</tr>");
        }
        let _ = writeln!(o, "</table></div>");
    }
    let actions: Vec<(&str, &crate::storm::ActionRecord)> = s
        .runs
        .iter()
        .flat_map(|r| {
            r.control_plane
                .actions
                .iter()
                .map(move |a| (r.label.as_str(), a))
        })
        .collect();
    if !actions.is_empty() {
        let _ = writeln!(
            o,
            "<details><summary>Control-plane actions ({})</summary><table id=\"actions-table\">\
             <tr><th>strategy</th><th>at</th><th>action</th><th>target</th><th>API calls</th>\
             <th>API errors</th><th>took</th></tr>",
            actions.len()
        );
        for (label, a) in actions {
            let errors = a
                .api_errors
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=n>{:.1} s</td><td>{}</td><td>{}</td><td class=n>{}</td>\
                 <td>{}</td><td class=n>{}</td></tr>",
                esc(label),
                a.at_s,
                esc(&a.action),
                esc(&a.target),
                a.api_calls,
                esc(&errors),
                human_us(a.duration_ms * 1000.0)
            );
        }
        let _ = writeln!(o, "</table></details>");
    }

    // Charts.
    let _ = writeln!(o, "<h2 id=\"charts\">Charts</h2>");
    if no_histograms {
        let _ = writeln!(
            o,
            "<p class=\"warn\">This folder has no histograms.hlog: the latency spectrum is drawn \
             from the summary's percentiles only.</p>"
        );
    }
    for (chart, svg) in charts {
        let _ = writeln!(
            o,
            "<figure class=\"chart\" id=\"chart-{id}\" data-chart=\"{id}\">{svg}\
             <figcaption>{note} Files: <a href=\"{id}.svg\">{id}.svg</a>, \
             <a href=\"{id}.png\">{id}.png</a>.</figcaption></figure>",
            id = esc(&chart.id),
            svg = strip_xml_declaration(svg),
            note = esc(&chart.note)
        );
    }
    if !skipped.is_empty() {
        let _ = writeln!(o, "<p>Not drawn:</p><ul id=\"skipped\">");
        for k in skipped {
            let _ = writeln!(
                o,
                "<li><code>{}</code>: {}.</li>",
                esc(&k.id),
                esc(&k.reason)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    for f in failures {
        let _ = writeln!(o, "<p class=\"warn\">{}</p>", esc(f));
    }

    // Health events.
    let _ = writeln!(o, "<h2 id=\"events\">Health events</h2>");
    if let Some(e) = events_error {
        let _ = writeln!(o, "<p class=\"warn\">{}</p>", esc(e));
    }
    if events.is_empty() {
        if events_error.is_none() {
            let _ = writeln!(
                o,
                "<p>No incidents detected (thresholds: the workload's <code>[health]</code> \
                 table).</p>"
            );
        }
    } else {
        let groups = event_groups(events);
        let _ = writeln!(
            o,
            "<p>{} incident{} detected in the time series of each service in each region, as a \
             public status page \
             would post them: here one row per strategy, region and kind (simulated UTC; each \
             incident in <code>events.json</code>).</p>\
             <table id=\"events-table\"><tr><th>strategy</th><th>region</th><th>what</th>\
             <th>services</th><th>window</th><th>status</th><th>peak</th></tr>",
            events.len(),
            if events.len() == 1 { "" } else { "s" }
        );
        for g in &groups {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{:.1}-{:.1} s \
                 ({}-{} UTC)</td><td>{}</td><td>{}</td></tr>",
                esc(&g.strategy),
                esc(&g.region),
                esc(&g.summary),
                esc(&g.services.join(", ")),
                g.start_s,
                g.end_s,
                esc(utc_clock(&g.start_utc)),
                esc(utc_clock(&g.end_utc)),
                esc(&g.status),
                esc(&g.peak),
            );
        }
        let _ = writeln!(o, "</table>");
        const SHOWN: usize = 200;
        let _ = writeln!(
            o,
            "<details><summary>Every incident in words ({})</summary><ul>",
            events.len()
        );
        for e in events.iter().take(SHOWN) {
            let _ = writeln!(
                o,
                "<li><b>{} {}</b>: {}</li>",
                esc(&e.strategy),
                esc(&e.service),
                esc(&e.description)
            );
        }
        if events.len() > SHOWN {
            let _ = writeln!(
                o,
                "<li>... and {} more in <code>events.json</code>.</li>",
                events.len() - SHOWN
            );
        }
        let _ = writeln!(o, "</ul></details>");
    }

    // The workload and the machine.
    let _ = writeln!(o, "<h2 id=\"workload\">Workload and environment</h2><dl>");
    let w = &s.workload;
    let dl = |o: &mut String, k: &str, v: &str| {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    };
    dl(&mut o, "workload", &workload_line(s));
    dl(
        &mut o,
        "regions",
        &w.regions
            .iter()
            .map(|r| {
                let rtt = s
                    .runs
                    .first()
                    .and_then(|run| run.regions.iter().find(|g| g.region == r.name))
                    .map_or(String::new(), |g| format!(", {} ms to home", g.rtt_ms));
                format!("{} (weight {}{rtt})", r.name, r.weight)
            })
            .collect::<Vec<_>>()
            .join("; "),
    );
    dl(
        &mut o,
        "home region",
        &format!(
            "{} (control plane: {} workers, {} ms per call)",
            w.control_plane.home_region, w.control_plane.workers, w.control_plane.service_time_ms
        ),
    );
    dl(
        &mut o,
        "strategies",
        &s.runs
            .iter()
            .map(|r| r.label.clone())
            .collect::<Vec<_>>()
            .join(", "),
    );
    dl(
        &mut o,
        "replication",
        &format!(
            "median {} ms, p99 {} ms, {} entries/s per AZ replica",
            w.replication.delay_median_ms,
            w.replication.delay_p99_ms,
            w.replication.apply_rate_per_sec
        ),
    );
    let schedule = schedule_lines(s);
    dl(
        &mut o,
        "schedule",
        &if schedule.is_empty() {
            "none (steady state)".to_string()
        } else {
            schedule.join("; ")
        },
    );
    dl(&mut o, "simulated clock start", &w.clock.start);
    dl(&mut o, "environment", &environment_line(s));
    if let Some(line) = hiccups_line(s) {
        dl(&mut o, "scheduling stalls (hiccups)", &line);
    }
    let _ = writeln!(o, "</dl>");
    let _ = writeln!(
        o,
        "<p class=\"sub\">Files in this folder: <code>summary.json</code> (every figure), \
         <code>events.json</code> (health events), <code>histograms.hlog</code> (latency \
         histograms per second, strategy and region), <code>summary.md</code>, and each chart as \
         SVG and PNG. <code>sigstorm report DIR</code> regenerates this page; <code>sigstorm \
         compare A B</code> compares two runs.</p>"
    );
    let _ = writeln!(
        o,
        "<pre id=\"render-check\"></pre>\n{RENDER_CHECK}\n</body></html>"
    );
    o
}

/// An SVG document without its `<?xml ...?>` line, to inline it.
pub(crate) fn strip_xml_declaration(svg: &str) -> &str {
    let t = svg.trim_start();
    if t.starts_with("<?xml") {
        t.find("?>").map_or(t, |i| t[i + 2..].trim_start())
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(label: &str, rps: f64, p99_us: f64) -> RunTotals {
        RunTotals {
            label: label.into(),
            offered_rps: 3000.0,
            achieved_rps: rps,
            p50_us: p99_us / 10.0,
            p99_us,
            p999_us: p99_us * 2.0,
            max_us: p99_us * 5.0,
            defects: 0,
            interrupted: false,
        }
    }

    #[test]
    fn factors_read_as_people_say_them() {
        assert_eq!(factor_text(3.07), "3.1x");
        assert_eq!(factor_text(1.034), "1.03x");
        assert_eq!(factor_text(42.0), "42x");
        assert_eq!(factor_text(1234.0), "1200x");
        assert_eq!(factor_text(1.0 / 40.0), "1/40");
        assert_eq!(factor_text(1.0 / 1016.0), "1/1000");
        assert_eq!(factor_text(0.85), "0.85x");
        assert_eq!(factor_text(0.0), "-");
    }

    #[test]
    fn the_headline_names_the_winner_and_by_how_much() {
        let runs = [
            totals("none", 1000.0, 185_000.0),
            totals("per-region", 3000.0, 200.0),
            totals("per-service", 3010.0, 180.0),
        ];
        let h = headline(&runs);
        assert_eq!(h.winner.as_deref(), Some("per-service"));
        assert_eq!(
            h.text,
            "per-service wins: 3.0x the throughput of none at 1/1000 the p99 (180µs against \
             185ms). Runner-up: per-region (p99 200µs, 1.1x the winner's)."
        );
        // Within 10 %: the order is called into doubt.
        let runs = [
            totals("per-region", 3000.0, 190.0),
            totals("per-service", 3000.0, 180.0),
        ];
        let h = headline(&runs);
        assert!(
            h.text
                .starts_with("per-service wins: the same throughput as per-region at 0.95x"),
            "{}",
            h.text
        );
        assert!(h.text.contains("repeat the run"), "{}", h.text);
        // A run that failed the correctness check cannot win.
        let mut bad = totals("per-service", 3000.0, 100.0);
        bad.defects = 3;
        let h = headline(&[bad, totals("none", 3000.0, 185_000.0)]);
        assert_eq!(h.winner.as_deref(), Some("none"));
        assert!(
            h.text
                .contains("per-service FAILED the correctness check: 3"),
            "{}",
            h.text
        );
        assert_eq!(headline(&[]).winner, None);
        // An interrupted run is not ranked beside finished ones.
        let mut cut = totals("per-region", 2900.0, 140.0);
        cut.interrupted = true;
        let h = headline(&[totals("none", 3000.0, 185_000.0), cut.clone()]);
        assert_eq!(h.winner.as_deref(), Some("none"));
        assert!(
            h.text
                .ends_with("and per-region (cut short) is not ranked."),
            "{}",
            h.text
        );
        // Within 5 % of the best throughput, the lowest p99 wins.
        cut.interrupted = false;
        let h = headline(&[totals("none", 3000.0, 185_000.0), cut]);
        assert!(
            h.text
                .starts_with("per-region wins: 0.97x the throughput of none at 1/1300"),
            "{}",
            h.text
        );
    }

    #[test]
    fn phase_effects_compare_with_steady() {
        let mut c = PhaseCell {
            label: "none".into(),
            achieved_rps: 2900.0,
            p99_us: 2100.0,
            steady_p99_us: Some(175.0),
            errors: 41,
            responses: 1000,
            stale: 0,
            exposure: 3,
        };
        assert_eq!(
            phase_effect(&c),
            "p99 2.10ms (12x steady), 41 ServiceUnavailable (4.1%), 3 exposure accepts"
        );
        c.p99_us = 180.0;
        c.errors = 0;
        c.exposure = 0;
        assert_eq!(phase_effect(&c), "p99 180µs (as steady)");
    }

    fn event(strategy: &str, service: &str, region: &str, start_s: f64, peak: f64) -> EventRow {
        EventRow {
            strategy: strategy.into(),
            region: region.into(),
            service: format!("{service}-{region}"),
            kind: "errors".into(),
            status: "resolved".into(),
            summary: "[RESOLVED] Elevated IAM authentication errors".into(),
            start_s,
            end_s: start_s + 5.0,
            start_utc: format!("2026-06-01T12:00:{:02}.000Z", start_s as u32),
            end_utc: format!("2026-06-01T12:00:{:02}.000Z", start_s as u32 + 5),
            peak_error_rate: peak,
            ..EventRow::default()
        }
    }

    #[test]
    fn events_group_by_strategy_region_and_kind() {
        let events = [
            event("none", "s3", "eu-north-1", 5.0, 0.3),
            event("none", "elasticloadbalancing", "eu-north-1", 4.0, 0.8),
            event("none", "s3", "me-south-1", 5.0, 0.5),
            event("per-region", "s3", "eu-north-1", 6.0, 0.4),
        ];
        let groups = event_groups(&events);
        assert_eq!(groups.len(), 3);
        let g = &groups[0];
        assert_eq!(g.services, ["s3", "elasticloadbalancing"]);
        assert_eq!((g.start_s, g.end_s), (4.0, 10.0));
        assert_eq!(g.peak, "peak 80% errors");
        assert_eq!(g.summary, "Elevated IAM authentication errors");
        assert_eq!(utc_clock(&g.start_utc), "12:00:04");
        assert_eq!(groups[2].strategy, "per-region");
    }

    #[test]
    fn p99_per_interval_merges_the_regions_of_each_second() {
        let entry = |tag: &str, start_s: f64, values: &[u64]| {
            let mut h = crate::metrics::log_histogram();
            for v in values {
                h.record(*v).unwrap();
            }
            LogEntry {
                tag: tag.into(),
                start_s,
                duration_s: 1.0,
                histogram: h,
            }
        };
        let entries = [
            entry("per-service@us-east-1", 0.0, &[1_000; 99]),
            entry("per-service@eu-north-1", 0.0, &[50_000]),
            entry("none@us-east-1", 0.0, &[9_000_000]),
            entry("per-service@us-east-1", 1.0, &[]),
            entry("per-service@eu-north-1", 1.0, &[]),
            entry("per-service@us-east-1", 2.0, &[2_000]),
        ];
        let p = p99_per_interval(&entries, "per-service");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].0, 0.5);
        assert!((p[0].1 - 1.0).abs() < 0.05, "{p:?}");
        assert!(p[1].1.is_nan());
        assert!((p[2].1 - 2.0).abs() < 0.05, "{p:?}");
    }

    #[test]
    fn html_escapes_and_strips_the_xml_line() {
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg></svg>"),
            "<svg></svg>"
        );
        assert_eq!(md_cell("a|b"), "a\\|b");
    }
}
