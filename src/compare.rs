//! `sigstorm compare A B`: two runs' figures side by side, per run label
//! (strategy), as ratios B/A of throughput and of p50, p99, p99.9 and the
//! largest latency, each called better, worse or the same within a
//! tolerance; and a chart of it.

use std::fmt::Write as _;

use crate::charts::build::{CompareInput, COMPARE_METRICS};
use crate::page::RunTotals;
use crate::report::{human_rate, human_us};

/// Whether B is better than A on a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// More throughput, or less latency, beyond the tolerance.
    Better,
    /// Less throughput, or more latency, beyond the tolerance.
    Worse,
    /// Within the tolerance.
    Same,
    /// A side has no value (nothing measured).
    Unknown,
}

impl Verdict {
    /// `better`, `worse`, `same` or `-`.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Same => "same",
            Verdict::Unknown => "-",
        }
    }
}

/// One metric of one label compared.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The run label.
    pub label: String,
    /// `throughput`, `p50`, `p99`, `p99.9` or `max`.
    pub metric: &'static str,
    /// A's value (responses per second, or microseconds).
    pub a: f64,
    /// B's value.
    pub b: f64,
    /// B / A (`None` when A is 0).
    pub ratio: Option<f64>,
    /// Better, worse or same.
    pub verdict: Verdict,
}

/// The comparison of two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Rows, by label (in A's order) then metric.
    pub rows: Vec<Row>,
    /// Labels only A has.
    pub only_a: Vec<String>,
    /// Labels only B has.
    pub only_b: Vec<String>,
    /// The tolerance: a ratio within `[1/(1+t), 1+t]` is the same.
    pub tolerance: f64,
}

