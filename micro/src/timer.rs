//! What a timer wake-up costs a core that is busy (`timer_wakeup_cpu`): the timed sleep's
//! system call and arming of the timer, the timer's interrupt (on a VM, through the hypervisor)
//! and the wake-up, beyond the context switches the simulator already counts.
//!
//! [`THREADS`] threads pinned to one core each loop over [`WORK_NS`] of arithmetic and then
//! either a timed sleep (`std::thread::sleep`, the default timer slack, as a server's thread
//! sleeps) or `sched_yield`. There are enough of them that the core never idles: while some
//! sleep, the rest keep it busy. Rounds alternate the two modes on the same threads, so load
//! from elsewhere falls on both alike. Per iteration:
//!
//! ```text
//!   core time   wall time of the window less the core's cpuidle residency, per iteration
//!   switches    voluntary + involuntary (getrusage, the whole process)
//!   interrupts  local timer interrupts on the core (/proc/interrupts, LOC)
//! ```
//!
//! `timer_wakeup_cpu` = core time (sleep) − core time (yield) − the extra switches per
//! iteration × the same-core thread switch: what a timed sleep costs the core beyond a switch.
//! A woken sleeper that preempted the thread it found running would add a switch to the
//! iteration, which the simulator charges itself (wake-up preemption), so extra switches are
//! taken out here. On the EPYC guest there were none to take out (1.00 switches per iteration
//! in both modes, 1.02 once).
//!
//! Measured first by hand in C on the 2-vCPU EPYC guest (2026-12-07, 14:40–14:50): 100 threads
//! with 1 ms sleeps, 28.5–29.7 µs of process CPU per iteration against 21.7–21.8 µs yielding;
//! 300 and 1,000 threads with 10 ms sleeps, 31.8 and 32.3 against 22.5 and 24.5 µs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{monotonic_ns, process_cpu_ns};
use crate::error::Error;
use crate::idle::{calibrate_work, idle_counters, work};
use crate::rusage::process_switches;
use crate::{affinity, quantile};

/// Threads sharing the core: with [`WORK_NS`] each, one pass over them (2 ms) outlasts a sleep.
pub const THREADS: usize = 100;
/// Each iteration's arithmetic on a warm core.
pub const WORK_NS: f64 = crate::idle::WORK_NS;
/// Each timed sleep.
pub const SLEEP: Duration = Duration::from_millis(1);
/// After a change of mode, before the window opens: every sleeper has woken at least once.
const SETTLE: Duration = Duration::from_millis(20);
/// A round whose core idled for more than this share of its window was not saturated.
const MAX_IDLE_SHARE: f64 = 0.02;

/// How the threads end each iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `sched_yield`: one switch to the next thread, no timer.
    Yield,
    /// A timed sleep of [`SLEEP`].
    Sleep,
}

/// One mode's figures, medians over its rounds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModeFigures {
    /// The core's non-idle time per iteration, ns.
    pub core_ns: f64,
    /// The process's CPU time per iteration (`CLOCK_PROCESS_CPUTIME_ID`), ns: the core time
    /// less what the kernel accounts elsewhere (softirq time) or what other processes took.
    pub process_cpu_ns: f64,
    /// Context switches per iteration, voluntary and involuntary.
    pub switches: f64,
    /// Local timer interrupts on the core per iteration (`None` when unreadable).
    pub timer_interrupts: Option<f64>,
    /// Rounds counted.
    pub rounds: usize,
    /// Rounds dropped because the core idled (the threads did not keep it busy).
    pub rounds_not_saturated: usize,
}

/// Both modes on the same threads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimerWakeup {
    /// Threads on the core.
    pub threads: usize,
    /// Each sleep, ns.
    pub sleep_ns: f64,
    /// Thread CPU of one iteration's arithmetic alone on a warm core, ns.
    pub work_ns: f64,
    /// The threads yielded.
    pub yielding: ModeFigures,
    /// The threads slept.
    pub sleeping: ModeFigures,
}

impl TimerWakeup {
    /// What a timed sleep costs the core beyond `switch_ns` per context switch, ns.
    pub fn wakeup_cpu_ns(&self, switch_ns: f64) -> f64 {
        let extra_switches = self.sleeping.switches - self.yielding.switches;
        self.sleeping.core_ns - self.yielding.core_ns - extra_switches * switch_ns
    }

    /// The same per timer interrupt, ns: [`TimerWakeup::wakeup_cpu_ns`] over the timer
    /// interrupts a sleep added (sleeping less yielding, which leaves the scheduler tick
    /// out). `None` when the interrupts were not counted or a sleep added fewer than
    /// [`MIN_INTERRUPTS_PER_SLEEP`] (the quotient would be noise).
    ///
    /// On a VM nearly all of a timed sleep's cost beyond the switch is its interrupt (the
    /// exits to the hypervisor to deliver it and to re-arm the timer), and expiries within the
    /// timer slack share one: on the EPYC guest 0.45-0.47 interrupts per sleep here, 0.01 per
    /// request for a busy tokio server (its timer wheel rides on the loop's poll), 0.2 for may
    /// and 0.65 for a thread per connection, each with 10 ms sleeps at 1,000 connections
    /// (2026-12-07 about 23:50 UTC, `/proc/interrupts`). A price per sleep carries this probe's
    /// sharing to servers whose sleeps share differently; a price per interrupt does not.
    pub fn interrupt_cpu_ns(&self, switch_ns: f64) -> Option<f64> {
        let added = self.sleeping.timer_interrupts? - self.yielding.timer_interrupts?;
        (added >= MIN_INTERRUPTS_PER_SLEEP).then(|| self.wakeup_cpu_ns(switch_ns) / added)
    }
}

