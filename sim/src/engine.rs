//! The engine: simulated time, the event loop, requests and their steps, the client side
//! (open, closed, trace, connections), the `maxconn` gate, the local proxy and the statistics.
//! Scheduling decisions belong to the model (see [`crate::model`]), core time to the kernel.

use std::collections::VecDeque;

use rand::{Rng as _, SeedableRng as _};

use crate::cache::{Caches, Owner, Touch};
use crate::config::{Arrivals, RunConfig, StepKind, Stop, Warmup};
use crate::dist::SimRng;
use crate::error::SimError;
use crate::event::{CoreId, Event, NONE, ReqId, ThreadId};
use crate::kernel::{Burst, Kernel, Next, Policy, Waker};
use crate::metrics::{Latencies, Level};
use crate::queue::EventQueue;
use crate::report::Audit;
use crate::tally::RunTally;
use crate::time::SimTime;

/// Events between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 1 << 16;

/// The event hooks of a scheduling model (see [`crate::model`]), the interface the engine
/// drives. Each hook that may wake a thread says who wakes it: `by` (or, on a core, `core`) is
/// passed on to every [`Sim::wake`] the hook causes.
pub(crate) trait Scheduler {
    /// The run starts: create the threads the server has from the beginning.
    fn start(&mut self, sim: &mut Sim);

    /// A long-lived connection opens (before its first message).
    fn on_connect(&mut self, _sim: &mut Sim, _client: u32) {}

    /// A request reaches the server, handed over `by` a core's thread (the proxy) or from
    /// outside (the network).
    fn on_arrival(&mut self, sim: &mut Sim, req: ReqId, by: Waker);

    /// A thread this model owns finished its burst; it is still on `core`, and whatever it
    /// wakes is woken from there. Say what it does next.
    fn on_burst_done(&mut self, sim: &mut Sim, thread: ThreadId, core: CoreId) -> Next;

    /// A request's wait ended (an interrupt: wakes come from outside).
    fn on_io_done(&mut self, sim: &mut Sim, req: ReqId);

    /// A request that waited for a pool unit now holds one (wakes come from outside).
    fn on_pool_granted(&mut self, sim: &mut Sim, req: ReqId);

    /// A timer set with [`Sim::set_timer`] ran out (wakes come from outside).
    fn on_timer(&mut self, _sim: &mut Sim, _thread: ThreadId, _generation: u32) {}
}

/// One request in flight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// When the client sent it (the broadcast time for broadcast deliveries).
    pub(crate) sent: SimTime,
    /// Sum of its sampled step durations and proxy passes: the least latency it can have.
    demand: u64,
    /// What the model carries for it between two decisions (one meaning at a time).
    pub(crate) carry: Carry,
    /// The closed-loop client or connection that sent it, or NONE.
    pub(crate) client: u32,
    /// Model-defined: the thread or loop that serves it.
    pub(crate) owner: u32,
    trace_row: u32,
    step: u16,
    holding: bool,
    in_step: bool,
    broadcast: bool,
    started: bool,
}

/// What a request carries between two decisions of its model. It used to be one `remaining`
/// number meaning three things by phase; each meaning is now its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carry {
    /// Nothing.
    Nothing,
    /// A task's creation cost (ns of useful work), paid when the task first runs.
    Spawn(u64),
    /// CPU (ns) still to run in the current step (models that slice a step).
    Cpu(u64),
    /// A blocking call's duration (ns), to start once the thread has paid what it owes.
    Call(u64),
}

impl Request {
    /// Takes a pending creation cost (0 when none).
    pub(crate) fn take_spawn(&mut self) -> u64 {
        match std::mem::replace(&mut self.carry, Carry::Nothing) {
            Carry::Spawn(ns) => ns,
            other => {
                debug_assert!(
                    matches!(other, Carry::Nothing | Carry::Cpu(0) | Carry::Call(0)),
                    "no spawn cost to take: {other:?}"
                );
                0
            }
        }
    }

    /// CPU still to run in the current step.
    pub(crate) fn cpu_left(&self) -> u64 {
        match self.carry {
            Carry::Cpu(ns) => ns,
            other => {
                debug_assert!(false, "not in a CPU step: {other:?}");
                0
            }
        }
    }

    /// `ns` of the current CPU step ran; returns what is left.
    pub(crate) fn ran(&mut self, ns: u64) -> u64 {
        let left = self.cpu_left();
        let left = left - ns.min(left);
        self.carry = Carry::Cpu(left);
        left
    }

    /// Takes the pending blocking call's duration.
    pub(crate) fn take_call(&mut self) -> u64 {
        match std::mem::replace(&mut self.carry, Carry::Nothing) {
            Carry::Call(ns) => ns,
            other => {
                debug_assert!(false, "no blocking call pending: {other:?}");
                0
            }
        }
    }
}

