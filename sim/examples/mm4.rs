//! M/M/4 at load 0.9 (cooperative, 4 shared loops), one million requests: the benchmark's
//! first case as a plain program, for profilers.
//!
//! `cargo run --release -p sim --example mm4`

use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Warmup,
};
use sim::dist::Dist;

fn main() -> Result<(), sim::SimError> {
    let requests = 1_000_000;
    let config = RunConfig {
        scenario: "mm4".into(),
        seed: 1,
        cores: 4,
        l3_shared_by: None,
        costs: Costs::default(),
        load: Load {
            arrivals: Arrivals::Open { rate: 3_600.0 },
            stop: Stop::Requests(requests),
            warmup: Warmup::Requests(requests / 10),
            rtt: 0,
            maxconn: None,
        },
        steps: vec![Step {
            kind: StepKind::Cpu,
            duration: Dist::Exp { mean: 1_000_000 },
            pool: None,
            parallel: 1,
            blocking: false,
            working_set: 0,
        }],
        pools: vec![],
        server: Server {
            label: "4 loops".into(),
            model: Model::Cooperative {
                loops: 4,
                balance: Balance::Shared,
                offload: None,
                lifo_slot: false,
                timer_thread: false,
            },
            proxy: None,
        },
        max_events: u64::MAX,
        kernel: sim::machine::Kernel::default(),
    };
    let r = sim::simulate(&config)?;
    println!(
        "{} requests, {} events in {:.3} s wall: {:.2} M simulated requests/s; mean {:.3} ms, p99 {:.3} ms",
        requests,
        r.events,
        r.wall_seconds,
        requests as f64 / r.wall_seconds / 1e6,
        r.latency_ms.mean,
        r.latency_ms.p99
    );
    Ok(())
}
