//! Hand-offs between threads (issue 13): a request from the network reaches a pool thread or a
//! new thread through the acceptor, so on a machine of more than one core the thread starts
//! `thread_wakeup` later; a new thread first pays `spawn_thread_cpu` of CPU.

use sim::config::{Arrivals, Threads, TraceRow, Warmup};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, cpu, open, threads};

const US: u64 = 1_000;

/// The latency (ms) of one 100 us request on `cores` cores.
fn one_request(cores: u64, pool: Threads) -> f64 {
    let mut c = open(
        1.0,
        1,
        cores,
        vec![cpu(Dist::Const(100 * US))],
        threads(pool, None),
    );
    c.costs.thread_wakeup = 50 * US;
    c.costs.spawn_thread_cpu = 10 * US;
    c.load.arrivals = Arrivals::Trace {
        rows: vec![TraceRow {
            offset: 0,
            steps: None,
        }],
    };
    c.load.warmup = Warmup::Requests(0);
    let r = simulate(&c).unwrap();
    assert_eq!(r.completed, 1);
    r.latency_ms.max
}

#[test]
fn a_pool_hand_off_pays_the_wake_up_only_across_cores() {
    close(
        "2 cores, pool",
        one_request(2, Threads::Fixed(2)),
        0.150,
        1e-3,
    );
    close(
        "1 core, pool",
        one_request(1, Threads::Fixed(2)),
        0.100,
        1e-3,
    );
}

#[test]
fn a_new_thread_pays_its_creation_cpu_and_the_wake_up() {
    close(
        "2 cores, new thread",
        one_request(2, Threads::Unbounded),
        0.160,
        1e-3,
    );
    close(
        "1 core, new thread",
        one_request(1, Threads::Unbounded),
        0.110,
        1e-3,
    );
}
