//! The figures a write-up publishes and `sim replay` compares (`published = { rps = 1234 }`),
//! by name and unit. The names are JSON keys (`published`, `simulated_metrics`,
//! `deviation_percent`) that `reports`, the testbed and the notebooks read, so they never change.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// One published figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Throughput of the whole deployment.
    Rps,
    /// Mean latency.
    MeanMs,
    /// Median latency.
    P50Ms,
    /// 90th percentile latency.
    P90Ms,
    /// 95th percentile latency.
    P95Ms,
    /// 99th percentile latency.
    P99Ms,
    /// Largest latency.
    MaxMs,
    /// CPU busy, percent of one core (160 = 1.6 cores).
    CpuPercent,
    /// Peak resident memory.
    RssMb,
    /// OS context switches per request.
    ContextSwitchesPerRequest,
    /// Mean latency divided by the scenario's first server's mean latency.
    MeanVsFirst,
}

/// What a [`Metric`] is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricUnit {
    /// Requests per second.
    RequestsPerSecond,
    /// Milliseconds.
    Milliseconds,
    /// Percent of one core's time (200 = two cores busy).
    PercentOfOneCore,
    /// Megabytes (10^6 bytes).
    Megabytes,
    /// A count per request.
    PerRequest,
    /// A dimensionless ratio.
    Ratio,
}

impl MetricUnit {
    /// The unit as a person reads it.
    pub fn symbol(self) -> &'static str {
        match self {
            MetricUnit::RequestsPerSecond => "req/s",
            MetricUnit::Milliseconds => "ms",
            MetricUnit::PercentOfOneCore => "% of one core",
            MetricUnit::Megabytes => "MB",
            MetricUnit::PerRequest => "per request",
            MetricUnit::Ratio => "x",
        }
    }
}

impl Metric {
    /// Every metric, in the order messages and docs list them.
    pub const ALL: [Metric; 11] = [
        Metric::Rps,
        Metric::MeanMs,
        Metric::P50Ms,
        Metric::P90Ms,
        Metric::P95Ms,
        Metric::P99Ms,
        Metric::MaxMs,
        Metric::CpuPercent,
        Metric::RssMb,
        Metric::ContextSwitchesPerRequest,
        Metric::MeanVsFirst,
    ];

    /// The name files and JSON use (`p95_ms`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rps => "rps",
            Metric::MeanMs => "mean_ms",
            Metric::P50Ms => "p50_ms",
            Metric::P90Ms => "p90_ms",
            Metric::P95Ms => "p95_ms",
            Metric::P99Ms => "p99_ms",
            Metric::MaxMs => "max_ms",
            Metric::CpuPercent => "cpu_percent",
            Metric::RssMb => "rss_mb",
            Metric::ContextSwitchesPerRequest => "context_switches_per_request",
            Metric::MeanVsFirst => "mean_vs_first",
        }
    }

    /// The metric named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// What it is counted in.
    pub fn unit(self) -> MetricUnit {
        match self {
            Metric::Rps => MetricUnit::RequestsPerSecond,
            Metric::MeanMs
            | Metric::P50Ms
            | Metric::P90Ms
            | Metric::P95Ms
            | Metric::P99Ms
            | Metric::MaxMs => MetricUnit::Milliseconds,
            Metric::CpuPercent => MetricUnit::PercentOfOneCore,
            Metric::RssMb => MetricUnit::Megabytes,
            Metric::ContextSwitchesPerRequest => MetricUnit::PerRequest,
            Metric::MeanVsFirst => MetricUnit::Ratio,
        }
    }

    /// What it means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Metric::Rps => "throughput, requests per second",
            Metric::MeanMs => "mean latency",
            Metric::P50Ms => "median latency",
            Metric::P90Ms => "90th percentile latency",
            Metric::P95Ms => "95th percentile latency",
            Metric::P99Ms => "99th percentile latency",
            Metric::MaxMs => "largest latency",
            Metric::CpuPercent => "CPU busy, percent of one core (160 = 1.6 cores)",
            Metric::RssMb => "peak resident memory, MB (10^6 bytes)",
            Metric::ContextSwitchesPerRequest => "OS context switches per request",
            Metric::MeanVsFirst => "mean latency divided by the first server's mean latency",
        }
    }

    /// The known names, comma-separated, for a message about an unknown one.
    pub fn known_names() -> String {
        Metric::ALL.map(Metric::name).join(", ")
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Ordered by name, so that a map keyed by metrics lists them in the order a map keyed by
/// their names always did (JSON output stays byte for byte the same).
impl Ord for Metric {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Metric {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for m in Metric::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.name());
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("rss"), None);
    }

    #[test]
    fn a_map_keyed_by_metric_serializes_like_one_keyed_by_name() {
        let by_metric: std::collections::BTreeMap<Metric, f64> =
            Metric::ALL.into_iter().map(|m| (m, 1.0)).collect();
        let by_name: std::collections::BTreeMap<&str, f64> =
            Metric::ALL.into_iter().map(|m| (m.name(), 1.0)).collect();
        assert_eq!(
            serde_json::to_string(&by_metric).unwrap(),
            serde_json::to_string(&by_name).unwrap()
        );
    }
}