/// How the next step of a request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepStart {
    /// A CPU burst of this many ns.
    Cpu(u64),
    /// A wait that needs no thread; the engine delivers `on_io_done` when it ends.
    Io(u64),
    /// A wait that blocks the OS thread running it; the model must call [`Sim::start_wait`].
    Blocking(u64),
    /// Waiting for a pool unit; the engine delivers `on_pool_granted`.
    PoolWait,
    /// No steps left.
    Done,
}

#[derive(Debug)]
struct PoolState {
    free: u64,
    waiters: VecDeque<ReqId>,
    level: usize,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Client {
    /// Model-defined binding (a keep-alive thread, an event loop), NONE when unbound.
    pub(crate) bind: u32,
    busy: bool,
    scheduled: bool,
    pending_send: bool,
    pending_broadcast: bool,
}

#[derive(Debug)]
struct ProxyState {
    thread: ThreadId,
    jobs: VecDeque<(ReqId, bool)>,
    current: (ReqId, bool),
    idle: bool,
}

/// Indices of the engine's own queues in [`Sim::levels`].
const RUN_QUEUE: usize = 0;
const PROXY_QUEUE: usize = 1;
const SYSTEM: usize = 2;

/// The state of one run that models read and change through the methods below.
pub(crate) struct Sim<'a> {
    pub(crate) cfg: &'a RunConfig,
    pub(crate) now: SimTime,
    pub(crate) queue: EventQueue,
    pub(crate) rng: SimRng,
    pub(crate) kernel: Kernel,
    requests: Vec<Request>,
    free_requests: Vec<ReqId>,
    pools: Vec<PoolState>,
    pub(crate) clients: Vec<Client>,
    levels: Vec<(String, Level)>,
    latencies: Latencies,
    /// User-level task or coroutine switches so far.
    pub(crate) task_switches: u64,
    live_tasks: u64,
    processes: u64,
    memory: Level,
    threads_level: Level,
    tasks_level: Level,
    sent: u64,
    completed_total: u64,
    dropped_total: u64,
    in_flight: u64,
    /// Completions and drops in the measured window (from the start until the warm-up ends).
    completed: u64,
    dropped: u64,
    measuring: bool,
    measure_start: SimTime,
    snapshot: (u64, u64, u64, u64),
    /// Refill core time when measuring began.
    refill_at_start: u64,
    /// The kernel's idle wake-up core time when measuring started.
    idle_wakeup_at_start: u64,
    inside: u64,
    proxy_queue: VecDeque<ReqId>,
    proxy: Option<ProxyState>,
    min_slack: i64,
    /// Requests started, of which waited, and their total wait (ns), since measuring began.
    waits: (u64, u64, u128),
    stopped: bool,
    next_row: usize,
    /// Only broadcast deliveries enter the latency statistics.
    broadcast_only: bool,
    /// Requests come from long-lived connections (each connection is one task).
    pub(crate) connections: bool,
    events: u64,
    /// The extra waits drawn for `parallel` steps, counted toward the event limit.
    draws: u64,
    /// When the last request completed or was dropped.
    last_exit: SimTime,
    /// When the earliest completed request was sent (all completions, warm-up included).
    first_sent: SimTime,
    /// The run drained an open loop or trace: every offered request left before it ended.
    drained: bool,
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a RunConfig, quantum: Option<u64>) -> Self {
        let mut levels = vec![
            ("run".to_string(), Level::default()),
            ("proxy".to_string(), Level::default()),
            ("system".to_string(), Level::default()),
        ];
        let pools = cfg
            .pools
            .iter()
            .map(|p| {
                levels.push((format!("pool:{}", p.name), Level::default()));
                PoolState {
                    free: p.size,
                    waiters: VecDeque::new(),
                    level: levels.len() - 1,
                }
            })
            .collect();
        let clients = match &cfg.load.arrivals {
            Arrivals::Closed { concurrency, .. } => *concurrency,
            Arrivals::Connections { connections, .. } => *connections,
            _ => 0,
        };
        let broadcast_only = matches!(
            cfg.load.arrivals,
            Arrivals::Connections {
                broadcast_at: Some(_),
                ..
            }
        );
        Sim {
            cfg,
            now: SimTime::ZERO,
            queue: EventQueue::with_capacity(1024),
            rng: SimRng::seed_from_u64(cfg.seed),
            kernel: {
                let kernel = Kernel::new(
                    cfg.cores,
                    cfg.costs.thread_switch,
                    cfg.costs.thread_wakeup,
                    Policy::new(quantum, &cfg.kernel, cfg.cores),
                )
                .with_idle_costs(cfg.costs.idle_wakeup_cpu, cfg.costs.idle_exit_latency);
                match Caches::for_run(cfg) {
                    Some(caches) => kernel.with_caches(caches, cfg.costs.stack_working_set),
                    None => kernel,
                }
            },
            requests: Vec::with_capacity(1024),
            // Room for this many requests in flight before the free list grows (issue 15:
            // no allocation in the steady state); 16 KiB.
            free_requests: Vec::with_capacity(4096),
            pools,
            clients: vec![
                Client {
                    bind: NONE,
                    ..Client::default()
                };
                clients as usize
            ],
            levels,
            latencies: Latencies::new(),
            task_switches: 0,
            live_tasks: 0,
            processes: 1,
            memory: Level::default(),
            threads_level: Level::default(),
            tasks_level: Level::default(),
            sent: 0,
            completed_total: 0,
            dropped_total: 0,
            in_flight: 0,
            completed: 0,
            dropped: 0,
            measuring: false,
            measure_start: SimTime::ZERO,
            snapshot: (0, 0, 0, 0),
            refill_at_start: 0,
            idle_wakeup_at_start: 0,
            inside: 0,
            proxy_queue: VecDeque::new(),
            proxy: None,
            min_slack: i64::MAX,
            waits: (0, 0, 0),
            stopped: false,
            next_row: 0,
            broadcast_only,
            connections: matches!(cfg.load.arrivals, Arrivals::Connections { .. }),
            events: 0,
            draws: 0,
            last_exit: SimTime::ZERO,
            first_sent: SimTime(u64::MAX),
            drained: false,
        }
    }

    // ----- requests and steps -----

    fn new_request(
        &mut self,
        sent: SimTime,
        client: u32,
        trace_row: u32,
        broadcast: bool,
    ) -> ReqId {
        let req = Request {
            sent,
            demand: 0,
            carry: Carry::Nothing,
            client,
            owner: NONE,
            trace_row,
            step: 0,
            holding: false,
            in_step: false,
            broadcast,
            started: false,
        };
        self.sent += 1;
        self.in_flight += 1;
        self.levels[SYSTEM].1.set(self.now, self.in_flight);
        match self.free_requests.pop() {
            Some(id) => {
                self.requests[id as usize] = req;
                id
            }
            None => {
                self.requests.push(req);
                (self.requests.len() - 1) as ReqId
            }
        }
    }

    /// What a burst of `req`'s current cpu step touches: the step's working set, plus
    /// `stack` bytes of a stackful task's own stack, owned by the request's connection (its
    /// buffers outlive the request) or, without one, by the request. `None` when nothing.
    pub(crate) fn touch(&self, req: ReqId, stack: u64) -> Option<Touch> {
        let r = &self.requests[req as usize];
        let data = self
            .cfg
            .steps
            .get(r.step as usize)
            .map_or(0, |s| s.working_set);
        let owner = if r.client != NONE {
            Owner::Connection(r.client)
        } else {
            Owner::Request(u64::from(req))
        };
        let bytes = data + stack;
        (bytes > 0).then_some(Touch { owner, bytes })
    }

    pub(crate) fn req(&self, req: ReqId) -> &Request {
        &self.requests[req as usize]
    }

    pub(crate) fn req_mut(&mut self, req: ReqId) -> &mut Request {
        &mut self.requests[req as usize]
    }

    /// True while the request is inside a step that has begun and not ended.
    pub(crate) fn in_step(&self, req: ReqId) -> bool {
        self.requests[req as usize].in_step
    }

    /// True when the request's next step is a CPU burst that can start now (no pool unit to
    /// wait for), so that switching to its task and running the burst can be one core segment.
    pub(crate) fn next_step_is_ready_cpu(&self, req: ReqId) -> bool {
        let r = &self.requests[req as usize];
        let Some(step) = self.cfg.steps.get(r.step as usize) else {
            return false;
        };
        step.kind == StepKind::Cpu
            && match step.pool {
                Some(pool) => r.holding || self.pools[pool].free > 0,
                None => true,
            }
    }

    /// Starts the request's next step: takes its pool unit (or queues for one) and draws its
    /// duration.
    pub(crate) fn begin_step(&mut self, req: ReqId) -> StepStart {
        let cfg = self.cfg;
        let r = &mut self.requests[req as usize];
        let index = r.step as usize;
        let Some(step) = cfg.steps.get(index) else {
            return StepStart::Done;
        };
        if let Some(pool) = step.pool
            && !r.holding
        {
            let p = &mut self.pools[pool];
            if p.free == 0 {
                p.waiters.push_back(req);
                let (len, level) = (p.waiters.len() as u64, p.level);
                self.levels[level].1.set(self.now, len);
                return StepStart::PoolWait;
            }
            p.free -= 1;
            r.holding = true;
        }
        let trace_row = r.trace_row;
        let duration = match &cfg.load.arrivals {
            Arrivals::Trace { rows } if trace_row != NONE => rows[trace_row as usize]
                .steps
                .as_ref()
                .and_then(|s| s.get(index).copied()),
            _ => None,
        }
        .unwrap_or_else(|| {
            let mut d = step.duration.sample(&mut self.rng);
            if step.kind == StepKind::Io {
                for _ in 1..step.parallel {
                    d = d.max(step.duration.sample(&mut self.rng));
                }
                // Each extra wait is work like an event: it counts toward the event limit.
                self.draws += u64::from(step.parallel.saturating_sub(1));
            }
            d
        });
        let r = &mut self.requests[req as usize];
        r.demand += duration;
        r.in_step = true;
        if !r.started {
            r.started = true;
            let wait = self.now - r.sent;
            self.waits.0 += 1;
            self.waits.1 += (wait > 0) as u64;
            self.waits.2 += wait as u128;
        }
        match (step.kind, step.blocking) {
            (StepKind::Cpu, _) => StepStart::Cpu(duration),
            (StepKind::Io, false) => {
                self.start_wait(req, duration);
                StepStart::Io(duration)
            }
            (StepKind::Io, true) => StepStart::Blocking(duration),
        }
    }

    /// Starts a wait of `ns`; `on_io_done` follows.
    pub(crate) fn start_wait(&mut self, req: ReqId, ns: u64) {
        self.queue.push(self.now + ns, Event::IoDone { req });
    }

    /// Ends the current step: releases its pool unit (to the first waiter, if any). Returns
    /// the waiter granted the unit (its `on_pool_granted` follows).
    pub(crate) fn end_step(&mut self, req: ReqId) -> Option<ReqId> {
        let r = &mut self.requests[req as usize];
        r.in_step = false;
        let step = r.step as usize;
        r.step += 1;
        if r.holding {
            r.holding = false;
            if let Some(pool) = self.cfg.steps[step].pool {
                let p = &mut self.pools[pool];
                match p.waiters.pop_front() {
                    Some(next) => {
                        let (len, level) = (p.waiters.len() as u64, p.level);
                        self.requests[next as usize].holding = true;
                        self.levels[level].1.set(self.now, len);
                        self.queue.push(self.now, Event::PoolGranted { req: next });
                        return Some(next);
                    }
                    None => p.free += 1,
                }
            }
        }
        None
    }

    /// The request's steps are done: back through the proxy (woken `by` the caller), then to
    /// the client.
    pub(crate) fn finish(&mut self, req: ReqId, by: Waker) {
        if self.proxy.is_some() {
            self.proxy_job(req, true, by);
        } else {
            self.complete(req);
        }
    }

    /// The server turns the request away (full backlog).
    pub(crate) fn drop_request(&mut self, req: ReqId) {
        self.dropped_total += 1;
        self.dropped += 1;
        let client = self.requests[req as usize].client;
        self.leave(req, client);
    }

    fn complete(&mut self, req: ReqId) {
        let r = self.requests[req as usize];
        let took = self.now - r.sent;
        self.min_slack = self.min_slack.min(took as i64 - r.demand as i64);
        self.completed_total += 1;
        // Counted from the start and forgotten when the warm-up ends, so that a run whose
        // warm-up never ends still has its whole history to report.
        self.first_sent = self.first_sent.min(r.sent);
        self.completed += 1;
        if !self.broadcast_only || r.broadcast {
            self.latencies.record(took + self.cfg.load.rtt);
        }
        if !self.measuring
            && let Warmup::Requests(k) = self.cfg.load.warmup
            && self.completed_total >= k
        {
            self.start_measuring(self.now);
        }
        if let Stop::Requests(n) = self.cfg.load.stop
            && self.completed_total >= n
            && !matches!(
                self.cfg.load.arrivals,
                Arrivals::Open { .. } | Arrivals::Trace { .. }
            )
        {
            self.stopped = true;
        }
        self.leave(req, r.client);
    }

    /// Common exit of completed and dropped requests: the client's next send, the gate, the slab.
    fn leave(&mut self, req: ReqId, client: u32) {
        if client == NONE {
            // The request's data is not asked for again (its id will be reused).
            self.kernel.forget(Owner::Request(u64::from(req)));
        }
        self.last_exit = self.now;
        self.in_flight -= 1;
        self.levels[SYSTEM].1.set(self.now, self.in_flight);
        if client != NONE {
            self.client_done(client);
        }
        if self.cfg.load.maxconn.is_some() {
            match self.proxy_queue.pop_front() {
                Some(next) => {
                    self.levels[PROXY_QUEUE]
                        .1
                        .set(self.now, self.proxy_queue.len() as u64);
                    self.queue.push(self.now, Event::Enter { req: next });
                }
                None => self.inside -= 1,
            }
        }
        self.free_requests.push(req);
    }

    fn client_done(&mut self, client: u32) {
        let now = self.now;
        let c = &mut self.clients[client as usize];
        c.busy = false;
        if c.pending_broadcast || c.pending_send {
            c.pending_send = false;
            c.scheduled = true;
            self.queue.push(now, Event::ClientSend { client });
        } else if !c.scheduled {
            c.scheduled = true;
            let gap = match &self.cfg.load.arrivals {
                Arrivals::Closed { think, .. } => think.sample(&mut self.rng),
                Arrivals::Connections { interval, .. } => interval.sample(&mut self.rng),
                _ => 0,
            };
            self.queue
                .push(now + self.cfg.load.rtt + gap, Event::ClientSend { client });
        }
    }

    // ----- threads, tasks, memory, queues -----

    /// A new OS thread (blocked).
    pub(crate) fn spawn_thread(&mut self) -> ThreadId {
        let t = self.kernel.spawn();
        self.memory_changed();
        t
    }

    /// Makes a blocked thread runnable with `burst`; `by` is who wakes it (the thread on a
    /// core, or an interrupt), which decides whether the wake-up crosses cores.
    pub(crate) fn wake(&mut self, thread: ThreadId, burst: Burst, by: Waker) {
        self.kernel
            .wake(self.now, &mut self.queue, thread, burst, by);
    }

    /// Calls the model's [`Scheduler::on_timer`] for `thread` `ns` from now.
    pub(crate) fn set_timer(&mut self, ns: u64, thread: ThreadId, generation: u32) {
        self.queue
            .push(self.now + ns, Event::Timer { thread, generation });
    }

    /// Cuts a running or runnable thread's burst short (see `Kernel::interrupt`); returns the
    /// work it had left, ns.
    pub(crate) fn interrupt(&mut self, thread: ThreadId) -> u64 {
        self.kernel.interrupt(self.now, &mut self.queue, thread)
    }

    /// Tasks (coroutines, green threads) created (+) or ended (-).
    pub(crate) fn tasks_changed(&mut self, delta: i64) {
        self.live_tasks = self.live_tasks.saturating_add_signed(delta);
        self.memory_changed();
    }

    /// Server processes (for the per-process memory base).
    pub(crate) fn set_processes(&mut self, processes: u64) {
        self.processes = processes;
        self.memory_changed();
    }

    fn memory_changed(&mut self) {
        let c = &self.cfg.costs;
        let proxies = self.proxy.is_some() as u64;
        let threads = self.kernel.live_threads;
        let bytes = (self.processes + proxies) * c.process_memory
            + threads * c.thread_memory
            + self.live_tasks * c.task_memory;
        self.memory.set(self.now, bytes);
        self.threads_level.set(self.now, threads);
        self.tasks_level.set(self.now, self.live_tasks);
    }

    /// Registers a model's queue for the report; returns its index for [`Sim::queue_len`].
    pub(crate) fn add_queue(&mut self, name: &str) -> usize {
        self.levels.push((name.to_string(), Level::default()));
        self.levels.len() - 1
    }

    /// Records a model queue's new length.
    pub(crate) fn queue_len(&mut self, index: usize, len: usize) {
        self.levels[index].1.set(self.now, len as u64);
    }

    // ----- client side -----

    fn open_interarrival(&mut self, rate: f64) -> u64 {
        let u: f64 = self.rng.random();
        // Non-negative: half-up by truncation, without a libm call.
        (-(1e9 / rate) * (1.0 - u).ln() + 0.5) as u64
    }

    fn proxy_job(&mut self, req: ReqId, outbound: bool, by: Waker) {
        let Some(p) = self.proxy.as_mut() else {
            return;
        };
        p.jobs.push_back((req, outbound));
        if p.idle {
            p.idle = false;
            let thread = p.thread;
            let burst = self.next_proxy_burst();
            self.wake(thread, burst, by);
        }
    }

    fn next_proxy_burst(&mut self) -> Burst {
        let cfg = self.cfg;
        let Some(p) = self.proxy.as_mut() else {
            return Burst::ZERO;
        };
        let Some(job) = p.jobs.pop_front() else {
            return Burst::ZERO;
        };
        p.current = job;
        let cpu = cfg
            .server
            .proxy
            .as_ref()
            .map_or(0, |proxy| proxy.cpu.sample(&mut self.rng));
        self.requests[job.0 as usize].demand += cpu;
        Burst::work(cpu)
    }

    fn start_measuring(&mut self, at: SimTime) {
        self.measuring = true;
        self.measure_start = at;
        self.completed = 0;
        self.dropped = 0;
        self.waits = (0, 0, 0);
        self.latencies.clear();
        self.kernel.flush(at);
        self.snapshot = (
            self.kernel.useful_ns,
            self.kernel.switching_ns,
            self.kernel.context_switches,
            self.task_switches,
        );
        self.refill_at_start = self.kernel.refill_ns;
        self.idle_wakeup_at_start = self.kernel.idle_wakeup_ns;
        for (_, level) in &mut self.levels {
            level.restart(at);
        }
        self.kernel.run_level.restart(at);
        self.memory.restart(at);
        self.threads_level.restart(at);
        self.tasks_level.restart(at);
    }

    fn progress_fraction(&self, events: u64) -> f64 {
        // The run ends at whichever bound comes first, its requests (or duration) or the event
        // limit, so the bar shows the nearer of the two and its ETA is that bound's.
        let by_events = events.saturating_add(self.draws) as f64 / self.cfg.max_events as f64;
        let f = match self.cfg.load.stop {
            Stop::Duration(t) => self.now.ns() as f64 / t as f64,
            Stop::Requests(n) => match self.cfg.load.arrivals {
                Arrivals::Open { .. } | Arrivals::Trace { .. } => {
                    (self.sent - self.in_flight) as f64 / n as f64
                }
                _ => self.completed_total as f64 / n as f64,
            },
        };
        f.max(by_events).clamp(0.0, 1.0)
    }
}

