//! The what-if: every server of a scenario over a grid of core counts and offered loads, each
//! point priced, run in parallel with rayon.
//!
//! The grid is enumerated in a fixed order (server, then load, then cores), so `--shard K/N`
//! (point i belongs to shard i mod N + 1) gives every machine of a batch job the same split,
//! and interleaving spreads cheap and expensive points evenly over the shards.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::mpsc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{ModelKind, RunConfig};
use crate::error::SimError;
use crate::pricing::PriceTable;
use crate::report::Report;
use crate::scenario::{Deployment, Overrides, Scenario, ScenarioError};

mod shard;
mod slo;

pub use shard::Shard;
pub use slo::{Slo, SloMetric};

/// The grid of a sweep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// Cores per machine; empty = the scenario's own.
    pub cores: Vec<u64>,
    /// Open-loop rates (requests per second); needs an open-loop scenario.
    pub rates: Vec<f64>,
    /// Closed-loop client counts; needs a closed-loop scenario.
    pub concurrency: Vec<u64>,
    /// Model names or server labels to keep; empty = all.
    pub models: Vec<String>,
}

/// How a sweep runs, besides its grid.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    /// Seed, requests, costs and event limit for every point (the grid sets cores and load).
    pub overrides: Overrides,
    /// Independent replications per point (at least 1).
    pub replications: u64,
    /// Run only this share of the grid.
    pub shard: Option<Shard>,
    /// Mark rows that meet this objective.
    pub slo: Option<Slo>,
    /// Keys ([`SweepRow::key`]) of rows already done; their points are skipped.
    pub done: BTreeSet<String>,
}

/// One finished point of a sweep (or one server of `sim run --csv`), flattened for CSV. With
/// `machines` > 1, counts, throughput and memory are the whole deployment's (one simulated
/// machine's times `machines`); latencies and fractions are one machine's, which is every
/// machine's because the load is split evenly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// Scenario name.
    pub scenario: String,
    /// Server label.
    pub label: String,
    /// Model name.
    pub model: ModelKind,
    /// Cores per machine.
    pub cores: u64,
    /// Identical machines sharing the load.
    pub machines: u64,
    /// Seed of the first replication.
    pub seed: u64,
    /// Replications combined.
    pub replications: u64,
    /// `open`, `closed`, `trace` or `connections`.
    pub load_kind: String,
    /// Offered open-loop rate over all machines, requests per second.
    pub rate_rps: Option<f64>,
    /// Offered closed-loop clients (or connections) over all machines.
    pub concurrency: Option<u64>,
    /// Requests completed after the warm-up.
    pub completed: u64,
    /// Requests dropped after the warm-up.
    pub dropped: u64,
    /// Completed requests per second.
    pub throughput_rps: f64,
    /// Mean latency, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_mean: f64,
    /// Lower end of the mean's 95 % confidence interval, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_mean_ci95_low: f64,
    /// Upper end of the mean's 95 % confidence interval, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_mean_ci95_high: f64,
    /// Median latency, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_p50: f64,
    /// 90th percentile, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_p90: f64,
    /// 95th percentile, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_p95: f64,
    /// 99th percentile, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_p99: f64,
    /// 99.9th percentile, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_p999: f64,
    /// Largest latency, ms.
    #[serde(with = "crate::report::nullable")]
    pub latency_ms_max: f64,
    /// Busy fraction of all cores, 0..1.
    pub cpu_utilization: f64,
    /// Fraction of core time spent switching.
    pub switch_overhead: f64,
    /// Fraction of core time running request steps.
    pub cpu_useful: f64,
    /// Fraction of core time idle.
    pub cpu_idle: f64,
    /// Fraction of core time refilling caches after switches (`cpu.refill`).
    pub cpu_refill: f64,
    /// OS context switches.
    pub context_switches: u64,
    /// Task or coroutine switches.
    pub task_switches: u64,
    /// Context switches per completed request.
    pub context_switches_per_request: f64,
    /// Task switches per completed request.
    pub task_switches_per_request: f64,
    /// Largest resident memory, bytes.
    pub peak_memory_bytes: u64,
    /// Time-averaged resident memory, bytes.
    pub mean_memory_bytes: f64,
    /// Largest number of OS threads at once.
    pub peak_threads: u64,
    /// Largest number of tasks at once.
    pub peak_tasks: u64,
    /// Simulated seconds in the statistics.
    pub simulated_seconds: f64,
    /// Events processed (one machine).
    pub events: u64,
    /// Wall-clock seconds of the run (machine-dependent).
    pub wall_seconds: f64,
    /// Monthly price of all machines.
    pub usd_per_month: f64,
    /// Price per million requests at the measured throughput, busy all month.
    pub usd_per_million_requests: Option<f64>,
    /// Whether the row meets `--slo` (empty without one).
    pub meets_slo: Option<bool>,
}

