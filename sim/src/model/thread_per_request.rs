//! Thread per request: every in-flight request owns an OS thread from a pool (or a new thread
//! per request); the kernel time-slices the threads over the cores.
//!
//! Requests that find no free thread wait in one accept queue shared by all processes (they
//! all accept from the same listening socket), bounded by `backlog`. With `keepalive` a client
//! connection keeps its thread between requests. With `gil`, a thread must hold its process's
//! interpreter lock to run a CPU step, and the lock follows CPython 3.11 ([`crate::gil`]): a
//! thread releases it when it waits (I/O, a pool, the end of the request); a thread that wants
//! it while it is held waits up to the switch interval (`gil_switch_interval`, 5 ms), then asks
//! the holder to drop it; the holder drops it at its next check (its burst is cut at once) and
//! waits until another thread has taken it. A thread back from I/O has to win the lock back that
//! way: beside a CPU-bound thread each short wait costs it about one interval (the convoy).
//!
//! One simplification: a holder that releases the lock for I/O while a drop was requested
//! starts its I/O at once instead of first waiting for the switch (CPython's `drop_gil` waits);
//! the switch follows within one wake-up, and the I/O takes longer than that.

use std::collections::VecDeque;

use crate::config::{Arrivals, Model, RunConfig, Threads};
use crate::engine::{Carry, Ctx, Scheduler, StepStart};
use crate::event::{CoreId, NONE, ReqId, ThreadId};
use crate::gil::{Attempt, Gil, Take};
use crate::kernel::{Burst, Next, Waker};

/// Where a thread is in CPython's `take_gil` / `drop_gil`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GilWait {
    /// Not waiting for the lock (it holds it, or needs none now).
    No,
    /// Blocked in the timed wait (a timer runs, or a signal comes).
    Waiting,
    /// Woken (timer, signal, or the switch it waited for): runs `take_gil` with this attempt
    /// when it gets a core.
    Pending(Attempt),
    /// Dropped the lock on request; blocked until another thread has taken it.
    SwitchWait,
}

#[derive(Debug, Clone, Copy)]
struct ThreadInfo {
    req: ReqId,
    process: u32,
    client: u32,
    /// CPU of the burst in progress (the rest of the step; a drop request cuts it short).
    chunk: u64,
    /// Requests served for the connection the thread is bound to (keep-alive).
    served: u64,
    /// Still paying for its creation (runnable, not blocked): a request handed to it now is
    /// picked up when that burst ends, and it must not be woken again.
    starting: bool,
    /// Its place in the GIL's protocol.
    gil: GilWait,
    /// Generation of its GIL timer (a signal or a new wait makes older timers stale).
    timer: u32,
}

/// The thread-per-request model.
pub(crate) struct ThreadPerRequest {
    fixed: Option<u64>,
    processes: u64,
    gil: bool,
    keepalive: bool,
    keepalive_requests: Option<u64>,
    backlog: Option<u64>,
    /// CPU of creating a thread (`spawn_thread_cpu`), the new thread's first burst.
    spawn_cpu: u64,
    free: Vec<ThreadId>,
    accept: VecDeque<ReqId>,
    accept_level: usize,
    info: Vec<ThreadInfo>,
    /// One interpreter lock per process (used only with `gil`).
    gils: Vec<Gil>,
    next_process: u32,
}

impl ThreadPerRequest {
    pub(crate) fn new(cfg: &RunConfig) -> Self {
        let Model::ThreadPerRequest {
            threads,
            backlog,
            processes,
            gil,
            gil_switch_interval,
            keepalive,
            keepalive_requests,
            ..
        } = cfg.server.model
        else {
            unreachable!("engine picks the model type from the config")
        };
        let processes = processes.max(1);
        ThreadPerRequest {
            fixed: match threads {
                Threads::Fixed(n) => Some(n),
                Threads::Unbounded => None,
            },
            processes,
            gil,
            keepalive: keepalive || matches!(cfg.load.arrivals, Arrivals::Connections { .. }),
            keepalive_requests,
            backlog,
            spawn_cpu: cfg.costs.spawn_thread_cpu,
            free: Vec::new(),
            accept: VecDeque::new(),
            accept_level: 0,
            info: Vec::new(),
            gils: (0..processes)
                .map(|_| Gil::new(gil_switch_interval))
                .collect(),
            next_process: 0,
        }
    }

