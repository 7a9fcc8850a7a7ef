//! OS thread ping-pong: what a switch between two threads costs, and what a wake-up across
//! cores costs.
//!
//! Two threads pass one byte back and forth through a pair of pipes, as
//! `perf bench sched pipe -T` does: each blocks in `read` until the other writes, so every round
//! trip parks each thread in the kernel once.
//!
//! - [`Placement::SameCore`]: both threads pinned to one core. Each round trip is two real
//!   context switches; the time per switch, minus a baseline of the same `write`/`read` calls
//!   made on one thread that never blocks, is the switch cost.
//! - [`Placement::CrossCore`]: the threads on two cores. Nothing is switched out for anything:
//!   the time is the wake-up latency of a sleeping thread on another core (IPI, idle exit,
//!   scheduling), which is latency, not core time.
//! - [`Placement::Unpinned`]: no affinity; the scheduler decides, so this mixes the two.
//!
//! [`spin_handoff`] is the hardware floor beside the cross-core number: the same hand-off
//! through one atomic that both cores spin on, never entering the kernel.
//!
//! Threads are spawned, pinned and synchronised before the clock starts; only round trips are
//! timed. `getrusage(RUSAGE_THREAD)` counts the switches each thread really made so the caller
//! can check them against the two per round trip assumed here.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::affinity;
use crate::error::Error;
use crate::rusage::{self, Switches};

/// Switches per round trip of a blocking ping-pong: each thread blocks once.
pub const SWITCHES_PER_ROUND_TRIP: u64 = 2;

/// Where the two threads of a ping-pong run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Both pinned to the same core: a real context switch per hand-off.
    SameCore,
    /// Pinned to two different cores: wake-up latency per hand-off.
    CrossCore,
    /// No affinity at all.
    Unpinned,
}

impl Placement {
    /// The benchmark name under `thread_switch/`.
    pub fn name(&self) -> &'static str {
        match self {
            Placement::SameCore => "same_core",
            Placement::CrossCore => "cross_core",
            Placement::Unpinned => "unpinned",
        }
    }

    fn cores(
        &self,
    ) -> Result<(Option<core_affinity::CoreId>, Option<core_affinity::CoreId>), Error> {
        Ok(match self {
            Placement::SameCore => {
                let core = affinity::pick(1)?[0];
                (Some(core), Some(core))
            }
            Placement::CrossCore => {
                let cores = affinity::pick(2)?;
                (Some(cores[0]), Some(cores[1]))
            }
            Placement::Unpinned => (None, None),
        })
    }
}

/// The raw timings of one ping-pong run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingPong {
    /// Round trips timed.
    pub round_trips: u64,
    /// Wall time of all round trips.
    pub elapsed: Duration,
    /// Wall time of the same system calls on one thread without any switch (zero for a spin).
    pub baseline: Duration,
    /// Context switches both threads made during the timed round trips.
    pub switches: Switches,
}

impl PingPong {
    /// Nanoseconds per hand-off (half a round trip) after subtracting the baseline.
    pub fn per_switch_ns(&self) -> f64 {
        per_switch_ns(self.elapsed, self.baseline, self.round_trips)
    }

    /// The time `switches` hand-offs cost at this run's rate (what Criterion's `iter_custom`
    /// wants back when one iteration is one switch).
    pub fn time_for(&self, switches: u64) -> Duration {
        Duration::from_secs_f64(self.per_switch_ns().max(0.0) * switches as f64 / 1e9)
    }

    /// Switches `getrusage` counted per round trip.
    pub fn switches_per_round_trip(&self) -> f64 {
        rusage::per_round_trip(&self.switches, self.round_trips)
    }
}

/// Nanoseconds per switch: the round trips' time minus the baseline, over two switches each.
pub fn per_switch_ns(elapsed: Duration, baseline: Duration, round_trips: u64) -> f64 {
    if round_trips == 0 {
        return 0.0;
    }
    let net = elapsed.as_secs_f64() - baseline.as_secs_f64();
    net * 1e9 / (round_trips * SWITCHES_PER_ROUND_TRIP) as f64
}

/// Round trips that cover `switches` switches (Criterion counts switches).
pub fn round_trips_for(switches: u64) -> u64 {
    switches.div_ceil(SWITCHES_PER_ROUND_TRIP).max(1)
}

fn send(pipe: &mut std::io::PipeWriter) -> Result<(), Error> {
    pipe.write_all(&[1]).map_err(Error::io("write to a pipe"))
}

