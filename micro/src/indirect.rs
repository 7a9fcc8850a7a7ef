//! The indirect cost of a switch in one record: the curves against working set, runnable
//! threads and background load, the cache sizes, and the refill rates derived from the walks.
//!
//! [`measure`] runs them within a time budget (the cheapest points first, so a small budget
//! cuts the large working sets, never the small ones) and [`IndirectCosts`] is flattened into
//! [`crate::Calibration`]'s JSON.
//!
//! How the refill rates come from the walks: every `switch_working_set` point's baseline is
//! one thread walking its own buffer again and again with nothing else on the core, so its time
//! per line is the latency of a line from the level that holds a working set of that size (a
//! dependent chain, so no two misses overlap). The curve's point at or below half of L1d stands
//! for L1, at or below half of L2 (and above L1d) for L2, the smallest from 2 × L2 to half of L3
//! for L3 (the least TLB-bound: see `refill.rs`), and at or above 2 × L3 for memory. A refill
//! rate is that level's latency minus L1's: the time a line costs over a hit because a switch
//! sent it further out. A line that moved from level a to level b costs `refill_b - refill_a`.
//! The whole baseline curve is also kept (`line_latency_ns`): the simulator's curve formula
//! reads a line's cost off it at the line's reuse distance instead of using these rates.

mod cold;
mod curves;
mod refill;
mod retention;

use std::time::Duration;

use crate::cache::{self, CacheSizes, Order};
use crate::error::Error;
use crate::unit;
use curves::{background_curve, runnable_curve, working_set_curve};
pub use refill::refill_rates;
pub use retention::{Retention, idle_curve};

/// Bytes each ring thread walks in the `switch_runnable` variant with a working set.
pub const RUNNABLE_BYTES: usize = 64 << 10;

/// What the switches around a working set cost. Lists hold only the points that were measured
/// (cheapest first); a list is `None` when not even its first point could be.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndirectCosts {
    /// cpu0's data caches in bytes: `{ "l1d", "l2", "l3" }`.
    pub cache_bytes: CacheSizes,
    /// Logical CPUs that share cpu0's L3 (as the kernel reports it).
    pub l3_shared_by: Option<usize>,
    /// `[bytes, ns]`: extra cost per switch of two same-core threads that each walk a private
    /// buffer of `bytes` in random order between hand-offs.
    pub switch_working_set_ns: Option<Vec<(u64, f64)>>,
    /// `[bytes, switches]`: context switches getrusage counted per hand-off at each point of
    /// `switch_working_set_ns`. A point measures one switch only where this is about 1
    /// (`calibrate` warns beyond ±0.25): elsewhere the time includes slices of other threads.
    pub switch_working_set_switches: Option<Vec<(u64, f64)>>,
    /// `[bytes, ns]`: the same with the buffers walked in address order (prefetched).
    pub switch_working_set_seq_ns: Option<Vec<(u64, f64)>>,
    /// `[threads, ns]`: extra cost per hand-off in a ring of that many same-core threads,
    /// W = 0 (one hand-off is one switch in a pair, 1 to 2 in a larger ring: see
    /// `switch_runnable_switches`).
    pub switch_runnable_ns: Option<Vec<(u64, f64)>>,
    /// `[threads, switches]`: context switches getrusage counted per hand-off at each point of
    /// `switch_runnable_ns` (absent before 2026-12-07T21).
    #[serde(default)]
    pub switch_runnable_switches: Option<Vec<(u64, f64)>>,
    /// `[threads, ns]`: what the switch to a thread costs when that many threads take turns on
    /// a core (the others ran since it last did): each hand-off of `switch_runnable_ns` less
    /// the switches beyond one it needed, each priced at the pair's switch. In a ring of 3 or
    /// more the woken thread often preempts its waker, which then switches back at once: that
    /// return finds its data where it left it, so it costs what a pair's switch does, and the
    /// rest of the hand-off is the switch to the thread the others ran between. `sim`'s
    /// `switch_runnable` key.
    #[serde(default)]
    pub switch_runnable_return_ns: Option<Vec<(u64, f64)>>,
    /// `[threads, ns]`: the same ring with each thread walking 64 KiB in random order.
    pub switch_runnable_64kib_ns: Option<Vec<(u64, f64)>>,
    /// `[k, round_trip_p50_ns, round_trip_p99_ns, cpu_per_switch_ns]`: the same-core
    /// ping-pong beside k CPU-bound threads on its core.
    pub switch_background: Option<Vec<(u64, f64, f64, f64)>>,
    /// `[bytes, ns]`: one line of a random walk by one thread alone, per working set (the
    /// baselines of `switch_working_set_ns`).
    pub line_latency_ns: Option<Vec<(u64, f64)>>,
    /// A line from L2 instead of L1, ns.
    pub refill_l2_ns_per_line: Option<f64>,
    /// A line from L3 instead of L1, ns.
    pub refill_l3_ns_per_line: Option<f64>,
    /// A line from memory instead of L1, ns.
    pub refill_memory_ns_per_line: Option<f64>,
    /// `[idle_ns, ns]`: ns per line of a 64 KiB set walked again after being pushed out of L2
    /// and then left alone for `idle_ns` (`indirect/retention.rs`).
    #[serde(default)]
    pub l3_idle_ns_per_line: Option<Vec<(u64, f64)>>,
    /// How long a set stays in L3 while nothing on this machine touches it, ns (`None` when
    /// nothing was evicted within the longest idle time, or not measured).
    #[serde(default)]
    pub l3_lifetime_ns: Option<f64>,
    /// `[bytes, ns]`: ns per line of a set's first random walk after a stream larger than every
    /// cache level evicted it (`indirect/cold.rs`): a set's return from memory, with its own
    /// page walks (absent before 2026-12-07T19).
    #[serde(default)]
    pub cold_line_latency_ns: Option<Vec<(u64, f64)>>,
}

