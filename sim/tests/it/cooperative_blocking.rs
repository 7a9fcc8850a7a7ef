//! Blocking calls inside event loops, the offload pool, and the GIL.

use sim::config::{Balance, Model, Threads};
use sim::dist::Dist;
use sim::simulate;

use crate::{assert_little, close, closed, cpu, io, threads};

const MS: u64 = 1_000_000;

fn blocking_sleep(ms: u64) -> sim::config::Step {
    let mut s = io(Dist::Const(ms * MS));
    s.blocking = true;
    s
}

#[test]
fn a_blocking_step_caps_a_loop_at_one_call_at_a_time() {
    // 2 loops, 4 cores, 50 clients, each request blocks its loop for 10 ms: throughput is
    // loops / step time = 200 rps however many clients wait.
    let model = Model::Cooperative {
        loops: 2,
        balance: Balance::Shared,
        offload: None,
        lifo_slot: false,
        timer_thread: false,
    };
    let r = simulate(&closed(50, 10_000, 4, vec![blocking_sleep(10)], model)).unwrap();
    // Constant 10 ms calls back to back: exact up to the warm-up edge; 0.5 %.
    close("throughput (rps)", r.throughput_rps, 200.0, 0.005);
    // Closed loop: 50 clients / 200 rps = 250 ms each.
    close("latency (ms)", r.latency_ms.mean, 250.0, 0.01);
    assert_little(&r, 0.01);
}

#[test]
fn an_offload_pool_lifts_the_cap_to_its_thread_count() {
    // Same calls run on an offload pool of 8 threads: 8 / 10 ms = 800 rps (W2's `def`
    // endpoints in a pool of 40 are the same shape).
    let model = Model::Cooperative {
        loops: 1,
        balance: Balance::Shared,
        offload: Some(8),
        lifo_slot: false,
        timer_thread: false,
    };
    let r = simulate(&closed(50, 20_000, 4, vec![blocking_sleep(10)], model)).unwrap();
    // The hand-over to and from a pool thread costs no time with free switches; 1 %.
    close("throughput (rps)", r.throughput_rps, 800.0, 0.01);
    let non_blocking = Model::Cooperative {
        loops: 1,
        balance: Balance::Shared,
        offload: None,
        lifo_slot: false,
        timer_thread: false,
    };
    let free = simulate(&closed(
        50,
        20_000,
        4,
        vec![io(Dist::Const(10 * MS))],
        non_blocking,
    ))
    .unwrap();
    // An awaited (non-blocking) sleep serves all 50 clients at once: 5,000 rps.
    close("throughput (rps)", free.throughput_rps, 5_000.0, 0.01);
}

#[test]
fn the_gil_caps_a_process_at_one_core() {
    // 16 clients, 8 threads per process, CPU-bound 1 ms requests on 4 cores.
    let run = |processes: u64, gil: bool| {
        let model = Model::ThreadPerRequest {
            threads: Threads::Fixed(8),
            quantum: None,
            backlog: None,
            processes,
            gil,
            gil_switch_interval: 5_000_000,
            keepalive: false,
            keepalive_requests: None,
        };
        simulate(&closed(16, 20_000, 4, vec![cpu(Dist::Const(MS))], model)).unwrap()
    };
    let (one, two, free) = (run(1, true), run(2, true), run(1, false));
    // Cores busy = utilization x 4: one process with the GIL uses one core, two use two, and
    // without the GIL all four. Constant demands: 1 %.
    close(
        "1 process with GIL: cores busy",
        one.cpu_utilization * 4.0,
        1.0,
        0.01,
    );
    close(
        "2 processes with GIL: cores busy",
        two.cpu_utilization * 4.0,
        2.0,
        0.01,
    );
    close("no GIL: cores busy", free.cpu_utilization * 4.0, 4.0, 0.01);
    close(
        "1 process with GIL (rps)",
        one.throughput_rps,
        1_000.0,
        0.01,
    );
}

