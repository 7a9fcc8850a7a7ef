//! The world of one run: the engine's clock, event queue and RNG, the kernel, the requests,
//! clients, pools and proxy, and the counters the tally is made of. Only the engine's modules
//! see its fields; a model acts on it through [`Ctx`](super::Ctx).

use std::collections::VecDeque;

use rand::SeedableRng as _;

use crate::cache::Caches;
use crate::config::{Arrivals, RunConfig, Stop};
use crate::dist::SimRng;
use crate::event::{Event, NONE, ReqId, ThreadId};
use crate::kernel::{Burst, Kernel, Policy, Waker};
use crate::metrics::{Latencies, Level};
use crate::queue::EventQueue;
use crate::time::SimTime;

use super::client::Client;
use super::proxy::ProxyState;
use super::request::{PoolState, Request};

/// Indices of the engine's own queues in [`World::levels`].
pub(super) const RUN_QUEUE: usize = 0;
pub(super) const PROXY_QUEUE: usize = 1;
pub(super) const SYSTEM: usize = 2;

/// The state of one run. The engine's modules read and change it; models go through
/// [`Ctx`](super::Ctx).
pub(super) struct World<'a> {
    pub(super) cfg: &'a RunConfig,
    pub(super) now: SimTime,
    pub(super) queue: EventQueue,
    pub(super) rng: SimRng,
    pub(super) kernel: Kernel,
    pub(super) requests: Vec<Request>,
    pub(super) free_requests: Vec<ReqId>,
    pub(super) pools: Vec<PoolState>,
    pub(super) clients: Vec<Client>,
    pub(super) levels: Vec<(String, Level)>,
    pub(super) latencies: Latencies,
    /// User-level task or coroutine switches so far.
    pub(super) task_switches: u64,
    pub(super) live_tasks: u64,
    pub(super) processes: u64,
    pub(super) memory: Level,
    pub(super) threads_level: Level,
    pub(super) tasks_level: Level,
    pub(super) sent: u64,
    pub(super) completed_total: u64,
    pub(super) dropped_total: u64,
    pub(super) in_flight: u64,
    /// Completions and drops in the measured window (from the start until the warm-up ends).
    pub(super) completed: u64,
    pub(super) dropped: u64,
    pub(super) measuring: bool,
    pub(super) measure_start: SimTime,
    pub(super) snapshot: (u64, u64, u64, u64),
    /// Refill core time when measuring began.
    pub(super) refill_at_start: u64,
    /// The kernel's idle wake-up core time when measuring started.
    pub(super) idle_wakeup_at_start: u64,
    pub(super) interrupted_at_start: u64,
    /// The kernel's halt count where the window starts.
    pub(super) halts_at_start: u64,
    pub(super) timer_interrupts_at_start: u64,
    pub(super) inside: u64,
    pub(super) proxy_queue: VecDeque<ReqId>,
    pub(super) proxy: Option<ProxyState>,
    pub(super) min_slack: i64,
    /// Requests started, of which waited, and their total wait (ns), since measuring began.
    pub(super) waits: (u64, u64, u128),
    pub(super) stopped: bool,
    pub(super) next_row: usize,
    /// Only broadcast deliveries enter the latency statistics.
    pub(super) broadcast_only: bool,
    /// Requests come from long-lived connections (each connection is one task).
    pub(super) connections: bool,
    pub(super) events: u64,
    /// The extra waits drawn for `parallel` steps, counted toward the event limit.
    pub(super) draws: u64,
    /// When the last request completed or was dropped.
    pub(super) last_exit: SimTime,
    /// When the earliest completed request was sent (all completions, warm-up included).
    pub(super) first_sent: SimTime,
    /// The run drained an open loop or trace: every offered request left before it ended.
    pub(super) drained: bool,
}

impl<'a> World<'a> {
    pub(super) fn new(cfg: &'a RunConfig, quantum: Option<u64>) -> Self {
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
        World {
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
                .with_idle_costs(
                    cfg.costs.idle_wakeup_cpu,
                    cfg.costs.idle_exit_latency,
                    cfg.costs.idle_exit_latency_p99,
                    cfg.seed,
                )
                .with_wakeup_cpu(cfg.costs.wakeup_cpu)
                .with_timer_costs(cfg.costs.timer_wakeup_cpu, cfg.costs.timer_interrupt_cpu)
                .with_halt(cfg.costs.halt_after, cfg.costs.brief_idle_cpu)
                .with_switch_runnable(cfg.costs.switch_runnable)
                .with_interruptions(cfg.costs.interruptions, cfg.seed);
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
            interrupted_at_start: 0,
            halts_at_start: 0,
            timer_interrupts_at_start: 0,
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

    // ----- threads, tasks, memory, queues -----

    /// A new OS thread (blocked).
    pub(super) fn spawn_thread(&mut self) -> ThreadId {
        let t = self.kernel.spawn();
        self.memory_changed();
        t
    }

    /// Makes a blocked thread runnable with `burst`; `by` is who wakes it (the thread on a
    /// core, or an interrupt), which decides whether the wake-up crosses cores.
    pub(super) fn wake(&mut self, thread: ThreadId, burst: Burst, by: Waker) {
        self.kernel
            .wake(self.now, &mut self.queue, thread, burst, by);
    }

    /// Calls the model's [`Scheduler::on_timer`](super::Scheduler::on_timer) for `thread` `ns`
    /// from now.
    pub(super) fn set_timer(&mut self, ns: u64, thread: ThreadId, generation: u32) {
        self.queue
            .push(self.now + ns, Event::Timer { thread, generation });
    }

    /// Cuts a running or runnable thread's burst short (see `Kernel::interrupt`); returns the
    /// work it had left, ns.
    pub(super) fn interrupt(&mut self, thread: ThreadId) -> u64 {
        self.kernel.interrupt(self.now, &mut self.queue, thread)
    }

    /// Tasks (coroutines, green threads) created (+) or ended (-).
    pub(super) fn tasks_changed(&mut self, delta: i64) {
        self.live_tasks = self.live_tasks.saturating_add_signed(delta);
        // The thread count did not change: setting a level to its value adds nothing to its
        // integral (the two pieces sum to the same product), so its level is left alone.
        self.memory.set(self.now, self.memory_bytes());
        self.tasks_level.set(self.now, self.live_tasks);
    }

    /// Server processes (for the per-process memory base).
    pub(super) fn set_processes(&mut self, processes: u64) {
        self.processes = processes;
        self.memory_changed();
    }

    pub(super) fn memory_changed(&mut self) {
        let bytes = self.memory_bytes();
        self.memory.set(self.now, bytes);
        self.threads_level.set(self.now, self.kernel.live_threads);
        self.tasks_level.set(self.now, self.live_tasks);
    }

    /// The server's memory now: processes (and the proxy), threads and tasks.
    fn memory_bytes(&self) -> u64 {
        let c = &self.cfg.costs;
        let proxies = self.proxy.is_some() as u64;
        (self.processes + proxies) * c.process_memory
            + self.kernel.live_threads * c.thread_memory
            + self.live_tasks * c.task_memory
    }

    /// Registers a model's queue for the report; returns its index for
    /// [`World::queue_len`].
    pub(super) fn add_queue(&mut self, name: &str) -> usize {
        self.levels.push((name.to_string(), Level::default()));
        self.levels.len() - 1
    }

    /// Records a model queue's new length.
    pub(super) fn queue_len(&mut self, index: usize, len: usize) {
        self.levels[index].1.set(self.now, len as u64);
    }

    pub(super) fn progress_fraction(&self, events: u64) -> f64 {
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
