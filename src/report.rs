//! Human output: the comparison table a run prints, and the one place that
//! formats durations and rates for people.

use std::fmt::Write as _;

use crate::summary::{RunSummary, Summary};

/// A nanosecond duration for people: `850ns`, `42.1µs`, `3.20ms`, `1.50s`.
pub fn human_ns(ns: u64) -> String {
    human_us(ns as f64 / 1000.0)
}

/// A microsecond duration for people.
pub fn human_us(us: f64) -> String {
    if us < 1.0 {
        format!("{:.0}ns", us * 1000.0)
    } else if us < 100.0 {
        format!("{us:.1}µs")
    } else if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 100_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.0}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

/// A rate for people: `950`, `12.3k`, `1.20M`.
pub fn human_rate(per_sec: f64) -> String {
    if per_sec < 10_000.0 {
        format!("{per_sec:.0}")
    } else if per_sec < 1_000_000.0 {
        format!("{:.1}k", per_sec / 1000.0)
    } else {
        format!("{:.2}M", per_sec / 1_000_000.0)
    }
}

/// The comparison table of a summary, as printed after a run.
pub fn comparison_table(summary: &Summary) -> String {
    let mut out = String::new();
    let w = &summary.workload;
    let _ = writeln!(
        out,
        "workload {} (seed {}), {} region{} x {} AZ replicas, {} users, {} crypto, {} s measured per strategy",
        w.name,
        summary.seed,
        w.regions.len(),
        if w.regions.len() == 1 { "" } else { "s" },
        w.data_plane.azs,
        w.principals.users,
        w.crypto,
        w.run.duration_s
    );
    let header = [
        "strategy",
        "offered/s",
        "achieved/s",
        "p50",
        "p99",
        "p99.9",
        "max",
        "svc p99",
        "late p99",
        "hit ratio",
        "HMAC/req",
        "CP calls",
    ];
    let rows: Vec<Vec<String>> = summary.runs.iter().map(main_row).collect();
    table(&mut out, &header, &rows);

    let _ = writeln!(out);
    let codes = outcome_columns(&summary.runs);
    let mut header: Vec<&str> = vec!["outcomes"];
    header.extend(codes.iter().map(String::as_str));
    header.extend(["shed", "unfinished", "unexpected", "stale"]);
    let rows: Vec<Vec<String>> = summary
        .runs
        .iter()
        .map(|r| {
            let mut row = vec![r.label.clone()];
            row.extend(
                codes
                    .iter()
                    .map(|c| r.figures.outcomes.get(c).copied().unwrap_or(0).to_string()),
            );
            row.push(r.figures.shed.to_string());
            row.push(r.figures.unfinished.to_string());
            row.push(r.figures.unexpected_rejections.to_string());
            row.push(r.figures.stale_accepts.to_string());
            row
        })
        .collect();
    table(&mut out, &header, &rows);

    let _ = writeln!(out);
    let width = summary
        .runs
        .iter()
        .map(|r| r.label.len())
        .max()
        .unwrap_or(0);
    for r in &summary.runs {
        let c = &r.cpu;
        let _ = writeln!(
            out,
            "cpu {:<width$} generator {:.1}s (of which spinning {:.1}s), data planes {:.1}s on {} thread{}, {:.1}s wall, {} cores{}",
            r.label,
            c.generator_s,
            c.generator_spin_s,
            c.data_plane_s,
            c.data_plane_threads,
            if c.data_plane_threads == 1 { "" } else { "s" },
            c.wall_s,
            c.cores,
            if r.interrupted { ", INTERRUPTED" } else { "" },
        );
    }
    let _ = writeln!(
        out,
        "latency counts from each request's intended start; round trips to the home region are simulated"
    );
    out
}

fn main_row(r: &RunSummary) -> Vec<String> {
    let f = &r.figures;
    vec![
        r.label.clone(),
        human_rate(f.offered_rps),
        human_rate(f.achieved_rps),
        human_us(f.latency_us.p50),
        human_us(f.latency_us.p99),
        human_us(f.latency_us.p999),
        human_us(f.latency_us.max),
        human_us(r.service_time_us.p99),
        human_us(r.generator_lateness_us.p99),
        match f.cache.hit_ratio {
            Some(ratio) => format!("{:.2}%", ratio * 100.0),
            None => "-".to_string(),
        },
        format!("{:.2}", f.hmacs_per_request),
        f.control_plane_calls.to_string(),
    ]
}

/// Every run's warnings, one line each, for stderr.
pub fn warnings(summary: &Summary) -> Vec<String> {
    summary
        .runs
        .iter()
        .flat_map(|r| {
            r.warnings
                .iter()
                .map(move |w| format!("[{}] {w}", r.strategy))
        })
        .collect()
}

/// `allowed`, `denied`, then every other outcome with a count in some run.
fn outcome_columns(runs: &[RunSummary]) -> Vec<String> {
    let mut cols = vec!["allowed".to_string(), "denied".to_string()];
    let mut others: Vec<String> = runs
        .iter()
        .flat_map(|r| r.figures.outcomes.iter())
        .filter(|(k, v)| {
            **v > 0
                && !matches!(
                    k.as_str(),
                    "allowed" | "denied" | "denied_explicit" | "denied_implicit"
                )
        })
        .map(|(k, _)| k.clone())
        .collect();
    others.sort();
    others.dedup();
    cols.extend(others);
    cols
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header.to_vec()));
    for row in rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(human_ns(850), "850ns");
        assert_eq!(human_ns(42_140), "42.1µs");
        assert_eq!(human_ns(420_000), "420µs");
        assert_eq!(human_ns(3_200_000), "3.20ms");
        assert_eq!(human_ns(250_000_000), "250ms");
        assert_eq!(human_ns(1_500_000_000), "1.50s");
        assert_eq!(human_rate(950.4), "950");
        assert_eq!(human_rate(12_345.0), "12.3k");
    }

    #[test]
    fn table_aligns_columns() {
        let mut out = String::new();
        table(
            &mut out,
            &["a", "bb"],
            &[
                vec!["xxx".into(), "1".into()],
                vec!["y".into(), "22".into()],
            ],
        );
        assert_eq!(out, "a    bb\nxxx   1\ny    22\n");
    }
}