struct Engine<'a, S> {
    sim: Sim<'a>,
    model: S,
}

impl<S: Scheduler> Engine<'_, S> {
    fn admit(&mut self, req: ReqId) {
        let sim = &mut self.sim;
        if let Some(max) = sim.cfg.load.maxconn
            && sim.inside >= max
        {
            sim.proxy_queue.push_back(req);
            let len = sim.proxy_queue.len() as u64;
            sim.levels[PROXY_QUEUE].1.set(sim.now, len);
            return;
        }
        sim.inside += 1;
        self.enter(req);
    }

    /// A request enters the server from the network.
    fn enter(&mut self, req: ReqId) {
        if self.sim.proxy.is_some() {
            self.sim.proxy_job(req, false, Waker::Outside);
        } else {
            self.model.on_arrival(&mut self.sim, req, Waker::Outside);
        }
    }

    fn start(&mut self) {
        let sim = &mut self.sim;
        if sim.cfg.server.proxy.is_some() {
            let thread = sim.kernel.spawn();
            sim.proxy = Some(ProxyState {
                thread,
                jobs: VecDeque::new(),
                current: (NONE, false),
                idle: true,
            });
        }
        sim.memory_changed();
        self.model.start(&mut self.sim);
        let sim = &mut self.sim;
        if sim.cfg.load.warmup == Warmup::Requests(0) || sim.cfg.load.warmup == Warmup::Duration(0)
        {
            sim.start_measuring(SimTime::ZERO);
        }
        match &sim.cfg.load.arrivals {
            Arrivals::Open { rate } => {
                let gap = sim.open_interarrival(*rate);
                sim.queue.push(SimTime(gap), Event::Arrival);
            }
            Arrivals::Trace { rows } => {
                if let Some(row) = rows.first() {
                    sim.queue.push(SimTime(row.offset), Event::Arrival);
                }
            }
            Arrivals::Closed { .. } => {
                for client in 0..sim.clients.len() as u32 {
                    sim.clients[client as usize].scheduled = true;
                    sim.queue.push(SimTime::ZERO, Event::ClientSend { client });
                }
            }
            Arrivals::Connections {
                interval,
                broadcast_at,
                ..
            } => {
                for client in 0..sim.clients.len() as u32 {
                    self.model.on_connect(&mut self.sim, client);
                    let sim = &mut self.sim;
                    sim.clients[client as usize].scheduled = true;
                    let gap = interval.sample(&mut sim.rng);
                    sim.queue.push(SimTime(gap), Event::ClientSend { client });
                }
                if let Some(at) = broadcast_at {
                    self.sim.queue.push(SimTime(*at), Event::Broadcast);
                }
            }
        }
    }

    fn on_arrival_event(&mut self) {
        let sim = &mut self.sim;
        let cfg = sim.cfg;
        let limit = match cfg.load.stop {
            Stop::Requests(n) => n,
            Stop::Duration(_) => u64::MAX,
        };
        match &cfg.load.arrivals {
            Arrivals::Open { rate } => {
                let req = sim.new_request(sim.now, NONE, NONE, false);
                if sim.sent < limit {
                    let gap = sim.open_interarrival(*rate);
                    sim.queue.push(sim.now + gap, Event::Arrival);
                }
                self.admit(req);
            }
            Arrivals::Trace { rows } => {
                let row = sim.next_row;
                let req = sim.new_request(sim.now, NONE, row as u32, false);
                sim.next_row += 1;
                if sim.next_row < rows.len() && sim.sent < limit {
                    sim.queue
                        .push(SimTime(rows[sim.next_row].offset), Event::Arrival);
                }
                self.admit(req);
            }
            _ => {}
        }
    }

    fn on_client_send(&mut self, client: u32) {
        let sim = &mut self.sim;
        let c = &mut sim.clients[client as usize];
        c.scheduled = false;
        if c.busy {
            c.pending_send = true;
            return;
        }
        c.busy = true;
        let broadcast = c.pending_broadcast;
        c.pending_broadcast = false;
        let sent = match (broadcast, &sim.cfg.load.arrivals) {
            (
                true,
                Arrivals::Connections {
                    broadcast_at: Some(at),
                    ..
                },
            ) => SimTime(*at),
            _ => sim.now,
        };
        let req = sim.new_request(sent, client, NONE, broadcast);
        self.admit(req);
    }

    fn on_broadcast(&mut self) {
        for client in 0..self.sim.clients.len() as u32 {
            let sim = &mut self.sim;
            let c = &mut sim.clients[client as usize];
            if c.busy {
                c.pending_broadcast = true;
                continue;
            }
            c.busy = true;
            let req = sim.new_request(sim.now, client, NONE, true);
            self.admit(req);
        }
    }

    fn on_core_done(&mut self, core: u32, generation: u32) {
        let sim = &mut self.sim;
        let Some(thread) = sim
            .kernel
            .core_done(sim.now, &mut sim.queue, core, generation)
        else {
            return;
        };
        let next = match &sim.proxy {
            Some(p) if p.thread == thread => self.proxy_burst_done(core),
            _ => self.model.on_burst_done(&mut self.sim, thread, core),
        };
        let sim = &mut self.sim;
        sim.kernel.resume(sim.now, &mut sim.queue, core, next);
        if next == Next::Exit {
            sim.memory_changed();
        }
    }

    /// The proxy thread, on `core`, finished passing a request on.
    fn proxy_burst_done(&mut self, core: CoreId) -> Next {
        let Some(p) = self.sim.proxy.as_mut() else {
            return Next::Block;
        };
        let (req, outbound) = p.current;
        p.current = (NONE, false);
        if req != NONE {
            if outbound {
                self.sim.complete(req);
            } else {
                self.model.on_arrival(&mut self.sim, req, Waker::Core(core));
            }
        }
        let has_more = self.sim.proxy.as_ref().is_some_and(|p| !p.jobs.is_empty());
        if has_more {
            Next::Run(self.sim.next_proxy_burst())
        } else {
            if let Some(p) = self.sim.proxy.as_mut() {
                p.idle = true;
            }
            Next::Block
        }
    }

    fn run(&mut self, progress: &(dyn Fn(f64) + Sync)) -> Result<SimTime, SimError> {
        self.start();
        let cfg = self.sim.cfg;
        let horizon = match cfg.load.stop {
            Stop::Duration(t) => SimTime(t),
            Stop::Requests(_) => SimTime(u64::MAX),
        };
        let warmup_at = match cfg.load.warmup {
            Warmup::Duration(t) if t > 0 => Some(SimTime(t)),
            _ => None,
        };
        let mut events: u64 = 0;
        let mut end = SimTime::ZERO;
        while let Some((time, event)) = self.sim.queue.pop() {
            if time > horizon {
                end = horizon;
                break;
            }
            // Time arithmetic saturates, so an event due past the clock's end lands exactly on
            // its last value: the run cannot go on with its times right.
            if time == SimTime(u64::MAX) {
                return Err(SimError::ClockSaturated {
                    events,
                    at_seconds: self.sim.now.seconds(),
                });
            }
            if let Some(at) = warmup_at
                && !self.sim.measuring
                && time >= at
            {
                self.sim.now = at;
                self.sim.start_measuring(at);
            }
            self.sim.now = time;
            end = time;
            events += 1;
            if events.saturating_add(self.sim.draws) > cfg.max_events {
                return Err(SimError::TooManyEvents {
                    events: cfg.max_events,
                    at_seconds: time.seconds(),
                });
            }
            if events.is_multiple_of(PROGRESS_EVERY) {
                progress(self.sim.progress_fraction(events));
            }
            match event {
                Event::Arrival => self.on_arrival_event(),
                Event::ClientSend { client } => self.on_client_send(client),
                Event::Broadcast => self.on_broadcast(),
                Event::Enter { req } => self.enter(req),
                Event::CoreDone { core, generation } => self.on_core_done(core, generation),
                Event::IoDone { req } => self.model.on_io_done(&mut self.sim, req),
                Event::PoolGranted { req } => self.model.on_pool_granted(&mut self.sim, req),
                Event::Timer { thread, generation } => {
                    self.model.on_timer(&mut self.sim, thread, generation)
                }
            }
            if self.sim.stopped {
                break;
            }
        }
        if horizon != SimTime(u64::MAX) {
            if self.sim.queue.len() == 0 {
                // Nothing left to happen before the horizon: the run still covers all of it.
                end = horizon;
            }
        } else if !self.sim.stopped {
            // An open loop or trace drained: the run ends with its last request, not with the
            // stale (cancelled) events still queued after it, unless a core was still busy
            // after it (a thread switched in to find nothing to do): that time is in the CPU
            // totals, so it must be in the window too.
            end = self
                .sim
                .last_exit
                .max(self.sim.kernel.busy_until)
                .max(self.sim.measure_start);
            self.sim.drained = true;
        }
        self.sim.now = end;
        self.sim.events = events;
        Ok(end)
    }
}

