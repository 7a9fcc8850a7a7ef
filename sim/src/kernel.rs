//! The kernel layer: cores and OS threads.
//!
//! Runnable threads share the cores round robin with a time slice. A core that changes from one
//! thread to a different one pays `thread_switch` of core time (a context switch); a blocked
//! thread woken straight onto an idle core other than the one it last ran on starts
//! `thread_wakeup` later (the core sits idle meanwhile: interrupt and idle exit). Threads keep
//! their core while they have work, so with no more threads than cores nothing switches.
//!
//! Each thread runs one [`Burst`] at a time, handed to it by its owner (a scheduling model or
//! the proxy). Preemption cancels the pending completion by bumping the core's generation,
//! credits the work done and requeues the thread at the tail.

use std::collections::VecDeque;

mod idle;
mod interrupt;
mod policy;
mod record;
mod refill;

pub(crate) use policy::Policy;
pub(crate) use record::CoreRecord;

use crate::cache::{Caches, Owner, Touch};
use crate::event::{CoreId, Event, NONE, ThreadId};
use crate::metrics::Level;
use crate::queue::EventQueue;
use crate::time::SimTime;

/// Core time a thread needs before its owner decides what it does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Burst {
    /// Switching done in user space (task or coroutine switches), run first.
    pub(crate) overhead: u64,
    /// Useful work (request CPU, spawning).
    pub(crate) work: u64,
    /// The data the work touches (a cpu step's working set), priced by the cache model when
    /// the burst starts on a core.
    pub(crate) touch: Option<Touch>,
    /// Refilling the caches (the kernel sets it from the cache model), run before the overhead.
    pub(crate) refill: u64,
}

impl Burst {
    /// Nothing to compute: the thread only needs a core to take its next decision (issue a
    /// read, hand a result back).
    pub(crate) const ZERO: Burst = Burst {
        overhead: 0,
        work: 0,
        touch: None,
        refill: 0,
    };

    pub(crate) fn work(work: u64) -> Burst {
        Burst {
            work,
            ..Burst::ZERO
        }
    }

    fn total(self) -> u64 {
        self.refill + self.overhead + self.work
    }
}

/// Who makes a blocked thread runnable: the thread on a core (it decides to wake another, so
/// the wake-up's origin is that core), or something outside any core (an I/O completion, a
/// timer, the network: the origin is the woken thread's last core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waker {
    /// The thread running on this core.
    Core(CoreId),
    /// No core: an interrupt.
    Outside,
    /// A thread the simulation does not run (a server's acceptor or listener), woken by the
    /// network, hands work to this one: on a machine of more than one core the hand-off is
    /// taken to cross cores (the acceptor sits wherever its interrupt landed), so a thread
    /// woken onto an idle core starts `thread_wakeup` later; on one core it never crosses.
    Handoff,
}

/// What a thread does once its burst is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep the core and compute this.
    Run(Burst),
    /// Wait (I/O, a lock, nothing to do); the core goes to someone else.
    Block,
    /// The thread ends.
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Blocked,
    Runnable,
    Running,
    Dead,
}

#[derive(Debug, Clone, Copy)]
struct Thread {
    state: State,
    last_core: CoreId,
    burst: Burst,
    /// The cache model has priced this burst's start on the thread's current core.
    priced: bool,
}

#[derive(Debug, Clone, Copy)]
struct Core {
    running: ThreadId,
    last: ThreadId,
    generation: u32,
    /// When the current segment's computation starts (after any wake-up delay).
    start: SimTime,
    /// Context-switch time still to pay at the start of the segment.
    switch: u64,
    /// Core time of leaving idle still to pay, before the switch (`idle_wakeup_cpu`).
    idle_cpu: u64,
    slice_start: SimTime,
    slice_end: SimTime,
    /// Position in the idle list, or NONE while busy.
    idle_slot: u32,
    /// What ran here lately.
    record: CoreRecord,
}

