//! Where the charts' numbers come from: this machine's costs (`micro`) and the simulator's runs
//! (`sim`), turned into the plain data structs the charts draw.
//!
//! Every simulation goes through `sim`'s own scenario files and sweep, with this machine's
//! costs applied as a `--costs` file would be; nothing here models scheduling. Each chart's
//! gathering fails on its own (its reason goes on the page) so one missing input does not cost
//! the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sim::metric::Metric;
use sim::pricing::PriceTable;
use sim::scenario::{CostOverrides, Overrides, Scenario};
use sim::sweep::{Grid, SweepOptions, SweepRow, sweep};

use crate::chart::connections::{ConnPoint, Connections};
use crate::chart::cores::{Cores, CoresPoint};
use crate::chart::cpu::{Cpu, CpuPoint};
use crate::chart::fastapi::{Curve, FastApi, PublishedP95};
use crate::chart::pricing::{PerMillion, Price, Pricing};
use crate::chart::recipe::{Figures, Recipe, Stack};
use crate::chart::switches::{SwitchRow, Switches};
use crate::chart::websockets::{Holder, WebSockets};
use crate::error::ReportError;
use crate::progress::Progress;

pub mod indirect;
mod measurement;
mod testbed;
pub use measurement::{Measured, budget, costs, measure, usable};
pub use testbed::testbed;

/// The report's own what-if scenarios (charts 7 and 9), in `sim`'s scenario format.
const CPU_BOUND: &str = include_str!("../scenarios/what-if-cpu-bound.toml");
const IO_BOUND: &str = include_str!("../scenarios/what-if-io-bound.toml");
const CPU_SPLIT: &str = include_str!("../scenarios/cpu-split.toml");
/// Cores and CPU per request of `cpu-split.toml`, to turn offered load into a rate.
const CPU_SPLIT_CORES: f64 = 2.0;
const CPU_SPLIT_CPU_SECONDS: f64 = 150e-6;

/// Published figures (metric -> value) per server label.
type Published = Vec<(String, BTreeMap<Metric, f64>)>;

/// The simulator's side: the costs every run uses and how big the runs are.
#[derive(Debug, Clone)]
pub struct Sim {
    /// Costs applied to every scenario (a server's own cost keys still win).
    pub costs: CostOverrides,
    /// Where those costs came from (a file the user gave, or this run's `costs.toml`).
    pub costs_file: PathBuf,
    /// Smaller sweeps.
    pub quick: bool,
}

impl Sim {
    /// Writes the measured costs as `costs.toml` in `out` (the file `calibrate --out` would
    /// write) unless `given` names one, and reads it back the way `sim --costs` does.
    pub fn new(
        m: &Measured,
        given: Option<&Path>,
        out: &Path,
        quick: bool,
    ) -> Result<Sim, ReportError> {
        let costs_file = match given {
            Some(p) => p.to_path_buf(),
            None => {
                let p = out.join("costs.toml");
                std::fs::write(&p, usable(&m.calibration).to_costs_toml()).map_err(|error| {
                    ReportError::Io {
                        path: p.clone(),
                        error,
                    }
                })?;
                p
            }
        };
        let costs =
            CostOverrides::read_file(&costs_file).map_err(|e| ReportError::Costs(e.to_string()))?;
        Ok(Sim {
            costs,
            costs_file,
            quick,
        })
    }

    /// The costs as (name, value) for the page: every key of the simulator's cost table that
    /// `calibrate` measures (the others, like `process_memory`, belong to a scenario's servers,
    /// not to this machine).
    pub fn describe(&self) -> Vec<(String, String)> {
        let c = self.costs.apply(sim::config::Costs::default());
        sim::cost::KEYS
            .iter()
            .filter(|key| key.measured_by.is_some())
            .map(|key| {
                let value = key.get(&c) as f64;
                let text = match key.unit {
                    sim::cost::Unit::Duration => crate::number::duration_ns(value),
                    sim::cost::Unit::Size => crate::number::bytes(value),
                    sim::cost::Unit::Curve => match key.curve(&c) {
                        curve if curve.is_empty() => "none".to_string(),
                        curve => curve.to_toml(),
                    },
                    sim::cost::Unit::Bins => match key.bins(&c) {
                        bins if bins.is_empty() => "none".to_string(),
                        bins => format!(
                            "{:.0} a second, {:.2} % of a core",
                            bins.rate_per_s(),
                            bins.share() * 100.0
                        ),
                    },
                };
                (key.name.to_string(), text)
            })
            .collect()
    }

    fn overrides(&self, requests: Option<u64>) -> Overrides {
        Overrides {
            costs: self.costs,
            requests,
            ..Overrides::default()
        }
    }

