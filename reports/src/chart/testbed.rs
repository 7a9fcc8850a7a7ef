//! Chart 10: simulated vs measured on this machine. Real servers (`testbed grid`) beside what
//! `sim` predicts for the same point: throughput and p99 against concurrency per server
//! (measured solid, simulated dashed) for each workload, and predicted against measured with
//! the ±15 % band.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::{si, sig};
use crate::plot::{Axis, Scale};
use crate::table::Table;
use crate::theme::{SERIES, color};

/// One grid point: measured (committed) and predicted (recomputed with the current model).
#[derive(Debug, Clone, PartialEq)]
pub struct TestbedPoint {
    /// Server kind (`threads`, `pool:40`, `nginx`, ...).
    pub server: String,
    /// The workload's name (`cpu=50us`, or the third-party page).
    pub workload: String,
    /// Connections.
    pub concurrency: f64,
    /// Measured requests per second (`None` when the point failed).
    pub measured_rps: Option<f64>,
    /// Predicted requests per second.
    pub predicted_rps: Option<f64>,
    /// Measured p99, ms.
    pub measured_p99_ms: Option<f64>,
    /// Predicted p99, ms.
    pub predicted_p99_ms: Option<f64>,
    /// The load generator was saturated (kept out of the accuracy figures).
    pub load_bound: bool,
}

impl TestbedPoint {
    fn error(predicted: Option<f64>, measured: Option<f64>) -> Option<f64> {
        match (predicted, measured) {
            (Some(p), Some(m)) if m > 0.0 => Some((p - m) / m * 100.0),
            _ => None,
        }
    }

    /// Throughput error in % of the measurement.
    pub fn rps_error(&self) -> Option<f64> {
        Self::error(self.predicted_rps, self.measured_rps)
    }

    /// p99 error in % of the measurement.
    pub fn p99_error(&self) -> Option<f64> {
        Self::error(self.predicted_p99_ms, self.measured_p99_ms)
    }
}

/// The data of chart 10.
#[derive(Debug, Clone, PartialEq)]
pub struct Testbed {
    /// The machine the grid ran on ("CPU, N cores, Linux X").
    pub machine: String,
    /// The day it ran.
    pub date: String,
    /// Every point of the grid.
    pub points: Vec<TestbedPoint>,
}

const SMALL: u32 = 20;

/// (measured, simulated) of one figure.
type Pair = (Option<f64>, Option<f64>);
/// Which figure a panel shows.
type Pick = fn(&TestbedPoint) -> Pair;

fn small(px: u32) -> TextStyle<'static> {
    (crate::theme::FONT, px).into_font().color(&color::BLACK)
}

/// A point counts towards accuracy when both sides exist and the client was not the bottleneck.
fn judged(p: &TestbedPoint) -> bool {
    !p.load_bound && p.rps_error().is_some()
}

impl Testbed {
    fn servers(&self) -> Vec<&str> {
        distinct(&self.points, |p| p.server.as_str())
    }

    fn color(&self, server: &str) -> RGBColor {
        let i = self
            .servers()
            .iter()
            .position(|s| *s == server)
            .unwrap_or(0);
        SERIES[i % SERIES.len()]
    }

    /// Points within target (15 % throughput, 25 % p99) out of the judged ones.
    pub fn on_target(&self) -> (usize, usize) {
        let judged: Vec<&TestbedPoint> = self.points.iter().filter(|p| judged(p)).collect();
        let ok = judged
            .iter()
            .filter(|p| {
                p.rps_error().is_some_and(|e| e.abs() <= 15.0)
                    && p.p99_error().is_some_and(|e| e.abs() <= 25.0)
            })
            .count();
        (ok, judged.len())
    }

