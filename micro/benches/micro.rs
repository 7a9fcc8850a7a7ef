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
        // Criterion's default 100,000 bootstrap resamples took about 20 s of analysis per
        // benchmark on this loaded 2-vCPU VM; 10,000 give the same 95 % interval to a few %.
        .nresamples(10_000)
}

// The indirect cost of a switch (issue 12): working set, runnable threads, background load.

/// Largest random-order working set benched. The grid goes to 4 x the last-level cache, but
/// on this VM (L3 reported as 260 MiB) a random line beyond L2 costs 0.3-1.8 us, so one walk of
/// 4 x L3 takes about 30 s and Criterion's ten samples would take many minutes; 16 MiB is 8 x
/// L2 and already far past the level where the curve turns. `calibrate` goes further when its
/// budget allows.
const MAX_RANDOM_BYTES: u64 = 16 << 20;
/// Largest sequential working set benched: the same limit, so the two curves compare.
const MAX_SEQUENTIAL_BYTES: u64 = MAX_RANDOM_BYTES;

fn indirect_config(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    // Ten flat samples: a large working set makes one iteration long, and the suite must
    // stay under 4 minutes.
    group
        .sample_size(10)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(600))
        // 57 benchmarks' analyses (bootstrap, gnuplot) take much of the suite's time; 10k
        // resamples still give a stable 95 % interval from 10 samples.
        .nresamples(10_000);
}

/// The working sets the benches measure: 0, half of each cache level (inside it) and twice it
/// (just past it), and the limit. `calibrate` measures the full grid (every power of 4, every
/// power of 2 from half the L1d to twice the L2, and each level's half, size and double, up to
/// 4 × L3); the benches keep one point on each side
/// of every level so the suite stays under 4 minutes (issue 12's budget).
fn bench_points(sizes: &micro::cache::CacheSizes, max: u64) -> Vec<u64> {
    let mut points = vec![0, max];
    for level in [sizes.l1d, sizes.l2, sizes.l3].into_iter().flatten() {
        points.extend([level / 2, 2 * level]);
    }
    if sizes.l1d.is_none() {
        // No sysfs: the grid's powers of 4.
        points.extend(micro::indirect::grid(sizes, max));
    }
    points.retain(|&bytes| bytes <= max);
    points.sort_unstable();
    points.dedup();
    points
}

fn working_sets(c: &mut Criterion) {
    use micro::cache::{CacheSizes, Order};
    let sizes = CacheSizes::read();
    for (group_name, order, max) in [
        ("switch_working_set", Order::Random, MAX_RANDOM_BYTES),
        (
            "switch_working_set_seq",
            Order::Sequential,
            MAX_SEQUENTIAL_BYTES,
        ),
    ] {
        let mut group = c.benchmark_group(group_name);
        indirect_config(&mut group);
        let points = bench_points(&sizes, max);
        eprintln!(
            "{group_name}: {} working sets up to {max} bytes (the bench's limit, see MAX_*_BYTES; calibrate measures the full grid)",
            points.len()
        );
        for &bytes in &points {
            group.bench_function(bytes.to_string(), |b| {
                b.iter_custom(|switches| {
                    let rounds = micro::ring::rounds_for(switches, 2);
                    // Beyond L2 one walk takes milliseconds and a sample may be one round, so
                    // another process's slice can leave the baseline longer than the pair: a
                    // run with no net time is measured again (Criterion rejects a zero). If
                    // all tries fail, the zero goes through and Criterion reports this point
                    // as unmeasurable.
                    let run = || {
                        or_die(
                            group_name,
                            micro::ring::ring(2, bytes as usize, order, rounds),
                        )
                        .time_for(switches)
                    };
                    let mut net = run();
                    for _ in 0..4 {
                        if net > Duration::ZERO {
                            break;
                        }
                        net = run();
                    }
                    net
                })
            });
        }
        group.finish();
    }
}

fn runnable(c: &mut Criterion) {
    for (group_name, bytes) in [
        ("switch_runnable", 0),
        ("switch_runnable_64kib", micro::indirect::RUNNABLE_BYTES),
    ] {
        let mut group = c.benchmark_group(group_name);
        indirect_config(&mut group);
        // Four points from 2 to 1,024 (calibrate measures every power of 2).
        for threads in [2usize, 16, 128, 1024] {
            group.bench_function(threads.to_string(), |b| {
                b.iter_custom(|switches| {
                    let rounds = micro::ring::rounds_for(switches, threads);
                    let ring =
                        micro::ring::ring(threads, bytes, micro::cache::Order::Random, rounds);
                    or_die(group_name, ring).time_for(switches)
                })
            });
        }
        group.finish();
    }
}

fn background(c: &mut Criterion) {
    // One iteration is one round trip beside k CPU-bound threads: the waits for their time
    // slices included, so this is latency, not CPU (calibrate reports both).
    let hog_bytes = micro::cache::CacheSizes::read()
        .l2
        .map_or(8 << 20, |l2| 4 * l2) as usize;
    let mut group = c.benchmark_group("switch_background");
    indirect_config(&mut group);
    for hogs in [0usize, 1, 4] {
        group.bench_function(hogs.to_string(), |b| {
            b.iter_custom(|round_trips| {
                let run = micro::background::ping_pong_beside(
                    hogs,
                    hog_bytes,
                    round_trips,
                    Duration::from_secs(3600),
                );
                or_die("switch_background", run).round_trips.iter().sum()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = adds, thread_switches, task_switches, spawns, working_sets, runnable, background
}
criterion_main!(benches);
