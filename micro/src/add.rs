//! The cost of one u64 add: as a dependent chain (latency) and as independent adds (throughput).
//!
//! A loop of `x = x.wrapping_add(y)` folds to one multiply, and `black_box` on every step spills
//! `x` to the stack so the chain would time a store-to-load forward (~1 ns) instead of an add.
//! So the inputs go through `black_box` once and, on x86_64, the adds themselves sit in an
//! `asm!` block the optimizer cannot see through: eight adds per loop turn, with the loop's own
//! counter and branch running on other ALU ports beside them.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Adds per inner block; the loop overhead is paid once per block.
const ADDS_PER_BLOCK: u64 = 8;

/// Blocks needed for at least `adds` adds.
pub(crate) fn blocks_for(adds: u64) -> u64 {
    adds.div_ceil(ADDS_PER_BLOCK).max(1)
}

/// Scales the time of `blocks` blocks to the time `adds` adds took.
pub(crate) fn scale_to(took: Duration, blocks: u64, adds: u64) -> Duration {
    let done = blocks * ADDS_PER_BLOCK;
    Duration::from_secs_f64(took.as_secs_f64() * adds as f64 / done as f64)
}

/// Times `adds` adds in one dependent chain (each add waits for the previous one).
pub fn dependent(adds: u64) -> Duration {
    let blocks = blocks_for(adds);
    let mut x: u64 = black_box(1);
    let y: u64 = black_box(3);
    let start = Instant::now();
    for _ in 0..blocks {
        x = dependent_block(x, y);
    }
    let took = start.elapsed();
    black_box(x);
    scale_to(took, blocks, adds)
}

/// Times `adds` adds spread over four independent accumulators (the core's add throughput).
pub fn independent(adds: u64) -> Duration {
    let blocks = blocks_for(adds);
    let mut acc: [u64; 4] = black_box([1, 2, 3, 4]);
    let y: u64 = black_box(3);
    let start = Instant::now();
    for _ in 0..blocks {
        acc = independent_block(acc, y);
    }
    let took = start.elapsed();
    black_box(acc);
    scale_to(took, blocks, adds)
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn dependent_block(mut x: u64, y: u64) -> u64 {
    // SAFETY: register-only arithmetic; no memory, stack or flags the compiler relies on.
    unsafe {
        std::arch::asm!(
            "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
            "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
            x = inout(reg) x,
            y = in(reg) y,
            options(pure, nomem, nostack),
        );
    }
    x
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn independent_block(acc: [u64; 4], y: u64) -> [u64; 4] {
    let [mut a, mut b, mut c, mut d] = acc;
    // SAFETY: register-only arithmetic; no memory, stack or flags the compiler relies on.
    unsafe {
        std::arch::asm!(
            "add {a}, {y}", "add {b}, {y}", "add {c}, {y}", "add {d}, {y}",
            "add {a}, {y}", "add {b}, {y}", "add {c}, {y}", "add {d}, {y}",
            a = inout(reg) a,
            b = inout(reg) b,
            c = inout(reg) c,
            d = inout(reg) d,
            y = in(reg) y,
            options(pure, nomem, nostack),
        );
    }
    [a, b, c, d]
}

// Elsewhere, black_box per block keeps the chain honest at the price of one spill per 8 adds.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn dependent_block(mut x: u64, y: u64) -> u64 {
    for _ in 0..ADDS_PER_BLOCK {
        x = x.wrapping_add(y);
    }
    black_box(x)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn independent_block(acc: [u64; 4], y: u64) -> [u64; 4] {
    let [a, b, c, d] = acc;
    black_box([
        a.wrapping_add(y).wrapping_add(y),
        b.wrapping_add(y).wrapping_add(y),
        c.wrapping_add(y).wrapping_add(y),
        d.wrapping_add(y).wrapping_add(y),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocks_really_add() {
        assert_eq!(dependent_block(1, 3), 1 + 8 * 3);
        assert_eq!(independent_block([1, 2, 3, 4], 3), [7, 8, 9, 10]);
    }

    #[test]
    fn time_is_scaled_from_whole_blocks_to_the_adds_asked_for() {
        assert_eq!(blocks_for(1), 1);
        assert_eq!(blocks_for(8), 1);
        assert_eq!(blocks_for(9), 2);
        // 2 blocks = 16 adds took 16 ns; 12 adds are charged 12 ns.
        assert_eq!(
            scale_to(Duration::from_nanos(16), 2, 12),
            Duration::from_nanos(12)
        );
    }
}
