//! `wakeup_cpu`: a blocked OS thread woken by an interrupt (the network, a timer, an I/O
//! completion, the acceptor's hand-off) onto a core that halted pays that CPU before its next
//! burst, as switching. A thread woken onto a busy core, or by another thread on a core, pays
//! nothing extra; nor does one whose core was handed it the instant it ran out of work (it
//! never halted). So an event loop that never runs out of ready work never pays it, and
//! neither does a thread per request on a core that is never idle.

use std::path::Path;

use sim::config::{Proxy, Threads, Warmup};
use sim::dist::Dist;
use sim::scenario::{Overrides, Scenario, ScenarioError};
use sim::{Report, RunConfig, simulate};

use crate::{close, closed, cooperative, cpu, io, threads};

const US: u64 = 1_000;

/// Busy core time per completed request, ns.
fn cpu_per_request(r: &Report) -> f64 {
    r.cpu_utilization * r.cores as f64 / r.throughput_rps * 1e9
}

/// The run of `c` without and with `wakeup_cpu = cpu`.
fn without_and_with(c: &RunConfig, cpu: u64) -> (Report, Report) {
    let base = simulate(c).unwrap();
    let mut charged = c.clone();
    charged.costs.wakeup_cpu = cpu;
    (base, simulate(&charged).unwrap())
}

#[track_caller]
fn split_sums_to_one(r: &Report) {
    let c = &r.cpu;
    let sum = c.useful + c.switching + c.refill + c.idle_wakeup + c.interrupted + c.idle;
    close("the split sums to 1", sum, 1.0, 1e-9);
}

#[test]
fn each_wake_up_of_a_request_thread_costs_wakeup_cpu() {
    // One core, one client 200 us away, a request of cpu 50 us, io 1 ms, cpu 50 us. Its
    // thread is woken twice per request, each time onto the core idle meanwhile: by the
    // acceptor's hand-off when the request arrives, and by the I/O's completion. So with
    // wakeup_cpu = 10 us a request takes 100 us of CPU + 2 x 10 us, its latency 1.3 ms +
    // 20 us, and the 20 us are switching. With a new thread per request the hand-off starts
    // the thread instead of waking it, and a first run is not a wake-up (the spawn is
    // `spawn_thread_cpu`'s): one charge per request. The first request is left out, as the
    // pool's thread runs for the first time then.
    for (pool, wakes) in [(Threads::Fixed(1), 2.0), (Threads::Unbounded, 1.0)] {
        let steps = vec![
            cpu(Dist::Const(50 * US)),
            io(Dist::Const(1_000 * US)),
            cpu(Dist::Const(50 * US)),
        ];
        let mut c = closed(1, 400, 1, steps, threads(pool, None));
        c.load.warmup = Warmup::Requests(1);
        c.load.rtt = 200 * US;
        let (base, r) = without_and_with(&c, 10 * US);
        close(
            "CPU per request without (ns)",
            cpu_per_request(&base),
            100e3,
            1e-6,
        );
        let charged = wakes * 10e3;
        close(
            "CPU per request with (ns)",
            cpu_per_request(&r),
            100e3 + charged,
            1e-6,
        );
        close("latency (ms)", r.latency_ms.mean, 1.3 + charged / 1e6, 1e-6);
        assert_eq!(base.cpu.switching, 0.0, "{pool:?}");
        let cycle = 1_300e3 + charged;
        close("switching share", r.cpu.switching, charged / cycle, 1e-6);
        close("useful share", r.cpu.useful, 100e3 / cycle, 1e-6);
        assert_eq!(r.context_switches, base.context_switches, "{pool:?}");
        split_sums_to_one(&base);
        split_sums_to_one(&r);

        // With no round trip the request arrives the instant the last answer left: the core
        // never halted, and only the I/O's wake-up is charged.
        c.load.rtt = 0;
        let (base, r) = without_and_with(&c, 10 * US);
        close(
            "no round trip: CPU per request with (ns)",
            cpu_per_request(&r) - cpu_per_request(&base),
            10e3,
            1e-6,
        );
    }
}

