//! Measuring the curves: a ring of threads per point, each point sized to its share of the
//! budget, with the switch counts checked against what the ring should make.

use std::time::{Duration, Instant};

use super::Curve;
use crate::background;
use crate::cache::{self, CacheSizes, Order};
use crate::error::Error;
use crate::ring::{self, RingRun};
use crate::rusage;
use crate::unit;

/// Median of several runs' extra cost per switch, the fastest baseline line time, and the
/// switch counts per hand-off over all runs.
struct Point {
    per_switch_ns: f64,
    /// The fastest run's baseline per hand-off: one walk plus a `write` and a `read`.
    baseline_pass_ns: f64,
    switches_per_pass: f64,
    took: Duration,
    /// Wall time per round, setup and baseline included, over all runs.
    per_round: Duration,
}

/// Runs a ring of `threads` × `bytes` a few times within `slice` (once at least), each run
/// sized from `round_estimate`, the expected time of one round.
fn ring_point(
    threads: usize,
    bytes: usize,
    order: Order,
    slice: Duration,
    round_estimate: Duration,
) -> Result<Point, Error> {
    const RUNS: usize = 3;
    let start = Instant::now();
    let per_run = slice / RUNS as u32;
    // 1,000 rounds (2,000 switches for a pair) give a steady median; more would spend on the
    // cheap small working sets the time the large ones need.
    let rounds =
        (per_run.as_secs_f64() / round_estimate.as_secs_f64().max(1e-7)).clamp(1.0, 1_000.0) as u64;
    let mut runs: Vec<RingRun> = Vec::new();
    while runs.is_empty() || (runs.len() < RUNS && start.elapsed() + per_run < slice) {
        runs.push(ring::ring(threads, bytes, order, rounds)?);
    }
    let per_switch: Vec<f64> = runs.iter().map(RingRun::per_switch_ns).collect();
    let baseline_pass_ns = runs
        .iter()
        .map(|r| r.baseline.as_secs_f64() * 1e9 / r.passes.max(1) as f64)
        .fold(f64::INFINITY, f64::min);
    let (switches, passes) = runs.iter().fold((0.0, 0), |(s, p), r| {
        (s + r.switches.total() as f64, p + r.passes)
    });
    Ok(Point {
        per_switch_ns: crate::estimate::median(&per_switch).unwrap_or(f64::NAN),
        baseline_pass_ns,
        switches_per_pass: switches / passes.max(1) as f64,
        took: start.elapsed(),
        per_round: start.elapsed() / (rounds * runs.len() as u64).max(1) as u32,
    })
}

/// Time for one round of a ring: each thread's walk plus a few µs of switch.
fn round_estimate(threads: usize, bytes: u64, line_ns: f64) -> Duration {
    let walk = (bytes / cache::LINE_BYTES as u64) as f64 * line_ns;
    Duration::from_secs_f64(threads as f64 * (walk + 5_000.0) / 1e9)
}

