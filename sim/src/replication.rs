//! Independent replications of one run, in parallel with rayon, combined into one report.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::config::RunConfig;
use crate::engine::{self, Outcome};
use crate::error::SimError;
use crate::metrics::{ci95_half_width, percentiles_ms};
use crate::report::{QueueStats, Report};

/// The seed of replication `index`: the config's own seed for the first, so that one
/// replication is exactly `simulate`; SplitMix64 of seed and index for the others.
pub fn replication_seed(seed: u64, index: u64) -> u64 {
    if index == 0 {
        return seed;
    }
    let mut z = seed.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `replications` copies with derived seeds and combines them.
pub(crate) fn run(
    config: &RunConfig,
    replications: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Report, SimError> {
    let n = replications.max(1);
    let started = std::time::Instant::now();
    let done: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
    let outcomes: Vec<Outcome> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut cfg = config.clone();
            cfg.seed = replication_seed(config.seed, i);
            let report_progress = |f: f64| {
                done[i as usize].store(f.to_bits(), Ordering::Relaxed);
                let total: f64 = done
                    .iter()
                    .map(|d| f64::from_bits(d.load(Ordering::Relaxed)))
                    .sum();
                progress(total / n as f64);
            };
            engine::run(&cfg, &report_progress)
        })
        .collect::<Result<_, _>>()?;
    let mut report = combine(outcomes);
    report.seed = config.seed;
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Sums counts, merges histograms, and puts a Student-t interval across replication means.
fn combine(mut outcomes: Vec<Outcome>) -> Report {
    if outcomes.len() == 1 {
        return outcomes.remove(0).report;
    }
    let n = outcomes.len() as f64;
    let mut first = outcomes.remove(0);
    let means: Vec<f64> = std::iter::once(&first)
        .chain(outcomes.iter())
        .filter(|o| o.latencies.count() > 0)
        .map(|o| o.latencies.mean_ns())
        .collect();
    let mut r = first.report.clone();
    r.replications = n as u64;
    let weight = |rep: &Report| rep.simulated_seconds;
    let mut total_seconds = weight(&r);
    let mut cpu = (
        r.cpu.useful * total_seconds,
        r.cpu.switching * total_seconds,
    );
    let mut mean_memory = r.mean_memory_bytes;
    let mut latency_sum = first.latencies.mean_ns() * first.latencies.count() as f64;
    let mut latency_count = first.latencies.count();
    for o in &outcomes {
        let x = &o.report;
        first.latencies.histogram.add(&o.latencies.histogram).ok();
        latency_sum += o.latencies.mean_ns() * o.latencies.count() as f64;
        latency_count += o.latencies.count();
        r.completed += x.completed;
        r.dropped += x.dropped;
        r.context_switches += x.context_switches;
        r.task_switches += x.task_switches;
        r.events += x.events;
        r.peak_memory_bytes = r.peak_memory_bytes.max(x.peak_memory_bytes);
        r.peak_threads = r.peak_threads.max(x.peak_threads);
        r.peak_tasks = r.peak_tasks.max(x.peak_tasks);
        mean_memory += x.mean_memory_bytes;
        total_seconds += weight(x);
        cpu.0 += x.cpu.useful * weight(x);
        cpu.1 += x.cpu.switching * weight(x);
        merge_queues(&mut r.queues, &x.queues);
        r.mean_wait_ms += x.mean_wait_ms;
        r.waited_fraction += x.waited_fraction;
        r.audit.sent += x.audit.sent;
        r.audit.completed += x.audit.completed;
        r.audit.dropped += x.audit.dropped;
        r.audit.in_flight += x.audit.in_flight;
        r.audit.min_slack_ns = r.audit.min_slack_ns.min(x.audit.min_slack_ns);
        r.audit.core_overlaps += x.audit.core_overlaps;
    }
    for q in &mut r.queues {
        q.mean /= n;
    }
    r.mean_wait_ms /= n;
    r.waited_fraction /= n;
    r.simulated_seconds = total_seconds;
    r.throughput_rps = if total_seconds > 0.0 {
        r.completed as f64 / total_seconds
    } else {
        0.0
    };
    let (useful, switching) = if total_seconds > 0.0 {
        (cpu.0 / total_seconds, cpu.1 / total_seconds)
    } else {
        (0.0, 0.0)
    };
    r.cpu.useful = useful;
    r.cpu.switching = switching;
    r.cpu.idle = (1.0 - useful - switching).max(0.0);
    r.cpu_utilization = useful + switching;
    r.switch_overhead = switching;
    r.mean_memory_bytes = mean_memory / n;
    let per = |k: u64| {
        if r.completed == 0 {
            0.0
        } else {
            k as f64 / r.completed as f64
        }
    };
    r.context_switches_per_request = per(r.context_switches);
    r.task_switches_per_request = per(r.task_switches);
    let mean = if latency_count > 0 {
        latency_sum / latency_count as f64
    } else {
        0.0
    };
    let half = ci95_half_width(&means);
    let mut latency = percentiles_ms(&first.latencies.histogram);
    latency.mean = mean / 1e6;
    latency.mean_ci95_low = (mean - half) / 1e6;
    latency.mean_ci95_high = (mean + half) / 1e6;
    r.latency_ms = latency;
    r
}

fn merge_queues(into: &mut [QueueStats], from: &[QueueStats]) {
    for (a, b) in into.iter_mut().zip(from) {
        a.mean += b.mean;
        a.max = a.max.max(b.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_distinct_and_the_first_is_the_configs() {
        assert_eq!(replication_seed(7, 0), 7);
        let seeds: std::collections::HashSet<u64> =
            (0..1000).map(|i| replication_seed(7, i)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}
