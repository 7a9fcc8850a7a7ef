//! Timers: the interrupts that end OS threads' timed sleeps (`timer_interrupt_cpu`, shared
//! within the timer slack), and a runtime's timer thread (`timer_thread`, may's sleeps), an OS
//! thread of the runtime's own that the kernel layer wakes, switches to and away from.

use sim::config::{Balance, Model, RunConfig};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cpu, io, threads};
use sim::config::Threads;

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
    // With it each sleep's end switches the core to the timer thread, which ends the request
    // itself, and back to the loop for the next request.
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
    // Waits that end while the woken timer thread waits for the core, or runs, join its
    // queue, so a wake-up serves more than one request: fewer than two switches each.
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

/// `clients` threads on one core, each request 20 µs of CPU then a 1 ms timed sleep; only
/// the timer interrupt costs anything (10 µs).
fn sleeping_threads(clients: u64) -> RunConfig {
    let steps = vec![cpu(Dist::Const(20 * US)), io(Dist::Const(1_000 * US))];
    let mut c = closed(clients, 20_000, 1, steps, threads(Threads::Unbounded, None));
    c.costs.timer_interrupt_cpu = 10 * US;
    c
}

#[test]
fn a_lone_sleeper_takes_one_interrupt_per_sleep_and_pays_it_only_on_a_busy_core() {
    let r = simulate(&sleeping_threads(1)).unwrap();
    close(
        "interrupts per request",
        r.timer_interrupts_per_request,
        1.0,
        1e-3,
    );
    // Its core idled through the sleep: the idle costs price that wake-up, not this key.
    assert_eq!(r.cpu.switching, 0.0);
}

#[test]
fn sleepers_on_a_busy_core_share_interrupts_within_the_slack_and_pay_each_once() {
    let r = simulate(&sleeping_threads(100)).unwrap();
    // Expiries come every 20-30 µs, closer than the 50 µs slack: fewer interrupts than sleeps.
    let interrupts = r.timer_interrupts_per_request;
    assert!(
        interrupts > 0.2 && interrupts < 0.8,
        "interrupts per request {interrupts}"
    );
    // Saturated: all of it lands on a busy core, 10 µs per interrupt, as switching.
    let per_request_us = 1e6 / r.throughput_rps;
    close(
        "switching per request (µs)",
        r.cpu.switching * per_request_us,
        interrupts * 10.0,
        0.01,
    );
    close(
        "useful per request (µs)",
        r.cpu.useful * per_request_us,
        20.0,
        0.01,
    );
}

#[test]
fn both_timer_prices_at_once_are_an_error_that_says_which_to_keep() {
    let mut c = sleeping_threads(1);
    c.costs.timer_wakeup_cpu = 5 * US;
    let message = simulate(&c).unwrap_err().to_string();
    assert!(message.contains("remove timer_wakeup_cpu"), "{message}");
}
