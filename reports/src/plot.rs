//! The two panel shapes most charts are made of — lines over a numeric axis and grouped bars
//! over categories — drawn in the theme.
//!
//! Log axes are drawn by plotting log10 of the values on a linear axis with our own tick
//! positions and labels: one code path for every axis kind, and ticks a reader expects
//! (1, 10, 100; or 1, 2, 4 ... 64 cores) instead of plotters' defaults.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::ChartError;
use crate::theme::{FONT, color, size};

/// The theme's font at `px` pixels, in black.
pub fn text(px: u32) -> TextStyle<'static> {
    text_at(px, color::BLACK, HPos::Left, VPos::Top)
}

/// The theme's font at `px` pixels in `c`, anchored at `h`/`v`.
pub fn text_at(px: u32, c: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: (FONT, px).into(),
        color: c.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// One axis: its description, scale, tick labels and optional fixed range (in data units).
#[derive(Clone)]
pub struct Axis {
    /// What the axis shows, with its unit.
    pub desc: String,
    /// Logarithmic scale.
    pub log: bool,
    /// Tick label for a value in data units.
    pub fmt: fn(f64) -> String,
    /// Fixed range; `None` fits the data.
    pub range: Option<(f64, f64)>,
    /// Fixed tick positions; `None` chooses round numbers (or powers of ten on a log axis).
    pub ticks: Option<Vec<f64>>,
}

fn default_fmt(v: f64) -> String {
    crate::number::si(v)
}

impl Axis {
    /// A linear axis that starts at zero.
    pub fn linear(desc: impl Into<String>) -> Self {
        Axis {
            desc: desc.into(),
            log: false,
            fmt: default_fmt,
            range: None,
            ticks: None,
        }
    }

    /// A log10 axis.
    pub fn log(desc: impl Into<String>) -> Self {
        Axis {
            log: true,
            ..Axis::linear(desc)
        }
    }

    /// Sets the tick label format.
    pub fn fmt(mut self, fmt: fn(f64) -> String) -> Self {
        self.fmt = fmt;
        self
    }

    /// Fixes the range.
    pub fn range(mut self, lo: f64, hi: f64) -> Self {
        self.range = Some((lo, hi));
        self
    }

    /// Fixes the ticks.
    pub fn ticks(mut self, ticks: Vec<f64>) -> Self {
        self.ticks = Some(ticks);
        self
    }

    /// Maps a data value to plot space.
    pub fn to_plot(&self, v: f64) -> f64 {
        if self.log { v.max(1e-300).log10() } else { v }
    }

    /// Maps a plot-space value back to data units.
    pub fn to_data(&self, t: f64) -> f64 {
        if self.log { 10f64.powf(t) } else { t }
    }

    /// The plot-space range and ticks for data spanning `values`.
    pub fn layout(&self, values: impl IntoIterator<Item = f64>) -> (f64, f64, Vec<f64>) {
        let usable: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && (!self.log || *v > 0.0))
            .collect();
        let (lo, hi) = match self.range {
            Some(r) => r,
            None => {
                let min = usable.iter().copied().fold(f64::INFINITY, f64::min);
                let max = usable.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if !min.is_finite() {
                    if self.log { (1.0, 10.0) } else { (0.0, 1.0) }
                } else if self.log {
                    let lo = 10f64.powf(min.log10().floor());
                    let hi = 10f64.powf(max.log10().ceil());
                    if hi <= lo { (lo, lo * 10.0) } else { (lo, hi) }
                } else {
                    let lo = min.min(0.0);
                    let hi = if max > lo { max * 1.12 } else { lo + 1.0 };
                    (lo, hi)
                }
            }
        };
        let ticks = match &self.ticks {
            Some(t) => t.clone(),
            None if self.log => log_ticks(lo, hi),
            None => linear_ticks(lo, hi),
        };
        let (plo, phi) = (self.to_plot(lo), self.to_plot(hi));
        let ticks = ticks
            .into_iter()
            .map(|t| self.to_plot(t))
            .filter(|t| *t >= plo - 1e-9 && *t <= phi + 1e-9)
            .collect();
        (plo, phi, ticks)
    }
}

/// Round-number ticks (1, 2 or 5 times a power of ten) covering `lo..hi`, about six of them.
pub fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Powers of ten in `lo..hi`, with 2 and 5 between them when the span is under three decades.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let fine = b - a < 3;
    let mut out = Vec::new();
    for e in a..=b {
        let p = 10f64.powi(e);
        out.push(p);
        if fine {
            out.push(2.0 * p);
            out.push(5.0 * p);
        }
    }
    out.retain(|t| *t >= lo * (1.0 - 1e-9) && *t <= hi * (1.0 + 1e-9));
    out
}

/// Where a panel's legend goes.
pub use plotters::chart::SeriesLabelPosition as Legend;

