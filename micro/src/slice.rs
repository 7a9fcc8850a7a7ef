//! The time slice: how long a CPU-bound thread keeps a core before the scheduler hands it to
//! another CPU-bound thread on the same core.
//!
//! Two threads pinned to one core each read the clock in a tight loop. A jump of more than
//! [`GAP_NS`] between two readings means the thread was off the core; the stretch between two
//! such jumps is one run. A run ends at a *switch* when the other thread ran during the gap;
//! a gap in which the other thread did not run (an interrupt, the hypervisor taking the vCPU,
//! a third process) does not end the slice, and the slice is measured from when the thread got
//! the core from its peer to when it gave it back, that gap included. The kernel's own count of
//! involuntary switches (`getrusage`) cross-checks the number of slices.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::monotonic_ns;
use crate::error::Error;
use crate::{affinity, quantile, rusage};

/// A clock jump longer than this is time off the core; a loop iteration takes ~25 ns and an
/// interrupt a few µs, a slice milliseconds.
pub const GAP_NS: u64 = 50_000;

/// One thread's time on the core: `[start, end]` on the monotonic clock.
type Run = (u64, u64);

/// The slice distribution of two CPU hogs sharing one core.
#[derive(Debug, Clone, PartialEq)]
pub struct Slices {
    /// Length of each complete slice (first and last of each thread dropped: truncated), ns.
    pub lengths_ns: Vec<f64>,
    /// Gaps that did not hand the core to the peer (counted inside a slice).
    pub foreign_gaps: usize,
    /// Involuntary context switches per second of both threads together (`getrusage`).
    pub involuntary_per_s: f64,
    /// Voluntary switches of both threads (should be ~0: neither blocks).
    pub voluntary: u64,
    /// How long the two threads ran.
    pub elapsed: Duration,
}

/// One thread's loop: its runs and its switch counts.
fn hog(stop: &AtomicBool, capacity: usize) -> (Vec<Run>, rusage::Switches) {
    let before = rusage::thread_switches();
    let mut runs = Vec::with_capacity(capacity);
    let mut start = monotonic_ns();
    let mut last = start;
    while !stop.load(Ordering::Relaxed) {
        let now = monotonic_ns();
        if now - last > GAP_NS {
            runs.push((start, last));
            start = now;
        }
        last = now;
    }
    runs.push((start, last));
    (runs, rusage::thread_switches().since(&before))
}

/// Runs two hogs on one core for `duration` and returns their slices.
pub fn measure(duration: Duration) -> Result<Slices, Error> {
    let core = affinity::pick(1)?[0];
    let stop = Arc::new(AtomicBool::new(false));
    // A 4 ms slice gives 250 runs a second per pair; room for 1 ms slices too.
    let capacity = (duration.as_secs_f64() * 2_000.0) as usize + 16;
    let start = monotonic_ns();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("micro-slice".into())
                .spawn(move || -> Result<_, Error> {
                    affinity::pin(core)?;
                    Ok(hog(&stop, capacity))
                })
                .map_err(Error::io("spawning a slice thread"))
        })
        .collect::<Result<_, _>>()?;
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut threads = Vec::new();
    for handle in handles {
        threads.push(
            handle
                .join()
                .map_err(|_| Error::Panicked { what: "slice thread" })??,
        );
    }
    let elapsed = Duration::from_nanos(monotonic_ns() - start);
    let switches = threads
        .iter()
        .fold(rusage::Switches::default(), |sum, (_, s)| sum.plus(s));
    let (lengths_ns, foreign_gaps) = slice_lengths(&threads[0].0, &threads[1].0);
    Ok(Slices {
        lengths_ns,
        foreign_gaps,
        involuntary_per_s: switches.involuntary as f64 / elapsed.as_secs_f64(),
        voluntary: switches.voluntary,
        elapsed,
    })
}

/// Slices of both threads from their runs: consecutive runs of one thread with no run of the
/// peer starting between them are one slice. The first and last slice of each are dropped.
pub fn slice_lengths(a: &[Run], b: &[Run]) -> (Vec<f64>, usize) {
    let mut lengths = Vec::new();
    let mut foreign = 0;
    for (mine, peer) in [(a, b), (b, a)] {
        let mut slices: Vec<Run> = Vec::new();
        for &(start, end) in mine {
            let peer_ran = |after: u64| peer.iter().any(|&(s, _)| s > after && s < start);
            match slices.last_mut() {
                Some(last) if !peer_ran(last.1) => {
                    foreign += 1;
                    last.1 = end;
                }
                _ => slices.push((start, end)),
            }
        }
        if slices.len() > 2 {
            lengths.extend(
                slices[1..slices.len() - 1]
                    .iter()
                    .map(|(s, e)| (e - s) as f64),
            );
        }
    }
    (lengths, foreign)
}

impl Slices {
    /// Median and 99th percentile of the slice lengths.
    pub fn summary(&self) -> Option<quantile::Summary> {
        quantile::summarize(&self.lengths_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_runs_are_slices_and_foreign_gaps_are_not() {
        // a runs 0-4, 8-12 (with a foreign gap 9.5-9.6), 16-20; b runs 4-8, 12-16, 20-24 (ms).
        let ms = |v: f64| (v * 1e6) as u64;
        let a = [
            (ms(0.0), ms(4.0)),
            (ms(8.0), ms(9.5)),
            (ms(9.6), ms(12.0)),
            (ms(16.0), ms(20.0)),
        ];
        let b = [
            (ms(4.0) + 1, ms(8.0) - 1),
            (ms(12.0) + 1, ms(16.0) - 1),
            (ms(20.0) + 1, ms(24.0)),
        ];
        let (lengths, foreign) = slice_lengths(&a, &b);
        assert_eq!(foreign, 1);
        // Only the middle slice of each survives: a's 8-12 and b's 12-16.
        assert_eq!(lengths.len(), 2);
        assert!((lengths[0] - 4e6).abs() < 10.0, "{lengths:?}");
        assert!((lengths[1] - 4e6).abs() < 10.0, "{lengths:?}");
    }

    #[test]
    fn two_hogs_on_one_core_take_turns() {
        let slices = measure(Duration::from_millis(120)).unwrap();
        // Each thread lost the core at least once to the other in 120 ms.
        assert!(slices.involuntary_per_s > 0.0);
        assert!(slices.elapsed >= Duration::from_millis(120));
    }
}
