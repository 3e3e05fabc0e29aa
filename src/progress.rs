//! The status line while a strategy runs: on stderr, overwritten in place when
//! stderr is a terminal, a plain line every five seconds otherwise, nothing
//! with `--quiet`. It shows the run, where it is (warm-up, measuring, or the
//! schedule's phase, such as `fault: regional_incident`, when the workload
//! has one; draining) with the elapsed time, and over the last interval:
//! responses per second, p99 latency and server errors
//! (`ServiceUnavailable`) per second. It is at most [`MAX_COLUMNS`] columns
//! wide: a long run label or phase name is shortened to fit.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::metrics::Recorder;
use crate::report::{human_ns, human_rate};
use crate::schedule::PhaseSpan;

/// The widest the status line gets, in characters.
pub const MAX_COLUMNS: usize = 100;

/// The progress reporter of one strategy run.
pub struct Progress {
    quiet: bool,
    terminal: bool,
    name: String,
    n: usize,
    of: usize,
    state: Mutex<State>,
}

struct State {
    last_tick: Instant,
    last_print: Instant,
    printed: bool,
}

/// Where a strategy run is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage<'a> {
    /// Warming up: seconds elapsed of the warm-up's.
    WarmUp {
        /// Seconds elapsed.
        elapsed_s: f64,
        /// The warm-up's length, seconds.
        total_s: f64,
    },
    /// Measuring: seconds elapsed of the measured window's, and the
    /// schedule's phase when the workload has one.
    Measuring {
        /// Seconds since measurement started.
        elapsed_s: f64,
        /// The measured window's length, seconds.
        total_s: f64,
        /// The phase (`steady`, `storm: rotate_keys`, `fault: ...`,
        /// `recovery`); `None` without a schedule.
        phase: Option<&'a str>,
    },
    /// Waiting for the answers still in flight.
    Draining {
        /// Seconds since the load stopped.
        elapsed_s: f64,
    },
}

/// The stage `elapsed` after the run's start, with `warmup` of warm-up and
/// `window` measured; `phases` are the schedule's (seconds from the start of
/// measurement; a lone `steady` phase, or none, means no schedule).
pub fn stage(
    elapsed: Duration,
    warmup: Duration,
    window: Duration,
    phases: &[PhaseSpan],
) -> Stage<'_> {
    if elapsed < warmup {
        return Stage::WarmUp {
            elapsed_s: elapsed.as_secs_f64(),
            total_s: warmup.as_secs_f64(),
        };
    }
    let measured = elapsed - warmup;
    if measured >= window {
        return Stage::Draining {
            elapsed_s: (measured - window).as_secs_f64(),
        };
    }
    let t = measured.as_secs_f64();
    let scheduled = !(phases.is_empty() || phases.len() == 1 && phases[0].name == "steady");
    let phase = scheduled
        .then(|| {
            phases
                .iter()
                .find(|p| p.start_s <= t && t < p.end_s)
                .or(phases.last())
                .map(|p| p.name.as_str())
        })
        .flatten();
    Stage::Measuring {
        elapsed_s: t,
        total_s: window.as_secs_f64(),
        phase,
    }
}

/// Everything the status line shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Status<'a> {
    /// The run's label (`per-service/moka`).
    pub label: &'a str,
    /// The run's position, from 1.
    pub n: usize,
    /// Runs in all.
    pub of: usize,
    /// Where the run is.
    pub stage: Stage<'a>,
    /// Responses per second over the last interval.
    pub responses_per_s: f64,
    /// Their p99 latency, nanoseconds (`None` without responses).
    pub p99_ns: Option<u64>,
    /// `ServiceUnavailable` answers per second over the last interval.
    pub errors_per_s: f64,
}

/// `s`, cut to at most `max` characters with an ellipsis when longer.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn per_second(x: f64) -> String {
    if x > 0.0 && x < 0.5 {
        "<1".to_string()
    } else {
        human_rate(x)
    }
}

