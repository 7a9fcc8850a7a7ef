//! Simulated requests per second of the engine (group `engine`).
//!
//! - `mm4_cooperative`: M/M/4 at load 0.9, one exponential CPU step, 4 cooperative loops
//!   sharing a queue on 4 cores (the target: at least 5 million simulated requests per
//!   second on one core of the build machine).
//! - `threads_1000_sliced`: 1,000 unbounded-pool threads time-sliced at 1 ms: a closed loop of
//!   1,000 clients, each request 5 ms of CPU, on 4 cores.
//!
//! Before Criterion's groups, the bench's own harness prints the figure to quote: the engine's
//! rate as a ratio of the limit, a hand-specialised M/M/4 loop (`engine/limit.rs`) run in the
//! same process, alternating, at least five times each, each side timed by this thread's CPU
//! time; absolute rates on a shared VM move by tens of percent between runs, the ratio less. It writes `target/engine-ratio.json`.
//! Both sides' mean response is checked against Erlang C, so neither can cheat. Then the issue's
//! other cases, written to the same file: `threads_1000_sliced` under the default scheduler and
//! under a 1 ms round robin (requests per CPU-second), and the 64-point sweep's speed-up from 1
//! to 2 rayon threads (`engine/sweep.rs`, two child processes).
//!
//! Criterion's throughput is in elements (= simulated requests) per second. The `_cpu`
//! variants time the same runs by the benchmark thread's own CPU time instead of wall time, so
//! that other work on a shared machine does not count against the simulator (cache and
//! frequency effects still do).

// Not `benches/limit.rs`: cargo would take that for a bench target of its own.
#[path = "engine/limit.rs"]
mod limit;
#[path = "engine/sweep.rs"]
mod sweep;

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use sim::config::{
    Arrivals, Balance, Costs, Load, Model, RunConfig, Server, Step, StepKind, Stop, Threads, Warmup,
};
use sim::dist::Dist;

fn config(arrivals: Arrivals, requests: u64, model: Model, cpu: Dist) -> RunConfig {
    RunConfig {
        scenario: "bench".into(),
        seed: 1,
        cores: 4,
        l3_shared_by: None,
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
            working_set: 0,
        }],
        pools: vec![],
        server: Server {
            label: "bench".into(),
            model,
            proxy: None,
        },
        max_events: u64::MAX,
        kernel: sim::machine::Kernel::default(),
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
            lifo_slot: false,
            timer_thread: false,
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
    let sliced = threads_config(requests, Some(1_000_000));
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

/// The M/M/4 case as a scenario file would say it: 4 cores, 4 cooperative loops sharing one
/// queue, one exponential CPU step of 1 ms, Poisson arrivals at 3,600/s (load 0.9).
fn mm4_scenario(customers: u64) -> String {
    format!(
        "name = \"mm4\"\nseed = 1\n[machine]\ncores = 4\n[load]\nkind = \"open\"\nrate = 3600\n\
         requests = {customers}\nwarmup = {warmup}\n[request]\nsteps = [ {{ cpu = \"exp(1ms)\" }} ]\n\
         [[server]]\nlabel = \"4 loops\"\nmodel = \"cooperative\"\nloops = 4\nbalance = \"shared\"\n",
        warmup = customers / 10
    )
}