/// The JSON keys [`IndirectCosts`] adds to the calibration.
pub const JSON_KEYS: [&str; 17] = [
    "cache_bytes",
    "l3_shared_by",
    "switch_working_set_ns",
    "switch_working_set_switches",
    "switch_working_set_seq_ns",
    "switch_runnable_ns",
    "switch_runnable_switches",
    "switch_runnable_return_ns",
    "switch_runnable_64kib_ns",
    "switch_background",
    "line_latency_ns",
    "refill_l2_ns_per_line",
    "refill_l3_ns_per_line",
    "refill_memory_ns_per_line",
    "l3_idle_ns_per_line",
    "l3_lifetime_ns",
    "cold_line_latency_ns",
];

/// How far the curves go and how long they may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Wall time for all of [`measure`].
    pub time: Duration,
    /// Largest working set to try (the grid stops earlier if time runs out).
    pub max_bytes: u64,
    /// Thread counts for `switch_runnable`.
    pub threads: Vec<u64>,
    /// Background thread counts for `switch_background`.
    pub hogs: Vec<u64>,
}

impl Plan {
    /// The full plan: working sets up to 4 × the last-level cache, rings up to 1,024 threads,
    /// up to 8 background threads, in `time`.
    pub fn full(sizes: &CacheSizes, time: Duration) -> Plan {
        Plan {
            time,
            max_bytes: sizes.last_level().map_or(256 << 20, |llc| 4 * llc),
            threads: (1..=10).map(|p| 1 << p).collect(),
            hogs: vec![0, 1, 2, 4, 8],
        }
    }

    /// The quick plan: working sets up to 2 × L2, rings up to 64 threads, up to 2 background
    /// threads.
    pub fn quick(sizes: &CacheSizes, time: Duration) -> Plan {
        Plan {
            time,
            max_bytes: sizes.l2.map_or(4 << 20, |l2| 2 * l2),
            threads: (1..=6).map(|p| 1 << p).collect(),
            hogs: vec![0, 1, 2],
        }
    }
}

/// Share of `calibrate`'s budget these curves take (about 22 s of the standard 30 s, 3 s of
/// the quick 4 s).
pub const BUDGET_SHARE: f64 = 0.75;

impl Plan {
    /// The plan for a `calibrate` budget of `total`: the quick plan below 10 s.
    pub fn for_budget(sizes: &CacheSizes, total: Duration) -> Plan {
        let time = total.mul_f64(BUDGET_SHARE);
        if total < Duration::from_secs(10) {
            Plan::quick(sizes, time)
        } else {
            Plan::full(sizes, time)
        }
    }
}

impl IndirectCosts {
    /// The simulator's `[costs]` keys these measurements give: `(key, value with unit, what)`.
    pub fn costs_entries(&self) -> Vec<(&'static str, Option<String>, &'static str)> {
        let size = |v: Option<u64>| v.map(|b| unit::format_size(b as f64));
        let duration = |v: Option<f64>| v.map(unit::format_duration);
        vec![
            (
                "cache_l1d",
                size(self.cache_bytes.l1d),
                "L1 data cache per core",
            ),
            ("cache_l2", size(self.cache_bytes.l2), "L2 cache per core"),
            ("cache_l3", size(self.cache_bytes.l3), "L3 cache (shared)"),
            (
                "refill_l2_per_line",
                duration(self.refill_l2_ns_per_line),
                "a 64-byte line from L2 instead of L1 (random walk)",
            ),
            (
                "refill_l3_per_line",
                duration(self.refill_l3_ns_per_line),
                "a 64-byte line from L3 instead of L1 (random walk)",
            ),
            (
                "refill_memory_per_line",
                duration(self.refill_memory_ns_per_line),
                "a 64-byte line from memory instead of L1 (random walk)",
            ),
            (
                "cache_lifetime",
                duration(self.l3_lifetime_ns),
                "how long the shared L3 keeps a set nobody here touches (other tenants)",
            ),
        ]
    }
}

