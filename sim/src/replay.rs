//! `sim replay`: the built-in scenarios run as written, each server's simulated figures beside
//! the ones its write-up published.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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
    pub published: BTreeMap<String, f64>,
    /// The simulated value of every published metric.
    pub simulated_metrics: BTreeMap<String, f64>,
    /// (simulated - published) / published, percent, per published metric.
    pub deviation_percent: BTreeMap<String, f64>,
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
/// sweep's rows (`first_mean_ms`: the scenario's first server's
/// mean latency, for `mean_vs_first`). `None` for a metric this code does not know.
pub fn metric(report: &Report, machines: u64, name: &str, first_mean_ms: f64) -> Option<f64> {
    let l = &report.latency_ms;
    Some(match name {
        "rps" => report.throughput_rps * machines as f64,
        "mean_ms" => l.mean,
        "p50_ms" => l.p50,
        "p90_ms" => l.p90,
        "p95_ms" => l.p95,
        "p99_ms" => l.p99,
        "max_ms" => l.max,
        "cpu_percent" => report.cpu_utilization * report.cores as f64 * 100.0,
        // Per deployment, like `rps` and like the sweep's rows (one machine's peak x machines).
        "rss_mb" => (report.peak_memory_bytes * machines) as f64 / 1e6,
        "context_switches_per_request" => report.context_switches_per_request,
        "mean_vs_first" => l.mean / first_mean_ms,
        _ => return None,
    })
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
        for (name, &published) in &d.published {
            if let Some(value) = metric(&report, d.machines, name, first) {
                simulated_metrics.insert(name.clone(), value);
                if published != 0.0 {
                    deviation_percent.insert(name.clone(), (value - published) / published * 100.0);
                }
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
        assert_eq!(metric(&r, 4, "rps", 1.0), Some(400.0));
        assert_eq!(metric(&r, 4, "rss_mb", 1.0), Some(8.0));
        assert_eq!(metric(&r, 4, "mean_ms", 1.0), Some(7.0));
    }
}
