//! Properties that hold on every run, checked on many small random configurations (proptest,
//! few cases, short runs), plus the errors a bad configuration must produce.

use proptest::prelude::*;
use sim::config::{
    Arrivals, Balance, Model, Pool, Proxy, RunConfig, Step, StepKind, Stop, Threads, TraceRow,
    Warmup,
};
use sim::cost::Interruptions;
use sim::dist::Dist;
use sim::{SimError, simulate, simulate_replications};

use crate::{cooperative, cpu, open};

fn model(kind: u8, n: u64, flag: bool, quantum: u64) -> Model {
    match kind {
        0 => Model::ThreadPerRequest {
            threads: if flag {
                Threads::Unbounded
            } else {
                Threads::Fixed(n)
            },
            quantum: if quantum.is_multiple_of(2) {
                None
            } else {
                Some(quantum)
            },
            backlog: if n.is_multiple_of(3) { Some(n) } else { None },
            processes: 1 + n % 2,
            gil: n % 4 == 1,
            gil_switch_interval: 5_000_000,
            keepalive: flag,
            keepalive_requests: None,
        },
        1 => Model::Preemptive {
            workers: n,
            quantum,
        },
        _ => Model::Cooperative {
            loops: n,
            balance: if flag {
                Balance::Affinity
            } else {
                Balance::Shared
            },
            offload: if n.is_multiple_of(2) { Some(n) } else { None },
            lifo_slot: !flag,
            timer_thread: n.is_multiple_of(3) && !flag,
        },
    }
}

prop_compose! {
    fn step()(kind in 0u8..3, mean in 10_000u64..2_000_000, pool in any::<bool>(),
              parallel in 1u32..4, exp in any::<bool>()) -> Step {
        let duration = if exp { Dist::Exp { mean } } else { Dist::Const(mean) };
        match kind {
            0 => Step { kind: StepKind::Cpu, duration, pool: None, parallel: 1, blocking: false, working_set: 0 },
            1 => Step {
                kind: StepKind::Io, duration, pool: pool.then_some(0), parallel, blocking: false, working_set: 0,
            },
            _ => Step { kind: StepKind::Io, duration, pool: None, parallel: 1, blocking: true, working_set: 0 },
        }
    }
}

prop_compose! {
    fn config()(kind in 0u8..3, n in 1u64..6, flag in any::<bool>(), quantum in 50_000u64..5_000_000,
                cores in 1u64..5, steps in prop::collection::vec(step(), 1..4),
                closed_loop in any::<bool>(), rate in 50.0f64..3_000.0, clients in 1u64..40,
                switch in 0u64..20_000, proxy in any::<bool>(), maxconn in 0u64..20,
                seed in any::<u64>(), noise in 0u64..3) -> RunConfig {
        let mut cfg = open(rate, 2_000, cores, steps, model(kind, n, flag, quantum));
        cfg.seed = seed;
        cfg.pools = vec![Pool { name: "db".into(), size: 1 + n % 3 }];
        if closed_loop {
            cfg.load.arrivals = Arrivals::Closed { concurrency: clients, think: Dist::Exp { mean: 1_000_000 } };
        }
        cfg.costs.thread_switch = switch;
        cfg.costs.thread_wakeup = 2 * switch;
        cfg.costs.task_switch = switch / 10;
        cfg.costs.coroutine_switch = switch / 8;
        cfg.costs.thread_spawn = switch * 5;
        cfg.costs.task_spawn = switch / 20;
        cfg.costs.thread_memory = 20_000;
        cfg.costs.task_memory = 400;
        cfg.load.rtt = switch * 3;
        if noise > 0 {
            // Interruptions of 30 µs and, on some runs, a few of several milliseconds.
            let bins = [(30_000, 300.0), (noise * 3_000_000, 2.0)];
            cfg.costs.interruptions = Interruptions::new(&bins[..noise as usize]).unwrap();
        }
        if proxy {
            cfg.server.proxy = Some(Proxy { cpu: Dist::Exp { mean: 20_000 } });
        }
        if maxconn > 0 {
            cfg.load.maxconn = Some(maxconn);
        }
        // A budget, not a bound on what is valid: an overloaded thread-per-request server with
        // the GIL on one core (every waiter's timed wait, under EEVDF's wake-up preemption)
        // runs to many millions of events, minutes under the ci profile. Such runs stop at
        // the limit, and the tests below accept that stop.
        cfg.max_events = 2_000_000;
        cfg
    }
}

