//! The indirect cost of a switch for charts 1 and 11: this run's curves when it measured them,
//! else the committed reference measurement, saying which.

use micro::calibration::{Budget, Calibration};
use micro::indirect::{Curve, IndirectCosts, Plan};

use crate::chart::indirect::Indirect;
use crate::gather::Measured;

/// The committed calibration that has the curves: the fallback when this run's figures lack
/// them (Criterion results from before issue 12, or a pass that ran out of time).
pub const REFERENCE_NAME: &str = "micro/reference/2026-12-01-xeon-2core-quiet.json";
const REFERENCE: &str = include_str!("../../../micro/reference/2026-12-01-xeon-2core-quiet.json");

/// The curves of `m`, or of the committed reference when `m` has no working-set curve.
/// `budget` is the one `m`'s calibrate pass ran with (`None` for Criterion's results).
pub fn curves(m: &Measured, budget: Option<&Budget>) -> Result<Indirect, String> {
    let fresh = &m.calibration.indirect;
    if fresh
        .switch_working_set_ns
        .as_ref()
        .is_some_and(|v| !v.is_empty())
    {
        let limit = budget.and_then(|b| {
            let plan = Plan::for_budget(&fresh.cache_bytes, b.total());
            let full = Plan::full(&fresh.cache_bytes, b.total());
            (plan.max_bytes < full.max_bytes).then_some(plan.max_bytes)
        });
        let source = match budget {
            Some(_) => "this run's quick calibrate pass".to_string(),
            None => "this run's Criterion results".to_string(),
        };
        return Ok(from(fresh, limit, source));
    }
    let reference: Calibration = serde_json::from_str(REFERENCE)
        .map_err(|e| format!("the committed reference {REFERENCE_NAME} does not parse: {e}"))?;
    let source = format!(
        "the committed reference {REFERENCE_NAME} ({}, taken quiet), because this run's figures lack the curve",
        reference.cpu_model
    );
    Ok(from(&reference.indirect, None, source))
}

fn from(c: &IndirectCosts, limit: Option<u64>, source: String) -> Indirect {
    let list = |v: &Option<Vec<(u64, f64)>>| v.clone().unwrap_or_default();
    let (model_random, model_runnable_64kib, model_missing) = match model(c) {
        Ok((random, ring)) => (random, ring, None),
        Err(why) => (Vec::new(), Vec::new(), Some(why)),
    };
    Indirect {
        model_random,
        model_runnable_64kib,
        model_missing,
        preempted: c
            .switch_working_set_switches
            .iter()
            .flatten()
            .filter(|&&(_, switches)| (switches - 1.0).abs() > 0.25)
            .map(|&(bytes, _)| bytes)
            .collect(),
        random: list(&c.switch_working_set_ns),
        sequential: list(&c.switch_working_set_seq_ns),
        runnable: list(&c.switch_runnable_ns),
        runnable_64kib: list(&c.switch_runnable_64kib_ns),
        l2: c.cache_bytes.l2,
        l3: c.cache_bytes.l3,
        limit,
        source,
    }
}

