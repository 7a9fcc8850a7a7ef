//! A ring of threads on one core, each walking its own working set and then waking the next:
//! what a switch costs once the cache has to be refilled after it.
//!
//! ```text
//!   core 0:  t0 ─walk W─▶ write ─▶ t1 ─walk W─▶ write ─▶ t2 … t(n-1) ─walk W─▶ write ─▶ t0
//!            (each thread blocks in read on its own pipe until the previous one writes)
//! ```
//!
//! A ring of 2 is the same-core ping-pong of [`crate::switch`] with a working set:
//! `switch_working_set/<bytes>`. A ring of n with a fixed working set is
//! `switch_runnable/<n>`: only one thread runs and one is being woken at any moment, but the
//! core cycles through n stacks, n kernel task structures and n buffers, so each thread comes
//! back to a cache that the other n - 1 have filled with their own lines.
//!
//! The baseline is the same walks and the same `write`/`read` calls made by one thread on one
//! buffer of the same size, without a switch: the thread finds its buffer where its previous
//! walk left it. Per pass (one hand-off, one switch), the ring's time minus the baseline is the
//! switch plus the refill of whatever the others evicted: the extra cost per switch.

use std::io::{PipeReader, PipeWriter, Read, Write};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::affinity;
use crate::cache::{Buffer, Order};
use crate::error::Error;
use crate::rusage::{self, Switches};
use crate::switch;

/// The raw timings of one ring run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RingRun {
    /// Threads in the ring.
    pub threads: usize,
    /// Bytes each thread walks before passing the token.
    pub bytes: usize,
    /// Hand-offs timed (each is one switch).
    pub passes: u64,
    /// Wall time of the timed passes.
    pub elapsed: Duration,
    /// Wall time of the same walks and system calls on one thread without a switch.
    pub baseline: Duration,
    /// Context switches the ring's threads made during the timed passes (`getrusage`).
    pub switches: Switches,
}

impl RingRun {
    /// Extra nanoseconds per switch: the ring's time minus the baseline, per hand-off.
    pub fn per_switch_ns(&self) -> f64 {
        if self.passes == 0 {
            return 0.0;
        }
        (self.elapsed.as_secs_f64() - self.baseline.as_secs_f64()) * 1e9 / self.passes as f64
    }

    /// The time `switches` hand-offs cost at this run's net rate (for Criterion's
    /// `iter_custom`), never negative.
    pub fn time_for(&self, switches: u64) -> Duration {
        Duration::from_secs_f64(self.per_switch_ns().max(0.0) * switches as f64 / 1e9)
    }

    /// Switches `getrusage` counted per hand-off (1 when each hand-off blocked once).
    pub fn switches_per_pass(&self) -> f64 {
        rusage::per_round_trip(&self.switches, self.passes)
    }
}

/// Rounds of the ring (each `threads` hand-offs) that cover `switches` switches.
pub fn rounds_for(switches: u64, threads: usize) -> u64 {
    switches.div_ceil(threads.max(1) as u64).max(1)
}

fn send(pipe: &mut PipeWriter) -> Result<(), Error> {
    pipe.write_all(&[1]).map_err(Error::io("write to a pipe"))
}

fn receive(pipe: &mut PipeReader) -> Result<(), Error> {
    let mut byte = [0u8];
    pipe.read_exact(&mut byte)
        .map_err(Error::io("read from a pipe"))
}