fn without_wall_time(mut r: sim::Report) -> String {
    r.wall_seconds = 0.0;
    serde_json::to_string(&r).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_run_keeps_the_books(cfg in config()) {
        let r = match simulate(&cfg) {
            Ok(r) => r,
            Err(SimError::TooManyEvents { .. }) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let a = &r.audit;
        // Every request sent completed, was dropped, or (closed loop, stopped mid-flight) is
        // still inside; an open loop drains before it stops.
        prop_assert_eq!(a.sent, a.completed + a.dropped + a.in_flight);
        match cfg.load.arrivals {
            Arrivals::Closed { concurrency, .. } => prop_assert!(a.in_flight <= concurrency),
            _ => prop_assert_eq!(a.in_flight, 0),
        }
        // Nobody finishes before arriving plus their own demand.
        prop_assert!(a.min_slack_ns >= 0, "slack {}", a.min_slack_ns);
        // A core never runs two threads at once, and its time adds up.
        prop_assert_eq!(a.core_overlaps, 0);
        let c = &r.cpu;
        let shares = [c.useful, c.switching, c.refill, c.idle_wakeup, c.interrupted, c.idle];
        prop_assert!(shares.iter().all(|&s| s >= 0.0), "{:?}", c);
        prop_assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{:?}", c);
        if cfg.costs.interruptions.is_empty() {
            prop_assert_eq!(c.interrupted, 0.0);
        }
        prop_assert!(r.peak_memory_bytes as f64 >= r.mean_memory_bytes - 1e-6);
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes(cfg in config()) {
        match (simulate(&cfg), simulate(&cfg)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(without_wall_time(a), without_wall_time(b)),
            // Stopped at the event budget: at the same point both times.
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "one run failed, the other not: {:?} / {:?}", a.err(), b.err()),
        }
    }
}

#[test]
fn replications_combine_and_one_replication_is_a_plain_run() {
    let cfg = open(
        700.0,
        20_000,
        1,
        vec![cpu(Dist::Exp { mean: 1_000_000 })],
        cooperative(1),
    );
    let single = simulate(&cfg).unwrap();
    let one = simulate_replications(&cfg, 1, &|_| {}).unwrap();
    assert_eq!(without_wall_time(single.clone()), without_wall_time(one));
    let progress = std::sync::Mutex::new(Vec::new());
    let four = simulate_replications(&cfg, 4, &|f| progress.lock().unwrap().push(f)).unwrap();
    assert_eq!(four.replications, 4);
    assert_eq!(four.completed, 4 * single.completed);
    assert!(four.latency_ms.mean_ci95_low < four.latency_ms.mean);
    assert!(four.latency_ms.mean < four.latency_ms.mean_ci95_high);
    let seen = progress.into_inner().unwrap();
    assert!(seen.iter().all(|f| (0.0..=1.0).contains(f)));
    assert!(
        seen.contains(&1.0),
        "the last replication to finish reports 1.0"
    );
    // Same seed, same combined bytes.
    let again = simulate_replications(&cfg, 4, &|_| {}).unwrap();
    assert_eq!(without_wall_time(four), without_wall_time(again));
}

#[track_caller]
fn invalid(cfg: &RunConfig, needle: &str) {
    match simulate(cfg) {
        Err(SimError::Invalid(message)) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            assert_eq!(sim::validate(cfg), Err(SimError::Invalid(message)));
        }
        other => panic!("expected an invalid-parameter error, got {other:?}"),
    }
}

#[test]
fn bad_parameters_are_errors_that_say_what_to_fix() {
    let good = open(
        100.0,
        1_000,
        1,
        vec![cpu(Dist::Const(1_000))],
        cooperative(1),
    );
    assert!(sim::validate(&good).is_ok());

    let mut c = good.clone();
    c.cores = 0;
    invalid(&c, "cores = 0");
    c.cores = 4096;
    invalid(&c, "1 to 1024");

    let mut c = good.clone();
    c.load.arrivals = Arrivals::Open { rate: -5.0 };
    invalid(&c, "positive");
    c.load.arrivals = Arrivals::Open { rate: f64::NAN };
    invalid(&c, "positive");

    let mut c = good.clone();
    c.steps[0].pool = Some(0);
    invalid(&c, "[pools]");

    let mut c = good.clone();
    c.server.model = cooperative(0);
    invalid(&c, "loops = 0");

    let mut c = good.clone();
    c.load.warmup = Warmup::Requests(1_000);
    invalid(&c, "warm-up");

    let mut c = good.clone();
    c.steps.clear();
    invalid(&c, "no steps");

    let mut c = good.clone();
    c.server.model = Model::Preemptive {
        workers: 1,
        quantum: 0,
    };
    invalid(&c, "quantum = 0");

    assert!(matches!(
        simulate_replications(&good, 0, &|_| {}),
        Err(SimError::Invalid(_))
    ));
}

