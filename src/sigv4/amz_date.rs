//! SigV4's clock formats: `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`, always UTC), the
//! credential scope's date (`YYYYMMDD`), and HTTP's `Date` header
//! (IMF-fixdate), converted to and from Unix seconds.

use time::{format_description::FormatItem, macros::format_description, OffsetDateTime};

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
        let t = OffsetDateTime::from_unix_timestamp(secs.clamp(-62_167_219_200, 253_402_300_799))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut out = [0u8; 16];
        let (y, m, d) = (t.year() as u32, u8::from(t.month()) as u32, t.day() as u32);
        write_digits(&mut out[0..4], y);
        write_digits(&mut out[4..6], m);
        write_digits(&mut out[6..8], d);
        out[8] = b'T';
        write_digits(&mut out[9..11], t.hour() as u32);
        write_digits(&mut out[11..13], t.minute() as u32);
        write_digits(&mut out[13..15], t.second() as u32);
        out[15] = b'Z';
        AmzDate(out)
    }

    /// Parse an `X-Amz-Date` value; `None` unless it is exactly
    /// `YYYYMMDDTHHMMSSZ` naming a real instant.
    pub fn parse(s: &str) -> Option<AmzDate> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        if !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
            return None;
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(b);
        let date = AmzDate(out);
        date.unix()?;
        Some(date)
    }

    /// The instant as Unix seconds; `None` if the fields name no real instant.
    pub fn unix(&self) -> Option<i64> {
        let n = |r: std::ops::Range<usize>| -> u32 {
            self.0[r]
                .iter()
                .fold(0, |acc, &d| acc * 10 + (d - b'0') as u32)
        };
        let month = time::Month::try_from(n(4..6) as u8).ok()?;
        let date = time::Date::from_calendar_date(n(0..4) as i32, month, n(6..8) as u8).ok()?;
        let t = time::Time::from_hms(n(9..11) as u8, n(11..13) as u8, n(13..15) as u8).ok()?;
        Some(date.with_time(t).assume_utc().unix_timestamp())
    }

    /// The whole value, `YYYYMMDDTHHMMSSZ`.
    pub fn as_str(&self) -> &str {
        // Built from ASCII digits and letters only.
        std::str::from_utf8(&self.0).unwrap_or_default()
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

    #[test]
    fn midnight_rolls_the_scope_date() {
        assert_eq!(AmzDate::from_unix(1_440_979_199).date(), "20150830");
        assert_eq!(AmzDate::from_unix(1_440_979_200).date(), "20150831");
    }
}