    /// Runs `scenario` over `grid` with this machine's costs; `requests` shrinks each run.
    fn run(
        &self,
        scenario: &Scenario,
        grid: Grid,
        requests: Option<u64>,
        progress: &Progress,
    ) -> Result<Vec<SweepRow>, String> {
        let prices = scenario.pricing.clone().unwrap_or_else(PriceTable::talk);
        let opts = SweepOptions {
            overrides: self.overrides(requests),
            replications: 1,
            ..SweepOptions::default()
        };
        let mut done = 0usize;
        sweep(scenario, &grid, &prices, &opts, &mut |row: &SweepRow| {
            done += 1;
            progress.detail(&format!(
                "{}: {} on {} cores ({done} runs)",
                row.scenario, row.label, row.cores
            ));
        })
        .map_err(|e| e.to_string())
    }

    /// A built-in scenario of `sim`, with its published figures per server label.
    fn builtin(&self, name: &str) -> Result<(Scenario, Published), String> {
        let scenario = Scenario::load(name).map_err(|e| e.to_string())?;
        let published = scenario
            .servers()
            .map(|d| (d.config.server.label.clone(), d.published.clone()))
            .collect();
        Ok((scenario, published))
    }

    /// Requests per run for the report's own sweeps.
    fn sweep_requests(&self) -> Option<u64> {
        self.quick.then_some(8_000)
    }
}

fn published_of<'a>(
    published: &'a [(String, BTreeMap<Metric, f64>)],
    label: &str,
) -> Option<&'a BTreeMap<Metric, f64>> {
    published.iter().find(|(l, _)| l == label).map(|(_, p)| p)
}

/// Chart 2: `talk-count-switches`, whose servers run on 1 and on 2 cores.
pub fn switches(sim: &Sim, progress: &Progress) -> Result<Switches, String> {
    // The scenario gives each server its own core count (1 and 2): run it as written.
    let (scenario, _) = sim.builtin("talk-count-switches")?;
    let mut rows: Vec<SwitchRow> = sim
        .run(&scenario, Grid::default(), None, progress)?
        .iter()
        .map(|r| SwitchRow {
            label: r.label.clone(),
            cores: r.cores,
            switches_per_request: r.context_switches_per_request,
            mean_ms: r.latency_ms_mean,
            p99_ms: r.latency_ms_p99,
        })
        .collect();
    rows.sort_by_key(|r| r.cores);
    Ok(Switches { rows })
}

/// Chart 3: `talk-apache-vs-nginx` as concurrent connections grow (a closed loop's clients are
/// its connections; a scenario of another load kind runs as written).
pub fn connections(sim: &Sim, progress: &Progress) -> Result<Connections, String> {
    let (scenario, _) = sim.builtin("talk-apache-vs-nginx")?;
    let grid = match scenario.file_load().arrivals {
        sim::config::Arrivals::Closed { .. } => Grid {
            concurrency: if sim.quick {
                vec![1, 100, 10_000]
            } else {
                vec![1, 10, 100, 1_000, 10_000]
            },
            ..Grid::default()
        },
        _ => Grid::default(),
    };
    let rows = sim.run(&scenario, grid, None, progress)?;
    let mut points: Vec<ConnPoint> = rows
        .iter()
        .filter_map(|r| {
            Some(ConnPoint {
                label: r.label.clone(),
                model: r.model,
                connections: r.concurrency? as f64,
                throughput_rps: r.throughput_rps,
                peak_memory_bytes: r.peak_memory_bytes as f64,
                switching: r.switch_overhead,
                refill: r.cpu_refill,
            })
        })
        .collect();
    if points.is_empty() {
        return Err("talk-apache-vs-nginx reports no connection counts (needs a closed-loop or connections load)".into());
    }
    points.sort_by(|a, b| {
        a.label
            .cmp(&b.label)
            .then(a.connections.total_cmp(&b.connections))
    });
    Ok(Connections { points })
}

/// Chart 4: `fastapi-sleep` as written, with the write-up's p95s.
pub fn fastapi(sim: &Sim, progress: &Progress) -> Result<FastApi, String> {
    let (scenario, published) = sim.builtin("fastapi-sleep")?;
    let rows = sim.run(&scenario, Grid::default(), None, progress)?;
    let curves = rows
        .iter()
        .map(|r| Curve {
            label: r.label.clone(),
            model: r.model,
            percentiles: [
                (50.0, r.latency_ms_p50),
                (90.0, r.latency_ms_p90),
                (95.0, r.latency_ms_p95),
                (99.0, r.latency_ms_p99),
                (99.9, r.latency_ms_p999),
                (100.0, r.latency_ms_max),
            ]
            .into_iter()
            // A server that completed nothing has no percentiles (NaN, `null` in sim's JSON).
            .filter(|(_, ms)| ms.is_finite())
            .collect(),
        })
        .collect();
    let published = rows
        .iter()
        .filter_map(|r| {
            let p95 = *published_of(&published, &r.label)?.get(&Metric::P95Ms)?;
            Some(PublishedP95 {
                label: r.label.clone(),
                p95_ms: p95,
                // W2 gives the `def` endpoint's p95 only as "above 300 ms": a bound, not a value.
                at_least: (p95 - 300.0).abs() < 1e-9,
            })
        })
        .collect();
    Ok(FastApi { curves, published })
}

