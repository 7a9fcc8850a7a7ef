//! The machine's noise (`[costs] interruptions`): each core is taken away as a Poisson process
//! of the given rate, for the given lengths, whatever it runs. Checked against what a Poisson
//! stream of interruptions does to a core in closed form.

use sim::config::{Threads, Warmup};
use sim::cost::Interruptions;
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cooperative, cpu, io, open, threads};

const US: u64 = 1_000;

/// A busy core interrupted at rate λ for d each time works at 1 − λd of its speed: a request
/// of w takes w / (1 − λd) on average, since every interruption that comes while the work or
/// an earlier interruption is under way holds it up (a busy period started by w). Here
/// λd = 2,000/s × 50 µs = 0.1, so 1 ms of work takes 1.111 ms, and the core spends a tenth of
/// its time interrupted.
#[test]
fn a_busy_core_works_at_one_minus_the_interrupted_share() {
    let mut c = closed(
        1,
        20_000,
        1,
        vec![cpu(Dist::Const(1_000 * US))],
        threads(Threads::Fixed(1), None),
    );
    c.costs.interruptions = Interruptions::new(&[(50 * US, 2_000.0)]).unwrap();
    let r = simulate(&c).unwrap();
    close("mean latency (ms)", r.latency_ms.mean, 1.0 / 0.9, 0.01);
    close("interrupted share", r.cpu.interrupted, 0.1, 0.02);
    close("useful share", r.cpu.useful, 0.9, 0.01);
    let sum = r.cpu.useful
        + r.cpu.switching
        + r.cpu.refill
        + r.cpu.idle_wakeup
        + r.cpu.interrupted
        + r.cpu.idle;
    close("the split sums to 1", sum, 1.0, 1e-9);
    close(
        "utilization is the server's own use",
        r.cpu_utilization,
        r.cpu.useful,
        1e-9,
    );
    // The number of interruptions in a request is spread, so the latency is too: at least
    // one more interruption than the mean (2.2) at the 99th percentile.
    assert!(
        r.latency_ms.p99 >= 1.0 + 4.0 * 0.05,
        "p99 {} ms",
        r.latency_ms.p99
    );
    assert!(r.latency_ms.p50 < r.latency_ms.p99);
}

/// An idle core that is interrupted when work arrives starts it when the interruption ends.
/// One request at a time with a 1 ms wait before 100 µs of work: the core is idle when each
/// part arrives. With interruptions of d = 200 µs at λ = 250/s (a share λd = 5 %), a request
/// finds its core taken with probability λd and waits d/2 on average then; during the 100 µs
/// of work it is held up by λ·100 µs·d/(1 − λd). Mean: 1.1 ms + 0.05 × 0.1 ms + 5.26 µs.
#[test]
fn an_interrupted_idle_core_delays_the_wake_up() {
    let steps = vec![io(Dist::Const(1_000 * US)), cpu(Dist::Const(100 * US))];
    let mut c = closed(1, 100_000, 1, steps, threads(Threads::Fixed(1), None));
    c.load.warmup = Warmup::Requests(0);
    c.costs.interruptions = Interruptions::new(&[(200 * US, 250.0)]).unwrap();
    let r = simulate(&c).unwrap();
    let work_held = 250.0 * 100e-6 * 0.2 / 0.95;
    let want = 1.1 + 0.05 * 0.1 + work_held;
    close("mean latency (ms)", r.latency_ms.mean, want, 0.003);
}

