//! What a working set costs per line when it comes back after everything else evicted it: the
//! first walk of a set of W bytes right after another buffer, larger than every cache level,
//! was streamed through the caches.
//!
//! ```text
//!   walk own W ─▶ write every line of 2 × L3 (at least 64 MiB) in address order ─▶ walk own W (timed)
//! ```
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
    fn a_plan_below_the_smallest_set_says_so() {
        let sizes = CacheSizes {
            l3: Some(32 << 20),
            ..CacheSizes::default()
        };
        let error = cold_curve(&sizes, 4 << 10, Duration::ZERO).unwrap_err();
        assert!(error.contains("below the smallest set"), "{error}");
    }
}
