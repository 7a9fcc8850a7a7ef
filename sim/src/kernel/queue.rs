//! The run queues: one shared FIFO (round robin), or one fair run queue per core
//! (`crate::sched`), and what the kernel does around the per-core ones: placing a woken thread,
//! wake-up preemption, idle cores stealing.

use std::collections::VecDeque;

use super::{Carried, Kernel, NEVER, Policy, State, Waker};
use crate::event::{CoreId, NONE, ThreadId};
use crate::queue::EventQueue;
use crate::sched::{Blocked, Enqueue, RunQueue, Sleeper};
use crate::time::SimTime;

/// The runnable threads not running, by policy.
#[derive(Debug)]
pub(super) enum Queues {
    /// Round robin: one FIFO every core takes from, a fixed slice.
    Shared {
        fifo: VecDeque<ThreadId>,
        quantum: u64,
    },
    /// A fair run queue per core (it holds its running thread too).
    PerCore {
        rqs: Vec<Box<dyn RunQueue>>,
        /// Threads on each queue that can run (running included, EEVDF's delayed sleepers
        /// not): the load placement and stealing compare.
        load: Vec<u32>,
    },
}

impl Queues {
    pub(super) fn new(policy: Policy, cores: u64) -> Self {
        match policy {
            Policy::RoundRobin { quantum } => Queues::Shared {
                fifo: VecDeque::new(),
                quantum,
            },
            Policy::Fair(params) => Queues::PerCore {
                rqs: (0..cores as u32).map(|c| params.run_queue(c)).collect(),
                load: vec![0; cores as usize],
            },
        }
    }

    /// Who `core` runs from `now` (fair queues; the running thread competes). `None` for
    /// round robin, whose cores take the FIFO's head only when free.
    pub(super) fn pick(&mut self, core: CoreId, now: SimTime) -> Option<ThreadId> {
        match self {
            Queues::Shared { .. } => None,
            Queues::PerCore { rqs, .. } => rqs[core as usize].pick(now),
        }
    }

    /// When the slice of the thread `core` runs (its computation starting at `slice_start`)
    /// ends, if nothing else happens.
    pub(super) fn slice_end(&self, core: CoreId, now: SimTime, slice_start: SimTime) -> SimTime {
        match self {
            Queues::Shared { quantum, .. } => slice_start + *quantum,
            Queues::PerCore { rqs, .. } => rqs[core as usize].slice_end(now).unwrap_or(NEVER),
        }
    }

    /// `core`'s slice-end event at `now` (its thread `current` still has work): who runs next,
    /// `None` to keep `current` with a new slice.
    pub(super) fn slice_over(
        &mut self,
        core: CoreId,
        current: ThreadId,
        now: SimTime,
    ) -> Option<ThreadId> {
        match self {
            Queues::Shared { fifo, .. } => {
                let next = fifo.pop_front()?;
                fifo.push_back(current);
                Some(next)
            }
            Queues::PerCore { rqs, .. } => {
                let rq = &mut rqs[core as usize];
                if rq.tick(now) { rq.pick(now) } else { None }
            }
        }
    }

    /// The thread running on `core` blocks (or, with `exit`, ends) at `now`: what it leaves
    /// behind for its wake-up.
    pub(super) fn block(&mut self, core: CoreId, now: SimTime, exit: bool) -> Carried {
        match self {
            Queues::Shared { .. } => Carried::New,
            Queues::PerCore { rqs, load } => {
                load[core as usize] -= 1;
                let rq = &mut rqs[core as usize];
                if exit {
                    rq.exit(now);
                    return Carried::New;
                }
                match rq.block(now) {
                    Blocked::Left(s) => Carried::Left(s),
                    Blocked::Delayed => Carried::Delayed(core),
                }
            }
        }
    }
}

impl Kernel {
    /// Puts the runnable `thread` on `core`'s fair queue, as new or with what it carried out
    /// of its last one. Round robin: nothing (a free core takes it directly).
    pub(super) fn enqueue(&mut self, now: SimTime, core: CoreId, thread: ThreadId) {
        let Queues::PerCore { rqs, load } = &mut self.queues else {
            return;
        };
        let (carried, how) = match self.threads[thread as usize].carried {
            Carried::Left(s) => (s, Enqueue::Wakeup),
            // A delayed sleeper is requeued where it is before placement (`requeue_delayed`).
            Carried::New | Carried::Delayed(_) => (Sleeper::NEW, Enqueue::New),
        };
        rqs[core as usize].enqueue(thread, carried, now, how);
        load[core as usize] += 1;
    }

