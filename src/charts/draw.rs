//! Drawing [`Chart`]s with plotters, on the SVG backend (text as `<text>`
//! elements) or the bitmap backend (text rasterized from the embedded DejaVu
//! Sans through plotters' `ab_glyph` font support). Log and "nines" axes are
//! drawn as linear axes over transformed values, with tick labels written
//! back in values.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use super::{
    band_shades, Axis, Band, BandClass, BarPanel, Body, Chart, ChartError, HeatPanel, LinePanel,
    Mark, Scale, ValueFormat,
};
use crate::report::human_us;

/// Width of every chart, pixels.
const WIDTH: u32 = 1100;
/// Height of the title strip.
const TITLE_H: u32 = 44;
/// Height of a single line panel, and of one in a grid.
const SINGLE_H: u32 = 460;
const GRID_H: u32 = 320;
/// The font family every text uses; registered from the embedded font.
const FAMILY: &str = "sans-serif";

/// The palette of lines and bars (Tableau's ten colours, darker first).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Palette colour `i` (wrapping).
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The fill of a band: storms amber, faults red, recovery grey; the second
/// and later kinds of a class get other shades of it.
fn band_color(class: BandClass, shade: usize) -> RGBAColor {
    let shades: &[RGBColor] = match class {
        BandClass::Storm => &[
            RGBColor(255, 179, 0),
            RGBColor(191, 143, 0),
            RGBColor(255, 214, 102),
        ],
        BandClass::Fault => &[
            RGBColor(220, 20, 60),
            RGBColor(153, 0, 153),
            RGBColor(255, 99, 71),
        ],
        BandClass::Recovery => &[RGBColor(120, 144, 156)],
    };
    let alpha = match class {
        BandClass::Recovery => 0.12,
        _ => 0.22,
    };
    shades[shade % shades.len()].mix(alpha)
}

/// Register the embedded DejaVu Sans under the family every chart uses
/// (once per process).
fn fonts() -> Result<(), ChartError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn bold(size: u32) -> TextStyle<'static> {
    (FAMILY, size)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK)
}

/// The pixel size of `chart`.
pub(crate) fn size(chart: &Chart) -> (u32, u32) {
    let body = match &chart.body {
        Body::Lines(panels) => {
            let (rows, _) = grid(panels.len());
            if panels.len() <= 1 {
                SINGLE_H
            } else {
                rows * GRID_H
            }
        }
        Body::Bars(panels) => panels.iter().map(bar_panel_height).sum(),
        Body::Heat(panels) => panels.iter().map(heat_panel_height).sum(),
    };
    (WIDTH, TITLE_H + body.max(120))
}

/// Rows and columns of a grid of `n` panels.
fn grid(n: usize) -> (u32, u32) {
    let n = n.max(1) as u32;
    let cols = if n == 1 { 1 } else { 2 };
    (n.div_ceil(cols), cols)
}

fn bar_panel_height(p: &BarPanel) -> u32 {
    let per_row = 14 * p.groups.len().max(1) as u32 + 14;
    90 + per_row * p.categories.len().max(1) as u32
}

fn heat_panel_height(p: &HeatPanel) -> u32 {
    100 + 20 * (p.rows.len() as u32 + 1)
}