    fn set_info(&mut self, thread: ThreadId, info: ThreadInfo) {
        let i = thread as usize;
        if i >= self.info.len() {
            self.info.resize(
                i + 1,
                ThreadInfo {
                    req: NONE,
                    process: 0,
                    client: NONE,
                    chunk: 0,
                    served: 0,
                    starting: false,
                    gil: GilWait::No,
                    timer: 0,
                },
            );
        }
        self.info[i] = info;
    }

    /// A new thread (unbounded pool) that first pays for its creation: `spawn_thread_cpu` of
    /// CPU (the spawner's share and the child's start; the spawner is not simulated, so the
    /// new thread's first burst carries both), and the kernel's wake-up of the new thread.
    /// `thread_spawn`, the wall-clock figure, is not charged: its rest is that wake-up and
    /// the join.
    fn spawn(&mut self, ctx: &mut Ctx, req: ReqId, client: u32, by: Waker) -> ThreadId {
        let thread = ctx.spawn_thread();
        let process = self.next_process;
        self.next_process = (self.next_process + 1) % self.processes as u32;
        self.set_info(
            thread,
            ThreadInfo {
                req,
                process,
                client,
                chunk: 0,
                served: 0,
                starting: true,
                gil: GilWait::No,
                timer: 0,
            },
        );
        ctx.wake(thread, Burst::work(self.spawn_cpu), by);
        thread
    }

    /// Hands `req` to an idle (blocked) thread and wakes it.
    fn assign(&mut self, ctx: &mut Ctx, thread: ThreadId, req: ReqId, by: Waker) {
        self.bind(ctx, thread, req);
        ctx.wake(thread, Burst::ZERO, by);
    }

    fn bind(&mut self, ctx: &mut Ctx, thread: ThreadId, req: ReqId) {
        let client = ctx.client_of(req);
        let info = &mut self.info[thread as usize];
        info.req = req;
        if self.keepalive && client != NONE && info.client != client {
            info.client = client;
            info.served = 0;
            ctx.bind(client, thread);
        }
        ctx.set_owner(req, thread);
    }

    fn gil_of(&mut self, thread: ThreadId) -> &mut Gil {
        let p = self.info[thread as usize].process as usize;
        &mut self.gils[p]
    }

    /// `take_gil` by `thread`, on a core in a CPU step: run the step, or block in the wait.
    fn take_gil(&mut self, ctx: &mut Ctx, thread: ThreadId, attempt: Attempt, by: Waker) -> Next {
        let now = ctx.now();
        match self.gil_of(thread).take(thread, now, attempt) {
            Take::Got { released } => {
                if let Some(dropper) = released {
                    self.switched(ctx, dropper, by);
                }
                Next::Run(self.start_chunk(ctx, thread))
            }
            Take::Wait { until, requested } => {
                let info = &mut self.info[thread as usize];
                info.gil = GilWait::Waiting;
                info.timer = info.timer.wrapping_add(1);
                ctx.set_timer(until - now, thread, info.timer);
                if requested && let Some(holder) = self.gil_of(thread).holder() {
                    // The holder sees the request at its next eval-breaker check, a few
                    // bytecodes on: its burst ends now, or as soon as it is on a core again.
                    let left = ctx.interrupt(holder);
                    let chunk = &mut self.info[holder as usize].chunk;
                    *chunk -= left.min(*chunk);
                }
                Next::Block
            }
        }
    }

    /// `drop_gil` for I/O, a pool or the end of the request (no-op without the lock).
    fn release_gil(&mut self, ctx: &mut Ctx, thread: ThreadId, by: Waker) {
        if !self.gil || self.gil_of(thread).holder() != Some(thread) {
            return;
        }
        // A requested switch is not waited for here (see the module docs).
        let signal = self.gil_of(thread).drop(thread).signal;
        self.signal(ctx, signal, by);
    }

    /// The holder drops the lock because a waiter asked, and waits for the switch.
    fn drop_on_request(&mut self, ctx: &mut Ctx, thread: ThreadId, by: Waker) -> Next {
        let dropped = self.gil_of(thread).drop(thread);
        self.signal(ctx, dropped.signal, by);
        if dropped.wait_for_switch {
            self.info[thread as usize].gil = GilWait::SwitchWait;
            return Next::Block;
        }
        self.take_gil(ctx, thread, Attempt::Fresh, by)
    }

