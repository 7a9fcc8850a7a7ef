//! What one engine counted, mergeable across engines: the latency histogram of the measured
//! requests, errors and timeouts by kind, and the window they fell in.

use std::collections::BTreeMap;
use std::io::ErrorKind;
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

/// Most synthetic samples [`wrk_corrected`] adds before it gives up: a run whose tail is
/// thousands of cycles long would otherwise spend seconds on a figure nobody asked for.
const MAX_SYNTHETIC: u64 = 50_000_000;

/// The latencies as wrk 4.x reports them: its `stats_correct` (wg/wrk `src/stats.c`, called
/// from `main` with `runtime / (complete / connections)`, the mean cycle of one connection)
/// treats a closed loop as if each connection had meant to send once per cycle, so every
/// sample of at least two cycles adds a synthetic copy at one cycle less, two less, and so on
/// while above one cycle (coordinated-omission correction, from Gil Tene). For a narrow
/// distribution (nothing reaches two cycles) this changes nothing; for a wide one it adds
/// samples between one cycle and the tail, which moves the median up and the mean above
/// Little's law's `C / throughput`. `interval_ns` is that cycle. `None` when the histogram is
/// empty, the interval is 0 or the correction would add more than [`MAX_SYNTHETIC`] samples.
pub(crate) fn wrk_corrected(
    histogram: &Histogram<u64>,
    interval_ns: u64,
) -> Option<Histogram<u64>> {
    if histogram.is_empty() || interval_ns == 0 {
        return None;
    }
    // wrk reads only the recorded counts (it walks up from two cycles and writes below the
    // value it reads), so the synthetic samples depend on the originals alone. wrk keeps exact
    // µs; a bucket here stands for its lowest value, so a copy that lands within the
    // histogram's precision of one cycle is not added.
    let originals: Vec<(u64, u64)> = histogram
        .iter_recorded()
        .map(|v| {
            let value = histogram.lowest_equivalent(v.value_iterated_to());
            (value, v.count_at_value())
        })
        .filter(|&(value, _)| value >= 2 * interval_ns)
        .collect();
    let synthetic: u64 = originals
        .iter()
        .map(|&(value, count)| (value / interval_ns).saturating_mul(count))
        .fold(0, u64::saturating_add);
    if synthetic > MAX_SYNTHETIC {
        return None;
    }
    let mut corrected = histogram.clone();
    for (value, count) in originals {
        let mut at = value - interval_ns;
        while at > interval_ns {
            corrected.saturating_record_n(at, count);
            at -= interval_ns;
        }
    }
    Some(corrected)
}

/// The error kind an I/O error is counted under (`errors` in the report), by what failed.
pub(super) fn classify(error: &std::io::Error, during: &'static str) -> &'static str {
    match (error.kind(), during) {
        (ErrorKind::ConnectionRefused, _) => "connect_refused",
        (ErrorKind::ConnectionReset, _) => "reset",
        (ErrorKind::BrokenPipe, _) => "broken_pipe",
        (ErrorKind::AddrNotAvailable, _) => "no_local_port",
        (_, "connect") => "connect",
        (_, "write") => "write",
        _ => "read",
    }
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

    #[test]
    fn wrks_correction_copies_each_long_sample_down_to_one_cycle() {
        // Nine fast answers and one five cycles long, in units small enough for the histogram
        // to hold exactly (below 2,048 at 3 significant digits): with a cycle of 200, wrk adds
        // copies at 800, 600 and 400 (200 is not above one cycle), 13 samples in all.
        let mut h = histogram();
        h.record_n(50, 9).unwrap();
        h.record(1_000).unwrap();
        let corrected = wrk_corrected(&h, 200).unwrap();
        assert_eq!(corrected.len(), 13);
        for at in [400, 600, 800, 1_000] {
            assert_eq!(corrected.count_at(at), 1, "one sample at {at}");
        }
        assert_eq!(corrected.count_at(200), 0);
        assert_eq!(corrected.count_at(50), 9);
        let mean = (9.0 * 50.0 + 2_800.0) / 13.0;
        assert!(
            (corrected.mean() - mean).abs() < 1e-9,
            "{}",
            corrected.mean()
        );
        // The median moves from the fast group to the copies only when they outnumber it.
        assert_eq!(corrected.value_at_quantile(0.5), 50);
    }

    #[test]
    fn wrks_correction_leaves_a_narrow_distribution_alone() {
        let now = Instant::now();
        let mut tally = Tally::new();
        // Every answer below two cycles: nothing to correct.
        for us in 1_000..3_000u64 {
            tally.answered(Duration::from_micros(us), now);
        }
        let corrected = wrk_corrected(&tally.latency, 2_000_000).unwrap();
        assert_eq!(percentiles(&corrected), percentiles(&tally.latency));
        assert!(wrk_corrected(&Tally::new().latency, 2_000_000).is_none());
        assert!(wrk_corrected(&tally.latency, 0).is_none());
    }

    #[test]
    fn wrks_correction_gives_up_rather_than_run_for_ever() {
        let now = Instant::now();
        let mut tally = Tally::new();
        // A 1 µs cycle and an hour-long answer would need 3.6e9 copies.
        tally.answered(Duration::from_secs(3_600), now);
        tally.answered(Duration::from_micros(1), now);
        assert!(wrk_corrected(&tally.latency, 1_000).is_none());
    }
}