/// The status line of `status`, at most [`MAX_COLUMNS`] characters: for
/// example `[2/4 per-service] 12.0/25.0s fault: regional_incident | 3011
/// req/s p99 185µs errors 12/s` (on one line).
pub fn status_line(status: &Status<'_>) -> String {
    let tail = format!(
        " | {} req/s p99 {} errors {}/s",
        human_rate(status.responses_per_s),
        status.p99_ns.map_or_else(|| "-".to_string(), human_ns),
        per_second(status.errors_per_s),
    );
    let (stage, phase) = match status.stage {
        Stage::WarmUp { elapsed_s, total_s } => {
            (format!("warm-up {elapsed_s:.1}/{total_s:.1}s"), None)
        }
        Stage::Measuring {
            elapsed_s,
            total_s,
            phase: None,
        } => (format!("measuring {elapsed_s:.1}/{total_s:.1}s"), None),
        Stage::Measuring {
            elapsed_s,
            total_s,
            phase: Some(phase),
        } => (format!("{elapsed_s:.1}/{total_s:.1}s"), Some(phase)),
        Stage::Draining { elapsed_s } => (format!("draining {elapsed_s:.1}s"), None),
    };
    let phase: Option<&str> = phase;
    let line = |label: &str, phase: Option<&str>| {
        let phase = phase.map(|p| format!(" {p}")).unwrap_or_default();
        format!("[{}/{} {label}] {stage}{phase}{tail}", status.n, status.of)
    };
    let width = |s: &str| s.chars().count();
    let text = line(status.label, phase);
    if width(&text) <= MAX_COLUMNS {
        return text;
    }
    // Too wide: the label gives way until the phase has 24 characters (or
    // all of its own), then the phase; neither below 12 characters.
    let phase_width = phase.map_or(0, width);
    let room = MAX_COLUMNS.saturating_sub(width(&text) - width(status.label) - phase_width);
    let label = shorten_label(
        status.label,
        room.saturating_sub(phase_width.min(24)).max(12),
    );
    let phase = phase.map(|p| shorten(p, room.saturating_sub(width(&label)).max(12)));
    shorten(&line(&label, phase.as_deref()), MAX_COLUMNS)
}

/// A run label cut to at most `max` characters, keeping the cache backend
/// after its `/` whole where it can.
fn shorten_label(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_string();
    }
    match label.rsplit_once('/') {
        Some((strategy, backend)) if backend.chars().count() + 2 < max => {
            let keep = max - backend.chars().count() - 1;
            format!("{}/{backend}", shorten(strategy, keep))
        }
        _ => shorten(label, max),
    }
}