/// Same seed, same run; the noise has its own random stream, so the rest of the run (here the
/// arrivals) is drawn alike with and without it. With constant work and one shared FIFO, an
/// interruption can only make later completions later, so the mean latency grows.
#[test]
fn the_noise_is_reproducible_and_leaves_the_other_draws_alone() {
    let run = |noise: bool| {
        let mut c = open(
            3_000.0,
            20_000,
            4,
            vec![cpu(Dist::Const(1_000 * US))],
            cooperative(4),
        );
        if noise {
            c.costs.interruptions = Interruptions::new(&[(30 * US, 300.0)]).unwrap();
        }
        let mut r = simulate(&c).unwrap();
        // The only figure that depends on the host.
        r.wall_seconds = 0.0;
        r
    };
    let (a, b, quiet) = (run(true), run(true), run(false));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert!(
        a.latency_ms.mean > quiet.latency_ms.mean,
        "{} vs {}",
        a.latency_ms.mean,
        quiet.latency_ms.mean
    );
    close("interrupted share", a.cpu.interrupted, 0.009 * 0.75, 0.1);
    // The same requests arrived: the offered load is equal, the work done too.
    close(
        "useful work is the same",
        a.cpu.useful,
        quiet.cpu.useful,
        0.01,
    );
}

/// A drained open loop ends with its last request even though interruptions would go on.
#[test]
fn a_drained_run_still_ends() {
    let mut c = open(
        100.0,
        200,
        2,
        vec![cpu(Dist::Const(100 * US))],
        threads(Threads::Unbounded, None),
    );
    c.costs.interruptions = Interruptions::new(&[(20 * US, 1_000.0)]).unwrap();
    let r = simulate(&c).unwrap();
    assert_eq!(r.completed, 180);
    assert!(r.simulated_seconds < 3.0, "{}", r.simulated_seconds);
}

/// The committed reference with the machine's interruptions and its work quanta, both measured
/// by one `calibrate` run (see `micro/reference/`).
const QUANTA_REFERENCE: &str = "../micro/reference/2026-12-07T0636-epyc-2core-noise.json";

/// The replay against the machine: `calibrate` measured the interruptions (clock jumps, by
/// length) and then fixed work items timed back to back on every core (`work_quantum_ns`).
/// Given only the bins, the simulator predicts the items' spread: how much longer than the work
/// the 90th, 99th and 99.9th percentile items take, each within 25 % or 1 µs of the measured
/// excess (the cache tests' floor), one core running the items back to back. A percentile is
/// held to that only when at least ten measured items lie beyond it; the others are printed.
#[test]
fn the_replayed_interruptions_spread_work_as_the_machine_did() {
    let misses = quanta_misses();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// The points of the reference the replay misses, each with its figures (empty: all pass).
fn quanta_misses() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(QUANTA_REFERENCE);
    let text = std::fs::read_to_string(&path).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bins = Interruptions::from_json(&reference["interruptions"]).unwrap();
    let mut misses = Vec::new();
    for row in reference["work_quantum_ns"].as_array().unwrap() {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let (work, items) = (row[0] as u64, row[1]);
        // Enough items for a p99.9 of a thousand above it.
        let requests = 2_000_000_000 / work;
        let mut c = closed(
            1,
            requests.max(20_000),
            1,
            vec![cpu(Dist::Const(work))],
            threads(Threads::Fixed(1), None),
        );
        c.load.warmup = Warmup::Requests(0);
        c.costs.interruptions = bins;
        let r = simulate(&c).unwrap();
        let l = &r.latency_ms;
        for (what, q, measured, simulated) in [
            ("p90", 0.9, row[3], l.p90 * 1e6),
            ("p99", 0.99, row[4], l.p99 * 1e6),
            ("p99.9", 0.999, row[5], l.p999 * 1e6),
        ] {
            let (m, s) = (measured - row[0], simulated - row[0]);
            let error = (s - m) / m.max(1.0);
            let held = items * (1.0 - q) >= 10.0;
            eprintln!(
                "{} us of work, {what}: measured +{:.1} us, simulated +{:.1} us ({:+.0} %){}",
                work / 1_000,
                m / 1e3,
                s / 1e3,
                error * 100.0,
                if held {
                    ""
                } else {
                    " (too few items beyond it)"
                }
            );
            if held && (s - m).abs() > 1_000.0 && error.abs() > 0.25 {
                misses.push(format!(
                    "{} us of work, {what}: measured +{:.1} us, simulated +{:.1} us ({:+.0} %)",
                    work / 1_000,
                    m / 1e3,
                    s / 1e3,
                    error * 100.0
                ));
            }
        }
    }
    misses
}
