//! The raw record of runs and the one function that turns it into a [`Report`].
//!
//! A run ends with a [`RunTally`]: counts, the latency histogram, core time, and the integrals
//! of every level over the measured window, in the units they were counted in (ns, bytes,
//! requests). Replications merge by [`Tally::merge`]; [`Tally::report`] derives every figure a
//! report shows. A single run, `--replications`, the sweep, the replay and `reports` all get
//! their numbers from it, so they cannot disagree.
//!
//! Rules of the derivation, for one run: fractions of core time over the measured window;
//! throughput over the window, except that a drained open loop counts every completion over
//! the time from the first completed request's send to the end (see [`RunTally::throughput`]).
//! For several runs: counts and core time are summed, throughput is the summed throughput
//! counts over the summed throughput windows (each run's own rule), latency percentiles come
//! from the merged histogram, the latency mean is over all requests and its 95 % interval is a
//! Student t across replication means; time averages (queues, memory, waits) are the mean of
//! the replications' time averages, and peaks the largest peak.

use crate::config::RunConfig;
use hdrhistogram::Histogram;

use crate::metrics::{Integral, Latencies, ci95_half_width, percentiles_ms};
use crate::report::{Audit, CpuSplit, QueueStats, Report};

/// Everything one run measured, before any division.
#[derive(Debug, Clone)]
pub(crate) struct RunTally {
    /// Cores of the machine.
    pub(crate) cores: u64,
    /// Length of the measured window, ns.
    pub(crate) span_ns: u64,
    /// Core time spent on useful work, on switching and on refilling caches in the window, ns.
    pub(crate) useful_ns: u64,
    pub(crate) switching_ns: u64,
    pub(crate) refill_ns: u64,
    /// Core time spent leaving idle in the window, ns.
    pub(crate) idle_wakeup_ns: u64,
    /// Core time interruptions took from running threads in the window, ns.
    pub(crate) interrupted_ns: u64,
    /// Context and task switches in the window.
    pub(crate) context_switches: u64,
    pub(crate) task_switches: u64,
    /// Exits from idle of a halted core in the window.
    pub(crate) halts: u64,
    /// Timer interrupts that ended I/O waits in the window (`kernel/wakeup.rs`).
    pub(crate) timer_interrupts: u64,
    /// Completions and drops in the window.
    pub(crate) completed: u64,
    pub(crate) dropped: u64,
    /// Completions and the span (ns) the throughput is taken over.
    pub(crate) throughput: (u64, u64),
    /// Client-side latencies in the window.
    pub(crate) latencies: Latencies,
    /// Named queue lengths, in report order.
    pub(crate) queues: Vec<(String, Integral)>,
    /// Resident bytes, OS threads and tasks alive.
    pub(crate) memory: Integral,
    pub(crate) peak_threads: u64,
    pub(crate) peak_tasks: u64,
    /// Requests started in the window, of which waited, and their summed wait (ns).
    pub(crate) waits: (u64, u64, u128),
    /// Events processed.
    pub(crate) events: u64,
    /// Whole-run book-keeping.
    pub(crate) audit: Audit,
}

impl RunTally {
    fn seconds(&self) -> f64 {
        self.span_ns as f64 / 1e9
    }

    /// (useful, switching, refill, idle wake-up, interrupted) fractions of the window's core
    /// time.
    fn cpu(&self) -> [f64; 5] {
        let core_time = self.span_ns as f64 * self.cores as f64;
        if core_time > 0.0 {
            [
                self.useful_ns,
                self.switching_ns,
                self.refill_ns,
                self.idle_wakeup_ns,
                self.interrupted_ns,
            ]
            .map(|ns| (ns as f64 / core_time).min(1.0))
        } else {
            [0.0; 5]
        }
    }

    fn mean_wait_ms(&self) -> f64 {
        if self.waits.0 > 0 {
            self.waits.2 as f64 / self.waits.0 as f64 / 1e6
        } else {
            0.0
        }
    }