/// Cores, threads and the run queue of runnable threads.
#[derive(Debug)]
pub(crate) struct Kernel {
    cores: Vec<Core>,
    threads: Vec<Thread>,
    dead: Vec<ThreadId>,
    run_queue: VecDeque<ThreadId>,
    /// Idle cores that have run something, most recently idle last.
    idle: Vec<CoreId>,
    /// Cores that never ran anything, lowest index last.
    fresh: Vec<CoreId>,
    thread_switch: u64,
    thread_wakeup: u64,
    policy: Policy,
    /// No running slice is longer than this (lets most wake-ups skip the shrink scan).
    widest_slice: u64,
    running: u64,
    /// The cache model, when anything has a working set (else refills cost nothing and are
    /// not computed).
    caches: Option<Caches>,
    /// Stack every thread touches per run (`stack_working_set`), bytes.
    stack_working_set: u64,
    /// Core time and extra latency of a core leaving idle (`idle_wakeup_cpu`,
    /// `idle_exit_latency`).
    idle_wakeup_cpu: u64,
    idle_exit_latency: u64,
    /// Core time spent on useful work, on switching and on refilling caches, up to the last
    /// accounting point.
    pub(crate) useful_ns: u64,
    pub(crate) switching_ns: u64,
    pub(crate) refill_ns: u64,
    /// Core time spent leaving idle, up to the last accounting point.
    pub(crate) idle_wakeup_ns: u64,
    /// Context switches so far.
    pub(crate) context_switches: u64,
    /// The latest time up to which some core's work or switching has been credited.
    pub(crate) busy_until: SimTime,
    /// OS threads alive.
    pub(crate) live_threads: u64,
    /// Times a core was handed a thread while running another (must stay zero).
    pub(crate) overlaps: u64,
    /// Length of the run queue over time.
    pub(crate) run_level: Level,
}

impl Kernel {
    /// `cores` cores sharing threads under `policy`, with these switch and wake-up costs.
    pub(crate) fn new(cores: u64, thread_switch: u64, thread_wakeup: u64, policy: Policy) -> Self {
        Kernel {
            cores: vec![
                Core {
                    running: NONE,
                    last: NONE,
                    generation: 0,
                    start: SimTime::ZERO,
                    switch: 0,
                    idle_cpu: 0,
                    slice_start: SimTime::ZERO,
                    slice_end: SimTime::ZERO,
                    idle_slot: NONE,
                    record: CoreRecord::EMPTY,
                };
                cores as usize
            ],
            threads: Vec::new(),
            dead: Vec::new(),
            run_queue: VecDeque::new(),
            idle: Vec::with_capacity(cores as usize),
            fresh: (0..cores as u32).rev().collect(),
            thread_switch,
            thread_wakeup,
            policy,
            widest_slice: 0,
            running: 0,
            caches: None,
            stack_working_set: 0,
            idle_wakeup_cpu: 0,
            idle_exit_latency: 0,
            useful_ns: 0,
            switching_ns: 0,
            refill_ns: 0,
            idle_wakeup_ns: 0,
            context_switches: 0,
            busy_until: SimTime::ZERO,
            live_threads: 0,
            overlaps: 0,
            run_level: Level::default(),
        }
    }

    /// A new thread, blocked until [`Kernel::wake`].
    pub(crate) fn spawn(&mut self) -> ThreadId {
        self.live_threads += 1;
        let thread = Thread {
            state: State::Blocked,
            last_core: NONE,
            burst: Burst::ZERO,
            priced: false,
        };
        match self.dead.pop() {
            Some(id) => {
                self.threads[id as usize] = thread;
                id
            }
            None => {
                self.threads.push(thread);
                (self.threads.len() - 1) as ThreadId
            }
        }
    }

    /// Ends a blocked thread; its id may be reused.
    fn exit_blocked(&mut self, thread: ThreadId) {
        debug_assert_eq!(self.threads[thread as usize].state, State::Blocked);
        self.threads[thread as usize].state = State::Dead;
        self.forget(Owner::Stack(thread));
        self.dead.push(thread);
        self.live_threads -= 1;
    }

