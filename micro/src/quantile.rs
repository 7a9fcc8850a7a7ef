//! Percentiles of latency samples, the way schbench and cyclictest report them.

/// The median and 99th percentile of a set of samples, with how many there were.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// 50th percentile.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Number of samples.
    pub count: usize,
}

/// The `q`-quantile (0..=1) of sorted samples by nearest rank: the smallest sample with at
/// least `q` of the samples at or below it. `None` for no samples.
///
/// Nearest rank never invents a value between two samples, so a p99 of 200 samples is the
/// second largest one, a real latency someone saw.
pub fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let q = q.clamp(0.0, 1.0);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50 and p99 of `samples` (any order; NaNs dropped), or `None` when there are none.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    Some(Summary {
        p50: nearest_rank(&sorted, 0.50)?,
        p99: nearest_rank(&sorted, 0.99)?,
        count: sorted.len(),
    })
}

/// The median of `samples`, or `None` when there are none.
pub fn median(samples: &[f64]) -> Option<f64> {
    summarize(samples).map(|s| s.p50)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_picks_a_real_sample() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&sorted, 0.5), Some(50.0));
        assert_eq!(nearest_rank(&sorted, 0.99), Some(99.0));
        assert_eq!(nearest_rank(&sorted, 1.0), Some(100.0));
        assert_eq!(nearest_rank(&sorted, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&[7.0], 0.99), Some(7.0));
        assert_eq!(nearest_rank(&[], 0.5), None);
        // 200 samples: the p99 is the 198th, the second largest but one.
        let two_hundred: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(nearest_rank(&two_hundred, 0.99), Some(198.0));
    }

    #[test]
    fn summaries_sort_and_drop_nans() {
        let s = summarize(&[3.0, f64::NAN, 1.0, 2.0]).unwrap();
        assert_eq!((s.p50, s.p99, s.count), (2.0, 3.0, 3));
        assert!(summarize(&[]).is_none());
        assert_eq!(median(&[5.0, 1.0, 9.0]), Some(5.0));
    }
}
