//! The kernel's scheduling policy: how long a thread keeps its core while others wait.

use crate::sched::KernelParams;

/// How runnable threads share the cores: the slice a thread gets. The run queue is first in,
/// first out under every policy; a policy decides how long a thread keeps its core while
/// others wait. (The kernel-fidelity work adds EEVDF and CFS proper here.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Policy {
    /// Round robin with a fixed time slice.
    RoundRobin {
        /// The slice, ns.
        quantum: u64,
    },
    /// CFS-like: the target latency divided among the runnable threads per core, never below
    /// the minimum granularity; a thread that starts waiting shortens the running slices.
    Fair {
        /// Target latency, ns (6 ms x (1 + ilog2(min(cores, 8))), as Linux scales it).
        latency: u64,
        /// Minimum granularity, ns (0.75 ms x the same factor).
        min: u64,
    },
}

impl Policy {
    /// `quantum`: a fixed slice, or `None` for the CFS-like policy scaled for `cores`.
    pub(crate) fn new(quantum: Option<u64>, cores: u64) -> Self {
        match quantum {
            Some(quantum) => Policy::RoundRobin { quantum },
            None => {
                // Linux's factor, capped at 8 CPUs (`SCHED_TUNABLESCALING_LOG`).
                let params = KernelParams {
                    cores,
                    ..KernelParams::default()
                };
                Policy::Fair {
                    latency: params.cfs_latency(),
                    min: params.cfs_min_granularity(),
                }
            }
        }
    }

    /// The slice of a thread dispatched when `runnable` threads share `cores` cores.
    pub(super) fn slice(&self, runnable: u64, cores: u64) -> u64 {
        match *self {
            Policy::RoundRobin { quantum } => quantum,
            Policy::Fair { latency, min } => {
                let per_core = runnable.div_ceil(cores).max(1);
                (latency / per_core).max(min)
            }
        }
    }

    /// Running slices shrink when another thread starts waiting.
    pub(super) fn shrinks(&self) -> bool {
        matches!(self, Policy::Fair { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fair_slice_stops_growing_at_eight_cores() {
        let fair = |cores| Policy::new(None, cores);
        assert_eq!(
            fair(1),
            Policy::Fair {
                latency: 6_000_000,
                min: 750_000
            }
        );
        // 3 cores: ilog2 gives factor 2 (the float log2 gave 2.58).
        assert_eq!(fair(3), fair(2));
        assert_eq!(
            fair(64),
            Policy::Fair {
                latency: 24_000_000,
                min: 3_000_000
            }
        );
        assert_eq!(fair(1024), fair(8));
    }
}