/// The simulator's figure for every measured point of the random-order working-set curve and
/// of the 64 KiB ring: each benchmark written as a scenario (a ring of closed-loop clients, one
/// thread each, on one core) and run by `sim`, whose cache model is given only what `c`
/// measured: the cache sizes, the lone walk's line-latency curve (so `sim` uses its curve
/// formula; without the curve, the level formula with the refill rates), the cache lifetime
/// and the curve's W = 0 point as the direct switch. Nothing is fitted to the curves.
fn model(c: &IndirectCosts) -> Result<(Curve, Curve), String> {
    let curve = c.switch_working_set_ns.as_deref().unwrap_or_default();
    let direct = match curve.first() {
        Some(&(0, ns)) => ns,
        _ => return Err("the working-set curve has no W = 0 point (the direct switch)".into()),
    };
    let sizes = c.cache_bytes;
    let (Some(l1d), Some(l2), Some(l3)) = (sizes.l1d, sizes.l2, sizes.l3) else {
        return Err("the cache sizes are not known".into());
    };
    let line_latency = c
        .line_latency_ns
        .as_deref()
        .and_then(|points| sim::cost::LineLatency::new(points).ok());
    if line_latency.is_none()
        && c.refill_l2_ns_per_line.is_none()
        && c.refill_l3_ns_per_line.is_none()
    {
        // Criterion's results carry no baselines, so no rates: a model line drawn with the
        // reference's rates would not be this machine's model.
        return Err("neither the line-latency curve nor the refill rates were measured (Criterion's results carry no walk baselines; calibrate measures them)".into());
    }
    let mut costs = format!(
        "thread_switch = \"{}ns\"\nthread_wakeup = \"0ns\"\nthread_spawn = \"0ns\"\n\
         spawn_thread_cpu = \"0ns\"\ncache_l1d = \"{l1d}B\"\ncache_l2 = \"{l2}B\"\n\
         cache_l3 = \"{l3}B\"\n",
        direct.round()
    );
    for (key, rate) in [
        ("refill_l2_per_line", c.refill_l2_ns_per_line),
        ("refill_l3_per_line", c.refill_l3_ns_per_line),
        ("refill_memory_per_line", c.refill_memory_ns_per_line),
    ] {
        // An unmeasured rate keeps the reference value (the model raises a deeper rate that
        // is lower to the level above's).
        if let Some(ns) = rate.filter(|ns| ns.is_finite() && *ns >= 0.0) {
            costs.push_str(&format!("{key} = \"{ns}ns\"\n"));
        }
    }
    if let Some(curve) = line_latency {
        costs.push_str(&format!("line_latency = {}\n", curve.to_toml()));
    }
    if let Some(ns) = c.l3_lifetime_ns.filter(|ns| ns.is_finite() && *ns > 0.0) {
        costs.push_str(&format!("cache_lifetime = \"{}ns\"\n", ns.round()));
    }
    // Each hand-off's own work sets how long a thread is away (see `cache_lifetime`).
    let work_ns = |w: u64| sim::scenario::benchmark_work_ns(line_latency.as_ref(), w);
    // The ring runs round robin with a 1 s slice (see `sim::scenario::ring`): under EEVDF the
    // next wake-up would cut a long refill short, and the per-switch figure is what this draws.
    let run = |threads: u64, w: u64| -> Result<f64, String> {
        let config = sim::scenario::ring(&costs, threads, w, work_ns(w))
            .map_err(|e| format!("the ring scenario does not parse: {e}"))?;
        let r = sim::simulate(&config).map_err(|e| format!("the ring did not run: {e}"))?;
        let core_ns = r.simulated_seconds * 1e9 * r.cores as f64;
        Ok((r.cpu.switching + r.cpu.refill) * core_ns / r.context_switches.max(1) as f64)
    };
    let random = curve
        .iter()
        .map(|&(w, _)| Ok((w, run(2, w)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let ring = c
        .switch_runnable_64kib_ns
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|&(n, _)| Ok((n, run(n, micro::indirect::RUNNABLE_BYTES as u64)?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((random, ring))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_fresh_curves_the_reference_is_used_and_named() {
        let m = Measured {
            calibration: Calibration::default(),
            source: "a quick calibrate pass".into(),
            notes: Vec::new(),
        };
        let c = curves(&m, Some(&Budget::tiny())).unwrap();
        assert!(c.source.contains(REFERENCE_NAME), "{}", c.source);
        assert!(c.random.len() >= 5, "{:?}", c.random);
        assert!(!c.runnable_64kib.is_empty());
        assert_eq!(c.limit, None);
        // The model line: one simulated figure per measured point, the W = 0 point being the
        // direct switch itself.
        assert_eq!(c.model_missing, None);
        assert_eq!(c.model_random.len(), c.random.len());
        assert_eq!(c.model_runnable_64kib.len(), c.runnable_64kib.len());
        assert!(
            (c.model_random[0].1 - c.random[0].1).abs() <= 1.0,
            "{:?}",
            c.model_random
        );
    }

    #[test]
    fn a_quick_pass_says_where_its_curve_stops() {
        let mut calibration = Calibration::default();
        calibration.indirect.cache_bytes.l2 = Some(1 << 20);
        calibration.indirect.cache_bytes.l3 = Some(32 << 20);
        calibration.indirect.switch_working_set_ns = Some(vec![(0, 1_000.0), (2 << 20, 9_000.0)]);
        let m = Measured {
            calibration,
            source: "a quick calibrate pass".into(),
            notes: Vec::new(),
        };
        let c = curves(&m, Some(&Budget::tiny())).unwrap();
        assert_eq!(c.limit, Some(2 << 20));
        assert!(c.verdict().contains("stops at 2 MiB"), "{}", c.verdict());
        let criterion = curves(&m, None).unwrap();
        assert_eq!(criterion.limit, None);
    }
}
