//! `histograms.hlog`: the latency histograms of a run as an HdrHistogram
//! interval log, so the standard HdrHistogram log tools can read it.
//!
//! The file is the interval log format of HdrHistogram's `HistogramLogWriter`
//! (log format 1.3): header comments, `#[StartTime: ...]` and
//! `#[BaseTime: ...]` (the real time the run started, seconds since the Unix
//! epoch), the legend line, then one line per histogram:
//! `Tag=<tag>,<start>,<length>,<max>,<histogram>`, where the histogram is a
//! compressed V2 HdrHistogram (`HISTFAA...`) in base64.
//!
//! - **Values** are latencies in nanoseconds, from each request's intended
//!   start to its response ([`crate::metrics::log_histogram`]: 1 ns to one
//!   hour, 2 significant digits). The `<max>` column is in milliseconds
//!   (nanoseconds / 10^6, as HdrHistogram's Java writer does by default).
//!   HdrHistogram's `HistogramLogProcessor` reports milliseconds with its
//!   default `-outputValueUnitRatio 1000000`; pass `1000` for microseconds.
//! - **Tags** are `<label>@<region>` ([`tag`]), such as
//!   `per-service@eu-north-1` or `per-service/moka@us-east-1`: one series
//!   per strategy run and region. HdrHistogram's tools read only untagged
//!   histograms unless told a tag: `HistogramLogProcessor -listtags` lists
//!   them, `-tag per-service@eu-north-1` selects one.
//! - **Timestamps** (`<start>`, after `BaseTime`) count from the start of the
//!   strategy run's own measured window, as `t_s` does in `summary.json`, so
//!   the runs of one results folder line up from 0 rather than following
//!   each other in real time. Each histogram holds the requests intended in
//!   one log interval (one second, see [`crate::metrics::LOG_INTERVAL`]);
//!   the last of a run may be shorter. Lines are in order of start time;
//!   every run writes every interval of every region, empty ones included.
//!
//! Both [`write()`] and [`read()`] use the `hdrhistogram` crate's interval log
//! writer, parser and V2 (de)serializers.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry as RawEntry, LogIteratorError, Tag,
};
use hdrhistogram::serialization::{DeserializeError, Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use thiserror::Error;

use crate::metrics::{log_histogram, Figures};
use crate::summary::write_atomically;

/// One histogram of an interval log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// `<label>@<region>` ([`tag`]); empty for an untagged histogram.
    pub tag: String,
    /// Start of the interval: seconds after the log's `BaseTime` (for
    /// sigstorm's logs, seconds from the start of the run's measured
    /// window). Written with millisecond precision.
    pub start_s: f64,
    /// Length of the interval, seconds (millisecond precision).
    pub duration_s: f64,
    /// Latency of the requests intended in the interval, nanoseconds.
    pub histogram: Histogram<u64>,
}

/// Why an interval log could not be read.
#[derive(Debug, Error)]
pub enum HlogError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is neither a comment, a header nor an interval histogram.
    #[error("{path} line {line}: not an HdrHistogram interval log line")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
    },
    /// A histogram is not valid base64.
    #[error("{path} line {line}: the histogram is not valid base64")]
    Base64 {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
    },
    /// A histogram could not be decoded.
    #[error("{path} line {line}: cannot decode the histogram: {source}")]
    Histogram {
        /// The file.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What the decoder found wrong.
        source: DeserializeError,
    },
}

/// The tag of the histograms of run `label` in `region`: `label@region`.
pub fn tag(label: &str, region: &str) -> String {
    format!("{label}@{region}")
}

/// The run label and region of a tag written by [`tag`] (split at its last
/// `@`); `None` when it has no `@`.
pub fn split_tag(tag: &str) -> Option<(&str, &str)> {
    tag.rsplit_once('@')
}

/// Whether `tag` may be written: not empty, and free of commas and
/// whitespace (HdrHistogram's rule: no commas, spaces or line breaks).
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty() && !tag.chars().any(|c| c == ',' || c.is_whitespace())
}

