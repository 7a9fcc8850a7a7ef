//! An M:N task runtime: tasks (one per request) run on a few OS worker threads. Both the
//! cooperative and the preemptive model are this runtime with different parameters: what a task
//! switch costs, whether a running task is sliced, how tasks are spread over workers, and
//! whether blocking calls go to a thread pool.
//!
//! A worker that resumes a task pays one task switch; the task then runs until it waits (I/O,
//! a pool) or, with a quantum, until its slice is over and another task is ready. A blocking
//! call keeps the worker's OS thread (and so every task behind it) waiting, unless an offload
//! pool takes the call: then one of its threads blocks and the task waits like on I/O.

mod timer;

use std::collections::VecDeque;

use crate::engine::{Carry, Ctx, Scheduler, StepStart};
use crate::event::{CoreId, NONE, ReqId, ThreadId};
use crate::kernel::{Burst, Next, Waker};

/// How the runtime behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params {
    /// Worker OS threads (event loops, Go's Ps).
    pub(crate) workers: u64,
    /// Core time of one task switch.
    pub(crate) switch: u64,
    /// Stack each task touches when it runs (stackful coroutines: `stack_working_set`;
    /// stackless async tasks: 0, they run on their worker's stack).
    pub(crate) stack: u64,
    /// Core time to create a task and switch to it (`task_spawn`, measured as spawn + await).
    pub(crate) spawn: u64,
    /// A running task's slice; `None` runs each CPU step to its end.
    pub(crate) quantum: Option<u64>,
    /// Each request stays on the worker that accepted it.
    pub(crate) affinity: bool,
    /// Threads that run blocking calls off the workers.
    pub(crate) offload: Option<u64>,
    /// tokio's LIFO slot (see `model::cooperative`).
    pub(crate) lifo_slot: bool,
    /// `io` steps end on a timer thread (see [`timer`]).
    pub(crate) timer_thread: bool,
    /// Server processes (affinity: one per loop, as with gunicorn or Node's cluster).
    pub(crate) processes: u64,
}

#[derive(Debug, Clone)]
struct Worker {
    thread: ThreadId,
    /// The task on this worker (running, or blocking its thread), or NONE.
    current: ReqId,
    /// Work of the burst in progress for `current`'s CPU step.
    chunk: u64,
    /// Blocked in its poll with nothing to do.
    idle: bool,
    /// The current task's blocking call starts once the worker's pending overhead is paid.
    block_after: bool,
    /// Ready tasks pinned to this worker (affinity only).
    ready: VecDeque<ReqId>,
    /// The task woken by this worker's running task, to run next here (LIFO slot), or NONE.
    lifo: ReqId,
    /// Tasks taken from the LIFO slot in a row.
    lifo_runs: u32,
    /// Takes tasks from its own `ready` queue only, never from the shared one, and is never
    /// an idle worker a shared task may wake: every worker with affinity, and the timer thread
    /// (see [`timer`]).
    own_queue: bool,
}

impl Worker {
    /// A blocked worker on `thread` with nothing to run.
    fn new(thread: ThreadId, own_queue: bool) -> Self {
        Worker {
            thread,
            current: NONE,
            chunk: 0,
            idle: true,
            block_after: false,
            ready: VecDeque::new(),
            lifo: NONE,
            lifo_runs: 0,
            own_queue,
        }
    }
}

