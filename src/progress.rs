//! The status line while a strategy runs: on stderr, overwritten in place when
//! stderr is a terminal, a plain line every few seconds otherwise, nothing
//! with `--quiet`. It shows the phase (warm-up, measuring, draining) and its
//! elapsed time, and over the last interval: responses per second, p99
//! latency, and requests refused with an error code (policy denials are not
//! counted).

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::loadgen::GeneratorProgress;
use crate::metrics::Recorder;
use crate::report::human_ns;

/// The progress reporter of one strategy run.
pub struct Progress {
    quiet: bool,
    terminal: bool,
    label: String,
    state: Mutex<State>,
}

struct State {
    last_tick: Instant,
    last_print: Instant,
    printed: bool,
}

impl Progress {
    /// A reporter for strategy `name`, the `n`th of `of`.
    pub fn new(quiet: bool, name: &str, n: usize, of: usize) -> Progress {
        let now = Instant::now();
        Progress {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            label: format!("[{n}/{of} {name}]"),
            state: Mutex::new(State {
                last_tick: now,
                last_print: now,
                printed: false,
            }),
        }
    }

    /// Print a status line if one is due (every second on a terminal, every
    /// five seconds otherwise).
    pub fn tick(
        &self,
        recorder: &Recorder,
        start: Instant,
        warmup: Duration,
        window: Duration,
        gen: &GeneratorProgress,
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
        let elapsed = now.saturating_duration_since(start);
        let phase = if elapsed < warmup {
            format!(
                "warm-up {:.1}/{:.1}s",
                elapsed.as_secs_f64(),
                warmup.as_secs_f64()
            )
        } else if elapsed < warmup + window {
            let measured = elapsed - warmup;
            format!(
                "measuring {:.1}/{:.1}s",
                measured.as_secs_f64(),
                window.as_secs_f64()
            )
        } else {
            format!("draining {:.1}s", (elapsed - warmup - window).as_secs_f64())
        };
        let per_sec = |n: u64| n as f64 / interval.as_secs_f64();
        let p99 = if live.latency.is_empty() {
            "-".to_string()
        } else {
            human_ns(live.latency.value_at_quantile(0.99))
        };
        let line = format!(
            "sigstorm: {} {phase}  {:.0} responses/s  p99 {p99}  refused {:.0}/s  sent {}",
            self.label,
            per_sec(live.responses),
            per_sec(live.rejected),
            gen.offered.load(Ordering::Relaxed),
        );
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
