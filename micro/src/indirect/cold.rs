//! What a working set costs per line when it comes back after everything else evicted it: the
//! first walk of a set of W bytes right after another buffer, larger than every cache level,
//! was streamed through the caches.
//!
//! ```text
//!   walk own W ─▶ write every line of 2 × L3 (at least 64 MiB) in address order, twice
//!             ─▶ walk own W (timed)
//! ```
//!
//! Twice, because one stream is not enough here. The L3 of this VM resists scans: a line that
//! comes in once and is never touched again is the first to go. On 2026-12-07 one stream left
//! a 1 MiB set half in L3 in one `calibrate` run (29 ns a line, L3's latency, against 91–116 in
//! the others), and a probe saw one stream evict less each round (102 → 54 ns over five
//! rounds). Streamed twice, the buffer's lines look reused and push the set out. (A probe at
//! 21:50 did not see the failure: one stream evicted 256 KiB to 4 MiB sets in each of 60
//! rounds, as two did.) What makes sure is the check: a curve whose sets did not come back
//! from memory is not kept ([`check`]).
//!
//! Why not the lone walk's curve (`line_latency_ns`): a lone random walk of `d` bytes past the
//! TLB's reach pays a page walk on nearly every line, while a set of W bytes returning from
//! memory pays one per page, `W / 4096` of them, for `W / 64` lines. The curve's far end (a
//! 16 MiB lone walk, 145 ns a line on 2026-12-07 18:27) therefore overprices a 1 MiB set's
//! return: the testbed's servers walking 1 MiB per connection spent 76–134 ns a line refilling
//! at 10 to 1,000 connections, where `sim` charged 115–137. This walk measures that return
//! itself, and `sim` caps a line's refill at it (`[costs] cold_line_latency`).

use std::time::{Duration, Instant};

use super::Curve;
use crate::affinity;
use crate::cache::{Buffer, CacheSizes, Order};
use crate::error::Error;
use crate::quantile;

/// The sets timed, bytes: a ring thread's 64 KiB up to 4 MiB, past L2 and the TLB's reach.
pub const SET_BYTES: [u64; 4] = [64 << 10, 256 << 10, 1 << 20, 4 << 20];

/// The smallest eviction stream, bytes: far past this VM's 32 MiB L3 and its TLB's reach.
const MIN_EVICT_BYTES: u64 = 64 << 20;

/// Times the cold walks within `time` (at least 3 per set), sets up to `max_bytes`: `[bytes,
/// ns]` per line, the median of each set's timed walks. `Err` with the reason when they cannot
/// run (no L3 size, or no memory for the eviction stream).
pub fn cold_curve(sizes: &CacheSizes, max_bytes: u64, time: Duration) -> Result<Curve, String> {
    let l3 = sizes.l3.ok_or("the kernel reports no L3 size")?;
    let evict_bytes = (2 * l3).max(MIN_EVICT_BYTES);
    let sets: Vec<u64> = SET_BYTES.into_iter().filter(|&b| b <= max_bytes).collect();
    if sets.is_empty() {
        return Err(format!(
            "the plan stops at {max_bytes} bytes, below the smallest set ({} bytes)",
            SET_BYTES[0]
        ));
    }
    let core = affinity::pick(1).map_err(|e| e.to_string())?[0];
    let worker = std::thread::Builder::new()
        .name("micro-cold".into())
        .spawn(move || -> Result<Curve, Error> {
            affinity::pin(core)?;
            let mut evict = Buffer::new(evict_bytes as usize, 0x0c01_d0e5)?;
            let share = time.div_f64(sets.len() as f64);
            let mut curve = Vec::with_capacity(sets.len());
            for bytes in sets {
                let mut own = Buffer::new(bytes as usize, 0x0c01_d0e6 ^ bytes)?;
                let start = Instant::now();
                let mut samples = Vec::new();
                while samples.len() < 3 || start.elapsed() < share {
                    own.walk(Order::Random);
                    evict.walk(Order::Sequential);
                    evict.walk(Order::Sequential);
                    let walk = Instant::now();
                    own.walk(Order::Random);
                    samples.push(walk.elapsed().as_secs_f64() * 1e9 / own.lines() as f64);
                }
                curve.push((bytes, quantile::median(&samples).unwrap_or(f64::NAN)));
            }
            Ok(curve)
        })
        .map_err(|e| format!("spawning the cold-walk worker: {e}"))?;
    worker
        .join()
        .map_err(|_| "the cold-walk worker panicked".to_string())?
        .map_err(|e| e.to_string())
}

/// The curve, if every set came back from memory: each point at least half of `memory`
/// (`refill_memory_ns_per_line`, a line from memory instead of L1, measured apart by the
/// retention walk). A set that comes back from memory costs about `memory` a line (91–116 ns
/// against 115 on 2026-12-07), one still in L3 about L3's latency (20–30 ns here); half of
/// `memory` tells them apart. A cap taken from a set the stream did not evict would make every
/// return almost free. `Err` says which point and why.
pub fn check(curve: Curve, memory: Option<f64>) -> Result<Curve, String> {
    let memory = memory.filter(|&m| m.is_finite() && m > 0.0).ok_or(
        "no refill_memory_ns_per_line above 0 to check that the sets came back from memory; not kept",
    )?;
    for &(bytes, ns) in &curve {
        // A NaN point (not measured) fails too.
        if ns.is_nan() || ns < memory / 2.0 {
            return Err(format!(
                "the {bytes}-byte set came back at {ns:.1} ns a line, less than half of a line \
                 from memory ({memory:.1} ns): the stream did not evict it (a cache that resists \
                 scans?); the curve {curve:?} is not kept"
            ));
        }
    }
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cold_set_costs_more_per_line_than_the_same_set_warm() {
        let sizes = CacheSizes::read();
        let Some(l3) = sizes.l3 else {
            return;
        };
        // One small set, a short budget: three timed walks after a stream of 2 × L3.
        let curve = cold_curve(&sizes, 64 << 10, Duration::from_millis(1)).unwrap();
        assert_eq!(curve.len(), 1, "{curve:?}");
        let warm = crate::cache::line_latency(64 << 10, Duration::from_millis(5)).unwrap();
        assert!(
            curve[0].1 > warm,
            "cold {curve:?} against warm {warm} ns a line (L3 {l3} bytes)"
        );
    }

    #[test]
    fn a_set_that_did_not_come_back_from_memory_drops_the_curve() {
        let curve = vec![(1 << 20, 106.2), (4 << 20, 133.7)];
        assert_eq!(check(curve.clone(), Some(115.0)), Ok(curve.clone()));
        // The 19:19 run's 1 MiB set: L3's latency, not memory's.
        let evicted_less = vec![(1 << 20, 29.0), (4 << 20, 133.7)];
        let error = check(evicted_less, Some(115.0)).unwrap_err();
        assert!(
            error.contains("1048576-byte set") && error.contains("did not evict"),
            "{error}"
        );
        assert!(
            check(curve.clone(), None)
                .unwrap_err()
                .contains("no refill_memory")
        );
        assert!(check(vec![(1 << 20, f64::NAN)], Some(115.0)).is_err());
    }

    #[test]
    fn a_plan_below_the_smallest_set_says_so() {
        let sizes = CacheSizes {
            l3: Some(32 << 20),
            ..CacheSizes::default()
        };
        let error = cold_curve(&sizes, 4 << 10, Duration::ZERO).unwrap_err();
        assert!(error.contains("below the smallest set"), "{error}");
    }
}
