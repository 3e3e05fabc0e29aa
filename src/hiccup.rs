//! The machine's own stalls, measured the way jHiccup measures them: a
//! thread that sleeps a fixed [`PERIOD`] over and over and records how much
//! later than asked it woke up. Nothing in sigstorm runs on that thread, so
//! what it records is what the machine did to a runnable thread: the
//! scheduler's wake-up latency, other processes, and on a virtual machine
//! the host taking the virtual CPU away. A request that arrives during such
//! a stall waits for it too, so the *hiccups* set a floor under the tail
//! latency that no data-plane design can remove; runs and sweeps report them
//! beside their percentiles ([`crate::summary::RunSummary`]) and warn when
//! they explain the p99.
//!
//! A stall longer than the period swallows the wake-ups that should have
//! happened during it; each is recorded as the delay a request arriving
//! then would have seen (HdrHistogram's `record_correct`), so the
//! percentiles are over time, like the latency percentiles are over a
//! Poisson stream of arrivals.
//!
//! NOTE: the meter sees a stall only when its own thread is the one
//! stalled. A stall of just the core a data-plane thread runs on, while the
//! meter sleeps on the other core, goes unseen, so the hiccups are a lower
//! bound on what the machine did to the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::metrics::histogram;

/// How long the meter sleeps between wake-ups (jHiccup's default
/// resolution).
pub const PERIOD: Duration = Duration::from_millis(1);

/// The wake-up delays seen by a meter thread, in nanoseconds.
#[derive(Clone, Debug)]
pub struct Hiccups {
    histogram: Histogram<u64>,
    period_ns: u64,
}

impl Default for Hiccups {
    fn default() -> Self {
        Hiccups::new(PERIOD)
    }
}

impl Hiccups {
    /// An empty record for a meter that sleeps `period` at a time.
    pub fn new(period: Duration) -> Hiccups {
        Hiccups {
            histogram: histogram(),
            period_ns: u64::try_from(period.as_nanos()).unwrap_or(u64::MAX).max(1),
        }
    }

    /// Record one wake-up `late` after it was due. A delay of more than a
    /// period also stands for the wake-ups it swallowed: `late − period`,
    /// `late − 2 periods`, ... down to one period.
    pub fn record(&mut self, late: Duration) {
        let ns = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        // Values past the histogram's hour are clamped: a stall that long
        // already says everything.
        let ns = ns.min(self.histogram.high());
        let _ = self.histogram.record_correct(ns, self.period_ns);
    }

    /// The recorded delays, nanoseconds.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }

    /// Run the meter on the calling thread until `end` (or `stop`),
    /// recording the wake-ups due from `from` on. On Linux the thread first
    /// asks for the finest timer slack, as the load generator's pacer does,
    /// so that the kernel's default 50 µs of slack is not counted as a
    /// stall.
    pub fn measure(from: Instant, end: Instant, stop: &AtomicBool) -> Hiccups {
        #[cfg(target_os = "linux")]
        {
            // Best effort: without it every wake-up reads up to 50 µs late.
            let _ = nix::sys::prctl::set_timerslack(1);
        }
        let mut hiccups = Hiccups::default();
        let mut due = Instant::now() + PERIOD;
        while due < end && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let woke = Instant::now();
            if due >= from {
                hiccups.record(woke.saturating_duration_since(due));
            }
            // The next sleep starts from the actual wake-up: a stall is
            // counted once, with the wake-ups it swallowed, not again as
            // lateness of every later wake-up.
            due = woke + PERIOD;
        }
        hiccups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_punctual_meter_records_one_value_per_wakeup() {
        let mut h = Hiccups::default();
        for _ in 0..1000 {
            h.record(Duration::from_micros(50));
        }
        let hist = h.histogram();
        assert_eq!(hist.len(), 1000);
        assert!(hist.equivalent(hist.max(), 50_000));
        assert!(hist.equivalent(hist.value_at_quantile(0.5), 50_000));
    }

    #[test]
    fn a_long_stall_stands_for_the_wakeups_it_swallowed() {
        let mut h = Hiccups::default();
        h.record(ms(10));
        let hist = h.histogram();
        // 10 ms, then 9, 8, ..., 1 ms: what requests arriving each
        // millisecond of the stall would have waited.
        assert_eq!(hist.len(), 10);
        for v in 1..=10u64 {
            assert_eq!(
                hist.count_between(v * 1_000_000, v * 1_000_000),
                1,
                "{v} ms"
            );
        }
    }

    #[test]
    fn quantiles_are_over_time_not_over_wakeups() {
        // 980 punctual wake-ups and one stall of 20 ms: of the ~1 s
        // covered, 2 % was spent stalled, so p99 lands halfway into the
        // stall (10 ms) while p97 is still a punctual wake-up.
        let mut h = Hiccups::default();
        for _ in 0..980 {
            h.record(Duration::from_micros(20));
        }
        h.record(ms(20));
        let hist = h.histogram();
        assert_eq!(hist.len(), 1000);
        assert!(hist.equivalent(hist.value_at_quantile(0.97), 20_000));
        assert!(hist.equivalent(hist.value_at_quantile(0.99), 10_000_000));
        assert!(hist.equivalent(hist.max(), 20_000_000));
    }

    #[test]
    fn absurd_delays_are_clamped_not_lost() {
        let mut h = Hiccups::default();
        h.record(Duration::from_secs(1_000_000));
        assert!(!h.histogram().is_empty());
        let hist = h.histogram();
        assert!(hist.equivalent(hist.max(), hist.high()));
    }

    #[test]
    fn the_meter_stops_at_the_end_and_on_stop() {
        let stop = AtomicBool::new(false);
        let start = Instant::now();
        let h = Hiccups::measure(start, start + ms(30), &stop);
        // Some wake-ups were due in 30 ms; it stopped at the end (the
        // bound is loose: a loaded machine may stall the test thread).
        assert!(!h.histogram().is_empty());
        assert!(h.histogram().len() <= 30 * 1000);
        stop.store(true, Ordering::Relaxed);
        let h = Hiccups::measure(start, Instant::now() + Duration::from_secs(60), &stop);
        assert!(h.histogram().is_empty());
    }
}
