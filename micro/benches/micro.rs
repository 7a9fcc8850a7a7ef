//! Criterion wiring for the micro benchmarks; the measured code is in the `micro` library.
//!
//! One iteration is one add, one switch (half a round trip) or one spawn, so Criterion's time
//! per iteration is the cost of one unit.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use micro::{add, affinity, spawn, switch, task};

fn or_die<T>(what: &str, result: Result<T, micro::Error>) -> T {
    result.unwrap_or_else(|error| panic!("{what}: {error}"))
}

fn adds(c: &mut Criterion) {
    let mut group = c.benchmark_group("add");
    group.bench_function("dependent", |b| b.iter_custom(add::dependent));
    group.bench_function("independent", |b| b.iter_custom(add::independent));
    group.finish();
}

fn thread_switches(c: &mut Criterion) {
    let mut group = c.benchmark_group("thread_switch");
    let cores = affinity::cores().len();
    for placement in [
        switch::Placement::SameCore,
        switch::Placement::CrossCore,
        switch::Placement::Unpinned,
    ] {
        if placement == switch::Placement::CrossCore && cores < 2 {
            eprintln!(
                "thread_switch/cross_core skipped: needs 2 cores, this process may use {cores}"
            );
            continue;
        }
        group.bench_function(placement.name(), |b| {
            b.iter_custom(|switches| {
                let run = switch::pipe_ping_pong(placement, switch::round_trips_for(switches));
                or_die(placement.name(), run).time_for(switches)
            })
        });
    }
    if cores >= 2 {
        group.bench_function("spin_handoff", |b| {
            b.iter_custom(|switches| {
                let run = switch::spin_handoff(switch::round_trips_for(switches));
                or_die("spin_handoff", run).time_for(switches)
            })
        });
    } else {
        eprintln!(
            "thread_switch/spin_handoff skipped: needs 2 cores, this process may use {cores}"
        );
    }
    group.finish();
}

fn task_switches(c: &mut Criterion) {
    task::init_may();
    let mut group = c.benchmark_group("task_switch");
    type Run = fn(u64) -> Result<task::TaskRun, micro::Error>;
    let runs: [(&str, Run); 4] = [
        ("may", task::may_yield),
        ("may_channel", task::may_channel),
        ("tokio", task::tokio_notify),
        ("tokio_yield", task::tokio_yield),
    ];
    for (name, run) in runs {
        group.bench_function(name, |b| {
            b.iter_custom(|switches| {
                or_die(name, run(switch::round_trips_for(switches))).time_for(switches)
            })
        });
    }
    group.finish();
}

fn spawns(c: &mut Criterion) {
    task::init_may();
    let mut group = c.benchmark_group("spawn");
    type Run = fn(u64) -> Result<Duration, micro::Error>;
    let runs: [(&str, Run); 4] = [
        ("thread", spawn::thread),
        ("may", spawn::may),
        ("tokio", spawn::tokio),
        ("rayon_join", spawn::rayon_join),
    ];
    for (name, run) in runs {
        group.bench_function(name, |b| b.iter_custom(|count| or_die(name, run(count))));
    }
    group.finish();
}

fn config() -> Criterion {
    // Short enough for the whole suite to stay near a minute on 2 shared cores; the thread
    // benches' confidence intervals show whether that was enough.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = adds, thread_switches, task_switches, spawns
}
criterion_main!(benches);