impl Progress {
    /// A reporter for the run labelled `name`, the `n`th of `of`.
    pub fn new(quiet: bool, name: &str, n: usize, of: usize) -> Progress {
        let now = Instant::now();
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            name: name.to_string(),
            n,
            of,
            state: Mutex::new(State {
                last_tick: now,
                last_print: now,
                printed: false,
            }),
        }
    }

    /// Print a status line if one is due (every second on a terminal, every
    /// five seconds otherwise). `phases` are the schedule's, in seconds from
    /// the start of measurement (`start + warmup`).
    pub fn tick(
        &self,
        recorder: &Recorder,
        start: Instant,
        warmup: Duration,
        window: Duration,
        phases: &[PhaseSpan],
    ) {
        if self.quiet {
            return;
        }
        let mut state = self.state.lock();
        let now = Instant::now();
        let every = if self.terminal {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(5)
        };
        if now - state.last_tick < Duration::from_secs(1) {
            return;
        }
        let interval = now - state.last_tick;
        state.last_tick = now;
        let live = recorder.take_live();
        if now - state.last_print < every {
            return;
        }
        state.last_print = now;
        let per_sec = |n: u64| n as f64 / interval.as_secs_f64();
        let line = status_line(&Status {
            label: &self.name,
            n: self.n,
            of: self.of,
            stage: stage(now.saturating_duration_since(start), warmup, window, phases),
            responses_per_s: per_sec(live.responses),
            p99_ns: (!live.latency.is_empty()).then(|| live.latency.value_at_quantile(0.99)),
            errors_per_s: per_sec(live.server_errors),
        });
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        state.printed = true;
    }

    /// End the status line.
    pub fn finish(&self) {
        let state = self.state.lock();
        if !self.quiet && self.terminal && state.printed {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(names: &[(&str, f64, f64)]) -> Vec<PhaseSpan> {
        names
            .iter()
            .map(|&(name, start_s, end_s)| PhaseSpan {
                name: name.to_string(),
                start_s,
                end_s,
            })
            .collect()
    }

    fn status<'a>(label: &'a str, stage: Stage<'a>) -> Status<'a> {
        Status {
            label,
            n: 2,
            of: 4,
            stage,
            responses_per_s: 3011.4,
            p99_ns: Some(185_000),
            errors_per_s: 12.0,
        }
    }

    #[test]
    fn the_stage_follows_the_clock_and_the_schedule() {
        let s = Duration::from_secs_f64;
        let phases = spans(&[
            ("steady", 0.0, 5.0),
            ("fault: regional_incident", 5.0, 15.0),
            ("recovery", 15.0, 25.0),
        ]);
        let (warmup, window) = (s(2.0), s(25.0));
        assert_eq!(
            stage(s(0.5), warmup, window, &phases),
            Stage::WarmUp {
                elapsed_s: 0.5,
                total_s: 2.0
            }
        );
        let phase_at = |t: f64| match stage(s(2.0 + t), warmup, window, &phases) {
            Stage::Measuring { phase, .. } => phase,
            other => panic!("{other:?}"),
        };
        assert_eq!(phase_at(0.0), Some("steady"));
        assert_eq!(phase_at(5.0), Some("fault: regional_incident"));
        assert_eq!(phase_at(14.9), Some("fault: regional_incident"));
        assert_eq!(phase_at(24.9), Some("recovery"));
        assert_eq!(
            stage(s(27.5), warmup, window, &phases),
            Stage::Draining { elapsed_s: 0.5 }
        );
        // Without a schedule: no phase.
        let steady = spans(&[("steady", 0.0, 25.0)]);
        for phases in [&steady[..], &[]] {
            assert_eq!(
                stage(s(3.0), warmup, window, phases),
                Stage::Measuring {
                    elapsed_s: 1.0,
                    total_s: 25.0,
                    phase: None
                }
            );
        }
    }

    #[test]
    fn the_status_line_shows_phase_rate_p99_and_errors() {
        let measuring = Stage::Measuring {
            elapsed_s: 12.04,
            total_s: 25.0,
            phase: Some("fault: regional_incident"),
        };
        assert_eq!(
            status_line(&status("per-service", measuring)),
            "[2/4 per-service] 12.0/25.0s fault: regional_incident | 3011 req/s p99 185µs errors 12/s"
        );
        let plain = Stage::Measuring {
            elapsed_s: 3.0,
            total_s: 8.0,
            phase: None,
        };
        let mut quiet = status("none", plain);
        quiet.p99_ns = None;
        quiet.responses_per_s = 0.0;
        quiet.errors_per_s = 0.2;
        assert_eq!(
            status_line(&quiet),
            "[2/4 none] measuring 3.0/8.0s | 0 req/s p99 - errors <1/s"
        );
        let warm = Stage::WarmUp {
            elapsed_s: 0.5,
            total_s: 1.0,
        };
        assert_eq!(
            status_line(&status("per-region", warm)),
            "[2/4 per-region] warm-up 0.5/1.0s | 3011 req/s p99 185µs errors 12/s"
        );
        assert_eq!(
            status_line(&status("per-region", Stage::Draining { elapsed_s: 0.3 })),
            "[2/4 per-region] draining 0.3s | 3011 req/s p99 185µs errors 12/s"
        );
    }

    #[test]
    fn a_long_label_and_phase_are_shortened_to_fit() {
        let stage = Stage::Measuring {
            elapsed_s: 123.4,
            total_s: 600.0,
            phase: Some(
                "fault: control_plane_incident + storm: create_users + storm: midnight_roll",
            ),
        };
        let mut s = status("per-service-prekeyed/quick-cache", stage);
        s.n = 10;
        s.of = 12;
        s.responses_per_s = 123_456.0;
        s.p99_ns = Some(1_310_000);
        s.errors_per_s = 4321.0;
        // The label gives way first (to let the phase have 24 characters),
        // then the phase, to fit 100 columns.
        let line = status_line(&s);
        assert_eq!(
            line,
            "[10/12 p…/quick-cache] 123.4/600.0s fault: control_plane_in… | 123.5k req/s p99 1.31ms errors 4321/s"
        );
        assert_eq!(line.chars().count(), MAX_COLUMNS);
        let usual = Stage::Measuring {
            elapsed_s: 12.0,
            total_s: 25.0,
            phase: Some("fault: control_plane_incident"),
        };
        assert_eq!(
            status_line(&status("per-service-prekeyed/moka", usual)),
            "[2/4 per-service-preke…/moka] 12.0/25.0s fault: control_plane_in… | 3011 req/s p99 185µs errors 12/s"
        );
        // Most fit whole.
        let usual = Stage::Measuring {
            elapsed_s: 12.0,
            total_s: 25.0,
            phase: Some("fault: regional_incident"),
        };
        assert_eq!(
            status_line(&status("per-service/quick-cache", usual)),
            "[2/4 per-service/quick-cache] 12.0/25.0s fault: regional_incident | 3011 req/s p99 185µs errors 12/s"
        );
        // An absurd label still yields one line within the width.
        let long = "x".repeat(300);
        let line = status_line(&status(&long, stage));
        assert_eq!(line.chars().count(), MAX_COLUMNS, "{line}");
        let start = format!(
            "[2/4 {}…] 123.4/600.0s fault: control_plane_in… | ",
            "x".repeat(20)
        );
        assert!(line.starts_with(&start), "{line}");
    }
}