#[test]
fn a_run_past_its_event_budget_stops_with_an_error() {
    // Overloaded (rho = 2) with a duration stop 36 s away (at least 144,000 events, within 10x
    // of the budget so the run starts): the budget ends it, not a hang.
    let mut c = open(
        2_000.0,
        1_000,
        1,
        vec![cpu(Dist::Const(1_000_000))],
        cooperative(1),
    );
    c.load.stop = Stop::Duration(36_000_000_000);
    c.load.warmup = Warmup::Duration(0);
    c.max_events = 100_000;
    match simulate(&c) {
        Err(SimError::TooManyEvents { events, at_seconds }) => {
            assert_eq!(events, 100_000);
            assert!(at_seconds > 0.0 && at_seconds < 36.0);
        }
        other => panic!("expected TooManyEvents, got {other:?}"),
    }
}

#[test]
fn core_time_after_the_last_answer_stays_inside_the_window() {
    // Two requests at 0 on one core with two event loops: loop 0 serves both (1 ms each), then
    // loop 1, woken for the second request, gets the core (a 1 ms context switch) and finds
    // nothing to do. That switch happens after the last answer; the run's window must cover
    // it, or useful + switching exceeds the window (the split summed to 1.5).
    let mut c = open(1.0, 2, 1, vec![cpu(Dist::Const(1_000_000))], cooperative(2));
    c.load.arrivals = Arrivals::Trace {
        rows: vec![
            sim::config::TraceRow {
                offset: 0,
                steps: None,
            };
            2
        ],
    };
    c.load.warmup = Warmup::Requests(0);
    c.costs.thread_switch = 1_000_000;
    let r = simulate(&c).unwrap();
    assert_eq!(r.completed, 2);
    // Exact: the run ends when the machine goes quiet at 3 ms.
    assert!((r.cpu.useful - 2.0 / 3.0).abs() < 1e-9, "{:?}", r.cpu);
    assert!((r.cpu.switching - 1.0 / 3.0).abs() < 1e-9, "{:?}", r.cpu);
    assert!(r.cpu.idle.abs() < 1e-9, "{:?}", r.cpu);
    assert!((r.simulated_seconds - 0.003).abs() < 1e-12);
}

fn wide_dist(k: u8, m: u64) -> Dist {
    match k % 5 {
        0 => Dist::Const(m),
        1 => Dist::Exp { mean: m },
        2 => Dist::Uniform { lo: 0, hi: m },
        3 => Dist::LogNormal {
            median: m.max(1),
            // Every seventh a heavy tail (p99 a million times the median).
            p99: m.max(1) * if m.is_multiple_of(7) { 1_000_000 } else { 20 },
        },
        _ => Dist::Bimodal {
            short: 0,
            long: m,
            p_long: 0.1,
        },
    }
}

prop_compose! {
    fn wide_step()(kind in 0u8..3, dk in 0u8..5, mean in 0u64..3_000_000, pool in any::<bool>(),
              parallel in 1u32..4) -> Step {
        let duration = wide_dist(dk, mean);
        match kind {
            0 => Step { kind: StepKind::Cpu, duration, pool: pool.then_some(0), parallel: 1, blocking: false, working_set: 0 },
            1 => Step { kind: StepKind::Io, duration, pool: pool.then_some(0), parallel, blocking: false, working_set: 0 },
            _ => Step { kind: StepKind::Io, duration, pool: pool.then_some(0), parallel, blocking: true, working_set: 0 },
        }
    }
}