    /// One panel: `y` against concurrency for every server of `workload`.
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        workload: &str,
        y: &Axis,
        get: Pick,
        legend: bool,
    ) -> Result<(), ChartError> {
        let mine: Vec<&TestbedPoint> = self
            .points
            .iter()
            .filter(|p| p.workload == workload)
            .collect();
        let x = Axis::log("connections");
        let (x0, x1, xt) = x.layout(mine.iter().map(|p| p.concurrency));
        let (y0, y1, yt) = y.layout(mine.iter().flat_map(|p| {
            let (m, s) = get(p);
            [m, s].into_iter().flatten()
        }));
        let mut chart = ChartBuilder::on(area)
            .caption(title, small(19))
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(Scale::new(x0, x1, xt), Scale::new(y0, y1, yt))?;
        chart
            .configure_mesh()
            .x_desc(x.desc.clone())
            .axis_desc_style(small(SMALL))
            .label_style(small(18))
            .x_label_formatter(&|v| si(x.to_data(*v)))
            .y_label_formatter(&|v| (y.fmt)(y.to_data(*v)))
            .bold_line_style(color::LIGHT.stroke_width(1))
            .light_line_style(color::LIGHT)
            .axis_style(color::GREY.stroke_width(2))
            .draw()?;
        let servers = distinct(&mine, |p| p.server.as_str());
        for server in servers {
            let c = self.color(server);
            let of: Vec<&&TestbedPoint> = mine.iter().filter(|p| p.server == server).collect();
            let plot = |pick: fn(Pair) -> Option<f64>| -> Vec<(f64, f64)> {
                of.iter()
                    .filter_map(|p| pick(get(p)).map(|v| (p.concurrency, v)))
                    .filter(|(a, b)| *a > 0.0 && b.is_finite() && (!y.log || *b > 0.0))
                    .map(|(a, b)| (x.to_plot(a), y.to_plot(b)))
                    .collect()
            };
            let measured = plot(|(m, _)| m);
            let simulated = plot(|(_, s)| s);
            chart
                .draw_series(LineSeries::new(measured.clone(), c.stroke_width(3)))?
                .label(server.to_string())
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 24, ly)], c.stroke_width(4))
                });
            chart.draw_series(measured.iter().map(|p| Circle::new(*p, 5, c.filled())))?;
            chart.draw_series(DashedLineSeries::new(simulated, 10, 7, c.stroke_width(3)))?;
        }
        if legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(small(18))
                .background_style(color::WHITE.mix(0.85))
                .border_style(color::GREY)
                .draw()?;
        }
        Ok(())
    }

    /// Predicted against measured, log-log, with the diagonal and the ±`band` % band.
    fn scatter<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        unit: &str,
        band: f64,
        get: Pick,
    ) -> Result<(), ChartError> {
        let pairs: Vec<(&TestbedPoint, f64, f64)> = self
            .points
            .iter()
            .filter(|p| judged(p))
            .filter_map(|p| match get(p) {
                (Some(m), Some(s)) if m > 0.0 && s > 0.0 => Some((p, m, s)),
                _ => None,
            })
            .collect();
        let axis = Axis::log(unit);
        let (lo, hi, ticks) = axis.layout(pairs.iter().flat_map(|(_, m, s)| [*m, *s]));
        let mut chart = ChartBuilder::on(area)
            .caption(title, small(24))
            .margin(10)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(Scale::new(lo, hi, ticks.clone()), Scale::new(lo, hi, ticks))?;
        chart
            .configure_mesh()
            .x_desc(format!("measured {unit}"))
            .y_desc(format!("simulated {unit}"))
            .axis_desc_style(small(SMALL))
            .label_style(small(18))
            .x_label_formatter(&|v| si(10f64.powf(*v)))
            .y_label_formatter(&|v| si(10f64.powf(*v)))
            .bold_line_style(color::LIGHT.stroke_width(1))
            .light_line_style(color::LIGHT)
            .axis_style(color::GREY.stroke_width(2))
            .draw()?;
        let (up, down) = ((1.0 + band / 100.0).log10(), (1.0 - band / 100.0).log10());
        chart.draw_series(std::iter::once(Polygon::new(
            vec![
                (lo, lo + up),
                (hi, hi + up),
                (hi, hi + down),
                (lo, lo + down),
            ],
            color::GREEN.mix(0.15).filled(),
        )))?;
        chart.draw_series(LineSeries::new(
            vec![(lo, lo), (hi, hi)],
            color::GREY.stroke_width(2),
        ))?;
        for (p, m, s) in pairs {
            let c = self.color(&p.server);
            chart.draw_series(std::iter::once(Circle::new(
                (m.log10(), s.log10()),
                7,
                c.filled(),
            )))?;
        }
        Ok(())
    }
}

fn rps(p: &TestbedPoint) -> Pair {
    (p.measured_rps, p.predicted_rps)
}

fn p99(p: &TestbedPoint) -> Pair {
    (p.measured_p99_ms, p.predicted_p99_ms)
}

impl Chart for Testbed {
    fn stem(&self) -> &'static str {
        "10-testbed"
    }

    fn title(&self) -> String {
        let (ok, all) = self.on_target();
        format!("Simulated vs measured on this machine: {ok} of {all} points on target")
    }

    fn subtitle(&self) -> String {
        format!(
            "Solid: real servers measured {}; dashed: sim for the same point. Target ±15 % req/s, ±25 % p99",
            self.date
        )
    }

    fn caption(&self) -> String {
        format!(
            "Measured on {}: each point is a real server pinned to one core under a real \
             closed-loop load; the dashed line is the current simulator given only calibrate's \
             costs and each server's CPU per request at one connection. Load-bound points are \
             left out of the count. testbed/RESULTS.md diagnoses every point off target.",
            self.machine
        )
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "server",
            "workload",
            "concurrency",
            "measured_rps",
            "predicted_rps",
            "rps_error_percent",
            "measured_p99_ms",
            "predicted_p99_ms",
            "p99_error_percent",
            "load_bound",
        ]);
        let cell = |v: Option<f64>| v.map_or(crate::table::Cell::Missing, Into::into);
        for p in &self.points {
            t.push(vec![
                p.server.as_str().into(),
                p.workload.as_str().into(),
                p.concurrency.into(),
                cell(p.measured_rps),
                cell(p.predicted_rps),
                cell(p.rps_error()),
                cell(p.measured_p99_ms),
                cell(p.predicted_p99_ms),
                cell(p.p99_error()),
                if p.load_bound { "yes" } else { "no" }.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let workloads = distinct(&self.points, |p| p.workload.as_str());
        let (lines, scatter) = area.split_horizontally(area.dim_in_pixel().0 * 3 / 4);
        let columns = workloads.len().max(1);
        let panels = lines.split_evenly((2, columns));
        let rps_axis = Axis::log("requests/s").fmt(si);
        let p99_axis = Axis::log("p99 ms").fmt(|v| sig(v, 2));
        for (i, w) in workloads.iter().enumerate() {
            self.panel(&panels[i], &format!("{w}: req/s"), w, &rps_axis, rps, true)?;
            self.panel(
                &panels[columns + i],
                &format!("{w}: p99 ms"),
                w,
                &p99_axis,
                p99,
                false,
            )?;
        }
        let halves = scatter.split_evenly((2, 1));
        self.scatter(&halves[0], "throughput, ±15 %", "req/s", 15.0, rps)?;
        self.scatter(
            &halves[1],
            "p99 (band ±15 %, target ±25 %)",
            "ms",
            15.0,
            p99,
        )?;
        Ok(())
    }
}