/// Compare `b` with `a`, matching runs by label; a ratio within
/// `[1/(1+tolerance), 1+tolerance]` is the same.
pub fn compare(a: &[RunTotals], b: &[RunTotals], tolerance: f64) -> Comparison {
    let tolerance = if tolerance.is_finite() {
        tolerance.max(0.0)
    } else {
        0.0
    };
    let mut rows = Vec::new();
    for ra in a {
        let Some(rb) = b.iter().find(|r| r.label == ra.label) else {
            continue;
        };
        let metrics: [(&'static str, f64, f64, bool); 5] = [
            ("throughput", ra.achieved_rps, rb.achieved_rps, true),
            ("p50", ra.p50_us, rb.p50_us, false),
            ("p99", ra.p99_us, rb.p99_us, false),
            ("p99.9", ra.p999_us, rb.p999_us, false),
            ("max", ra.max_us, rb.max_us, false),
        ];
        for (metric, va, vb, higher_is_better) in metrics {
            let ratio = (va > 0.0 && vb.is_finite()).then(|| vb / va);
            let verdict = match ratio {
                None => Verdict::Unknown,
                Some(r) if r <= 1.0 + tolerance && r >= 1.0 / (1.0 + tolerance) => Verdict::Same,
                Some(r) if (r > 1.0) == higher_is_better => Verdict::Better,
                Some(_) => Verdict::Worse,
            };
            rows.push(Row {
                label: ra.label.clone(),
                metric,
                a: va,
                b: vb,
                ratio,
                verdict,
            });
        }
    }
    let only = |x: &[RunTotals], y: &[RunTotals]| {
        x.iter()
            .filter(|r| !y.iter().any(|s| s.label == r.label))
            .map(|r| r.label.clone())
            .collect()
    };
    Comparison {
        rows,
        only_a: only(a, b),
        only_b: only(b, a),
        tolerance,
    }
}

impl Comparison {
    /// The labels compared, in order.
    pub fn labels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.label) {
                out.push(r.label.clone());
            }
        }
        out
    }

    /// The chart's input: per label, how many times better B is per metric
    /// (B/A for throughput, A/B for latency).
    pub fn chart_input(&self) -> Vec<CompareInput> {
        self.labels()
            .into_iter()
            .map(|label| CompareInput {
                improvement: COMPARE_METRICS
                    .iter()
                    .map(|m| {
                        self.rows
                            .iter()
                            .find(|r| r.label == label && r.metric == *m)
                            .and_then(|r| r.ratio)
                            .filter(|v| *v > 0.0)
                            .map(|v| if *m == "throughput" { v } else { 1.0 / v })
                    })
                    .collect(),
                label,
            })
            .collect()
    }

    /// The table for people: a row per label and metric with both values,
    /// the ratio B/A and the verdict.
    pub fn table(&self, a_name: &str, b_name: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "A: {a_name}");
        let _ = writeln!(out, "B: {b_name}");
        let _ = writeln!(
            out,
            "ratio = B / A; higher throughput and lower latency are better; \"same\" within {:.0}%\n",
            self.tolerance * 100.0
        );
        let header = ["strategy", "metric", "A", "B", "B/A", "verdict"];
        let mut rows: Vec<[String; 6]> = Vec::new();
        let mut last = String::new();
        for r in &self.rows {
            let fmt = |v: f64| {
                if r.metric == "throughput" {
                    format!("{}/s", human_rate(v))
                } else {
                    human_us(v)
                }
            };
            rows.push([
                if r.label == last {
                    String::new()
                } else {
                    r.label.clone()
                },
                r.metric.to_string(),
                fmt(r.a),
                fmt(r.b),
                r.ratio.map_or("-".to_string(), |x| format!("{x:.2}x")),
                r.verdict.word().to_string(),
            ]);
            last = r.label.clone();
        }
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: [&str; 6]| {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                let pad = " ".repeat(w - c.chars().count());
                if (2..=4).contains(&i) {
                    s.push_str(&pad);
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&pad);
                }
                s.push_str("  ");
            }
            s.trim_end().to_string()
        };
        let _ = writeln!(out, "{}", line(header));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row.each_ref().map(String::as_str)));
        }
        if self.rows.is_empty() {
            let _ = writeln!(out, "(no strategy is in both runs)");
        }
        if !self.only_a.is_empty() {
            let _ = writeln!(out, "only in A: {}", self.only_a.join(", "));
        }
        if !self.only_b.is_empty() {
            let _ = writeln!(out, "only in B: {}", self.only_b.join(", "));
        }
        let count = |v: Verdict| self.rows.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            out,
            "\n{} better, {} worse, {} same",
            count(Verdict::Better),
            count(Verdict::Worse),
            count(Verdict::Same)
        );
        out
    }
}

/// What a comparison must know of each run besides its figures, to say
/// when A and B do not compare like with like.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// The workload's name.
    pub workload: String,
    /// The seed.
    pub seed: u64,
    /// Measured seconds per strategy.
    pub duration_s: f64,
    /// CPU model and cores.
    pub machine: String,
    /// Build profile.
    pub profile: String,
}

impl Setup {
    /// The setup of a summary.
    pub fn of(s: &crate::summary::Summary) -> Setup {
        Setup {
            workload: s.workload.name.clone(),
            seed: s.seed,
            duration_s: s.workload.run.duration_s,
            machine: format!("{}, {} cores", s.environment.cpu, s.environment.cores),
            profile: s.environment.profile.clone(),
        }
    }
}

