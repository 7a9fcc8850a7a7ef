//! The simulator's own memory and time for many simultaneous idle connections (targets: one
//! million under 1 GiB; ten million under 2 GiB peak and 10 s). Each connection sends a message
//! every 60 s on average for 30 simulated seconds, then all receive a broadcast; printed: the
//! run's summary, its wall time, and this process's peak resident set from `getrusage`
//! (`ru_maxrss`) beside /proc's VmHWM.
//!
//! `cargo run --release -p sim --example idle_connections -- [--connections N] [--model threads|loop]`
//! (the old positional form `[N] [threads|loop]` still works).

use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Threads, Warmup,
};
use sim::dist::Dist;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut connections, mut model_name) = (1_000_000u64, String::from("loop"));
    let mut args = std::env::args().skip(1);
    let mut positional = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connections" => connections = args.next().ok_or("--connections needs N")?.parse()?,
            "--model" => model_name = args.next().ok_or("--model needs threads or loop")?,
            _ if positional == 0 => {
                connections = arg.parse()?;
                positional += 1;
            }
            _ => model_name = arg,
        }
    }
    let model = match Some(model_name.as_str()) {
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
            lifo_slot: false,
            timer_thread: false,
        },
    };
    let second = 1_000_000_000;
    let config = RunConfig {
        scenario: "idle-connections".into(),
        seed: 1,
        cores: 4,
        l3_shared_by: None,
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
            working_set: 0,
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
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    println!(
        "simulator peak RSS (getrusage ru_maxrss): {:.1} MiB",
        usage.ru_maxrss as f64 / 1024.0
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
