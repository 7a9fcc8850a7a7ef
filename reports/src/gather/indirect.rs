//! The indirect cost of a switch for charts 1 and 11: this run's curves when it measured them,
//! else the committed reference measurement, saying which.

use micro::calibration::{Budget, Calibration};
use micro::indirect::{IndirectCosts, Plan};

use crate::chart::indirect::Indirect;
use crate::gather::Measured;

/// The committed calibration that has the curves: the fallback when this run's figures lack
/// them (Criterion results from before issue 12, or a pass that ran out of time).
pub const REFERENCE_NAME: &str = "micro/reference/2026-11-30-xeon-2core-cache.json";
const REFERENCE: &str = include_str!("../../../micro/reference/2026-11-30-xeon-2core-cache.json");

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
        "the committed reference {REFERENCE_NAME} ({}, taken under load), because this run's figures lack the curve",
        reference.cpu_model
    );
    Ok(from(&reference.indirect, None, source))
}

fn from(c: &IndirectCosts, limit: Option<u64>, source: String) -> Indirect {
    let list = |v: &Option<Vec<(u64, f64)>>| v.clone().unwrap_or_default();
    Indirect {
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