/// One line of a [`lines`] panel.
#[derive(Clone)]
pub struct Line {
    /// Legend entry.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Points in data units, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (published or claimed figures) instead of solid (measured or simulated).
    pub dashed: bool,
}

/// Draws lines with point markers on one panel; `legend: None` leaves the legend to a
/// neighbouring panel with the same series.
pub fn lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: &Axis,
    y: &Axis,
    series: &[Line],
    legend: Option<Legend>,
) -> Result<(), ChartError> {
    lines_over(area, title, x, y, series, legend, None)
}

/// A horizontal band of y values shaded behind the lines, with its label.
#[derive(Clone)]
pub struct Band {
    /// Lower edge, data units.
    pub lo: f64,
    /// Upper edge, data units.
    pub hi: f64,
    /// What the band is ("the talk: 10 µs – 1 ms").
    pub label: String,
}

/// [`lines`] with an optional shaded `band` behind them; the y axis always covers the band.
pub fn lines_over<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x: &Axis,
    y: &Axis,
    series: &[Line],
    legend: Option<Legend>,
    band: Option<&Band>,
) -> Result<(), ChartError> {
    let (x0, x1, xt) = x.layout(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let band_edges = band.map(|b| [b.lo, b.hi]).into_iter().flatten();
    let (y0, y1, yt) = y.layout(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(band_edges),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(title, text(size::PANEL))
        .margin(20)
        .x_label_area_size(100)
        .y_label_area_size(150)
        .build_cartesian_2d(
            crate::plot::Scale::new(x0, x1, xt),
            crate::plot::Scale::new(y0, y1, yt),
        )?;
    mesh(&mut chart, x, y)?;
    if let Some(b) = band {
        let (lo, hi) = (y.to_plot(b.lo).max(y0), y.to_plot(b.hi).min(y1));
        if hi > lo {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, lo), (x1, hi)],
                color::GREY.mix(0.18).filled(),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                b.label.clone(),
                (x0 + 0.02 * (x1 - x0), hi - 0.02 * (y1 - y0)),
                text_at(size::NOTE, color::GREY, HPos::Left, VPos::Top),
            )))?;
        }
    }
    for s in series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|(a, b)| {
                a.is_finite() && b.is_finite() && (!x.log || *a > 0.0) && (!y.log || *b > 0.0)
            })
            .filter(|(a, b)| inside(x, *a) && inside(y, *b))
            .map(|(a, b)| (x.to_plot(*a), y.to_plot(*b)))
            .collect();
        let stroke = s.color.stroke_width(5);
        let c = s.color;
        if s.dashed {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 18, 12, stroke))?;
        } else {
            chart.draw_series(LineSeries::new(pts.clone(), stroke))?;
        }
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 9, c.filled())))?
            .label(if s.dashed {
                format!("{} (dashed)", s.label)
            } else {
                s.label.clone()
            })
            .legend(move |(lx, ly)| {
                PathElement::new(vec![(lx - 4, ly), (lx + 36, ly)], c.stroke_width(6))
            });
    }
    if let Some(legend) = legend {
        legend_box(&mut chart, legend)?;
    }
    Ok(())
}

/// Whether `v` lies within the axis's fixed range (always, when it has none).
fn inside(axis: &Axis, v: f64) -> bool {
    axis.range
        .is_none_or(|(lo, hi)| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9))
}

/// One group of bars (a colour in the legend) with a value per category.
#[derive(Clone)]
pub struct Bars {
    /// Legend entry.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// One value per category; `None` leaves a gap (not published, not measured).
    pub values: Vec<Option<f64>>,
    /// A colour per category (a model's colour); empty: every bar takes `color`.
    pub colors: Vec<RGBColor>,
}

