//! Human output: the comparison table a run prints, and the one place that
//! formats durations and rates for people.

use std::fmt::Write as _;

use crate::health::{utc_time, HealthEvent, Kind, Status};
use crate::service::Service;
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

    phases_section(&mut out, summary);
    replication_section(&mut out, summary);

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
    for r in &summary.runs {
        if let Some(h) = &r.platform_hiccups_us {
            let _ = writeln!(
                out,
                "hiccups {:<width$} a thread waking every 1 ms waited, over time: p50 {}, p99 {}, p99.9 {}, max {} (scheduling stalls)",
                r.label,
                human_us(h.p50),
                human_us(h.p99),
                human_us(h.p999),
                human_us(h.max),
            );
        }
    }
    let _ = writeln!(
        out,
        "latency counts from each request's intended start; round trips to the home region are simulated"
    );
    out
}

/// Per run, the figures of each phase, when the workload has a schedule.
fn phases_section(out: &mut String, summary: &Summary) {
    let scheduled =
        !summary.workload.schedule.is_empty() || summary.runs.iter().any(|r| r.phases.len() > 1);
    if !scheduled {
        return;
    }
    let header = [
        "phase",
        "window",
        "achieved/s",
        "p99",
        "errors",
        "stale",
        "exposure",
    ];
    for r in &summary.runs {
        let _ = writeln!(out, "\nphases of {}", r.label);
        let rows: Vec<Vec<String>> = r
            .phases
            .iter()
            .map(|p| {
                let f = &p.figures;
                vec![
                    p.name.clone(),
                    format!("{:.1}-{:.1}s", p.start_s, p.end_s),
                    human_rate(f.achieved_rps),
                    human_us(f.latency_us.p99),
                    f.outcomes
                        .get("ServiceUnavailable")
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                    f.stale_accepts.to_string(),
                    f.exposure_accepts.to_string(),
                ]
            })
            .collect();
        table(out, &header, &rows);
    }
    let _ = writeln!(
        out,
        "a phase holds the requests intended in it; errors are ServiceUnavailable answers"
    );
}

/// Per run, each region's replication, when any entry was propagated.
fn replication_section(out: &mut String, summary: &Summary) {
    let header = [
        "region",
        "prop p50",
        "prop p99",
        "prop max",
        "applied",
        "max backlog",
        "max lag",
        "exposure",
    ];
    for r in &summary.runs {
        if r.replication.iter().all(|x| x.applied == 0) {
            continue;
        }
        let _ = writeln!(out, "\nreplication of {}", r.label);
        let ms = |v: f64| human_us(v * 1000.0);
        let rows: Vec<Vec<String>> = r
            .replication
            .iter()
            .map(|x| {
                // A region that applied nothing has no delays to show.
                let delay = |v: f64| {
                    if x.applied == 0 {
                        "-".to_string()
                    } else {
                        ms(v)
                    }
                };
                vec![
                    x.region.clone(),
                    delay(x.propagation_delay_ms.p50),
                    delay(x.propagation_delay_ms.p99),
                    delay(x.propagation_delay_ms.max),
                    x.applied.to_string(),
                    x.max_backlog.to_string(),
                    ms(x.max_lag_ms),
                    x.exposure_accepts.to_string(),
                ]
            })
            .collect();
        table(out, &header, &rows);
    }
}

/// The most lines of the printed timeline; the rest are in `events.json`.
const TIMELINE_LINES: usize = 30;

