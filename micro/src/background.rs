//! The same-core ping-pong with k CPU-bound threads on its core: the talk's "number of other
//! processes".
//!
//! ```text
//!   core 0:  A ⇄ B (token through a pipe pair)   +   hog 1 … hog k (stream a buffer forever)
//! ```
//!
//! Each hog reads and writes its own buffer (4 × L2) in address order without ever blocking,
//! so it is always runnable and it keeps flushing L1 and L2. A and B are what they are in
//! `thread_switch/same_core`; A times every round trip (A writes, B wakes, reads and writes
//! back, A wakes).
//!
//! What a round trip is made of: when A blocks, the scheduler picks the next task among B and
//! the k hogs. A woken thread that has slept is owed CPU time, so it is often chosen at once
//! (wake-up preemption), and then the round trip is two switches plus the refill of what the
//! hogs evicted. When it is not chosen, it waits for the running hog's slice to end: the
//! scheduler looks again at the next tick (4 ms at HZ 250), so in the worst case a round trip
//! waits about one tick per hog ahead of it, about k ticks. The median round trip shows the
//! common case and the 99th percentile the waits. CPU per switch is the CPU time A and B
//! themselves used per hand-off (minus the `write`/`read` baseline): the switch plus refill,
//! without the waiting.

use std::io::{Read, Write};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::affinity;
use crate::cache::{Buffer, Order};
use crate::error::Error;
use crate::rusage::{self, Switches};
use crate::switch;

/// One run of the ping-pong beside `k` hogs.
#[derive(Debug, Clone, PartialEq)]
pub struct BackgroundRun {
    /// CPU-bound threads sharing the core.
    pub hogs: usize,
    /// Every round trip's wall time, in the order they ran.
    pub round_trips: Vec<Duration>,
    /// CPU time A and B used during the round trips.
    pub cpu: Duration,
    /// The `write`/`read` calls of all round trips on one thread without a switch.
    pub baseline: Duration,
    /// Context switches A and B made (`getrusage`).
    pub switches: Switches,
}

impl BackgroundRun {
    /// The `q` quantile (0..=1) of the round trips, in ns (nearest rank); 0 without any.
    pub fn round_trip_quantile_ns(&self, q: f64) -> f64 {
        quantile_ns(&self.round_trips, q)
    }

    /// CPU time A and B used per hand-off (half a round trip), minus the system calls' own
    /// cost, in ns.
    pub fn cpu_per_switch_ns(&self) -> f64 {
        switch::per_switch_ns(self.cpu, self.baseline, self.round_trips.len() as u64)
    }

    /// Switches `getrusage` counted per round trip (2 when neither thread was preempted).
    pub fn switches_per_round_trip(&self) -> f64 {
        rusage::per_round_trip(&self.switches, self.round_trips.len() as u64)
    }
}

/// The `q` quantile of `samples` in ns by nearest rank; 0 for no samples.
pub fn quantile_ns(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e9
}

/// CPU time the calling thread has used so far.
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        now.tv_sec.max(0) as u64,
        now.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Runs the same-core ping-pong beside `hogs` CPU-bound threads, each streaming through a