    /// A dropper signals a waiter: it retries `take_gil` when it gets a core.
    fn signal(&mut self, ctx: &mut Ctx, waiter: Option<ThreadId>, by: Waker) {
        let Some(w) = waiter else {
            return;
        };
        let info = &mut self.info[w as usize];
        match info.gil {
            GilWait::Waiting => {
                info.timer = info.timer.wrapping_add(1);
                info.gil = GilWait::Pending(Attempt::Signalled);
                ctx.wake(w, Burst::ZERO, by);
            }
            // Its timer already woke it: it retries anyway.
            GilWait::Pending(_) => info.gil = GilWait::Pending(Attempt::Signalled),
            GilWait::No | GilWait::SwitchWait => {}
        }
    }

    /// Another thread took the lock that `dropper` dropped on request: it asks again.
    fn switched(&mut self, ctx: &mut Ctx, dropper: ThreadId, by: Waker) {
        let info = &mut self.info[dropper as usize];
        if info.gil == GilWait::SwitchWait {
            info.gil = GilWait::Pending(Attempt::Fresh);
            ctx.wake(dropper, Burst::ZERO, by);
        }
    }

    /// The rest of the thread's CPU step, as one burst (a drop request may cut it short).
    fn start_chunk(&mut self, ctx: &Ctx, thread: ThreadId) -> Burst {
        let info = &mut self.info[thread as usize];
        info.chunk = ctx.cpu_left(info.req);
        Burst {
            work: info.chunk,
            touch: ctx.touch(info.req, 0),
            ..Burst::ZERO
        }
    }

    /// A piece of a CPU step ran. `None` when the step is done; otherwise (a drop request cut
    /// it) the holder drops the lock and waits for the switch.
    fn after_chunk(&mut self, ctx: &mut Ctx, thread: ThreadId, by: Waker) -> Option<Next> {
        let info = self.info[thread as usize];
        if ctx.ran(info.req, info.chunk) == 0 {
            return None;
        }
        if self.gil && self.gil_of(thread).drop_requested() {
            return Some(self.drop_on_request(ctx, thread, by));
        }
        Some(Next::Run(self.start_chunk(ctx, thread)))
    }

    /// The thread is on a core and its request between steps: start the next one.
    fn advance(&mut self, ctx: &mut Ctx, thread: ThreadId, by: Waker) -> Next {
        loop {
            let req = self.info[thread as usize].req;
            if req == NONE {
                return Next::Block;
            }
            match ctx.begin_step(req) {
                StepStart::Cpu(cpu) => {
                    ctx.set_carry(req, Carry::Cpu(cpu));
                    if !self.gil {
                        return Next::Run(self.start_chunk(ctx, thread));
                    }
                    if self.gil_of(thread).holder() != Some(thread) {
                        return self.take_gil(ctx, thread, Attempt::Fresh, by);
                    }
                    // Still holding it from the previous step: the next check is now.
                    if self.gil_of(thread).drop_requested() {
                        return self.drop_on_request(ctx, thread, by);
                    }
                    return Next::Run(self.start_chunk(ctx, thread));
                }
                StepStart::Io(_) | StepStart::PoolWait => {
                    self.release_gil(ctx, thread, by);
                    return Next::Block;
                }
                StepStart::Blocking(wait) => {
                    self.release_gil(ctx, thread, by);
                    ctx.start_wait(req, wait);
                    return Next::Block;
                }
                StepStart::Done => {
                    self.release_gil(ctx, thread, by);
                    ctx.finish(req, by);
                    self.info[thread as usize].req = NONE;
                    if let Some(next) = self.after_request(ctx, thread) {
                        return next;
                    }
                }
            }
        }
    }

