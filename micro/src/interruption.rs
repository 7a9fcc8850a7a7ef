//! How often a core is taken from a running thread, and for how long: timer ticks, interrupts,
//! kernel threads and, in a virtual machine, the host running something else on the vCPU (*OS
//! noise*; the measurement is the "fixed work quantum" loop of Sottile & Minnich, Cluster 2004,
//! and of Petrini, Kerbyson & Pakin, SC 2003).
//!
//! One thread pinned to each core reads the monotonic clock in a tight loop, all cores at
//! once, as a server keeps them busy. A jump between two readings longer than the threshold
//! ([`MIN_GAP_NS`], or twenty loop iterations if the clock is slow to read) is an
//! interruption. The jumps are binned by length, edges 1-2-5 per decade from 1 µs; a bin
//! gives its rate per second of one core (the cores averaged) and its mean length. That is
//! the simulator's `[costs] interruptions`, replayed as a Poisson process per core.
//!
//! [`quanta`] measures what those interruptions do to work, the check of that replay: a
//! fixed amount of computation (100 µs and 1 ms of it when nothing interrupts) done again and
//! again on every core at once, each item timed. The spread of the items' durations is what
//! the simulator must predict from the bins alone (`sim/tests/it/interruptions.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::affinity;
use crate::clock::monotonic_ns;
use crate::error::Error;

/// The shortest jump counted, ns: a loop iteration takes tens of ns here, a tick's handler
/// microseconds.
pub const MIN_GAP_NS: u64 = 1_000;

/// Bin edges, ns: 1-2-5 per decade from 1 µs to 10 ms; the last bin is open.
pub const EDGES_NS: [u64; 13] = [
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
    5_000_000, 10_000_000,
];

/// The cores' interruptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    /// `(mean length ns, per second of one core)` of each bin that saw a jump, by length.
    pub bins: Vec<(f64, f64)>,
    /// Share of the loops' time lost to the jumps, the cores averaged.
    pub share: f64,
    /// The threshold used, ns.
    pub threshold_ns: u64,
    /// Cores measured.
    pub cores: usize,
    /// How long each loop ran.
    pub elapsed: Duration,
}

/// One core's loop: (count, summed ns) per bin, and time spent.
struct Loop {
    count: [u64; EDGES_NS.len()],
    sum_ns: [u64; EDGES_NS.len()],
    elapsed_ns: u64,
}

/// The median time of one clock reading, ns (from a short burst of readings).
fn reading_ns() -> u64 {
    let mut gaps: Vec<u64> = Vec::with_capacity(1_001);
    let mut last = monotonic_ns();
    for _ in 0..1_001 {
        let now = monotonic_ns();
        gaps.push(now - last);
        last = now;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2]
}

fn spin(stop: &AtomicBool, threshold: u64) -> Loop {
    let mut l = Loop {
        count: [0; EDGES_NS.len()],
        sum_ns: [0; EDGES_NS.len()],
        elapsed_ns: 0,
    };
    let start = monotonic_ns();
    let mut last = start;
    // The flag is read every 1,024 readings: an atomic load each time would be most of the loop.
    let mut n: u32 = 0;
    loop {
        n = n.wrapping_add(1);
        if n.is_multiple_of(1_024) && stop.load(Ordering::Relaxed) {
            break;
        }
        let now = monotonic_ns();
        let gap = now - last;
        last = now;
        if gap >= threshold {
            let bin = EDGES_NS.iter().rposition(|&e| gap >= e).unwrap_or(0);
            l.count[bin] += 1;
            l.sum_ns[bin] += gap;
        }
    }
    l.elapsed_ns = last - start;
    l
}

/// Spins one pinned thread per core for `duration` and bins the jumps.
pub fn measure(duration: Duration) -> Result<Noise, Error> {
    let cores = affinity::pick(1).map(|_| affinity::cores())?;
    let threshold = MIN_GAP_NS.max(20 * reading_ns());
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = cores
        .iter()
        .map(|&core| {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("micro-noise".into())
                .spawn(move || -> Result<Loop, Error> {
                    affinity::pin(core)?;
                    Ok(spin(&stop, threshold))
                })
                .map_err(Error::io("spawning an interruption thread"))
        })
        .collect::<Result<_, _>>()?;
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut loops = Vec::with_capacity(cores.len());
    for handle in handles {
        loops.push(handle.join().map_err(|_| Error::Panicked {
            what: "interruption thread",
        })??);
    }
    Ok(summarize(&loops, threshold))
}

