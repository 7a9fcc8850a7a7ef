//! The validated, engine-facing description of one run: a machine, a load, a request shape
//! and one server model.
//!
//! Scenario files (see `scenario`) are parsed and checked into these types; the engine never
//! sees names, strings with units or optional sections, only numbers it can trust. Times are
//! integer nanoseconds, sizes integer bytes.

use crate::dist::Dist;

pub use crate::cost::Costs;

/// Whether a step needs a core or waits without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum StepKind {
    /// A burst of computation that needs a core.
    Cpu,
    /// A wait that needs no core: sleep, upstream call, database query.
    Io,
}

/// One step of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// CPU burst or I/O wait.
    pub kind: StepKind,
    /// How long the burst or wait lasts.
    pub duration: Dist,
    /// Index into [`RunConfig::pools`] of a bounded pool held for the step's duration.
    pub pool: Option<usize>,
    /// Number of concurrent waits (`asyncio.gather` of k calls); the step ends when the
    /// slowest finishes. 1 for an ordinary step. Only meaningful for I/O steps.
    pub parallel: u32,
    /// The code blocks its OS thread while it waits (`time.sleep` inside `async def`).
    pub blocking: bool,
    /// Bytes of request data a CPU step touches (its working set), refilled when it resumes
    /// after others evicted it; 0: no cache model for this step.
    pub working_set: u64,
}

/// A bounded pool of units (database connections, pgbouncer's 25).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// The name the scenario gave it, for reports.
    pub name: String,
    /// How many units it has; at least 1.
    pub size: u64,
}

/// One request of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// When it arrives, ns after the start.
    pub offset: u64,
    /// Optional per-step durations (ns) that replace samples from the request's distributions;
    /// the same length as the request's steps.
    pub steps: Option<Vec<u64>>,
}

/// How clients offer requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrivals {
    /// Poisson arrivals at `rate` requests per second.
    Open {
        /// Requests per second; positive.
        rate: f64,
    },
    /// `concurrency` clients, each sending its next request when the previous answer arrives,
    /// after a think time (`ab -c`, `oha -c`).
    Closed {
        /// Number of clients; at least 1.
        concurrency: u64,
        /// Think time between an answer and the next request.
        think: Dist,
    },
    /// Arrivals replayed from a trace, sorted by offset.
    Trace {
        /// The requests, sorted by offset.
        rows: Vec<TraceRow>,
    },
    /// Long-lived, mostly idle connections (WebSockets): each connection is opened at the
    /// start, sends a message after each `interval`, and optionally all receive a broadcast.
    Connections {
        /// Number of connections held open.
        connections: u64,
        /// Idle time between one connection's messages.
        interval: Dist,
        /// When set, at this time every connection receives one message (a request with the
        /// request's steps); the latency of these deliveries is reported.
        broadcast_at: Option<u64>,
    },
}

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests have been offered (open, trace) or completed (closed).
    Requests(u64),
    /// After this much simulated time (ns).
    Duration(u64),
}

/// What is left out of the statistics at the start of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warmup {
    /// This many first completions.
    Requests(u64),
    /// Completions before this simulated time (ns).
    Duration(u64),
}

/// The client side of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// How requests arrive.
    pub arrivals: Arrivals,
    /// When to stop.
    pub stop: Stop,
    /// What to leave out of the statistics.
    pub warmup: Warmup,
    /// Network round trip added to every request's latency (ns); needs no core.
    pub rtt: u64,
    /// A front proxy's backend limit (haproxy `maxconn`): at most this many requests are inside
    /// the server at once; the rest wait in the proxy (and that wait counts in their latency).
    pub maxconn: Option<u64>,
}

/// How many OS threads a thread-per-request server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Threads {
    /// A fixed pool of this many threads per process.
    Fixed(u64),
    /// A new thread per request, paying `spawn_thread_cpu` and a wake-up.
    Unbounded,
}

/// How a cooperative server spreads work over its loops; serde and files spell it `"shared"`
/// or `"affinity"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// One shared queue / work stealing (tokio multi-thread).
    Shared,
    /// Each connection stays on the loop that accepted it (gunicorn + uvicorn, SO_REUSEPORT).
    Affinity,
}

impl Balance {
    /// Both modes.
    pub const ALL: [Balance; 2] = [Balance::Shared, Balance::Affinity];

