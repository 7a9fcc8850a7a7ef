//! Chart 4: FastAPI's sleep endpoint — the latency distribution of a blocking `def` endpoint
//! (run in a 40-thread pool) vs `async def` on the event loop, with the published p95s marked.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use sim::config::ModelKind;

use crate::chart::{Chart, max_of};
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{Axis, Legend, legend_box, mesh, text_at};
use crate::table::Table;
use crate::theme::{model_color, size};

/// The simulated latency distribution of one endpoint, as percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Endpoint / server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// (percentile 0..100, latency ms), ascending: the CDF at the points the simulator reports.
    pub percentiles: Vec<(f64, f64)>,
}

/// A published p95.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedP95 {
    /// The label of the curve it belongs to.
    pub label: String,
    /// Milliseconds.
    pub p95_ms: f64,
    /// The write-up gave a lower bound ("above 300 ms") rather than a value.
    pub at_least: bool,
}

/// The data of chart 4.
#[derive(Debug, Clone, PartialEq)]
pub struct FastApi {
    /// One curve per endpoint.
    pub curves: Vec<Curve>,
    /// The write-up's figures.
    pub published: Vec<PublishedP95>,
}

fn p95(c: &Curve) -> Option<f64> {
    c.percentiles
        .iter()
        .find(|(q, _)| (*q - 95.0).abs() < 1e-9)
        .map(|p| p.1)
}

impl Chart for FastApi {
    fn stem(&self) -> &'static str {
        "04-fastapi"
    }

    fn title(&self) -> String {
        let mut with: Vec<(&Curve, f64)> = self
            .curves
            .iter()
            .filter_map(|c| p95(c).map(|v| (c, v)))
            .collect();
        with.sort_by(|a, b| b.1.total_cmp(&a.1));
        match with.as_slice() {
            [(slow, a), .., (fast, b)] => format!(
                "p95: {} {} ms, {} {} ms — the thread pool is the queue",
                short(&slow.label),
                sig(*a, 3),
                short(&fast.label),
                sig(*b, 3)
            ),
            _ => "FastAPI sleep: latency of def vs async def".into(),
        }
    }

    fn subtitle(&self) -> String {
        "fastapi-sleep: ab -n1000 -c100, each request sleeps 0.1 s · lines: simulated · diamonds: published p95".into()
    }

    fn caption(&self) -> String {
        "100 concurrent sleeps through a 40-thread pool queue in waves of 40; the event loop holds all 100 at once. The published def p95 is a lower bound (\"above 300 ms\").".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&["label", "source", "percentile", "latency_ms"]);
        for c in &self.curves {
            for (q, ms) in &c.percentiles {
                t.push(vec![
                    c.label.as_str().into(),
                    "simulated".into(),
                    (*q).into(),
                    (*ms).into(),
                ]);
            }
        }
        for p in &self.published {
            let source = if p.at_least {
                "published (at least)"
            } else {
                "published"
            };
            t.push(vec![
                p.label.as_str().into(),
                source.into(),
                95.0.into(),
                p.p95_ms.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let max_ms = max_of(
            self.curves
                .iter()
                .flat_map(|c| c.percentiles.iter().map(|p| p.1))
                .chain(self.published.iter().map(|p| p.p95_ms)),
        )
        .unwrap_or(1.0);
        let x = Axis::linear("latency (ms)").range(0.0, max_ms * 1.1);
        let y = Axis::linear("requests answered within (%)")
            .range(40.0, 100.0)
            .ticks(vec![40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 100.0])
            .fmt(|v| sig(v, 3));
        let (x0, x1, xt) = x.layout([]);
        let (y0, y1, yt) = y.layout([]);
        let mut chart = ChartBuilder::on(area)
            .margin(30)
            .margin_right(80)
            .x_label_area_size(100)
            .y_label_area_size(150)
            .build_cartesian_2d(
                crate::plot::Scale::new(x0, x1, xt),
                crate::plot::Scale::new(y0, y1, yt),
            )?;
        mesh(&mut chart, &x, &y)?;
        for (i, c) in self.curves.iter().enumerate() {
            let col = model_color(c.model);
            chart
                .draw_series(LineSeries::new(
                    c.percentiles.iter().map(|(q, ms)| (*ms, *q)),
                    col.stroke_width(6),
                ))?
                .label(format!("{} (simulated)", c.label))
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx - 4, ly), (lx + 36, ly)], col.stroke_width(6))
                });
            chart.draw_series(
                c.percentiles
                    .iter()
                    .map(|(q, ms)| Circle::new((*ms, *q), 9, col.filled())),
            )?;
            for p in self.published.iter().filter(|p| p.label == c.label) {
                let pt = (p.p95_ms, 95.0);
                let shape = vec![(0, -18), (18, 0), (0, 18), (-18, 0), (0, -18)];
                chart.draw_series(std::iter::once(
                    EmptyElement::at(pt)
                        + Polygon::new(shape.clone(), col.filled())
                        + PathElement::new(shape, BLACK.stroke_width(3)),
                ))?;
                let note = if p.at_least {
                    format!("published p95 > {} ms", sig(p.p95_ms, 3))
                } else {
                    format!("published p95 ≈ {} ms", sig(p.p95_ms, 3))
                };
                // Notes near the right edge end at the marker instead of starting there.
                let h = if p.p95_ms > 0.6 * max_ms {
                    HPos::Right
                } else {
                    HPos::Left
                };
                chart.draw_series(std::iter::once(Text::new(
                    note,
                    (p.p95_ms, 95.0 - 3.0 - 5.0 * i as f64),
                    text_at(size::NOTE, col, h, VPos::Top),
                )))?;
            }
        }
        legend_box(&mut chart, Legend::LowerRight)?;
        Ok(())
    }
}

/// A label without its parenthesised detail: "def (thread pool of 40)" -> "def".
fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}