impl SweepRow {
    /// Flattens a run of `deployment` (whose config produced `report`) and prices it.
    pub fn new(report: &Report, deployment: &Deployment, prices: &PriceTable) -> Self {
        let m = deployment.machines;
        let (kind, rate, concurrency) = Scenario::offered(&deployment.config.load, m);
        let throughput = report.throughput_rps * m as f64;
        let l = &report.latency_ms;
        SweepRow {
            scenario: report.scenario.clone(),
            label: report.label.clone(),
            model: deployment.config.server.model.kind(),
            cores: report.cores,
            machines: m,
            seed: report.seed,
            replications: report.replications,
            load_kind: kind.to_string(),
            rate_rps: rate,
            concurrency,
            completed: report.completed * m,
            dropped: report.dropped * m,
            throughput_rps: throughput,
            latency_ms_mean: l.mean,
            latency_ms_mean_ci95_low: l.mean_ci95_low,
            latency_ms_mean_ci95_high: l.mean_ci95_high,
            latency_ms_p50: l.p50,
            latency_ms_p90: l.p90,
            latency_ms_p95: l.p95,
            latency_ms_p99: l.p99,
            latency_ms_p999: l.p999,
            latency_ms_max: l.max,
            cpu_utilization: report.cpu_utilization,
            switch_overhead: report.switch_overhead,
            cpu_useful: report.cpu.useful,
            cpu_idle: report.cpu.idle,
            cpu_refill: report.cpu.refill,
            context_switches: report.context_switches * m,
            task_switches: report.task_switches * m,
            context_switches_per_request: report.context_switches_per_request,
            task_switches_per_request: report.task_switches_per_request,
            peak_memory_bytes: report.peak_memory_bytes * m,
            mean_memory_bytes: report.mean_memory_bytes * m as f64,
            peak_threads: report.peak_threads * m,
            peak_tasks: report.peak_tasks * m,
            simulated_seconds: report.simulated_seconds,
            events: report.events,
            wall_seconds: report.wall_seconds,
            usd_per_month: prices.usd_per_month(report.cores) * m as f64,
            usd_per_million_requests: prices.usd_per_million_requests(report.cores, m, throughput),
            meets_slo: None,
        }
    }