    /// The name scenario files use (`balance = "shared"`).
    pub fn name(self) -> &'static str {
        match self {
            Balance::Shared => "shared",
            Balance::Affinity => "affinity",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<Balance> {
        Balance::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// The three scheduling models by name, as scenario files, JSON (`"model":
/// "thread_per_request"`), `reports`, the testbed and the notebooks spell them. [`Model`] is the
/// same choice with its parameters.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Every in-flight request owns an OS thread. (The default only so that an empty
    /// `Report` can be built; every report names its server's model.)
    #[default]
    ThreadPerRequest,
    /// M:N green threads with a time slice (Go, BEAM).
    Preemptive,
    /// Event loops; a task runs until it awaits (Node.js, asyncio, tokio).
    Cooperative,
}

impl ModelKind {
    /// All three, in the order the docs list them.
    pub const ALL: [ModelKind; 3] = [
        ModelKind::ThreadPerRequest,
        ModelKind::Preemptive,
        ModelKind::Cooperative,
    ];

    /// The name files and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::ThreadPerRequest => "thread_per_request",
            ModelKind::Preemptive => "preemptive",
            ModelKind::Cooperative => "cooperative",
        }
    }

    /// The model named `name`.
    pub fn from_name(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheduling model and its parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Model {
    /// Every in-flight request owns an OS thread; the kernel time-slices threads over cores.
    ThreadPerRequest {
        /// Threads per process.
        threads: Threads,
        /// Fixed time slice (ns): round robin over one shared queue (`scheduler = "rr"`);
        /// `None`: the machine's scheduler (`RunConfig::kernel`, EEVDF by default).
        quantum: Option<u64>,
        /// Accept-queue bound; requests that find it full are dropped and counted.
        backlog: Option<u64>,
        /// Processes, each with its own threads (gunicorn's sync workers).
        processes: u64,
        /// Only one thread of a process runs CPU steps at a time (CPython's interpreter lock).
        gil: bool,
        /// With `gil`, how much CPU a holder runs while another thread waits before it hands
        /// the lock over (`sys.setswitchinterval`, 5 ms by default).
        gil_switch_interval: u64,
        /// A thread stays with its client connection between requests (keep-alive, WebSockets):
        /// idle connections hold threads. Implied by [`Arrivals::Connections`].
        keepalive: bool,
        /// With `keepalive`, a connection gives its thread back after serving this many
        /// requests (Apache's `MaxKeepAliveRequests`, 100 by default there) and queues for a
        /// thread again like a new connection; `None`: it keeps the thread for good.
        keepalive_requests: Option<u64>,
    },
    /// M:N green threads (Go, Erlang/BEAM): `workers` OS threads run tasks from a shared run
    /// queue; a task runs until it waits or its quantum expires.
    Preemptive {
        /// OS worker threads; defaults to the core count.
        workers: u64,
        /// Time slice of a task (ns): Go 10 ms, BEAM about 1 ms.
        quantum: u64,
    },
    /// Event loops (Node.js, asyncio, tokio): a task runs until it awaits.
    Cooperative {
        /// Number of event loops, each an OS thread.
        loops: u64,
        /// Shared queue or per-loop affinity.
        balance: Balance,
        /// Threads of a pool that runs `blocking` steps off the loop (`run_in_executor`).
        offload: Option<u64>,
        /// tokio's LIFO slot (shared balance only): a task woken by the task running on a
        /// loop runs next on that loop, ahead of the queue.
        lifo_slot: bool,
        /// `io` steps end on a timer thread of the runtime's own, woken by a kernel timer, not
        /// in a loop's poll (may's `coroutine::sleep`; see `model::runtime::timer`).
        timer_thread: bool,
    },
}

impl Model {
    /// Which of the three models this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            Model::ThreadPerRequest { .. } => ModelKind::ThreadPerRequest,
            Model::Preemptive { .. } => ModelKind::Preemptive,
            Model::Cooperative { .. } => ModelKind::Cooperative,
        }
    }

    /// The name scenario files use for the model.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// A single-threaded, event-driven proxy process in front of the server on the same machine
/// (W1's web server in front of an app server). Each request runs `cpu` in the proxy on the
/// way in and again on the way out. A hand-over between proxy and server threads that share a
/// core is a context switch; across cores it is a wake-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    /// CPU the proxy spends on each pass of a request.
    pub cpu: Dist,
}

/// One server to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// Its label in reports.
    pub label: String,
    /// Its scheduling model.
    pub model: Model,
    /// An optional local proxy in front of it.
    pub proxy: Option<Proxy>,
}

/// Everything one simulation run needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// The scenario's name, for reports.
    pub scenario: String,
    /// Seed of the run's random number generator.
    pub seed: u64,
    /// Number of cores; 1 to 1024.
    pub cores: u64,
    /// Cores that share one L3 (`[machine] l3_shared_by`); `None`: all of them.
    pub l3_shared_by: Option<u64>,
    /// Switch, spawn and memory costs (the scenario's, with the server's overrides applied).
    pub costs: Costs,
    /// The client side.
    pub load: Load,
    /// The steps of every request.
    pub steps: Vec<Step>,
    /// Bounded pools that steps may hold.
    pub pools: Vec<Pool>,
    /// The server.
    pub server: Server,
    /// The run stops with an error rather than process more events than this.
    pub max_events: u64,
    /// The machine's kernel (`[machine]` scheduler, hz, preempt, hrtick).
    pub kernel: crate::machine::Kernel,
}
