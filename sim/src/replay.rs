//! `sim replay`: the built-in scenarios run as written, each server's simulated figures beside
//! the ones its write-up published.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::metric::Metric;
use crate::report::Report;
use crate::scenario::{Deployment, Overrides, Scenario, ScenarioError, builtin, builtins};
use crate::sweep::execute;

/// One server of one replayed scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRow {
    /// Scenario name.
    pub scenario: String,
    /// Server label.
    pub label: String,
    /// Identical machines sharing the load (the report is one machine's).
    pub machines: u64,
    /// What the write-up published (metric -> value); may be empty when it gave no numbers.
    pub published: BTreeMap<Metric, f64>,
    /// The simulated value of every published metric.
    pub simulated_metrics: BTreeMap<Metric, f64>,
    /// (simulated - published) / published, percent, per published metric.
    pub deviation_percent: BTreeMap<Metric, f64>,
    /// The run, as `sim run --json` prints it.
    pub simulated: Report,
}

/// A replay that could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A name that is not a built-in scenario.
    #[error("{0:?} is not a built-in scenario; `sim list` shows them")]
    Unknown(String),
    /// A built-in scenario that does not parse (a bug in the shipped file).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A run failed.
    #[error("replaying {scenario} / {label}: {error}")]
    Run {
        /// Scenario name.
        scenario: String,
        /// Server label.
        label: String,
        /// Why.
        error: crate::error::SimError,
    },
}

/// The value of a published metric in a run of one machine of a deployment of `machines`:
/// counts and memory are the deployment's, latencies and fractions one machine's, as in the
/// sweep's rows (`first_mean_ms`: the scenario's first server's mean latency, for
/// `mean_vs_first`), in the metric's unit.
pub fn metric(report: &Report, machines: u64, metric: Metric, first_mean_ms: f64) -> f64 {
    let l = &report.latency_ms;
    match metric {
        Metric::Rps => report.throughput_rps * machines as f64,
        Metric::MeanMs => l.mean,
        Metric::P50Ms => l.p50,
        Metric::P90Ms => l.p90,
        Metric::P95Ms => l.p95,
        Metric::P99Ms => l.p99,
        Metric::MaxMs => l.max,
        Metric::CpuPercent => report.cpu_utilization * report.cores as f64 * 100.0,
        // Per deployment, like `rps` and like the sweep's rows (one machine's peak x machines).
        Metric::RssMb => (report.peak_memory_bytes * machines) as f64 / 1e6,
        Metric::ContextSwitchesPerRequest => report.context_switches_per_request,
        Metric::MeanVsFirst => l.mean / first_mean_ms,
    }
}

/// Runs the named built-in scenarios (all of them when `names` is empty), every server in
/// parallel; `progress(done, total)` is called as servers finish.
pub fn replay(
    names: &[String],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<ReplayRow>, ReplayError> {
    let chosen: Vec<&str> = if names.is_empty() {
        builtins().iter().map(|b| b.name).collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let mut work: Vec<(usize, Deployment)> = Vec::new();
    let mut scenarios = Vec::new();
    for name in chosen {
        let b = builtin(name).ok_or_else(|| ReplayError::Unknown(name.to_string()))?;
        let scenario = Scenario::load(b.name)?;
        for d in scenario.deployments(&Overrides::default())? {
            work.push((scenarios.len(), d));
        }
        scenarios.push(scenario.name.clone());
    }
    let total = work.len();
    let done = AtomicUsize::new(0);
    let reports: Vec<Result<Report, ReplayError>> = work
        .par_iter()
        .map(|(_, d)| {
            let result = execute(&d.config, 1, &|_| {}).map_err(|error| ReplayError::Run {
                scenario: d.config.scenario.clone(),
                label: d.config.server.label.clone(),
                error,
            });
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            result
        })
        .collect();
    let mut rows = Vec::new();
    let mut first_mean: BTreeMap<usize, f64> = BTreeMap::new();
    for ((scenario_index, d), report) in work.into_iter().zip(reports) {
        let report = report?;
        let first = *first_mean
            .entry(scenario_index)
            .or_insert(report.latency_ms.mean);
        let mut simulated_metrics = BTreeMap::new();
        let mut deviation_percent = BTreeMap::new();
        for (&name, &published) in &d.published {
            let value = metric(&report, d.machines, name, first);
            simulated_metrics.insert(name, value);
            // No deviation without a figure (a latency of a run that completed nothing).
            if published != 0.0 && value.is_finite() {
                deviation_percent.insert(name, (value - published) / published * 100.0);
            }
        }
        rows.push(ReplayRow {
            scenario: d.config.scenario.clone(),
            label: d.config.server.label.clone(),
            machines: d.machines,
            published: d.published,
            simulated_metrics,
            deviation_percent,
            simulated: report,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_memory_are_per_deployment_latencies_per_machine() {
        let mut r = Report {
            throughput_rps: 100.0,
            peak_memory_bytes: 2_000_000,
            ..Report::default()
        };
        r.latency_ms.mean = 7.0;
        assert_eq!(metric(&r, 4, Metric::Rps, 1.0), 400.0);
        assert_eq!(metric(&r, 4, Metric::RssMb, 1.0), 8.0);
        assert_eq!(metric(&r, 4, Metric::MeanMs, 1.0), 7.0);
    }
}
