//! Charts of a run's report, drawn with `plotters` as SVG (inlined in
//! `report.html`) and PNG (text rendered with an embedded DejaVu Sans, so a
//! machine without system fonts draws it too).
//!
//! A [`Chart`] is plain data: panels of line series, horizontal bars or an
//! error heat map, with the phases of the run as shaded bands. [`build`] makes
//! the charts of a run from plain inputs ([`build::RunInput`]); [`svg`] and
//! [`write_png`] draw them. Every chart has a title, axis labels with units
//! and a legend.

pub mod build;
mod draw;

use std::path::Path;

pub use draw::{svg, write_png};

/// A chart: what it shows, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// File stem of its SVG and PNG files, and its id in `report.html`:
    /// `latency-spectrum`.
    pub id: String,
    /// The title drawn above it.
    pub title: String,
    /// How to read it, in one or two sentences (shown under it in
    /// `report.html`).
    pub note: String,
    /// What it draws.
    pub body: Body,
}

/// What a chart draws: one or more panels of one kind, sharing a legend.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Line panels, in a grid (two columns when there are several).
    Lines(Vec<LinePanel>),
    /// Horizontal bar panels, stacked.
    Bars(Vec<BarPanel>),
    /// Heat map panels (a row per series, colour by value), stacked.
    Heat(Vec<HeatPanel>),
}

/// How an axis maps values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear, from 0 (or the smallest value, when negative) up.
    Linear,
    /// Base-10 logarithmic; values of 0 or less are not drawn.
    Log,
    /// "Nines": a quantile q in [0, 1) drawn at -log10(1 - q), labelled
    /// 0%, 90%, 99%, 99.9%, ... as HdrHistogram's percentile plots are.
    Nines,
}

/// An axis: its label (with the unit) and scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The label, with the unit: `time since measurement started, s`.
    pub label: String,
    /// How values map to positions.
    pub scale: Scale,
    /// A fixed range (in values, not positions); `None` fits the data.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// An axis fitted to the data.
    pub fn new(label: impl Into<String>, scale: Scale) -> Axis {
        Axis {
            label: label.into(),
            scale,
            range: None,
        }
    }

    /// The same axis with a fixed range.
    pub fn with_range(mut self, lo: f64, hi: f64) -> Axis {
        self.range = Some((lo, hi));
        self
    }
}

/// A line: its name in the legend, its colour (an index into the palette)
/// and its points. A point whose `y` is not finite breaks the line (no data
/// there).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// Palette index: the same name gets the same index in every chart.
    pub color: usize,
    /// `(x, y)` in values (not positions).
    pub points: Vec<(f64, f64)>,
}

/// What a shaded band stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandClass {
    /// A storm (`storm: <kind>`, the midnight roll among them).
    Storm,
    /// A fault (`fault: <kind>`).
    Fault,
    /// Recovery after an event.
    Recovery,
}

/// A shaded window of the x axis: a phase of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The phase's name: `storm: rotate_keys`.
    pub name: String,
    /// Storm, fault or recovery (sets the colour).
    pub class: BandClass,
    /// Start, in x values.
    pub start: f64,
    /// End, in x values.
    pub end: f64,
}

/// A panel of lines.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePanel {
    /// A title above the panel (the run's label in small multiples).
    pub title: Option<String>,
    /// The x axis.
    pub x: Axis,
    /// The y axis.
    pub y: Axis,
    /// The lines.
    pub series: Vec<Series>,
    /// Shaded windows behind the lines.
    pub bands: Vec<Band>,
}

/// How bar values are written at the end of each bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// Requests per second: `3011/s`, `12.3k/s`.
    Rate,
    /// Milliseconds, written in a readable unit: `185ms`, `8.3µs`.
    Ms,
    /// A factor: `1.25x`.
    Factor,
}

/// One colour of bars in a bar panel: a metric across the categories.
#[derive(Clone, Debug, PartialEq)]
pub struct BarGroup {
    /// The legend's name.
    pub name: String,
    /// Palette index.
    pub color: usize,
    /// One value per category; `None` draws nothing.
    pub values: Vec<Option<f64>>,
}

