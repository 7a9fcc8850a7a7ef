//! A runtime's timer thread (`timer_thread`, may's sleeps): `io` steps end on an OS thread of
//! the runtime's own, which the kernel layer wakes, switches to and away from.

use sim::config::{Balance, Model, RunConfig};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cpu, io};

const US: u64 = 1_000;
const SWITCH: u64 = 2 * US;
const TIMER: u64 = 5 * US;

fn one_loop(timer_thread: bool) -> Model {
    Model::Cooperative {
        loops: 1,
        balance: Balance::Shared,
        offload: None,
        lifo_slot: false,
        timer_thread,
    }
}

/// `clients` on one core, each request 20 µs of CPU then a 1 ms sleep; only the switch and
/// the timer's wake-up cost anything.
fn sleepers(clients: u64, timer_thread: bool) -> RunConfig {
    let steps = vec![cpu(Dist::Const(20 * US)), io(Dist::Const(1_000 * US))];
    let mut c = closed(clients, 20_000, 1, steps, one_loop(timer_thread));
    c.costs.thread_switch = SWITCH;
    c.costs.timer_wakeup_cpu = TIMER;
    c
}

#[test]
fn a_lone_sleep_ends_two_switches_later_on_the_timer_thread() {
    let without = simulate(&sleepers(1, false)).unwrap();
    let with = simulate(&sleepers(1, true)).unwrap();
    // Without it the loop, alone on its core, never switches.
    assert_eq!(without.context_switches, 0);
    // With it each sleep's end switches the core to the timer thread and back to the loop.
    close(
        "switches per request",
        with.context_switches_per_request,
        2.0,
        1e-3,
    );
    // The core was idle when the timer fired, so no timer_wakeup_cpu: two switches later.
    let extra_us = (with.latency_ms.mean - without.latency_ms.mean) * 1e3;
    close(
        "extra latency (µs)",
        extra_us,
        2.0 * SWITCH as f64 / 1e3,
        1e-3,
    );
}

#[test]
fn on_a_busy_core_each_wake_up_pays_the_timer_and_both_switches() {
    let without = simulate(&sleepers(100, false)).unwrap();
    let with = simulate(&sleepers(100, true)).unwrap();
    // Busy without it: one loop, 20 µs per request, nothing else.
    close("rps without", without.throughput_rps, 50_000.0, 1e-3);
    assert_eq!(without.context_switches, 0);
    // Waits that end while the woken timer thread waits for the core join its batch, so a
    // wake-up serves more than one request: fewer than two switches each.
    let switches = with.context_switches_per_request;
    assert!(
        switches > 0.5 && switches < 1.95,
        "switches per request {switches}"
    );
    // Every wake-up lands on the busy core: timer_wakeup_cpu plus its two switches, all of
    // it switching time. The core is saturated, so its busy time per request is 1 / rps.
    let wakeups = switches / 2.0;
    let per_request_us = 1e6 / with.throughput_rps;
    let switching_us = with.cpu.switching * per_request_us;
    close(
        "switching per request (µs)",
        switching_us,
        wakeups * (TIMER + 2 * SWITCH) as f64 / 1e3,
        0.01,
    );
    close(
        "useful per request (µs)",
        with.cpu.useful * per_request_us,
        20.0,
        0.01,
    );
}