/// tokio's `MAX_LIFO_POLLS_PER_TICK`: after this many slot runs in a row the slot's task goes
/// to the queue, so two tasks waking each other cannot starve it.
const MAX_LIFO_RUNS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Worker(u32),
    Offload(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffloadPhase {
    Free,
    /// Woken to take the call.
    Starting,
    /// Blocked in the call.
    Waiting,
    /// Woken by the call's end to hand the result back.
    Returning,
}

#[derive(Debug, Clone, Copy)]
struct OffloadThread {
    thread: ThreadId,
    req: ReqId,
    phase: OffloadPhase,
}

/// The runtime's state.
pub(crate) struct Runtime {
    params: Params,
    workers: Vec<Worker>,
    shared: VecDeque<ReqId>,
    /// Ready tasks over all queues (for the report's `ready` queue).
    ready: usize,
    /// Idle workers that a shared-queue task may wake (unused with affinity).
    idle_workers: Vec<u32>,
    roles: Vec<Role>,
    offload: Vec<OffloadThread>,
    free_offload: Vec<u32>,
    offload_queue: VecDeque<ReqId>,
    /// Requests on offload threads, by request id (NONE when not offloaded).
    offloaded: Vec<u32>,
    next_worker: u32,
    /// Tasks a worker's task granted a pool unit and put in its LIFO slot at once; their
    /// `on_pool_granted` is then a no-op.
    lifo_grants: Vec<ReqId>,
    ready_level: usize,
    offload_level: usize,
    /// The timer thread's worker index, when the runtime has one.
    timer: Option<u32>,
}

/// Request ids the shared ready queue holds before it first grows.
const SHARED_QUEUE_RESERVE: usize = 4096;

impl Runtime {
    pub(crate) fn new(params: Params) -> Self {
        Runtime {
            params,
            workers: Vec::new(),
            // Sized up front so that a queue reaching a new high-water mark in the steady
            // state does not allocate (issue 15): 4,096 ids are 16 KiB per server.
            shared: VecDeque::with_capacity(SHARED_QUEUE_RESERVE),
            ready: 0,
            idle_workers: Vec::new(),
            roles: Vec::new(),
            offload: Vec::new(),
            free_offload: Vec::new(),
            offload_queue: VecDeque::new(),
            offloaded: Vec::new(),
            next_worker: 0,
            lifo_grants: Vec::new(),
            ready_level: 0,
            offload_level: 0,
            timer: None,
        }
    }

    fn set_role(&mut self, thread: ThreadId, role: Role) {
        let i = thread as usize;
        if i >= self.roles.len() {
            self.roles.resize(i + 1, Role::Worker(0));
        }
        self.roles[i] = role;
    }

    fn pick_worker(&mut self) -> u32 {
        let w = self.next_worker;
        self.next_worker = (self.next_worker + 1) % self.params.workers as u32;
        w
    }

    /// The task can run: queue it and wake (`by` the caller) a worker that would take it.
    fn make_ready(&mut self, ctx: &mut Ctx, req: ReqId, by: Waker) {
        self.push_ready(ctx, req);
        let w = if self.params.affinity {
            let w = ctx.owner(req);
            if !self.workers[w as usize].idle {
                return;
            }
            w
        } else {
            match self.idle_workers.pop() {
                Some(w) => w,
                None => return,
            }
        };
        let worker = &mut self.workers[w as usize];
        worker.idle = false;
        let thread = worker.thread;
        ctx.wake(thread, Burst::ZERO, by);
    }

    /// Queues a task at the tail of its ready queue.
    fn push_ready(&mut self, ctx: &mut Ctx, req: ReqId) {
        if self.params.affinity {
            let w = ctx.owner(req);
            self.workers[w as usize].ready.push_back(req);
        } else {
            self.shared.push_back(req);
        }
        self.ready += 1;
        ctx.queue_len(self.ready_level, self.ready);
    }

    /// The task `w`'s running task woke: into `w`'s LIFO slot (a task it displaces goes to
    /// the queue, and may wake an idle worker).
    fn make_ready_lifo(&mut self, ctx: &mut Ctx, req: ReqId, w: u32, by: Waker) {
        let prev = std::mem::replace(&mut self.workers[w as usize].lifo, req);
        self.ready += 1;
        ctx.queue_len(self.ready_level, self.ready);
        if prev != NONE {
            self.ready -= 1;
            self.make_ready(ctx, prev, by);
        }
    }

    /// The next task for worker `w`: its LIFO slot's (unless it ran too many in a row), else
    /// the queue's.
    fn next_task(&mut self, ctx: &mut Ctx, w: u32) -> Option<ReqId> {
        let worker = &mut self.workers[w as usize];
        let slot = std::mem::replace(&mut worker.lifo, NONE);
        if slot != NONE {
            self.ready -= 1;
            if worker.lifo_runs < MAX_LIFO_RUNS {
                worker.lifo_runs += 1;
                ctx.queue_len(self.ready_level, self.ready);
                return Some(slot);
            }
            self.push_ready(ctx, slot);
        }
        self.workers[w as usize].lifo_runs = 0;
        self.pop_ready(ctx, w)
    }

    fn pop_ready(&mut self, ctx: &mut Ctx, w: u32) -> Option<ReqId> {
        let req = if self.workers[w as usize].own_queue {
            self.workers[w as usize].ready.pop_front()
        } else {
            self.shared.pop_front()
        };
        if req.is_some() {
            self.ready -= 1;
            ctx.queue_len(self.ready_level, self.ready);
        }
        req
    }

    fn has_ready(&self, w: u32) -> bool {
        if self.workers[w as usize].lifo != NONE {
            return true;
        }
        if self.workers[w as usize].own_queue {
            !self.workers[w as usize].ready.is_empty()
        } else {
            !self.shared.is_empty()
        }
    }

    fn chunk(&self, remaining: u64) -> u64 {
        match self.params.quantum {
            Some(q) => remaining.min(q),
            None => remaining,
        }
    }

    /// Worker `w` is on its core with `overhead` of switching not yet paid: run tasks until one
    /// needs the core for a while, blocks the thread, or none is ready.
    fn schedule(&mut self, ctx: &mut Ctx, w: u32, mut overhead: u64, by: Waker) -> Next {
        // Spawn costs of tasks that started and went on waiting: useful work still to pay.
        let mut work = 0;
        loop {
            let mut req = self.workers[w as usize].current;
            if req == NONE {
                match self.next_task(ctx, w) {
                    Some(next) => {
                        req = next;
                        self.workers[w as usize].current = req;
                        ctx.count_task_switch();
                        overhead += self.params.switch;
                        if !self.params.affinity {
                            ctx.set_owner(req, w);
                        }
                    }
                    None => {
                        if overhead + work > 0 {
                            self.workers[w as usize].chunk = 0;
                            return Next::Run(Burst {
                                overhead,
                                work,
                                ..Burst::ZERO
                            });
                        }
                        self.workers[w as usize].idle = true;
                        if !self.workers[w as usize].own_queue {
                            self.idle_workers.push(w);
                        }
                        return Next::Block;
                    }
                }
            }
            // A task's spawn cost waits in its carry until its first step.
            let spawn = if ctx.in_step(req) {
                0
            } else {
                ctx.take_spawn(req)
            };
            // Any other decision (start a wait, queue for a pool, answer) is taken by the task
            // on the core, so the switch to it and its creation are paid first; the worker
            // comes back here with `current` still set once that burst is done.
            if !ctx.in_step(req) && overhead + work + spawn > 0 && !ctx.next_step_is_ready_cpu(req)
            {
                self.workers[w as usize].chunk = 0;
                return Next::Run(Burst {
                    overhead,
                    work: work + spawn,
                    ..Burst::ZERO
                });
            }
            let start = if ctx.in_step(req) {
                // Resuming a CPU step cut by the quantum.
                StepStart::Cpu(ctx.cpu_left(req))
            } else {
                ctx.begin_step(req)
            };
            match start {
                StepStart::Cpu(cpu) => {
                    ctx.set_carry(req, Carry::Cpu(cpu));
                    let chunk = self.chunk(cpu);
                    self.workers[w as usize].chunk = chunk;
                    return Next::Run(Burst {
                        overhead,
                        work: work + spawn + chunk,
                        touch: ctx.touch(req, self.params.stack),
                        ..Burst::ZERO
                    });
                }
                StepStart::Io(_) | StepStart::PoolWait => {
                    work += spawn;
                    self.workers[w as usize].current = NONE;
                }
                StepStart::Blocking(wait) => {
                    work += spawn;
                    if !self.offload.is_empty() {
                        self.workers[w as usize].current = NONE;
                        self.offload_call(ctx, req, wait, by);
                    } else {
                        ctx.set_carry(req, Carry::Call(wait));
                        if overhead + work > 0 {
                            let worker = &mut self.workers[w as usize];
                            worker.block_after = true;
                            worker.chunk = 0;
                            return Next::Run(Burst {
                                overhead,
                                work,
                                ..Burst::ZERO
                            });
                        }
                        self.block_worker(ctx, req);
                        return Next::Block;
                    }
                }
                StepStart::Done => {
                    work += spawn;
                    self.workers[w as usize].current = NONE;
                    if !ctx.connections() {
                        ctx.tasks_changed(-1);
                    }
                    ctx.finish(req, by);
                }
            }
        }
    }

    /// Starts the blocking call the request carries (the caller's thread blocks).
    fn block_worker(&mut self, ctx: &mut Ctx, req: ReqId) {
        let wait = ctx.take_call(req);
        ctx.start_wait(req, wait);
    }

    fn offload_call(&mut self, ctx: &mut Ctx, req: ReqId, wait: u64, by: Waker) {
        let i = req as usize;
        if i >= self.offloaded.len() {
            self.offloaded.resize(i + 1, NONE);
        }
        ctx.set_carry(req, Carry::Call(wait));
        match self.free_offload.pop() {
            Some(o) => self.hand_to(ctx, o, req, by),
            None => {
                self.offload_queue.push_back(req);
                ctx.queue_len(self.offload_level, self.offload_queue.len());
            }
        }
    }

    fn hand_to(&mut self, ctx: &mut Ctx, o: u32, req: ReqId, by: Waker) {
        self.offloaded[req as usize] = o;
        let t = &mut self.offload[o as usize];
        t.req = req;
        t.phase = OffloadPhase::Starting;
        let thread = t.thread;
        ctx.wake(thread, Burst::ZERO, by);
    }

    fn offload_burst_done(&mut self, ctx: &mut Ctx, o: u32, by: Waker) -> Next {
        let t = self.offload[o as usize];
        match t.phase {
            OffloadPhase::Starting => {
                self.offload[o as usize].phase = OffloadPhase::Waiting;
                self.block_worker(ctx, t.req);
                Next::Block
            }
            _ => {
                // Returning: the task goes back to its loop; the thread takes the next call.
                self.offloaded[t.req as usize] = NONE;
                self.make_ready(ctx, t.req, by);
                match self.offload_queue.pop_front() {
                    Some(next) => {
                        ctx.queue_len(self.offload_level, self.offload_queue.len());
                        self.offloaded[next as usize] = o;
                        let slot = &mut self.offload[o as usize];
                        slot.req = next;
                        slot.phase = OffloadPhase::Waiting;
                        self.block_worker(ctx, next);
                        Next::Block
                    }
                    None => {
                        let slot = &mut self.offload[o as usize];
                        slot.req = NONE;
                        slot.phase = OffloadPhase::Free;
                        self.free_offload.push(o);
                        Next::Block
                    }
                }
            }
        }
    }
}

impl Scheduler for Runtime {
    fn start(&mut self, ctx: &mut Ctx) {
        self.ready_level = ctx.add_queue("ready");
        ctx.set_processes(self.params.processes);
        for w in 0..self.params.workers as u32 {
            let thread = ctx.spawn_thread();
            self.set_role(thread, Role::Worker(w));
            self.workers.push(Worker::new(thread, self.params.affinity));
        }
        if !self.params.affinity {
            // Lowest worker first out of the stack.
            self.idle_workers = (0..self.params.workers as u32).rev().collect();
        }
        if let Some(n) = self.params.offload {
            self.offload_level = ctx.add_queue("offload");
            for i in 0..n as u32 {
                let thread = ctx.spawn_thread();
                self.set_role(thread, Role::Offload(i));
                self.offload.push(OffloadThread {
                    thread,
                    req: NONE,
                    phase: OffloadPhase::Free,
                });
            }
            self.free_offload = (0..n as u32).rev().collect();
        }
        self.start_timer(ctx);
    }

    fn on_connect(&mut self, ctx: &mut Ctx, client: u32) {
        ctx.tasks_changed(1);
        if self.params.affinity {
            ctx.bind(client, self.pick_worker());
        }
    }

    fn on_arrival(&mut self, ctx: &mut Ctx, req: ReqId, by: Waker) {
        if !ctx.connections() {
            ctx.tasks_changed(1);
            // `task_spawn` is measured as spawn + await of an empty task, which includes
            // switching to it; the worker charges that switch when it first runs the task, so
            // the creation is the rest (one task switch per spawn, not two). Creating the
            // task is useful work, paid when it first runs.
            let creation = self.params.spawn.saturating_sub(self.params.switch);
            ctx.set_carry(req, Carry::Spawn(creation));
        }
        if self.params.affinity {
            let client = ctx.client_of(req);
            let w = if client == NONE {
                self.pick_worker()
            } else {
                let bound = ctx.bound(client);
                if bound == NONE {
                    let w = self.pick_worker();
                    ctx.bind(client, w);
                    w
                } else {
                    bound
                }
            };
            ctx.set_owner(req, w);
        }
        self.make_ready(ctx, req, by);
    }

    fn on_burst_done(&mut self, ctx: &mut Ctx, thread: ThreadId, core: CoreId) -> Next {
        let by = Waker::Core(core);
        let w = match self.roles[thread as usize] {
            Role::Worker(w) => w,
            Role::Offload(o) => return self.offload_burst_done(ctx, o, by),
        };
        let worker = &mut self.workers[w as usize];
        let req = worker.current;
        if worker.block_after {
            worker.block_after = false;
            self.block_worker(ctx, req);
            return Next::Block;
        }
        if req != NONE && ctx.in_step(req) {
            let chunk = std::mem::take(&mut self.workers[w as usize].chunk);
            let left = ctx.ran(req, chunk);
            if left > 0 {
                // The slice is over: yield to a ready task, or keep going.
                if self.has_ready(w) {
                    self.workers[w as usize].current = NONE;
                    self.push_ready(ctx, req);
                } else {
                    let chunk = self.chunk(left);
                    self.workers[w as usize].chunk = chunk;
                    return Next::Run(Burst {
                        work: chunk,
                        touch: ctx.touch(req, self.params.stack),
                        ..Burst::ZERO
                    });
                }
            } else if let Some(granted) = ctx.end_step(req)
                && self.params.lifo_slot
                && !self.workers[w as usize].own_queue
            {
                // The releasing task wakes the waiter from this worker, as tokio's semaphore
                // does inside the task's poll: it runs next here.
                self.lifo_grants.push(granted);
                self.make_ready_lifo(ctx, granted, w, by);
            }
        }
        self.schedule(ctx, w, 0, by)
    }

    fn on_io_done(&mut self, ctx: &mut Ctx, req: ReqId) {
        ctx.end_step(req);
        if let Some(&o) = self.offloaded.get(req as usize)
            && o != NONE
        {
            self.offload[o as usize].phase = OffloadPhase::Returning;
            let thread = self.offload[o as usize].thread;
            ctx.wake(thread, Burst::ZERO, Waker::Io);
            return;
        }
        // A blocking call ends: its worker (still holding the task) resumes it, no task switch.
        let w = ctx.owner(req);
        if w != NONE && self.workers[w as usize].current == req {
            let thread = self.workers[w as usize].thread;
            ctx.wake(thread, Burst::ZERO, Waker::Io);
            return;
        }
        if self.timer_due(ctx, req) {
            return;
        }
        self.make_ready(ctx, req, Waker::Outside);
    }

    fn on_pool_granted(&mut self, ctx: &mut Ctx, req: ReqId) {
        if let Some(i) = self.lifo_grants.iter().position(|&r| r == req) {
            self.lifo_grants.swap_remove(i);
            return;
        }
        self.make_ready(ctx, req, Waker::Outside);
    }
}