/// Fewest timer interrupts a sleep must add for [`TimerWakeup::interrupt_cpu_ns`].
pub const MIN_INTERRUPTS_PER_SLEEP: f64 = 0.05;

/// Local timer interrupts `cpu` has taken (the `LOC` row of `/proc/interrupts`): the
/// scheduler tick's and every hrtimer's; `None` when the row or the CPU's column is missing.
pub fn timer_interrupts(cpu: usize) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/interrupts").ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let column = header.iter().position(|h| *h == format!("CPU{cpu}"))?;
    let row = lines.find(|l| l.trim_start().starts_with("LOC:"))?;
    row.split_whitespace().nth(1 + column)?.parse().ok()
}

/// One window's raw counts.
struct Round {
    iterations: u64,
    wall_ns: f64,
    idle_ns: Option<f64>,
    process_cpu_ns: f64,
    switches: u64,
    timer_interrupts: Option<u64>,
}

impl Round {
    fn saturated(&self) -> bool {
        self.idle_ns
            .is_none_or(|idle| idle <= MAX_IDLE_SHARE * self.wall_ns)
    }
}

/// Counts everything over `window` on `cpu` while the threads run.
fn window(cpu: usize, count: &AtomicU64, window: Duration) -> Round {
    let idle0 = idle_counters(cpu);
    let loc0 = timer_interrupts(cpu);
    let switches0 = process_switches();
    let cpu0 = process_cpu_ns();
    let n0 = count.load(Ordering::Relaxed);
    let t0 = monotonic_ns();
    std::thread::sleep(window);
    let n1 = count.load(Ordering::Relaxed);
    let t1 = monotonic_ns();
    let cpu1 = process_cpu_ns();
    let switches1 = process_switches();
    let loc1 = timer_interrupts(cpu);
    let idle1 = idle_counters(cpu);
    Round {
        iterations: n1 - n0,
        wall_ns: (t1 - t0) as f64,
        idle_ns: idle0
            .zip(idle1)
            .map(|(a, b)| (b.time_us.saturating_sub(a.time_us) * 1_000) as f64),
        process_cpu_ns: (cpu1 - cpu0) as f64,
        // The coordinator's own switch (its sleep) is in this count: one in thousands.
        switches: switches1.since(&switches0).total(),
        timer_interrupts: loc0.zip(loc1).map(|(a, b)| b.saturating_sub(a)),
    }
}

fn figures(rounds: &[Round]) -> Result<ModeFigures, Error> {
    let counted: Vec<&Round> = rounds
        .iter()
        .filter(|r| r.saturated() && r.iterations > 0)
        .collect();
    let median = |f: &dyn Fn(&Round) -> Option<f64>| {
        let values: Vec<f64> = counted.iter().filter_map(|r| f(r)).collect();
        quantile::median(&values)
    };
    let per = |r: &Round, v: f64| v / r.iterations as f64;
    Ok(ModeFigures {
        core_ns: median(&|r| Some(per(r, r.wall_ns - r.idle_ns.unwrap_or(0.0)))).ok_or(
            Error::Disturbed {
                what: "timer wake-up",
                reason: "the core idled in every round: the threads did not keep it busy",
            },
        )?,
        process_cpu_ns: median(&|r| Some(per(r, r.process_cpu_ns))).unwrap_or(f64::NAN),
        switches: median(&|r| Some(per(r, r.switches as f64))).unwrap_or(f64::NAN),
        timer_interrupts: median(&|r| r.timer_interrupts.map(|n| per(r, n as f64))),
        rounds: counted.len(),
        rounds_not_saturated: rounds.len() - counted.len(),
    })
}