/// Draws grouped bars, each labelled with its value, over `categories`.
pub fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    categories: &[String],
    y: &Axis,
    groups: &[Bars],
    value_fmt: fn(f64) -> String,
    legend: Legend,
) -> Result<(), ChartError> {
    let n = categories.len().max(1) as f64;
    let values = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten().copied());
    // Room above the tallest bar for its value label.
    let y = if y.range.is_none() && !y.log {
        let max = groups
            .iter()
            .flat_map(|g| g.values.iter().flatten().copied())
            .fold(0.0, f64::max);
        y.clone()
            .range(0.0, if max > 0.0 { max * 1.22 } else { 1.0 })
    } else {
        y.clone()
    };
    let (y0, y1, yt) = y.layout(values);
    let centers: Vec<f64> = (0..categories.len()).map(|i| i as f64 + 0.5).collect();
    let cats = categories.to_vec();
    let mut chart = ChartBuilder::on(area)
        .caption(title, text(size::PANEL))
        .margin(20)
        .x_label_area_size(70)
        .y_label_area_size(150)
        .build_cartesian_2d(
            crate::plot::Scale::new(0.0, n, centers),
            crate::plot::Scale::new(y0, y1, yt),
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y.desc.clone())
        .axis_desc_style(text(size::AXIS))
        .label_style(text(size::TICK))
        .x_label_formatter(&|v| {
            let i = v.floor() as usize;
            cats.get(i).cloned().unwrap_or_default()
        })
        .y_label_formatter(&|v| (y.fmt)(y.to_data(*v)))
        .bold_line_style(color::LIGHT.stroke_width(2))
        .light_line_style(color::LIGHT)
        .axis_style(color::GREY.stroke_width(2))
        .draw()?;
    let k = groups.len().max(1) as f64;
    let width = 0.8 / k;
    for (g, group) in groups.iter().enumerate() {
        let c = group.color;
        let colors = group.colors.clone();
        let mut rects = Vec::new();
        let mut notes = Vec::new();
        for (i, v) in group.values.iter().enumerate() {
            let Some(v) = v.filter(|v| v.is_finite()) else {
                continue;
            };
            let left = i as f64 + 0.1 + g as f64 * width;
            let top = y.to_plot(v).max(y0);
            let fill = colors.get(i).copied().unwrap_or(c);
            rects.push(Rectangle::new(
                [(left + 0.01, y0), (left + width - 0.01, top)],
                fill.filled(),
            ));
            notes.push(Text::new(
                value_fmt(v),
                (left + width / 2.0, top),
                text_at(size::NOTE, color::BLACK, HPos::Center, VPos::Bottom),
            ));
        }
        chart
            .draw_series(rects)?
            .label(group.label.clone())
            .legend(move |(lx, ly)| {
                Rectangle::new([(lx, ly - 12), (lx + 32, ly + 12)], c.filled())
            });
        chart.draw_series(notes)?;
    }
    if groups.len() > 1 {
        legend_box(&mut chart, legend)?;
    }
    Ok(())
}

/// A chart on two [`Scale`]s.
pub type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<Scale, Scale>>;

/// A linear f64 axis whose tick marks are exactly the given points (no light grid lines).
///
/// plotters' own `with_key_points` keeps f64's custom formatting option, which rules out
/// `configure_mesh`; this one uses the default option and our label formatters.
#[derive(Debug, Clone)]
pub struct Scale {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Scale {
    /// `lo..hi` with ticks at `ticks`.
    pub fn new(lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        Scale { lo, hi, ticks }
    }
}

impl Ranged for Scale {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let frac = if span > 0.0 {
            (value - self.lo) / span
        } else {
            0.0
        };
        // Clamp far outside the area so that huge values cannot overflow the pixel type.
        let frac = frac.clamp(-10.0, 11.0);
        limit.0 + (f64::from(limit.1 - limit.0) * frac + 1e-3).floor() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Grid, axis descriptions and tick labels in the theme.
pub fn mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut Plot<'a, DB>,
    x: &Axis,
    y: &Axis,
) -> Result<(), ChartError> {
    chart
        .configure_mesh()
        .x_desc(x.desc.clone())
        .y_desc(y.desc.clone())
        .axis_desc_style(text(size::AXIS))
        .label_style(text(size::TICK))
        .x_label_formatter(&|v| (x.fmt)(x.to_data(*v)))
        .y_label_formatter(&|v| (y.fmt)(y.to_data(*v)))
        .bold_line_style(color::LIGHT.stroke_width(2))
        .light_line_style(color::LIGHT)
        .axis_style(color::GREY.stroke_width(2))
        .draw()?;
    Ok(())
}

/// The legend, framed, where `legend` says.
pub fn legend_box<'a, DB: DrawingBackend + 'a>(
    chart: &mut Plot<'a, DB>,
    legend: Legend,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .position(legend)
        .label_font(text(size::LEGEND))
        .background_style(color::WHITE.mix(0.9))
        .border_style(color::GREY)
        .margin(18)
        .legend_area_size(48)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round() {
        let t: Vec<String> = linear_ticks(0.0, 1.0)
            .iter()
            .map(|v| format!("{v:.3}"))
            .collect();
        assert_eq!(t, ["0.000", "0.200", "0.400", "0.600", "0.800", "1.000"]);
        assert_eq!(
            linear_ticks(0.0, 560.0),
            vec![0.0, 100.0, 200.0, 300.0, 400.0, 500.0]
        );
    }

    #[test]
    fn log_ticks_are_powers_of_ten() {
        assert_eq!(
            log_ticks(1.0, 10_000.0),
            vec![1.0, 10.0, 100.0, 1000.0, 10_000.0]
        );
        assert_eq!(log_ticks(10.0, 100.0), vec![10.0, 20.0, 50.0, 100.0]);
    }

    #[test]
    fn log_layout_covers_whole_decades() {
        let (lo, hi, ticks) = Axis::log("x").layout([3.0, 4_000.0]);
        assert_eq!((lo, hi), (0.0, 4.0));
        assert_eq!(ticks, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    }
}
