//! Chart 3: threads vs event workers as concurrent connections grow (`talk-apache-vs-nginx`):
//! throughput and memory.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::{grouped, sig};

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
    /// Share of core time switching (`switch_overhead`).
    pub switching: f64,
    /// Share of core time refilling caches after switches (`cpu.refill`).
    pub refill: f64,
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

    /// What switching and refilling cost the thread and event servers at the most connections,
    /// and whether the thread server's requests/s fell from their peak, as caption sentences.
    pub fn split_sentence(&self) -> String {
        let mut out = String::new();
        let share = |p: &ConnPoint| sig(100.0 * (p.switching + p.refill), 2);
        for p in self
            .at_most(ModelKind::ThreadPerRequest)
            .into_iter()
            .take(1)
        {
            let peak = self
                .points
                .iter()
                .filter(|q| q.label == p.label)
                .map(|q| q.throughput_rps)
                .fold(0.0, f64::max);
            out.push_str(&format!(
                " At {} connections {} spends {} % of core time switching and refilling caches \
                 ({} % refill)",
                grouped(p.connections),
                p.label,
                share(p),
                sig(100.0 * p.refill, 2)
            ));
            if let Some(e) = self.at_most(ModelKind::Cooperative).first() {
                out.push_str(&format!(", {} {} %", e.label, share(e)));
            }
            out.push('.');
            if p.throughput_rps < 0.9 * peak {
                out.push_str(&format!(
                    " Its requests/s fall from {} at their peak to {}.",
                    grouped(peak),
                    grouped(p.throughput_rps)
                ));
            } else {
                out.push_str(
                    " Its requests/s do not fall as connections grow: they stop at a lower \
                     ceiling. Each connection idles between requests, so the server saturates \
                     only after the others already overwrite the caches between two requests of \
                     one connection (from about L3 / working set connections); more connections \
                     then evict nothing more. With clients that do not idle (ab -c N) it \
                     saturates at as many connections as cores, and then falls until that point.",
                );
            }
        }
        out
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
        let mut out = "Every idle keep-alive connection holds a thread (its stack and kernel state) in a thread-per-connection server; an event worker holds a few hundred bytes. Capping the threads (Apache prefork's 256 workers, dashed) caps the memory but leaves workers waiting in idle connections' think time, so throughput stops growing. Each Apache child also touches its own 384 KiB of interpreter heap per request, which the others evict between two requests of a connection (right: switching + refill share of core time).".to_string();
        out.push_str(&self.split_sentence());
        out
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "label",
            "model",
            "connections",
            "throughput_rps",
            "peak_memory_bytes",
            "cpu_switching",
            "cpu_refill",
        ]);
        for p in &self.points {
            t.push(vec![
                p.label.as_str().into(),
                p.model.name().into(),
                p.connections.into(),
                p.throughput_rps.into(),
                p.peak_memory_bytes.into(),
                p.switching.into(),
                p.refill.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let third = area.dim_in_pixel().0 / 3;
        let (left, rest) = area.split_horizontally(third);
        let (middle, right) = rest.split_horizontally(third);
        lines(
            &left,
            "Throughput",
            &Axis::log("concurrent connections"),
            &Axis::log("requests per second (log)"),
            &self.series(|p| p.throughput_rps),
            Some(Legend::UpperLeft),
        )?;
        lines(
            &middle,
            "Memory",
            &Axis::log("concurrent connections"),
            &Axis::log("peak resident memory (MiB)").fmt(|v| sig(v, 3)),
            &self.series(|p| p.peak_memory_bytes / MIB),
            None,
        )?;
        lines(
            &right,
            "Switching + refill",
            &Axis::log("concurrent connections"),
            &Axis::linear("share of core time (%)").fmt(|v| sig(v, 3)),
            &self.series(|p| 100.0 * (p.switching + p.refill)),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str, model: ModelKind, connections: f64, rps: f64, refill: f64) -> ConnPoint {
        ConnPoint {
            label: label.into(),
            model,
            connections,
            throughput_rps: rps,
            peak_memory_bytes: 1e6,
            switching: 0.01,
            refill,
        }
    }

    #[test]
    fn the_caption_says_whether_the_thread_server_falls() {
        let events = |c| point("nginx", ModelKind::Cooperative, c, 18_000.0, 0.05);
        let flat = Connections {
            points: vec![
                point("apache", ModelKind::ThreadPerRequest, 4.0, 5_000.0, 0.1),
                point("apache", ModelKind::ThreadPerRequest, 256.0, 5_400.0, 0.7),
                events(4.0),
                events(256.0),
            ],
        };
        let text = flat.split_sentence();
        assert!(text.contains("do not fall"), "{text}");
        assert!(text.contains("71 % of core time"), "{text}");
        let falling = Connections {
            points: vec![
                point("apache", ModelKind::ThreadPerRequest, 4.0, 17_000.0, 0.1),
                point("apache", ModelKind::ThreadPerRequest, 256.0, 5_400.0, 0.7),
                events(4.0),
                events(256.0),
            ],
        };
        let text = falling.split_sentence();
        assert!(
            text.contains("fall from 17,000 at their peak to 5,400"),
            "{text}"
        );
    }
}
