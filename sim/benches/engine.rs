//! Simulated requests per second of the engine (group `engine`).
//!
//! - `mm4_cooperative`: M/M/4 at load 0.9, one exponential CPU step, 4 cooperative loops
//!   sharing a queue on 4 cores (the target: at least 5 million simulated requests per
//!   second on one core of the build machine).
//! - `threads_1000_sliced`: 1,000 unbounded-pool threads time-sliced at 1 ms: a closed loop of
//!   1,000 clients, each request 5 ms of CPU, on 4 cores.
//!
//! Criterion's throughput is in elements (= simulated requests) per second. The `_cpu`
//! variants time the same runs by the benchmark thread's own CPU time instead of wall time, so
//! that other work on a shared machine does not count against the simulator (cache and
//! frequency effects still do).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Threads, Warmup,
};
use sim::dist::Dist;

fn config(arrivals: Arrivals, requests: u64, model: Model, cpu: Dist) -> RunConfig {
    RunConfig {
        scenario: "bench".into(),
        seed: 1,
        cores: 4,
        costs: Costs::default(),
        load: Load {
            arrivals,
            stop: Stop::Requests(requests),
            warmup: Warmup::Requests(requests / 10),
            rtt: 0,
            maxconn: None,
        },
        steps: vec![Step {
            kind: StepKind::Cpu,
            duration: cpu,
            pool: None,
            parallel: 1,
            blocking: false,
        }],
        pools: vec![],
        server: Server {
            label: "bench".into(),
            model,
            proxy: None,
        },
        max_events: u64::MAX,
    }
}

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `config` `iters` times and returns the CPU time it took.
fn cpu_timed(config: &RunConfig, iters: u64) -> Duration {
    let start = thread_cpu_time();
    for _ in 0..iters {
        std::hint::black_box(sim::simulate(config).expect("valid bench config"));
    }
    thread_cpu_time() - start
}

fn engine(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);

    let requests = 1_000_000;
    // 4 cores x 1 / 1 ms x 0.9 = 3,600 requests per second.
    let mm4 = config(
        Arrivals::Open { rate: 3_600.0 },
        requests,
        Model::Cooperative {
            loops: 4,
            balance: Balance::Shared,
            offload: None,
        },
        Dist::Exp { mean: 1_000_000 },
    );
    group.throughput(Throughput::Elements(requests));
    group.bench_function("mm4_cooperative", |b| {
        b.iter(|| sim::simulate(&mm4).expect("valid bench config"))
    });
    group.bench_function("mm4_cooperative_cpu", |b| {
        b.iter_custom(|iters| cpu_timed(&mm4, iters))
    });

    let requests = 100_000;
    let sliced = config(
        Arrivals::Closed {
            concurrency: 1_000,
            think: Dist::Const(0),
        },
        requests,
        Model::ThreadPerRequest {
            threads: Threads::Unbounded,
            quantum: Some(1_000_000),
            backlog: None,
            processes: 1,
            gil: false,
            keepalive: false,
            keepalive_requests: None,
        },
        Dist::Const(5_000_000),
    );
    group.throughput(Throughput::Elements(requests));
    group.bench_function("threads_1000_sliced", |b| {
        b.iter(|| sim::simulate(&sliced).expect("valid bench config"))
    });
    group.bench_function("threads_1000_sliced_cpu", |b| {
        b.iter_custom(|iters| cpu_timed(&sliced, iters))
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
