//! The refill rates the simulator needs, read off the baselines of the random-order curve (see
//! the parent module's docs for which point stands for which level).
//!
//! L3's rate is the *smallest* point from 2 × L2 to half of L3, not the largest: a lone random
//! walk of `d` bytes touches `d / 4096` pages in random order, so past the TLB's reach (a few
//! MiB) nearly every line also pays a page walk, and the larger the walk the more of them miss
//! the page-walk caches too (on the reference VM, 37.5 ns a line at 4 MiB, 167.5 at 16 MiB,
//! 180.2 at 64 MiB, all inside its 260 MiB L3). A working set refilled after a switch is small
//! next to that (64 KiB is 16 pages for 1,024 lines), so the least TLB-bound point of the range
//! is the closest to "a line from L3". It still overstates a small set's line, which is why the
//! simulator prefers the whole curve (`line_latency`, `sim/src/cache.rs`).

use crate::cache::CacheSizes;

/// The line latency of the first measured point in `range`, searching from the top when
/// `largest`.
pub(super) fn level_latency(
    latency: &[(u64, f64)],
    range: (u64, u64),
    largest: bool,
) -> Option<f64> {
    let mut inside = latency
        .iter()
        .filter(|(bytes, _)| *bytes > 0 && (range.0..=range.1).contains(bytes));
    if largest {
        inside.next_back().map(|p| p.1)
    } else {
        inside.next().map(|p| p.1)
    }
}

/// Refill rates (L2, L3, memory) from a baseline latency curve, each with the reason when it
/// cannot be read off the curve.
pub fn refill_rates(sizes: &CacheSizes, latency: &[(u64, f64)]) -> [Result<f64, String>; 3] {
    let missing = |what: &str| Err(format!("the random walk curve has no point {what}"));
    let l1 = sizes
        .l1d
        .and_then(|l1| level_latency(latency, (1, l1 / 2), true));
    let Some(l1) = l1 else {
        let reason = "no L1 point (a working set at or below half of L1d)".to_string();
        return [Err(reason.clone()), Err(reason.clone()), Err(reason)];
    };
    let within = |range: Option<(u64, u64)>, largest: bool, what: &str| match range {
        Some(range) => level_latency(latency, range, largest)
            .map(|ns| (ns - l1).max(0.0))
            .ok_or(())
            .or_else(|()| missing(what)),
        None => Err(format!("the kernel reports no size for {what}")),
    };
    [
        within(
            sizes.l1d.zip(sizes.l2).map(|(l1, l2)| (l1 + 1, l2 / 2)),
            true,
            "inside L2 (above L1d, at most half of L2)",
        ),
        within(
            sizes.l2.zip(sizes.l3).map(|(l2, l3)| (2 * l2, l3 / 2)),
            false,
            "inside L3 (from 2 x L2 to half of L3)",
        ),
        within(
            sizes.l3.map(|l3| (2 * l3, u64::MAX)),
            false,
            "beyond L3 (at least 2 x L3)",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refill_rates_are_level_latencies_minus_l1() {
        let sizes = CacheSizes::this_vm();
        let latency = [
            (16 << 10, 2.0),
            (24 << 10, 2.1),
            (64 << 10, 6.0),
            (1 << 20, 8.0),
            (4 << 20, 270.0),
            (16 << 20, 570.0),
        ];
        let [l2, l3, memory] = refill_rates(&sizes, &latency);
        assert!((l2.unwrap() - 5.9).abs() < 1e-9);
        // The smallest point inside L3 (4 MiB), the least TLB-bound, not the 16 MiB one.
        assert!((l3.unwrap() - 267.9).abs() < 1e-9);
        assert!(memory.unwrap_err().contains("beyond L3"));
        let far = [(24 << 10, 2.0), (600 << 20, 900.0), (1 << 30, 1_000.0)];
        let [l2, _, memory] = refill_rates(&sizes, &far);
        assert!(l2.is_err());
        assert_eq!(memory.unwrap(), 898.0);
        let [l2, ..] = refill_rates(&sizes, &[]);
        assert!(l2.unwrap_err().contains("L1"));
    }
}
