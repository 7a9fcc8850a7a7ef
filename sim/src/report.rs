//! The record of one run: what a load tester and `top` would have shown.
//!
//! Field names carry their units. This is the interface to everything downstream (the CLI's
//! JSON and CSV, the charts, the notebooks), so fields are only ever added, never renamed.

use serde::{Deserialize, Serialize};

use crate::config::ModelKind;

/// Client-side latency in milliseconds.
///
/// A run that completed no request in its measured window has no latency: every field is NaN
/// here, `null` in JSON, empty in CSV and `-` in tables ([`LatencyMs::none`]), never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Mean latency.
    #[serde(with = "nullable")]
    pub mean: f64,
    /// Lower end of the 95 % confidence interval of the mean (batch means, or across replications).
    #[serde(with = "nullable")]
    pub mean_ci95_low: f64,
    /// Upper end of the 95 % confidence interval of the mean.
    #[serde(with = "nullable")]
    pub mean_ci95_high: f64,
    /// Median.
    #[serde(with = "nullable")]
    pub p50: f64,
    /// 90th percentile.
    #[serde(with = "nullable")]
    pub p90: f64,
    /// 95th percentile.
    #[serde(with = "nullable")]
    pub p95: f64,
    /// 99th percentile.
    #[serde(with = "nullable")]
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(with = "nullable")]
    pub p999: f64,
    /// Largest latency seen.
    #[serde(with = "nullable")]
    pub max: f64,
}

impl LatencyMs {
    /// The latency of a run that completed nothing: no figure at all.
    pub fn none() -> Self {
        LatencyMs {
            mean: f64::NAN,
            mean_ci95_low: f64::NAN,
            mean_ci95_high: f64::NAN,
            p50: f64::NAN,
            p90: f64::NAN,
            p95: f64::NAN,
            p99: f64::NAN,
            p999: f64::NAN,
            max: f64::NAN,
        }
    }

    /// Whether there is a figure (some request completed).
    pub fn is_measured(&self) -> bool {
        !self.mean.is_nan()
    }
}

/// A figure that may be missing: NaN in Rust, `null` in JSON (and empty in CSV), read back as
/// NaN. Older reports always held a number, which reads unchanged.
pub mod nullable {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes NaN as a missing value, any other figure as itself.
    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            serializer.serialize_none()
        } else {
            serializer.serialize_some(value)
        }
    }

    /// Reads a missing value (`null`) as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

/// How the cores' time was spent, as fractions of all core time (they sum to 1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSplit {
    /// Running request steps (and spawning).
    pub useful: f64,
    /// Switching between threads or tasks, and threads being woken by an interrupt
    /// (`wakeup_cpu` per such wake-up; 0 unless a costs file sets it).
    pub switching: f64,
    /// Refilling caches: the part of a working set others evicted, reloaded when its thread or
    /// task runs again (0 without working sets; absent from older reports).
    #[serde(default)]
    pub refill: f64,
    /// Leaving idle: the core time a core spends waking up for work after idling
    /// (`idle_wakeup_cpu` per wake-up; 0 unless a costs file sets it; absent from older
    /// reports).
    #[serde(default)]
    pub idle_wakeup: f64,
    /// Taken by interruptions (`interruptions`: ticks, interrupts, the host running something
    /// else) while a thread was running; 0 unless a costs file sets them; absent from older
    /// reports. Not part of `cpu_utilization`, which is the server's own use of the cores.
    #[serde(default)]
    pub interrupted: f64,
    /// Idle.
    pub idle: f64,
}

/// Mean and largest length of one queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueStats {
    /// The queue's name: `accept`, `proxy`, `run`, or `pool:<name>`.
    pub name: String,
    /// Time-averaged length.
    pub mean: f64,
    /// Largest length.
    pub max: u64,
}