fn summarize(loops: &[Loop], threshold_ns: u64) -> Noise {
    let seconds: f64 = loops.iter().map(|l| l.elapsed_ns as f64 / 1e9).sum();
    let mut bins = Vec::new();
    let mut lost = 0.0;
    for bin in 0..EDGES_NS.len() {
        let count: u64 = loops.iter().map(|l| l.count[bin]).sum();
        let sum: u64 = loops.iter().map(|l| l.sum_ns[bin]).sum();
        lost += sum as f64;
        if count > 0 && seconds > 0.0 {
            bins.push((sum as f64 / count as f64, count as f64 / seconds));
        }
    }
    let elapsed_ns = loops.iter().map(|l| l.elapsed_ns).max().unwrap_or(0);
    Noise {
        bins,
        share: if seconds > 0.0 {
            lost / 1e9 / seconds
        } else {
            0.0
        },
        threshold_ns,
        cores: loops.len(),
        elapsed: Duration::from_nanos(elapsed_ns),
    }
}

/// Work items of these lengths (uninterrupted) in [`quanta`], ns.
pub const QUANTA_NS: [u64; 2] = [100_000, 1_000_000];

/// One step of the work: a multiply-add the compiler cannot fold away.
#[inline(always)]
fn step(x: u64) -> u64 {
    x.wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407)
}

/// Runs `steps` steps of work and returns how long it took, ns.
fn item(steps: u64) -> u64 {
    let start = monotonic_ns();
    let mut x = 1u64;
    for _ in 0..steps {
        x = step(x);
    }
    std::hint::black_box(x);
    monotonic_ns() - start
}

/// Steps that take `work_ns` when nothing interrupts: the quickest of repeated timings of a
/// 0.1 ms batch, scaled (the quickest is the one no interruption hit).
fn steps_for(work_ns: u64) -> u64 {
    const PROBE: u64 = 100_000;
    let quickest = (0..50).map(|_| item(PROBE)).min().unwrap_or(1).max(1);
    (PROBE as u128 * work_ns as u128 / quickest as u128) as u64
}

/// For each length in [`QUANTA_NS`], `[work_ns, items, p50, p90, p99, p999]` of the items'
/// durations (ns; `items` timed in all): one thread pinned to each core, all at once, each
/// timing items back to back for half of `duration`.
pub fn quanta(duration: Duration) -> Result<Vec<[f64; 6]>, Error> {
    let cores = affinity::pick(1).map(|_| affinity::cores())?;
    let mut rows = Vec::with_capacity(QUANTA_NS.len());
    for work_ns in QUANTA_NS {
        let each = duration / QUANTA_NS.len() as u32;
        let items = (each.as_nanos() as u64 / work_ns).max(1) as usize;
        let handles: Vec<_> = cores
            .iter()
            .map(|&core| {
                std::thread::Builder::new()
                    .name("micro-quanta".into())
                    .spawn(move || -> Result<Vec<f64>, Error> {
                        affinity::pin(core)?;
                        let steps = steps_for(work_ns);
                        Ok((0..items).map(|_| item(steps) as f64).collect())
                    })
                    .map_err(Error::io("spawning a work-quantum thread"))
            })
            .collect::<Result<_, _>>()?;
        let mut all = Vec::with_capacity(items * cores.len());
        for handle in handles {
            all.extend(handle.join().map_err(|_| Error::Panicked {
                what: "work-quantum thread",
            })??);
        }
        all.sort_unstable_by(f64::total_cmp);
        let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
        rows.push([
            work_ns as f64,
            all.len() as f64,
            at(0.5),
            at(0.9),
            at(0.99),
            at(0.999),
        ]);
    }
    Ok(rows)
}

impl Noise {
    /// Interruptions per second of one core.
    pub fn rate_per_s(&self) -> f64 {
        self.bins.iter().map(|b| b.1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_average_the_cores_and_keep_the_mean_length() {
        let mut a = Loop {
            count: [0; EDGES_NS.len()],
            sum_ns: [0; EDGES_NS.len()],
            elapsed_ns: 1_000_000_000,
        };
        let mut b = Loop { ..a };
        // Core a: 100 jumps of 30 µs (bin 20-50 µs); core b: 300 of 40 µs and one of 3 ms.
        a.count[4] = 100;
        a.sum_ns[4] = 100 * 30_000;
        b.count[4] = 300;
        b.sum_ns[4] = 300 * 40_000;
        b.count[11] = 1;
        b.sum_ns[11] = 3_000_000;
        let n = summarize(&[a, b], 1_000);
        assert_eq!(n.bins.len(), 2);
        assert!((n.bins[0].0 - 37_500.0).abs() < 1e-9);
        assert!((n.bins[0].1 - 200.0).abs() < 1e-9);
        assert!((n.bins[1].0 - 3e6).abs() < 1e-9);
        assert!((n.bins[1].1 - 0.5).abs() < 1e-9);
        let lost = (100.0 * 30e3 + 300.0 * 40e3 + 3e6) / 2e9;
        assert!((n.share - lost).abs() < 1e-12);
        assert!((n.rate_per_s() - 200.5).abs() < 1e-9);
    }

    #[test]
    fn the_edges_rise() {
        assert!(EDGES_NS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(EDGES_NS[0], MIN_GAP_NS);
    }
}
