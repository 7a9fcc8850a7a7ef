//! Idle costs (issue 13): a core that goes idle and is woken pays `idle_wakeup_cpu` of core
//! time, its own share of the CPU split, and the woken work starts `idle_exit_latency` later.

use sim::config::{Threads, Warmup};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cpu, io, threads};

const US: u64 = 1_000;

#[test]
fn every_wake_up_of_an_idle_core_costs_its_cpu_and_its_exit_latency() {
    // One core, one client, one thread: each request waits 1 ms then computes 100 us. The
    // core idles twice per request (before the request arrives, during its wait), so the
    // request pays two exits of 20 us + 50 us: 1 ms + 2 x 70 us + 100 us = 1.24 ms.
    let steps = vec![io(Dist::Const(1_000 * US)), cpu(Dist::Const(100 * US))];
    let mut c = closed(1, 200, 1, steps, threads(Threads::Fixed(1), None));
    c.load.warmup = Warmup::Requests(0);
    c.costs.idle_wakeup_cpu = 50 * US;
    c.costs.idle_exit_latency = 20 * US;
    let r = simulate(&c).unwrap();
    close("latency (ms)", r.latency_ms.mean, 1.24, 1e-3);
    close(
        "idle wake-up share",
        r.cpu.idle_wakeup,
        100.0 / 1240.0,
        1e-3,
    );
    close("useful share", r.cpu.useful, 100.0 / 1240.0, 1e-3);
    let sum = r.cpu.useful + r.cpu.switching + r.cpu.refill + r.cpu.idle_wakeup + r.cpu.idle;
    close("the split sums to 1", sum, 1.0, 1e-9);
    close(
        "utilization counts the wake-ups",
        r.cpu_utilization,
        200.0 / 1240.0,
        1e-3,
    );
}

#[test]
fn unmeasured_idle_costs_change_nothing() {
    let steps = vec![io(Dist::Const(1_000 * US)), cpu(Dist::Const(100 * US))];
    let mut c = closed(1, 200, 1, steps, threads(Threads::Fixed(1), None));
    c.load.warmup = Warmup::Requests(0);
    let r = simulate(&c).unwrap();
    close("latency (ms)", r.latency_ms.mean, 1.1, 1e-3);
    assert_eq!(r.cpu.idle_wakeup, 0.0);
}

#[test]
fn an_exit_with_a_p99_is_drawn_with_that_median_and_tail() {
    // One exit per request: the client thinks 1 ms, the core idles meanwhile, and the request
    // is 100 us of work. Exits of median 25 us and p99 106 us give latencies of 125 and 206 us.
    let mut c = closed(
        1,
        40_000,
        1,
        vec![cpu(Dist::Const(100 * US))],
        threads(Threads::Fixed(1), None),
    );
    c.load.arrivals = sim::config::Arrivals::Closed {
        concurrency: 1,
        think: Dist::Const(1_000 * US),
    };
    c.costs.idle_exit_latency = 25 * US;
    c.costs.idle_exit_latency_p99 = 106 * US;
    let r = simulate(&c).unwrap();
    close("latency p50 (ms)", r.latency_ms.p50, 0.125, 0.02);
    close("latency p99 (ms)", r.latency_ms.p99, 0.206, 0.03);
    // The shifted exponential's mean: a + b, b = 81 us / ln 50, a = 25 us - b ln 2.
    let b = 81.0 / 50f64.ln();
    close(
        "latency mean (ms)",
        r.latency_ms.mean,
        (100.0 + 25.0 - b * 2f64.ln() + b) / 1e3,
        0.01,
    );
}

#[test]
fn a_core_halts_as_often_as_the_pause_outlasts_halt_after() {
    // One client pausing exp(5 us) after each answer; one thread, 20 us of work. The core
    // idles for exactly the pause, and halts when the pause outlasts halt_after (3 us): for
    // exp(-3/5) = 0.549 of the requests. The others are brief spells, not halts.
    let mut c = closed(
        1,
        40_000,
        1,
        vec![cpu(Dist::Const(20 * US))],
        threads(Threads::Fixed(1), None),
    );
    c.load.arrivals = sim::config::Arrivals::Closed {
        concurrency: 1,
        think: Dist::Exp { mean: 5 * US },
    };
    c.costs.idle_wakeup_cpu = 10 * US;
    c.costs.halt_after = 3 * US;
    c.costs.brief_idle_cpu = 2 * US;
    let r = simulate(&c).unwrap();
    close(
        "halts per request",
        r.halts_per_request,
        (-3.0f64 / 5.0).exp(),
        0.02,
    );
    assert_eq!(
        r.halts as f64 / r.completed as f64,
        r.halts_per_request,
        "the count and the rate agree"
    );
    // Without halt_after every pause halts the core.
    c.costs.halt_after = 0;
    let r = simulate(&c).unwrap();
    close(
        "halts per request, no halt_after",
        r.halts_per_request,
        1.0,
        1e-3,
    );
}