impl Sim<'_> {
    /// The run's raw record, over the measured window that ends at `end`.
    fn tally(&mut self, end: SimTime) -> RunTally {
        let cfg = self.cfg;
        if !self.measuring {
            // The warm-up never ended: report the whole run rather than nothing (an empty
            // window would show a busy machine as idle). Counters and levels ran from zero.
            self.measuring = true;
            self.measure_start = SimTime::ZERO;
            self.snapshot = (0, 0, 0, 0);
            self.refill_at_start = 0;
            self.idle_wakeup_at_start = 0;
        }
        self.kernel.flush(end);
        let start = self.measure_start;
        let span = end - start;
        let mut queues = Vec::with_capacity(self.levels.len());
        for (i, (name, level)) in self.levels.iter().enumerate() {
            let level = if i == RUN_QUEUE {
                &self.kernel.run_level
            } else {
                level
            };
            if i == PROXY_QUEUE && cfg.load.maxconn.is_none() {
                continue;
            }
            queues.push((name.clone(), level.integral(start, end)));
        }
        // A drained open loop's throughput is every completion over the whole run. Counting
        // only the window after the warm-up would be wrong when the load exceeds capacity:
        // the backlog drains after the last arrival, and an event loop then finishes thousands
        // of requests' last steps in a burst that would pass for a sustained rate. Below
        // capacity the two agree to within one latency over the run's length.
        // The span is at least the arrival window an open loop offers (requests / rate): a short
        // run whose Poisson arrivals happened to come early, or a single request, must not
        // report more than the offered rate.
        let window = match (&cfg.load.arrivals, cfg.load.stop) {
            (Arrivals::Open { rate }, Stop::Requests(n)) => (n as f64 / rate * 1e9) as u64,
            _ => 0,
        };
        let throughput = if self.drained && self.completed_total > 0 {
            (
                self.completed_total,
                (end - self.first_sent.min(end)).max(window),
            )
        } else {
            (self.completed, span)
        };
        RunTally {
            cores: self.kernel.cores(),
            span_ns: span,
            useful_ns: self.kernel.useful_ns - self.snapshot.0,
            switching_ns: self.kernel.switching_ns - self.snapshot.1,
            refill_ns: self.kernel.refill_ns - self.refill_at_start,
            idle_wakeup_ns: self.kernel.idle_wakeup_ns - self.idle_wakeup_at_start,
            context_switches: self.kernel.context_switches - self.snapshot.2,
            task_switches: self.task_switches - self.snapshot.3,
            completed: self.completed,
            dropped: self.dropped,
            throughput,
            latencies: std::mem::replace(&mut self.latencies, Latencies::new()),
            queues,
            memory: self.memory.integral(start, end),
            peak_threads: self.threads_level.max(),
            peak_tasks: self.tasks_level.max(),
            waits: self.waits,
            events: self.events,
            audit: Audit {
                sent: self.sent,
                completed: self.completed_total,
                dropped: self.dropped_total,
                in_flight: self.in_flight,
                min_slack_ns: if self.min_slack == i64::MAX {
                    0
                } else {
                    self.min_slack
                },
                core_overlaps: self.kernel.overlaps,
            },
        }
    }
}

/// Runs `model` on a validated config; `quantum` is the kernel's fixed slice, if any.
pub(crate) fn run_with<S: Scheduler>(
    config: &RunConfig,
    quantum: Option<u64>,
    model: S,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<RunTally, SimError> {
    let mut engine = Engine {
        sim: Sim::new(config, quantum),
        model,
    };
    let end = engine.run(progress)?;
    progress(1.0);
    Ok(engine.sim.tally(end))
}