    fn waited_fraction(&self) -> f64 {
        if self.waits.0 > 0 {
            self.waits.1 as f64 / self.waits.0 as f64
        } else {
            0.0
        }
    }
}

/// The record of one or more runs of the same config (replications), mergeable.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    runs: Vec<RunTally>,
    /// The latency histograms of runs past the first [`KEPT_HISTOGRAMS`], added together; those
    /// runs keep an empty histogram, so 100,000 replications hold one histogram, not 100,000.
    folded: Option<Histogram<u64>>,
}

/// Runs whose own latency histogram a tally keeps (each can be read back on its own); the
/// histograms of later runs are folded into one. A histogram is about 300 KB.
const KEPT_HISTOGRAMS: usize = 16;

impl From<RunTally> for Tally {
    fn from(run: RunTally) -> Self {
        Tally {
            runs: vec![run],
            folded: None,
        }
    }
}

impl Tally {
    /// Adds another replication's record (order matters only for floating-point sums: merge
    /// in replication order).
    pub(crate) fn merge(&mut self, other: Tally) {
        if let Some(h) = other.folded {
            self.fold(&h);
        }
        for mut run in other.runs {
            if self.runs.len() >= KEPT_HISTOGRAMS {
                let own = std::mem::replace(&mut run.latencies.histogram, empty_histogram());
                self.fold(&own);
            }
            self.runs.push(run);
        }
    }

    fn fold(&mut self, histogram: &Histogram<u64>) {
        match &mut self.folded {
            // Same bounds everywhere: adding cannot fail.
            Some(folded) => {
                folded.add(histogram).ok();
            }
            None => self.folded = Some(histogram.clone()),
        }
    }

    /// Each replication's own record, in replication order.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> impl Iterator<Item = Tally> + '_ {
        self.runs.iter().map(|r| Tally::from(r.clone()))
    }

    /// The report of `config` (its identity fields) from this record; `wall_seconds` is the
    /// caller's.
    pub(crate) fn report(&self, config: &RunConfig, wall_seconds: f64) -> Report {
        let mut r = match self.runs.as_slice() {
            [] => Report::default(),
            [one] => single(one),
            many => combined(many, self.folded.as_ref()),
        };
        r.scenario = config.scenario.clone();
        r.label = config.server.label.clone();
        r.model = config.server.model.kind();
        r.cores = config.cores;
        r.seed = config.seed;
        r.wall_seconds = wall_seconds;
        r
    }
}

fn per(count: u64, completed: u64) -> f64 {
    if completed == 0 {
        0.0
    } else {
        count as f64 / completed as f64
    }
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The CPU split of (useful, switching, refill, idle wake-up, interrupted) shares, and the
/// utilization: the first four. Interruptions take the core from the server (ticks, interrupts,
/// the host), so they are not its use of the core.
fn split([useful, switching, refill, idle_wakeup, interrupted]: [f64; 5]) -> (CpuSplit, f64) {
    let used = useful + switching + refill + idle_wakeup;
    let split = CpuSplit {
        useful,
        switching,
        refill,
        idle_wakeup,
        interrupted,
        idle: (1.0 - used - interrupted).max(0.0),
    };
    (split, used)
}

/// The figures of one run.
fn single(t: &RunTally) -> Report {
    let (split, utilization) = split(t.cpu());
    Report {
        replications: 1,
        completed: t.completed,
        dropped: t.dropped,
        throughput_rps: rate(t.throughput.0, t.throughput.1 as f64 / 1e9),
        latency_ms: t.latencies.summary(),
        cpu_utilization: utilization,
        switch_overhead: split.switching,
        cpu: split,
        context_switches: t.context_switches,
        task_switches: t.task_switches,
        context_switches_per_request: per(t.context_switches, t.completed),
        task_switches_per_request: per(t.task_switches, t.completed),
        halts: t.halts,
        halts_per_request: per(t.halts, t.completed),
        timer_interrupts: t.timer_interrupts,
        timer_interrupts_per_request: per(t.timer_interrupts, t.completed),
        peak_memory_bytes: t.memory.max,
        mean_memory_bytes: t.memory.mean(),
        peak_threads: t.peak_threads,
        peak_tasks: t.peak_tasks,
        queues: t
            .queues
            .iter()
            .map(|(name, q)| QueueStats {
                name: name.clone(),
                mean: q.mean(),
                max: q.max,
            })
            .collect(),
        mean_wait_ms: t.mean_wait_ms(),
        waited_fraction: t.waited_fraction(),
        simulated_seconds: t.seconds(),
        events: t.events,
        audit: t.audit.clone(),
        ..Report::default()
    }
}

/// A histogram holding nothing, with the smallest footprint, for a run whose latencies were
/// folded into the tally's.
fn empty_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 2, 0)
        .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"))
}

