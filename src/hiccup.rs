//! How long a thread that wants to run waits for a core, measured the way
//! jHiccup measures it: a thread that sleeps a fixed [`PERIOD`] over and
//! over and records how much later than asked it woke up. No request work
//! runs on that thread, so its lateness is scheduling: the kernel's wake-up
//! latency, the host taking a virtual CPU away, other processes, and
//! sigstorm's own runnable threads (the load generator spins before each
//! send; the data planes run), which on a machine of two cores compete with
//! it. A data-plane thread that wakes for a request waits the same way, so
//! when these *hiccups* are large beside a run's tail latency, the tail
//! says more about scheduling than about the data planes' work; runs and
//! sweeps report them beside their percentiles
//! ([`crate::summary::RunSummary`]) and warn then.
//!
//! A stall longer than the period swallows the wake-ups that should have
//! happened during it; each is recorded as the delay a request arriving
//! then would have seen (as HdrHistogram's `record_correct` does), so the
//! percentiles are over time, like the latency percentiles are over a
//! Poisson stream of arrivals: "p99 of 2 ms" means that 1 % of the time a
//! waking thread would have waited 2 ms or more, not that one wake-up was
//! 2 ms late. Only wake-ups due inside the measured window are kept, those
//! a stall swallowed included, so a stall across either edge counts for
//! its part inside.
//!
//! NOTE: the meter sees a stall only of the core it happens to wake on.
//! The host taking away only the core a data-plane thread runs on goes
//! unseen, and taking away only the meter's makes a stall the data planes
//! never had: the hiccups describe the machine during the run, not any one
//! request. Telling the host's share from sigstorm's own would need the
//! host's steal time, which this kind of virtual machine does not report.

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
        self.record_within(late, Duration::ZERO, Duration::MAX);
    }

    /// [`Hiccups::record`], keeping only the wake-ups due from `lo` to
    /// before `hi` after the first one's due time: the part of a stall
    /// inside the measured window.
    fn record_within(&mut self, late: Duration, lo: Duration, hi: Duration) {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let (period, lo, hi) = (self.period_ns, ns(lo), ns(hi));
        // Values past the histogram's hour are clamped: a stall that long
        // already says everything.
        let mut late = ns(late).min(self.histogram.high());
        // The k-th wake-up swallowed was due k periods after the first and
        // waited one period less.
        let mut due = 0u64;
        loop {
            if due >= hi {
                break;
            }
            if due >= lo {
                let _ = self.histogram.record(late);
            }
            if late < period.saturating_mul(2) {
                break;
            }
            late -= period;
            due += period;
        }
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
            hiccups.record_within(
                woke.saturating_duration_since(due),
                from.saturating_duration_since(due),
                end.saturating_duration_since(due),
            );
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
    fn a_stall_across_the_window_counts_for_its_part_inside() {
        // A 10 ms stall whose first wake-up was due 3 ms before the window
        // opened: the wake-ups due 3, 4, ... 9 ms after it are inside.
        let mut h = Hiccups::default();
        h.record_within(ms(10), ms(3), Duration::MAX);
        let hist = h.histogram();
        assert_eq!(hist.len(), 7);
        assert!(hist.equivalent(hist.max(), 7_000_000));
        // One due 2 ms before the window closes: only its first 2 ms count.
        let mut h = Hiccups::default();
        h.record_within(ms(100), Duration::ZERO, ms(2));
        let hist = h.histogram();
        assert_eq!(hist.len(), 2);
        assert!(hist.equivalent(hist.min(), 99_000_000));
        // Entirely outside: nothing.
        let mut h = Hiccups::default();
        h.record_within(ms(5), ms(5), Duration::MAX);
        assert!(h.histogram().is_empty());
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