#[test]
fn affinity_pins_connections_and_shared_balances() {
    // 2 loops on 2 cores, 4 closed-loop clients with CPU exp(1 ms): with affinity each loop
    // gets 2 clients; shared lets a free loop take any task. Both saturate both loops here,
    // but affinity's queue per loop shows in the ready queue and the latency tail.
    let run = |balance| {
        let model = Model::Cooperative {
            loops: 2,
            balance,
            offload: None,
            lifo_slot: false,
            timer_thread: false,
        };
        simulate(&closed(
            4,
            40_000,
            2,
            vec![cpu(Dist::Exp { mean: MS }), io(Dist::Exp { mean: MS })],
            model,
        ))
        .unwrap()
    };
    let (pinned, shared) = (run(Balance::Affinity), run(Balance::Shared));
    eprintln!(
        "affinity {:.1} rps p99 {:.2} ms; shared {:.1} rps p99 {:.2} ms",
        pinned.throughput_rps, pinned.latency_ms.p99, shared.throughput_rps, shared.latency_ms.p99
    );
    // Pooling servers never hurts: a shared queue serves at least as much (within noise).
    assert!(shared.throughput_rps > pinned.throughput_rps * 0.99);
    assert_little(&pinned, 0.02);
    assert_little(&shared, 0.02);
    let _ = threads;
}

#[test]
fn the_gil_is_handed_over_every_switch_interval() {
    // Two threads of one process on 2 cores: a 100 ms CPU request at 0, a 1 ms one at 1 ms.
    // The newcomer waits one 5 ms switch interval from its own request (CPython's timed wait),
    // then asks the holder to drop the lock, takes it at 6 ms and runs its 1 ms: it completes
    // at 7 ms (6 ms after it arrived), not after the 100 ms request.
    use sim::config::{Arrivals, TraceRow, Warmup};
    let model = Model::ThreadPerRequest {
        threads: Threads::Fixed(2),
        quantum: None,
        backlog: None,
        processes: 1,
        gil: true,
        gil_switch_interval: 5_000_000,
        keepalive: false,
        keepalive_requests: None,
    };
    let mut c = crate::open(1.0, 2, 2, vec![cpu(Dist::Const(MS))], model);
    c.load.arrivals = Arrivals::Trace {
        rows: vec![
            TraceRow {
                offset: 0,
                steps: Some(vec![100 * MS]),
            },
            TraceRow {
                offset: MS,
                steps: Some(vec![MS]),
            },
        ],
    };
    c.load.warmup = Warmup::Requests(0);
    let r = simulate(&c).unwrap();
    assert_eq!(r.completed, 2);
    // Latencies: 6 ms and 101 ms (the long one lost 1 ms of GIL to the short one).
    close(
        "min (ms) via mean",
        r.latency_ms.mean,
        (6.0 + 101.0) / 2.0,
        1e-3,
    );
    close("max (ms)", r.latency_ms.max, 101.0, 1e-3);
    // One core's worth of CPU at most: 101 ms of work in 101 ms on 2 cores.
    close("utilization", r.cpu_utilization, 0.5, 1e-3);
}

#[test]
fn a_task_switch_is_paid_before_the_task_issues_its_io_or_answers() {
    // One loop, one client, a request that only awaits 1 ms, task switches of 1 ms: the loop
    // switches to the task (1 ms) before it can start the wait (1 ms), and switches to it again
    // (1 ms) before it can answer, so every request takes exactly 3 ms.
    let mut cfg = closed(1, 50, 1, vec![io(Dist::Const(MS))], crate::cooperative(1));
    cfg.costs.task_switch = MS;
    let r = simulate(&cfg).unwrap();
    // Deterministic: all durations are constants; the histogram keeps 3 significant digits.
    close("mean latency (ms)", r.latency_ms.mean, 3.0, 1e-9);
    close("max latency (ms)", r.latency_ms.max, 3.0, 1e-3);
    // The same with a spawn cost instead: the task is created (1 ms) before it issues the wait.
    let mut cfg = closed(1, 50, 1, vec![io(Dist::Const(MS))], crate::cooperative(1));
    cfg.costs.task_spawn = MS;
    let r = simulate(&cfg).unwrap();
    close("mean latency with spawn (ms)", r.latency_ms.mean, 2.0, 1e-9);
}