/// The figures of several replications (see the module docs for the rules).
fn combined(runs: &[RunTally], folded: Option<&Histogram<u64>>) -> Report {
    let n = runs.len() as f64;
    let first = &runs[0];
    let mut r = single(first);
    r.replications = runs.len() as u64;
    let mut histogram = first.latencies.histogram.clone();
    if let Some(folded) = folded {
        histogram.add(folded).ok();
    }
    let mut total_seconds = first.seconds();
    let mut cpu = first.cpu().map(|share| share * total_seconds);
    let mut latency_sum = first.latencies.mean_ns() * first.latencies.count() as f64;
    let mut latency_count = first.latencies.count();
    let (mut throughput_count, mut throughput_seconds) =
        (first.throughput.0, first.throughput.1 as f64 / 1e9);
    for x in &runs[1..] {
        // Same bounds everywhere: adding cannot fail.
        histogram.add(&x.latencies.histogram).ok();
        latency_sum += x.latencies.mean_ns() * x.latencies.count() as f64;
        latency_count += x.latencies.count();
        r.completed += x.completed;
        r.dropped += x.dropped;
        r.context_switches += x.context_switches;
        r.task_switches += x.task_switches;
        r.halts += x.halts;
        r.timer_interrupts += x.timer_interrupts;
        r.events += x.events;
        r.peak_memory_bytes = r.peak_memory_bytes.max(x.memory.max);
        r.peak_threads = r.peak_threads.max(x.peak_threads);
        r.peak_tasks = r.peak_tasks.max(x.peak_tasks);
        r.mean_memory_bytes += x.memory.mean();
        let seconds = x.seconds();
        total_seconds += seconds;
        for (sum, share) in cpu.iter_mut().zip(x.cpu()) {
            *sum += share * seconds;
        }
        throughput_count += x.throughput.0;
        throughput_seconds += x.throughput.1 as f64 / 1e9;
        for (q, (_, level)) in r.queues.iter_mut().zip(&x.queues) {
            q.mean += level.mean();
            q.max = q.max.max(level.max);
        }
        r.mean_wait_ms += x.mean_wait_ms();
        r.waited_fraction += x.waited_fraction();
        let a = &mut r.audit;
        a.sent += x.audit.sent;
        a.completed += x.audit.completed;
        a.dropped += x.audit.dropped;
        a.in_flight += x.audit.in_flight;
        a.min_slack_ns = a.min_slack_ns.min(x.audit.min_slack_ns);
        a.core_overlaps += x.audit.core_overlaps;
    }
    for q in &mut r.queues {
        q.mean /= n;
    }
    r.mean_wait_ms /= n;
    r.waited_fraction /= n;
    r.mean_memory_bytes /= n;
    r.simulated_seconds = total_seconds;
    r.throughput_rps = rate(throughput_count, throughput_seconds);
    let shares = if total_seconds > 0.0 {
        cpu.map(|sum| sum / total_seconds)
    } else {
        [0.0; 5]
    };
    (r.cpu, r.cpu_utilization) = split(shares);
    r.switch_overhead = r.cpu.switching;
    r.context_switches_per_request = per(r.context_switches, r.completed);
    r.task_switches_per_request = per(r.task_switches, r.completed);
    r.halts_per_request = per(r.halts, r.completed);
    r.timer_interrupts_per_request = per(r.timer_interrupts, r.completed);
    let means: Vec<f64> = runs
        .iter()
        .filter(|x| x.latencies.count() > 0)
        .map(|x| x.latencies.mean_ns())
        .collect();
    let mean = if latency_count > 0 {
        latency_sum / latency_count as f64
    } else {
        0.0
    };
    let half = ci95_half_width(&means);
    let mut latency = percentiles_ms(&histogram);
    if latency_count > 0 {
        latency.mean = mean / 1e6;
        latency.mean_ci95_low = (mean - half) / 1e6;
        latency.mean_ci95_high = (mean + half) / 1e6;
    }
    r.latency_ms = latency;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::{self, replication_seed};
    use crate::scenario::{Overrides, Scenario, builtins};

    /// A report without its one run-dependent field.
    fn comparable(mut r: Report) -> Report {
        r.wall_seconds = 0.0;
        r
    }

    #[test]
    fn replications_are_single_runs_and_merge_into_one_derivation() {
        const N: u64 = 3;
        for b in builtins() {
            let scenario = Scenario::load(b.name).expect("built-in scenarios parse");
            let deployments = scenario
                .deployments(&Overrides::default())
                .expect("built-in scenarios deploy");
            for d in deployments {
                let config = &d.config;
                let what = format!("{} / {}", config.scenario, config.server.label);
                let merged = replication::run(config, N, &|_| {}).expect("built-ins run");
                let mut again: Option<Tally> = None;
                for (i, run) in merged.runs().enumerate() {
                    let mut own = config.clone();
                    own.seed = replication_seed(config.seed, i as u64);
                    let alone = crate::simulate(&own).expect("built-ins run");
                    assert_eq!(
                        comparable(run.report(&own, 0.0)),
                        comparable(alone),
                        "{what}: replication {i} differs from its single run"
                    );
                    let single = Tally::from(crate::model::run(&own, &|_| {}).expect("runs"));
                    match again.as_mut() {
                        Some(t) => t.merge(single),
                        None => again = Some(single),
                    }
                }
                let combined = crate::simulate_replications(config, N, &|_| {}).expect("runs");
                assert_eq!(combined.replications, N);
                let derived = again.expect("N > 0").report(config, 0.0);
                assert_eq!(comparable(combined), derived, "{what}: combined report");
            }
        }
    }

    #[test]
    fn a_drained_run_keeps_its_throughput_rule_when_merged() {
        // Two records of one run: merging must not fall back to completions over the window.
        let run = RunTally {
            cores: 1,
            span_ns: 1_000_000_000,
            useful_ns: 0,
            switching_ns: 0,
            refill_ns: 0,
            idle_wakeup_ns: 0,
            interrupted_ns: 0,
            context_switches: 0,
            task_switches: 0,
            halts: 0,
            timer_interrupts: 0,
            completed: 50,
            dropped: 0,
            throughput: (100, 2_000_000_000),
            latencies: Latencies::new(),
            queues: Vec::new(),
            memory: Integral::default(),
            peak_threads: 0,
            peak_tasks: 0,
            waits: (0, 0, 0),
            events: 0,
            audit: Audit::default(),
        };
        let config = Scenario::load("recipe-api")
            .and_then(|s| s.deployments(&Overrides::default()))
            .expect("built-in scenarios deploy")
            .remove(0)
            .config;
        let mut t = Tally::from(run.clone());
        assert_eq!(t.report(&config, 0.0).throughput_rps, 50.0);
        t.merge(Tally::from(run));
        assert_eq!(t.report(&config, 0.0).throughput_rps, 50.0);
    }
}