    /// Makes a blocked thread runnable with `burst`: onto its last core if idle, else onto
    /// another idle core, else to the tail of the run queue. Landing on an idle core other than
    /// the waker's (for outside wake-ups: the thread's last core) starts `thread_wakeup` later:
    /// a cross-core hand-over waits for the interrupt and the idle exit.
    pub(crate) fn wake(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        thread: ThreadId,
        burst: Burst,
        by: Waker,
    ) {
        let t = &mut self.threads[thread as usize];
        debug_assert_eq!(t.state, State::Blocked);
        t.burst = burst;
        t.priced = false;
        t.state = State::Runnable;
        let last = t.last_core;
        let target = if last != NONE && self.cores[last as usize].idle_slot != NONE {
            self.take_idle(last);
            Some(last)
        } else {
            self.pop_any_idle()
        };
        match target {
            Some(core) => {
                let crosses = match by {
                    Waker::Core(origin) => origin != core,
                    Waker::Outside => last != NONE && last != core,
                    Waker::Handoff => self.cores.len() > 1,
                };
                let delay = if crosses { self.thread_wakeup } else { 0 };
                let delay = delay + self.leave_idle(now, core);
                self.dispatch(now, queue, core, thread, delay);
            }
            None => {
                self.run_queue.push_back(thread);
                self.run_level.set(now, self.run_queue.len() as u64);
                self.shrink_slices(now, queue);
            }
        }
    }

    /// CFS divides its target latency among the runnable threads, so a thread that starts
    /// waiting shortens the slices already running (never below the minimum granularity, and
    /// never into the past). A fixed quantum does not change.
    fn shrink_slices(&mut self, now: SimTime, queue: &mut EventQueue) {
        if !self.policy.shrinks() {
            return;
        }
        let slice = self.slice();
        if slice >= self.widest_slice {
            return;
        }
        self.widest_slice = slice;
        for core in 0..self.cores.len() as CoreId {
            let c = &mut self.cores[core as usize];
            if c.running == NONE {
                continue;
            }
            let end = (c.slice_start + slice).max(now);
            if end < c.slice_end {
                c.slice_end = end;
                self.schedule(queue, core);
            }
        }
    }

    fn pop_any_idle(&mut self) -> Option<CoreId> {
        if let Some(core) = self.fresh.pop() {
            return Some(core);
        }
        let core = *self.idle.last()?;
        self.take_idle(core);
        Some(core)
    }

    fn take_idle(&mut self, core: CoreId) {
        let slot = self.cores[core as usize].idle_slot as usize;
        let last = self.idle.len() - 1;
        self.idle.swap(slot, last);
        let moved = self.idle[slot];
        self.cores[moved as usize].idle_slot = slot as u32;
        self.idle.pop();
        self.cores[core as usize].idle_slot = NONE;
    }

    fn slice(&self) -> u64 {
        let runnable = self.running + self.run_queue.len() as u64;
        self.policy.slice(runnable, self.cores.len() as u64)
    }