/// The log entries of one strategy run: for every log interval that starts
/// within a measured window of `window_s` seconds, one histogram per region
/// (`regions`, in world order, as in `figures`), tagged
/// [`tag`]`(label, region)`; intervals without responses hold an empty
/// histogram. In order of start time, then region.
pub fn entries(label: &str, regions: &[String], figures: &Figures, window_s: f64) -> Vec<LogEntry> {
    let interval_s = figures.log_interval.as_secs_f64();
    let count = figures.log.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(count * regions.len());
    for i in 0..count {
        let start_s = i as f64 * interval_s;
        if i > 0 && start_s >= window_s - 1e-9 {
            break;
        }
        let duration_s = round_ms(interval_s.min(window_s - start_s).max(0.0));
        for (region, cells) in regions.iter().zip(&figures.log) {
            let histogram = cells
                .get(i)
                .and_then(Option::as_ref)
                .map_or_else(log_histogram, Clone::clone);
            out.push(LogEntry {
                tag: tag(label, region),
                start_s: round_ms(start_s),
                duration_s,
                histogram,
            });
        }
    }
    out
}

/// `x` rounded to the millisecond, as the log writes it.
fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn seconds(s: f64, what: &str) -> std::io::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        invalid(format!(
            "{what} must be a finite number of seconds, at least 0, not {s}"
        ))
    })
}

/// Write `entries` to `path` as an HdrHistogram interval log with
/// compressed V2 histograms (see the module documentation), atomically (a
/// temporary file renamed into place). `start_time_unix_s` is the real time
/// the run started, seconds since the Unix epoch: the log's `StartTime` and
/// `BaseTime`. Entries are written in order of `start_s` (a stable sort, so
/// entries that start together keep their order).
///
/// # Errors
///
/// An invalid tag ([`valid_tag`]), a negative or non-finite time
/// (`InvalidInput`), or any I/O error.
pub fn write<'a>(
    path: &Path,
    start_time_unix_s: f64,
    entries: impl IntoIterator<Item = &'a LogEntry>,
) -> std::io::Result<()> {
    let mut sorted: Vec<&LogEntry> = entries.into_iter().collect();
    sorted.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let start = SystemTime::UNIX_EPOCH
        .checked_add(seconds(start_time_unix_s, "the start time")?)
        .ok_or_else(|| {
            invalid(format!(
                "the start time {start_time_unix_s} is out of range"
            ))
        })?;

    let mut text: Vec<u8> = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    IntervalLogWriterBuilder::new()
        .add_comment(
            "sigstorm latency histograms: HdrHistogram interval log, compressed V2 histograms",
        )
        .add_comment("[Histogram log format version 1.3]")
        .add_comment(
            "Values: latency from each request's intended start to its response, nanoseconds \
             (1 ns to 1 h, 2 significant digits); Interval_Max in milliseconds.",
        )
        .add_comment(
            "Tags: <strategy run label>@<region>. Timestamps: seconds from the start of that \
             run's measured window (every run counts from 0).",
        )
        .add_comment(
            "HistogramLogProcessor: -listtags lists the tags, -tag TAG selects one; its default \
             -outputValueUnitRatio 1000000 reports milliseconds.",
        )
        .with_start_time(start)
        .with_base_time(start)
        .begin_log_with(&mut text, &mut serializer)?;
    text.extend_from_slice(
        b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
    );
    {
        // A second writer, with no headers to write but the divisor's, so
        // that the legend comes right after StartTime and BaseTime.
        let mut writer = IntervalLogWriterBuilder::new()
            .with_max_value_divisor(1e6)
            .begin_log_with(&mut text, &mut serializer)?;
        for entry in sorted {
            if !valid_tag(&entry.tag) {
                return Err(invalid(format!(
                    "the tag {:?} is empty or holds a comma or whitespace",
                    entry.tag
                )));
            }
            let start_s = seconds(entry.start_s, "an interval's start")?;
            let duration_s = seconds(entry.duration_s, "an interval's length")?;
            writer
                .write_histogram(&entry.histogram, start_s, duration_s, Tag::new(&entry.tag))
                .map_err(|e| {
                    std::io::Error::other(format!(
                        "cannot write the histogram of {}: {e}",
                        entry.tag
                    ))
                })?;
        }
    }
    write_atomically(path, &text)
}

