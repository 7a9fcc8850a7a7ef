//! CPython's GIL convoy against a committed measurement (issue 13, part 3): one thread doing
//! short sleeps beside a CPU-bound thread, both in one process pinned to one core, as
//! `micro/src/gil.py` runs it. The simulated per-operation latency of the sleeping thread must
//! be within 25 % of the measured median at each switch interval of the reference.
//!
//! What the scenario takes from the measurement: the sleeping thread's latency alone (the
//! sleep, timer slack and wake-up of an uncontended operation) becomes its I/O step; its
//! Python work per operation is a few microseconds. Nothing is fitted to the convoy figures.
//!
//! One request carries all the operations (`[io, cpu]` repeated): a new request per operation
//! would make the thread wait for a core before its sleep even starts, which the measured
//! loop never does (it is on the core when it calls `time.sleep`). The simulated figure is
//! therefore the mean per operation, compared with the measured median (the reference gives
//! p50 and p99 only); the simulator is nearly deterministic here, so its mean is its median.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sim::config::{Arrivals, Costs, Model, Stop, Threads, TraceRow, Warmup};
use sim::dist::Dist;
use sim::simulate;

use crate::{cpu, io, open};

const US: u64 = 1_000;
const MS: u64 = 1_000_000;
/// Operations the sleeping thread does in one simulated run.
const OPS: usize = 200;
/// Python work per operation around the sleep (the loop, `perf_counter_ns`, the append).
const WORK: u64 = 5 * US;

/// One row of `gil_io_latency_ns`: `[switch_interval_ns, with_cpu_thread, p50_ns, p99_ns]`.
#[derive(Debug, Clone, Copy)]
struct Case {
    interval: u64,
    with_cpu: bool,
    p50: f64,
}

/// The newest committed reference with GIL figures.
fn reference() -> (PathBuf, Vec<Case>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut committed: Vec<PathBuf> = std::fs::read_dir(root.join("../micro/reference"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    committed.sort();
    for path in committed.into_iter().rev() {
        let Ok(json) = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
        else {
            continue;
        };
        let Some(rows) = json["gil_io_latency_ns"].as_array() else {
            continue;
        };
        let cases = rows
            .iter()
            .map(|r| Case {
                interval: r[0].as_u64().expect("switch_interval_ns"),
                with_cpu: r[1].as_bool().expect("with_cpu_thread"),
                p50: r[2].as_f64().expect("p50_ns"),
            })
            .collect();
        return (path, cases);
    }
    panic!("no reference with gil_io_latency_ns in micro/reference");
}

/// The simulated mean latency (ns) of one operation of the sleeping thread: `sleep` of I/O
/// then `WORK` under the GIL, beside a CPU-bound thread of the same process on one core.
fn simulated(interval: u64, sleep: u64) -> f64 {
    let mut steps = Vec::new();
    for _ in 0..OPS {
        steps.push(io(Dist::Const(sleep)));
        steps.push(cpu(Dist::Const(WORK)));
    }
    let model = Model::ThreadPerRequest {
        threads: Threads::Fixed(2),
        quantum: None,
        backlog: None,
        processes: 1,
        gil: true,
        gil_switch_interval: interval,
        keepalive: false,
        keepalive_requests: None,
    };
    let mut c = open(1.0, 2, 1, steps, model);
    c.costs = Costs::default();
    // The CPU-bound thread: a step of CPU far longer than the run (its first I/O is empty).
    let mut hog = vec![0; 2 * OPS];
    hog[1] = 3_600 * 1_000 * MS;
    // The sleeping thread starts 20 ms later, as the script lets the hog take the GIL first.
    let mut sleeper = Vec::with_capacity(2 * OPS);
    for _ in 0..OPS {
        sleeper.extend([sleep, WORK]);
    }
    c.load.arrivals = Arrivals::Trace {
        rows: vec![
            TraceRow {
                offset: 0,
                steps: Some(hog),
            },
            TraceRow {
                offset: 20 * MS,
                steps: Some(sleeper),
            },
        ],
    };
    c.load.warmup = Warmup::Requests(0);
    // Long enough for every operation to wait several intervals; the hog never finishes.
    c.load.stop = Stop::Duration(20 * MS + OPS as u64 * (sleep + 20 * interval));
    let r = simulate(&c).expect("the convoy scenario runs");
    assert_eq!(
        r.completed, 1,
        "only the sleeping thread's request completes"
    );
    assert_eq!(r.audit.core_overlaps, 0);
    r.latency_ms.max * 1e6 / OPS as f64
}

/// Compares the simulated convoy with the reference's median at `interval`; the error
/// message gives both figures.
fn check(interval: u64) {
    let (path, cases) = reference();
    println!("reference: {}", path.display());
    let find = |with_cpu| {
        cases
            .iter()
            .find(|c| c.interval == interval && c.with_cpu == with_cpu)
            .unwrap_or_else(|| panic!("{}: no case at {interval} ns", path.display()))
            .p50
    };
    let (alone, measured) = (find(false), find(true));
    let sleep = (alone as u64).saturating_sub(WORK);
    let got = simulated(interval, sleep);
    let error = (got - measured) / measured;
    println!(
        "interval {:.1} ms: measured p50 {:.2} ms, simulated {:.2} ms ({:+.1} %)",
        interval as f64 / 1e6,
        measured / 1e6,
        got / 1e6,
        error * 100.0
    );
    assert!(
        error.abs() <= 0.25,
        "interval {interval} ns: simulated {got:.0} ns vs measured p50 {measured:.0} ns ({:+.1} %)",
        error * 100.0
    );
}

// On the quiet reference (2026-12-01, nothing else running) both pass: measured p50 5.30 ms
// and 1.28 ms, simulated 5.22 ms (-1.5 %) and 1.22 ms (-4.7 %). Under EEVDF the thread woken
// from its sleep takes the GIL back after one switch interval and preempts the CPU-bound
// thread at once, as the machine does when nothing else shares the core.
// They failed against the loaded reference of 2026-11-30 (measured 10.12 ms and 3.78 ms:
// -48.6 % and -68.1 %), where other processes also took the core between the wake-up and the
// run; under the old CFS-like kernel without wake-up preemption they read 8.02 ms and 6.02 ms.
#[test]
fn the_gil_convoy_matches_the_reference_at_the_default_switch_interval() {
    check(5 * MS);
}

#[test]
fn the_gil_convoy_matches_the_reference_at_a_1ms_switch_interval() {
    check(MS);
}

#[test]
fn a_sleeping_thread_alone_is_not_slowed_by_the_gil() {
    // The same thread with no CPU-bound neighbour: each operation is its sleep and its work.
    let model = Model::ThreadPerRequest {
        threads: Threads::Fixed(2),
        quantum: None,
        backlog: None,
        processes: 1,
        gil: true,
        gil_switch_interval: 5 * MS,
        keepalive: false,
        keepalive_requests: None,
    };
    let steps = vec![io(Dist::Const(100 * US)), cpu(Dist::Const(WORK))];
    let mut c = crate::closed(1, 50, 1, steps, model);
    c.load.warmup = Warmup::Requests(0);
    let r = simulate(&c).unwrap();
    crate::close("latency (ms)", r.latency_ms.max, 0.105, 1e-3);
}