/// Stops the threads (even on an early return) and joins them.
struct Crew {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Alternates yielding and sleeping rounds for about `duration` (at least one pair).
pub fn measure(duration: Duration) -> Result<TimerWakeup, Error> {
    let cores = affinity::cores();
    let core = *cores.first().ok_or(Error::NotEnoughCores {
        needed: 1,
        available: 0,
    })?;
    // The coordinator stays off the measured core when there is another.
    let coordinator = cores.get(1).copied();
    let (iterations, work_ns) = std::thread::scope(|s| {
        s.spawn(|| affinity::pin(core).map(|()| calibrate_work()))
            .join()
            .map_err(|_| Error::Panicked {
                what: "timer work calibration",
            })?
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let sleeping = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut crew = Crew {
        stop: stop.clone(),
        threads: Vec::with_capacity(THREADS),
    };
    for _ in 0..THREADS {
        let (stop, sleeping, count) = (stop.clone(), sleeping.clone(), count.clone());
        let thread = std::thread::Builder::new()
            .name("micro-timer".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                if affinity::pin(core).is_err() {
                    return;
                }
                while !stop.load(Ordering::Relaxed) {
                    std::hint::black_box(work(iterations));
                    count.fetch_add(1, Ordering::Relaxed);
                    if sleeping.load(Ordering::Relaxed) {
                        std::thread::sleep(SLEEP);
                    } else {
                        std::thread::yield_now();
                    }
                }
            })
            .map_err(Error::io("spawning the timer threads"))?;
        crew.threads.push(thread);
    }
    let pairs = ((duration.as_secs_f64() / 0.4) as usize).max(1);
    let span = (duration / (2 * pairs as u32)).saturating_sub(SETTLE);
    let span = span.max(Duration::from_millis(50));
    let (yields, sleeps) = std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(c) = coordinator {
                let _ = affinity::pin(c);
            }
            let (mut yields, mut sleeps) = (Vec::new(), Vec::new());
            for _ in 0..pairs {
                for (mode, rounds) in [(false, &mut yields), (true, &mut sleeps)] {
                    sleeping.store(mode, Ordering::Relaxed);
                    std::thread::sleep(SETTLE);
                    rounds.push(window(core.id, &count, span));
                }
            }
            (yields, sleeps)
        })
        .join()
        .map_err(|_| Error::Panicked {
            what: "timer coordinator",
        })
    })?;
    drop(crew);
    if count.load(Ordering::Relaxed) == 0 {
        return Err(Error::NoSamples {
            what: "timer wake-up",
        });
    }
    Ok(TimerWakeup {
        threads: THREADS,
        sleep_ns: SLEEP.as_nanos() as f64,
        work_ns,
        yielding: figures(&yields)?,
        sleeping: figures(&sleeps)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(iterations: u64, wall_ns: f64, idle_ns: f64, switches: u64) -> Round {
        Round {
            iterations,
            wall_ns,
            idle_ns: Some(idle_ns),
            process_cpu_ns: wall_ns - idle_ns,
            switches,
            timer_interrupts: Some(iterations / 2),
        }
    }

    #[test]
    fn the_cost_is_the_difference_less_the_extra_switches() {
        let yielding = figures(&[round(1_000, 22e6, 0.0, 1_000)]).unwrap();
        let sleeping = figures(&[
            round(1_000, 32e6, 0.0, 1_500),
            // The core idled a quarter of this window: not saturated, dropped.
            round(1_000, 40e6, 10e6, 1_500),
        ])
        .unwrap();
        assert_eq!((sleeping.rounds, sleeping.rounds_not_saturated), (1, 1));
        assert_eq!(sleeping.switches, 1.5);
        assert_eq!(sleeping.timer_interrupts, Some(0.5));
        let t = TimerWakeup {
            threads: THREADS,
            sleep_ns: 1e6,
            work_ns: 20e3,
            yielding,
            sleeping,
        };
        // 32 − 22 µs, less half a switch of 2 µs.
        assert_eq!(t.wakeup_cpu_ns(2_000.0), 9_000.0);
        // Both modes took 0.5 interrupts per iteration: the sleep added none, no figure.
        assert_eq!(t.interrupt_cpu_ns(2_000.0), None);
        // The ticks alone while yielding: each sleep added 0.45, so 9 µs / 0.45 = 20 µs.
        let mut t = t;
        t.yielding.timer_interrupts = Some(0.05);
        let per_interrupt = t.interrupt_cpu_ns(2_000.0).unwrap();
        assert!((per_interrupt - 20_000.0).abs() < 1e-6, "{per_interrupt}");
        t.sleeping.timer_interrupts = None;
        assert_eq!(t.interrupt_cpu_ns(2_000.0), None);
    }

    #[test]
    fn a_core_that_always_idled_is_an_error_not_a_figure() {
        let e = figures(&[round(100, 10e6, 5e6, 100)]).unwrap_err();
        assert!(e.to_string().contains("did not keep it busy"), "{e}");
    }

    #[test]
    fn the_interrupt_row_is_read_for_a_listed_cpu_only() {
        assert!(timer_interrupts(4096).is_none());
    }

    #[test]
    fn a_short_run_measures_both_modes() {
        match measure(Duration::from_millis(300)) {
            Ok(t) => {
                eprintln!(
                    "{t:#?}\n{:.0} ns beyond 2 us switches",
                    t.wakeup_cpu_ns(2_000.0)
                );
                assert!(t.yielding.core_ns > 0.0 && t.sleeping.core_ns > 0.0);
                assert!(t.yielding.rounds + t.yielding.rounds_not_saturated >= 1);
            }
            // A machine too loaded to keep the core to ourselves says so; that is not a bug.
            Err(e) => assert!(e.to_string().contains("timer"), "{e}"),
        }
    }
}