    /// What identifies a grid point, for skipping rows an earlier run already wrote.
    pub fn key(&self) -> String {
        point_key(
            &self.scenario,
            &self.label,
            self.cores,
            self.machines,
            self.seed,
            self.replications,
            &self.load_kind,
            self.rate_rps,
            self.concurrency,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn point_key(
    scenario: &str,
    label: &str,
    cores: u64,
    machines: u64,
    seed: u64,
    replications: u64,
    kind: &str,
    rate: Option<f64>,
    concurrency: Option<u64>,
) -> String {
    let rate = rate.map(|r| format!("{r}")).unwrap_or_default();
    let concurrency = concurrency.map(|c| c.to_string()).unwrap_or_default();
    format!(
        "{scenario}\u{1f}{label}\u{1f}{cores}\u{1f}{machines}\u{1f}{seed}\u{1f}{replications}\u{1f}{kind}\u{1f}{rate}\u{1f}{concurrency}"
    )
}

/// A sweep that could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The scenario or grid does not fit together.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Some points failed; the others finished (and were reported).
    #[error("{} of the sweep's points failed (the other rows are complete):\n{}", failures.len(), failures.join("\n"))]
    Points {
        /// One line per failed point.
        failures: Vec<String>,
    },
    /// The results file could not be read.
    #[error("cannot read {path} to skip finished rows: {why}; move it away or fix it")]
    Resume {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

/// Runs one configuration, with `replications` independent replications combined.
pub fn execute(
    config: &RunConfig,
    replications: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Report, SimError> {
    if replications <= 1 {
        crate::simulate_with_progress(config, progress)
    } else {
        crate::simulate_replications(config, replications, progress)
    }
}

/// The points of a sweep, in grid order, with this shard's share and finished rows removed.
pub fn plan(
    scenario: &Scenario,
    grid: &Grid,
    opts: &SweepOptions,
) -> Result<Vec<Deployment>, ScenarioError> {
    if !grid.rates.is_empty() && !grid.concurrency.is_empty() {
        return Err(ScenarioError::Override(
            "give either --rates (open loop) or --concurrency (closed loop), not both".into(),
        ));
    }
    let cores: Vec<Option<u64>> = if grid.cores.is_empty() {
        vec![None]
    } else {
        grid.cores.iter().map(|&c| Some(c)).collect()
    };
    let loads: Vec<(Option<f64>, Option<u64>)> = if !grid.rates.is_empty() {
        grid.rates.iter().map(|&r| (Some(r), None)).collect()
    } else if !grid.concurrency.is_empty() {
        grid.concurrency.iter().map(|&c| (None, Some(c))).collect()
    } else {
        vec![(None, None)]
    };
    // Deployments per (load, cores), each a list over the scenario's (filtered) servers.
    let mut cells = Vec::new();
    for &(rate, concurrency) in &loads {
        for &c in &cores {
            let overrides = Overrides {
                cores: c.or(opts.overrides.cores),
                rate: rate.or(opts.overrides.rate),
                concurrency: concurrency.or(opts.overrides.concurrency),
                models: grid.models.clone(),
                ..opts.overrides.clone()
            };
            cells.push(scenario.deployments(&overrides)?);
        }
    }
    let servers = cells.first().map_or(0, Vec::len);
    let replications = opts.replications.max(1);
    let mut points = Vec::new();
    let mut index = 0u64;
    for server in 0..servers {
        for cell in &cells {
            let d = &cell[server];
            let this = index;
            index += 1;
            if let Some(shard) = opts.shard
                && this % shard.count != shard.index - 1
            {
                continue;
            }
            let (kind, rate, concurrency) = Scenario::offered(&d.config.load, d.machines);
            let key = point_key(
                &d.config.scenario,
                &d.config.server.label,
                d.config.cores,
                d.machines,
                d.config.seed,
                replications,
                kind,
                rate,
                concurrency,
            );
            if !opts.done.contains(&key) {
                points.push(d.clone());
            }
        }
    }
    Ok(points)
}

/// Runs a sweep; `on_row` sees each row as soon as it finishes (in finishing order). Returns
/// the rows in grid order.
pub fn sweep(
    scenario: &Scenario,
    grid: &Grid,
    pricing: &PriceTable,
    opts: &SweepOptions,
    on_row: &mut dyn FnMut(&SweepRow),
) -> Result<Vec<SweepRow>, SweepError> {
    let points = plan(scenario, grid, opts)?;
    let replications = opts.replications.max(1);
    let (sender, receiver) = mpsc::channel::<(usize, Result<SweepRow, String>)>();
    let mut rows: Vec<Option<SweepRow>> = vec![None; points.len()];
    let mut failures = Vec::new();
    std::thread::scope(|scope| {
        let points = &points;
        scope.spawn(move || {
            points
                .par_iter()
                .enumerate()
                .for_each_with(sender, |sender, (i, d)| {
                    let result = execute(&d.config, replications, &|_| {})
                        .map(|report| {
                            let mut row = SweepRow::new(&report, d, pricing);
                            row.meets_slo = opts.slo.map(|slo| slo.met_by(&row));
                            row
                        })
                        .map_err(|e| {
                            format!(
                                "  {} on {} cores{}: {e}",
                                d.config.server.label,
                                d.config.cores,
                                describe_load(&d.config, d.machines)
                            )
                        });
                    // The receiver outlives every sender; a failed send means it is gone
                    // and there is nobody left to tell.
                    let _ = sender.send((i, result));
                });
        });
        for (i, result) in receiver {
            match result {
                Ok(row) => {
                    on_row(&row);
                    rows[i] = Some(row);
                }
                Err(message) => failures.push((i, message)),
            }
        }
    });
    if !failures.is_empty() {
        failures.sort();
        return Err(SweepError::Points {
            failures: failures.into_iter().map(|(_, m)| m).collect(),
        });
    }
    Ok(rows.into_iter().flatten().collect())
}

fn describe_load(config: &RunConfig, machines: u64) -> String {
    match Scenario::offered(&config.load, machines) {
        (_, Some(rate), _) => format!(" at {rate} rps"),
        (kind, None, Some(c)) => format!(
            " with {c} {}",
            if kind == "closed" {
                "clients"
            } else {
                "connections"
            }
        ),
        _ => String::new(),
    }
}

/// For each offered load, the index of the cheapest row (lowest monthly price, then lowest
/// price per million requests) that meets the objective.
pub fn cheapest(rows: &[SweepRow]) -> Vec<usize> {
    let mut best: Vec<usize> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.meets_slo != Some(true) {
            continue;
        }
        let same_load = |other: &SweepRow| {
            other.load_kind == row.load_kind
                && other.rate_rps == row.rate_rps
                && other.concurrency == row.concurrency
        };
        match best.iter().position(|&b| same_load(&rows[b])) {
            None => best.push(i),
            Some(slot) => {
                let b = &rows[best[slot]];
                let cost = |r: &SweepRow| {
                    (
                        r.usd_per_month,
                        r.usd_per_million_requests.unwrap_or(f64::INFINITY),
                    )
                };
                if cost(row).partial_cmp(&cost(b)) == Some(std::cmp::Ordering::Less) {
                    best[slot] = i;
                }
            }
        }
    }
    best.sort_unstable();
    best
}

/// Keys of the rows already in a results file (missing or empty file: none).
pub fn finished_keys(path: &Path) -> Result<BTreeSet<String>, SweepError> {
    let mut keys = BTreeSet::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => {
            return Err(SweepError::Resume {
                path: path.display().to_string(),
                why: e.to_string(),
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(keys);
    }
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for (index, record) in reader.deserialize::<SweepRow>().enumerate() {
        match record {
            Ok(row) => {
                keys.insert(row.key());
            }
            // An interrupted write can leave a partial last line; that point simply runs again.
            Err(_) if index + 2 >= text.lines().count() => {}
            Err(e) => {
                return Err(SweepError::Resume {
                    path: path.display().to_string(),
                    why: format!("row {}: {e}", index + 2),
                });
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_reject() {
        assert_eq!(
            "3/8".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 8 }
        );
        for bad in ["0/8", "9/8", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn objectives_parse() {
        let slo: Slo = "p99<200ms".parse().unwrap();
        assert_eq!(slo.metric, SloMetric::P99);
        assert_eq!(slo.limit_ms, 200.0);
        assert!(!slo.inclusive);
        let slo: Slo = "mean <= 1.5s".parse().unwrap();
        assert_eq!(
            (slo.metric, slo.limit_ms, slo.inclusive),
            (SloMetric::Mean, 1500.0, true)
        );
        assert!("p42<1ms".parse::<Slo>().is_err());
        assert!("p99>1ms".parse::<Slo>().is_err());
        assert!("p99<fast".parse::<Slo>().is_err());
    }
}
