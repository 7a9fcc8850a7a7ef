//! Integration tests of the simulator, one module per behaviour.

mod cache_reference;
mod client_load;
mod cooperative_blocking;
mod crowd;
mod gil_convoy;
mod handoff;
mod idle_costs;
mod interruptions;
mod invariants;
mod local_hops;
mod preemption;
mod queueing_theory;
mod timers;
mod wakeup_cpu;

use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Threads, Warmup,
};
use sim::dist::Dist;

/// Costs that are all zero: the queueing-theory checks need a machine with free switches.
pub fn free_costs() -> Costs {
    Costs::zero()
}

/// A CPU step.
pub fn cpu(d: Dist) -> Step {
    Step {
        kind: StepKind::Cpu,
        duration: d,
        pool: None,
        parallel: 1,
        blocking: false,
        working_set: 0,
    }
}

/// A non-blocking I/O step.
pub fn io(d: Dist) -> Step {
    Step {
        kind: StepKind::Io,
        duration: d,
        pool: None,
        parallel: 1,
        blocking: false,
        working_set: 0,
    }
}

/// Cooperative loops sharing one ready queue.
pub fn cooperative(loops: u64) -> Model {
    Model::Cooperative {
        loops,
        balance: Balance::Shared,
        offload: None,
        lifo_slot: false,
        timer_thread: false,
    }
}

/// Thread per request, one process, no GIL.
pub fn threads(threads: Threads, quantum: Option<u64>) -> Model {
    Model::ThreadPerRequest {
        threads,
        quantum,
        backlog: None,
        processes: 1,
        gil: false,
        gil_switch_interval: 5_000_000,
        keepalive: false,
        keepalive_requests: None,
    }
}

/// An open-loop run of `requests` Poisson arrivals at `rate`, the first tenth as warm-up.
pub fn open(rate: f64, requests: u64, cores: u64, steps: Vec<Step>, model: Model) -> RunConfig {
    RunConfig {
        scenario: "test".into(),
        seed: 1,
        cores,
        l3_shared_by: None,
        costs: free_costs(),
        load: Load {
            arrivals: Arrivals::Open { rate },
            stop: Stop::Requests(requests),
            warmup: Warmup::Requests(requests / 10),
            rtt: 0,
            maxconn: None,
        },
        steps,
        pools: vec![],
        server: Server {
            label: "test".into(),
            model,
            proxy: None,
        },
        max_events: 100_000_000,
        kernel: sim::machine::Kernel::default(),
    }
}

/// A closed loop of `clients` with no think time, stopping after `requests` completions.
pub fn closed(
    clients: u64,
    requests: u64,
    cores: u64,
    steps: Vec<Step>,
    model: Model,
) -> RunConfig {
    let mut c = open(1.0, requests, cores, steps, model);
    c.load.arrivals = Arrivals::Closed {
        concurrency: clients,
        think: Dist::Const(0),
    };
    c
}

/// Asserts `got` is within `tol` (relative) of `want`.
#[track_caller]
pub fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "{what}: got {got}, want {want} within {:.1} %",
        tol * 100.0
    );
}

/// Little's law on a run: mean number in the system = throughput x mean time in the system
/// (the latency without the network round trip), within `tol` (relative).
#[track_caller]
pub fn assert_little(r: &sim::Report, tol: f64) {
    let l = r
        .queues
        .iter()
        .find(|q| q.name == "system")
        .expect("every report has the system queue")
        .mean;
    let w_seconds = r.latency_ms.mean / 1e3;
    close(
        "Little's law L vs lambda W",
        l,
        r.throughput_rps * w_seconds,
        tol,
    );
}
