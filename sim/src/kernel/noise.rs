//! The machine's noise: cores taken from what they run by timer ticks, interrupts, kernel
//! threads and, in a virtual machine, the host running something else on the vCPU
//! (`[costs] interruptions`, which `calibrate` measures; see [`crate::cost::Interruptions`]).
//!
//! Each core is interrupted as a Poisson process of the measured rate, independent of what it
//! runs; an interruption's length is drawn from the measured bins, each with the probability of
//! its share of the rate. The cores' processes are merged into one: one pending
//! [`Event::Interruption`] at a time, at the summed rate, which picks its core uniformly. That
//! keeps the event queue at one extra entry whatever the core count, and lets the process stop
//! when nothing else is left to happen (an open loop that drained), so a run still ends.
//!
//! - A core running a thread pays the interruption as core time owed before anything else
//!   (`Core::stolen`): its segment ends that much later and the time is its own share of the
//!   CPU split (`cpu.interrupted`), not the thread's work. The slice is wall time and does not
//!   move: a tick comes when it comes. The fair queues charge the thread's virtual runtime by
//!   wall time, so an interrupted thread is charged for it, as Linux charges interrupt time to
//!   the running task unless `IRQ_TIME_ACCOUNTING` is on (host preemption is charged too here,
//!   where Linux subtracts steal time when the host reports it).
//! - An idle core stays unavailable until the interruption ends: a thread woken onto it starts
//!   after it (`Core::quiet_at`).
//!
//! Ticks are periodic on the machine; the measurement cannot tell them from the rest, so they
//! are replayed as part of the Poisson process. With the rate unset every run is unchanged: no
//! event is queued and no random number drawn.

use rand::{Rng as _, SeedableRng as _};

use super::Kernel;
use crate::cost::Interruptions;
use crate::dist::{Dist, SimRng};
use crate::event::{CoreId, Event, NONE};
use crate::queue::EventQueue;
use crate::time::SimTime;

/// The merged interruption process of all cores.
#[derive(Debug)]
pub(super) struct Noise {
    bins: Interruptions,
    /// The gap between two interruptions of any core: exponential, of mean one over the summed
    /// rate.
    gap: Dist,
    /// Its own stream, so that the rest of a run draws the same numbers with or without it.
    rng: SimRng,
}

/// Mixed into the run's seed for the noise stream.
const STREAM: u64 = 0x6e6f_6973_6520_7631;

impl Noise {
    fn gap(&mut self) -> u64 {
        self.gap.sample(&mut self.rng)
    }
}

impl Kernel {
    /// Interrupts each core as `bins` says, drawing from a stream seeded by `seed`.
    pub(crate) fn with_interruptions(mut self, bins: Interruptions, seed: u64) -> Self {
        self.noise = (!bins.is_empty()).then(|| Noise {
            bins,
            gap: Dist::Exp {
                mean: (1e9 / (bins.rate_per_s() * self.cores.len() as f64)).round() as u64,
            },
            rng: SimRng::seed_from_u64(seed ^ STREAM),
        });
        self
    }

    /// Queues the first interruption, if the machine has any.
    pub(crate) fn start_noise(&mut self, queue: &mut EventQueue) {
        if let Some(noise) = &mut self.noise {
            queue.push(SimTime(noise.gap()), Event::Interruption);
        }
    }

    /// An interruption is due now: one core, picked at random, loses the drawn length. The next
    /// one is queued unless nothing else is left to happen.
    pub(crate) fn interruption(&mut self, now: SimTime, queue: &mut EventQueue) {
        let cores = self.cores.len();
        let Some(noise) = &mut self.noise else {
            return;
        };
        let core = ((noise.rng.random::<f64>() * cores as f64) as usize).min(cores - 1);
        let ns = noise.bins.pick(noise.rng.random());
        let gap = noise.gap();
        if queue.len() > 0 {
            queue.push(now + gap, Event::Interruption);
        }
        if self.cores[core].running == NONE {
            let c = &mut self.cores[core];
            c.quiet_at = c.quiet_at.max(now) + ns;
            return;
        }
        let core = core as CoreId;
        self.account(now, core);
        // A core still in a wake-up delay (idle exit, a cross-core wake-up) is not computing
        // yet: only the part of the interruption past the delay holds it up.
        let start = self.cores[core as usize].start;
        self.cores[core as usize].stolen += (now + ns).0.saturating_sub(start.0.max(now.0));
        self.schedule(queue, core);
    }

    /// How long an idle `core` handed a thread at `now` stays taken by an interruption.
    pub(super) fn interrupted_for(&self, now: SimTime, core: CoreId) -> u64 {
        self.cores[core as usize].quiet_at.0.saturating_sub(now.0)
    }
}
