//! Chart 10's data: the newest committed `testbed grid` results, with every prediction
//! recomputed by the current simulator from the file's costs and per-server overheads (so the
//! chart follows later model changes; the measurements stay as they were taken).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sim::unit::{format_duration, format_size};
use testbed::grid::Results;
use testbed::point::Outcome;
use testbed::workload::Step;

use crate::chart::testbed::{Testbed, TestbedPoint};

/// The newest `*.json` in `dir` (file names start with the date, so the last by name).
pub fn newest(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "no testbed results in {} ({e}); run `testbed grid --out {}/DATE-MACHINE.json`",
            dir.display(),
            dir.display()
        )
    })?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max()
        .ok_or_else(|| format!("no testbed results (*.json) in {}", dir.display()))
}

/// How a point's workload is named on the chart: the steps for in-tree servers, the page for
/// third-party ones.
fn workload(outcome: &Outcome) -> String {
    let p = &outcome.point;
    if p.server.is_in_tree() {
        let steps: Vec<String> = p
            .workload
            .steps
            .iter()
            .map(|step| match step {
                Step::Cpu(d) => format!("cpu {}", format_duration(d.as_nanos() as u64)),
                Step::Sleep(d) => format!("sleep {}", format_duration(d.as_nanos() as u64)),
            })
            .collect();
        let mut name = steps.join(" + ");
        if p.workload.working_set > 0 {
            name.push_str(&format!(", {}", format_size(p.workload.working_set)));
        }
        name
    } else if p.workload.steps.is_empty() {
        "static 1 KiB".into()
    } else {
        "W2 sleep 0.1 s".into()
    }
}

/// Reads the newest results in `dir` and recomputes the predictions.
pub fn testbed(dir: &Path) -> Result<Testbed, String> {
    let path = newest(dir)?;
    let results = Results::read(&path).map_err(|e| format!("{e:#}"))?;
    let points = results
        .points
        .par_iter()
        .map(|o| {
            let predicted = results
                .overhead_for(&o.point)
                .filter(|_| o.error.is_none())
                .and_then(|overhead| {
                    testbed::predict::predict(&o.point, &results.costs, overhead).ok()
                });
            TestbedPoint {
                server: o.point.server.to_string(),
                workload: workload(o),
                concurrency: f64::from(o.point.concurrency),
                measured_rps: o.measured.rps,
                predicted_rps: predicted.and_then(|f| f.rps),
                measured_p99_ms: o.measured.p99_ms,
                predicted_p99_ms: predicted.and_then(|f| f.p99_ms),
                load_bound: o.load_bound,
            }
        })
        .collect();
    let m = &results.machine;
    Ok(Testbed {
        machine: format!("{}, {} cores, Linux {}", m.cpu_model, m.cores, m.kernel),
        date: results.date.clone(),
        points,
    })
}
