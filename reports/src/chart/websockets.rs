//! Chart 6: 100K WebSockets (W4) — memory and broadcast delivery latency per model.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::Chart;
use crate::error::ChartError;
use crate::number::{bytes, grouped, sig};
use crate::plot::{Axis, Bars, Legend, bars};
use crate::table::Table;
use crate::theme::{color, model_color};

/// One server holding the connections.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    /// Server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// Connections held open.
    pub connections: f64,
    /// Peak resident memory, bytes.
    pub peak_memory_bytes: f64,
    /// Median delivery latency of the broadcast, ms.
    pub broadcast_p50_ms: f64,
    /// 99th-percentile delivery latency of the broadcast, ms.
    pub broadcast_p99_ms: f64,
}

/// The data of chart 6.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSockets {
    /// One entry per server.
    pub holders: Vec<Holder>,
}

impl Chart for WebSockets {
    fn stem(&self) -> &'static str {
        "06-websockets"
    }

    fn title(&self) -> String {
        let of = |m: ModelKind| self.holders.iter().find(|h| h.model == m);
        match (of(ModelKind::ThreadPerRequest), of(ModelKind::Cooperative)) {
            (Some(t), Some(c)) => format!(
                "{} idle connections: threads need {}, event-loop tasks {}",
                grouped(t.connections),
                bytes(t.peak_memory_bytes),
                bytes(c.peak_memory_bytes)
            ),
            _ => "Memory and broadcast latency of 100K WebSockets".into(),
        }
    }

    fn subtitle(&self) -> String {
        "websocket-100k: mostly idle connections, then one broadcast to all (simulated)".into()
    }

    fn caption(&self) -> String {
        "A thread per connection pays a stack and kernel state for every idle user; tasks pay a few hundred bytes. Delivery latency is the time for the broadcast to reach each connection.".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "label",
            "model",
            "connections",
            "peak_memory_bytes",
            "broadcast_p50_ms",
            "broadcast_p99_ms",
        ]);
        for h in &self.holders {
            t.push(vec![
                h.label.as_str().into(),
                h.model.name().into(),
                h.connections.into(),
                h.peak_memory_bytes.into(),
                h.broadcast_p50_ms.into(),
                h.broadcast_p99_ms.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let cats: Vec<String> = self.holders.iter().map(|h| h.label.clone()).collect();
        let colors = self.holders.iter().map(|h| model_color(h.model)).collect();
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
        bars(
            &left,
            "Peak memory",
            &cats,
            &Axis::linear("GiB").fmt(|v| sig(v, 3)),
            &[Bars {
                label: "memory".into(),
                color: color::BLUE,
                values: self
                    .holders
                    .iter()
                    .map(|h| Some(h.peak_memory_bytes / GIB))
                    .collect(),
                colors,
            }],
            |v| bytes(v * GIB),
            Legend::UpperRight,
        )?;
        bars(
            &right,
            "Broadcast delivery latency",
            &cats,
            &Axis::linear("ms"),
            &[
                Bars {
                    label: "p50".into(),
                    color: color::SKY_BLUE,
                    values: self
                        .holders
                        .iter()
                        .map(|h| Some(h.broadcast_p50_ms))
                        .collect(),
                    colors: Vec::new(),
                },
                Bars {
                    label: "p99".into(),
                    color: color::ORANGE,
                    values: self
                        .holders
                        .iter()
                        .map(|h| Some(h.broadcast_p99_ms))
                        .collect(),
                    colors: Vec::new(),
                },
            ],
            |v| sig(v, 3),
            Legend::UpperRight,
        )
    }
}