/// Working sets to measure up to `max`: 0, every power of 4 from 4 KiB, every power of 2 from
/// half the L1d to 8 × the L2, and half, once and twice each cache level (and 4 × the last
/// level), sorted.
///
/// The powers of 2 are there because the simulator's curve formula interpolates the lone
/// walk's line latency between points: with powers of 4 only, nothing lay between 256 KiB and
/// 1 MiB, and a 256 KiB pair (512 KiB in all, inside a 2 MiB L2) was charged the rise toward
/// 1 MiB's latency that it does not pay (`sim/tests/it/cache_reference.rs`). They go on to
/// 8 × L2 because a VM's share of a host's L3 can end there, far below the size the kernel
/// reports: on the 2026-12-07 reference host (L2 1 MiB, L3 32 MiB) the lone walk costs 16 ns
/// a line at 5 MiB and 120 ns at 6 MiB, and with powers of 4 the curve went from 4 to 16 MiB
/// in one straight line.
pub fn grid(sizes: &CacheSizes, max: u64) -> Vec<u64> {
    let mut points = vec![0];
    let mut power = 4 << 10;
    while power <= max {
        points.push(power);
        power *= 4;
    }
    if let (Some(l1d), Some(l2)) = (sizes.l1d, sizes.l2) {
        let mut power = (l1d / 2).next_power_of_two();
        while power <= 8 * l2 {
            points.push(power);
            power *= 2;
        }
    }
    for level in [sizes.l1d, sizes.l2, sizes.l3].into_iter().flatten() {
        points.extend([level / 2, level, 2 * level]);
    }
    if let Some(llc) = sizes.last_level() {
        points.push(4 * llc);
    }
    points.retain(|&bytes| bytes <= max);
    points.sort_unstable();
    points.dedup();
    points
}

/// `[x, ns]` points of a curve, ascending in x.
pub type Curve = Vec<(u64, f64)>;