    /// What `core` ran lately (for a cache model).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn record(&self, core: CoreId) -> &CoreRecord {
        &self.cores[core as usize].record
    }

    fn dispatch(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        thread: ThreadId,
        delay: u64,
    ) {
        let c = &mut self.cores[core as usize];
        if c.running != NONE {
            self.overlaps += 1;
        }
        let switch = if c.last != NONE && c.last != thread {
            self.context_switches += 1;
            self.thread_switch
        } else {
            0
        };
        c.running = thread;
        c.last = thread;
        c.record.arrive(thread);
        c.start = now + delay;
        c.switch = switch;
        self.running += 1;
        let slice = self.slice();
        self.widest_slice = self.widest_slice.max(slice);
        let c = &mut self.cores[core as usize];
        c.slice_start = c.start + c.idle_cpu + switch;
        c.slice_end = c.slice_start + slice;
        let t = &mut self.threads[thread as usize];
        t.state = State::Running;
        t.last_core = core;
        self.schedule(queue, core);
    }

    /// Schedules the end of the core's current segment: the burst's end or the slice's.
    fn schedule(&mut self, queue: &mut EventQueue, core: CoreId) {
        self.price(core);
        let c = &mut self.cores[core as usize];
        let burst = self.threads[c.running as usize].burst;
        let owed = c.idle_cpu + c.switch;
        let end = (c.start + owed + burst.total()).min(c.slice_end.max(c.start + owed));
        c.generation = c.generation.wrapping_add(1);
        queue.push(
            end,
            Event::CoreDone {
                core,
                generation: c.generation,
            },
        );
    }

    /// Credits the running thread of `core` with the time since its segment started.
    fn account(&mut self, now: SimTime, core: CoreId) {
        let c = &mut self.cores[core as usize];
        if c.running == NONE || now <= c.start {
            return;
        }
        let mut elapsed = now - c.start;
        c.start = now;
        let i = elapsed.min(c.idle_cpu);
        c.idle_cpu -= i;
        elapsed -= i;
        self.idle_wakeup_ns += i;
        let s = elapsed.min(c.switch);
        c.switch -= s;
        elapsed -= s;
        let t = &mut self.threads[c.running as usize];
        let r = elapsed.min(t.burst.refill);
        t.burst.refill -= r;
        elapsed -= r;
        let o = elapsed.min(t.burst.overhead);
        t.burst.overhead -= o;
        elapsed -= o;
        let w = elapsed.min(t.burst.work);
        t.burst.work -= w;
        self.switching_ns += s + o;
        self.refill_ns += r;
        self.useful_ns += w;
        c.record.ran_ns[0] += s + r + o + w;
        if i + s + r + o + w > 0 {
            self.busy_until = self.busy_until.max(now);
        }
    }

    /// Credits every running core up to `now` (before reading the totals).
    pub(crate) fn flush(&mut self, now: SimTime) {
        for core in 0..self.cores.len() as CoreId {
            self.account(now, core);
        }
    }

    /// A core's segment ended. Returns the thread whose burst is done (its owner decides what
    /// next and tells [`Kernel::resume`]), or `None` when the event was stale or only a slice
    /// ended (then the kernel preempted or renewed the slice itself).
    pub(crate) fn core_done(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        generation: u32,
    ) -> Option<ThreadId> {
        if self.cores[core as usize].generation != generation {
            return None;
        }
        self.account(now, core);
        let c = self.cores[core as usize];
        if self.threads[c.running as usize].burst.total() == 0 && c.switch == 0 && c.idle_cpu == 0 {
            return Some(c.running);
        }
        self.end_of_slice(now, queue, core);
        None
    }

    /// The slice is over but the burst is not: preempt if someone waits, else renew.
    fn end_of_slice(&mut self, now: SimTime, queue: &mut EventQueue, core: CoreId) {
        if let Some(next) = self.run_queue.pop_front() {
            let current = self.cores[core as usize].running;
            self.threads[current as usize].state = State::Runnable;
            self.run_queue.push_back(current);
            self.cores[core as usize].running = NONE;
            self.running -= 1;
            self.dispatch(now, queue, core, next, 0);
        } else {
            let slice = self.slice();
            self.widest_slice = self.widest_slice.max(slice);
            let c = &mut self.cores[core as usize];
            c.slice_start = now;
            c.slice_end = now + slice;
            self.schedule(queue, core);
        }
    }

    /// Applies the owner's decision for the thread running on `core` whose burst is done.
    pub(crate) fn resume(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        next: Next,
    ) {
        let thread = self.cores[core as usize].running;
        match next {
            Next::Run(burst) => {
                let t = &mut self.threads[thread as usize];
                t.burst = burst;
                t.priced = false;
                if now >= self.cores[core as usize].slice_end {
                    self.end_of_slice(now, queue, core);
                } else {
                    self.schedule(queue, core);
                }
            }
            Next::Block | Next::Exit => {
                self.threads[thread as usize].state = State::Blocked;
                if next == Next::Exit {
                    self.exit_blocked(thread);
                }
                self.cores[core as usize].running = NONE;
                self.running -= 1;
                match self.run_queue.pop_front() {
                    Some(t) => {
                        self.run_level.set(now, self.run_queue.len() as u64);
                        self.dispatch(now, queue, core, t, 0)
                    }
                    None => {
                        self.cores[core as usize].idle_slot = self.idle.len() as u32;
                        self.idle.push(core);
                        self.enter_idle(now, core);
                    }
                }
            }
        }
    }

    /// Number of cores.
    pub(crate) fn cores(&self) -> u64 {
        self.cores.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the kernel alone: every burst-done thread blocks; returns (time, thread) of each
    /// burst completion.
    fn drain(k: &mut Kernel, q: &mut EventQueue) -> Vec<(u64, ThreadId)> {
        let mut done = Vec::new();
        while let Some((now, event)) = q.pop() {
            if let Event::CoreDone { core, generation } = event
                && let Some(t) = k.core_done(now, q, core, generation)
            {
                done.push((now.ns(), t));
                k.resume(now, q, core, Next::Block);
            }
        }
        done
    }

    #[test]
    fn round_robin_pays_a_switch_per_slice() {
        // Two threads of 3 ms on one core, slices of 1 ms, switches of 100 us.
        let mut k = Kernel::new(1, 100_000, 0, Policy::new(Some(1_000_000), 1));
        let mut q = EventQueue::default();
        let (a, b) = (k.spawn(), k.spawn());
        k.wake(
            SimTime(0),
            &mut q,
            a,
            Burst::work(3_000_000),
            Waker::Outside,
        );
        k.wake(
            SimTime(0),
            &mut q,
            b,
            Burst::work(3_000_000),
            Waker::Outside,
        );
        let done = drain(&mut k, &mut q);
        // a b a b a b: five switches (the first dispatch on a fresh core is free).
        assert_eq!(k.context_switches, 5);
        assert_eq!(done, vec![(5_400_000, a), (6_500_000, b)]);
        assert_eq!(k.useful_ns, 6_000_000);
        assert_eq!(k.switching_ns, 500_000);
        assert_eq!(k.overlaps, 0);
        // The core's record: b's last stay, then a's, each a 100 us switch and a 1 ms slice.
        let record = k.record(0);
        assert_eq!(record.threads[..2], [b, a]);
        assert_eq!(record.ran_ns[..2], [1_100_000, 1_100_000]);
        assert_eq!(record.idle_since, SimTime(6_500_000));
    }

    #[test]
    fn a_thread_alone_keeps_its_core_and_renews_its_slice() {
        let mut k = Kernel::new(2, 100_000, 0, Policy::new(Some(1_000_000), 2));
        let mut q = EventQueue::default();
        let a = k.spawn();
        k.wake(
            SimTime(0),
            &mut q,
            a,
            Burst::work(10_500_000),
            Waker::Outside,
        );
        assert_eq!(drain(&mut k, &mut q), vec![(10_500_000, a)]);
        assert_eq!(k.context_switches, 0);
    }

    #[test]
    fn a_waiting_thread_shortens_the_cfs_slice() {
        // One core: CFS gives a lone thread 6 ms; when a second becomes runnable at 1 ms the
        // slice becomes 6 / 2 = 3 ms, so the newcomer runs at 3 ms, not 6 ms.
        let mut k = Kernel::new(1, 0, 0, Policy::new(None, 1));
        let mut q = EventQueue::default();
        let (hog, io) = (k.spawn(), k.spawn());
        k.wake(
            SimTime(0),
            &mut q,
            hog,
            Burst::work(100_000_000),
            Waker::Outside,
        );
        // The second thread's wake-up is an event at 1 ms of its own, so the queue's times
        // stay monotone (the radix heap requires it).
        q.push(SimTime(1_000_000), Event::Arrival);
        let mut done = Vec::new();
        while let Some((now, event)) = q.pop() {
            if let Event::Arrival = event {
                k.wake(now, &mut q, io, Burst::work(100_000), Waker::Outside);
            }
            if let Event::CoreDone { core, generation } = event
                && let Some(t) = k.core_done(now, &mut q, core, generation)
            {
                done.push((now.ns(), t));
                k.resume(now, &mut q, core, Next::Block);
            }
        }
        assert_eq!(done[0], (3_100_000, io));
    }

    #[test]
    fn a_cross_core_wakeup_waits_and_counts_as_idle() {
        // Two cores; the waker runs on core 0 and wakes a thread whose last core is busy.
        let mut k = Kernel::new(2, 0, 5_000, Policy::new(None, 2));
        let mut q = EventQueue::default();
        let (a, b) = (k.spawn(), k.spawn());
        k.wake(
            SimTime(0),
            &mut q,
            a,
            Burst::work(1_000_000),
            Waker::Outside,
        );
        k.wake(SimTime(0), &mut q, b, Burst::work(1_000), Waker::Core(0));
        let done = drain(&mut k, &mut q);
        assert_eq!(done, vec![(6_000, b), (1_000_000, a)]);
        assert_eq!(k.useful_ns, 1_001_000);
    }
}
