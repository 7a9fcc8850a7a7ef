//! What one engine counted, mergeable across engines: the latency histogram of the measured
//! requests, errors and timeouts by kind, and the window they fell in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Latencies are recorded in nanoseconds, 3 significant digits, up to an hour.
const MAX_LATENCY_NS: u64 = 3_600_000_000_000;

/// The latency percentiles the report prints, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Percentiles {
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// Mean, ms.
    pub mean_ms: f64,
}

/// One engine's counts; [`Tally::merge`] adds another's.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub(crate) latency: Histogram<u64>,
    /// Open loop only: how late each request was sent after its intended time (the
    /// generator's own scheduling lag, which the latency above includes).
    pub(crate) send_lag: Histogram<u64>,
    /// Measured requests answered (any status).
    pub(crate) completed: u64,
    pub(crate) errors: BTreeMap<&'static str, u64>,
    pub(crate) timeouts: BTreeMap<&'static str, u64>,
    /// The last measured answer (the end of the throughput window).
    pub(crate) last_done: Option<Instant>,
    /// The engine thread's CPU time over the measured window.
    pub(crate) cpu: Duration,
    /// When the measured window began (the earliest over merged engines).
    pub(crate) measure_start: Option<Instant>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect(
        "hdrhistogram takes a low bound of at least 1, a high bound of at least twice the low \
         one and 0 to 5 significant figures: 1, MAX_LATENCY_NS and 3 are constants within those",
    )
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            latency: histogram(),
            send_lag: histogram(),
            completed: 0,
            errors: BTreeMap::new(),
            timeouts: BTreeMap::new(),
            last_done: None,
            cpu: Duration::ZERO,
            measure_start: None,
        }
    }

    /// One measured answer that took `latency`.
    pub(crate) fn answered(&mut self, latency: Duration, at: Instant) {
        self.latency
            .saturating_record((latency.as_nanos() as u64).clamp(1, MAX_LATENCY_NS));
        self.completed += 1;
        self.last_done = Some(at);
    }

    pub(crate) fn lag(&mut self, lag: Duration) {
        self.send_lag
            .saturating_record((lag.as_nanos() as u64).clamp(1, MAX_LATENCY_NS));
    }

    pub(crate) fn error(&mut self, kind: &'static str) {
        *self.errors.entry(kind).or_default() += 1;
    }

    pub(crate) fn timeout(&mut self, kind: &'static str) {
        *self.timeouts.entry(kind).or_default() += 1;
    }

    pub(crate) fn merge(&mut self, other: Tally) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.send_lag.add(&other.send_lag);
        self.completed += other.completed;
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        for (kind, n) in other.timeouts {
            *self.timeouts.entry(kind).or_default() += n;
        }
        self.last_done = self.last_done.max(other.last_done);
        self.cpu += other.cpu;
        self.measure_start = match (self.measure_start, other.measure_start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The percentiles of a histogram in ns, as ms; `None` when it is empty.
pub(crate) fn percentiles(histogram: &Histogram<u64>) -> Option<Percentiles> {
    if histogram.is_empty() {
        return None;
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    Some(Percentiles {
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p90_ms: ms(histogram.value_at_quantile(0.9)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        p999_ms: ms(histogram.value_at_quantile(0.999)),
        max_ms: ms(histogram.max()),
        mean_ms: histogram.mean() / 1e6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_recorded_values_within_hdr_precision() {
        let mut tally = Tally::new();
        let now = Instant::now();
        // 1..=1000 µs: the p-th percentile is p*10 µs.
        for us in 1..=1000u64 {
            tally.answered(Duration::from_micros(us), now);
        }
        let p = percentiles(&tally.latency).unwrap();
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.002;
        assert!(close(p.p50_ms, 0.5), "p50 {}", p.p50_ms);
        assert!(close(p.p90_ms, 0.9), "p90 {}", p.p90_ms);
        assert!(close(p.p99_ms, 0.99), "p99 {}", p.p99_ms);
        assert!(close(p.p999_ms, 0.999), "p99.9 {}", p.p999_ms);
        assert!(close(p.max_ms, 1.0), "max {}", p.max_ms);
        assert!(percentiles(&Tally::new().latency).is_none());
    }

    #[test]
    fn merging_adds_counts_and_keeps_the_tail() {
        let now = Instant::now();
        let mut a = Tally::new();
        a.answered(Duration::from_millis(1), now);
        a.error("connect_refused");
        let mut b = Tally::new();
        b.answered(Duration::from_millis(100), now);
        b.error("connect_refused");
        b.timeout("response");
        a.merge(b);
        assert_eq!(a.completed, 2);
        assert_eq!(a.errors["connect_refused"], 2);
        assert_eq!(a.timeouts["response"], 1);
        assert!(percentiles(&a.latency).unwrap().max_ms >= 99.9);
    }
}