/// buffer of `hog_bytes`, for `round_trips` round trips or until `limit` has passed (at least
/// one round trip), after a settling period for the hogs to start.
pub fn ping_pong_beside(
    hogs: usize,
    hog_bytes: usize,
    round_trips: u64,
    limit: Duration,
) -> Result<BackgroundRun, Error> {
    let core = affinity::pick(1)?[0];
    let (mut to_b_read, mut to_b_write) = std::io::pipe().map_err(Error::io("pipe()"))?;
    let (mut to_a_read, mut to_a_write) = std::io::pipe().map_err(Error::io("pipe()"))?;
    let (mut self_read, mut self_write) = std::io::pipe().map_err(Error::io("pipe()"))?;
    let mut buffers = (0..hogs)
        .map(|i| Buffer::new(hog_bytes, 0x40c + i as u64))
        .collect::<Result<Vec<_>, _>>()?;
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(2);
    let (stop, ready) = (&stop, &ready);

    std::thread::scope(|scope| {
        for buffer in buffers.iter_mut() {
            scope.spawn(move || {
                // A hog that cannot be pinned would not compete for the core; it just leaves.
                if affinity::pin(core).is_err() {
                    return;
                }
                while !stop.load(Ordering::Relaxed) {
                    buffer.walk(Order::Sequential);
                }
            });
        }
        // The ping-pong stops the hogs whatever happens to it.
        let result = (|| {
            let b = scope.spawn(move || -> Result<(Switches, Duration), Error> {
                let pinned = affinity::pin(core);
                ready.wait();
                pinned?;
                let switches = rusage::thread_switches();
                let cpu = thread_cpu_time();
                loop {
                    let mut byte = [0u8];
                    if to_b_read
                        .read(&mut byte)
                        .map_err(Error::io("read from a pipe"))?
                        == 0
                    {
                        break;
                    }
                    to_a_write
                        .write_all(&[1])
                        .map_err(Error::io("write to a pipe"))?;
                }
                Ok((
                    rusage::thread_switches().since(&switches),
                    thread_cpu_time().saturating_sub(cpu),
                ))
            });
            let a = scope.spawn(move || -> Result<BackgroundRun, Error> {
                let pinned = affinity::pin(core);
                ready.wait();
                pinned?;
                // Let every hog get onto the core and into its buffer before timing.
                std::thread::sleep(Duration::from_millis(20));
                let mut samples = Vec::new();
                let started = Instant::now();
                let switches = rusage::thread_switches();
                let cpu = thread_cpu_time();
                while samples.is_empty()
                    || (samples.len() < round_trips as usize && started.elapsed() < limit)
                {
                    let start = Instant::now();
                    to_b_write
                        .write_all(&[1])
                        .map_err(Error::io("write to a pipe"))?;
                    let mut byte = [0u8];
                    to_a_read
                        .read_exact(&mut byte)
                        .map_err(Error::io("read from a pipe"))?;
                    samples.push(start.elapsed());
                }
                let cpu = thread_cpu_time().saturating_sub(cpu);
                let switches = rusage::thread_switches().since(&switches);
                // Closing the write end tells B to finish.
                drop(to_b_write);
                let count = samples.len() as u64;
                let baseline = switch::baseline(count, || {
                    for _ in 0..switch::SWITCHES_PER_ROUND_TRIP {
                        self_write
                            .write_all(&[1])
                            .map_err(Error::io("write to a pipe"))?;
                        let mut byte = [0u8];
                        self_read
                            .read_exact(&mut byte)
                            .map_err(Error::io("read from a pipe"))?;
                    }
                    Ok(())
                })?;
                Ok(BackgroundRun {
                    hogs,
                    round_trips: samples,
                    cpu,
                    baseline,
                    switches,
                })
            });
            let a = a.join().map_err(|_| Error::Panicked { what: "thread" })?;
            let b = b.join().map_err(|_| Error::Panicked { what: "thread" })?;
            let mut run = a?;
            let (switches, cpu) = b?;
            run.switches = run.switches.plus(&switches);
            run.cpu += cpu;
            Ok(run)
        })();
        stop.store(true, Ordering::Relaxed);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(quantile_ns(&samples, 0.5), 50_000.0);
        assert_eq!(quantile_ns(&samples, 0.99), 99_000.0);
        assert_eq!(quantile_ns(&samples, 1.0), 100_000.0);
        assert_eq!(quantile_ns(&samples[..1], 0.99), 1_000.0);
        assert_eq!(quantile_ns(&[], 0.5), 0.0);
    }

    #[test]
    fn cpu_time_grows_while_the_thread_works() {
        let before = thread_cpu_time();
        let mut buffer = Buffer::new(1 << 20, 1).unwrap();
        for _ in 0..20 {
            buffer.walk(Order::Random);
        }
        assert!(thread_cpu_time() > before);
    }

    #[test]
    fn a_hog_on_the_core_does_not_stop_the_ping_pong() {
        let run = ping_pong_beside(1, 64 << 10, 50, Duration::from_millis(500)).unwrap();
        assert!(!run.round_trips.is_empty());
        assert!(run.round_trip_quantile_ns(0.99) >= run.round_trip_quantile_ns(0.5));
        assert!(run.cpu > Duration::ZERO);
        // Both threads block once per round trip at least.
        assert!(run.switches_per_round_trip() >= 1.9, "{run:?}");
    }
}
