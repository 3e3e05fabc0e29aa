//! What a sweep found, for people: the printed table and what-if text,
//! `summary.md`, `report.html` and the charts (achieved against offered,
//! p99 against the varied value, the USL fit), written beside
//! `summary.json` by [`write_report`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use super::{
    defect_lines, fmt_value, late_generator_lines, usl_inputs, Point, StrategySweep, SweepSummary,
};
use crate::charts::{Axis, Body, Chart, LinePanel, Scale, Series};
use crate::report::{human_rate, human_us};
use crate::summary::write_atomically;
use crate::whatif::{Answer, Target};

/// Whether a strategy's knee is only a lower bound (its highest rate met
/// the SLO).
fn lower_bound(st: &StrategySweep) -> bool {
    st.knee_caveats
        .first()
        .is_some_and(|c| c.starts_with("a lower bound"))
}

/// A strategy's knee in words: `12000 req/s`, with its caveats.
pub(super) fn knee_text(st: &StrategySweep) -> String {
    if st.points.iter().all(|p| p.detail.interrupted) {
        return "none (interrupted before any point finished)".to_string();
    }
    match st.knee_rps {
        Some(k) if st.knee_caveats.is_empty() => format!("{} req/s", fmt_value(k)),
        Some(k) => format!(
            "{}{} req/s ({})",
            if lower_bound(st) { "at least " } else { "" },
            fmt_value(k),
            st.knee_caveats.join("; ")
        ),
        None => "none (no rate met the SLO)".to_string(),
    }
}

/// The printed table: per run label, a row per point, then its knee.
pub fn table(s: &SweepSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "sweep of workload {} over {} = {} ({} values{}); SLO: {}",
        s.workload.name,
        s.vary.name,
        s.vary
            .values
            .iter()
            .map(|v| fmt_value(*v))
            .collect::<Vec<_>>()
            .join(","),
        s.vary.values.len(),
        if s.bisect > 0 {
            format!(", bisect {}", s.bisect)
        } else {
            String::new()
        },
        s.slo.describe()
    );
    let w = s.vary.name.chars().count().max(8);
    for st in &s.sweep {
        let _ = writeln!(o, "\n{}", st.label);
        let _ = writeln!(
            o,
            "  {:>w$}  {:>10}  {:>10}  {:>8}  {:>7}  {:<4}  why not",
            s.vary.name, "offered/s", "achieved/s", "p99", "shed", "SLO"
        );
        for p in &st.points {
            let row = format!(
                "  {:>w$}  {:>10.0}  {:>10.0}  {:>8}  {:>7}  {:<4}  {}",
                format!("{}{}", fmt_value(p.value), if p.bisect { "*" } else { "" }),
                p.offered_rps,
                p.achieved_rps,
                human_us(p.p99_us),
                p.shed,
                if p.meets_slo { "yes" } else { "no" },
                p.why
            );
            let _ = writeln!(o, "{}", row.trim_end());
        }
        if s.vary.is_rate() {
            let _ = writeln!(o, "  knee: {}", knee_text(st));
        }
        if let Some(pr) = &st.probe {
            let _ = writeln!(o, "  {}", probe_text(pr));
        }
        if let Some(fit) = &st.usl {
            let _ = writeln!(
                o,
                "  USL fit ({} points): sigma {:.4}, kappa {:.5}, lambda {:.0}/s per thread, R² {:.3}, {}",
                st.usl_points.as_deref().unwrap_or("all"),
                fit.sigma,
                fit.kappa,
                fit.lambda,
                fit.r2,
                peak_text(fit, st.probe.is_some())
            );
            let _ = writeln!(
                o,
                "  residuals (measured - fitted): {}",
                residuals_text(st, fit)
            );
        } else if let Some(note) = &st.usl_points {
            let _ = writeln!(o, "  USL: {note}");
        }
    }
    if s.sweep.iter().any(|st| st.points.iter().any(|p| p.bisect)) {
        let _ = writeln!(o, "\n* run by the bisection");
    }
    let late = late_generator_lines(s);
    if !late.is_empty() {
        let _ = writeln!(o, "\nwarning, generator-bound points:");
        for line in &late {
            let _ = writeln!(o, "  {line}");
        }
    }
    let defects = defect_lines(s);
    if !defects.is_empty() {
        let _ = writeln!(
            o,
            "\ncorrectness check failed (stale accepts or unexpected decisions):"
        );
        for d in &defects {
            let _ = writeln!(o, "  {d}");
        }
    }
    o
}