/// Measures every curve of `plan`; `progress` gets a line per point and `notes` collects
/// warnings and the reasons for anything left out.
pub fn measure(
    sizes: &CacheSizes,
    plan: &Plan,
    notes: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> IndirectCosts {
    let mut costs = IndirectCosts {
        cache_bytes: *sizes,
        l3_shared_by: sizes.l3_shared_by,
        ..IndirectCosts::default()
    };
    if sizes.l1d.is_none() {
        notes.push(format!(
            "cache sizes not found under {}; the working-set grid uses powers of 4 only",
            cache::SYSFS_CACHE
        ));
    }
    let share = |part: f64| plan.time.mul_f64(part);
    let points = grid(sizes, plan.max_bytes);

    let (random, latency, switches) =
        working_set_curve(Order::Random, &points, share(0.35), notes, progress);
    let (sequential, _, _) =
        working_set_curve(Order::Sequential, &points, share(0.15), notes, progress);
    let [l2, l3, mut memory] = refill_rates(sizes, &latency);
    let mut keep = |name: &str, rate: Result<f64, String>| {
        rate.map_err(|reason| notes.push(format!("{name} not measured: {reason}")))
            .ok()
    };
    costs.refill_l2_ns_per_line = keep("refill_l2_ns_per_line", l2);
    costs.refill_l3_ns_per_line = keep("refill_l3_ns_per_line", l3);
    costs.switch_working_set_ns = (!random.is_empty()).then_some(random);
    costs.switch_working_set_switches = (!switches.is_empty()).then_some(switches);
    costs.switch_working_set_seq_ns = (!sequential.is_empty()).then_some(sequential);
    costs.line_latency_ns = (!latency.is_empty()).then_some(latency);

    if let Some((curve, switches)) = runnable_curve(0, &plan.threads, share(0.1), notes, progress) {
        costs.switch_runnable_return_ns = returns(&curve, &switches);
        if costs.switch_runnable_return_ns.is_none() {
            notes.push(format!(
                "switch_runnable_return_ns not measured: the ring's points {curve:?} and switches \
                 per hand-off {switches:?} give no return curve (no pair, or a point with no switch)"
            ));
        }
        costs.switch_runnable_ns = Some(curve);
        costs.switch_runnable_switches = Some(switches);
    }
    costs.switch_runnable_64kib_ns =
        runnable_curve(RUNNABLE_BYTES, &plan.threads, share(0.15), notes, progress)
            .map(|(curve, _)| curve);
    costs.switch_background = background_curve(sizes, &plan.hogs, share(0.17), notes, progress);

    progress("cold sets: a set walked again after a stream past every cache level");
    let cold_sets = cold::cold_curve(sizes, plan.max_bytes, share(0.03));

    progress("L3 retention: a 64 KiB set returned to after 0 to 16 ms alone");
    match retention::idle_curve(sizes, share(0.05)) {
        Ok(retention) => {
            match retention.lifetime_ns() {
                Ok(Some(ns)) => costs.l3_lifetime_ns = Some(ns),
                Ok(None) => notes.push(
                    "l3_lifetime_ns: nothing was evicted from L3 in 16 ms alone (no other tenant \
                     seen); the simulator keeps sets there as long as capacity allows"
                        .into(),
                ),
                Err(reason) => notes.push(format!("l3_lifetime_ns not measured: {reason}")),
            }
            // A set the tenants evicted comes back from memory: where the lone walk never
            // reached past L3, its plateau stands for a line from memory.
            let l1 = latency_l1(&costs);
            memory = memory.or_else(|reason| match (retention.evicted_line_ns(), l1) {
                (Some(evicted), Some(l1)) => {
                    notes.push(format!(
                        "refill_memory_ns_per_line: from the L3 retention walk's evicted set ({reason})"
                    ));
                    Ok((evicted - l1).max(0.0))
                }
                _ => Err(reason),
            });
            costs.l3_idle_ns_per_line = Some(retention.curve);
        }
        Err(reason) => notes.push(format!("l3_idle_ns_per_line not measured: {reason}")),
    }
    costs.refill_memory_ns_per_line = memory
        .map_err(|reason| notes.push(format!("refill_memory_ns_per_line not measured: {reason}")))
        .ok();
    // Kept only if every set came back from memory (checked against the memory rate).
    match cold_sets.and_then(|curve| cold::check(curve, costs.refill_memory_ns_per_line)) {
        Ok(curve) => costs.cold_line_latency_ns = Some(curve),
        Err(reason) => notes.push(format!("cold_line_latency_ns not measured: {reason}")),
    }
    costs
}

/// The lone walk's line latency at its largest working set within half the L1d (an L1 hit,
/// as `refill_rates` reads it), if measured.
fn latency_l1(costs: &IndirectCosts) -> Option<f64> {
    let half_l1 = costs.cache_bytes.l1d? / 2;
    refill::level_latency(costs.line_latency_ns.as_deref()?, (1, half_l1), true)
}

/// The curves an earlier `cargo bench -p micro` left under `dir` (Criterion's mean per
/// switch); `switch_background` stays `None` (Criterion keeps no percentiles), as do the line
/// latencies and refill rates (the benches do not report their baselines).
pub fn from_criterion(dir: &std::path::Path) -> Result<IndirectCosts, Error> {
    let curve = |group: &str| -> Result<Option<Vec<(u64, f64)>>, Error> {
        let Ok(entries) = std::fs::read_dir(dir.join(group)) else {
            return Ok(None);
        };
        let mut points = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(x) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
                continue;
            };
            let id = format!("{group}/{x}");
            if let Some(estimate) = crate::calibration::criterion_estimate(dir, &id)? {
                points.push((x, estimate.mean_ns));
            }
        }
        points.sort_by_key(|p| p.0);
        Ok((!points.is_empty()).then_some(points))
    };
    let sizes = CacheSizes::read();
    Ok(IndirectCosts {
        cache_bytes: sizes,
        l3_shared_by: sizes.l3_shared_by,
        switch_working_set_ns: curve("switch_working_set")?,
        switch_working_set_seq_ns: curve("switch_working_set_seq")?,
        switch_runnable_ns: curve("switch_runnable")?,
        switch_runnable_64kib_ns: curve("switch_runnable_64kib")?,
        ..IndirectCosts::default()
    })
}