/// Why the figures of A and B may differ for reasons other than the
/// change under test, one sentence each.
pub fn caveats(a: &Setup, b: &Setup, ra: &[RunTotals], rb: &[RunTotals]) -> Vec<String> {
    let mut out = Vec::new();
    if a.workload != b.workload {
        out.push(format!(
            "the runs are of different workloads ({} and {})",
            a.workload, b.workload
        ));
    }
    if a.seed != b.seed {
        out.push(format!(
            "the runs have different seeds ({} and {}): different traffic",
            a.seed, b.seed
        ));
    }
    if (a.duration_s - b.duration_s).abs() > 1e-9 {
        out.push(format!(
            "the runs measured for different times ({} s and {} s)",
            a.duration_s, b.duration_s
        ));
    }
    if a.machine != b.machine {
        out.push(format!(
            "the runs ran on different machines ({} and {})",
            a.machine, b.machine
        ));
    }
    if a.profile != b.profile {
        out.push(format!(
            "the runs were built differently ({} and {})",
            a.profile, b.profile
        ));
    }
    let offered: Vec<String> = ra
        .iter()
        .filter_map(|x| {
            let y = rb.iter().find(|y| y.label == x.label)?;
            let r = y.offered_rps / x.offered_rps.max(f64::MIN_POSITIVE);
            ((r - 1.0).abs() > 0.02).then(|| {
                format!(
                    "{} ({}/s and {}/s)",
                    x.label,
                    human_rate(x.offered_rps),
                    human_rate(y.offered_rps)
                )
            })
        })
        .collect();
    if !offered.is_empty() {
        out.push(format!(
            "the offered load differs for {}: throughput ratios compare the loads, not the \
             strategies",
            offered.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(label: &str, rps: f64, p: [f64; 4]) -> RunTotals {
        RunTotals {
            label: label.into(),
            offered_rps: 3000.0,
            achieved_rps: rps,
            p50_us: p[0],
            p99_us: p[1],
            p999_us: p[2],
            max_us: p[3],
            defects: 0,
            interrupted: false,
        }
    }

    #[test]
    fn caveats_name_what_differs() {
        let a = Setup {
            workload: "default".into(),
            seed: 42,
            duration_s: 8.0,
            machine: "x, 2 cores".into(),
            profile: "release".into(),
        };
        let runs = [run("none", 3000.0, [1.0; 4])];
        assert!(caveats(&a, &a, &runs, &runs).is_empty());
        let b = Setup {
            seed: 7,
            profile: "debug".into(),
            ..a.clone()
        };
        let mut slower = runs.clone();
        slower[0].offered_rps = 2000.0;
        let c = caveats(&a, &b, &runs, &slower);
        assert_eq!(c.len(), 3, "{c:?}");
        assert!(c[0].contains("different seeds (42 and 7)"));
        assert!(c[1].contains("release and debug"));
        assert!(c[2].contains("none (3000/s and 2000/s)"));
    }

    #[test]
    fn ratios_and_verdicts_by_label() {
        let a = [
            run("none", 3000.0, [100.0, 200.0, 300.0, 400.0]),
            run("per-region", 3000.0, [10.0, 20.0, 30.0, 40.0]),
        ];
        let b = [
            run("per-region", 2000.0, [10.2, 10.0, 60.0, 0.0]),
            run("per-service", 3000.0, [1.0; 4]),
        ];
        let c = compare(&a, &b, 0.05);
        assert_eq!(c.labels(), ["per-region"]);
        assert_eq!(c.only_a, ["none"]);
        assert_eq!(c.only_b, ["per-service"]);
        let verdicts: Vec<(&str, Verdict)> = c.rows.iter().map(|r| (r.metric, r.verdict)).collect();
        assert_eq!(
            verdicts,
            [
                ("throughput", Verdict::Worse),
                ("p50", Verdict::Same),
                ("p99", Verdict::Better),
                ("p99.9", Verdict::Worse),
                ("max", Verdict::Better),
            ]
        );
        assert_eq!(c.rows[2].ratio, Some(0.5));
        let input = c.chart_input();
        assert_eq!(input.len(), 1);
        let improvement: Vec<Option<f64>> = input[0].improvement.clone();
        assert_eq!(improvement[0], Some(2000.0 / 3000.0));
        assert_eq!(improvement[2], Some(2.0));
        // A max of 0 in B: no factor to draw.
        assert_eq!(improvement[4], None);
        let t = c.table("run-a", "run-b");
        assert!(t.contains("per-region  throughput"), "{t}");
        assert!(t.contains("0.50x  better"), "{t}");
        assert!(t.contains("only in A: none"), "{t}");
        assert!(t.contains("2 better, 2 worse, 1 same"), "{t}");
    }
}
