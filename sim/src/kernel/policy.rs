//! The kernel's scheduling policy, from the machine's `[machine]` keys and a server's
//! `quantum`.

use crate::machine::{self, Preemption, Scheduler};
use crate::sched::{self, KernelParams, Preempt};

/// How runnable threads share the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// One first-in first-out queue all cores take from, each thread running a fixed slice
    /// while others wait (`scheduler = "rr"`, a server's `quantum`). Work-conserving and
    /// order-preserving across cores: the processor sharing of the closed-form tests.
    RoundRobin {
        /// The slice, ns.
        quantum: u64,
    },
    /// One run queue per core under Linux's fair scheduler (`eevdf` or `cfs`, `crate::sched`),
    /// slices ending on the tick unless `hrtick`, wake-up preemption, idle cores stealing.
    Fair(KernelParams),
}

impl Policy {
    /// The policy of a machine with `cores` cores running `kernel`; a server's `quantum` means
    /// round robin with that slice (the scenario checks refuse a quantum beside another
    /// `scheduler`). `scheduler = "rr"` without a quantum (only reachable for models that have
    /// none, e.g. a runtime's worker threads) slices at the tick.
    pub(crate) fn new(quantum: Option<u64>, kernel: &machine::Kernel, cores: u64) -> Self {
        let params = KernelParams {
            scheduler: match kernel.scheduler {
                Scheduler::Eevdf => sched::Policy::Eevdf,
                Scheduler::Cfs => sched::Policy::Cfs,
                Scheduler::Rr => sched::Policy::RoundRobin { quantum: 0 },
            },
            hz: kernel.hz,
            preempt: match kernel.preempt {
                Preemption::None => Preempt::None,
                Preemption::Voluntary => Preempt::Voluntary,
                Preemption::Full => Preempt::Full,
            },
            hrtick: kernel.hrtick,
            cores,
        };
        match (quantum, params.scheduler) {
            (Some(quantum), _) => Policy::RoundRobin { quantum },
            (None, sched::Policy::RoundRobin { .. }) => Policy::RoundRobin {
                quantum: params.tick_ns(),
            },
            (None, _) => Policy::Fair(params),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantum_means_round_robin_and_the_default_is_eevdf() {
        let k = machine::Kernel::default();
        assert_eq!(
            Policy::new(Some(1_000_000), &k, 4),
            Policy::RoundRobin { quantum: 1_000_000 }
        );
        let Policy::Fair(p) = Policy::new(None, &k, 64) else {
            panic!("the default is a fair policy")
        };
        assert_eq!(p.scheduler, sched::Policy::Eevdf);
        // The slice factor stops growing at 8 CPUs: 0.75 ms x 4.
        assert_eq!(p.base_slice(), 3_000_000);
        let rr = machine::Kernel {
            scheduler: Scheduler::Rr,
            ..k
        };
        assert_eq!(
            Policy::new(None, &rr, 1),
            Policy::RoundRobin { quantum: 4_000_000 }
        );
    }
}