/// [`IndirectCosts::switch_runnable_return_ns`] from a ring's cost and switches per hand-off,
/// point by point: `ns(n) − (switches(n) − 1) × ns(2) / switches(2)`. `None` without the pair's
/// point, or when a point has no count or the pair counted none.
fn returns(curve: &[(u64, f64)], switches: &[(u64, f64)]) -> Option<Vec<(u64, f64)>> {
    if curve.len() != switches.len() || curve.first()?.0 != 2 {
        return None;
    }
    let (pair_ns, pair_switches) = (curve[0].1, switches[0].1);
    if pair_switches <= 0.0 {
        return None;
    }
    let plain = pair_ns / pair_switches;
    curve
        .iter()
        .zip(switches)
        .map(|(&(n, ns), &(m, per_pass))| {
            (n == m && per_pass > 0.0).then(|| (n, ns - (per_pass - 1.0).max(0.0) * plain))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_hand_off_less_its_extra_plain_switches_is_the_return() {
        let curve = [(2, 2_000.0), (4, 3_000.0), (1024, 9_000.0)];
        let switches = [(2, 1.0), (4, 1.5), (1024, 1.2)];
        assert_eq!(
            returns(&curve, &switches),
            Some(vec![(2, 2_000.0), (4, 2_000.0), (1024, 8_600.0)])
        );
        // Fewer than one switch per hand-off is not read as a cheaper return.
        assert_eq!(
            returns(&curve, &[(2, 1.0), (4, 0.9), (1024, 1.0)]),
            Some(vec![(2, 2_000.0), (4, 3_000.0), (1024, 9_000.0)])
        );
        // A point without a count, a ring that counted no switch, or no pair: no curve.
        assert_eq!(returns(&curve, &switches[..2]), None);
        assert_eq!(returns(&curve, &[(2, 1.0), (4, 0.0), (1024, 1.2)]), None);
        assert_eq!(returns(&curve[1..], &switches[1..]), None);
    }

    #[test]
    fn the_grid_covers_each_level_and_four_times_the_last() {
        let sizes = CacheSizes::this_vm();
        let points = grid(&sizes, 4 * (260 << 20));
        assert_eq!(points[0], 0);
        assert!(points.windows(2).all(|w| w[0] < w[1]), "{points:?}");
        for must in [
            4 << 10,
            24 << 10,
            48 << 10,
            96 << 10,
            128 << 10,
            512 << 10,
            1 << 20,
            2 << 20,
            4 << 20,
            8 << 20,
            16 << 20,
        ] {
            assert!(points.contains(&must), "{must} missing from {points:?}");
        }
        assert_eq!(*points.last().unwrap(), 4 * (260 << 20));
        let quick = grid(&sizes, 4 << 20);
        assert_eq!(*quick.last().unwrap(), 4 << 20);
        // Without sysfs: powers of 4 only.
        assert_eq!(
            grid(&CacheSizes::default(), 64 << 10),
            vec![0, 4 << 10, 16 << 10, 64 << 10]
        );
    }

    #[test]
    fn the_json_shapes_are_lists_of_arrays() {
        let costs = IndirectCosts {
            cache_bytes: CacheSizes::this_vm(),
            l3_shared_by: Some(2),
            switch_working_set_ns: Some(vec![(0, 1_800.0), (4_096, 1_900.0)]),
            switch_background: Some(vec![(1, 9_000.0, 4e6, 2_500.0)]),
            ..IndirectCosts::default()
        };
        let value = serde_json::to_value(&costs).unwrap();
        assert_eq!(
            value["cache_bytes"],
            serde_json::json!({"l1d": 49152, "l2": 2097152, "l3": 272629760})
        );
        assert_eq!(
            value["switch_working_set_ns"],
            serde_json::json!([[0, 1800.0], [4096, 1900.0]])
        );
        assert_eq!(
            value["switch_background"],
            serde_json::json!([[1, 9000.0, 4e6, 2500.0]])
        );
        assert!(value["switch_runnable_ns"].is_null());
        let back: IndirectCosts = serde_json::from_value(value).unwrap();
        assert_eq!(back.switch_working_set_ns, costs.switch_working_set_ns);
    }

    #[test]
    fn a_tiny_plan_measures_something_of_every_curve() {
        let sizes = CacheSizes::this_vm();
        let mut plan = Plan::quick(&sizes, Duration::from_millis(600));
        plan.max_bytes = 64 << 10;
        plan.threads = vec![2, 4];
        plan.hogs = vec![0, 1];
        let mut notes = Vec::new();
        let costs = measure(&sizes, &plan, &mut notes, &mut |_| {});
        let curve = costs.switch_working_set_ns.unwrap();
        assert_eq!(curve[0].0, 0, "{notes:?}");
        assert!(costs.switch_runnable_ns.unwrap().len() == 2, "{notes:?}");
        assert!(costs.switch_background.unwrap().len() == 2, "{notes:?}");
    }
}