/// Read the interval log at `path`: every interval histogram, in file order,
/// with its tag (empty when untagged) and times as written (see
/// [`LogEntry::start_s`]; `StartTime` and `BaseTime` are not applied).
///
/// # Errors
///
/// The file cannot be read, a line is not part of an interval log, or a
/// histogram cannot be decoded; each names the file and the line.
pub fn read(path: &Path) -> Result<Vec<LogEntry>, HlogError> {
    let bytes = std::fs::read(path).map_err(|source| HlogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut deserializer = Deserializer::new();
    let mut entries = Vec::new();
    // The iterator reports byte offsets, in increasing order: lines are
    // counted from the last offset on.
    let (mut counted_to, mut line) = (0, 1);
    let mut line_at = |offset: usize| {
        let offset = offset.clamp(counted_to, bytes.len());
        line += bytes[counted_to..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted_to = offset;
        line
    };
    for item in IntervalLogIterator::new(&bytes) {
        let entry = match item {
            Ok(RawEntry::Interval(h)) => h,
            Ok(RawEntry::StartTime(_) | RawEntry::BaseTime(_)) => continue,
            Err(LogIteratorError::ParseError { offset }) => {
                return Err(HlogError::Syntax {
                    path: path.to_path_buf(),
                    line: line_at(offset),
                });
            }
        };
        // The histogram's text lies within `bytes`: its line is where it is.
        let encoded = entry.encoded_histogram();
        let line = line_at((encoded.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize));
        let raw = decode_base64(encoded.trim()).ok_or_else(|| HlogError::Base64 {
            path: path.to_path_buf(),
            line,
        })?;
        let histogram: Histogram<u64> =
            deserializer
                .deserialize(&mut raw.as_slice())
                .map_err(|source| HlogError::Histogram {
                    path: path.to_path_buf(),
                    line,
                    source,
                })?;
        entries.push(LogEntry {
            tag: entry
                .tag()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            start_s: entry.start_timestamp().as_secs_f64(),
            duration_s: entry.duration().as_secs_f64(),
            histogram,
        });
    }
    Ok(entries)
}

/// Decode standard base64 (RFC 4648, padded); `None` when `text` is not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{LOG_SIGNIFICANT_DIGITS, MAX_RECORDED_NS};

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sigstorm-hlog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn histogram_of(values: &[(u64, u64)]) -> Histogram<u64> {
        let mut h = log_histogram();
        for &(value, count) in values {
            h.record_n(value, count).unwrap();
        }
        h
    }

    /// Every (value, count) recorded, by bucket.
    fn recorded(h: &Histogram<u64>) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn the_log_reads_back_into_the_same_histograms() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("histograms.hlog");
        let entries = vec![
            LogEntry {
                tag: tag("per-service", "us-east-1"),
                start_s: 0.0,
                duration_s: 1.0,
                histogram: histogram_of(&[(8_300, 900), (185_000, 9), (4_110_000, 1)]),
            },
            LogEntry {
                tag: tag("per-service/moka", "eu-north-1"),
                start_s: 0.0,
                duration_s: 1.0,
                histogram: log_histogram(),
            },
            LogEntry {
                tag: tag("none", "me-south-1"),
                start_s: 1.0,
                duration_s: 1.0,
                histogram: histogram_of(&[(1, 1), (MAX_RECORDED_NS, 3)]),
            },
            LogEntry {
                tag: tag("none", "me-south-1"),
                start_s: 2.0,
                duration_s: 0.5,
                histogram: histogram_of(&[(114_000_000, 1000), (191_000_000, 2)]),
            },
        ];
        write(&path, 1_780_315_200.25, &entries).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), entries.len());
        for (a, b) in entries.iter().zip(&back) {
            assert_eq!(a.tag, b.tag);
            assert_eq!(a.start_s, b.start_s, "{}", a.tag);
            assert_eq!(a.duration_s, b.duration_s, "{}", a.tag);
            assert_eq!(a.histogram, b.histogram, "{}", a.tag);
            assert_eq!(recorded(&a.histogram), recorded(&b.histogram), "{}", a.tag);
            assert_eq!(a.histogram.len(), b.histogram.len());
            assert_eq!(a.histogram.max(), b.histogram.max());
            assert_eq!(b.histogram.sigfig(), LOG_SIGNIFICANT_DIGITS);
        }
        assert!(back[1].histogram.is_empty());
        assert_eq!(back[2].histogram.len(), 4);
        assert_eq!(
            back[2].histogram.count_at(MAX_RECORDED_NS),
            3,
            "the largest value keeps its count"
        );
        assert!(back[2]
            .histogram
            .equivalent(back[2].histogram.max(), MAX_RECORDED_NS));

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("#sigstorm latency histograms"),
            "{text}"
        );
        assert_eq!(
            lines[5..9],
            [
                "#[StartTime: 1780315200.250 (seconds since epoch)]",
                "#[BaseTime: 1780315200.250 (seconds since epoch)]",
                "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"",
                "#[MaxValueDivisor: 1000000.000]",
            ],
            "{text}"
        );
        assert_eq!(text.matches("MaxValueDivisor").count(), 1);
        assert_eq!(lines.len(), 9 + entries.len());
        // The maximum in milliseconds (191 ms at 2 significant digits: the
        // top of its bucket), and a compressed V2 histogram: its cookie,
        // 0x1c849314, is `HISTFAA` in base64.
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("Tag=none@me-south-1,2.000,0.500,191.889,HISTFAA"),
            "{last}"
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn entries_are_written_in_order_of_start() {
        let dir = temp_dir("order");
        let path = dir.join("h.hlog");
        let entry = |tag: &str, start_s: f64| LogEntry {
            tag: tag.to_string(),
            start_s,
            duration_s: 1.0,
            histogram: histogram_of(&[(1000, 1)]),
        };
        // Two runs, each from 0.
        let entries = [
            entry("a@r", 0.0),
            entry("a@r", 1.0),
            entry("b@r", 0.0),
            entry("b@r", 1.0),
        ];
        write(&path, 0.0, &entries).unwrap();
        let back: Vec<(String, f64)> = read(&path)
            .unwrap()
            .into_iter()
            .map(|e| (e.tag, e.start_s))
            .collect();
        assert_eq!(
            back,
            [
                ("a@r".to_string(), 0.0),
                ("b@r".to_string(), 0.0),
                ("a@r".to_string(), 1.0),
                ("b@r".to_string(), 1.0)
            ]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_tags_and_times_are_refused() {
        let dir = temp_dir("refused");
        let path = dir.join("h.hlog");
        for (tag, start_s) in [
            ("a b@r", 0.0),
            ("a,b@r", 0.0),
            ("", 0.0),
            ("a\tb", 0.0),
            ("a@r", -1.0),
            ("a@r", f64::NAN),
        ] {
            let e = LogEntry {
                tag: tag.to_string(),
                start_s,
                duration_s: 1.0,
                histogram: log_histogram(),
            };
            let err = write(&path, 0.0, [&e]).unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::InvalidInput,
                "{tag:?} {start_s}: {err}"
            );
        }
        let fine = LogEntry {
            tag: tag("none", "r"),
            start_s: 0.0,
            duration_s: 1.0,
            histogram: log_histogram(),
        };
        for start in [-1.0, f64::INFINITY, 1e300] {
            let err = write(&path, start, [&fine]).unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::InvalidInput,
                "{start}: {err}"
            );
        }
        assert!(!path.exists());
        assert!(valid_tag("per-service-prekeyed/quick-cache@ap-northeast-1"));
        assert_eq!(
            split_tag("per-service/moka@eu-north-1"),
            Some(("per-service/moka", "eu-north-1"))
        );
        assert_eq!(split_tag("untagged"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reading_names_the_file_and_line_of_a_bad_log() {
        let dir = temp_dir("bad");
        let path = dir.join("histograms.hlog");
        let missing = read(&dir.join("absent.hlog")).unwrap_err();
        assert!(matches!(missing, HlogError::Io { .. }), "{missing}");
        assert!(missing.to_string().contains("absent.hlog"), "{missing}");

        std::fs::write(&path, "#comment\nTag=a@r,0.000,1.000,0.001,HISTFAA!!\n").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, HlogError::Base64 { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("histograms.hlog line 2"), "{err}");

        std::fs::write(
            &path,
            "#comment\n#more\nTag=a@r,0.000,1.000,0.001,AAAAAA==\n",
        )
        .unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, HlogError::Histogram { line: 3, .. }), "{err}");

        // After good entries: the line counts on from them.
        let good = LogEntry {
            tag: tag("none", "us-east-1"),
            start_s: 0.0,
            duration_s: 1.0,
            histogram: histogram_of(&[(1000, 2)]),
        };
        write(&path, 0.0, [&good, &good]).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 11);
        text.push_str("Tag=a@r,3.000,1.000,0.001,AAAAAA==\n");
        std::fs::write(&path, text).unwrap();
        let err = read(&path).unwrap_err();
        assert!(
            matches!(err, HlogError::Histogram { line: 12, .. }),
            "{err}"
        );

        std::fs::write(&path, "#comment\nnot a log line\n").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, HlogError::Syntax { line: 2, .. }), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn base64_refuses_what_is_not_padded_base64() {
        assert_eq!(decode_base64("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        for bad in ["Zg=", "Zg==Zg==", "Zm9v!A==", "Zm 9"] {
            assert_eq!(decode_base64(bad), None, "{bad}");
        }
    }
}
