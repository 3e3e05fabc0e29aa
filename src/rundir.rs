//! Loading a results folder back (`results/<run-id>/`): `summary.json` and
//! `histograms.hlog`, for reports and comparisons that re-run nothing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use hdrhistogram::Histogram;

use crate::hlog::{self, LogEntry};
use crate::metrics::log_histogram;
use crate::summary::Summary;

/// The file name of a run's summary in its results folder.
pub const SUMMARY_FILE: &str = "summary.json";

/// The file name of a run's latency log in its results folder.
pub const HISTOGRAMS_FILE: &str = "histograms.hlog";

/// What a results folder holds.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The folder.
    pub dir: PathBuf,
    /// Its `summary.json`. Each run's `histograms` is empty: the histograms
    /// are in [`RunData::histograms`].
    pub summary: Summary,
    /// Its `histograms.hlog`, in file order (by start time): one histogram
    /// per strategy run, region and log interval, tagged `label@region`.
    pub histograms: Vec<LogEntry>,
}

/// Load the results folder `dir`.
///
/// # Errors
///
/// The folder holds no `summary.json` or no `histograms.hlog`; either cannot
/// be read or parsed (a parse error names the line and column); or the log
/// holds a tag that names no run and region of the summary.
pub fn load(dir: &Path) -> Result<RunData> {
    let summary_path = dir.join(SUMMARY_FILE);
    if !summary_path.is_file() {
        bail!("{} holds no {SUMMARY_FILE}", dir.display());
    }
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("cannot read {}", summary_path.display()))?;
    let summary: Summary = serde_json::from_str(&text).map_err(|e| {
        // serde_json ends its message with the position; say it first.
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = e.to_string();
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        anyhow::anyhow!(
            "{} line {}, column {}: {message}",
            summary_path.display(),
            e.line(),
            e.column()
        )
    })?;
    let hlog_path = dir.join(HISTOGRAMS_FILE);
    if !hlog_path.is_file() {
        bail!(
            "{} holds no {HISTOGRAMS_FILE} (the latency histograms of its runs)",
            dir.display()
        );
    }
    let histograms = hlog::read(&hlog_path)?;
    for entry in &histograms {
        let known = hlog::split_tag(&entry.tag).is_some_and(|(label, region)| {
            summary
                .runs
                .iter()
                .any(|r| r.label == label && r.regions.iter().any(|g| g.region == region))
        });
        if !known {
            bail!(
                "{} holds histograms tagged {:?}, which names no run and region of {}",
                hlog_path.display(),
                entry.tag,
                summary_path.display()
            );
        }
    }
    Ok(RunData {
        dir: dir.to_path_buf(),
        summary,
        histograms,
    })
}

/// An empty histogram to merge log histograms into: the log's bounds, and
/// growing for larger values should a log hold any.
fn accumulator() -> Histogram<u64> {
    let mut h = log_histogram();
    h.auto(true);
    h
}

impl RunData {
    /// Each run's latency over all its regions and log intervals, in run
    /// order: (label, histogram). A run without histograms gets an empty one.
    pub fn latency_by_label(&self) -> Vec<(String, Histogram<u64>)> {
        self.summary
            .runs
            .iter()
            .map(|run| {
                let mut merged = accumulator();
                for entry in &self.histograms {
                    if hlog::split_tag(&entry.tag).is_some_and(|(label, _)| label == run.label) {
                        // The accumulator grows: adding cannot fail.
                        let _ = merged.add(&entry.histogram);
                    }
                }
                (run.label.clone(), merged)
            })
            .collect()
    }

