//! The simulated UTC clock. It starts at an instant the workload chooses (for
//! example ten seconds before midnight) and advances with real elapsed time;
//! tests use a manual clock that they advance by hand, so nothing that depends
//! on time needs a test to sleep.
//!
//! The load generator signs requests with this clock and the data planes check
//! the 15-minute skew window against it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A source of simulated UTC time, in milliseconds since the Unix epoch.
#[derive(Clone, Debug)]
pub struct SimClock {
    mode: Mode,
}

#[derive(Clone, Debug)]
enum Mode {
    /// Simulated time = `start_unix_ms` + real time elapsed since `origin`.
    Real { start_unix_ms: i64, origin: Instant },
    /// Simulated time is whatever a test last set.
    Manual(Arc<AtomicI64>),
}

impl SimClock {
    /// A clock that reads `start_unix_ms` now and advances in real time.
    pub fn starting_at(start_unix_ms: i64) -> SimClock {
        SimClock {
            mode: Mode::Real {
                start_unix_ms,
                origin: Instant::now(),
            },
        }
    }

    /// A clock that stands still at `start_unix_ms` until [`SimClock::advance`]
    /// or [`SimClock::set`] moves it.
    pub fn manual(start_unix_ms: i64) -> SimClock {
        SimClock {
            mode: Mode::Manual(Arc::new(AtomicI64::new(start_unix_ms))),
        }
    }

    /// Simulated now, milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.mode {
            Mode::Real {
                start_unix_ms,
                origin,
            } => start_unix_ms + origin.elapsed().as_millis() as i64,
            Mode::Manual(t) => t.load(Ordering::Acquire),
        }
    }

    /// Simulated now, whole seconds since the Unix epoch.
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The simulated time at a real instant (a real clock only; a manual clock
    /// returns its current reading).
    pub fn at_instant_ms(&self, instant: Instant) -> i64 {
        match &self.mode {
            Mode::Real {
                start_unix_ms,
                origin,
            } => {
                let ms = |d: Duration| d.as_millis() as i64;
                match instant.checked_duration_since(*origin) {
                    Some(after) => start_unix_ms + ms(after),
                    None => start_unix_ms - ms(origin.duration_since(instant)),
                }
            }
            Mode::Manual(t) => t.load(Ordering::Acquire),
        }
    }

    /// Move a manual clock forward by `by`.
    ///
    /// # Panics
    ///
    /// On a real clock, which only time moves.
    pub fn advance(&self, by: Duration) {
        match &self.mode {
            Mode::Manual(t) => {
                t.fetch_add(by.as_millis() as i64, Ordering::AcqRel);
            }
            Mode::Real { .. } => panic!("a real-time SimClock cannot be advanced by hand"),
        }
    }

    /// Set a manual clock to `unix_ms`.
    ///
    /// # Panics
    ///
    /// On a real clock.
    pub fn set(&self, unix_ms: i64) {
        match &self.mode {
            Mode::Manual(t) => t.store(unix_ms, Ordering::Release),
            Mode::Real { .. } => panic!("a real-time SimClock cannot be set by hand"),
        }
    }
}

/// Parse an RFC 3339 UTC instant (`2026-06-01T23:59:50Z`) to Unix milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Format Unix milliseconds as RFC 3339 UTC.
pub fn format_rfc3339_ms(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(unix_ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{unix_ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_by_hand() {
        let clock = SimClock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(Duration::from_millis(2_500));
        assert_eq!(clock.now_ms(), 3_500);
        assert_eq!(clock.now_secs(), 3);
        clock.set(-1);
        assert_eq!(clock.now_secs(), -1);
    }

    #[test]
    fn real_clock_starts_where_asked() {
        let start = parse_rfc3339_ms("2026-06-01T23:59:50Z").unwrap();
        let clock = SimClock::starting_at(start);
        let now = clock.now_ms();
        assert!(now >= start && now < start + 1_000, "{now} vs {start}");
        let later = clock.at_instant_ms(Instant::now() + Duration::from_secs(20));
        assert!(later >= start + 20_000);
        assert_eq!(format_rfc3339_ms(start), "2026-06-01T23:59:50Z");
    }
}
