//! Time slicing: what a switch per quantum costs, and who waits behind whom.

use sim::config::{Model, Threads};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cooperative, cpu, open, threads};

const MS: u64 = 1_000_000;

#[test]
fn a_switch_per_quantum_costs_capacity_q_over_q_plus_s() {
    // 8 CPU-bound clients on 1 core, 10 ms of CPU each, slices q = 1 ms, switch s = 250 us:
    // every slice ends with a switch to another runnable thread, so the core does q of work per
    // q + s of time: throughput = (1 / 10 ms) x q / (q + s) = 80 rps, switching = s / (q + s).
    let mut cfg = closed(
        8,
        5_000,
        1,
        vec![cpu(Dist::Const(10 * MS))],
        threads(Threads::Fixed(8), Some(MS)),
    );
    cfg.costs.thread_switch = 250_000;
    let r = simulate(&cfg).unwrap();
    // Deterministic demands: only the warm-up edges differ from the closed form; 0.5 %.
    close("throughput (rps)", r.throughput_rps, 80.0, 0.005);
    close("switch overhead", r.switch_overhead, 0.2, 0.005);
    close("utilization", r.cpu_utilization, 1.0, 0.001);
    // One switch per 1 ms slice, 10 slices per request.
    close(
        "switches per request",
        r.context_switches_per_request,
        10.0,
        0.01,
    );
}

#[test]
fn threads_within_core_count_never_switch() {
    // 4 clients, 4 threads, 4 cores, CPU then I/O: each thread keeps its core.
    let mut cfg = closed(
        4,
        20_000,
        4,
        vec![
            cpu(Dist::Exp { mean: MS }),
            crate::io(Dist::Exp { mean: MS }),
        ],
        threads(Threads::Fixed(4), None),
    );
    cfg.costs.thread_switch = 2_000;
    cfg.costs.thread_wakeup = 5_000;
    let r = simulate(&cfg).unwrap();
    assert_eq!(r.context_switches, 0);
    assert_eq!(r.switch_overhead, 0.0);
}

#[test]
fn a_long_burst_blocks_a_cooperative_loop_but_not_green_threads() {
    // 1 core, 5 % of requests need 50 ms of CPU, the rest 0.2 ms; load about 0.6.
    // A cooperative loop runs each burst to its end, so short requests queue behind long
    // ones; green threads with a 1 ms quantum let them through.
    let steps = vec![cpu(Dist::Bimodal {
        short: 200_000,
        long: 50 * MS,
        p_long: 0.05,
    })];
    let rate = 0.6 / 2.69e-3;
    let coop = simulate(&open(rate, 40_000, 1, steps.clone(), cooperative(1))).unwrap();
    let green = Model::Preemptive {
        workers: 1,
        quantum: MS,
    };
    let green = simulate(&open(rate, 40_000, 1, steps, green)).unwrap();
    eprintln!(
        "p50 cooperative {:.2} ms, preemptive {:.2} ms",
        coop.latency_ms.p50, green.latency_ms.p50
    );
    // The median request is short: under slicing it waits for at most a few slices, under
    // FCFS for the residual of a 50 ms burst a good share of the time.
    assert!(green.latency_ms.p50 < coop.latency_ms.p50 / 3.0);
    assert!(green.task_switches_per_request > coop.task_switches_per_request);
}
