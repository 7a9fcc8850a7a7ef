//! This machine's costs: Criterion's estimates or a short calibrate pass (`micro`), and
//! chart 1's data from them.

use std::path::Path;

use micro::calibration::{Budget, Calibration, calibrate, from_criterion};

use crate::chart::costs::{CostKind, CostRow, Costs};
use crate::error::ReportError;
use crate::progress::Progress;

use super::indirect;

/// This machine's measured costs and where they came from.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The measurements.
    pub calibration: Calibration,
    /// "Criterion estimates in target/criterion" or "a quick calibrate pass (N s)".
    pub source: String,
    /// Warnings and unmeasured values, from `micro`.
    pub notes: Vec<String>,
}

impl Measured {
    /// "CPU model, N cores, Linux X".
    pub fn machine(&self) -> String {
        let c = &self.calibration;
        format!("{}, {} cores, Linux {}", c.cpu_model, c.cores, c.kernel)
    }
}

/// Reads Criterion's estimates under `criterion_dir` when `cargo bench -p micro` has left
/// them, else measures with a short calibrate pass (about 4 s; 1 s when `quick`).
pub fn measure(
    criterion_dir: &Path,
    quick: bool,
    progress: &Progress,
) -> Result<Measured, ReportError> {
    match from_criterion(criterion_dir) {
        Ok(Some(calibration)) => {
            return Ok(Measured {
                calibration,
                source: format!("Criterion estimates in {}", criterion_dir.display()),
                notes: Vec::new(),
            });
        }
        Ok(None) => {}
        Err(e) => progress.note(&format!(
            "ignoring Criterion results in {}: {e}; measuring instead",
            criterion_dir.display()
        )),
    }
    let budget = budget(quick);
    let seconds = budget.total().as_secs_f64();
    let (calibration, notes) = calibrate(&budget, &mut |line: &str| progress.detail(line));
    Ok(Measured {
        calibration,
        source: format!(
            "a quick calibrate pass ({seconds:.0} s; `cargo bench -p micro` gives steadier numbers)"
        ),
        notes,
    })
}

/// The calibrate pass's budget when there are no Criterion results.
pub fn budget(quick: bool) -> Budget {
    if quick {
        Budget::tiny()
    } else {
        Budget::quick()
    }
}

/// `c` without values no simulator could use (zero, negative or not finite: a memory slope
/// fitted on a disturbed process can come out negative), so the simulator keeps its reference
/// value for those instead of refusing the file.
pub fn usable(c: &Calibration) -> Calibration {
    let keep = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
    Calibration {
        add_ns: keep(c.add_ns),
        thread_switch_same_core_ns: keep(c.thread_switch_same_core_ns),
        thread_wakeup_cross_core_ns: keep(c.thread_wakeup_cross_core_ns),
        spin_handoff_cross_core_ns: keep(c.spin_handoff_cross_core_ns),
        thread_switch_unpinned_ns: keep(c.thread_switch_unpinned_ns),
        task_switch_may_ns: keep(c.task_switch_may_ns),
        task_switch_tokio_ns: keep(c.task_switch_tokio_ns),
        spawn_thread_ns: keep(c.spawn_thread_ns),
        spawn_may_ns: keep(c.spawn_may_ns),
        spawn_tokio_ns: keep(c.spawn_tokio_ns),
        thread_memory_bytes: keep(c.thread_memory_bytes),
        may_coroutine_memory_bytes: keep(c.may_coroutine_memory_bytes),
        tokio_task_memory_bytes: keep(c.tokio_task_memory_bytes),
        ..c.clone()
    }
}

/// Chart 1's data; `budget` is the calibrate pass's (`None` for Criterion's results).
pub fn costs(m: &Measured, budget: Option<&Budget>) -> Result<Costs, String> {
    let c = &usable(&m.calibration);
    let add_ns = c
        .add_ns
        .filter(|v| *v > 0.0)
        .ok_or("the add was not measured, so there is no unit for the chart")?;
    let row = |label: &str, kind, ns| CostRow {
        label: label.into(),
        kind,
        ns,
    };
    Ok(Costs {
        add_ns,
        rows: vec![
            row("add", CostKind::Add, Some(add_ns)),
            row(
                "task switch (tokio)",
                CostKind::TaskSwitch,
                c.task_switch_tokio_ns,
            ),
            row(
                "coroutine switch (may)",
                CostKind::TaskSwitch,
                c.task_switch_may_ns,
            ),
            row(
                "thread switch, same core",
                CostKind::ThreadSwitch,
                c.thread_switch_same_core_ns,
            ),
            row(
                "thread switch, unpinned",
                CostKind::ThreadSwitch,
                c.thread_switch_unpinned_ns,
            ),
            row(
                "thread wake-up, cross core",
                CostKind::Wakeup,
                c.thread_wakeup_cross_core_ns,
            ),
            row(
                "spin hand-off, cross core",
                CostKind::Floor,
                c.spin_handoff_cross_core_ns,
            ),
        ],
        source: if m.source.starts_with("Criterion") {
            "Criterion".into()
        } else {
            "quick calibrate".into()
        },
        indirect: indirect::curves(m, budget).ok(),
    })
}
