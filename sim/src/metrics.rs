//! Collectors: the latency histogram with batch means, time-weighted levels (queue lengths,
//! memory) and Student-t confidence intervals.

use hdrhistogram::Histogram;

use crate::report::LatencyMs;
use crate::time::SimTime;

/// Smallest latency (ns) the histogram tells apart. HDR buckets values below 2048 x this unit
/// (rounded to a power of two) in steps of the unit, so 1 ns is needed for 3 significant digits
/// on microsecond latencies (1 us gave 512 ns steps: 10 us read as 10.239 us).
const HISTOGRAM_LOW_NS: u64 = 1;
/// Largest latency (ns) the histogram holds: the most hdrhistogram allows (2^63 ns, 292 years),
/// beyond any run the scenario checks admit (planned end within 100 years), so no latency is
/// clamped. It costs about 40 % more memory than a 28-hour bound (~440 KB a run).
const HISTOGRAM_HIGH_NS: u64 = u64::MAX / 2;
/// Most batches kept before neighbouring batches merge; the run ends with 32 to 64 full batches.
const MAX_BATCHES: usize = 64;

/// A new latency histogram in nanoseconds at 3 significant digits.
pub(crate) fn latency_histogram() -> Histogram<u64> {
    // Fixed, valid bounds: creation cannot fail.
    Histogram::new_with_bounds(HISTOGRAM_LOW_NS, HISTOGRAM_HIGH_NS, 3)
        .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"))
}

/// Client-side latencies of one run: an HDR histogram for percentiles, an exact sum for the
/// mean, and batch means for its confidence interval.
#[derive(Debug, Clone)]
pub(crate) struct Latencies {
    pub(crate) histogram: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    batch_size: u64,
    batches: Vec<f64>,
    current_sum: u128,
    current_count: u64,
}

impl Latencies {
    pub(crate) fn new() -> Self {
        Latencies {
            histogram: latency_histogram(),
            count: 0,
            sum_ns: 0,
            batch_size: 1,
            batches: Vec::with_capacity(MAX_BATCHES),
            current_sum: 0,
            current_count: 0,
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        self.histogram.saturating_record(ns);
        self.count += 1;
        self.sum_ns += ns as u128;
        self.current_sum += ns as u128;
        self.current_count += 1;
        if self.current_count == self.batch_size {
            self.batches
                .push(self.current_sum as f64 / self.batch_size as f64);
            self.current_sum = 0;
            self.current_count = 0;
            if self.batches.len() == MAX_BATCHES {
                // Halve the number of batches by averaging neighbours: batches stay equal-sized.
                for i in 0..MAX_BATCHES / 2 {
                    self.batches[i] = (self.batches[2 * i] + self.batches[2 * i + 1]) / 2.0;
                }
                self.batches.truncate(MAX_BATCHES / 2);
                self.batch_size *= 2;
            }
        }
    }

    /// Forgets every latency (the warm-up is over).
    pub(crate) fn clear(&mut self) {
        self.histogram.reset();
        self.count = 0;
        self.sum_ns = 0;
        self.batch_size = 1;
        self.batches.clear();
        self.current_sum = 0;
        self.current_count = 0;
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in nanoseconds.
    pub(crate) fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64
        }
    }

    /// Half-width (ns) of the 95 % confidence interval of the mean by batch means.
    pub(crate) fn ci95_half_width_ns(&self) -> f64 {
        ci95_half_width(&self.batches)
    }

    /// The report's latency block, with the batch-means interval.
    pub(crate) fn summary(&self) -> LatencyMs {
        if self.count == 0 {
            return LatencyMs::none();
        }
        let half = self.ci95_half_width_ns();
        let mean = self.mean_ns();
        let mut out = percentiles_ms(&self.histogram);
        out.mean = mean / 1e6;
        out.mean_ci95_low = (mean - half) / 1e6;
        out.mean_ci95_high = (mean + half) / 1e6;
        out
    }
}

