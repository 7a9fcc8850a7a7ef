//! Chart 2: counting context switches — `talk-count-switches`, an "add 2 plus 2" endpoint
//! behind a proxy process, on 1 core and on 2 cores.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::Chart;
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{Axis, Bars, Legend, bars};
use crate::table::Table;
use crate::theme::color;

/// One simulated run.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchRow {
    /// Server label.
    pub label: String,
    /// Cores of the simulated machine.
    pub cores: u64,
    /// OS context switches per completed request.
    pub switches_per_request: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
    /// 99th-percentile latency, ms.
    pub p99_ms: f64,
}

/// The data of chart 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Switches {
    /// Runs, in the order to draw them (fewest cores first).
    pub rows: Vec<SwitchRow>,
}

impl Switches {
    fn categories(&self) -> Vec<String> {
        // Servers named for their layout ("1 core", "2 cores") label themselves.
        let labels = crate::chart::distinct(&self.rows, |r| r.label.as_str());
        if labels.len() == self.rows.len() {
            return self.rows.iter().map(|r| r.label.clone()).collect();
        }
        self.rows
            .iter()
            .map(|r| {
                let cores = if r.cores == 1 {
                    "1 core".to_string()
                } else {
                    format!("{} cores", r.cores)
                };
                if labels.len() > 1 {
                    format!("{}, {cores}", r.label)
                } else {
                    cores
                }
            })
            .collect()
    }
}

impl Chart for Switches {
    fn stem(&self) -> &'static str {
        "02-switches"
    }

    fn title(&self) -> String {
        let few = self.rows.iter().min_by_key(|r| r.cores);
        let many = self.rows.iter().max_by_key(|r| r.cores);
        match (few, many) {
            (Some(a), Some(b)) if a.cores != b.cores => format!(
                "On {} core{} a request costs {} context switches; on {} cores, {}",
                a.cores,
                if a.cores == 1 { "" } else { "s" },
                sig(a.switches_per_request, 2),
                b.cores,
                sig(b.switches_per_request, 2)
            ),
            _ => "Context switches per request".into(),
        }
    }

    fn subtitle(&self) -> String {
        "talk-count-switches: an \"add 2 plus 2\" endpoint behind a proxy process, simulated with this machine's switch costs".into()
    }

    fn caption(&self) -> String {
        "When proxy and app share one core every request hands the core over twice; with a core each they wake each other across cores instead, which is not free either (see the latency panel).".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "label",
            "cores",
            "context_switches_per_request",
            "latency_mean_us",
            "latency_p99_us",
        ]);
        for r in &self.rows {
            t.push(vec![
                r.label.as_str().into(),
                r.cores.into(),
                r.switches_per_request.into(),
                (r.mean_ms * 1e3).into(),
                (r.p99_ms * 1e3).into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let cats = self.categories();
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        bars(
            &left,
            "Context switches per request",
            &cats,
            &Axis::linear("switches per request").fmt(|v| sig(v, 2)),
            &[Bars {
                label: "switches".into(),
                color: color::VERMILLION,
                values: self
                    .rows
                    .iter()
                    .map(|r| Some(r.switches_per_request))
                    .collect(),
                colors: Vec::new(),
            }],
            |v| sig(v, 2),
            Legend::UpperRight,
        )?;
        bars(
            &right,
            "Latency",
            &cats,
            &Axis::linear("latency (µs)"),
            &[
                Bars {
                    label: "mean".into(),
                    color: color::BLUE,
                    values: self.rows.iter().map(|r| Some(r.mean_ms * 1e3)).collect(),
                    colors: Vec::new(),
                },
                Bars {
                    label: "p99".into(),
                    color: color::ORANGE,
                    values: self.rows.iter().map(|r| Some(r.p99_ms * 1e3)).collect(),
                    colors: Vec::new(),
                },
            ],
            |v| format!("{} µs", sig(v, 3)),
            Legend::UpperRight,
        )
    }
}
