//! Checks a [`RunConfig`] before a run, so that a bad parameter is an error that says what to
//! fix rather than a panic or a run that never ends.

use crate::config::{Arrivals, Model, RunConfig, StepKind, Stop, Threads, Warmup};
use crate::dist::Dist;
use crate::error::SimError;
use crate::unit::format_duration;

/// Most cores a simulated machine may have.
pub const MAX_CORES: u64 = 1024;
/// Most OS threads, tasks or clients a run may create up front (memory of the simulator).
pub const MAX_ENTITIES: u64 = 10_000_000;

/// At most this many event loops or green-thread workers: each holds a run queue and an OS
/// thread of its own, so ten million of them held 2.4 GiB before the first event (found by the
/// fuzzer); real servers run one per core.
pub const MAX_RUNTIME_THREADS: u64 = 100_000;

/// Most processes a thread-per-request server may have.
pub const MAX_PROCESSES: u64 = 100_000;

fn invalid(message: impl Into<String>) -> SimError {
    SimError::Invalid(message.into())
}

/// Returns the first problem found in `config`, described with its fix.
pub fn validate(config: &RunConfig) -> Result<(), SimError> {
    if config.cores == 0 || config.cores > MAX_CORES {
        return Err(invalid(format!(
            "cores = {}: the machine needs 1 to {MAX_CORES} cores",
            config.cores
        )));
    }
    if config.max_events == 0 {
        return Err(invalid("max_events is 0: allow at least one event"));
    }
    if let Some(problem) = crate::cache::CacheParams::of(config).problem() {
        return Err(invalid(problem));
    }
    if config.costs.timer_wakeup_cpu > 0 && config.costs.timer_interrupt_cpu > 0 {
        return Err(invalid(
            "[costs] gives both timer_wakeup_cpu and timer_interrupt_cpu, two prices of the same timer wake-up: keep timer_interrupt_cpu (per interrupt, what calibrate writes now) and remove timer_wakeup_cpu",
        ));
    }
    if config.steps.is_empty() {
        return Err(invalid(
            "the request has no steps: add at least one, e.g. { cpu = \"1ms\" }",
        ));
    }
    for (i, pool) in config.pools.iter().enumerate() {
        if pool.size == 0 {
            return Err(invalid(format!(
                "pool {:?} (#{i}) has size 0: give it at least 1 unit",
                pool.name
            )));
        }
    }
    for (i, step) in config.steps.iter().enumerate() {
        validate_dist(&step.duration, &format!("step {}", i + 1))?;
        if let Some(p) = step.pool
            && p >= config.pools.len()
        {
            return Err(invalid(format!(
                "step {} uses pool #{p} but only {} pools are defined: define it under [pools]",
                i + 1,
                config.pools.len()
            )));
        }
        if step.parallel == 0 {
            return Err(invalid(format!(
                "step {} has parallel = 0: use 1 for a single wait, or more",
                i + 1
            )));
        }
        if step.parallel > 1 && step.kind == StepKind::Cpu {
            return Err(invalid(format!(
                "step {} is a cpu step with parallel = {}: parallel applies to io steps only",
                i + 1,
                step.parallel
            )));
        }
    }
    if config.steps.len() > u16::MAX as usize {
        return Err(invalid(format!(
            "the request has {} steps: at most {} are supported",
            config.steps.len(),
            u16::MAX
        )));
    }
    validate_load(config)?;
    validate_model(config)
}

/// Distributions built by hand (not parsed) can hold values that would make sampling panic.
fn validate_dist(dist: &Dist, what: &str) -> Result<(), SimError> {
    match dist {
        Dist::Uniform { lo, hi } if lo > hi => Err(invalid(format!(
            "{what}: uniform({lo}ns, {hi}ns) has lo above hi; swap them"
        ))),
        Dist::LogNormal { median, p99 } if *median == 0 || p99 < median => Err(invalid(format!(
            "{what}: lognormal needs a median above zero and a p99 at least the median"
        ))),
        Dist::Bimodal { p_long, .. } if !(0.0..=1.0).contains(p_long) => Err(invalid(format!(
            "{what}: bimodal's p_long = {p_long} must be a probability between 0 and 1"
        ))),
        Dist::Empirical { samples, source } if samples.is_empty() => Err(invalid(format!(
            "{what}: empirical samples from {} are empty; give at least one duration",
            source.display()
        ))),
        _ => Ok(()),
    }
}