    /// The thread's request is done: exit, stay with its connection, take the next queued
    /// request (`None`: go on with it) or become free.
    fn after_request(&mut self, ctx: &mut Ctx, thread: ThreadId) -> Option<Next> {
        let info = &mut self.info[thread as usize];
        if self.keepalive && info.client != NONE {
            info.served += 1;
            match self.keepalive_requests {
                Some(limit) if info.served >= limit => {
                    // The server closes the connection (MaxKeepAliveRequests): the client
                    // reconnects and queues for a thread like any new connection, which is
                    // what lets connections beyond the pool size get served at all.
                    ctx.bind(info.client, NONE);
                    info.client = NONE;
                    info.served = 0;
                }
                _ => return Some(Next::Block),
            }
        }
        if let Some(req) = self.accept.pop_front() {
            ctx.queue_len(self.accept_level, self.accept.len());
            self.bind(ctx, thread, req);
            return None;
        }
        if self.fixed.is_none() {
            return Some(Next::Exit);
        }
        self.free.push(thread);
        Some(Next::Block)
    }
}

impl Scheduler for ThreadPerRequest {
    fn start(&mut self, ctx: &mut Ctx) {
        self.accept_level = ctx.add_queue("accept");
        ctx.set_processes(self.processes);
        if let Some(n) = self.fixed {
            for p in 0..self.processes {
                for _ in 0..n {
                    let thread = ctx.spawn_thread();
                    self.set_info(
                        thread,
                        ThreadInfo {
                            req: NONE,
                            process: p as u32,
                            client: NONE,
                            chunk: 0,
                            served: 0,
                            starting: false,
                            gil: GilWait::No,
                            timer: 0,
                        },
                    );
                    self.free.push(thread);
                }
            }
            // The first thread created is the first taken.
            self.free.reverse();
        }
    }

    fn on_connect(&mut self, ctx: &mut Ctx, client: u32) {
        let thread = match self.fixed {
            Some(_) => match self.free.pop() {
                Some(t) => t,
                None => return,
            },
            None => self.spawn(ctx, NONE, client, Waker::Outside),
        };
        self.info[thread as usize].client = client;
        ctx.bind(client, thread);
    }

    fn on_arrival(&mut self, ctx: &mut Ctx, req: ReqId, by: Waker) {
        let client = ctx.client_of(req);
        // A request from the network reaches a free or new thread through the acceptor, a
        // hand-off between threads; a keep-alive thread reads its own connection.
        let handoff = match by {
            Waker::Outside => Waker::Handoff,
            by => by,
        };
        if self.keepalive && client != NONE {
            let bound = ctx.bound(client);
            if bound != NONE && self.info[bound as usize].req == NONE {
                if self.info[bound as usize].starting {
                    self.bind(ctx, bound, req);
                } else {
                    self.assign(ctx, bound, req, by);
                }
                return;
            }
        }
        if let Some(thread) = self.free.pop() {
            self.assign(ctx, thread, req, handoff);
            return;
        }
        if self.fixed.is_none() {
            let thread = self.spawn(ctx, NONE, NONE, handoff);
            self.bind(ctx, thread, req);
            return;
        }
        if self.backlog.is_some_and(|b| self.accept.len() as u64 >= b) {
            ctx.drop_request(req);
            return;
        }
        self.accept.push_back(req);
        ctx.queue_len(self.accept_level, self.accept.len());
    }

    fn on_burst_done(&mut self, ctx: &mut Ctx, thread: ThreadId, core: CoreId) -> Next {
        let by = Waker::Core(core);
        self.info[thread as usize].starting = false;
        if let GilWait::Pending(attempt) = self.info[thread as usize].gil {
            self.info[thread as usize].gil = GilWait::No;
            return self.take_gil(ctx, thread, attempt, by);
        }
        let req = self.info[thread as usize].req;
        if req != NONE && ctx.in_step(req) {
            if let Some(next) = self.after_chunk(ctx, thread, by) {
                return next;
            }
            ctx.end_step(req);
        }
        self.advance(ctx, thread, by)
    }

    fn on_io_done(&mut self, ctx: &mut Ctx, req: ReqId) {
        ctx.end_step(req);
        let thread = ctx.owner(req);
        ctx.wake(thread, Burst::ZERO, Waker::Io);
    }

    fn on_pool_granted(&mut self, ctx: &mut Ctx, req: ReqId) {
        let thread = ctx.owner(req);
        ctx.wake(thread, Burst::ZERO, Waker::Outside);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, thread: ThreadId, generation: u32) {
        let info = &mut self.info[thread as usize];
        if info.gil == GilWait::Waiting && info.timer == generation {
            info.gil = GilWait::Pending(Attempt::TimedOut);
            ctx.wake(thread, Burst::ZERO, Waker::Outside);
        }
    }
}
