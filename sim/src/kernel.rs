//! The kernel layer: cores and OS threads.
//!
//! ```text
//!  wake(thread, burst, waker) ─▶ idle core? ──yes──▶ dispatch (thread_wakeup if cross-core;
//!                                    │no          idle costs; if it halted, + wakeup_cpu
//!                                    │            if an interrupt)
//!                                    │            (an I/O wait's end onto a busy core:
//!                                    │            + timer_wakeup_cpu)
//!                                    ▼
//!          rr:        one shared FIFO ─────────────────────────▶ next free core / slice end
//!          eevdf/cfs: the least loaded core's run queue ─▶ wake-up preemption? ─▶ resched
//!  slice end (tick, or exact with hrtick) ─▶ pick ─▶ switch (thread_switch) or renew
//!  block ─▶ pick on this core ─▶ else steal a waiting thread from the busiest core ─▶ else idle
//! ```
//!
//! A core that changes from one thread to a different one pays `thread_switch` of core time (a
//! context switch), plus, with `switch_runnable`, the measured rise for the other threads that
//! took turns on the core since the incoming one last ran there (`kernel/crowd.rs`); a blocked
//! thread woken straight onto an idle core other than the one it last ran on starts
//! `thread_wakeup` later (the core sits idle meanwhile: interrupt and idle exit). Threads keep
//! their core while they have work, so with no more threads than cores nothing switches. A
//! thread woken by an interrupt (the network, a timer, the acceptor's
//! hand-off) onto a core that halted also pays `wakeup_cpu` first, as switching; one woken onto
//! a busy core, or by a thread on a core, does not (`kernel/wakeup.rs`). A core handed work at
//! the instant it ran out still pays the idle costs (the idle loop's entry and exit) but did
//! not halt, so the woken thread pays no `wakeup_cpu`; with `halt_after` set, so does one
//! handed work within that long, which pays `brief_idle_cpu` instead of the idle costs and
//! no exit latency (`kernel/idle.rs`). A thread whose I/O wait ends
//! ([`Waker::Io`]) and lands on a busy core pays `timer_wakeup_cpu` instead, as switching.
//!
//! Which thread runs and for how long is the policy's ([`Policy`]): round robin over one shared
//! queue (`rr`, the closed-form tests' processor sharing), or Linux's fair scheduler with one
//! run queue per core (`eevdf`, the default, or `cfs`), whose rules live in `crate::sched`
//! (with the Linux functions they follow). What this layer adds to those queues for the fair
//! policies (`kernel/queue.rs`):
//! - placement: a woken thread takes an idle core (its last one first); with none idle it joins
//!   the least loaded core's queue, its last core winning ties, then the waker's. This stands
//!   in for `select_task_rq_fair` plus the periodic load balancer, which converge to the same
//!   spread over some milliseconds; it balances at once.
//! - wake-up preemption: the queue's `wakeup_preempts` (`check_preempt_wakeup_fair`). When the
//!   resched takes effect follows the preemption model ([`crate::sched::Preempt::resched_at`]):
//!   a thread computing is in user mode, so an interrupt's resched (timer, I/O, another core's
//!   wake-up IPI) switches at once under every `preempt`; a waker on the same core is inside
//!   its wake-up system call, and under `none` and `voluntary` the switch waits for its return
//!   to user space. The model's system calls take no simulated time, so that return is the same
//!   instant: the waker either blocks (nothing left to preempt) or takes its next burst, and
//!   then the pick runs. `full` would switch inside the system call, at the same instant too,
//!   so the three modes simulate alike; they would differ only for long kernel-mode work,
//!   which the model has none of.
//! - idle balancing: a core left with nothing takes a waiting thread from the core with the
//!   most waiting (`sched_balance_newidle`), paying a switch but no wake-up delay.
//!
//! The machine's noise (`[costs] interruptions`, `kernel/noise.rs`) takes cores away at random:
//! a running segment ends later by the interruption's length, an idle core handed a thread
//! starts it when the interruption is over.
//!
//! Each thread runs one [`Burst`] at a time, handed to it by its owner (a scheduling model or
//! the proxy). Preemption cancels the pending completion by bumping the core's generation and
//! credits the work done; the preempted thread stays runnable on its queue.

mod burst;
mod crowd;
#[cfg(test)]
mod fidelity;
mod idle;
mod interrupt;
mod noise;
mod policy;
mod queue;
mod record;
mod refill;
#[cfg(test)]
mod tests;
mod wakeup;

pub(crate) use burst::{Burst, Next, Waker};
pub(crate) use policy::Policy;
pub(crate) use record::CoreRecord;

use queue::Queues;

