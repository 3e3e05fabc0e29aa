//! SigV4's clock formats: `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`, always UTC), the
//! credential scope's date (`YYYYMMDD`), and HTTP's `Date` header
//! (IMF-fixdate), converted to and from Unix seconds.
//!
//! `X-Amz-Date` is read on every verification, so its conversion is plain
//! proleptic-Gregorian arithmetic (days from the civil date and back); the
//! `time` crate parses the rarer `Date` header and is the oracle in tests.

use time::{format_description::FormatItem, macros::format_description};

/// 0000-01-01T00:00:00Z, the earliest instant an `X-Amz-Date` can name.
const FIRST_SECOND: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z, the latest.
const LAST_SECOND: i64 = 253_402_300_799;

const IMF_FIXDATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// An `X-Amz-Date` value: 16 ASCII bytes, `YYYYMMDDTHHMMSSZ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AmzDate([u8; 16]);

impl AmzDate {
    /// The `X-Amz-Date` of a Unix time in seconds.
    ///
    /// Times outside years 0000 to 9999 are clamped to that range.
    pub fn from_unix(secs: i64) -> AmzDate {
        let secs = secs.clamp(FIRST_SECOND, LAST_SECOND);
        let (days, secs_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
        let (y, m, d) = civil_from_days(days);
        let mut out = [0u8; 16];
        // The clamp keeps the year within 0000 to 9999.
        write_digits(&mut out[0..4], y as u32);
        write_digits(&mut out[4..6], m);
        write_digits(&mut out[6..8], d);
        out[8] = b'T';
        write_digits(&mut out[9..11], secs_of_day / 3600);
        write_digits(&mut out[11..13], secs_of_day / 60 % 60);
        write_digits(&mut out[13..15], secs_of_day % 60);
        out[15] = b'Z';
        AmzDate(out)
    }

    /// Parse an `X-Amz-Date` value; `None` unless it is exactly
    /// `YYYYMMDDTHHMMSSZ` naming a real instant.
    pub fn parse(s: &str) -> Option<AmzDate> {
        AmzDate::parse_unix(s).map(|(date, _)| date)
    }

    /// Parse an `X-Amz-Date` value as [`AmzDate::parse`] does, returning the
    /// instant as Unix seconds beside it (the verifier needs both).
    pub fn parse_unix(s: &str) -> Option<(AmzDate, i64)> {
        let b: &[u8; 16] = s.as_bytes().try_into().ok()?;
        let digits = b[..8].iter().chain(&b[9..15]);
        // Every digit checked without an early exit: one branch for all 14.
        let all_digits = digits.fold(true, |ok, &d| ok & d.is_ascii_digit());
        if b[8] != b'T' || b[15] != b'Z' || !all_digits {
            return None;
        }
        let date = AmzDate(*b);
        let unix = date.unix()?;
        Some((date, unix))
    }

    /// The instant as Unix seconds; `None` if the fields name no real instant.
    pub fn unix(&self) -> Option<i64> {
        let digit = |i: usize| u32::from(self.0[i].wrapping_sub(b'0'));
        let two = |i: usize| digit(i) * 10 + digit(i + 1);
        let (y, m, d) = (two(0) * 100 + two(2), two(4), two(6));
        let (hour, minute, second) = (two(9), two(11), two(13));
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(i64::from(y), m, d);
        Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
    }

    /// The whole value, `YYYYMMDDTHHMMSSZ`.
    pub fn as_str(&self) -> &str {
        // Built from ASCII digits and letters only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The whole value as bytes.
    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The date part, `YYYYMMDD`, as used in the credential scope.
    pub fn date(&self) -> &str {
        &self.as_str()[..8]
    }
}

/// The `YYYYMMDD` scope date of a Unix time, as a number (for cache keys).
pub fn scope_date_number(date: &str) -> Option<u32> {
    if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        date.parse().ok()
    } else {
        None
    }
}

/// Parse an HTTP `Date` header (IMF-fixdate) to Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(s.trim(), IMF_FIXDATE)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Days from 1970-01-01 to the proleptic-Gregorian date `y-m-d` (Howard
/// Hinnant's `days_from_civil`: years counted from March, in 400-year eras).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = i64::from((153 * ((m + 9) % 12) + 2) / 5 + d - 1);
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01, the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let d = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = year_of_era + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn write_digits(out: &mut [u8], mut v: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_suite_time() {
        let d = AmzDate::parse("20150830T123600Z").unwrap();
        assert_eq!(d.unix(), Some(1_440_938_160));
        assert_eq!(
            AmzDate::from_unix(1_440_938_160).as_str(),
            "20150830T123600Z"
        );
        assert_eq!(d.date(), "20150830");
    }

    #[test]
    fn refuses_malformed_and_impossible_dates() {
        for bad in [
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T256000Z",
            "2015083OT123600Z",
        ] {
            assert_eq!(AmzDate::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            parse_http_date("Fri, 24 May 2013 00:00:00 GMT"),
            Some(1_369_353_600)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    /// The `time` crate's reading of the same fields, as the code used before.
    fn oracle_unix(b: &[u8; 16]) -> Option<i64> {
        let n = |r: std::ops::Range<usize>| -> u32 {
            b[r].iter().fold(0, |acc, &d| acc * 10 + (d - b'0') as u32)
        };
        let month = time::Month::try_from(n(4..6) as u8).ok()?;
        let date = time::Date::from_calendar_date(n(0..4) as i32, month, n(6..8) as u8).ok()?;
        let t = time::Time::from_hms(n(9..11) as u8, n(11..13) as u8, n(13..15) as u8).ok()?;
        Some(date.with_time(t).assume_utc().unix_timestamp())
    }

    proptest::proptest! {
        #[test]
        fn parse_agrees_with_the_time_crate(
            y in 0u32..10_000, m in 0u32..14, d in 0u32..33,
            hh in 0u32..26, mm in 0u32..62, ss in 0u32..62,
        ) {
            let s = format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z");
            let expected = oracle_unix(s.as_bytes().try_into().unwrap());
            let parsed = AmzDate::parse_unix(&s);
            proptest::prop_assert_eq!(parsed.map(|(_, t)| t), expected);
            proptest::prop_assert_eq!(AmzDate::parse(&s).is_some(), expected.is_some());
            if let Some(t) = expected {
                let date = AmzDate::from_unix(t);
                proptest::prop_assert_eq!(date.as_str(), s.as_str());
            }
        }

        #[test]
        fn from_unix_agrees_with_the_time_crate(secs in -70_000_000_000i64..260_000_000_000) {
            let t = time::OffsetDateTime::from_unix_timestamp(secs.clamp(FIRST_SECOND, LAST_SECOND))
                .unwrap();
            let expected = format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
                t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()
            );
            let date = AmzDate::from_unix(secs);
            proptest::prop_assert_eq!(date.as_str(), expected.as_str());
        }
    }

    #[test]
    fn calendar_edges_match_the_time_crate() {
        for s in [
            "00000101T000000Z",
            "00000229T235959Z",
            "19000229T000000Z",
            "20000229T000000Z",
            "19691231T235959Z",
            "19700101T000000Z",
            "99991231T235959Z",
        ] {
            let expected = oracle_unix(s.as_bytes().try_into().unwrap());
            assert_eq!(AmzDate::parse(s).and_then(|d| d.unix()), expected, "{s}");
        }
        assert_eq!(AmzDate::from_unix(i64::MIN).as_str(), "00000101T000000Z");
        assert_eq!(AmzDate::from_unix(i64::MAX).as_str(), "99991231T235959Z");
    }

    #[test]
    fn midnight_rolls_the_scope_date() {
        assert_eq!(AmzDate::from_unix(1_440_979_199).date(), "20150830");
        assert_eq!(AmzDate::from_unix(1_440_979_200).date(), "20150831");
    }
}
