//! `switch_runnable`: a switch to an OS thread after n − 1 other threads took turns on its core
//! costs `thread_switch` plus the curve's rise from its first point to n (`kernel/crowd.rs`).
//! An event loop's worker threads, alone on their cores, never pay it, nor does a new thread;
//! without the key every result is what it was.

use sim::config::{Model, Threads};
use sim::cost::LineLatency;
use sim::dist::Dist;
use sim::{Report, simulate};

use crate::{close, closed, cooperative, cpu, io, threads};

/// A curve shaped like the 2026-12-07 EPYC guest's (`calibrate`, 20:50 UTC): flat to the pair's
/// figure's +0.8 µs up to 32 threads, a step past 256.
const CURVE: [(u64, f64); 5] = [
    (2, 1_825.0),
    (4, 2_652.0),
    (32, 2_694.0),
    (256, 3_260.0),
    (1024, 6_196.0),
];

fn curve() -> LineLatency {
    LineLatency::new(&CURVE).unwrap()
}

/// Switching core time per context switch, ns.
fn per_switch_ns(r: &Report) -> f64 {
    let core_ns = r.simulated_seconds * 1e9 * r.cores as f64;
    r.cpu.switching * core_ns / r.context_switches as f64
}

/// The report without the wall time, to compare two runs.
fn outputs(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("wall_seconds");
    v
}

#[test]
fn a_ring_of_n_threads_pays_thread_switch_plus_the_rise_to_n() {
    let costs = "thread_switch = \"2000ns\"\nswitch_runnable = [[2, 1825], [4, 2652], [32, 2694], \
                 [256, 3260], [1024, 6196]]";
    for n in [2u64, 4, 8, 64, 256, 512, 1024, 2048] {
        let config = sim::scenario::ring(costs, n, 0, 1_000).unwrap();
        let r = simulate(&config).unwrap();
        let want = 2_000.0 + (curve().at(n as f64) - 1_825.0);
        close(
            &format!("ring of {n}: ns per switch"),
            per_switch_ns(&r),
            want,
            0.01,
        );
    }
}

#[test]
fn without_the_key_every_switch_costs_thread_switch() {
    let config = sim::scenario::ring("thread_switch = \"2000ns\"", 512, 0, 1_000).unwrap();
    let r = simulate(&config).unwrap();
    close("ns per switch", per_switch_ns(&r), 2_000.0, 1e-3);
}

#[test]
fn a_thread_per_connection_server_pays_more_per_request_as_connections_grow() {
    // One core, a closed loop of c keep-alive clients, 50 us of work per request: a thread per
    // connection, so the core cycles through c threads and each switch costs the rise to c.
    let mut rise = Vec::new();
    for c in [2u64, 100, 1_000] {
        let steps = vec![cpu(Dist::Const(50_000))];
        let mut model = threads(Threads::Unbounded, None);
        if let Model::ThreadPerRequest { keepalive, .. } = &mut model {
            *keepalive = true;
        }
        let mut config = closed(c, 20_000, 1, steps, model);
        config.costs.thread_switch = 2_000;
        let base = simulate(&config).unwrap();
        config.costs.switch_runnable = curve();
        let r = simulate(&config).unwrap();
        // Longer switches move the slices' ends a little, and with them a few preemptions.
        close(
            &format!("c = {c}: switches"),
            r.context_switches as f64,
            base.context_switches as f64,
            0.01,
        );
        let extra = per_switch_ns(&r) - per_switch_ns(&base);
        rise.push(extra);
    }
    assert!(rise[0].abs() < 1.0, "two threads take turns: {rise:?}");
    close(
        "100 threads: extra ns per switch",
        rise[1],
        curve().at(100.0) - 1_825.0,
        0.05,
    );
    close(
        "1,000 threads: extra ns per switch",
        rise[2],
        curve().at(1_000.0) - 1_825.0,
        0.05,
    );
}

#[test]
fn an_event_loop_alone_on_its_core_is_not_charged() {
    let steps = vec![cpu(Dist::Const(20_000)), io(Dist::Const(1_000_000))];
    let mut config = closed(1_000, 20_000, 2, steps, cooperative(2));
    let base = simulate(&config).unwrap();
    assert_eq!(
        base.context_switches, 0,
        "two loops on two cores never switch"
    );
    config.costs.switch_runnable = curve();
    let r = simulate(&config).unwrap();
    assert_eq!(outputs(&r), outputs(&base));
}

#[test]
fn loops_that_share_a_core_are_threads_like_any_other() {
    // Eight loops on one saturated core take turns at the end of their slices: each switch
    // pays the rise to at most eight.
    let steps = vec![cpu(Dist::Const(20_000)), io(Dist::Const(1_000_000))];
    let mut config = closed(1_000, 20_000, 1, steps, cooperative(8));
    config.costs.thread_switch = 2_000;
    let base = simulate(&config).unwrap();
    assert!(base.context_switches > 50, "{}", base.context_switches);
    config.costs.switch_runnable = curve();
    let r = simulate(&config).unwrap();
    let extra = per_switch_ns(&r) - per_switch_ns(&base);
    assert!(
        extra > 0.0 && extra <= curve().at(8.0) - 1_825.0 + 1.0,
        "extra ns per switch {extra}"
    );
}

#[test]
fn a_new_thread_per_request_never_ran_on_the_core_so_pays_no_rise() {
    // Without keep-alive each request gets a new thread, on the id of one that exited: the
    // kernel forgets the old thread's turns, so no switch finds a crowd behind it.
    let steps = vec![cpu(Dist::Const(50_000))];
    let mut config = closed(100, 20_000, 1, steps, threads(Threads::Unbounded, None));
    config.costs.thread_switch = 2_000;
    let base = simulate(&config).unwrap();
    assert!(base.context_switches > 10_000, "{}", base.context_switches);
    config.costs.switch_runnable = curve();
    let r = simulate(&config).unwrap();
    assert_eq!(outputs(&r), outputs(&base));
}