/// A panel of horizontal bars: a row per category, a bar per group.
#[derive(Clone, Debug, PartialEq)]
pub struct BarPanel {
    /// A title above the panel.
    pub title: Option<String>,
    /// The value axis (horizontal).
    pub x: Axis,
    /// The rows, top to bottom.
    pub categories: Vec<String>,
    /// The bars of each row.
    pub groups: Vec<BarGroup>,
    /// How values are written beside the bars.
    pub format: ValueFormat,
    /// Where bars start on a log axis (1 for factors: bars grow right for
    /// more than 1, left for less); on a linear axis they start at 0.
    pub baseline: Option<f64>,
    /// A shaded window of the value axis (`same` within a tolerance).
    pub shade: Option<(f64, f64, String)>,
}

/// A heat map row: cells over time.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatRow {
    /// The row's name: `eu-north-1 s3`.
    pub name: String,
    /// `(start, end, value in [0, 1])`; only cells with a value above 0
    /// are listed.
    pub cells: Vec<(f64, f64, f64)>,
}

/// A heat map panel: rows over a time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatPanel {
    /// A title above the panel.
    pub title: Option<String>,
    /// The time axis.
    pub x: Axis,
    /// What a row's colour means, for the legend: `share of requests answered
    /// ServiceUnavailable`.
    pub value_label: String,
    /// The rows, top to bottom.
    pub rows: Vec<HeatRow>,
    /// Phases, drawn as a strip above the rows.
    pub bands: Vec<Band>,
}

/// What a legend entry shows beside its name.
#[derive(Clone, Debug, PartialEq)]
pub enum Mark {
    /// A line of a palette colour.
    Line(usize),
    /// A filled box of a palette colour.
    Bar(usize),
    /// A shaded band.
    Band(BandClass, usize),
    /// The heat map's colour scale.
    Scale,
    /// A shaded window of a bar panel.
    Shade,
}

/// One legend entry.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// The text.
    pub name: String,
    /// The mark beside it.
    pub mark: Mark,
}

impl Chart {
    /// The names of everything it draws, in order: lines, bar groups or
    /// heat map rows (each once, even when it is in several panels).
    pub fn series_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut push = |n: &str| {
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        };
        match &self.body {
            Body::Lines(panels) => panels
                .iter()
                .flat_map(|p| &p.series)
                .for_each(|s| push(&s.name)),
            Body::Bars(panels) => panels
                .iter()
                .flat_map(|p| &p.groups)
                .for_each(|g| push(&g.name)),
            Body::Heat(panels) => panels
                .iter()
                .flat_map(|p| &p.rows)
                .for_each(|r| push(&r.name)),
        }
        names
    }

    /// Points (lines), values (bars) or cells (heat map) drawn, over all
    /// panels; a chart with none is empty.
    pub fn point_count(&self) -> usize {
        match &self.body {
            Body::Lines(panels) => panels
                .iter()
                .flat_map(|p| &p.series)
                .map(|s| {
                    s.points
                        .iter()
                        .filter(|(x, y)| x.is_finite() && y.is_finite())
                        .count()
                })
                .sum(),
            Body::Bars(panels) => panels
                .iter()
                .flat_map(|p| &p.groups)
                .map(|g| g.values.iter().flatten().count())
                .sum(),
            Body::Heat(panels) => panels
                .iter()
                .flat_map(|p| &p.rows)
                .map(|r| r.cells.len())
                .sum(),
        }
    }

    /// The legend: every line, bar group, phase and colour scale, once.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let mut entries: Vec<LegendEntry> = Vec::new();
        let mut push = |name: &str, mark: Mark| {
            if !entries.iter().any(|e| e.name == name) {
                entries.push(LegendEntry {
                    name: name.to_string(),
                    mark,
                });
            }
        };
        let mut bands: Vec<&Band> = Vec::new();
        match &self.body {
            Body::Lines(panels) => {
                for p in panels {
                    for s in &p.series {
                        push(&s.name, Mark::Line(s.color));
                    }
                    bands.extend(&p.bands);
                }
            }
            Body::Bars(panels) => {
                for p in panels {
                    for g in &p.groups {
                        push(&g.name, Mark::Bar(g.color));
                    }
                    if let Some((_, _, name)) = &p.shade {
                        push(name, Mark::Shade);
                    }
                }
            }
            Body::Heat(panels) => {
                for p in panels {
                    push(&p.value_label, Mark::Scale);
                    bands.extend(&p.bands);
                }
            }
        }
        for (class, name, shade) in band_shades(bands) {
            push(&name, Mark::Band(class, shade));
        }
        entries
    }
}

