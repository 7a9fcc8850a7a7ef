//! Round robin with a fixed quantum: first in first out, a thread runs `quantum` and goes to
//! the tail if someone waits, no wake-up preemption, no tick rounding. This is the processor
//! sharing the closed-form tests check (`scheduler = "rr"`), and the kernel model's behaviour
//! before EEVDF and CFS were modelled.

use std::collections::VecDeque;

use super::{Blocked, Enqueue, Id, RunQueue, Sleeper};
use crate::time::SimTime;

/// One core's round-robin queue.
#[derive(Debug)]
pub(crate) struct RoundRobin {
    quantum: u64,
    waiting: VecDeque<Id>,
    running: Option<Id>,
    /// When the running thread's current run of quanta started.
    picked_at: SimTime,
}

impl RoundRobin {
    /// An empty queue with slices of `quantum` ns (at least 1).
    pub(crate) fn new(quantum: u64) -> Self {
        RoundRobin {
            quantum: quantum.max(1),
            waiting: VecDeque::new(),
            running: None,
            picked_at: SimTime::ZERO,
        }
    }
}

impl RunQueue for RoundRobin {
    fn enqueue(&mut self, id: Id, _carried: Sleeper, _now: SimTime, _how: Enqueue) {
        self.waiting.push_back(id);
    }

    fn pick(&mut self, now: SimTime) -> Option<Id> {
        if let Some(next) = self.waiting.pop_front() {
            if let Some(current) = self.running {
                self.waiting.push_back(current);
            }
            self.running = Some(next);
            self.picked_at = now;
        } else if self.running.is_some() {
            // Alone: it keeps the core with a fresh quantum.
            self.picked_at = now;
        }
        self.running
    }

    fn block(&mut self, _now: SimTime) -> Blocked {
        self.running = None;
        Blocked::Left(Sleeper::NEW)
    }

    fn requeue(&mut self, _id: Id, _now: SimTime) -> Result<(), Sleeper> {
        debug_assert!(false, "only EEVDF delays a dequeue");
        Err(Sleeper::NEW)
    }

    fn detach(&mut self, id: Id, _now: SimTime) -> Option<Sleeper> {
        let i = self.waiting.iter().position(|&w| w == id)?;
        self.waiting.remove(i);
        Some(Sleeper::NEW)
    }

    fn tick(&mut self, now: SimTime) -> bool {
        self.running.is_some()
            && !self.waiting.is_empty()
            && now.since(self.picked_at) >= self.quantum
    }

    fn slice_end(&self, now: SimTime) -> Option<SimTime> {
        self.running?;
        if self.waiting.is_empty() {
            return None;
        }
        // A lone thread renews its quantum at each boundary, so the slice that is running
        // when someone arrives ends on the next boundary.
        let quanta = now.since(self.picked_at).div_ceil(self.quantum).max(1);
        Some(self.picked_at + quanta * self.quantum)
    }

    fn wakeup_preempts(&mut self, _woken: Id, _now: SimTime) -> bool {
        false
    }

    fn running(&self) -> Option<Id> {
        self.running
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn steal_candidate(&self) -> Option<Id> {
        self.waiting.back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_take_turns_of_one_quantum_in_arrival_order() {
        let mut q = RoundRobin::new(1_000_000);
        for id in [1, 2, 3] {
            q.enqueue(id, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
        }
        let mut now = SimTime::ZERO;
        let mut order = vec![q.pick(now).unwrap()];
        for _ in 0..5 {
            now = q.slice_end(now).unwrap();
            assert!(q.tick(now));
            order.push(q.pick(now).unwrap());
        }
        assert_eq!(order, vec![1, 2, 3, 1, 2, 3]);
        assert_eq!(now, SimTime(5_000_000));
    }

    #[test]
    fn a_woken_thread_waits_for_the_quantum_boundary() {
        let mut q = RoundRobin::new(1_000_000);
        q.enqueue(1, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
        q.pick(SimTime::ZERO);
        q.enqueue(2, Sleeper::NEW, SimTime(2_500_000), Enqueue::Wakeup);
        assert!(!q.wakeup_preempts(2, SimTime(2_500_000)));
        assert_eq!(q.slice_end(SimTime(2_500_000)), Some(SimTime(3_000_000)));
    }
}
