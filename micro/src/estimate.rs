//! Repeating a timed batch within a time slice and summarising the batches.
//!
//! `calibrate` does not use Criterion (it must fit a fixed wall budget and run inside the
//! `reports` crate); instead it sizes a batch to a fraction of the slice, repeats it, and
//! reports the median batch, which shrugs off the odd batch that another process disturbed.

use std::time::{Duration, Instant};

use crate::error::Error;

/// Per-unit cost over repeated batches, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// Median of the batches' per-unit costs: the reported figure.
    pub median_ns: f64,
    /// Fastest batch.
    pub min_ns: f64,
    /// Slowest batch.
    pub max_ns: f64,
    /// How many batches were timed.
    pub batches: usize,
    /// Units of work per batch.
    pub units_per_batch: u64,
}

/// Median of the values (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// Runs `batch(units)` (which returns the time attributed to `units` units of work) until
/// `slice` has passed, and summarises per-unit costs.
///
/// The first batches only size the batch so that one takes about a tenth of the slice; at
/// least three sized batches are timed whatever the slice.
pub fn run_for(
    slice: Duration,
    mut batch: impl FnMut(u64) -> Result<Duration, Error>,
) -> Result<Estimate, Error> {
    let start = Instant::now();
    let target = (slice / 10).max(Duration::from_micros(200));
    let mut units: u64 = 1;
    // Sizing: grow until one batch takes a good part of the target, so that timer and setup
    // overheads are small against the work.
    loop {
        let took = batch(units)?;
        if took >= target / 2 || units >= 1 << 40 || start.elapsed() > slice / 2 {
            let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            units = ((units as f64 * scale.min(16.0)).ceil() as u64).max(1);
            break;
        }
        units = units.saturating_mul(if took < target / 100 { 10 } else { 2 });
    }
    let mut per_unit = Vec::new();
    while per_unit.len() < 3 || (start.elapsed() < slice && per_unit.len() < 200) {
        let took = batch(units)?;
        per_unit.push(took.as_secs_f64() * 1e9 / units as f64);
    }
    let median_ns = median(&per_unit).unwrap_or(f64::NAN);
    Ok(Estimate {
        median_ns,
        min_ns: per_unit.iter().copied().fold(f64::INFINITY, f64::min),
        max_ns: per_unit.iter().copied().fold(0.0, f64::max),
        batches: per_unit.len(),
        units_per_batch: units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn run_for_reports_the_per_unit_cost_of_a_synthetic_batch() {
        // A batch that claims 7 ns per unit, whatever its size: the estimate must find 7 ns.
        let estimate = run_for(Duration::from_millis(20), |units| {
            Ok(Duration::from_nanos(7 * units))
        })
        .unwrap();
        assert!((estimate.median_ns - 7.0).abs() < 1e-9, "{estimate:?}");
        assert!(estimate.batches >= 3);
    }
}