/// The what-if answer of a sweep for people (as `sigstorm whatif` prints
/// it), or why there is none.
pub fn whatif_text(s: &SweepSummary) -> String {
    match (&s.whatif, &s.whatif_error) {
        (Some(a), _) => a.text(),
        (None, Some(e)) => format!("what if: no answer: {e}\n"),
        (None, None) => "what if: no answer in this summary.json (`sigstorm whatif --from DIR` \
                         computes one)\n"
            .to_string(),
    }
}

/// The scalability probe in one sentence: what it ran and what each thread
/// count achieved.
pub(super) fn probe_text(pr: &super::probe::Probe) -> String {
    let head = format!(
        "scalability probe (closed loop: each thread verifies pre-signed requests from a pool of \
         {} back to back, no load generator, {} s per thread count)",
        pr.pool,
        fmt_value(pr.seconds_each)
    );
    if pr.points.is_empty() {
        return format!("{head}: interrupted before its first point");
    }
    let points = pr
        .points
        .iter()
        .map(|p| {
            format!(
                "{} thread(s) {}/s",
                p.threads,
                human_rate(p.verifications_per_s)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!("{head}: {points}");
    if pr.oversubscribed() {
        text.push_str(&format!(
            "; threads beyond this machine's {} cores share them, so past {} threads the curve \
             shows the cores running out, not the path's contention",
            pr.cores, pr.cores
        ));
    }
    let starved = pr.starved();
    if !starved.is_empty() {
        let at = starved
            .iter()
            .map(|(n, used, usable)| format!("{n} thread(s) kept {used:.2} of {usable} cores busy"))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(
            "; warning: the threads did not get the CPU they could use ({at}): something else \
             on the machine took it, so the curve shows the neighbours too; rerun on a quiet \
             machine"
        ));
    }
    if pr.interrupted {
        text.push_str("; interrupted");
    }
    text
}

/// The residuals of a USL fit beside the thread counts they are for:
/// `N=1 +12/s (+0.1%), N=2 -30/s (-0.2%)`.
fn residuals_text(st: &StrategySweep, fit: &crate::usl::UslFit) -> String {
    let pts = usl_inputs(st);
    if pts.len() == fit.residuals.len() {
        pts.iter()
            .zip(&fit.residuals)
            .map(|((n, x), r)| {
                format!(
                    "N={} {:+.0}/s ({:+.1}%)",
                    fmt_value(*n),
                    r,
                    if *x > 0.0 { 100.0 * r / x } else { 0.0 }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        fit.residuals
            .iter()
            .map(|r| format!("{r:+.0}/s"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Per run label, its knee (a rate sweep) or its most throughput (any
/// other field), in words.
fn headline(s: &SweepSummary) -> Vec<String> {
    s.sweep
        .iter()
        .map(|st| {
            if s.vary.is_rate() {
                match st.knee_rps {
                    Some(k) => format!(
                        "{}: knee {}{} req/s{}",
                        st.label,
                        if lower_bound(st) { "at least " } else { "at " },
                        fmt_value(k),
                        if st
                            .knee_caveats
                            .iter()
                            .any(|c| c.contains("disagree") || c.contains("may lie higher"))
                        {
                            " (uncertain)"
                        } else {
                            ""
                        }
                    ),
                    None => format!("{}: no rate met the SLO", st.label),
                }
            } else {
                let best = st
                    .points
                    .iter()
                    .filter(|p| !p.detail.interrupted)
                    .max_by(|a, b| a.achieved_rps.total_cmp(&b.achieved_rps));
                match best {
                    Some(p) => format!(
                        "{}: most throughput {}/s at {} = {}",
                        st.label,
                        human_rate(p.achieved_rps),
                        s.vary.name,
                        fmt_value(p.value)
                    ),
                    None => format!("{}: no points", st.label),
                }
            }
        })
        .collect()
}

/// One line per strategy of the what-if answer: workers per region, cores
/// in all, the model, whether the p99 target looks reachable.
fn whatif_lines(a: &Answer) -> Vec<String> {
    a.strategies
        .iter()
        .map(|st| {
            format!(
                "{}: {} data-plane workers (cores) per region{}, {} over {} regions ({} model, {} per request measured; p99 target {})",
                st.label,
                crate::whatif::grouped(st.workers_per_region),
                if st.replicas_per_region > 1 {
                    format!(
                        " ({} replicas of {})",
                        st.replicas_per_region, st.workers_per_replica
                    )
                } else {
                    String::new()
                },
                crate::whatif::grouped(st.total_cores),
                a.target.regions,
                st.model,
                human_us(st.cpu_us_per_request),
                if st.meets_p99 {
                    "looks reachable"
                } else {
                    "out of reach"
                }
            )
        })
        .collect()
}

/// The target in words.
fn target_text(t: &Target) -> String {
    format!(
        "{} req/s per region at p99 <= {} ms with {} keys over {} regions",
        if t.rps_per_region.fract() == 0.0 && t.rps_per_region.abs() < 1e15 {
            crate::whatif::grouped(t.rps_per_region as u64)
        } else {
            fmt_value(t.rps_per_region)
        },
        fmt_value(t.p99_ms),
        crate::whatif::grouped(t.keys),
        t.regions
    )
}

/// The sweep's `summary.md`: the knees, a table per strategy, the USL fit,
/// the what-if answer with its assumptions, short enough for a pull
/// request.
pub fn markdown(s: &SweepSummary) -> String {
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### sigstorm sweep `{}`: `{}`, varying `{}` (`{}`)\n",
        cell(&s.workload.name),
        cell(&s.run_id),
        cell(&s.vary.name),
        cell(&s.vary.field)
    );
    if !s.complete {
        let _ = writeln!(
            o,
            "**Incomplete: interrupted; the figures cover what was measured.**\n"
        );
    }
    let _ = writeln!(o, "**{}**\n", cell(&headline(s).join("; ")));
    let _ = writeln!(
        o,
        "SLO ({}): {}.\n",
        cell(&s.slo.source),
        cell(&s.slo.describe())
    );
    for st in &s.sweep {
        let _ = writeln!(o, "#### {}\n", cell(&st.label));
        let _ = writeln!(
            o,
            "| {} | offered/s | achieved/s | p99 | shed | SLO | why not |",
            cell(&s.vary.name)
        );
        let _ = writeln!(o, "| ---: | ---: | ---: | ---: | ---: | --- | --- |");
        for p in &st.points {
            let _ = writeln!(
                o,
                "| {}{} | {} | {} | {} | {} | {} | {} |",
                fmt_value(p.value),
                if p.bisect { "\\*" } else { "" },
                human_rate(p.offered_rps),
                human_rate(p.achieved_rps),
                human_us(p.p99_us),
                p.shed,
                if p.meets_slo { "yes" } else { "no" },
                cell(&p.why)
            );
        }
        if s.vary.is_rate() {
            let _ = writeln!(o, "\nKnee: {}.", cell(&knee_text(st)));
        }
        if let Some(pr) = &st.probe {
            let _ = writeln!(o, "\n{}.", cell(&probe_text(pr)));
        }
        if let Some(fit) = &st.usl {
            let _ = writeln!(
                o,
                "\nUSL fit on the {} points: σ = {:.4}, κ = {:.5}, λ = {:.0} req/s per thread, \
                 R² = {:.3}; {}. Residuals (measured − fitted): {}.",
                cell(st.usl_points.as_deref().unwrap_or("all")),
                fit.sigma,
                fit.kappa,
                fit.lambda,
                fit.r2,
                peak_text(fit, st.probe.is_some()),
                residuals_text(st, fit)
            );
        } else if let Some(note) = &st.usl_points {
            let _ = writeln!(o, "\nUSL: {}.", cell(note));
        }
        let _ = writeln!(o);
    }
    let late = late_generator_lines(s);
    if !late.is_empty() {
        let _ = writeln!(o, "**Generator-bound points:**\n");
        for line in &late {
            let _ = writeln!(o, "- {}", cell(line));
        }
        let _ = writeln!(o);
    }
    let defects = defect_lines(s);
    if !defects.is_empty() {
        let _ = writeln!(
            o,
            "**Correctness check failed** (stale accepts or unexpected decisions):\n"
        );
        for d in &defects {
            let _ = writeln!(o, "- {}", cell(d));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "#### What if\n");
    if let Some(a) = &s.whatif {
        let _ = writeln!(o, "For {}:\n", target_text(&a.target));
        for line in whatif_lines(a) {
            let _ = writeln!(o, "- {}", cell(&line));
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "```text\n{}```\n", whatif_text(s));
    let e = &s.environment;
    let _ = writeln!(
        o,
        "{} on {} ({} cores), {}, {} build, commit {}, {}.",
        cell(&s.sigstorm_version),
        cell(&e.cpu),
        e.cores,
        cell(&e.os),
        cell(&e.profile),
        cell(&e.git_commit),
        cell(&e.rustc)
    );
    o
}

/// The x of a point in the charts: its value (the configured offered rate
/// when the rate is varied).
fn x_of(p: &Point) -> f64 {
    p.value
}

fn x_axis(s: &SweepSummary) -> Axis {
    if s.vary.is_rate() {
        Axis::new("offered rate, requests per second", Scale::Linear)
    } else {
        Axis::new(format!("{} ({})", s.vary.name, s.vary.field), Scale::Linear)
    }
}

/// Where the fitted throughput peaks, in words.
pub(super) fn peak_text(fit: &crate::usl::UslFit, probed: bool) -> String {
    let peak = match fit.peak_n {
        Some(n) if n <= 1.0 => format!(
            "the most is at 1 thread ({}/s): every thread added costs more than it brings",
            human_rate(fit.predict(1.0))
        ),
        Some(n) => format!(
            "throughput peaks at {n:.1} threads ({}/s)",
            human_rate(fit.predict(n))
        ),
        None if fit.sigma >= 1.0 => format!(
            "the most is at 1 thread ({}/s): with σ ≥ 1 every thread added costs more than it \
             brings, and throughput falls toward λ/σ = {}/s",
            human_rate(fit.lambda),
            human_rate(fit.lambda / fit.sigma)
        ),
        None if fit.sigma > 0.0 => format!(
            "no peak: throughput levels off toward λ/σ = {}/s (contention, no coherency cost)",
            human_rate(fit.lambda / fit.sigma)
        ),
        None => "throughput grows in proportion to threads (no contention or coherency cost)"
            .to_string(),
    };
    // Three parameters through three points leave nothing to test the model.
    if fit.residuals.len() <= 3 {
        format!(
            "{peak}; only {} points for 3 parameters, so R² proves nothing: {}",
            fit.residuals.len(),
            if probed {
                "probe five or more thread counts (--usl-threads)"
            } else {
                "sweep five or more worker counts"
            }
        )
    } else {
        peak
    }
}

/// The charts of a sweep: achieved against offered throughput (with y = x
/// when the rate is varied), p99 against the varied value (log scale, the
/// SLO as a line), and the USL fit when there is one.
pub fn charts(s: &SweepSummary) -> Vec<Chart> {
    let mut out = Vec::new();
    let n = s.sweep.len();
    let series = |f: &dyn Fn(&Point) -> f64| -> Vec<Series> {
        s.sweep
            .iter()
            .enumerate()
            .filter(|(_, st)| !st.points.is_empty())
            .map(|(k, st)| Series {
                name: st.label.clone(),
                color: k,
                points: st
                    .points
                    .iter()
                    .filter(|p| !p.detail.interrupted)
                    .map(|p| (x_of(p), f(p)))
                    .collect(),
            })
            .collect()
    };
    let mut tput = series(&|p| p.achieved_rps);
    if tput.is_empty() {
        return out;
    }
    let xs: Vec<f64> = tput
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let (xmin, xmax) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(0.0, f64::max),
    );
    if s.vary.is_rate() {
        tput.push(Series {
            name: "achieved = offered".into(),
            color: n,
            points: vec![(0.0, 0.0), (xmax, xmax)],
        });
    }
    out.push(Chart {
        id: "sweep-throughput".into(),
        title: if s.vary.is_rate() {
            "Achieved against offered throughput".into()
        } else {
            format!("Achieved throughput against {}", s.vary.name)
        },
        note: if s.vary.is_rate() {
            "Responses per second against the offered rate, a line per strategy; the straight \
             line is achieved = offered. Where a strategy's line leaves it, the data planes \
             fell behind."
                .into()
        } else {
            format!(
                "Responses per second at each value of {}, a line per strategy.",
                s.vary.field
            )
        },
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: x_axis(s),
            y: Axis::new("achieved, responses per second", Scale::Linear),
            series: tput,
            bands: Vec::new(),
        }]),
    });
    let mut p99 = series(&|p| {
        if p.p99_us > 0.0 {
            p.p99_us / 1000.0
        } else {
            f64::NAN
        }
    });
    if let Some(us) = s.slo.p99_us {
        let lo = if xmin.is_finite() { xmin } else { 0.0 };
        p99.push(Series {
            name: format!("SLO p99 {}", human_us(us)),
            color: n + 1,
            points: vec![(lo, us / 1000.0), (xmax, us / 1000.0)],
        });
    }
    out.push(Chart {
        id: "sweep-p99".into(),
        title: format!(
            "p99 latency against {}",
            if s.vary.is_rate() {
                "offered rate"
            } else {
                s.vary.name.as_str()
            }
        ),
        note: "The 99th percentile latency (log scale, from each request's intended start) at \
               each point, a line per strategy; the flat line is the SLO."
            .into(),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: x_axis(s),
            y: Axis::new("p99 latency, ms (log scale)", Scale::Log),
            series: p99,
            bands: Vec::new(),
        }]),
    });
    if let Some(chart) = usl_chart(s) {
        out.push(chart);
    }
    out
}

/// Measured throughput against threads as dots, with the fitted USL curve
/// as a line, per strategy that has a fit.
pub fn usl_chart(s: &SweepSummary) -> Option<Chart> {
    let mut series = Vec::new();
    let palette = s.sweep.len();
    for (k, st) in s.sweep.iter().enumerate() {
        let Some(fit) = &st.usl else { continue };
        let measured: Vec<(f64, f64)> = match &st.probe {
            Some(pr) => pr.fit_inputs(),
            None => st
                .points
                .iter()
                .filter(|p| !p.detail.interrupted)
                .map(|p| (p.value, p.achieved_rps))
                .collect(),
        };
        let top = measured
            .iter()
            .map(|p| p.0)
            .fold(1.0, f64::max)
            .max(fit.peak_n.map_or(1.0, |n| n.min(1024.0)))
            * 1.25;
        let curve: Vec<(f64, f64)> = (0..=60)
            .map(|i| {
                let x = 1.0 + (top - 1.0) * f64::from(i) / 60.0;
                (x, fit.predict(x))
            })
            .collect();
        // Measured points as dots (a one-point series is drawn as a dot;
        // the legend lists the name once), the fit as the line through them.
        for point in measured {
            series.push(Series {
                name: format!("{} measured", st.label),
                color: k,
                points: vec![point],
            });
        }
        series.push(Series {
            name: format!("{} USL fit (R² {:.3})", st.label, fit.r2),
            color: palette + 2 + k,
            points: curve,
        });
    }
    if series.is_empty() {
        return None;
    }
    let probed = s.sweep.iter().any(|st| st.probe.is_some());
    let (title, x, y, source) = if probed {
        (
            "Verifications per second against threads (closed-loop probe), with the USL fit",
            "threads verifying pre-signed requests",
            "decisions per second",
            "The scalability probe's throughput at each thread count (no load generator; \
             threads beyond the machine's cores share them)",
        )
    } else {
        (
            "Throughput against data-plane threads, with the USL fit",
            "data-plane threads (data_plane.workers)",
            "achieved, responses per second",
            "Measured throughput at each thread count",
        )
    };
    Some(Chart {
        id: "sweep-usl".into(),
        title: title.into(),
        note: format!(
            "{source} and the Universal Scalability Law curve fitted to it: X(N) = λN / (1 + \
             σ(N−1) + κN(N−1)). σ is contention, κ coherency cost; the curve peaks at \
             √((1−σ)/κ) threads."
        ),
        body: Body::Lines(vec![LinePanel {
            title: None,
            x: Axis::new(x, Scale::Linear),
            y: Axis::new(y, Scale::Linear),
            series,
            bands: Vec::new(),
        }]),
    })
}

/// What writing a sweep's report produced.
#[derive(Debug, Default)]
pub struct Written {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Charts that could not be drawn, in words.
    pub failures: Vec<String>,
}

/// Write `report.html`, `summary.md` and the charts (SVG and PNG) of the
/// sweep in `dir`.
///
/// # Errors
///
/// `report.html` or `summary.md` cannot be written (a chart that cannot be
/// drawn is a failure in [`Written`], not an error).
pub fn write_report(s: &SweepSummary, dir: &Path) -> Result<Written> {
    let mut written = Written::default();
    let mut drawn = Vec::new();
    for chart in charts(s) {
        match crate::charts::write_files(&chart, dir) {
            Ok(svg) => {
                written.files.push(dir.join(format!("{}.svg", chart.id)));
                written.files.push(dir.join(format!("{}.png", chart.id)));
                drawn.push((chart, svg));
            }
            Err(e) => written.failures.push(format!("{e}")),
        }
    }
    let html = html(s, &drawn);
    let path = dir.join(crate::page::HTML_FILE);
    write_atomically(&path, html.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.files.push(path);
    let path = dir.join(crate::page::MARKDOWN_FILE);
    write_atomically(&path, markdown(s).as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    written.files.push(path);
    Ok(written)
}

/// The sweep's `report.html`: headline with the knees, the SLO, a table per
/// strategy, the charts, the USL fit, the workload and the environment.
pub fn html(s: &SweepSummary, charts: &[(Chart, String)]) -> String {
    use crate::page::esc;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>sigstorm sweep: {} ({})</title><style>{}</style></head><body>\n",
        esc(&s.workload.name),
        esc(&s.run_id),
        crate::page::CSS
    );
    let _ = writeln!(
        o,
        "<h1>sigstorm sweep: workload <code>{}</code>, varying <code>{}</code></h1>",
        esc(&s.workload.name),
        esc(&s.vary.name)
    );
    let _ = writeln!(
        o,
        "<p class=\"sub\">sweep <code>{}</code>, started {} (real UTC){}</p>",
        esc(&s.run_id),
        esc(&s.started_at),
        if s.complete {
            ""
        } else {
            ", <b class=\"warn\">incomplete: interrupted, the figures cover what was measured</b>"
        }
    );
    if !s.workload.description.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", esc(&s.workload.description));
    }
    let headline = headline(s);
    let _ = writeln!(
        o,
        "<p class=\"headline\" id=\"headline\">{}</p>",
        esc(&headline.join("; "))
    );
    let _ = writeln!(
        o,
        "<p>Each point runs the workload once per strategy with <code>{}</code> (<code>{}</code>) \
         set to the value. SLO ({}): {}. A point meets it when all of this holds. {}</p>",
        esc(&s.vary.name),
        esc(&s.vary.field),
        esc(&s.slo.source),
        esc(&s.slo.describe()),
        if s.vary.is_rate() {
            "The knee is the largest offered rate that meets it; bisection points are marked *."
        } else {
            "The knee (an offered rate) is only found when the rate is varied."
        }
    );
    for st in &s.sweep {
        let _ = writeln!(o, "<h2>{}</h2>", esc(&st.label));
        let _ = writeln!(
            o,
            "<div class=\"scroll\"><table><tr><th>{}</th><th>offered/s</th><th>achieved/s</th>\
             <th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>svc p99</th><th>late p99</th>\
             <th>shed</th><th>unavailable</th><th>SLO</th><th>why not</th></tr>",
            esc(&s.vary.name)
        );
        for p in &st.points {
            let d = &p.detail;
            let _ = writeln!(
                o,
                "<tr{}><td class=n>{}{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
                 <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td>\
                 <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
                if p.meets_slo { " class=\"win\"" } else { "" },
                fmt_value(p.value),
                if p.bisect { "*" } else { "" },
                human_rate(p.offered_rps),
                human_rate(p.achieved_rps),
                human_us(d.p50_us),
                human_us(p.p99_us),
                human_us(d.p999_us),
                human_us(d.max_us),
                human_us(d.service_p99_us),
                human_us(d.lateness_p99_us),
                p.shed,
                d.unavailable,
                if p.meets_slo { "yes" } else { "no" },
                esc(&p.why)
            );
        }
        let _ = writeln!(o, "</table></div>");
        if s.vary.is_rate() {
            let _ = writeln!(o, "<p><b>knee: {}</b></p>", esc(&knee_text(st)));
        }
        if let Some(pr) = &st.probe {
            let _ = writeln!(
                o,
                "<p id=\"probe-{}\">{}</p>",
                esc(&st.label),
                esc(&probe_text(pr))
            );
        }
        if let Some(fit) = &st.usl {
            let _ = writeln!(
                o,
                "<p id=\"usl-{}\">Universal Scalability Law fit on the {} points: σ = {:.4} \
                 (contention), κ = {:.5} (coherency), λ = {:.0} req/s per thread, R² = {:.3}; \
                 {}. Residuals (measured − fitted): {}.</p>",
                esc(&st.label),
                esc(st.usl_points.as_deref().unwrap_or("all")),
                fit.sigma,
                fit.kappa,
                fit.lambda,
                fit.r2,
                esc(&peak_text(fit, st.probe.is_some())),
                esc(&residuals_text(st, fit))
            );
        } else if let Some(note) = &st.usl_points {
            let _ = writeln!(o, "<p>USL: {}</p>", esc(note));
        }
    }
    let late = late_generator_lines(s);
    if !late.is_empty() {
        let _ = writeln!(o, "<ul class=\"warn\" id=\"generator-bound\">");
        for line in &late {
            let _ = writeln!(o, "<li>Generator-bound: {}</li>", esc(line));
        }
        let _ = writeln!(o, "</ul>");
    }
    let defects = defect_lines(s);
    if !defects.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"headline bad\" id=\"defects\">Correctness check failed (stale accepts \
             or unexpected decisions): {}</p>",
            esc(&defects.join("; "))
        );
    }
    let _ = writeln!(o, "<h2 id=\"charts\">Charts</h2>");
    for (chart, svg) in charts {
        let _ = writeln!(
            o,
            "<figure class=\"chart\" id=\"chart-{}\">{}<figcaption>{} <a href=\"{}.png\">PNG</a> \
             <a href=\"{}.svg\">SVG</a></figcaption></figure>",
            esc(&chart.id),
            crate::page::strip_xml_declaration(svg),
            esc(&chart.note),
            esc(&chart.id),
            esc(&chart.id)
        );
    }
    let _ = writeln!(o, "<h2 id=\"whatif\">What if</h2>");
    if let Some(a) = &s.whatif {
        let _ = writeln!(
            o,
            "<p>From this sweep's own measurements, as <code>sigstorm whatif --from DIR</code> \
             answers it: the data-plane workers (cores) each strategy needs for {}. The target is \
             set with the sweep's <code>--rps-per-region</code>, <code>--p99-ms</code>, \
             <code>--keys</code> and <code>--regions</code>; every assumption is listed below the \
             table.</p><ul>",
            esc(&target_text(&a.target))
        );
        for line in whatif_lines(a) {
            let _ = writeln!(o, "<li>{}</li>", esc(&line));
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(
        o,
        "<div class=\"scroll\"><pre>{}</pre></div>",
        esc(&whatif_text(s))
    );
    let e = &s.environment;
    let _ = writeln!(o, "<h2 id=\"environment\">Environment</h2>");
    let _ = writeln!(
        o,
        "<p>{} on {} ({} cores), {}, {} build, commit {}, {}.</p>",
        esc(&s.sigstorm_version),
        esc(&e.cpu),
        e.cores,
        esc(&e.os),
        esc(&e.profile),
        esc(&e.git_commit),
        esc(&e.rustc)
    );
    let _ = writeln!(o, "<h2 id=\"workload\">Workload</h2>");
    let text = toml::to_string_pretty(&s.workload).unwrap_or_else(|e| format!("({e})"));
    let _ = writeln!(o, "<pre>{}</pre>", esc(&text));
    let _ = writeln!(o, "</body></html>");
    o
}