/// Book-keeping that lets tests check the engine's invariants on any run; totals include the
/// warm-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// Requests the clients sent.
    pub sent: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests dropped.
    pub dropped: u64,
    /// Requests still inside the system when the run stopped.
    pub in_flight: u64,
    /// Smallest (server time - own demand) over completed requests, ns; never negative.
    pub min_slack_ns: i64,
    /// Times a core was handed a thread while it ran another; always zero.
    pub core_overlaps: u64,
}

/// The result of running one server of one scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Server label.
    pub label: String,
    /// Model name (`thread_per_request`, `preemptive`, `cooperative`).
    pub model: ModelKind,
    /// Cores of the simulated machine.
    pub cores: u64,
    /// Seed of the run (of the first replication).
    pub seed: u64,
    /// Independent replications combined in this record.
    pub replications: u64,
    /// Requests completed after the warm-up.
    pub completed: u64,
    /// Requests dropped (full backlog) after the warm-up.
    pub dropped: u64,
    /// Completed requests per simulated second, measured after the warm-up.
    pub throughput_rps: f64,
    /// Client-side latency.
    pub latency_ms: LatencyMs,
    /// Busy (useful + switching + refill + idle wake-up) fraction of all cores, 0..1.
    pub cpu_utilization: f64,
    /// Fraction of all core time spent switching.
    pub switch_overhead: f64,
    /// Core time split.
    pub cpu: CpuSplit,
    /// OS thread context switches (a core changing from one thread to another).
    pub context_switches: u64,
    /// User-level task or coroutine switches.
    pub task_switches: u64,
    /// Context switches per completed request.
    pub context_switches_per_request: f64,
    /// Task switches per completed request.
    pub task_switches_per_request: f64,
    /// Exits from idle of a core that had halted: idle longer than `halt_after` (or, without
    /// it, idle at all) before it was handed work. Each pays `idle_wakeup_cpu` and
    /// `idle_exit_latency`. The testbed compares it with cpuidle's halt count.
    #[serde(default)]
    pub halts: u64,
    /// Halts per completed request.
    #[serde(default)]
    pub halts_per_request: f64,
    /// Timer interrupts that ended an OS thread's I/O wait (an `io` step's end for a thread,
    /// a blocking call's or an offload thread's, a runtime's timer thread; a device's end is
    /// counted as a timer's): expiries within Linux's 50 µs timer slack share one
    /// (`kernel/wakeup.rs`). Each costs a busy core `timer_interrupt_cpu`. The testbed compares
    /// it, plus the scheduler tick's, with the local timer interrupts it counts.
    #[serde(default)]
    pub timer_interrupts: u64,
    /// Timer interrupts per completed request.
    #[serde(default)]
    pub timer_interrupts_per_request: f64,
    /// Largest resident memory over the run.
    pub peak_memory_bytes: u64,
    /// Time-averaged resident memory.
    pub mean_memory_bytes: f64,
    /// Largest number of OS threads alive at once.
    pub peak_threads: u64,
    /// Largest number of tasks (coroutines, green threads) alive at once.
    pub peak_tasks: u64,
    /// Queue lengths: `system` (requests between send and completion), `run` (runnable OS
    /// threads waiting for a core), `proxy` (the `maxconn` queue), `accept`, `ready` (tasks
    /// waiting for a worker or loop), `offload`, and `pool:<name>` (requests waiting for a unit).
    pub queues: Vec<QueueStats>,
    /// Mean time from a request's send to the start of its first step (queueing before
    /// service: accept queue, ready queue, run queue, `maxconn`, proxy), ms.
    #[serde(default)]
    pub mean_wait_ms: f64,
    /// Fraction of requests whose first step did not start the moment they were sent.
    #[serde(default)]
    pub waited_fraction: f64,
    /// Simulated seconds covered by the statistics (after the warm-up).
    pub simulated_seconds: f64,
    /// Events the engine processed.
    pub events: u64,
    /// Wall-clock seconds the run took.
    pub wall_seconds: f64,
    /// Invariant book-keeping (summed over replications).
    #[serde(default)]
    pub audit: Audit,
}