fn validate_load(config: &RunConfig) -> Result<(), SimError> {
    let load = &config.load;
    if let Some(proxy) = &config.server.proxy {
        validate_dist(&proxy.cpu, "the proxy's cpu")?;
    }
    match &load.arrivals {
        Arrivals::Open { rate } => {
            if !rate.is_finite() || *rate <= 0.0 {
                return Err(invalid(format!(
                    "rate = {rate}: the open-loop arrival rate must be a positive number of requests per second"
                )));
            }
        }
        Arrivals::Closed { concurrency, think } => {
            validate_dist(think, "think")?;
            if *concurrency == 0 || *concurrency > MAX_ENTITIES {
                return Err(invalid(format!(
                    "concurrency = {concurrency}: a closed loop needs 1 to {MAX_ENTITIES} clients"
                )));
            }
        }
        Arrivals::Trace { rows } => {
            if rows.is_empty() {
                return Err(invalid(
                    "the trace has no rows: give it at least one request",
                ));
            }
            for (i, pair) in rows.windows(2).enumerate() {
                if pair[1].offset < pair[0].offset {
                    return Err(invalid(format!(
                        "trace row {} arrives before row {}: sort the trace by offset",
                        i + 2,
                        i + 1
                    )));
                }
            }
            for (i, row) in rows.iter().enumerate() {
                if let Some(steps) = &row.steps
                    && steps.len() != config.steps.len()
                {
                    return Err(invalid(format!(
                        "trace row {} gives {} step durations but the request has {} steps",
                        i + 1,
                        steps.len(),
                        config.steps.len()
                    )));
                }
            }
        }
        Arrivals::Connections {
            connections,
            interval,
            ..
        } => {
            validate_dist(interval, "interval")?;
            if *connections == 0 || *connections > MAX_ENTITIES {
                return Err(invalid(format!(
                    "connections = {connections}: hold 1 to {MAX_ENTITIES} connections"
                )));
            }
        }
    }
    match load.stop {
        Stop::Requests(0) => return Err(invalid("requests = 0: run at least one request")),
        Stop::Duration(0) => return Err(invalid("duration = 0: run for a positive duration")),
        _ => {}
    }
    match (load.warmup, load.stop) {
        (Warmup::Requests(w), Stop::Requests(n)) if w >= n => {
            return Err(invalid(format!(
                "warmup = {w} requests is not below requests = {n}: shorten the warm-up or run more requests"
            )));
        }
        (Warmup::Duration(w), Stop::Duration(d)) if w >= d => {
            return Err(invalid(
                "the warm-up is not shorter than the run's duration: shorten the warm-up",
            ));
        }
        _ => {}
    }
    if load.maxconn == Some(0) {
        return Err(invalid(
            "maxconn = 0 would admit no request: use at least 1, or leave it out",
        ));
    }
    check_event_estimate(config)
}

/// Refuses a run whose events surely exceed the event limit tenfold: it would spend its time
/// only to stop at the limit. The estimate is a lower bound, one event per request and per wait
/// of each step; between it and the limit the run goes ahead and stops at the limit (exit 1).
fn check_event_estimate(config: &RunConfig) -> Result<(), SimError> {
    let per_request: u64 = 1 + config
        .steps
        .iter()
        .map(|s| u64::from(s.parallel.max(1)))
        .sum::<u64>();
    let (requests, how) = match (&config.load.arrivals, config.load.stop) {
        (_, Stop::Requests(n)) => (n as f64, format!("{n} requests")),
        (Arrivals::Open { rate }, Stop::Duration(d)) => (
            rate * d as f64 / 1e9,
            format!("{rate} requests per second for {}", format_duration(d)),
        ),
        _ => return Ok(()),
    };
    let events = requests * per_request as f64;
    if events >= 10.0 * config.max_events as f64 {
        return Err(invalid(format!(
            "{how} of {} steps need at least {events:.3e} events, more than 10 times the event limit of {}; lower requests (or duration), or raise --max-events (max_events in the file)",
            config.steps.len(),
            config.max_events
        )));
    }
    Ok(())
}

fn validate_model(config: &RunConfig) -> Result<(), SimError> {
    match config.server.model {
        Model::ThreadPerRequest {
            threads,
            quantum,
            processes,
            ..
        } => {
            if processes == 0 || processes > MAX_PROCESSES {
                return Err(invalid(format!(
                    "processes = {processes}: a server needs 1 to {MAX_PROCESSES} processes"
                )));
            }
            if let Threads::Fixed(n) = threads
                && (n == 0 || n.saturating_mul(processes) > MAX_ENTITIES)
            {
                return Err(invalid(format!(
                    "threads = {n} x {processes} processes: use 1 to {MAX_ENTITIES} threads in all, or \"unbounded\""
                )));
            }
            if quantum == Some(0) {
                return Err(invalid(
                    "quantum = 0: a time slice must be positive (or leave it out for the machine's scheduler)",
                ));
            }
        }
        Model::Preemptive { workers, quantum } => {
            if workers == 0 || workers > MAX_RUNTIME_THREADS {
                return Err(invalid(format!(
                    "workers = {workers}: use between 1 and {MAX_RUNTIME_THREADS} worker threads"
                )));
            }
            if quantum == 0 {
                return Err(invalid(
                    "quantum = 0: a green thread's time slice must be positive (Go: 10ms)",
                ));
            }
        }
        Model::Cooperative { loops, offload, .. } => {
            if loops == 0 || loops > MAX_RUNTIME_THREADS {
                return Err(invalid(format!(
                    "loops = {loops}: use between 1 and {MAX_RUNTIME_THREADS} event loops"
                )));
            }
            if let Some(n) = offload
                && (n == 0 || n > MAX_ENTITIES)
            {
                return Err(invalid(format!(
                    "offload = {n}: give the blocking-call pool between 1 and {MAX_ENTITIES} threads, or leave it out"
                )));
            }
        }
    }
    Ok(())
}
