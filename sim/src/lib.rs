//! switchcost's simulator: replays HTTP request workloads on a machine of N cores under three
//! scheduling models and reports throughput, latency, where CPU time went, switches and memory.
//!
//! ```text
//!  clients ──▶ [maxconn gate] ──▶ [proxy thread] ──▶ model ──▶ OS threads ──▶ run queue ──▶ cores
//!  (open,        haproxy           local hop        thread/req   workers,      round robin,   useful /
//!   closed,                                         preemptive   loops,        time slices    switching /
//!   trace,                                          cooperative  offload                      idle
//!   connections)                                     (tasks, pools, I/O waits)
//! ```
//!
//! Two layers: the *kernel* time-slices OS threads over cores (round robin; a fixed quantum or
//! CFS's target latency divided among runnable threads) and charges context switches (core
//! time) and cross-core wake-ups (latency); a *model* maps requests onto those threads: a thread
//! per request, green threads on workers, or tasks on event loops. Time is integer nanoseconds,
//! events are ordered by `(time, sequence)`, preemption cancels by generation counter, and each
//! run has one seeded RNG, so a seed always gives the same bytes (except `wall_seconds`).
//!
//! Layout (see `sim/ARCHITECTURE.md`): `engine` runs the event loop over the world of a run
//! and drives a model through the `Scheduler` hooks (the model acts on the run only through
//! a `Ctx`); `kernel` shares cores among OS threads
//! under a slice `Policy`, told who woke each thread (`Waker`); `model` picks and holds the
//! scheduling model; each run ends in a raw `RunTally`, replications merge into a `Tally`, and
//! `Tally::report` is the one derivation of every [`Report`] figure. The module graph is
//! acyclic (checked by `tests/modules.rs`).
//!
//! Modelling choices worth knowing (each documented where it lives):
//! - a thread or loop must be on a core to take its next decision (start a step, answer), so
//!   a woken thread queues behind busy cores and an awaited I/O resumes behind the loop's work;
//! - long-lived connections send their next message `interval` after the previous answer; with
//!   a broadcast, the latency fields hold the broadcast deliveries only;
//! - a `parallel = k` step holding a pool takes one unit for its whole (slowest) wait;
//! - the GIL is handed over every 5 ms when contended (CPython's switch interval); Go's extra
//!   thread for a blocking call is not modelled (the worker blocks).
#![warn(missing_docs)]

// The indirect cost of a switch: refills of working sets others evicted (issue 12).
pub(crate) mod cache;
pub mod cli;
pub mod config;
pub mod cost;
pub mod dist;
pub(crate) mod engine;
pub mod error;
pub(crate) mod event;
pub(crate) mod gil;
pub mod input;
pub(crate) mod kernel;
pub mod machine;
pub mod metric;
pub(crate) mod metrics;
pub(crate) mod model;
pub mod output;
pub mod pricing;
pub(crate) mod queue;
pub mod replay;
pub mod replication;
pub mod report;
pub mod scenario;
// Pure run-queue policies and the GIL; the kernel layer adopts them after its restructure.
pub(crate) mod sched;
pub mod sweep;
pub(crate) mod tally;
pub(crate) mod time;
pub mod unit;
pub mod validation;

pub use config::RunConfig;
pub use error::SimError;
pub use report::Report;
use tally::Tally;
pub use validation::validate;

/// Runs one simulation (one seed).
///
/// Errors: an invalid parameter as [`SimError::Invalid`] with a message saying what to fix;
/// [`SimError::TooManyEvents`] when `config.max_events` is exceeded; [`SimError::ClockSaturated`]
/// when an event falls past the u64 nanosecond clock.
pub fn simulate(config: &RunConfig) -> Result<Report, SimError> {
    simulate_with_progress(config, &|_| {})
}

/// Like [`simulate`], calling `progress` now and then (every 65,536 events) with the fraction
/// done in 0..=1. Progress never consumes random numbers or changes results.
pub fn simulate_with_progress(
    config: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Report, SimError> {
    validate(config)?;
    let started = std::time::Instant::now();
    let tally = Tally::from(model::run(config, progress)?);
    Ok(tally.report(config, started.elapsed().as_secs_f64()))
}

/// Runs `replications` independent runs in parallel (rayon), each with its own seed derived
/// from `config.seed` (see [`replication::replication_seed`]), combined into one report: counts
/// summed, throughput over the summed throughput windows (each with the single run's rules),
/// percentiles from the merged histogram, the mean's 95 % interval across replication means
/// (Student t), `replications = n`. One replication is exactly [`simulate`]. Every figure
/// comes from one derivation of the merged tallies (see `tally.rs`).
pub fn simulate_replications(
    config: &RunConfig,
    replications: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Report, SimError> {
    validate(config)?;
    if replications == 0 {
        return Err(SimError::Invalid(
            "replications = 0: run at least 1 replication".to_string(),
        ));
    }
    let started = std::time::Instant::now();
    let tally = replication::run(config, replications, progress)?;
    Ok(tally.report(config, started.elapsed().as_secs_f64()))
}