/// Chart 5: `recipe-api` as written, published beside simulated.
pub fn recipe(sim: &Sim, progress: &Progress) -> Result<Recipe, String> {
    let (scenario, published) = sim.builtin("recipe-api")?;
    let rows = sim.run(&scenario, Grid::default(), None, progress)?;
    let stacks = rows
        .iter()
        .map(|r| {
            let p = published_of(&published, &r.label);
            let get = |k: Metric| p.and_then(|m| m.get(&k).copied());
            Stack {
                label: r.label.clone(),
                published: Figures {
                    rps: get(Metric::Rps),
                    p95_ms: get(Metric::P95Ms),
                    cpu_percent: get(Metric::CpuPercent),
                    memory_mb: get(Metric::RssMb),
                },
                // The same definitions as `sim replay` (see sim::replay::metric).
                simulated: Figures {
                    rps: Some(r.throughput_rps),
                    p95_ms: Some(r.latency_ms_p95).filter(|ms| ms.is_finite()),
                    cpu_percent: Some(r.cpu_utilization * r.cores as f64 * 100.0),
                    memory_mb: Some(r.peak_memory_bytes as f64 / 1e6),
                },
            }
        })
        .collect();
    Ok(Recipe { stacks })
}

/// Chart 6: `websocket-100k` as written.
pub fn websockets(sim: &Sim, progress: &Progress) -> Result<WebSockets, String> {
    let (scenario, _) = sim.builtin("websocket-100k")?;
    let rows = sim.run(&scenario, Grid::default(), None, progress)?;
    let holders = rows
        .iter()
        .map(|r| Holder {
            label: r.label.clone(),
            model: r.model,
            connections: r.concurrency.unwrap_or(0) as f64,
            peak_memory_bytes: r.peak_memory_bytes as f64,
            broadcast_p50_ms: r.latency_ms_p50,
            broadcast_p99_ms: r.latency_ms_p99,
        })
        .collect();
    Ok(WebSockets { holders })
}

fn own(name: &str, text: &str) -> Result<Scenario, String> {
    Scenario::parse(text, Path::new(&format!("builtin:{name}"))).map_err(|e| e.to_string())
}

/// Chart 7: the report's CPU-bound and I/O-bound scenarios on 1 to 64 cores.
pub fn cores(sim: &Sim, progress: &Progress) -> Result<Cores, String> {
    let grid = Grid {
        cores: if sim.quick {
            vec![1, 4, 16, 64]
        } else {
            vec![1, 2, 4, 8, 16, 32, 64]
        },
        ..Grid::default()
    };
    let mut points = Vec::new();
    for (workload, name, text) in [
        ("I/O-bound", "what-if-io-bound", IO_BOUND),
        ("CPU-bound", "what-if-cpu-bound", CPU_BOUND),
    ] {
        let scenario = own(name, text)?;
        for r in sim.run(&scenario, grid.clone(), sim.sweep_requests(), progress)? {
            points.push(CoresPoint {
                workload: workload.into(),
                label: r.label.clone(),
                model: r.model,
                cores: r.cores as f64,
                throughput_rps: r.throughput_rps,
                p99_ms: r.latency_ms_p99,
            });
        }
    }
    Ok(Cores { points })
}

/// Chart 8: the talk's price table, and `scale-up-vs-out` priced over its VM sizes.
pub fn pricing(sim: &Sim, progress: &Progress) -> Result<Pricing, String> {
    let (scenario, _) = sim.builtin("scale-up-vs-out")?;
    let table = scenario.pricing.clone().unwrap_or_else(PriceTable::talk);
    let small = table.usd_per_month(4);
    let prices = table
        .rows()
        .iter()
        .map(|&(cores, usd)| Price {
            cores: cores as f64,
            one_vm_usd_month: Some(usd),
            many_vms_usd_month: Some(if cores <= 4 {
                usd
            } else {
                cores.div_ceil(4) as f64 * small
            }),
        })
        .collect();
    let grid = Grid {
        cores: table.rows().iter().map(|r| r.0).collect(),
        ..Grid::default()
    };
    // The sweep sets the cores of each VM; a server of several VMs keeps its VM count, so its
    // points are that many VMs of each size. Labels name the layout the point actually has.
    let per_million = sim
        .run(&scenario, grid, sim.sweep_requests(), progress)?
        .iter()
        .filter(|r| r.cores * r.machines <= 64)
        .filter_map(|r| {
            let kind = r.label.split(',').next().unwrap_or(&r.label).trim();
            let layout = if r.machines > 1 {
                format!("{kind}, {} VMs", r.machines)
            } else {
                format!("{kind}, 1 VM")
            };
            Some(PerMillion {
                label: layout,
                model: r.model,
                cores: (r.cores * r.machines) as f64,
                usd_per_million_requests: r.usd_per_million_requests?,
            })
        })
        .collect();
    Ok(Pricing {
        prices,
        per_million,
    })
}