/// The distinct phases of `bands`, each with its class and a shade index
/// within the class (the second storm kind gets another shade of the storm
/// colour).
pub(crate) fn band_shades<'a>(
    bands: impl IntoIterator<Item = &'a Band>,
) -> Vec<(BandClass, String, usize)> {
    let mut out: Vec<(BandClass, String, usize)> = Vec::new();
    for b in bands {
        if out.iter().any(|(_, n, _)| *n == b.name) {
            continue;
        }
        let shade = out.iter().filter(|(c, _, _)| *c == b.class).count();
        out.push((b.class, b.name.clone(), shade));
    }
    out
}

/// The class of a phase by its name; `None` for `steady`. A window where a
/// storm and a fault overlap (`storm: create_users + fault: pause`) is a
/// fault.
pub fn band_class(phase: &str) -> Option<BandClass> {
    if phase.starts_with("fault") || phase.contains("+ fault:") {
        Some(BandClass::Fault)
    } else if phase.starts_with("storm") {
        Some(BandClass::Storm)
    } else if phase == "recovery" {
        Some(BandClass::Recovery)
    } else {
        None
    }
}

/// Drawing a chart failed.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font could not be loaded (a bug).
    #[error("cannot load the embedded font")]
    Font,
    /// plotters refused to draw.
    #[error("cannot draw the chart {chart}: {message}")]
    Draw {
        /// The chart's id.
        chart: String,
        /// What plotters said.
        message: String,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Write `chart` as `<dir>/<id>.svg` and `<dir>/<id>.png`; returns its SVG
/// text (to inline it).
///
/// # Errors
///
/// A chart that cannot be drawn or a file that cannot be written.
pub fn write_files(chart: &Chart, dir: &Path) -> Result<String, ChartError> {
    let text = svg(chart)?;
    let svg_path = dir.join(format!("{}.svg", chart.id));
    crate::summary::write_atomically(&svg_path, text.as_bytes()).map_err(|source| {
        ChartError::Io {
            path: svg_path.display().to_string(),
            source,
        }
    })?;
    write_png(chart, &dir.join(format!("{}.png", chart.id)))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_classed_by_name() {
        assert_eq!(band_class("steady"), None);
        assert_eq!(band_class("recovery"), Some(BandClass::Recovery));
        assert_eq!(band_class("storm: rotate_keys"), Some(BandClass::Storm));
        assert_eq!(band_class("storm: midnight_roll"), Some(BandClass::Storm));
        assert_eq!(band_class("fault: pause"), Some(BandClass::Fault));
        assert_eq!(
            band_class("storm: create_users + fault: regional_incident"),
            Some(BandClass::Fault)
        );
        let band = |name: &str, class| Band {
            name: name.into(),
            class,
            start: 0.0,
            end: 1.0,
        };
        let shades = band_shades(&[
            band("storm: a", BandClass::Storm),
            band("fault: b", BandClass::Fault),
            band("storm: c", BandClass::Storm),
            band("storm: a", BandClass::Storm),
        ]);
        assert_eq!(
            shades,
            [
                (BandClass::Storm, "storm: a".to_string(), 0),
                (BandClass::Fault, "fault: b".to_string(), 0),
                (BandClass::Storm, "storm: c".to_string(), 1),
            ]
        );
    }
}
