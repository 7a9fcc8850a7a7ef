//! The threads that take turns on a core, and what a switch costs because of them
//! (`[costs] switch_runnable`).
//!
//! A thread switched in after others ran on its core finds less of its own state (its stack,
//! its kernel task structure and stack, its sockets) where it left it. `micro`'s ring of n
//! threads on one core (`switch_runnable`) measures that directly: the switch to a thread that
//! n − 1 others ran between costs more as n grows, in steps where the ring's footprint outgrows
//! a cache level (on the 2026-12-07 EPYC guest, 2.4 µs at 2 threads, 4.1 µs at 256 and 8.3 µs
//! at 1,024). The kernel charges a switch `thread_switch` plus the curve's rise from 2 threads
//! (the pair, which `thread_switch` prices) to `n`, where `n − 1` is the number of distinct other threads that ran on
//! the core since the incoming one last did: a ring of n gives n − 1, whatever order the others
//! ran in. The count is the LRU stack distance of the cache model (`crate::cache`, Mattson et
//! al. 1970) with every thread weighing one.
//!
//! This is the measured curve, read as it is: no footprint is fitted. A thread that never ran
//! on the core (a new thread, whose start `spawn_thread_cpu` prices, or one migrated from
//! another core, the coldest case, so undercharged) is charged `thread_switch` alone: the ring
//! has no figure for it. A thread
//! that ran more often than the others between two runs of the incoming one counts once.

use super::Kernel;
use crate::cache::Recency;
use crate::cost::LineLatency;
use crate::event::{CoreId, ThreadId};

impl Kernel {
    /// Charges each switch the `switch_runnable` curve's rise for the threads that took turns
    /// on its core (none for an empty curve).
    pub(crate) fn with_switch_runnable(mut self, curve: LineLatency) -> Self {
        self.crowd = Crowd::new(curve, self.cores.len());
        self
    }
}

/// The curve and, per core, the order in which threads last ran there.
#[derive(Debug)]
pub(super) struct Crowd {
    curve: LineLatency,
    /// The curve at 2 threads (a pair: nothing to add).
    base: f64,
    cores: Vec<Recency<ThreadId>>,
}

impl Crowd {
    /// `None` for an empty curve: every switch costs `thread_switch`.
    pub(super) fn new(curve: LineLatency, cores: usize) -> Option<Crowd> {
        if curve.is_empty() {
            return None;
        }
        Some(Crowd {
            curve,
            base: curve.at(2.0),
            cores: (0..cores).map(|_| Recency::new()).collect(),
        })
    }

    /// `thread` starts a stay on `core`: the ns its switch costs beyond `thread_switch` (0 if
    /// it never ran there, or nothing else did since).
    pub(super) fn arrive(&mut self, core: CoreId, thread: ThreadId) -> u64 {
        let turns = &mut self.cores[core as usize];
        let extra = match turns.others_since(thread) {
            Some(others) if others > 0 => {
                let n = (others + 1) as f64;
                (self.curve.at(n) - self.base).max(0.0).round() as u64
            }
            _ => 0,
        };
        turns.run(thread, 1);
        extra
    }

    /// `thread` exited: its id may come back as a new thread, which has not run anywhere.
    pub(super) fn forget(&mut self, thread: ThreadId) {
        for turns in &mut self.cores {
            turns.forget(thread);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crowd() -> Crowd {
        let curve =
            LineLatency::new(&[(2, 2_000.0), (4, 2_500.0), (256, 4_000.0), (1024, 8_000.0)])
                .unwrap();
        Crowd::new(curve, 2).unwrap()
    }

    #[test]
    fn no_curve_no_crowd() {
        assert!(Crowd::new(LineLatency::EMPTY, 4).is_none());
    }

    #[test]
    fn a_ring_of_n_pays_the_curves_rise_to_n() {
        for (n, extra) in [
            (2u32, 0),
            (4, 500),
            (16, 1_000),
            (256, 2_000),
            (512, 4_000),
            (1024, 6_000),
        ] {
            let mut c = crowd();
            // First lap: nobody has run before, so nothing to add.
            for t in 0..n {
                assert_eq!(c.arrive(0, t), 0);
            }
            for _ in 0..3 {
                for t in 0..n {
                    assert_eq!(c.arrive(0, t), extra, "ring of {n}, thread {t}");
                }
            }
        }
    }

    #[test]
    fn the_rise_is_counted_from_two_threads_whatever_the_first_point() {
        // A curve from 1 thread: a pair still pays nothing extra, 4 threads the rise from 2.
        let curve = LineLatency::new(&[(1, 1_000.0), (2, 2_000.0), (4, 2_500.0)]).unwrap();
        let mut c = Crowd::new(curve, 1).unwrap();
        for t in [0, 1, 0, 1] {
            c.arrive(0, t);
        }
        assert_eq!(c.arrive(0, 0), 0, "a pair");
        for t in [2, 3, 1] {
            c.arrive(0, t);
        }
        assert_eq!(c.arrive(0, 0), 500, "a ring of four");
    }

    #[test]
    fn the_others_count_once_and_per_core() {
        let mut c = crowd();
        c.arrive(0, 0);
        // Threads 1 to 3 take turns on core 0 many times; thread 9 runs on core 1 only.
        for _ in 0..10 {
            for t in 1..4 {
                c.arrive(0, t);
            }
        }
        c.arrive(1, 9);
        // Three others since thread 0 ran: a ring of four.
        assert_eq!(c.arrive(0, 0), 500);
        // Thread 0 never ran on core 1: no figure, nothing added.
        assert_eq!(c.arrive(1, 0), 0);
        // Running again at once: no other thread since.
        assert_eq!(c.arrive(0, 0), 0);
    }

    #[test]
    fn a_reused_id_starts_cold_but_its_old_self_still_counts() {
        let mut c = crowd();
        for t in 0..4 {
            c.arrive(0, t);
        }
        c.forget(3);
        // Thread 3's id comes back as a new thread: nothing to add.
        assert_eq!(c.arrive(0, 3), 0);
        // Thread 0 saw 1, 2, the old 3 and the new 3 since: four others, a ring of five.
        let five = (crowd().curve.at(5.0) - 2_000.0).round() as u64;
        assert_eq!(c.arrive(0, 0), five);
    }
}