    /// Each run's latency per region over all its log intervals, in run
    /// order then the run's region order: (label, region, histogram).
    pub fn latency_by_label_region(&self) -> Vec<(String, String, Histogram<u64>)> {
        let mut out = Vec::new();
        for run in &self.summary.runs {
            for region in &run.regions {
                let mut merged = accumulator();
                for entry in &self.histograms {
                    if hlog::split_tag(&entry.tag)
                        == Some((run.label.as_str(), region.region.as_str()))
                    {
                        let _ = merged.add(&entry.histogram);
                    }
                }
                out.push((run.label.clone(), region.region.clone(), merged));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample_summary;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sigstorm-rundir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Write `summary` and its runs' histograms into `dir`, as a run does.
    fn write_folder(dir: &Path, summary: &Summary) {
        let json = serde_json::to_vec_pretty(summary).unwrap();
        std::fs::write(dir.join(SUMMARY_FILE), json).unwrap();
        let entries = summary.runs.iter().flat_map(|r| &r.histograms);
        hlog::write(&dir.join(HISTOGRAMS_FILE), 1_780_358_390.0, entries).unwrap();
    }

    #[test]
    fn a_results_folder_loads_back_as_written() {
        let dir = temp_dir("load");
        let summary = sample_summary();
        write_folder(&dir, &summary);
        let data = load(&dir).unwrap();
        assert_eq!(data.dir, dir);
        assert_eq!(
            serde_json::to_value(&data.summary).unwrap(),
            serde_json::to_value(&summary).unwrap()
        );
        // Two seconds, two regions.
        let written = &summary.runs[0].histograms;
        assert_eq!(written.len(), 4);
        assert_eq!(&data.histograms, written);
        let tags: Vec<(&str, f64)> = data
            .histograms
            .iter()
            .map(|e| (e.tag.as_str(), e.start_s))
            .collect();
        assert_eq!(
            tags,
            [
                ("per-service/moka@us-east-1", 0.0),
                ("per-service/moka@eu-north-1", 0.0),
                ("per-service/moka@us-east-1", 1.0),
                ("per-service/moka@eu-north-1", 1.0)
            ]
        );

        let by_label = data.latency_by_label();
        assert_eq!(by_label.len(), 1);
        let (label, h) = &by_label[0];
        assert_eq!(label, "per-service/moka");
        assert_eq!(h.len(), 28, "every response of the run");
        assert!(h.equivalent(h.max(), 2_000_000), "{}", h.max());
        assert!(h.equivalent(h.min(), 50_000), "{}", h.min());

        let by_region = data.latency_by_label_region();
        let counts: Vec<(&str, &str, u64)> = by_region
            .iter()
            .map(|(l, r, h)| (l.as_str(), r.as_str(), h.len()))
            .collect();
        assert_eq!(
            counts,
            [
                ("per-service/moka", "us-east-1", 21),
                ("per-service/moka", "eu-north-1", 7)
            ]
        );
        // The regions' counts are the summary's.
        for ((_, _, h), region) in by_region.iter().zip(&data.summary.runs[0].regions) {
            assert_eq!(h.len(), region.figures.requests);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn loading_says_what_is_missing_or_wrong() {
        let dir = temp_dir("errors");
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.ends_with("holds no summary.json"), "{err}");
        assert!(err.contains("sigstorm-rundir-errors"), "{err}");

        std::fs::write(
            dir.join(SUMMARY_FILE),
            "{\n  \"sigstorm_version\": \"x\",\n  \"run_id\": 3\n}",
        )
        .unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(
            err.contains(
                "summary.json line 3, column 13: invalid type: integer `3`, expected a string"
            ),
            "{err}"
        );
        assert!(!err.contains(" at line "), "the position once: {err}");

        let summary = sample_summary();
        write_folder(&dir, &summary);
        std::fs::remove_file(dir.join(HISTOGRAMS_FILE)).unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("holds no histograms.hlog"), "{err}");

        // A log of another run than the summary's.
        let mut stray = summary.runs[0].histograms[0].clone();
        stray.tag = hlog::tag("per-region", "us-east-1");
        hlog::write(&dir.join(HISTOGRAMS_FILE), 0.0, [&stray]).unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(
            err.contains("tagged \"per-region@us-east-1\", which names no run and region"),
            "{err}"
        );

        std::fs::write(dir.join(HISTOGRAMS_FILE), "#x\nbroken\n").unwrap();
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("histograms.hlog line 2"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
