//! `--slo "p99<200ms"`: the latency objective a sweep's cheapest point must meet.

use super::SweepRow;

/// A latency objective: `p99<200ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// Which latency: mean, p50, p90, p95, p99, p999 or max.
    pub metric: SloMetric,
    /// The bound in milliseconds.
    pub limit_ms: f64,
    /// `<=` rather than `<`.
    pub inclusive: bool,
}

/// The latency statistic an objective bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloMetric {
    /// Mean latency.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest.
    Max,
}

impl std::str::FromStr for Slo {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "objective {text:?}: {why}; write e.g. --slo \"p99<200ms\" (metric: mean, p50, p90, p95, p99, p999, max)"
            )
        };
        let (metric, rest, inclusive) = if let Some((m, r)) = text.split_once("<=") {
            (m, r, true)
        } else if let Some((m, r)) = text.split_once('<') {
            (m, r, false)
        } else {
            return Err(bad("no '<'"));
        };
        let metric = match metric.trim() {
            "mean" => SloMetric::Mean,
            "p50" => SloMetric::P50,
            "p90" => SloMetric::P90,
            "p95" => SloMetric::P95,
            "p99" => SloMetric::P99,
            "p999" | "p99.9" => SloMetric::P999,
            "max" => SloMetric::Max,
            other => return Err(bad(&format!("unknown metric {other:?}"))),
        };
        let ns = crate::unit::parse_duration(rest).map_err(|e| bad(&e.to_string()))?;
        Ok(Slo {
            metric,
            limit_ms: ns as f64 / 1e6,
            inclusive,
        })
    }
}

impl Slo {
    /// Whether a row meets the objective: the latency bound holds and nothing was dropped.
    pub fn met_by(&self, row: &SweepRow) -> bool {
        let value = match self.metric {
            SloMetric::Mean => row.latency_ms_mean,
            SloMetric::P50 => row.latency_ms_p50,
            SloMetric::P90 => row.latency_ms_p90,
            SloMetric::P95 => row.latency_ms_p95,
            SloMetric::P99 => row.latency_ms_p99,
            SloMetric::P999 => row.latency_ms_p999,
            SloMetric::Max => row.latency_ms_max,
        };
        // A run that completed nothing has no latency (NaN): it never meets a bound.
        let within = if self.inclusive {
            value <= self.limit_ms
        } else {
            value < self.limit_ms
        };
        within && row.dropped == 0 && row.completed > 0
    }
}
