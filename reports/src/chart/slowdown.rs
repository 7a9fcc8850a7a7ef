//! Chart 11: why threads slow down. The measured extra cost per switch against working set and
//! against runnable threads (issue 12), beside `talk-apache-vs-nginx`'s simulated throughput as
//! connections grow, so the reader sees the mechanism and what the simulator does with it.
//!
//! The dashed lines are `sim`'s cache model run on the same benchmarks written as scenarios
//! (`gather::indirect`), and the caption says how many points it meets.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::connections::Connections;
use crate::chart::indirect::Indirect;
use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::{duration_ns, grouped, sig};
use crate::plot::{Axis, Legend, Line, lines};
use crate::table::{Cell, Table};
use crate::theme::model_color;

/// The data of chart 11.
#[derive(Debug, Clone, PartialEq)]
pub struct Slowdown {
    /// Measured curves.
    pub indirect: Indirect,
    /// `talk-apache-vs-nginx` as connections grow (chart 3's runs), or why it is missing.
    pub connections: Result<Connections, String>,
}

impl Slowdown {
    /// The largest and smallest measured cost per switch in the 64 KiB ring, as
    /// `(threads, ns)` at the fewest and at the most threads.
    fn ring_span(&self) -> Option<((u64, f64), (u64, f64))> {
        let mut pts = self.indirect.runnable_64kib.clone();
        pts.sort_by_key(|p| p.0);
        Some((*pts.first()?, *pts.last()?))
    }

    /// Throughput of `model` at the fewest and the most connections: `(conns, rps)` pairs.
    fn throughput_span(&self, model: ModelKind) -> Option<((f64, f64), (f64, f64))> {
        let c = self.connections.as_ref().ok()?;
        let label = c.points.iter().find(|p| p.model == model)?.label.clone();
        let mut pts: Vec<(f64, f64)> = c
            .points
            .iter()
            .filter(|p| p.label == label)
            .map(|p| (p.connections, p.throughput_rps))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some((*pts.first()?, *pts.last()?))
    }
}

impl Chart for Slowdown {
    fn stem(&self) -> &'static str {
        "11-slowdown"
    }

    fn title(&self) -> String {
        match self.ring_span() {
            Some(((n0, a), (n1, b))) if a > 0.0 && b > a => format!(
                "A switch costs {}x more with {} runnable threads than with {} when each touches 64 KiB",
                sig(b / a, 2),
                grouped(n1 as f64),
                grouped(n0 as f64)
            ),
            _ => {
                "Why threads slow down: what a switch costs as working sets and threads grow".into()
            }
        }
    }

    fn subtitle(&self) -> String {
        "Dots: measured · dashed: sim's cache model · right: simulated talk-apache-vs-nginx".into()
    }

    fn caption(&self) -> String {
        let mut out = format!(
            "Left and middle: the extra time per switch of threads on one core, from {}. {}",
            self.indirect.source,
            self.indirect.verdict()
        );
        if let Some(((n0, a), (n1, b))) = self.ring_span() {
            out.push_str(&format!(
                " In a ring of threads that each walk 64 KiB, a switch costs {} at {} threads and {} at {}.",
                duration_ns(a),
                grouped(n0 as f64),
                duration_ns(b),
                grouped(n1 as f64)
            ));
        }
        out.push(' ');
        out.push_str(&self.indirect.fit());
        match (
            self.throughput_span(ModelKind::ThreadPerRequest),
            self.throughput_span(ModelKind::Cooperative),
        ) {
            (Some(((c0, t0), (c1, t1))), Some((_, (_, e1)))) => {
                out.push_str(&format!(
                    " Right: in talk-apache-vs-nginx, with the same cache model, the thread server goes from \
                     {} requests/s at {} connection(s) to {} at {} (event loop: {}).",
                    grouped(t0),
                    grouped(c0),
                    grouped(t1),
                    grouped(c1),
                    grouped(e1)
                ));
                if let Ok(c) = &self.connections {
                    out.push_str(&c.split_sentence());
                }
            }
            _ => out.push_str(&format!(
                " Right: the simulated throughput is missing ({}).",
                self.connections
                    .as_ref()
                    .err()
                    .map_or("no thread or event server", |e| e)
            )),
        }
        out
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&["panel", "series", "x", "y", "x_unit", "y_unit"]);
        let mut push = |panel: &str, series: &str, x: f64, y: f64, xu: &str, yu: &str| {
            t.push(vec![
                panel.into(),
                series.into(),
                x.into(),
                y.into(),
                xu.into(),
                yu.into(),
            ])
        };
        let ind = &self.indirect;
        for (series, pts) in [
            ("random order", &ind.random),
            ("sequential order", &ind.sequential),
        ] {
            for &(w, ns) in pts.iter() {
                push(
                    "working set",
                    series,
                    w as f64,
                    ns,
                    "bytes",
                    "ns_per_switch",
                );
            }
        }
        for &(w, ns) in &ind.model_random {
            push(
                "working set",
                "model, random order",
                w as f64,
                ns,
                "bytes",
                "ns_per_switch",
            );
        }
        for (series, pts) in [
            ("nothing walked", &ind.runnable),
            ("64 KiB walked each", &ind.runnable_64kib),
            ("model, 64 KiB walked each", &ind.model_runnable_64kib),
        ] {
            for &(n, ns) in pts.iter() {
                push(
                    "runnable threads",
                    series,
                    n as f64,
                    ns,
                    "threads",
                    "ns_per_switch",
                );
            }
        }
        if let Ok(c) = &self.connections {
            for p in &c.points {
                push(
                    "simulated throughput",
                    &p.label,
                    p.connections,
                    p.throughput_rps,
                    "connections",
                    "requests_per_s",
                );
            }
        }
        if t.rows.is_empty() {
            t.push(vec![Cell::Missing; 6]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let third = area.dim_in_pixel().0 / 3;
        let (left, rest) = area.split_horizontally(third);
        let (middle, right) = rest.split_horizontally(third);
        self.indirect
            .draw_working_set(&left, "Switch cost vs working set", true)?;
        self.indirect
            .draw_runnable(&middle, "Switch cost vs runnable threads")?;
        match &self.connections {
            Ok(c) => {
                let series: Vec<Line> = distinct(&c.points, |p| p.label.as_str())
                    .into_iter()
                    .map(|label| {
                        let mine: Vec<_> = c.points.iter().filter(|p| p.label == label).collect();
                        Line {
                            label: label.to_string(),
                            color: model_color(mine[0].model),
                            points: mine
                                .iter()
                                .map(|p| (p.connections, p.throughput_rps))
                                .collect(),
                            dashed: mine[0].model == ModelKind::ThreadPerRequest
                                && c.points
                                    .iter()
                                    .take_while(|p| p.label != label)
                                    .any(|p| p.model == mine[0].model),
                        }
                    })
                    .collect();
                lines(
                    &right,
                    "Simulated: talk-apache-vs-nginx",
                    &Axis::log("concurrent connections"),
                    &Axis::log("requests per second (log)"),
                    &series,
                    Some(Legend::UpperLeft),
                )
            }
            Err(_) => Ok(()),
        }
    }
}