fn receive(pipe: &mut std::io::PipeReader) -> Result<(), Error> {
    let mut byte = [0u8];
    pipe.read_exact(&mut byte)
        .map_err(Error::io("read from a pipe"))
}

fn pipe() -> Result<(std::io::PipeReader, std::io::PipeWriter), Error> {
    std::io::pipe().map_err(Error::io("pipe()"))
}

fn pin_if(core: Option<core_affinity::CoreId>) -> Result<(), Error> {
    core.map_or(Ok(()), affinity::pin)
}

/// Chunks the baseline is timed in; the fastest chunk's rate is the baseline.
const BASELINE_CHUNKS: u64 = 8;

/// Times `round_trip()` (the system calls of one round trip, without a switch) over
/// `round_trips` and returns the time at the fastest chunk's rate.
///
/// Another process taking the core during the baseline only adds time, and the ping-pong would
/// then look cheaper by that much (even free), so the least disturbed chunk stands for all.
pub fn baseline(
    round_trips: u64,
    mut round_trip: impl FnMut() -> Result<(), Error>,
) -> Result<Duration, Error> {
    let per_chunk = round_trips.div_ceil(BASELINE_CHUNKS).max(1);
    let mut fastest = f64::INFINITY;
    let mut done = 0;
    while done < round_trips {
        let count = per_chunk.min(round_trips - done);
        let start = Instant::now();
        for _ in 0..count {
            round_trip()?;
        }
        fastest = fastest.min(start.elapsed().as_secs_f64() / count as f64);
        done += count;
    }
    if done == 0 {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_secs_f64(fastest * round_trips as f64))
}

/// Runs `round_trips` blocking round trips between two threads placed as asked.
pub fn pipe_ping_pong(placement: Placement, round_trips: u64) -> Result<PingPong, Error> {
    let (core_a, core_b) = placement.cores()?;
    let (mut to_b_read, mut to_b_write) = pipe()?;
    let (mut to_a_read, mut to_a_write) = pipe()?;
    let (mut self_read, mut self_write) = pipe()?;
    let ready = Arc::new(Barrier::new(2));
    let ready_b = Arc::clone(&ready);

    std::thread::scope(|scope| {
        // Each thread owns its pipe ends, so if one fails and returns, the other's read sees
        // end-of-file and fails too instead of blocking forever.
        let b = scope.spawn(move || -> Result<Switches, Error> {
            let pinned = pin_if(core_b);
            ready_b.wait();
            pinned?;
            let before = rusage::thread_switches();
            for _ in 0..round_trips {
                receive(&mut to_b_read)?;
                send(&mut to_a_write)?;
            }
            Ok(rusage::thread_switches().since(&before))
        });
        let a = scope.spawn(move || -> Result<PingPong, Error> {
            let pinned = pin_if(core_a);
            // The barrier must be reached even on failure, or thread B would wait forever.
            let baseline = pinned.and_then(|()| {
                baseline(round_trips, || {
                    for _ in 0..SWITCHES_PER_ROUND_TRIP {
                        send(&mut self_write)?;
                        receive(&mut self_read)?;
                    }
                    Ok(())
                })
            });
            ready.wait();
            let baseline = baseline?;
            let before = rusage::thread_switches();
            let start = Instant::now();
            for _ in 0..round_trips {
                send(&mut to_b_write)?;
                receive(&mut to_a_read)?;
            }
            let elapsed = start.elapsed();
            let switches = rusage::thread_switches().since(&before);
            Ok(PingPong {
                round_trips,
                elapsed,
                baseline,
                switches,
            })
        });
        let a = a.join().map_err(|_| Error::Panicked { what: "thread" })?;
        let b = b.join().map_err(|_| Error::Panicked { what: "thread" })?;
        let mut run = a?;
        run.switches = run.switches.plus(&b?);
        Ok(run)
    })
}