use crate::cache::{Caches, Owner};
use crate::event::{CoreId, Event, NONE, ThreadId};
use crate::metrics::Level;
use crate::queue::EventQueue;
use crate::sched::Sleeper;
use crate::time::SimTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Blocked,
    Runnable,
    Running,
    Dead,
}

/// What a blocked thread left behind on the fair run queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    /// Never ran: it joins as a new thread.
    New,
    /// It left its queue with this lag.
    Left(Sleeper),
    /// EEVDF kept it on this core's queue, owing service (`DELAY_DEQUEUE`).
    Delayed(CoreId),
}

#[derive(Debug, Clone, Copy)]
struct Thread {
    state: State,
    last_core: CoreId,
    burst: Burst,
    /// The cache model has priced this burst's start on the thread's current core.
    priced: bool,
    carried: Carried,
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
    /// Core time an interruption took that the segment still has to make up, paid before
    /// anything else (`interruptions`).
    stolen: u64,
    /// An idle core is interrupted until then.
    quiet_at: SimTime,
    slice_start: SimTime,
    /// When the running thread's slice ends (`SimTime(u64::MAX)`: not while alone).
    slice_end: SimTime,
    /// A wake-up preemption waits for the running thread's return to user space.
    resched: bool,
    /// Position in the idle list, or NONE while busy.
    idle_slot: u32,
    /// What ran here lately.
    record: CoreRecord,
}

/// Cores, threads and the run queues of runnable threads.
#[derive(Debug)]
pub(crate) struct Kernel {
    cores: Vec<Core>,
    threads: Vec<Thread>,
    dead: Vec<ThreadId>,
    queues: Queues,
    /// Idle cores that have run something, most recently idle last.
    idle: Vec<CoreId>,
    /// Cores that never ran anything, lowest index last.
    fresh: Vec<CoreId>,
    thread_switch: u64,
    thread_wakeup: u64,
    /// Threads runnable but not running.
    waiting: u64,
    /// The cache model, when anything has a working set (else refills are not computed).
    caches: Option<Caches>,
    /// Stack every thread touches per run (`stack_working_set`), bytes.
    stack_working_set: u64,
    /// What a switch adds when many threads take turns on a core (`switch_runnable`).
    crowd: Option<crowd::Crowd>,
    /// Core time and extra latency of a core leaving idle (`idle_wakeup_cpu`,
    /// `idle_exit_latency`).
    idle_wakeup_cpu: u64,
    idle_exit_latency: u64,
    /// CPU of being woken by an interrupt, added to the woken thread's burst (`wakeup_cpu`).
    wakeup_cpu: u64,
    /// The timer interrupts that end I/O waits, and what they cost a busy core
    /// (`timer_wakeup_cpu`, `timer_interrupt_cpu`).
    pub(crate) timers: wakeup::Timers,
    /// How long an idle core runs the idle loop before it halts (`halt_after`; 0: at once).
    halt_after: u64,
    /// Core time of an idle spell shorter than that (`brief_idle_cpu`).
    brief_idle_cpu: u64,
    /// The spread of the exit's delay, when its p99 is given.
    exit_tail: Option<idle::ExitTail>,
    /// The cores' interruptions, if the machine has any.
    noise: Option<noise::Noise>,
    /// Core time interruptions took from running threads, up to the last accounting point.
    pub(crate) interrupted_ns: u64,
    /// Core time spent on useful work, on switching and on refilling caches, up to the last
    /// accounting point.
    pub(crate) useful_ns: u64,
    pub(crate) switching_ns: u64,
    pub(crate) refill_ns: u64,
    /// Core time spent leaving idle, up to the last accounting point.
    pub(crate) idle_wakeup_ns: u64,
    /// Context switches so far.
    pub(crate) context_switches: u64,
    /// Exits from idle of a core that had halted (idle past `halt_after`), so far.
    pub(crate) halts: u64,
    /// Wake-ups that preempted the running thread.
    pub(crate) wakeup_preemptions: u64,
    /// The latest time up to which some core's work or switching has been credited.
    pub(crate) busy_until: SimTime,
    /// OS threads alive.
    pub(crate) live_threads: u64,
    /// Times a core was handed a thread while running another (must stay zero).
    pub(crate) overlaps: u64,
    /// Runnable threads waiting for a core, over time.
    pub(crate) run_level: Level,
}