/// Chart 9: the report's `cpu-split` scenario at rising fractions of its cores' capacity.
pub fn cpu(sim: &Sim, progress: &Progress) -> Result<Cpu, String> {
    let scenario = own("cpu-split", CPU_SPLIT)?;
    let loads: &[f64] = if sim.quick {
        &[0.3, 0.6, 0.9]
    } else {
        &[0.2, 0.4, 0.6, 0.8, 0.95]
    };
    let capacity = CPU_SPLIT_CORES / CPU_SPLIT_CPU_SECONDS;
    let grid = Grid {
        rates: loads.iter().map(|l| l * capacity).collect(),
        ..Grid::default()
    };
    let mut points: Vec<CpuPoint> = sim
        .run(&scenario, grid, sim.sweep_requests(), progress)?
        .iter()
        .map(|r| CpuPoint {
            label: r.label.clone(),
            model: r.model,
            load: r.rate_rps.unwrap_or(0.0) / capacity,
            useful: r.cpu_useful,
            switching: r.switch_overhead,
            idle: r.cpu_idle,
        })
        .collect();
    let order: Vec<String> = crate::chart::distinct(&points, |p| p.label.as_str())
        .iter()
        .map(|s| s.to_string())
        .collect();
    points.sort_by(|a, b| {
        let ia = order.iter().position(|l| *l == a.label);
        let ib = order.iter().position(|l| *l == b.label);
        ia.cmp(&ib).then(a.load.total_cmp(&b.load))
    });
    Ok(Cpu { points })
}

#[cfg(test)]
mod tests {
    use micro::calibration::Calibration;

    use super::*;

    #[test]
    fn the_reports_own_scenarios_parse() {
        for (name, text) in [
            ("what-if-cpu-bound", CPU_BOUND),
            ("what-if-io-bound", IO_BOUND),
            ("cpu-split", CPU_SPLIT),
        ] {
            let s = own(name, text).unwrap();
            assert_eq!(s.servers().count(), 3, "{name}");
        }
    }

    #[test]
    fn chart_one_takes_every_measured_cost_and_says_what_is_missing() {
        let m = Measured {
            calibration: Calibration {
                add_ns: Some(0.3),
                thread_switch_same_core_ns: Some(1_400.0),
                task_switch_tokio_ns: Some(60.0),
                task_switch_may_ns: Some(30.0),
                cpu_model: "Test CPU".into(),
                cores: 2,
                kernel: "6.1".into(),
                ..Calibration::default()
            },
            source: "Criterion estimates in target/criterion".into(),
            notes: Vec::new(),
        };
        let c = costs(&m, None).unwrap();
        assert_eq!(c.add_ns, 0.3);
        assert_eq!(c.source, "Criterion");
        let ns = |label: &str| c.rows.iter().find(|r| r.label == label).unwrap().ns;
        assert_eq!(ns("thread switch, same core"), Some(1_400.0));
        assert_eq!(ns("task switch (tokio)"), Some(60.0));
        assert_eq!(ns("coroutine switch (may)"), Some(30.0));
        assert_eq!(ns("thread wake-up, cross core"), None);
        assert_eq!(m.machine(), "Test CPU, 2 cores, Linux 6.1");
        let no_add = Measured {
            calibration: Calibration::default(),
            ..m
        };
        assert!(costs(&no_add, None).is_err());
    }

    #[test]
    fn unusable_measurements_are_dropped_before_the_simulator_sees_them() {
        let c = Calibration {
            thread_switch_same_core_ns: Some(1_500.0),
            tokio_task_memory_bytes: Some(-797.0),
            thread_memory_bytes: Some(f64::NAN),
            ..Calibration::default()
        };
        let u = usable(&c);
        assert_eq!(u.thread_switch_same_core_ns, Some(1_500.0));
        assert_eq!(u.tokio_task_memory_bytes, None);
        assert_eq!(u.thread_memory_bytes, None);
        assert!(!u.to_costs_toml().contains("task_memory ="));
    }
}