/// The health events as a short timeline (simulated UTC): one line per
/// incident of a run and region, the services it hit listed together.
/// "No incidents detected." when there are none.
pub fn timeline(events: &[HealthEvent]) -> String {
    let mut out = String::new();
    if events.is_empty() {
        let _ = writeln!(out, "\nNo incidents detected.");
        return out;
    }
    // (run, region, kind, status, start, end) -> services, in first-seen order.
    let mut groups: Vec<(&HealthEvent, Vec<&str>)> = Vec::new();
    for e in events {
        let service = e
            .service
            .strip_suffix(e.region.as_str())
            .and_then(|s| s.strip_suffix('-'))
            .unwrap_or(&e.service);
        let service = if service == Service::ElasticLoadBalancing.signing_name() {
            "elb"
        } else {
            service
        };
        let same = |g: &HealthEvent| {
            g.strategy == e.strategy
                && g.region == e.region
                && g.kind == e.kind
                && g.status == e.status
                && g.start_ms == e.start_ms
                && g.end_ms == e.end_ms
        };
        match groups.iter_mut().find(|(g, _)| same(g)) {
            Some((_, services)) => services.push(service),
            None => groups.push((e, vec![service])),
        }
    }
    let _ = writeln!(
        out,
        "\nhealth events ({} incident{}, simulated UTC; details in events.json)",
        events.len(),
        if events.len() == 1 { "" } else { "s" }
    );
    let rows: Vec<Vec<String>> = groups
        .iter()
        .take(TIMELINE_LINES)
        .map(|(e, services)| {
            let what = match e.kind {
                Kind::Errors => format!("errors, peak {:.0}%", e.peak_error_rate * 100.0),
                Kind::Latency => format!("latency, p99 peak {}", human_us(e.peak_p99_ms * 1000.0)),
            };
            vec![
                e.strategy.clone(),
                utc_time(e.start_ms),
                match e.status {
                    Status::Resolved => utc_time(e.end_ms),
                    Status::Open => "-".to_string(),
                },
                e.region.clone(),
                services.join(","),
                match e.status {
                    Status::Resolved => "resolved",
                    Status::Open => "open",
                }
                .to_string(),
                what,
            ]
        })
        .collect();
    left_table(
        &mut out,
        &[
            "strategy", "start", "end", "region", "services", "status", "what",
        ],
        &rows,
    );
    if groups.len() > TIMELINE_LINES {
        let _ = writeln!(
            out,
            "... and {} more lines in events.json",
            groups.len() - TIMELINE_LINES
        );
    }
    out
}

/// A table with every column aligned left.
fn left_table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (cell, w) in cells.iter().zip(&widths) {
            s.push_str(cell);
            s.push_str(&" ".repeat(w - cell.chars().count() + 2));
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header.to_vec()));
    for row in rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
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

    fn event(region: &str, service: Service, incident: &crate::health::Incident) -> HealthEvent {
        let config = crate::health::HealthConfig::default();
        crate::health::Context {
            region,
            service,
            strategy: "per-region",
            interval_s: 1.0,
            window_s: 20.0,
            // 2026-06-01T23:59:50Z
            origin_ms: 1_780_358_390_000,
            config: &config,
        }
        .event(incident)
    }

    #[test]
    fn timeline_lists_each_incident_once_with_its_services() {
        use crate::health::{Incident, Kind, Status};
        assert_eq!(timeline(&[]), "\nNo incidents detected.\n");
        let errors = Incident {
            first: 4,
            last: 9,
            status: Status::Resolved,
            kind: Kind::Errors,
            responses: 600,
            server_errors: 211,
            peak_error_rate: (0.61, 6),
            peak_p99_us: (900.0, 6),
            p99_threshold_us: 50_000.0,
        };
        let slow = Incident {
            first: 12,
            last: 19,
            status: Status::Open,
            kind: Kind::Latency,
            responses: 400,
            server_errors: 0,
            peak_error_rate: (0.0, 12),
            peak_p99_us: (180_000.0, 15),
            p99_threshold_us: 50_000.0,
        };
        let events = [
            event("eu-north-1", Service::S3, &errors),
            event("eu-north-1", Service::ElasticLoadBalancing, &errors),
            event("me-south-1", Service::Sqs, &slow),
        ];
        let t = timeline(&events);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "health events (3 incidents, simulated UTC; details in events.json)"
        );
        assert_eq!(
            lines[2],
            "strategy    start     end       region      services  status    what"
        );
        assert_eq!(
            lines[3],
            "per-region  23:59:54  00:00:00  eu-north-1  s3,elb    resolved  errors, peak 61%"
        );
        assert_eq!(
            lines[4],
            "per-region  00:00:02  -         me-south-1  sqs       open      latency, p99 peak 180ms"
        );
        assert_eq!(lines.len(), 5);
        assert!(t.lines().all(|l| l.chars().count() <= 100));
    }
}
