//! The simulator's own memory for one million simultaneous idle connections (the issue's
//! target: under 1 GiB). Each connection sends a message every 60 s on average for 30 simulated
//! seconds, then all receive a broadcast; printed: the run's summary and this process's peak
//! resident set (VmHWM) from /proc.
//!
//! `cargo run --release -p sim --example idle_connections -- [connections] [threads|loop]`

use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Threads, Warmup,
};
use sim::dist::Dist;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let connections: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let model = match args.next().as_deref() {
        Some("threads") => Model::ThreadPerRequest {
            threads: Threads::Unbounded,
            quantum: None,
            backlog: None,
            processes: 1,
            gil: false,
            gil_switch_interval: 5_000_000,
            keepalive: true,
            keepalive_requests: None,
        },
        _ => Model::Cooperative {
            loops: 4,
            balance: Balance::Shared,
            offload: None,
        },
    };
    let second = 1_000_000_000;
    let config = RunConfig {
        scenario: "idle-connections".into(),
        seed: 1,
        cores: 4,
        costs: Costs::default(),
        load: Load {
            arrivals: Arrivals::Connections {
                connections,
                interval: Dist::Exp { mean: 60 * second },
                broadcast_at: Some(30 * second),
            },
            stop: Stop::Duration(40 * second),
            warmup: Warmup::Duration(0),
            rtt: 0,
            maxconn: None,
        },
        steps: vec![Step {
            kind: StepKind::Cpu,
            duration: Dist::Const(5_000),
            pool: None,
            parallel: 1,
            blocking: false,
        }],
        pools: vec![],
        server: Server {
            label: "idle".into(),
            model,
            proxy: None,
        },
        max_events: u64::MAX,
        kernel: sim::machine::Kernel::default(),
    };
    let r = sim::simulate(&config)?;
    println!(
        "{} connections, {}: {} messages, {} events in {:.2} s; simulated peak memory {:.1} MiB; broadcast p99 {:.1} ms",
        connections,
        r.model,
        r.completed,
        r.events,
        r.wall_seconds,
        r.peak_memory_bytes as f64 / 1048576.0,
        r.latency_ms.p99
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
    {
        println!("simulator {line}");
    }
    Ok(())
}