const NEVER: SimTime = SimTime(u64::MAX);
/// A core's `last` after its last thread exited: no thread, but the next one is a switch.
const EXITED: ThreadId = NONE - 1;

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
                    stolen: 0,
                    quiet_at: SimTime::ZERO,
                    slice_start: SimTime::ZERO,
                    slice_end: NEVER,
                    resched: false,
                    idle_slot: NONE,
                    record: CoreRecord::EMPTY,
                };
                cores as usize
            ],
            threads: Vec::new(),
            dead: Vec::new(),
            queues: Queues::new(policy, cores),
            idle: Vec::with_capacity(cores as usize),
            fresh: (0..cores as u32).rev().collect(),
            thread_switch,
            thread_wakeup,
            waiting: 0,
            caches: None,
            stack_working_set: 0,
            crowd: None,
            idle_wakeup_cpu: 0,
            idle_exit_latency: 0,
            wakeup_cpu: 0,
            timers: wakeup::Timers::new(cores as usize),
            halt_after: 0,
            brief_idle_cpu: 0,
            exit_tail: None,
            noise: None,
            interrupted_ns: 0,
            useful_ns: 0,
            switching_ns: 0,
            refill_ns: 0,
            idle_wakeup_ns: 0,
            context_switches: 0,
            halts: 0,
            wakeup_preemptions: 0,
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
            carried: Carried::New,
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

    /// Ends a blocked thread. Its id may come back as a new thread: a switch all the same.
    fn exit_blocked(&mut self, thread: ThreadId) {
        debug_assert_eq!(self.threads[thread as usize].state, State::Blocked);
        self.threads[thread as usize].state = State::Dead;
        self.forget(Owner::Stack(thread));
        let core = self.threads[thread as usize].last_core;
        if core != NONE && self.cores[core as usize].last == thread {
            self.cores[core as usize].last = EXITED;
        }
        if let Some(crowd) = &mut self.crowd {
            crowd.forget(thread);
        }
        self.dead.push(thread);
        self.live_threads -= 1;
    }

    /// Makes a blocked thread runnable with `burst`: onto its last core if idle, else onto
    /// another idle core, else into a run queue (see the module docs). Landing on an idle core
    /// other than the waker's (for outside wake-ups: the thread's last core) starts
    /// `thread_wakeup` later: a cross-core hand-over waits for the interrupt and the idle exit.
    /// An interrupt's wake-up (`Waker::Outside`, `Waker::Handoff`) of a thread that has run
    /// before adds `wakeup_cpu` to the burst's overhead when the thread lands on a core that
    /// halted (idled for some time); onto a busy core's queue (an EEVDF delayed sleeper too) it
    /// adds nothing, except `timer_wakeup_cpu` for the end of an I/O wait (`Waker::Io`), nor
    /// does a wake-up by a thread on a core (`Waker::Core`), whose cost is the measured
    /// `thread_switch` (see `kernel/wakeup.rs`).
    pub(crate) fn wake(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        thread: ThreadId,
        burst: Burst,
        by: Waker,
    ) {
        let has_run = self.threads[thread as usize].last_core != NONE;
        // Priced as landing on a busy core (a delayed sleeper's, or a run queue); an idle
        // core's landing below puts the plain burst back.
        let onto_busy = self.busy_woken_burst(now, thread, burst, by, has_run);
        let t = &mut self.threads[thread as usize];
        debug_assert_eq!(t.state, State::Blocked);
        t.burst = onto_busy;
        t.priced = false;
        t.state = State::Runnable;
        // Counted as waiting from here; the run level is set once it is known whether it
        // waits (a thread straight onto an idle core never shows in it).
        self.waiting += 1;
        // A sleeper EEVDF kept queued wakes where it is (`ttwu_runnable`), if still there.
        if self.requeue_delayed(now, queue, thread, by) {
            return;
        }
        let last = self.threads[thread as usize].last_core;
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
                    Waker::Outside | Waker::Io => last != NONE && last != core,
                    Waker::Handoff => self.cores.len() > 1,
                };
                let delay = if crosses { self.thread_wakeup } else { 0 };
                let (exit, halted) = self.leave_idle(now, core);
                let moved = last != NONE && last != core;
                self.threads[thread as usize].burst =
                    self.idle_landing_burst(burst, by, has_run, halted, moved);
                self.enqueue(now, core, thread);
                let picked = self.queues.pick(core, now).unwrap_or(thread);
                debug_assert_eq!(picked, thread);
                self.dispatch(now, queue, core, picked, delay + exit);
            }
            None => self.enqueue_busy(now, queue, thread, by),
        }
    }

    /// What `core` ran lately (for a cache model).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn record(&self, core: CoreId) -> &CoreRecord {
        &self.cores[core as usize].record
    }

    /// Starts `thread` (runnable, already chosen by `core`'s policy) on the idle `core`.
    fn dispatch(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        thread: ThreadId,
        delay: u64,
    ) {
        let crowded = match &mut self.crowd {
            Some(crowd) => crowd.arrive(core, thread),
            None => 0,
        };
        let c = &mut self.cores[core as usize];
        if c.running != NONE {
            self.overlaps += 1;
        }
        let switch = if c.last != NONE && c.last != thread {
            self.context_switches += 1;
            self.thread_switch + crowded
        } else {
            0
        };
        c.running = thread;
        c.last = thread;
        c.resched = false;
        c.record.arrive(thread);
        c.start = now + delay;
        c.switch = switch;
        c.slice_start = c.start + c.idle_cpu + switch;
        c.slice_end = self.queues.slice_end(core, now, c.slice_start);
        let t = &mut self.threads[thread as usize];
        debug_assert_eq!(t.state, State::Runnable);
        t.state = State::Running;
        t.last_core = core;
        self.waiting -= 1;
        self.run_level.set(now, self.waiting);
        self.schedule(queue, core);
    }

    /// Schedules the end of the core's current segment: the burst's end or the slice's.
    fn schedule(&mut self, queue: &mut EventQueue, core: CoreId) {
        self.price(core);
        let c = &mut self.cores[core as usize];
        let burst = self.threads[c.running as usize].burst;
        let owed = c.stolen + c.idle_cpu + c.switch;
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

    /// The running thread's slice on `core` may have changed (a thread joined or left its
    /// queue): ask the policy again and move the segment's end.
    fn reslice(&mut self, now: SimTime, queue: &mut EventQueue, core: CoreId) {
        let c = &self.cores[core as usize];
        if c.running == NONE {
            return;
        }
        let end = self.queues.slice_end(core, now, c.slice_start);
        if end != c.slice_end {
            self.cores[core as usize].slice_end = end;
            self.schedule(queue, core);
        }
    }

    /// Credits the running thread of `core` with the time since its segment started.
    fn account(&mut self, now: SimTime, core: CoreId) {
        let c = &mut self.cores[core as usize];
        if c.running == NONE || now <= c.start {
            return;
        }
        let mut elapsed = now - c.start;
        c.start = now;
        if c.stolen > 0 {
            let n = elapsed.min(c.stolen);
            c.stolen -= n;
            elapsed -= n;
            self.interrupted_ns += n;
        }
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
        if self.threads[c.running as usize].burst.total() == 0
            && c.switch == 0
            && c.idle_cpu == 0
            && c.stolen == 0
        {
            return Some(c.running);
        }
        self.end_of_slice(now, queue, core);
        None
    }

    /// The slice is over but the burst is not: the policy picks who runs next (the same
    /// thread renews its slice).
    fn end_of_slice(&mut self, now: SimTime, queue: &mut EventQueue, core: CoreId) {
        let current = self.cores[core as usize].running;
        let next = self.queues.slice_over(core, current, now);
        self.switch_to(now, queue, core, next);
    }

    /// Runs `next` on `core` instead of its running thread, which stays runnable; or, when
    /// `next` is the running thread (or nothing), renews its slice.
    fn switch_to(
        &mut self,
        now: SimTime,
        queue: &mut EventQueue,
        core: CoreId,
        next: Option<ThreadId>,
    ) {
        let current = self.cores[core as usize].running;
        match next {
            Some(next) if next != current => {
                self.threads[current as usize].state = State::Runnable;
                self.waiting += 1;
                self.cores[core as usize].running = NONE;
                self.dispatch(now, queue, core, next, 0);
            }
            _ => {
                let c = &mut self.cores[core as usize];
                c.resched = false;
                c.slice_start = now;
                c.slice_end = self.queues.slice_end(core, now, now);
                self.schedule(queue, core);
            }
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
                if self.cores[core as usize].resched {
                    // A wake-up preemption waited for this return to user space.
                    let next = self.queues.pick(core, now);
                    self.switch_to(now, queue, core, next);
                } else if now >= self.cores[core as usize].slice_end {
                    self.end_of_slice(now, queue, core);
                } else {
                    self.schedule(queue, core);
                }
            }
            Next::Block | Next::Exit => {
                let carried = self.queues.block(core, now, next == Next::Exit);
                let t = &mut self.threads[thread as usize];
                t.state = State::Blocked;
                t.carried = carried;
                if next == Next::Exit {
                    self.exit_blocked(thread);
                }
                self.cores[core as usize].running = NONE;
                self.cores[core as usize].resched = false;
                match self.next_for_free_core(now, queue, core) {
                    Some(t) => self.dispatch(now, queue, core, t, 0),
                    None => self.enter_idle(now, core),
                }
            }
        }
    }

    /// Number of cores.
    pub(crate) fn cores(&self) -> u64 {
        self.cores.len() as u64
    }
}
