//! What a core pays for idling: leaving idle costs core time (`idle_wakeup_cpu`: idle exit,
//! timer and interrupt paths, its own share of the CPU split) and delays the woken thread
//! (`idle_exit_latency`, a C-state exit; in a VM also the host scheduling the halted vCPU
//! again). Both are zero unless a costs file sets them: the reference machine's measurement
//! could not see an idle core.
//!
//! The delay is a constant, the median, unless `idle_exit_latency_p99` is above it. Then each
//! exit is drawn from a shifted exponential `a + b·E` (`E` exponential of mean 1) with that
//! median and 99th percentile: `b = (p99 − p50) / ln 50`, `a = p50 − b·ln 2`. On this VM
//! (`haltpoll`, a busy host) the exit's p50 was 25 µs and its p99 106 µs: most exits are quick,
//! a few wait for the host. When the p99 is more than `ln 100 / ln 2` (6.6) times the median no
//! shifted exponential has both; the shift is then 0 and the scale keeps the p99
//! (`b = p99 / ln 100`), so the tail is right and the median comes out lower. The draws have
//! their own random stream, so the rest of a run draws the same numbers either way.

use rand::SeedableRng as _;

use super::{CoreId, Kernel, NEVER, NONE};
use crate::dist::{Dist, SimRng};
use crate::time::SimTime;

/// The random part of leaving idle.
#[derive(Debug)]
pub(super) struct ExitTail {
    shift: f64,
    /// The exponential part, of mean `b`.
    scale: Dist,
    rng: SimRng,
}

/// Mixed into the run's seed for the exit stream.
const STREAM: u64 = 0x6964_6c65_2065_7869;

impl ExitTail {
    /// The shifted exponential with median `p50` and 99th percentile `p99`; `None` when the
    /// p99 is not above the median (the exit is then the constant median).
    fn new(p50: u64, p99: u64, seed: u64) -> Option<ExitTail> {
        if p99 <= p50 {
            return None;
        }
        let (p50, p99) = (p50 as f64, p99 as f64);
        let (ln2, ln100) = (2f64.ln(), 100f64.ln());
        let mut scale = (p99 - p50) / (ln100 - ln2);
        let mut shift = p50 - scale * ln2;
        if shift < 0.0 {
            scale = p99 / ln100;
            shift = 0.0;
        }
        Some(ExitTail {
            shift,
            scale: Dist::Exp {
                mean: scale.round() as u64,
            },
            rng: SimRng::seed_from_u64(seed ^ STREAM),
        })
    }

    fn draw(&mut self) -> u64 {
        self.shift as u64 + self.scale.sample(&mut self.rng)
    }
}

impl Kernel {
    /// An idle core for a woken thread: one that never ran anything first (lowest index),
    /// else the one most recently idle.
    pub(super) fn pop_any_idle(&mut self) -> Option<CoreId> {
        if let Some(core) = self.fresh.pop() {
            return Some(core);
        }
        let core = *self.idle.last()?;
        self.take_idle(core);
        Some(core)
    }

    /// Takes `core` off the idle list.
    pub(super) fn take_idle(&mut self, core: CoreId) {
        let slot = self.cores[core as usize].idle_slot as usize;
        let last = self.idle.len() - 1;
        self.idle.swap(slot, last);
        let moved = self.idle[slot];
        self.cores[moved as usize].idle_slot = slot as u32;
        self.idle.pop();
        self.cores[core as usize].idle_slot = NONE;
    }

    /// What a core pays each time it leaves idle: `cpu` of core time (its own share of the
    /// CPU split) and a delay before the woken thread computes, of median `latency` and 99th
    /// percentile `latency_p99` (see the module docs), drawn from a stream seeded by `seed`.
    pub(crate) fn with_idle_costs(
        mut self,
        cpu: u64,
        latency: u64,
        latency_p99: u64,
        seed: u64,
    ) -> Self {
        self.idle_wakeup_cpu = cpu;
        self.idle_exit_latency = latency;
        self.exit_tail = ExitTail::new(latency, latency_p99, seed);
        self
    }

