//! The mapping's tests: scenario text, overheads, and the figures read back.

use super::*;
use crate::point::LoadWait;
use crate::workload::Workload;

fn costs() -> Costs {
    Costs {
        source: "test".into(),
        toml: "[costs]\nthread_switch = \"2us\"\ncoroutine_switch = \"150ns\"\n".into(),
    }
}

fn point(server: ServerKind, concurrency: u32, steps: &str) -> Point {
    Point {
        server,
        cores: 1,
        concurrency,
        rate: None,
        keepalive: true,
        workload: steps.parse::<Workload>().unwrap(),
        requests: 2000,
        duration_s: 5.0,
        warmup_s: 1.0,
        load_wait: LoadWait::Block,
    }
}

#[test]
fn every_kind_builds_a_scenario_sim_accepts() {
    for kind in ServerKind::ALL {
        for keepalive in [true, false] {
            let mut p = point(kind, 10, "cpu=50us,sleep=1ms");
            p.keepalive = keepalive;
            let f = predict(&p, &costs(), Duration::from_micros(30)).unwrap();
            assert!(f.rps.unwrap() > 0.0, "{kind}");
            assert!(f.p99_ms.unwrap() >= f.p50_ms.unwrap(), "{kind}");
        }
    }
}

#[test]
fn a_run_that_completed_nothing_predicts_no_latency() {
    let report = Report {
        latency_ms: sim::report::LatencyMs::none(),
        ..Report::default()
    };
    let f = figures(&report, 250);
    assert_eq!(
        (f.p50_ms, f.p90_ms, f.p99_ms, f.p999_ms),
        (None, None, None, None)
    );
    assert_eq!(f.cpu_ms_per_request, None);
}

#[test]
fn predicted_timer_interrupts_add_the_tick_of_the_predicted_cpu() {
    // 0.4 interrupts per request ending timed waits; one core 50 % busy at 10,000 rps is
    // 50 us of CPU per request, which at 250 Hz takes 0.0125 ticks.
    let report = Report {
        throughput_rps: 10_000.0,
        cpu_utilization: 0.5,
        cores: 1,
        timer_interrupts_per_request: 0.4,
        ..Report::default()
    };
    let f = figures(&report, 250);
    let n = f.timer_interrupts_per_request.unwrap();
    assert!((n - 0.4125).abs() < 1e-12, "{n}");
}

#[test]
fn overhead_is_split_around_the_steps_and_merged_with_cpu() {
    let p = point(ServerKind::Threads, 1, "cpu=50us,sleep=10ms");
    let s: Vec<(bool, Duration, bool)> = steps(&p, Duration::from_micros(20))
        .into_iter()
        .map(|s| (s.cpu, s.duration, s.walks))
        .collect();
    assert_eq!(
        s,
        vec![
            (true, Duration::from_micros(60), true),
            (false, Duration::from_millis(10), false),
            (true, Duration::from_micros(10), false),
        ]
    );
}

#[test]
fn one_cpu_bound_loop_serves_one_over_its_cpu() {
    // cpu 100us + overhead 100us on one loop: 5,000 requests/s at most.
    let p = point(ServerKind::Tokio1, 10, "cpu=100us");
    let f = predict(&p, &costs(), Duration::from_micros(100)).unwrap();
    let rps = f.rps.unwrap();
    assert!(rps > 4500.0 && rps <= 5000.0, "{rps}");
    let cpu = f.cpu_ms_per_request.unwrap();
    assert!((cpu - 0.2).abs() < 0.02, "{cpu}");
}

#[test]
fn the_working_set_rides_on_the_handlers_cpu_steps_only() {
    let mut p = point(ServerKind::Threads, 10, "cpu=200us,sleep=5ms");
    p.workload.working_set = 1 << 20;
    let text = scenario_toml(&p, &costs(), Duration::from_micros(40));
    let walking: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("working_set = \"1048576B\""))
        .collect();
    // The step with the handler's 200 us (and the overhead's first half), not the last half.
    assert_eq!(
        walking,
        vec!["  { cpu = \"220000ns\", working_set = \"1048576B\" },"]
    );
    assert!(text.contains("  { cpu = \"20000ns\" },"), "{text}");
    let f = predict(&p, &costs(), Duration::from_micros(40)).unwrap();
    assert!(f.rps.unwrap() > 0.0);
}