/// The working-set curve in `order` within `time`: points in ascending size until the next
/// would not fit. Returns the curve, the baseline line latencies and the switches getrusage
/// counted per hand-off at each point of the curve.
pub(super) fn working_set_curve(
    order: Order,
    points: &[u64],
    time: Duration,
    notes: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> (Curve, Curve, Curve) {
    let name = match order {
        Order::Random => "switch_working_set",
        Order::Sequential => "switch_working_set_seq",
    };
    let start = Instant::now();
    let (mut curve, mut latency, mut switches) = (Vec::new(), Vec::new(), Vec::new());
    // A guess until the first walk is timed; each point then predicts the next from its own
    // line time, doubled because a larger set may come from a slower level.
    let mut line_ns = 2.0;
    // The W = 0 point's baseline is the system calls alone; a line's time is what a walk
    // adds to it.
    let mut syscalls_ns = None;
    // The last point's real time per round (refill included), to scale to the next size.
    let mut last: Option<(u64, Duration)> = None;
    for (i, &bytes) in points.iter().enumerate() {
        let left = time.saturating_sub(start.elapsed());
        let slice = left / (points.len() - i) as u32;
        // A run is at least a warm-up round, the baseline and one timed round: about 7 walks,
        // plus writing the two buffers.
        let walks = round_estimate(2, bytes, 2.0 * line_ns);
        let scaled = last.map_or(Duration::ZERO, |(x, per_round)| {
            per_round.mul_f64(bytes as f64 / x.max(1) as f64)
        });
        let round = walks.max(scaled);
        let least = round.mul_f64(4.0);
        if least > left {
            notes.push(format!(
                "{name} stops below {}: one run at that size would take about {} ({} per line), more than the {} left of its budget; give calibrate a larger --budget to go further",
                unit::format_size(bytes as f64),
                unit::format_duration(least.as_secs_f64() * 1e9),
                unit::format_duration(2.0 * line_ns),
                unit::format_duration(left.as_secs_f64() * 1e9),
            ));
            break;
        }
        match ring_point(2, bytes as usize, order, slice.max(least), round) {
            Ok(point) => {
                progress(&format!(
                    "{name}/{}: {} per switch ({:.2} switches per hand-off, {:.1} s)",
                    unit::format_size(bytes as f64),
                    unit::format_duration(point.per_switch_ns),
                    point.switches_per_pass,
                    point.took.as_secs_f64()
                ));
                check_switches(name, bytes, point.switches_per_pass, 2, notes);
                if point.per_switch_ns < 0.0 {
                    // The switching run beat the same walks without switching: the two were
                    // timed under different preemption, so the difference measures the load.
                    notes.push(format!(
                        "{name}/{bytes} left out: the run with switches took {} less per switch than the same walks without them (preemption differed between the two); rerun on a quieter machine",
                        unit::format_duration(-point.per_switch_ns)
                    ));
                } else {
                    curve.push((bytes, point.per_switch_ns));
                    switches.push((bytes, point.switches_per_pass));
                }
                if bytes > 0 {
                    last = Some((bytes, point.per_round));
                }
                let lines = bytes / cache::LINE_BYTES as u64;
                if lines == 0 {
                    syscalls_ns = Some(point.baseline_pass_ns);
                } else {
                    let walk_ns = point.baseline_pass_ns - syscalls_ns.unwrap_or(0.0);
                    let ns = walk_ns.max(0.0) / lines as f64;
                    latency.push((bytes, ns));
                    line_ns = ns.max(line_ns / 2.0);
                }
            }
            Err(error) => {
                notes.push(format!(
                    "{name}/{bytes} not measured: {error}; the curve stops there"
                ));
                break;
            }
        }
    }
    (curve, latency, switches)
}

/// Warns when a ring switched more or less often than its hand-offs explain.
///
/// A pair blocks exactly once per hand-off. In a ring of 3 or more, the woken thread often
/// preempts the one that woke it (wake-up preemption), which then needs a second switch to get
/// back and block in `read`: between 1 and 2 switches per hand-off, all of them real.
fn check_switches(name: &str, point: u64, observed: f64, threads: u64, notes: &mut Vec<String>) {
    let id = format!("{name}/{point}");
    if threads <= 2 {
        if let Some(warning) = rusage::check(&id, observed, 1.0) {
            notes.push(format!("warning: {warning} (per hand-off)"));
        }
    } else if !(0.75..=2.25).contains(&observed) {
        notes.push(format!(
            "warning: {id}: getrusage counted {observed:.2} context switches per hand-off where a ring makes 1 to 2; the time measures something else (preemption by another process)"
        ));
    }
}

/// The ring's cost per hand-off against its threads, and its switches per hand-off.
pub(super) fn runnable_curve(
    bytes: usize,
    threads: &[u64],
    time: Duration,
    notes: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Option<(Curve, Curve)> {
    let name = if bytes == 0 {
        "switch_runnable"
    } else {
        "switch_runnable_64kib"
    };
    let start = Instant::now();
    let (mut curve, mut switches) = (Vec::new(), Vec::new());
    for (i, &n) in threads.iter().enumerate() {
        let slice = time.saturating_sub(start.elapsed()) / (threads.len() - i) as u32;
        // Lines from memory at worst once the ring's buffers outgrow the caches.
        let round = round_estimate(n as usize, bytes as u64, 20.0);
        match ring_point(n as usize, bytes, Order::Random, slice, round) {
            Ok(point) => {
                progress(&format!(
                    "{name}/{n}: {} per switch ({:.2} switches per hand-off)",
                    unit::format_duration(point.per_switch_ns),
                    point.switches_per_pass
                ));
                check_switches(name, n, point.switches_per_pass, n, notes);
                curve.push((n, point.per_switch_ns));
                switches.push((n, point.switches_per_pass));
            }
            Err(error) => {
                notes.push(format!(
                    "{name}/{n} not measured: {error}; the curve stops there"
                ));
                break;
            }
        }
    }
    (!curve.is_empty()).then_some((curve, switches))
}

pub(super) fn background_curve(
    sizes: &CacheSizes,
    hogs: &[u64],
    time: Duration,
    notes: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Option<Vec<(u64, f64, f64, f64)>> {
    // Each background thread streams through 4 x L2, so it flushes L1 and L2 every pass.
    let hog_bytes = sizes.l2.map_or(8 << 20, |l2| 4 * l2) as usize;
    let start = Instant::now();
    let mut curve = Vec::new();
    for (i, &k) in hogs.iter().enumerate() {
        let slice = time.saturating_sub(start.elapsed()) / (hogs.len() - i) as u32;
        match background::ping_pong_beside(k as usize, hog_bytes, 5_000, slice) {
            Ok(run) => {
                let (p50, p99) = (
                    run.round_trip_quantile_ns(0.5),
                    run.round_trip_quantile_ns(0.99),
                );
                let cpu = run.cpu_per_switch_ns();
                progress(&format!(
                    "switch_background/{k}: round trip p50 {} p99 {}, CPU {} per switch ({} round trips, {:.2} switches each)",
                    unit::format_duration(p50),
                    unit::format_duration(p99),
                    unit::format_duration(cpu),
                    run.round_trips.len(),
                    run.switches_per_round_trip()
                ));
                if run.round_trips.len() < 100 {
                    notes.push(format!(
                        "switch_background/{k}: only {} round trips fitted the budget, so its p99 is close to the maximum",
                        run.round_trips.len()
                    ));
                }
                curve.push((k, p50, p99, cpu));
            }
            Err(error) => {
                notes.push(format!(
                    "switch_background/{k} not measured: {error}; the curve stops there"
                ));
                break;
            }
        }
    }
    (!curve.is_empty()).then_some(curve)
}