/// One timed side of a pair: simulated customers per second of this thread's CPU time, and the
/// mean response (ns). CPU time, not wall time, because on a shared VM another tenant's work
/// would otherwise count against whichever side it happened to overlap.
fn timed(run: impl FnOnce() -> f64, customers: u64) -> (f64, f64) {
    let start = thread_cpu_time();
    let mean = run();
    (
        customers as f64 / (thread_cpu_time() - start).as_secs_f64(),
        mean,
    )
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Alternates the limit and the engine, prints both rates and the median ratio; returns the
/// medians and the JSON for `target/engine-ratio.json`.
fn ratio(smoke: bool) -> (f64, f64, serde_json::Value) {
    let (customers, rounds) = if smoke { (20_000, 1) } else { (2_000_000, 5) };
    let scenario =
        sim::scenario::Scenario::parse(&mm4_scenario(customers), std::path::Path::new("mm4.toml"))
            .expect("the bench's scenario parses");
    let configs = scenario
        .run_configs(&sim::scenario::Overrides::default())
        .expect("the bench's scenario has one server");
    let config = &configs[0];
    let expected = limit::erlang_c_response_ns(3_600.0, 4, 1e6);
    let (mut limit_rates, mut sim_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (limit_rate, limit_mean) = timed(
            || {
                let outcome = limit::mmc(1 + round, customers, customers / 10, 3_600.0, 4, 1e6);
                assert_eq!(
                    outcome.counted,
                    customers - customers / 10,
                    "the limit lost customers"
                );
                outcome.mean_response_ns
            },
            customers,
        );
        let (sim_rate, sim_mean) = timed(
            || {
                sim::simulate(config)
                    .expect("the bench's scenario runs")
                    .latency_ms
                    .mean
                    * 1e6
            },
            customers,
        );
        // At load 0.9 the mean of 2M customers is within about 2 % of Erlang C; 20,000 are
        // too few for a tight check, so the smoke run only checks the order of magnitude.
        let tolerance = if smoke { 0.5 } else { 0.05 };
        for (who, mean) in [("limit", limit_mean), ("sim", sim_mean)] {
            let error = (mean - expected).abs() / expected;
            assert!(
                error < tolerance,
                "{who}: mean response {mean:.0} ns vs Erlang C {expected:.0} ns ({:.1} % off)",
                error * 100.0
            );
        }
        println!(
            "engine/ratio round {}: limit {:.2} M/s, sim {:.2} M/s, ratio {:.3}",
            round + 1,
            limit_rate / 1e6,
            sim_rate / 1e6,
            sim_rate / limit_rate
        );
        limit_rates.push(limit_rate);
        sim_rates.push(sim_rate);
        ratios.push(sim_rate / limit_rate);
    }
    let (limit_rate, sim_rate, ratio) = (
        median(&mut limit_rates),
        median(&mut sim_rates),
        median(&mut ratios),
    );
    println!(
        "engine/ratio: M/M/4 at load 0.9, {customers} customers, {rounds} alternating rounds: \
         limit {:.2} M/s, sim {:.2} M/s (medians), median ratio sim/limit {ratio:.3}",
        limit_rate / 1e6,
        sim_rate / 1e6
    );
    let json = serde_json::json!({
        "model": "M/M/4 at load 0.9, cooperative shared queue",
        "customers": customers,
        "rounds": rounds,
        "limit_customers_per_s": limit_rate,
        "sim_customers_per_s": sim_rate,
        "ratio": ratio,
        "ratios": ratios,
        "erlang_c_mean_response_ns": expected,
    });
    (sim_rate, limit_rate, json)
}

/// The second case: 1,000 unbounded-pool threads, a closed loop of 1,000 clients that
/// never think, each request 5 ms of CPU, on 4 cores, so every core time-slices a long run
/// queue. Under the default scheduler (EEVDF, HZ 250: slices end on the 4 ms tick) and under
/// round robin with a 1 ms quantum (the Criterion case). Requests per second of this thread's
/// CPU time, the median of three runs.
fn threads(smoke: bool) -> serde_json::Value {
    let (requests, runs) = if smoke { (2_000, 1) } else { (100_000, 3) };
    let mut out = serde_json::Map::new();
    for (name, quantum) in [("eevdf", None), ("rr_1ms", Some(1_000_000))] {
        let config = threads_config(requests, quantum);
        let mut rates: Vec<f64> = (0..runs)
            .map(|_| {
                let start = thread_cpu_time();
                let report = sim::simulate(&config).expect("valid bench config");
                assert!(report.completed > 0, "the threads case completed nothing");
                requests as f64 / (thread_cpu_time() - start).as_secs_f64()
            })
            .collect();
        let rate = median(&mut rates);
        println!(
            "engine/threads_1000_sliced ({name}): {requests} requests, {:.2} M requests per \
             CPU-second (median of {runs}; target 5 M)",
            rate / 1e6
        );
        out.insert(
            name.into(),
            serde_json::json!({ "requests": requests, "requests_per_cpu_s": rate, "runs": rates }),
        );
    }
    serde_json::Value::Object(out)
}

fn threads_config(requests: u64, quantum: Option<u64>) -> RunConfig {
    config(
        Arrivals::Closed {
            concurrency: 1_000,
            think: Dist::Const(0),
        },
        requests,
        Model::ThreadPerRequest {
            threads: Threads::Unbounded,
            quantum,
            backlog: None,
            processes: 1,
            gil: false,
            gil_switch_interval: 5_000_000,
            keepalive: false,
            keepalive_requests: None,
        },
        Dist::Const(5_000_000),
    )
}

/// The same M/M/4 model in SimPy and Ciw (`benches/peers/mm4.py`), 200,000 customers each, in
/// the Python of `SWITCHCOST_VENV` (default `.venv` at the workspace root, the notebooks' venv)
/// with `benches/peers/requirements.txt` installed. Skipped, with a message, without it.
fn peers(sim_rate: f64, limit_rate: f64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv =
        std::env::var_os("SWITCHCOST_VENV").map_or_else(|| root.join(".venv"), PathBuf::from);
    let python = venv.join("bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers/mm4.py");
    if !python.exists() {
        println!(
            "engine/peers: skipped: no {} (python3 -m venv .venv && .venv/bin/pip install -r \
             sim/benches/peers/requirements.txt, or set SWITCHCOST_VENV)",
            python.display()
        );
        return;
    }
    let output = match std::process::Command::new(&python)
        .arg(&script)
        .args(["--customers", "200000"])
        .output()
    {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            println!(
                "engine/peers: skipped: {} failed: {}",
                script.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!(
                "engine/peers: skipped: could not run {}: {e}",
                python.display()
            );
            return;
        }
    };
    println!("engine/peers: M/M/4 at load 0.9, customers simulated per second of CPU time");
    println!(
        "{:<8} {:>12} {:>10} {:>10} {:>12}",
        "tool", "customers/s", "sim/tool", "tool/limit", "mean (ms)"
    );
    println!(
        "{:<8} {:>12.0} {:>10.2} {:>10.3} {:>12}",
        "limit",
        limit_rate,
        sim_rate / limit_rate,
        1.0,
        "-"
    );
    println!(
        "{:<8} {:>12.0} {:>10.2} {:>10.3} {:>12}",
        "sim",
        sim_rate,
        1.0,
        sim_rate / limit_rate,
        "-"
    );
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let rate = row["customers_per_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<8} {:>12.0} {:>10.1} {:>10.4} {:>12.3}",
            row["tool"].as_str().unwrap_or("?"),
            rate,
            sim_rate / rate,
            rate / limit_rate,
            row["mean_response_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
}

fn main() {
    // A child of the sweep case (`engine/sweep.rs`) runs one sweep and nothing else.
    if let Some(requests) = std::env::var_os(sweep::CHILD) {
        let requests = requests
            .to_str()
            .and_then(|s| s.parse().ok())
            .expect("the sweep child is told its request count");
        sweep::child(requests);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--test");
    // A name filter that does not ask for the ratio (e.g. `-- engine/mm4`) skips it.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if filters.is_empty() || filters.iter().any(|f| "engine/ratio".contains(f.as_str())) {
        let (sim_rate, limit_rate, mut json) = ratio(smoke);
        json["threads_1000_sliced"] = threads(smoke);
        json["sweep"] = sweep::speedup(smoke);
        json["load_average"] = serde_json::json!(
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim()
        );
        // CARGO_TARGET_TMPDIR is target/tmp; the ratio goes beside it.
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../engine-ratio.json");
        if let Err(e) = std::fs::write(&out, format!("{json:#}\n")) {
            eprintln!("engine/ratio: could not write {}: {e}", out.display());
        }
        if !smoke {
            peers(sim_rate, limit_rate);
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