#[test]
fn the_load_generators_wakeup_is_the_scenarios_round_trip() {
    let with_exit = Costs {
        source: "test".into(),
        toml: "[costs]\nidle_exit_latency = \"25.3us\"\n".into(),
    };
    let one = point(ServerKind::Threads, 1, "cpu=50us");
    assert!(scenario_toml(&one, &with_exit, Duration::ZERO).contains("rtt = \"25300ns\""));
    assert!(scenario_toml(&one, &costs(), Duration::ZERO).contains("rtt = \"0ns\""));
    // At one connection the round trip is outside the server: it lowers throughput by
    // what it adds to each cycle.
    let with = predict(&one, &with_exit, Duration::ZERO).unwrap();
    let without = predict(&one, &costs(), Duration::ZERO).unwrap();
    let (a, b) = (with.rps.unwrap(), without.rps.unwrap());
    assert!(a < b * 0.8, "{a} vs {b}");
    // A spinning load generator sends the next request at once: no round trip.
    let spun = Point {
        load_wait: LoadWait::Spin,
        ..one
    };
    assert!(scenario_toml(&spun, &with_exit, Duration::ZERO).contains("rtt = \"0ns\""));
}

#[test]
fn only_the_network_wakeup_is_taken_out_of_the_overhead() {
    let with_idle = Costs {
        source: "test".into(),
        toml: "[costs]\nidle_wakeup_cpu = \"15us\"\n".into(),
    };
    let overhead = Duration::from_micros(40);
    // The core's idle exit was never in the server's /proc CPU: nothing to take out.
    assert_eq!(
        steady_overhead(overhead, &with_idle, LoadWait::Block),
        overhead
    );
    assert_eq!(
        steady_overhead(overhead, &costs(), LoadWait::Block),
        overhead
    );
    // A blocking client 20 us away: the core halts at one connection.
    let with_both = Costs {
        source: "test".into(),
        toml: "[costs]\nidle_wakeup_cpu = \"15us\"\nwakeup_cpu = \"11us\"\n\
               idle_exit_latency = \"20us\"\n"
            .into(),
    };
    assert_eq!(
        steady_overhead(overhead, &with_both, LoadWait::Block),
        Duration::from_micros(29)
    );
    assert_eq!(
        steady_overhead(Duration::from_micros(10), &with_both, LoadWait::Block),
        Duration::ZERO
    );
    // The same client, but the core halts only after 25 us in the idle loop: sim wakes it
    // before the halt, charges no wake-up, and the overhead stays whole.
    let late_halt = Costs {
        source: "test".into(),
        toml: format!("{}halt_after = \"25us\"\n", with_both.toml),
    };
    assert_eq!(
        steady_overhead(overhead, &late_halt, LoadWait::Block),
        overhead
    );
    // A blocking client at no distance (no idle_exit_latency): sim never halts the core at
    // one connection and charges no wake-up there, so nothing is taken out either, and the
    // prediction keeps the whole measured overhead.
    let no_exit = Costs {
        source: "test".into(),
        toml: "[costs]\nwakeup_cpu = \"11us\"\n".into(),
    };
    assert_eq!(
        steady_overhead(overhead, &no_exit, LoadWait::Block),
        overhead
    );
    let f = predict(
        &point(ServerKind::Threads, 1, "cpu=50us"),
        &no_exit,
        overhead,
    )
    .unwrap();
    let cpu_us = f.cpu_ms_per_request.unwrap() * 1e3;
    assert!((cpu_us - 90.0).abs() < 0.5, "{cpu_us}");
    // Answering a spinning client, the server's core seldom halted: nothing to take out.
    assert_eq!(
        steady_overhead(overhead, &with_both, LoadWait::Spin),
        overhead
    );
    let text = scenario_toml(
        &point(ServerKind::Tokio1, 10, "cpu=100us"),
        &with_both,
        overhead,
    );
    // 29 us around the step, all of it merged with the step's 100 us into one burst.
    assert!(text.contains("{ cpu = \"129000ns\" }"), "{text}");
}

#[test]
fn the_simulated_cpu_per_request_is_the_server_threads_alone() {
    // One connection, one thread, a blocking load generator 20 us away: the core halts
    // before every request. sim charges the idle exit as core time, but the prediction's CPU
    // per request leaves it out, as /proc does; the thread's own wake-up onto the halted core
    // stays in.
    let p = point(ServerKind::Threads, 1, "cpu=50us");
    let both = Costs {
        source: "test".into(),
        toml: "[costs]\nidle_wakeup_cpu = \"15us\"\nwakeup_cpu = \"11us\"\n\
               idle_exit_latency = \"20us\"\n"
            .into(),
    };
    let overhead = Duration::from_micros(40);
    let f = predict(&p, &both, overhead).unwrap();
    let cpu_us = f.cpu_ms_per_request.unwrap() * 1e3;
    // 50 us of work + the measured 40 us (29 us steady + the 11 us wake-up sim charges).
    assert!((cpu_us - 90.0).abs() < 0.5, "{cpu_us}");

    // A spinning load generator: the next request comes the instant the answer left, the
    // core never halts, and the overhead is charged as measured: 50 + 40 us, whether the
    // server blocks for each request (threads at one connection) or never (a loop at ten).
    for (kind, concurrency) in [(ServerKind::Threads, 1), (ServerKind::Tokio1, 10)] {
        let spun = Point {
            load_wait: LoadWait::Spin,
            ..point(kind, concurrency, "cpu=50us")
        };
        let f = predict(&spun, &both, overhead).unwrap();
        let cpu_us = f.cpu_ms_per_request.unwrap() * 1e3;
        assert!(
            (cpu_us - 90.0).abs() < 0.5,
            "{kind} x {concurrency}: {cpu_us}"
        );
    }
}