/// Percentiles and max of a histogram in ms; the mean fields are left at zero. An empty
/// histogram has no figures ([`LatencyMs::none`]).
pub(crate) fn percentiles_ms(h: &Histogram<u64>) -> LatencyMs {
    if h.is_empty() {
        return LatencyMs::none();
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1e6;
    LatencyMs {
        mean: 0.0,
        mean_ci95_low: 0.0,
        mean_ci95_high: 0.0,
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        p999: q(0.999),
        max: h.max() as f64 / 1e6,
    }
}

/// Half-width of the 95 % Student-t confidence interval of the mean of `samples` (zero for
/// fewer than two).
pub(crate) fn ci95_half_width(samples: &[f64]) -> f64 {
    let n = samples.len();
    if n < 2 {
        return 0.0;
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    t975(n as u64 - 1) * (var / n as f64).sqrt()
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom.
pub(crate) fn t975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        _ => {
            // Cornish-Fisher expansion around the normal quantile; error below 1e-3 for df > 30.
            let z: f64 = 1.959_964;
            let d = df as f64;
            z + (z.powi(3) + z) / (4.0 * d)
                + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// A time integral of a level over the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Integral {
    /// Sum of value x ns over the window.
    pub(crate) area: u128,
    /// The window's length, ns.
    pub(crate) span: u64,
    /// The level's value at the end (the mean of an empty window).
    pub(crate) last: u64,
    /// Largest value in the window.
    pub(crate) max: u64,
}

impl Integral {
    /// Time average over the window.
    pub(crate) fn mean(&self) -> f64 {
        if self.span == 0 {
            self.last as f64
        } else {
            self.area as f64 / self.span as f64
        }
    }
}

/// A level that changes at events (a queue length, bytes of memory): its time integral and its
/// largest value, from the moment measurement starts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Level {
    value: u64,
    since: SimTime,
    area: u128,
    max: u64,
}

impl Level {
    #[inline]
    pub(crate) fn set(&mut self, now: SimTime, value: u64) {
        self.area += (now - self.since) as u128 * self.value as u128;
        self.since = now;
        self.value = value;
        self.max = self.max.max(value);
    }

    /// Forgets the history (warm-up over): the integral restarts at `now` from the current value.
    pub(crate) fn restart(&mut self, now: SimTime) {
        self.since = now;
        self.area = 0;
        self.max = self.value;
    }

    /// Time average from `start` to `end`.
    #[cfg(test)]
    pub(crate) fn mean(&self, start: SimTime, end: SimTime) -> f64 {
        let span = end - start;
        if span == 0 {
            return self.value as f64;
        }
        let area = self.area + (end - self.since) as u128 * self.value as u128;
        area as f64 / span as f64
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    /// The integral over `start..end` (the tally's form of [`Level::mean`]).
    pub(crate) fn integral(&self, start: SimTime, end: SimTime) -> Integral {
        Integral {
            area: self.area + (end - self.since) as u128 * self.value as u128,
            span: end - start,
            last: self.value,
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_between_32_and_64_and_keep_the_mean() {
        let mut l = Latencies::new();
        for i in 0..100_000u64 {
            l.record(1_000 + i % 7);
        }
        assert!(l.batches.len() >= 32 && l.batches.len() < 64);
        assert!((l.mean_ns() - 1_003.0).abs() < 0.01);
        assert!(l.ci95_half_width_ns() < 1.0);
    }

    #[test]
    fn percentiles_keep_three_significant_digits_for_short_latencies() {
        // 10 us and 250 us requests: 3 significant digits means within 0.1 % (HDR's bucket top).
        for ns in [10_000u64, 250_000, 1_500] {
            let mut l = Latencies::new();
            for _ in 0..100 {
                l.record(ns);
            }
            let s = l.summary();
            let want = ns as f64 / 1e6;
            for (what, got) in [("p50", s.p50), ("p99", s.p99), ("max", s.max)] {
                assert!(
                    (got - want).abs() <= 1e-3 * want,
                    "{what} of {ns} ns: got {got} ms, want {want} ms within 0.1 %"
                );
            }
        }
    }

    #[test]
    fn t_quantiles_match_tables() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(30), 2.042);
        assert!((t975(60) - 2.000).abs() < 2e-3);
        assert!((t975(1000) - 1.962).abs() < 2e-3);
    }

    #[test]
    fn level_integrates_over_time() {
        let mut q = Level::default();
        q.set(SimTime(0), 2);
        q.set(SimTime(10), 4);
        assert_eq!(q.mean(SimTime(0), SimTime(20)), 3.0);
        assert_eq!(q.max(), 4);
    }
}
