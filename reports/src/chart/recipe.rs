//! Chart 5: the recipe API (W3) — RPS, p95 latency, CPU and memory of the three stacks,
//! published beside simulated.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::chart::Chart;
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{Axis, Bars, Legend, bars};
use crate::table::Table;
use crate::theme::color;

/// The four figures the write-up published per stack; `None` where it gave none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Requests per second.
    pub rps: Option<f64>,
    /// 95th-percentile latency, ms.
    pub p95_ms: Option<f64>,
    /// Peak CPU in percent of one core (160 = 1.6 cores busy).
    pub cpu_percent: Option<f64>,
    /// Peak resident memory, MB (10^6 bytes, as published).
    pub memory_mb: Option<f64>,
}

/// One stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Its label.
    pub label: String,
    /// The write-up's figures.
    pub published: Figures,
    /// The simulator's.
    pub simulated: Figures,
}

/// A panel: its title, unit and which figure it shows.
type Metric = (&'static str, &'static str, fn(&Figures) -> Option<f64>);

/// The data of chart 5.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// The stacks, in the write-up's order.
    pub stacks: Vec<Stack>,
}

impl Chart for Recipe {
    fn stem(&self) -> &'static str {
        "05-recipe"
    }

    fn title(&self) -> String {
        let rps = |s: &Stack, f: fn(&Stack) -> &Figures| f(s).rps.unwrap_or(0.0);
        let best = self
            .stacks
            .iter()
            .max_by(|a, b| rps(a, |s| &s.simulated).total_cmp(&rps(b, |s| &s.simulated)));
        let worst = self
            .stacks
            .iter()
            .min_by(|a, b| rps(a, |s| &s.simulated).total_cmp(&rps(b, |s| &s.simulated)));
        match (best, worst) {
            (Some(b), Some(w)) if rps(w, |s| &s.simulated) > 0.0 && b.label != w.label => {
                let sim = rps(b, |s| &s.simulated) / rps(w, |s| &s.simulated);
                let publ = match (b.published.rps, w.published.rps) {
                    (Some(x), Some(y)) if y > 0.0 => format!(" (published {}x)", sig(x / y, 2)),
                    _ => String::new(),
                };
                format!(
                    "{} serves {}x the requests of {}{publ}",
                    b.label,
                    sig(sim, 2),
                    w.label
                )
            }
            _ => "Recipe API: three stacks, published vs simulated".into(),
        }
    }

    fn subtitle(&self) -> String {
        "recipe-api: oha -c 50 for 60 s → haproxy maxconn 25 → 2 vCPU server → pgbouncer → PostgreSQL · grey: published, blue: simulated".into()
    }

    fn caption(&self) -> String {
        "The write-up's table beside the simulator's replay of the same path; where they differ by more than 15 % the scenario file says which assumption is missing.".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "stack",
            "source",
            "rps",
            "p95_ms",
            "cpu_percent",
            "memory_mb",
        ]);
        for s in &self.stacks {
            for (source, f) in [("published", &s.published), ("simulated", &s.simulated)] {
                t.push(vec![
                    s.label.as_str().into(),
                    source.into(),
                    f.rps.into(),
                    f.p95_ms.into(),
                    f.cpu_percent.into(),
                    f.memory_mb.into(),
                ]);
            }
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let cats: Vec<String> = self.stacks.iter().map(|s| s.label.clone()).collect();
        let panels = area.split_evenly((2, 2));
        let metrics: [Metric; 4] = [
            ("Throughput", "requests per second", |f| f.rps),
            ("p95 latency", "ms", |f| f.p95_ms),
            ("Peak CPU", "% of one core", |f| f.cpu_percent),
            ("Peak memory", "MB", |f| f.memory_mb),
        ];
        for (panel, (title, unit, get)) in panels.iter().zip(metrics) {
            bars(
                panel,
                title,
                &cats,
                &Axis::linear(unit),
                &[
                    Bars {
                        label: "published".into(),
                        color: color::GREY,
                        values: self.stacks.iter().map(|s| get(&s.published)).collect(),
                        colors: Vec::new(),
                    },
                    Bars {
                        label: "simulated".into(),
                        color: color::BLUE,
                        values: self.stacks.iter().map(|s| get(&s.simulated)).collect(),
                        colors: Vec::new(),
                    },
                ],
                |v| sig(v, 3),
                Legend::UpperRight,
            )?;
        }
        Ok(())
    }
}