#[test]
fn may_switches_coroutines_at_their_calibrated_cost() {
    let text = scenario_toml(
        &point(ServerKind::May, 10, "cpu=50us"),
        &costs(),
        Duration::ZERO,
    );
    assert!(text.contains("task_switch = \"150ns\""), "{text}");
    assert!(text.contains("model = \"cooperative\""));
    // Its sleeps end on its timer thread; tokio's on the loop's own timer wheel.
    assert!(text.contains("timer_thread = true"), "{text}");
    let tokio = scenario_toml(
        &point(ServerKind::Tokio1, 10, "cpu=50us,sleep=1ms"),
        &costs(),
        Duration::ZERO,
    );
    assert!(!tokio.contains("timer_thread"), "{tokio}");
}

#[test]
fn costs_files_keep_only_their_costs_table() {
    let t = costs_table("# c\n[costs]\nthread_switch = \"1us\"\n[other]\nx = 1\n").unwrap();
    assert!(t.contains("thread_switch"));
    assert!(!t.contains("other"));
    assert!(costs_table("[x]\n").is_err());
}

#[test]
fn a_spinning_clients_counted_halts_come_out_of_the_overhead_and_back_as_pauses() {
    let costs = Costs {
        source: "test".into(),
        toml: "[costs]\nidle_wakeup_cpu = \"15us\"\nwakeup_cpu = \"10us\"\n\
               halt_after = \"3us\"\nbrief_idle_cpu = \"5us\"\n"
            .into(),
    };
    let measured = Baseline {
        overhead: Duration::from_micros(40),
        halts_per_request: Some(0.4),
    };
    // 0.4 of a 10 us wake-up is in the measured 40 us.
    assert_eq!(
        steady_overhead(measured, &costs, LoadWait::Spin),
        Duration::from_micros(36)
    );
    // The pause: exponential, outlasting halt_after (3 us) for 0.4 of the requests.
    let think = client_think(measured, &costs, LoadWait::Spin).unwrap();
    let mean = 3000.0 / (1.0f64 / 0.4).ln();
    assert_eq!(think, format!("exp({mean:.0}ns)"));
    let one = Point {
        load_wait: LoadWait::Spin,
        ..point(ServerKind::Threads, 1, "cpu=50us")
    };
    let text = scenario_toml(&one, &costs, measured);
    assert!(text.contains(&format!("think = \"{think}\"")), "{text}");
    assert!(text.contains("halted for 0.400 of the requests"), "{text}");
    // sim then halts the core for about that share at one connection, and charges the
    // wake-ups back: the thread's CPU per request is 50 + 36 + 0.4 x 10 us again.
    let f = predict(&one, &costs, measured).unwrap();
    let h = f.halts_per_request.unwrap();
    assert!((h - 0.4).abs() < 0.05, "{h}");
    let cpu_us = f.cpu_ms_per_request.unwrap() * 1e3;
    assert!((cpu_us - 90.0).abs() < 1.0, "{cpu_us}");
    // A busy event loop at ten connections never halts: it pays the steady 36 us.
    let ten = Point {
        load_wait: LoadWait::Spin,
        ..point(ServerKind::Tokio1, 10, "cpu=50us")
    };
    let f = predict(&ten, &costs, measured).unwrap();
    let cpu_us = f.cpu_ms_per_request.unwrap() * 1e3;
    assert!((cpu_us - 86.0).abs() < 1.0, "{cpu_us}");
    // A blocking client keeps its own rule, and no counted halts (older files) or no
    // halt_after (sim could not halt the core for a share of the pauses) change nothing.
    assert_eq!(client_think(measured, &costs, LoadWait::Block), None);
    let uncounted = Baseline {
        halts_per_request: None,
        ..measured
    };
    assert_eq!(client_think(uncounted, &costs, LoadWait::Spin), None);
    assert_eq!(
        steady_overhead(uncounted, &costs, LoadWait::Spin),
        measured.overhead
    );
    let no_halt = Costs {
        source: "test".into(),
        toml: "[costs]\nwakeup_cpu = \"10us\"\n".into(),
    };
    assert_eq!(client_think(measured, &no_halt, LoadWait::Spin), None);
    assert_eq!(
        steady_overhead(measured, &no_halt, LoadWait::Spin),
        measured.overhead
    );
    // A core that halted at nearly every request is capped at MAX_SPIN_HALTS.
    let always = Baseline {
        halts_per_request: Some(1.0),
        ..measured
    };
    assert_eq!(
        steady_overhead(always, &costs, LoadWait::Spin),
        Duration::from_micros(31)
    );
    assert!(client_think(always, &costs, LoadWait::Spin).is_some());
}
