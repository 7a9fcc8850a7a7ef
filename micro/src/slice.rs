//! The time slice: how long a CPU-bound thread keeps a core before the scheduler hands it to
//! another thread.
//!
//! Two threads pinned to one core each read the clock in a tight loop. A jump of more than
//! [`GAP_NS`] between two readings means the thread was off the core. At each jump the thread
//! reads its own involuntary-switch count (`getrusage(RUSAGE_THREAD)`, a few hundred ns, only
//! at jumps): if it grew, the scheduler took the core away and the run before the jump was one
//! slice; if not, the jump was the hypervisor taking the vCPU or a long interrupt, and the
//! slice goes on, the jump included. Slices end mostly at the peer thread, but on a loaded
//! machine also at other processes; each slice is still one turn on the core.
//!
//! The cross-check is the kernel's own count: the two threads' CPU time divided by their
//! involuntary switches is the mean slice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::{monotonic_ns, thread_cpu_ns};
use crate::error::Error;
use crate::{affinity, quantile, rusage};

/// A clock jump longer than this is time off the core; a loop iteration takes ~25 ns and an
/// interrupt a few µs, a slice milliseconds.
pub const GAP_NS: u64 = 50_000;

/// The slice distribution of two CPU hogs sharing one core.
#[derive(Debug, Clone, PartialEq)]
pub struct Slices {
    /// Length of each complete slice (first and last of each thread dropped: truncated), ns.
    pub lengths_ns: Vec<f64>,
    /// Jumps off the core without a context switch (steal, long interrupts), inside slices.
    pub foreign_gaps: usize,
    /// Involuntary context switches per second of the two threads' CPU time (`getrusage`
    /// over `CLOCK_THREAD_CPUTIME_ID`): the wall-clock rate when they have the core alone.
    pub involuntary_per_cpu_s: f64,
    /// Involuntary switches per second of wall time.
    pub involuntary_per_s: f64,
    /// Voluntary switches of both threads (should be ~0: neither blocks).
    pub voluntary: u64,
    /// How long the two threads ran.
    pub elapsed: Duration,
}

/// One thread's loop: its slices, foreign gaps, switch counts and CPU time.
struct Hog {
    slices: Vec<f64>,
    foreign: usize,
    switches: rusage::Switches,
    cpu_ns: u64,
}

fn hog(stop: &AtomicBool, capacity: usize) -> Hog {
    let before = rusage::thread_switches();
    let cpu0 = thread_cpu_ns();
    let mut slices = Vec::with_capacity(capacity);
    let mut foreign = 0;
    let mut switched = before.involuntary;
    let mut start = monotonic_ns();
    let mut last = start;
    while !stop.load(Ordering::Relaxed) {
        let now = monotonic_ns();
        if now - last > GAP_NS {
            let count = rusage::thread_switches().involuntary;
            if count > switched {
                slices.push((last - start) as f64);
                start = now;
                switched = count;
            } else {
                foreign += 1;
            }
        }
        last = now;
    }
    // The first slice began before the peer started, the last one was cut by `stop`.
    let keep = slices.len().saturating_sub(1);
    slices.truncate(keep);
    if !slices.is_empty() {
        slices.remove(0);
    }
    Hog {
        slices,
        foreign,
        switches: rusage::thread_switches().since(&before),
        cpu_ns: thread_cpu_ns() - cpu0,
    }
}

/// Runs two hogs on one core for `duration` and returns their slices.
pub fn measure(duration: Duration) -> Result<Slices, Error> {
    let core = affinity::pick(1)?[0];
    let stop = Arc::new(AtomicBool::new(false));
    // A 4 ms slice gives 250 a second per pair; room for 1 ms slices too.
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
    let mut hogs = Vec::new();
    for handle in handles {
        hogs.push(handle.join().map_err(|_| Error::Panicked {
            what: "slice thread",
        })??);
    }
    let elapsed = Duration::from_nanos(monotonic_ns() - start);
    let switches = hogs
        .iter()
        .fold(rusage::Switches::default(), |sum, h| sum.plus(&h.switches));
    let cpu_s = hogs.iter().map(|h| h.cpu_ns).sum::<u64>() as f64 / 1e9;
    Ok(Slices {
        lengths_ns: hogs.iter().flat_map(|h| h.slices.clone()).collect(),
        foreign_gaps: hogs.iter().map(|h| h.foreign).sum(),
        involuntary_per_cpu_s: switches.involuntary as f64 / cpu_s.max(1e-9),
        involuntary_per_s: switches.involuntary as f64 / elapsed.as_secs_f64(),
        voluntary: switches.voluntary,
        elapsed,
    })
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
    fn two_hogs_on_one_core_take_turns() {
        let slices = measure(Duration::from_millis(120)).unwrap();
        // Each thread lost the core at least once to the other in 120 ms.
        assert!(slices.involuntary_per_s > 0.0);
        assert!(slices.involuntary_per_cpu_s >= slices.involuntary_per_s * 0.99);
        assert!(slices.elapsed >= Duration::from_millis(120));
    }
}