/// Runs `round_trips` spinning hand-offs between two threads on two different cores.
pub fn spin_handoff(round_trips: u64) -> Result<PingPong, Error> {
    let cores = affinity::pick(2)?;
    let turn = AtomicU64::new(0);
    let ready = Barrier::new(2);
    // Holds the id + 1 of a core that refused a thread (0: none). After the barrier both
    // threads give up if it is set, instead of one spinning forever for a partner that left.
    let refused = AtomicUsize::new(0);
    let pin_or_flag = |core: core_affinity::CoreId| {
        if affinity::pin(core).is_err() {
            refused.store(core.id + 1, Ordering::Release);
        }
        ready.wait();
        match refused.load(Ordering::Acquire) {
            0 => Ok(()),
            id_plus_one => Err(Error::Pin {
                core: id_plus_one - 1,
            }),
        }
    };

    std::thread::scope(|scope| {
        let b = scope.spawn(|| -> Result<Switches, Error> {
            pin_or_flag(cores[1])?;
            let before = rusage::thread_switches();
            for i in 0..round_trips {
                while turn.load(Ordering::Acquire) != 2 * i + 1 {
                    std::hint::spin_loop();
                }
                turn.store(2 * i + 2, Ordering::Release);
            }
            Ok(rusage::thread_switches().since(&before))
        });
        let a = scope.spawn(|| -> Result<PingPong, Error> {
            pin_or_flag(cores[0])?;
            let before = rusage::thread_switches();
            let start = Instant::now();
            for i in 0..round_trips {
                turn.store(2 * i + 1, Ordering::Release);
                while turn.load(Ordering::Acquire) != 2 * i + 2 {
                    std::hint::spin_loop();
                }
            }
            let elapsed = start.elapsed();
            Ok(PingPong {
                round_trips,
                elapsed,
                baseline: Duration::ZERO,
                switches: rusage::thread_switches().since(&before),
            })
        });
        let a = a.join().map_err(|_| Error::Panicked { what: "thread" })?;
        let b = b.join().map_err(|_| Error::Panicked { what: "thread" })?;
        let mut run = a?;
        run.switches = run.switches.plus(&b?);
        Ok(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_baseline_is_subtracted_and_each_round_trip_is_two_switches() {
        // 1000 round trips in 5 ms with a 1 ms baseline: 4 ms over 2000 switches = 2 us each.
        let ns = per_switch_ns(Duration::from_millis(5), Duration::from_millis(1), 1000);
        assert!((ns - 2_000.0).abs() < 1e-6, "{ns}");
        assert_eq!(
            per_switch_ns(Duration::from_millis(5), Duration::ZERO, 0),
            0.0
        );
        assert_eq!(round_trips_for(1), 1);
        assert_eq!(round_trips_for(4), 2);
        assert_eq!(round_trips_for(5), 3);
    }

    #[test]
    fn the_baseline_takes_the_least_disturbed_chunk() {
        // 80 round trips in 8 chunks of 10; one chunk is slowed by a simulated preemption.
        let mut calls = 0;
        let took = baseline(80, || {
            calls += 1;
            let pause = if (31..=40).contains(&calls) {
                2_000
            } else {
                20
            };
            std::thread::sleep(Duration::from_micros(pause));
            Ok(())
        })
        .unwrap();
        assert_eq!(calls, 80);
        // At the undisturbed rate: 80 x ~20 us plus sleep overshoot, far below the ~20 ms
        // that the disturbed chunk alone took.
        assert!(took < Duration::from_millis(12), "{took:?}");
        assert_eq!(baseline(0, || Ok(())).unwrap(), Duration::ZERO);
    }

    #[test]
    fn time_for_scales_the_net_rate_and_never_goes_negative() {
        let run = PingPong {
            round_trips: 10,
            elapsed: Duration::from_micros(40),
            baseline: Duration::from_micros(20),
            switches: Switches::default(),
        };
        assert_eq!(run.time_for(20), Duration::from_micros(20));
        let noisy = PingPong {
            baseline: Duration::from_micros(50),
            ..run
        };
        assert_eq!(noisy.time_for(20), Duration::ZERO);
    }

    #[test]
    fn a_same_core_ping_pong_blocks_twice_per_round_trip() {
        let run = pipe_ping_pong(Placement::SameCore, 2_000).unwrap();
        assert_eq!(run.round_trips, 2_000);
        assert!(run.elapsed > run.baseline, "{run:?}");
        let observed = run.switches_per_round_trip();
        // Another process can add a few preemptions, but a blocking ping-pong cannot switch
        // less than once per hand-off.
        assert!(observed >= 1.9, "{observed} switches per round trip");
    }

    #[test]
    fn cross_core_runs_skip_cleanly_when_there_is_one_core() {
        match spin_handoff(1_000) {
            Ok(run) => assert!(run.per_switch_ns() > 0.0),
            Err(Error::NotEnoughCores { needed, .. }) => assert_eq!(needed, 2),
            Err(other) => panic!("{other}"),
        }
    }
}