/// Runs `rounds` timed rounds (after one untimed warm-up round) of a ring of `threads` threads
/// (at least 2) pinned to one core, each walking its own `bytes`-byte buffer in `order` before
/// waking the next.
pub fn ring(threads: usize, bytes: usize, order: Order, rounds: u64) -> Result<RingRun, Error> {
    let threads = threads.max(2);
    let core = affinity::pick(1)?[0];
    // Pipe i is read by thread i and written by thread i - 1.
    let mut readers = Vec::with_capacity(threads);
    let mut writers = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (reader, writer) = std::io::pipe().map_err(Error::io("pipe()"))?;
        readers.push(reader);
        writers.push(writer);
    }
    writers.rotate_left(1);
    let mut buffers = (0..threads)
        .map(|i| Buffer::new(bytes, 0x5eed + i as u64))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut self_read, mut self_write) = std::io::pipe().map_err(Error::io("pipe()"))?;
    let ready = Barrier::new(threads);
    let ready = &ready;

    std::thread::scope(|scope| {
        let mut ends = readers.into_iter().zip(writers).zip(buffers.drain(..));
        let Some(((mut first_read, mut first_write), mut first_buffer)) = ends.next() else {
            return Err(Error::NotEnoughCores {
                needed: 1,
                available: 0,
            });
        };
        // Threads 1..n: each owns its pipe ends, so if one fails and returns, the next one's
        // read sees end-of-file and the failure travels round the ring instead of a hang.
        let others: Vec<_> = ends
            .map(|((mut read, mut write), mut buffer)| {
                scope.spawn(move || -> Result<Switches, Error> {
                    let pinned = affinity::pin(core);
                    ready.wait();
                    pinned?;
                    let mut before = Switches::default();
                    for round in 0..=rounds {
                        // Round 0 is the driver's warm-up; count from the wait for round 1.
                        if round == 1 {
                            before = rusage::thread_switches();
                        }
                        receive(&mut read)?;
                        buffer.walk(order);
                        send(&mut write)?;
                    }
                    Ok(rusage::thread_switches().since(&before))
                })
            })
            .collect();
        let driver = scope.spawn(move || -> Result<RingRun, Error> {
            let pinned = affinity::pin(core);
            let passes = rounds * threads as u64;
            // The others are blocked in `read` until the first write, so the baseline has the
            // core to itself. The barrier must be reached even on failure, or they wait forever.
            let baseline = pinned.and_then(|()| {
                first_buffer.walk(order);
                switch::baseline(passes, || {
                    first_buffer.walk(order);
                    send(&mut self_write)?;
                    receive(&mut self_read)
                })
            });
            ready.wait();
            let baseline = baseline?;
            // One untimed round brings every thread's buffer in once.
            first_buffer.walk(order);
            send(&mut first_write)?;
            receive(&mut first_read)?;
            let before = rusage::thread_switches();
            let start = Instant::now();
            for _ in 0..rounds {
                first_buffer.walk(order);
                send(&mut first_write)?;
                receive(&mut first_read)?;
            }
            let elapsed = start.elapsed();
            Ok(RingRun {
                threads,
                bytes,
                passes,
                elapsed,
                baseline,
                switches: rusage::thread_switches().since(&before),
            })
        });
        let run = driver
            .join()
            .map_err(|_| Error::Panicked { what: "thread" })?;
        let mut counted = Switches::default();
        let mut failure = None;
        for other in others {
            match other
                .join()
                .map_err(|_| Error::Panicked { what: "thread" })?
            {
                Ok(switches) => counted = counted.plus(&switches),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        let mut run = run?;
        if let Some(error) = failure {
            return Err(error);
        }
        run.switches = run.switches.plus(&counted);
        Ok(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_cover_the_switches_asked_for() {
        assert_eq!(rounds_for(1, 2), 1);
        assert_eq!(rounds_for(4, 2), 2);
        assert_eq!(rounds_for(5, 4), 2);
        assert_eq!(rounds_for(0, 8), 1);
    }

    #[test]
    fn the_net_rate_subtracts_the_baseline_per_hand_off() {
        let run = RingRun {
            threads: 4,
            bytes: 0,
            passes: 1_000,
            elapsed: Duration::from_millis(5),
            baseline: Duration::from_millis(1),
            switches: Switches::default(),
        };
        assert!((run.per_switch_ns() - 4_000.0).abs() < 1e-6);
        assert_eq!(run.time_for(10), Duration::from_micros(40));
        let noisy = RingRun {
            baseline: Duration::from_millis(9),
            ..run
        };
        assert_eq!(noisy.time_for(10), Duration::ZERO);
    }

    #[test]
    fn each_hand_off_in_a_ring_blocks_once() {
        let run = ring(4, 4_096, Order::Random, 200).unwrap();
        assert_eq!(run.passes, 800);
        assert!(run.elapsed > Duration::ZERO && run.baseline > Duration::ZERO);
        // Another process can add preemptions, but a blocking ring cannot switch less than
        // once per hand-off.
        let observed = run.switches_per_pass();
        assert!(observed >= 0.95, "{observed} switches per hand-off");
    }
}