/// The chart as SVG text.
///
/// # Errors
///
/// When plotters cannot draw it.
pub fn svg(chart: &Chart) -> Result<String, ChartError> {
    fonts()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size(chart)).into_drawing_area();
        draw(chart, &root).map_err(|message| ChartError::Draw {
            chart: chart.id.clone(),
            message,
        })?;
        root.present().map_err(|e| ChartError::Draw {
            chart: chart.id.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(text)
}

/// Draw the chart as a PNG file at `path` (written to a temporary file
/// beside it, then renamed into place).
///
/// # Errors
///
/// When plotters cannot draw it or the file cannot be written.
pub fn write_png(chart: &Chart, path: &Path) -> Result<(), ChartError> {
    fonts()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{stem}.tmp-{}.png", std::process::id()));
    let drawn = {
        let root = BitMapBackend::new(&tmp, size(chart)).into_drawing_area();
        draw(chart, &root).and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    if let Err(message) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(ChartError::Draw {
            chart: chart.id.clone(),
            message,
        });
    }
    std::fs::rename(&tmp, path).map_err(|source| ChartError::Io {
        path: path.display().to_string(),
        source,
    })
}

type Drawn = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draw `chart` on `root`: the title, the panels, the legend on the right.
fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Drawn {
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let (title, body) = root.split_vertically(TITLE_H);
    title
        .draw(&Text::new(
            chart.title.clone(),
            (16, (TITLE_H / 2) as i32),
            bold(20).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    let legend = chart.legend();
    let legend_w = legend
        .iter()
        .map(|e| {
            root.estimate_text_size(&e.name, &font(13))
                .map_or(200, |(tw, _)| tw)
        })
        .max()
        .unwrap_or(100)
        .clamp(110, 330)
        + 62;
    let (main, side) = body.split_horizontally(w.saturating_sub(legend_w));
    draw_legend(&side, &legend)?;
    match &chart.body {
        Body::Lines(panels) => {
            let (rows, cols) = grid(panels.len());
            let areas = main.split_evenly((rows as usize, cols as usize));
            for (p, area) in panels.iter().zip(&areas) {
                line_panel(root, area, p)?;
            }
        }
        Body::Bars(panels) => {
            let mut rest = main;
            for p in panels {
                let (area, below) = rest.split_vertically(bar_panel_height(p));
                bar_panel(root, &area, p)?;
                rest = below;
            }
        }
        Body::Heat(panels) => {
            let mut rest = main;
            for p in panels {
                let (area, below) = rest.split_vertically(heat_panel_height(p));
                heat_panel(root, &area, p)?;
                rest = below;
            }
        }
    }
    let _ = h;
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[super::LegendEntry],
) -> Drawn {
    let mut y = 16;
    area.draw(&Text::new(
        "Legend",
        (8, y),
        bold(14).pos(Pos::new(HPos::Left, VPos::Center)),
    ))
    .map_err(err)?;
    y += 26;
    for e in entries {
        match &e.mark {
            Mark::Line(c) => area
                .draw(&PathElement::new(
                    vec![(8, y), (40, y)],
                    color(*c).stroke_width(3),
                ))
                .map_err(err)?,
            Mark::Bar(c) => area
                .draw(&Rectangle::new(
                    [(8, y - 7), (40, y + 7)],
                    color(*c).filled(),
                ))
                .map_err(err)?,
            Mark::Band(class, shade) => {
                area.draw(&Rectangle::new(
                    [(8, y - 8), (40, y + 8)],
                    band_color(*class, *shade).filled(),
                ))
                .map_err(err)?;
                area.draw(&Rectangle::new(
                    [(8, y - 8), (40, y + 8)],
                    RGBColor(160, 160, 160).stroke_width(1),
                ))
                .map_err(err)?;
            }
            Mark::Shade => area
                .draw(&Rectangle::new(
                    [(8, y - 8), (40, y + 8)],
                    RGBColor(200, 200, 200).mix(0.6).filled(),
                ))
                .map_err(err)?,
            Mark::Scale => {
                for i in 0..8 {
                    let v = (i as f64 + 0.5) / 8.0;
                    area.draw(&Rectangle::new(
                        [(8 + i * 4, y - 8), (12 + i * 4, y + 8)],
                        heat_color(v).filled(),
                    ))
                    .map_err(err)?;
                }
                area.draw(&Text::new(
                    "low → 100%",
                    (8, y + 11),
                    font(10).pos(Pos::new(HPos::Left, VPos::Top)),
                ))
                .map_err(err)?;
            }
        }
        area.draw(&Text::new(
            e.name.clone(),
            (48, y),
            font(13).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
        y += if matches!(e.mark, Mark::Scale) {
            38
        } else {
            24
        };
    }
    Ok(())
}

/// The heat map's colour of a value in (0, 1]: pale yellow to dark red.
fn heat_color(v: f64) -> RGBColor {
    let stops = [
        (0.0, (255.0, 237.0, 160.0)),
        (0.5, (253.0, 141.0, 60.0)),
        (1.0, (165.0, 0.0, 38.0)),
    ];
    let v = v.clamp(0.0, 1.0);
    let (lo, hi) = if v <= 0.5 {
        (stops[0], stops[1])
    } else {
        (stops[1], stops[2])
    };
    let t = (v - lo.0) / (hi.0 - lo.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round().clamp(0.0, 255.0) as u8;
    RGBColor(
        mix(lo.1 .0, hi.1 .0),
        mix(lo.1 .1, hi.1 .1),
        mix(lo.1 .2, hi.1 .2),
    )
}

/// A value's position on an axis of `scale`; `None` when it cannot be drawn
/// (not finite, or 0 or less on a log axis, or 1 or more as a quantile).
pub(crate) fn position(scale: Scale, v: f64) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    match scale {
        Scale::Linear => Some(v),
        Scale::Log => (v > 0.0).then(|| v.log10()),
        Scale::Nines => (0.0..1.0).contains(&v).then(|| -(1.0 - v).log10()),
    }
}

/// The positions an axis spans, from its fixed range or the data's
/// positions. Log and nines axes span whole decades.
pub(crate) fn span(axis: &Axis, positions: &[f64]) -> (f64, f64) {
    let (lo, hi) = match axis.range {
        Some((lo, hi)) => (
            position(axis.scale, lo).unwrap_or(0.0),
            position(axis.scale, hi).unwrap_or(1.0),
        ),
        None => {
            let lo = positions.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = positions.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() || !hi.is_finite() {
                (0.0, 1.0)
            } else {
                match axis.scale {
                    Scale::Linear => (lo.min(0.0), nice_ceiling(hi * 1.08)),
                    Scale::Log => (lo, hi),
                    Scale::Nines => (0.0, hi),
                }
            }
        }
    };
    let (lo, hi) = match axis.scale {
        Scale::Linear => (lo, if hi > lo { hi } else { lo + 1.0 }),
        Scale::Log | Scale::Nines => {
            let (lo, hi) = (snap(lo).floor(), snap(hi).ceil());
            (lo, if hi > lo { hi } else { lo + 1.0 })
        }
    };
    (lo, hi)
}

/// The labelled positions (bold grid lines) and the unlabelled ones (light
/// grid lines) of an axis spanning `lo..hi`: round steps on linear axes;
/// decades on log axes, with 2 and 5 times them labelled when the axis spans
/// at most two decades and the other multiples as light lines; every nine on
/// nines axes.
pub(crate) fn key_points(scale: Scale, lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let mut bold = Vec::new();
    let mut light = Vec::new();
    match scale {
        Scale::Linear => {
            let step = nice_step((hi - lo) / 8.0);
            let mut k = (lo / step).ceil();
            while k * step <= hi + step * 1e-9 && bold.len() < 100 {
                bold.push(snap_to(k * step, step));
                k += 1.0;
            }
        }
        Scale::Log => {
            let few = hi - lo <= 2.0;
            let mut k = lo;
            while k <= hi + 1e-9 && bold.len() < 400 {
                bold.push(k);
                if k < hi - 1e-9 {
                    for m in 2..10 {
                        let p = k + f64::from(m).log10();
                        if few && (m == 2 || m == 5) {
                            bold.push(p);
                        } else {
                            light.push(p);
                        }
                    }
                }
                k += 1.0;
            }
        }
        Scale::Nines => {
            let mut k = lo;
            while k <= hi + 1e-9 && bold.len() < 100 {
                bold.push(k);
                k += 1.0;
            }
        }
    }
    (bold, light)
}

/// A round step (1, 2 or 5 times a power of 10) of at least `v`.
fn nice_step(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

/// `v` rounded to a multiple of `step / 1000` (no 0.30000000000000004).
fn snap_to(v: f64, step: f64) -> f64 {
    let g = step / 1000.0;
    (v / g).round() * g
}

/// `v`, or the whole number it is within rounding error of.
fn snap(v: f64) -> f64 {
    if (v - v.round()).abs() < 1e-9 {
        v.round()
    } else {
        v
    }
}

/// The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of 10
/// that is at least `v` (1 for 0 or less).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * p >= v * (1.0 - 1e-12) {
            return m * p;
        }
    }
    10.0 * p
}

/// The tick label of a position on an axis of `scale`: values on linear
/// and log axes, percentiles on nines axes (empty between nines).
pub(crate) fn tick(scale: Scale, pos: f64) -> String {
    match scale {
        Scale::Linear => number(pos),
        Scale::Log => {
            let v = 10f64.powf(pos);
            let p = 10f64.powf(v.log10().floor());
            number((v / p).round() * p)
        }
        Scale::Nines => {
            let k = pos.round();
            if (pos - k).abs() > 1e-6 || k < 0.0 {
                return String::new();
            }
            nines_label(k as u32)
        }
    }
}

/// `0%`, `90%`, `99%`, `99.9%`, `99.99%`, ... for 0, 1, 2, 3, 4, ...
pub(crate) fn nines_label(k: u32) -> String {
    match k {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        2 => "99%".to_string(),
        k => format!("99.{}%", "9".repeat(k as usize - 2)),
    }
}

/// A number for an axis: no more digits than it needs.
pub(crate) fn number(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1_000_000.0 {
        format!("{}M", trim(v / 1_000_000.0, 2))
    } else if a >= 10_000.0 {
        format!("{}k", trim(v / 1000.0, 1))
    } else if a >= 1.0 {
        trim(v, 2)
    } else {
        let digits = (-a.log10()).ceil() as usize + 1;
        trim(v, digits.min(9))
    }
}

fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Split a series into drawable runs of positions.
fn segments(points: &[(f64, f64)], x: Scale, y: Scale) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for &(px, py) in points {
        match (position(x, px), position(y, py)) {
            (Some(a), Some(b)) => current.push((a, b)),
            _ => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn line_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &LinePanel,
) -> Drawn {
    let xs: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|(_, y)| position(p.y.scale, *y).is_some())
        .filter_map(|(x, _)| position(p.x.scale, *x))
        .collect();
    let ys: Vec<f64> = p
        .series
        .iter()
        .flat_map(|s| &s.points)
        .filter(|(x, _)| position(p.x.scale, *x).is_some())
        .filter_map(|(_, y)| position(p.y.scale, *y))
        .collect();
    let (x0, x1) = span(&p.x, &xs);
    let (y0, y1) = span(&p.y, &ys);
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(24)
        .x_label_area_size(48)
        .y_label_area_size(78);
    if let Some(t) = &p.title {
        builder.caption(t, bold(15));
    }
    let mut chart = builder
        .build_cartesian_2d(axis_coord(p.x.scale, x0, x1), axis_coord(p.y.scale, y0, y1))
        .map_err(err)?;
    let (xs_, ys_) = (p.x.scale, p.y.scale);
    let fx = move |v: &f64| tick(xs_, *v);
    let fy = move |v: &f64| tick(ys_, *v);
    chart
        .configure_mesh()
        .x_desc(p.x.label.clone())
        .y_desc(p.y.label.clone())
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(err)?;
    for b in &p.bands {
        let shade = shade_of(&p.bands, b);
        let (Some(a), Some(z)) = (position(p.x.scale, b.start), position(p.x.scale, b.end)) else {
            continue;
        };
        let (a, z) = (a.max(x0), z.min(x1));
        if z <= a {
            continue;
        }
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, y0), (z, y1)],
                band_color(b.class, shade).filled(),
            )))
            .map_err(err)?;
    }
    // Earlier lines are wider, so a line that coincides with a later one
    // still shows as its border.
    let n = p.series.len();
    for (k, s) in p.series.iter().enumerate() {
        let width = (2 + (n - 1 - k) as u32).min(4);
        for seg in segments(&s.points, p.x.scale, p.y.scale) {
            if seg.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        seg[0],
                        3,
                        color(s.color).filled(),
                    )))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(seg, color(s.color).stroke_width(width)))
                    .map_err(err)?;
            }
        }
    }
    // Band names along their top edge, where there is room.
    for b in &p.bands {
        let (Some(a), Some(z)) = (position(p.x.scale, b.start), position(p.x.scale, b.end)) else {
            continue;
        };
        let (a, z) = (a.max(x0), z.min(x1));
        let (pa, py) = chart.backend_coord(&(a, y1));
        let (pz, _) = chart.backend_coord(&(z, y1));
        let label = b.name.clone();
        let fits = root
            .estimate_text_size(&label, &font(11))
            .is_ok_and(|(tw, _)| (tw as i32) + 6 <= pz - pa);
        if fits {
            root.draw(&Text::new(
                label,
                (pa + 3, py + 3),
                font(11)
                    .color(&RGBColor(90, 90, 90))
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// A linear coordinate over positions with key points of our choosing:
/// bold ones (labelled, bold grid lines) and light ones.
#[derive(Clone, Debug)]
struct Coord {
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Coord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span <= 0.0 || !v.is_finite() {
            return limit.0;
        }
        let share = ((*v - self.lo) / span).clamp(-10.0, 10.0);
        limit.0 + (f64::from(limit.1 - limit.0) * share + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// A value axis from `lo` to `hi` (positions) with its key points.
fn axis_coord(scale: Scale, lo: f64, hi: f64) -> Coord {
    let (bold, light) = key_points(scale, lo, hi);
    Coord {
        lo,
        hi,
        bold,
        light,
    }
}

/// A category axis of `n` rows, a tick between rows.
fn rows_coord(n: usize) -> Coord {
    Coord {
        lo: 0.0,
        hi: n as f64,
        bold: (0..=n).map(|i| i as f64).collect(),
        light: Vec::new(),
    }
}

fn shade_of(bands: &[Band], b: &Band) -> usize {
    band_shades(bands)
        .into_iter()
        .find(|(_, n, _)| *n == b.name)
        .map_or(0, |(_, _, s)| s)
}

fn format_value(f: ValueFormat, v: f64) -> String {
    match f {
        ValueFormat::Rate => format!("{}/s", number(v.round())),
        ValueFormat::Ms => human_us(v * 1000.0),
        ValueFormat::Factor => {
            if v >= 10.0 {
                format!("{v:.0}x")
            } else if v > 0.5 {
                format!("{v:.2}x")
            } else {
                crate::page::factor_text(v)
            }
        }
    }
}

fn bar_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &BarPanel,
) -> Drawn {
    let n = p.categories.len().max(1);
    let positions: Vec<f64> = p
        .groups
        .iter()
        .flat_map(|g| g.values.iter().flatten())
        .filter_map(|v| position(p.x.scale, *v))
        .chain(p.baseline.and_then(|b| position(p.x.scale, b)))
        .chain(
            p.shade
                .iter()
                .flat_map(|(a, z, _)| [position(p.x.scale, *a), position(p.x.scale, *z)])
                .flatten(),
        )
        .collect();
    let (x0, x1) = span(&p.x, &positions);
    // Around a baseline on a log axis (factors), as far left as right.
    let (x0, x1) = match (p.x.scale, p.baseline.and_then(|b| position(p.x.scale, b))) {
        (Scale::Log, Some(b)) if x0 <= b && b <= x1 => {
            let m = (b - x0).max(x1 - b).max(1.0);
            (b - m, b + m)
        }
        _ => (x0, x1),
    };
    let label_w = p
        .categories
        .iter()
        .map(|c| {
            root.estimate_text_size(c, &font(13))
                .map_or(150, |(w, _)| w)
        })
        .max()
        .unwrap_or(60)
        + 16;
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(70)
        .x_label_area_size(46)
        .y_label_area_size(label_w);
    if let Some(t) = &p.title {
        builder.caption(t, bold(15));
    }
    let mut chart = builder
        .build_cartesian_2d(axis_coord(p.x.scale, x0, x1), rows_coord(n))
        .map_err(err)?;
    if let Some((a, z, _)) = &p.shade {
        if let (Some(a), Some(z)) = (position(p.x.scale, *a), position(p.x.scale, *z)) {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a.max(x0), 0.0), (z.min(x1), n as f64)],
                    RGBColor(200, 200, 200).mix(0.6).filled(),
                )))
                .map_err(err)?;
        }
    }
    let xs_ = p.x.scale;
    let fx = move |v: &f64| tick(xs_, *v);
    let blank = |_: &f64| String::new();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(p.x.label.clone())
        .x_label_formatter(&fx)
        .y_label_formatter(&blank)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(err)?;
    let base = match p.x.scale {
        Scale::Linear => 0.0f64.max(x0),
        _ => p
            .baseline
            .and_then(|b| position(p.x.scale, b))
            .unwrap_or(x0)
            .clamp(x0, x1),
    };
    if p.baseline.is_some() {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(base, 0.0), (base, n as f64)],
                BLACK.stroke_width(1),
            )))
            .map_err(err)?;
    }
    let groups = p.groups.len().max(1) as f64;
    let slot = 0.8 / groups;
    for (i, category) in p.categories.iter().enumerate() {
        // Row i from the top: y from n - i - 1 to n - i.
        let top = (n - i) as f64 - 0.1;
        for (j, g) in p.groups.iter().enumerate() {
            let Some(v) = g.values.get(i).copied().flatten() else {
                continue;
            };
            let Some(pos) = position(p.x.scale, v) else {
                continue;
            };
            let pos = pos.clamp(x0, x1);
            let (ya, yb) = (top - (j as f64 + 1.0) * slot, top - j as f64 * slot);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(base, ya + slot * 0.08), (pos, yb - slot * 0.08)],
                    color(g.color).filled(),
                )))
                .map_err(err)?;
            // The value at the bar's outer end.
            let (px, py) = chart.backend_coord(&(pos, (ya + yb) / 2.0));
            let (at, anchor) = if pos < base {
                (px - 4, HPos::Right)
            } else {
                (px + 4, HPos::Left)
            };
            root.draw(&Text::new(
                format_value(p.format, v),
                (at, py),
                font(11).pos(Pos::new(anchor, VPos::Center)),
            ))
            .map_err(err)?;
        }
        let (px, py) = chart.backend_coord(&(x0, (n - i) as f64 - 0.5));
        root.draw(&Text::new(
            category.clone(),
            (px - 8, py),
            font(13).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn heat_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &HeatPanel,
) -> Drawn {
    let rows = p.rows.len();
    // Row 0 (top) is the phase strip; data rows below it.
    let total = (rows + 1) as f64;
    let xs: Vec<f64> = p
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .flat_map(|(a, z, _)| [*a, *z])
        .filter_map(|v| position(p.x.scale, v))
        .collect();
    let (x0, x1) = span(&p.x, &xs);
    let label_w = p
        .rows
        .iter()
        .map(|r| {
            root.estimate_text_size(&r.name, &font(12))
                .map_or(150, |(w, _)| w)
        })
        .chain(std::iter::once(60))
        .max()
        .unwrap_or(60)
        + 16;
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size(label_w);
    if let Some(t) = &p.title {
        builder.caption(t, bold(15));
    }
    let mut chart = builder
        .build_cartesian_2d(axis_coord(p.x.scale, x0, x1), rows_coord(rows + 1))
        .map_err(err)?;
    // Rows with no errors are light grey, so a cell's absence reads as "none".
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(x0, 0.0), (x1, rows as f64)],
            RGBColor(246, 246, 246).filled(),
        )))
        .map_err(err)?;
    let xs_ = p.x.scale;
    let fx = move |v: &f64| tick(xs_, *v);
    let blank = |_: &f64| String::new();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(p.x.label.clone())
        .x_label_formatter(&fx)
        .y_label_formatter(&blank)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(220, 220, 220))
        .draw()
        .map_err(err)?;
    for b in &p.bands {
        let shade = shade_of(&p.bands, b);
        let (Some(a), Some(z)) = (position(p.x.scale, b.start), position(p.x.scale, b.end)) else {
            continue;
        };
        let (a, z) = (a.max(x0), z.min(x1));
        if z > a {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a, rows as f64 + 0.1), (z, total - 0.1)],
                    band_color(b.class, shade).filled(),
                )))
                .map_err(err)?;
        }
    }
    for (i, row) in p.rows.iter().enumerate() {
        let y_top = (rows - i) as f64;
        let cells = row.cells.iter().filter_map(|(a, z, v)| {
            let (a, z) = (position(p.x.scale, *a)?, position(p.x.scale, *z)?);
            Some(Rectangle::new(
                [(a.max(x0), y_top - 0.92), (z.min(x1), y_top - 0.08)],
                heat_color(*v).filled(),
            ))
        });
        chart.draw_series(cells).map_err(err)?;
        let (px, py) = chart.backend_coord(&(x0, y_top - 0.5));
        root.draw(&Text::new(
            row.name.clone(),
            (px - 8, py),
            font(12).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
    }
    let (px, py) = chart.backend_coord(&(x0, total - 0.5));
    root.draw(&Text::new(
        "phases",
        (px - 8, py),
        font(12)
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Right, VPos::Center)),
    ))
    .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_values() {
        assert_eq!(tick(Scale::Nines, 0.0), "0%");
        assert_eq!(tick(Scale::Nines, 1.0), "90%");
        assert_eq!(tick(Scale::Nines, 3.0), "99.9%");
        assert_eq!(tick(Scale::Nines, 5.0), "99.999%");
        assert_eq!(tick(Scale::Nines, 2.5), "");
        assert_eq!(tick(Scale::Log, -2.0), "0.01");
        assert_eq!(tick(Scale::Log, 3.0), "1000");
        assert_eq!(tick(Scale::Log, 2f64.log10()), "2");
        assert_eq!(tick(Scale::Linear, 2500.0), "2500");
        assert_eq!(tick(Scale::Linear, 25000.0), "25k");
        assert_eq!(tick(Scale::Linear, 0.25), "0.25");
    }

    #[test]
    fn log_and_nines_axes_span_whole_decades() {
        let axis = Axis::new("latency, ms", Scale::Log);
        let (lo, hi) = span(&axis, &[0.008f64.log10(), 185f64.log10()]);
        assert_eq!((lo, hi), (-3.0, 3.0));
        let (bold, light) = key_points(Scale::Log, lo, hi);
        assert_eq!(bold, [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
        assert_eq!(light.len(), 6 * 8);
        let (bold, _) = key_points(Scale::Log, 0.0, 1.0);
        let labels: Vec<String> = bold.iter().map(|p| tick(Scale::Log, *p)).collect();
        assert_eq!(labels, ["1", "2", "5", "10"]);
        let axis = Axis::new("percentile", Scale::Nines);
        let (lo, hi) = span(&axis, &[0.0, 4.2]);
        assert_eq!((lo, hi), (0.0, 5.0));
        assert_eq!(
            key_points(Scale::Nines, lo, hi).0,
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        );
        let (bold, light) = key_points(Scale::Linear, 0.0, 1200.0);
        assert_eq!(bold, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]);
        assert!(light.is_empty());
        assert_eq!(nice_ceiling(3011.0 * 1.08), 4000.0);
        assert!((position(Scale::Nines, 0.99).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(span(&axis, &[0.0, 2.9999999999999996]).1, 3.0);
        assert_eq!(position(Scale::Log, 0.0), None);
    }

    #[test]
    fn gaps_split_lines() {
        let pts = [(0.0, 1.0), (1.0, f64::NAN), (2.0, 2.0), (3.0, 3.0)];
        assert_eq!(segments(&pts, Scale::Linear, Scale::Linear).len(), 2);
        let pts = [(0.0, 1.0), (1.0, 0.0), (2.0, 2.0)];
        assert_eq!(segments(&pts, Scale::Linear, Scale::Log).len(), 2);
    }
}