#[test]
fn a_busy_core_pays_almost_none_and_an_idle_one_pays_one_per_request() {
    // One loop on one core, requests of cpu 50 us. With 50 clients the loop always has ready
    // work: it never blocks, so nothing wakes it. With one client 100 us away it blocks after
    // every request, its core halts, and the next arrival (an interrupt) wakes it: one
    // wakeup_cpu per request. With the client at no distance the arrival lands the instant
    // the loop blocked, before its core halted: none.
    let wakeup = 10 * US;
    let run = |clients, rtt| {
        let mut c = closed(
            clients,
            20_000,
            1,
            vec![cpu(Dist::Const(50 * US))],
            cooperative(1),
        );
        c.load.rtt = rtt;
        let (base, r) = without_and_with(&c, wakeup);
        split_sums_to_one(&r);
        cpu_per_request(&r) - cpu_per_request(&base)
    };
    let busy = run(50, 100 * US);
    assert!(
        busy.abs() < 0.02 * wakeup as f64,
        "50 clients: CPU per request moved by {busy} ns"
    );
    let idle = run(1, 100 * US);
    close(
        "1 client: CPU per request added (ns)",
        idle,
        wakeup as f64,
        1e-6,
    );
    assert_eq!(run(1, 0), 0.0, "1 client, no round trip");

    // A thread per request under the same 50 clients: the acceptor hands each request to a
    // pooled thread, but onto a core that is never idle, so it pays nothing either.
    let mut c = closed(
        50,
        20_000,
        1,
        vec![cpu(Dist::Const(50 * US))],
        threads(Threads::Fixed(50), None),
    );
    c.load.rtt = 100 * US;
    let (base, r) = without_and_with(&c, wakeup);
    let threads = cpu_per_request(&r) - cpu_per_request(&base);
    assert!(
        threads.abs() < 0.02 * wakeup as f64,
        "50 clients, threads: CPU per request moved by {threads} ns"
    );
    split_sums_to_one(&r);
}

#[test]
fn a_wake_up_by_a_thread_on_a_core_is_not_charged() {
    // Behind the local proxy a request wakes three threads: the proxy (the network: an
    // interrupt, onto the core idle while the client was 200 us away), the request's thread
    // (woken by the proxy thread on its core) and the proxy again for the answer (woken by
    // the request's thread). Only the first pays wakeup_cpu.
    let mut c = closed(
        1,
        400,
        1,
        vec![cpu(Dist::Const(50 * US))],
        threads(Threads::Fixed(1), None),
    );
    // The first request is left out: the proxy's thread runs for the first time then.
    c.load.warmup = Warmup::Requests(1);
    c.load.rtt = 200 * US;
    c.server.proxy = Some(Proxy {
        cpu: Dist::Const(10 * US),
    });
    let (base, r) = without_and_with(&c, 10 * US);
    close(
        "CPU per request without (ns)",
        cpu_per_request(&base),
        70e3,
        1e-6,
    );
    close("CPU per request with (ns)", cpu_per_request(&r), 80e3, 1e-6);
    split_sums_to_one(&r);
}

const SCENARIO: &str = "name = \"w\"\n[machine]\ncores = 1\n[costs]\nKEY = VALUE\n[load]\n\
                        kind = \"open\"\nrate = 100\nrequests = 100\n[request]\n\
                        steps = [ { cpu = \"50us\" } ]\n[[server]]\nlabel = \"t\"\n\
                        model = \"thread_per_request\"\nthreads = 4\n";

fn parse(key: &str, value: &str) -> Result<Scenario, ScenarioError> {
    let text = SCENARIO.replace("KEY", key).replace("VALUE", value);
    Scenario::parse(&text, Path::new("w.toml"))
}

#[test]
fn wakeup_cpu_is_read_as_a_duration_like_the_other_duration_keys() {
    let scenario = parse("wakeup_cpu", "\"11us\"").unwrap();
    let configs = scenario.run_configs(&Overrides::default()).unwrap();
    assert_eq!(configs[0].costs.wakeup_cpu, 11 * US);
    let scenario = parse("idle_wakeup_cpu", "\"11us\"").unwrap();
    let configs = scenario.run_configs(&Overrides::default()).unwrap();
    assert_eq!(configs[0].costs.wakeup_cpu, 0, "off unless set");

    // A bad value is the same located error as for idle_wakeup_cpu, naming this key.
    for bad in ["\"-11us\"", "\"fast\"", "11", "\"11KiB\""] {
        let error = |key: &str| match parse(key, bad) {
            Err(ScenarioError::At {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("{key} = {bad}: expected a located error, got {other:?}"),
        };
        let (line, column, message) = error("wakeup_cpu");
        let (idle_line, idle_column, idle_message) = error("idle_wakeup_cpu");
        assert_eq!(line, idle_line, "{bad}: {message}");
        assert_eq!(line, 5, "{bad}: {message}");
        assert_eq!(column + 5, idle_column, "{bad}: {message}");
        assert_eq!(
            message,
            idle_message.replace("idle_wakeup_cpu", "wakeup_cpu"),
            "{bad}"
        );
    }

    // It describes the machine: a server may not set its own.
    let text = SCENARIO
        .replace("KEY = VALUE\n", "")
        .replace("label = \"t\"\n", "label = \"t\"\nwakeup_cpu = \"11us\"\n");
    match Scenario::parse(&text, Path::new("w.toml")) {
        Err(ScenarioError::At { message, .. }) => {
            assert!(message.contains("wakeup_cpu"), "{message}")
        }
        other => panic!("expected a located error, got {other:?}"),
    }
}
