//! Chart 8: scale up vs scale out — $/month and $ per million requests against cores, from the
//! talk's price table.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::config::ModelKind;

use crate::chart::{Chart, distinct};
use crate::error::ChartError;
use crate::number::sig;
use crate::plot::{Axis, Legend, Line, lines};
use crate::table::Table;
use crate::theme::{color, model_color};

/// What the cores cost per month, both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    /// Cores in all.
    pub cores: f64,
    /// One VM with that many cores (`None` where the table lists no such VM).
    pub one_vm_usd_month: Option<f64>,
    /// The same cores as several small VMs (plus what the table adds, such as a DB VM).
    pub many_vms_usd_month: Option<f64>,
}

/// A simulated cost per request.
#[derive(Debug, Clone, PartialEq)]
pub struct PerMillion {
    /// Server label.
    pub label: String,
    /// Its model.
    pub model: ModelKind,
    /// Cores.
    pub cores: f64,
    /// Dollars per million requests served at the run's throughput.
    pub usd_per_million_requests: f64,
}

/// The data of chart 8.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    /// The price table.
    pub prices: Vec<Price>,
    /// The sweep's cost per request.
    pub per_million: Vec<PerMillion>,
}

impl Chart for Pricing {
    fn stem(&self) -> &'static str {
        "08-pricing"
    }

    fn title(&self) -> String {
        let both = self
            .prices
            .iter()
            .filter(|p| p.one_vm_usd_month.is_some() && p.many_vms_usd_month.is_some())
            .max_by(|a, b| a.cores.total_cmp(&b.cores));
        match both {
            Some(p) => format!(
                "{} cores: ${}/month in one VM, ${}/month as small VMs",
                p.cores,
                sig(p.one_vm_usd_month.unwrap_or(0.0), 3),
                sig(p.many_vms_usd_month.unwrap_or(0.0), 3)
            ),
            None => "Scale up vs scale out".into(),
        }
    }

    fn subtitle(&self) -> String {
        "The talk's list prices: one VM of N cores vs N/4 VMs of 4 cores · right: simulated $ per million requests".into()
    }

    fn caption(&self) -> String {
        "Price per core rises with VM size in the talk's table, so a bigger box must also serve more per core to pay off. Where every model serves the whole offered load their $ per million requests coincide and the lines lie on top of each other (the data table lists each).".into()
    }

    fn table(&self) -> Table {
        let mut t = Table::new(&[
            "series",
            "model",
            "cores",
            "usd_per_month",
            "usd_per_million_requests",
        ]);
        for p in &self.prices {
            t.push(vec![
                "one VM".into(),
                "".into(),
                p.cores.into(),
                p.one_vm_usd_month.into(),
                crate::table::Cell::Missing,
            ]);
            t.push(vec![
                "small VMs".into(),
                "".into(),
                p.cores.into(),
                p.many_vms_usd_month.into(),
                crate::table::Cell::Missing,
            ]);
        }
        for c in &self.per_million {
            t.push(vec![
                c.label.as_str().into(),
                c.model.name().into(),
                c.cores.into(),
                crate::table::Cell::Missing,
                c.usd_per_million_requests.into(),
            ]);
        }
        t
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        let pick = |f: fn(&Price) -> Option<f64>| -> Vec<(f64, f64)> {
            self.prices
                .iter()
                .filter_map(|p| f(p).map(|v| (p.cores, v)))
                .collect()
        };
        let x = Axis::log("cores")
            .ticks(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
            .range(1.0, 64.0)
            .fmt(|v| sig(v, 2));
        lines(
            &left,
            "$ per month",
            &x,
            &Axis::linear("US$ per month").fmt(|v| format!("${}", sig(v, 3))),
            &[
                Line {
                    label: "one VM".into(),
                    color: color::VERMILLION,
                    points: pick(|p| p.one_vm_usd_month),
                    dashed: false,
                },
                Line {
                    label: "4-core VMs".into(),
                    color: color::BLUE,
                    points: pick(|p| p.many_vms_usd_month),
                    dashed: true,
                },
            ],
            Some(Legend::UpperLeft),
        )?;
        let series: Vec<Line> = distinct(&self.per_million, |c| c.label.as_str())
            .into_iter()
            .map(|label| {
                let mine: Vec<&PerMillion> = self
                    .per_million
                    .iter()
                    .filter(|c| c.label == label)
                    .collect();
                Line {
                    label: label.to_string(),
                    color: model_color(mine[0].model),
                    points: mine
                        .iter()
                        .map(|c| (c.cores, c.usd_per_million_requests))
                        .collect(),
                    // Several VMs dashed, one VM solid, in the model's colour.
                    dashed: label.ends_with("VMs"),
                }
            })
            .collect();
        lines(
            &right,
            "$ per million requests",
            &x,
            &Axis::log("US$ per million requests (log)").fmt(|v| format!("${}", sig(v, 2))),
            &series,
            Some(Legend::LowerRight),
        )
    }
}