    /// `thread` is runnable and no core is idle: round robin queues it at the tail; the fair
    /// policies put it on the least loaded core's queue, where it may preempt.
    pub(super) fn enqueue_busy(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        thread: ThreadId,
        by: Waker,
    ) {
        self.run_level.set(now, self.waiting);
        if let Queues::Shared { fifo, .. } = &mut self.queues {
            fifo.push_back(thread);
            return;
        }
        let core = self.least_loaded(thread, by);
        self.enqueue(now, core, thread);
        self.after_wakeup(now, queue, core, thread, by);
    }

    /// The least loaded core (threads that can run on its queue); ties go to `thread`'s last
    /// core, then the waker's, then the lowest index.
    fn least_loaded(&self, thread: ThreadId, by: Waker) -> CoreId {
        let Queues::PerCore { load, .. } = &self.queues else {
            return 0;
        };
        let last = self.threads[thread as usize].last_core;
        let waker = match by {
            Waker::Core(core) => core,
            Waker::Outside | Waker::Io | Waker::Handoff => NONE,
        };
        let mut best = NONE;
        for core in [last, waker].into_iter().chain(0..load.len() as CoreId) {
            if core != NONE && (best == NONE || load[core as usize] < load[best as usize]) {
                best = core;
            }
        }
        best
    }

    /// `thread` just joined busy `core`'s fair queue: a wake-up preemption, or a shorter slice
    /// for the running thread.
    fn after_wakeup(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        thread: ThreadId,
        by: Waker,
    ) {
        let Queues::PerCore { rqs, .. } = &mut self.queues else {
            return;
        };
        debug_assert_ne!(self.cores[core as usize].running, NONE);
        if !rqs[core as usize].wakeup_preempts(thread, now) {
            self.reslice(now, queue, core);
            return;
        }
        if by == Waker::Core(core) {
            // The waker runs here, inside the system call that woke `thread`: the switch
            // waits for its return to user space (see the module docs), at this same instant.
            self.cores[core as usize].resched = true;
            return;
        }
        // An interrupt or another core's IPI: the running thread is in user mode and is
        // switched out on the interrupt's return, in every preemption model.
        self.account(now, core);
        let next = self.queues.pick(core, now);
        if next == Some(thread) {
            self.wakeup_preemptions += 1;
        }
        self.switch_to(now, queue, core, next);
    }

    /// Wakes `thread` where EEVDF kept it queued, if it was delayed and still is; true when
    /// done.
    pub(super) fn requeue_delayed(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        thread: ThreadId,
        by: Waker,
    ) -> bool {
        let Carried::Delayed(core) = self.threads[thread as usize].carried else {
            return false;
        };
        let Queues::PerCore { rqs, load } = &mut self.queues else {
            return false;
        };
        match rqs[core as usize].requeue(thread, now) {
            Err(left) => {
                self.threads[thread as usize].carried = Carried::Left(left);
                false
            }
            Ok(()) => {
                load[core as usize] += 1;
                self.run_level.set(now, self.waiting);
                self.threads[thread as usize].carried = Carried::New;
                if self.cores[core as usize].running == NONE {
                    // Not expected (an idle core's queue holds no delayed sleeper), but then
                    // it simply runs there.
                    if self.cores[core as usize].idle_slot != NONE {
                        self.take_idle(core);
                    }
                    let picked = self.queues.pick(core, now).unwrap_or(thread);
                    self.dispatch(now, queue, core, picked, 0);
                } else {
                    self.after_wakeup(now, queue, core, thread, by);
                }
                true
            }
        }
    }

    /// The thread on `core` left it: who runs there next, from its own queue or (fair
    /// policies) stolen from the core with the most waiting threads.
    pub(super) fn next_for_free_core(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
    ) -> Option<ThreadId> {
        let (rqs, load) = match &mut self.queues {
            Queues::Shared { fifo, .. } => return fifo.pop_front(),
            Queues::PerCore { rqs, load } => (rqs, load),
        };
        if let Some(next) = rqs[core as usize].pick(now) {
            return Some(next);
        }
        // Idle balancing: the busiest other queue with a thread waiting.
        let mut victim = NONE;
        let mut most = 1;
        for (c, rq) in rqs.iter().enumerate() {
            if c as CoreId != core && load[c] > most && rq.waiting() > 0 {
                most = load[c];
                victim = c as CoreId;
            }
        }
        if victim == NONE {
            return None;
        }
        let stolen = rqs[victim as usize].steal_candidate()?;
        let carried = rqs[victim as usize].detach(stolen, now)?;
        load[victim as usize] -= 1;
        rqs[core as usize].enqueue(stolen, carried, now, Enqueue::Wakeup);
        load[core as usize] += 1;
        debug_assert_eq!(self.threads[stolen as usize].state, State::Runnable);
        let next = rqs[core as usize].pick(now);
        self.reslice(now, queue, victim);
        next
    }
}
