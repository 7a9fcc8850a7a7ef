//! Chart 7: what if more cores? Throughput and p99 against cores (1 to 64) per model, for an
//! I/O-bound and a CPU-bound workload — "Is our problem actually CPU-bound? Then why is our
//! solution more CPUs?"

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{Axis, Legend, Line, lines};
use crate::table::Table;
use crate::theme::model_color;

/// One simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct CoresPoint {
    /// Which workload ("I/O-bound", "CPU-bound").
    pub workload: String,
    /// Server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// Cores of the simulated machine.
    pub cores: f64,
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
}

/// The data of chart 7.
#[derive(Debug, Clone, PartialEq)]
pub struct Cores {
    /// Runs of both workloads.
    pub points: Vec<CoresPoint>,
}

/// Tick marks at the powers of two a reader expects for core counts.
const CORE_TICKS: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

impl Cores {
    fn series(&self, workload: &str, y: fn(&CoresPoint) -> f64) -> Vec<Line> {
        let mine: Vec<&CoresPoint> = self
            .points
            .iter()
            .filter(|p| p.workload == workload)
            .collect();
        let owned: Vec<CoresPoint> = mine.iter().map(|p| (*p).clone()).collect();
        distinct(&owned, |p| p.label.as_str())
            .into_iter()
            .map(|label| {
                let pts: Vec<&CoresPoint> =
                    mine.iter().copied().filter(|p| p.label == label).collect();
                Line {
                    label: label.to_string(),
                    color: model_color(pts[0].model),
                    points: pts.iter().map(|p| (p.cores, y(p))).collect(),
                    dashed: false,
                }
            })
            .collect()
    }

    /// Best throughput at the most cores over best throughput at the fewest, for `workload`.
    fn gain(&self, workload: &str) -> Option<f64> {
        let mine: Vec<&CoresPoint> = self
            .points
            .iter()
            .filter(|p| p.workload == workload)
            .collect();
        let lo = mine.iter().map(|p| p.cores).fold(f64::INFINITY, f64::min);
        let hi = mine
            .iter()
            .map(|p| p.cores)
            .fold(f64::NEG_INFINITY, f64::max);
        let best = |c: f64| {
            mine.iter()
                .filter(|p| p.cores == c)
                .map(|p| p.throughput_rps)
                .fold(0.0, f64::max)
        };
        (hi > lo && best(lo) > 0.0).then(|| best(hi) / best(lo))
    }
}

impl Chart for Cores {
    fn stem(&self) -> &'static str {
        "07-cores"
    }

    fn title(&self) -> String {
        let workloads = distinct(&self.points, |p| p.workload.as_str());
        let parts: Vec<String> = workloads
            .iter()
            .filter_map(|w| {
                self.gain(w)
                    .map(|g| format!("{w} throughput x{}", sig(g, 2)))
            })
            .collect();
        let hi = self.points.iter().map(|p| p.cores).fold(0.0, f64::max);
        if parts.is_empty() {
            "What if this box had more cores?".into()
        } else {
            format!("1 → {} cores: {}", hi, parts.join(", "))
        }
    }

    fn subtitle(&self) -> String {
        "The same offered load on 1 to 64 simulated cores: is the problem CPU-bound? then why is the solution more CPUs?".into()
    }

    fn caption(&self) -> String {
        "More cores raise the ceiling only for work that needs a core; requests that mostly wait on I/O were never short of CPU.".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "workload",
            "label",
            "model",
            "cores",
            "throughput_rps",
            "latency_p99_ms",
        ]);
        for p in &self.points {
            t.push(vec![
                p.workload.as_str().into(),
                p.label.as_str().into(),
                p.model.name().into(),
                p.cores.into(),
                p.throughput_rps.into(),
                p.p99_ms.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let workloads = distinct(&self.points, |p| p.workload.as_str());
        let rows = workloads.len().max(1);
        let panels = area.split_evenly((rows, 2));
        let x = Axis::log("cores")
            .ticks(CORE_TICKS.to_vec())
            .range(1.0, 64.0)
            .fmt(|v| sig(v, 2));
        for (i, w) in workloads.iter().enumerate() {
            lines(
                &panels[2 * i],
                &format!("{w}: throughput"),
                &x,
                &Axis::linear("requests per second"),
                &self.series(w, |p| p.throughput_rps),
                Some(Legend::LowerRight),
            )?;
            lines(
                &panels[2 * i + 1],
                &format!("{w}: p99 latency"),
                &x,
                &Axis::log("ms (log scale)").fmt(|v| sig(v, 3)),
                &self.series(w, |p| p.p99_ms),
                None,
            )?;
        }
        Ok(())
    }
}