#[test]
fn the_switch_interval_is_the_servers_gil_switch_interval() {
    // As above with gil_switch_interval = 1.5 ms: the newcomer (at 1 ms) asks for the GIL when
    // its timed wait runs out, at 2.5 ms, and completes at 3.5 ms: 2.5 ms after it arrived.
    use sim::config::{Arrivals, TraceRow, Warmup};
    let model = Model::ThreadPerRequest {
        threads: Threads::Fixed(2),
        quantum: None,
        backlog: None,
        processes: 1,
        gil: true,
        gil_switch_interval: 1_500_000,
        keepalive: false,
        keepalive_requests: None,
    };
    let mut c = crate::open(1.0, 2, 2, vec![cpu(Dist::Const(MS))], model);
    c.load.arrivals = Arrivals::Trace {
        rows: vec![
            TraceRow {
                offset: 0,
                steps: Some(vec![100 * MS]),
            },
            TraceRow {
                offset: MS,
                steps: Some(vec![MS]),
            },
        ],
    };
    c.load.warmup = Warmup::Requests(0);
    let r = simulate(&c).unwrap();
    assert_eq!(r.completed, 2);
    close("mean (ms)", r.latency_ms.mean, (2.5 + 101.0) / 2.0, 1e-3);
    close("max (ms)", r.latency_ms.max, 101.0, 1e-3);
}

#[test]
fn a_task_woken_by_the_running_task_runs_next_on_its_loop_with_the_lifo_slot() {
    // Two loops on 2 cores, a pool of one unit held by each request's second CPU step.
    // H (0 ms) holds the unit 0-1 ms on loop 0; W (0.1 ms) waits for it; R (0.2 ms) computes
    // 3 ms on loop 1; X (0.3 ms) waits in the queue. At 1 ms H releases the unit to W:
    // - LIFO slot: W runs next on loop 0 (1-2 ms), then X (2-2.5 ms): latencies 1, 1.9, 3, 2.2;
    // - no slot: W queues behind X; X runs 1-1.5 ms, then waits for the unit W holds until W
    //   has run (1.5-2.5 ms): latencies 1, 2.4, 3, 2.2.
    use sim::config::{Arrivals, Pool, TraceRow, Warmup};
    let run = |lifo_slot| {
        let model = Model::Cooperative {
            loops: 2,
            balance: Balance::Shared,
            offload: None,
            lifo_slot,
            timer_thread: false,
        };
        let mut held = cpu(Dist::Const(MS));
        held.pool = Some(0);
        let mut c = crate::open(1.0, 4, 2, vec![cpu(Dist::Const(0)), held], model);
        c.pools = vec![Pool {
            name: "db".into(),
            size: 1,
        }];
        let row = |offset, steps: [u64; 2]| TraceRow {
            offset,
            steps: Some(steps.to_vec()),
        };
        c.load.arrivals = Arrivals::Trace {
            rows: vec![
                row(0, [0, MS]),
                row(MS / 10, [0, MS]),
                row(MS / 5, [3 * MS, 0]),
                row(3 * MS / 10, [MS / 2, 0]),
            ],
        };
        c.load.warmup = Warmup::Requests(0);
        simulate(&c).unwrap()
    };
    let (slot, queue) = (run(true), run(false));
    assert_eq!(slot.completed, 4);
    close(
        "mean with the slot (ms)",
        slot.latency_ms.mean,
        8.1 / 4.0,
        1e-3,
    );
    close(
        "mean without it (ms)",
        queue.latency_ms.mean,
        8.6 / 4.0,
        1e-3,
    );
}