prop_compose! {
    fn wide_config()(kind in 0u8..3, n in 1u64..6, flag in any::<bool>(), flag2 in any::<bool>(), quantum in 1u64..5_000_000,
                cores in 1u64..9, steps in prop::collection::vec(wide_step(), 1..4),
                arr in 0u8..4, rate in 50.0f64..3_000.0, clients in 1u64..40,
                switch in 0u64..200_000, proxy in any::<bool>(), maxconn in 0u64..20,
                seed in any::<u64>(), dur in any::<bool>(), wk in 0u8..3, bk in 0u64..4, ka in any::<bool>(),
                noise in 0u64..3) -> RunConfig {
        let model = match kind {
            0 => Model::ThreadPerRequest {
                threads: if flag { Threads::Unbounded } else { Threads::Fixed(n) },
                quantum: if flag2 { None } else { Some(quantum) },
                backlog: if bk > 0 { Some(bk - 1) } else { None },
                processes: 1 + n % 3, gil: flag2, gil_switch_interval: 5_000_000, keepalive: ka,
                keepalive_requests: if ka && n % 2 == 0 { Some(1 + n % 5) } else { None },
            },
            1 => Model::Preemptive { workers: n, quantum },
            _ => Model::Cooperative { loops: n, balance: if flag { Balance::Affinity } else { Balance::Shared },
                offload: if flag2 { Some(n) } else { None }, lifo_slot: !flag,
                timer_thread: n % 3 == 1 && !flag },
        };
        // One run in eight on a big machine.
        let cores = if cores == 8 { 64 } else { cores };
        let mut cfg = open(rate, 1_000, cores, steps, model);
        if !dur && wk == 1 { cfg.load.warmup = Warmup::Duration(20_000_000); }
        cfg.seed = seed;
        cfg.pools = vec![Pool { name: "db".into(), size: 1 + n % 3 }];
        match arr {
            0 => {}
            1 => cfg.load.arrivals = Arrivals::Closed { concurrency: clients, think: Dist::Exp { mean: 1_000_000 } },
            2 => cfg.load.arrivals = Arrivals::Connections { connections: clients * 10, interval: Dist::Exp { mean: 50_000_000 }, broadcast_at: Some(100_000_000) },
            _ => cfg.load.arrivals = Arrivals::Trace { rows: (0..200u64).map(|i| TraceRow { offset: i * 1_000_000 / (1 + n), steps: None }).collect() },
        }
        if dur || arr == 2 {
            cfg.load.stop = Stop::Duration(300_000_000);
            cfg.load.warmup = match wk { 0 => Warmup::Duration(0), 1 => Warmup::Duration(50_000_000), _ => Warmup::Requests(100) };
        }
        cfg.costs.thread_switch = switch;
        cfg.costs.thread_wakeup = 2 * switch;
        cfg.costs.task_switch = switch / 10;
        cfg.costs.coroutine_switch = switch / 8;
        cfg.costs.thread_spawn = switch * 5;
        cfg.costs.task_spawn = switch / 20;
        cfg.costs.thread_memory = 20_000;
        cfg.costs.task_memory = 400;
        cfg.costs.process_memory = 1000;
        cfg.load.rtt = switch * 3;
        if noise > 0 {
            // Interruptions of 30 µs and, on some runs, a few of several milliseconds.
            let bins = [(30_000, 300.0), (noise * 3_000_000, 2.0)];
            cfg.costs.interruptions = Interruptions::new(&bins[..noise as usize]).unwrap();
        }
        if proxy { cfg.server.proxy = Some(Proxy { cpu: Dist::Exp { mean: 20_000 } }); }
        if maxconn > 0 { cfg.load.maxconn = Some(maxconn); }
        cfg.max_events = 5_000_000;
        cfg
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// Wider than `every_run_keeps_the_books`: durations of zero and heavy tails, duration
    /// stops with either warm-up, traces, long-lived connections with a broadcast, backlogs,
    /// keep-alive, tiny quanta, 64 cores, and runs that hit their event budget.
    #[test]
    fn wider_runs_keep_the_books(cfg in wide_config()) {
        let r = match simulate(&cfg) {
            Ok(r) => r,
            Err(SimError::TooManyEvents { .. }) => return Ok(()),
            Err(e) => panic!("{e}"),
        };
        let a = &r.audit;
        prop_assert_eq!(a.sent, a.completed + a.dropped + a.in_flight);
        prop_assert!(a.min_slack_ns >= 0, "slack {}", a.min_slack_ns);
        prop_assert_eq!(a.core_overlaps, 0);
        let c = &r.cpu;
        let shares = [c.useful, c.switching, c.refill, c.idle_wakeup, c.interrupted, c.idle];
        prop_assert!(shares.iter().all(|&s| s >= 0.0), "{:?}", c);
        prop_assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{:?}", c);
        if cfg.costs.interruptions.is_empty() {
            prop_assert_eq!(c.interrupted, 0.0);
        }
        prop_assert!(c.useful + c.switching <= 1.0 + 1e-9, "{:?}", c);
        prop_assert!(r.peak_memory_bytes as f64 >= r.mean_memory_bytes - 1e-6);
        // Nothing completed (or no broadcast message, under a broadcast): no latency at all
        // (null in JSON), never a 0 that reads like a measurement.
        let l = &r.latency_ms;
        if r.completed == 0 || !l.is_measured() {
            prop_assert!(
                [l.mean, l.mean_ci95_low, l.mean_ci95_high, l.p50, l.p99, l.max].iter().all(|v| v.is_nan()),
                "completed {} {:?}", r.completed, l
            );
        } else {
            prop_assert!(l.mean_ci95_low <= l.mean + 1e-9, "{:?}", l);
        }
    }
}
