//! Chart 3: threads vs event workers as concurrent connections grow (`talk-apache-vs-nginx`):
//! throughput and memory.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::sig;

const MIB: f64 = 1024.0 * 1024.0;
use crate::plot::{Axis, Legend, Line, lines};
use crate::table::Table;
use crate::theme::model_color;

/// One simulated run at one connection count.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnPoint {
    /// Server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// Concurrent keep-alive connections.
    pub connections: f64,
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// Peak resident memory, bytes.
    pub peak_memory_bytes: f64,
}

/// The data of chart 3.
#[derive(Debug, Clone, PartialEq)]
pub struct Connections {
    /// Runs.
    pub points: Vec<ConnPoint>,
}

impl Connections {
    fn series(&self, y: impl Fn(&ConnPoint) -> f64) -> Vec<Line> {
        distinct(&self.points, |p| p.label.as_str())
            .into_iter()
            .map(|label| {
                let mine: Vec<&ConnPoint> =
                    self.points.iter().filter(|p| p.label == label).collect();
                // Colour says the model; a second server of the same model (Apache unbounded
                // vs prefork) is told apart by a dashed line.
                let earlier_same_model = self
                    .points
                    .iter()
                    .take_while(|p| p.label != label)
                    .any(|p| p.model == mine[0].model);
                Line {
                    label: label.to_string(),
                    color: model_color(mine[0].model),
                    points: mine.iter().map(|p| (p.connections, y(p))).collect(),
                    dashed: earlier_same_model,
                }
            })
            .collect()
    }

    /// The points of `model` at the largest connection count.
    fn at_most(&self, model: ModelKind) -> Vec<&ConnPoint> {
        let most = self
            .points
            .iter()
            .map(|p| p.connections)
            .fold(0.0, f64::max);
        self.points
            .iter()
            .filter(|p| p.model == model && p.connections == most)
            .collect()
    }
}

impl Chart for Connections {
    fn stem(&self) -> &'static str {
        "03-connections"
    }

    fn title(&self) -> String {
        let threads = self.at_most(ModelKind::ThreadPerRequest);
        let events = self.at_most(ModelKind::Cooperative);
        let (Some(e), false) = (events.first(), threads.is_empty()) else {
            return "Threads vs event workers as connections grow".into();
        };
        // The two ways thread-per-connection loses: memory without a cap, throughput with one.
        let memory = threads
            .iter()
            .map(|t| t.peak_memory_bytes)
            .fold(0.0, f64::max);
        let served = threads
            .iter()
            .map(|t| t.throughput_rps)
            .fold(f64::MAX, f64::min);
        if e.peak_memory_bytes <= 0.0 || served <= 0.0 {
            return "Threads vs event workers as connections grow".into();
        }
        format!(
            "At {} connections threads need {}x the memory, or with a worker cap serve {}x fewer requests",
            crate::number::grouped(e.connections),
            sig(memory / e.peak_memory_bytes, 2),
            sig(e.throughput_rps / served, 2)
        )
    }

    fn subtitle(&self) -> String {
        "talk-apache-vs-nginx: concurrent keep-alive connections, thread/process per connection vs event workers (simulated)".into()
    }

    fn caption(&self) -> String {
        "Every idle keep-alive connection holds a thread (its stack and kernel state) in a thread-per-connection server; an event worker holds a few hundred bytes. Capping the threads (Apache prefork's 256 workers, dashed) caps the memory but leaves workers waiting in idle connections' think time, so throughput stops growing.".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "label",
            "model",
            "connections",
            "throughput_rps",
            "peak_memory_bytes",
        ]);
        for p in &self.points {
            t.push(vec![
                p.label.as_str().into(),
                p.model.name().into(),
                p.connections.into(),
                p.throughput_rps.into(),
                p.peak_memory_bytes.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        lines(
            &left,
            "Throughput",
            &Axis::log("concurrent connections"),
            &Axis::log("requests per second (log)"),
            &self.series(|p| p.throughput_rps),
            Some(Legend::UpperLeft),
        )?;
        lines(
            &right,
            "Memory",
            &Axis::log("concurrent connections"),
            &Axis::log("peak resident memory (MiB)").fmt(|v| sig(v, 3)),
            &self.series(|p| p.peak_memory_bytes / MIB),
            Some(Legend::UpperLeft),
        )
    }
}