    /// Hook: `core` has nothing to run from `now` on. Idle costs (C-state entry) go here.
    pub(super) fn enter_idle(&mut self, now: SimTime, core: CoreId) {
        let c = &mut self.cores[core as usize];
        c.idle_slot = self.idle.len() as u32;
        c.slice_end = NEVER;
        c.resched = false;
        c.record.idle_since = now;
        self.idle.push(core);
    }

    /// Hook: an idle `core` is handed a thread at `now`; returns extra delay (ns) before it
    /// computes (C-state exit, `idle_exit_latency`, drawn when its p99 is given; an
    /// interruption under way) and whether the core halted, and makes the core pay
    /// `idle_wakeup_cpu` of core time first (idle exit, timer and interrupt paths). Both
    /// default to zero: the reference machine's measurement could not see them.
    ///
    /// The idle costs are paid whenever a core ran out of work, however briefly: the idle
    /// loop's entry and exit (the tick stopped and restarted, on a VM each a trip to the
    /// hypervisor) cost it whether or not it reached the halt. A testbed server answering a
    /// spinning client at one connection halts for 0.1-0.2 of its requests, yet its core
    /// spends 12 µs per request outside the server's thread (2026-12-07). A core handed a
    /// thread at the very instant it ran out of work did not halt (the second value is
    /// false): the woken thread then pays no `wakeup_cpu` (see `kernel/wakeup.rs`).
    ///
    /// With `halt_after` set, a core woken within that long of running out of work had not
    /// halted yet: it pays `brief_idle_cpu` instead of `idle_wakeup_cpu`, no exit latency, and
    /// the woken thread no `wakeup_cpu`. `calibrate` finds the halt by pausing a loopback
    /// client 0, 5, 10 and 20 µs before each request (`micro/src/halt.rs`).
    pub(super) fn leave_idle(&mut self, now: SimTime, core: CoreId) -> (u64, bool) {
        let since = self.cores[core as usize].record.idle_since;
        if self.halt_after > 0 && now.ns().saturating_sub(since.ns()) <= self.halt_after {
            // Woken inside the idle loop's entry: it turns back without halting.
            self.cores[core as usize].idle_cpu = self.brief_idle_cpu;
            return (self.interrupted_for(now, core), false);
        }
        let halted = since < now;
        self.halts += u64::from(halted);
        self.cores[core as usize].idle_cpu = self.idle_wakeup_cpu;
        (
            self.exit_latency() + self.interrupted_for(now, core),
            halted,
        )
    }

    /// Sets how long an idle core runs the idle loop before it halts (`halt_after`, ns) and
    /// what a spell that ended sooner costs it (`brief_idle_cpu`, ns of core time).
    pub(crate) fn with_halt(mut self, halt_after: u64, brief_idle_cpu: u64) -> Self {
        self.halt_after = halt_after;
        self.brief_idle_cpu = brief_idle_cpu;
        self
    }

    /// The delay of one exit from idle.
    pub(super) fn exit_latency(&mut self) -> u64 {
        match &mut self.exit_tail {
            Some(tail) => tail.draw(),
            None => self.idle_exit_latency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantiles(mut tail: ExitTail) -> (f64, f64) {
        let mut draws: Vec<u64> = (0..200_000).map(|_| tail.draw()).collect();
        draws.sort_unstable();
        (draws[100_000] as f64, draws[198_000] as f64)
    }

    #[test]
    fn draws_have_the_given_median_and_p99() {
        let (p50, p99) = quantiles(ExitTail::new(25_000, 106_000, 1).unwrap());
        assert!((p50 / 25_000.0 - 1.0).abs() < 0.02, "p50 {p50}");
        assert!((p99 / 106_000.0 - 1.0).abs() < 0.03, "p99 {p99}");
    }

    #[test]
    fn a_tail_too_long_for_the_median_keeps_the_p99() {
        let tail = ExitTail::new(10_000, 200_000, 1).unwrap();
        assert_eq!(tail.shift, 0.0);
        let (p50, p99) = quantiles(tail);
        assert!((p99 / 200_000.0 - 1.0).abs() < 0.03, "p99 {p99}");
        assert!(p50 < 10_000.0 * 3.1, "p50 {p50}");
    }

    #[test]
    fn no_tail_above_the_median_means_a_constant() {
        assert!(ExitTail::new(25_000, 0, 1).is_none());
        assert!(ExitTail::new(25_000, 25_000, 1).is_none());
    }
}
