//! Criterion's results as a [`Calibration`]: where each benchmark's estimate goes, and how
//! Criterion's `estimates.json` is read.

use std::path::Path;

use crate::error::Error;
use crate::machine;

use super::Calibration;

/// Picks one field of a [`Calibration`].
type Field = fn(&mut Calibration) -> &mut Option<f64>;

/// Where each Criterion benchmark's result goes in a [`Calibration`].
const CRITERION_IDS: &[(&str, Field)] = &[
    ("add/dependent", |c| &mut c.add_ns),
    ("thread_switch/same_core", |c| {
        &mut c.thread_switch_same_core_ns
    }),
    ("thread_switch/cross_core", |c| {
        &mut c.thread_wakeup_cross_core_ns
    }),
    ("thread_switch/spin_handoff", |c| {
        &mut c.spin_handoff_cross_core_ns
    }),
    ("thread_switch/unpinned", |c| {
        &mut c.thread_switch_unpinned_ns
    }),
    ("task_switch/may", |c| &mut c.task_switch_may_ns),
    ("task_switch/tokio", |c| &mut c.task_switch_tokio_ns),
    ("spawn/thread", |c| &mut c.spawn_thread_ns),
    ("spawn/may", |c| &mut c.spawn_may_ns),
    ("spawn/tokio", |c| &mut c.spawn_tokio_ns),
];

/// Criterion's estimate of a benchmark's mean time per iteration, with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CriterionEstimate {
    /// Point estimate of the mean, ns.
    pub mean_ns: f64,
    /// Lower bound of the confidence interval, ns.
    pub lower_ns: f64,
    /// Upper bound of the confidence interval, ns.
    pub upper_ns: f64,
    /// Confidence level of the interval (0.95 by default).
    pub confidence_level: f64,
}

#[derive(serde::Deserialize)]
struct Estimates {
    mean: Statistic,
}

#[derive(serde::Deserialize)]
struct Statistic {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(serde::Deserialize)]
struct Interval {
    confidence_level: f64,
    lower_bound: f64,
    upper_bound: f64,
}

/// Reads `<dir>/<id>/new/estimates.json` (e.g. id `thread_switch/same_core`); `None` if that
/// benchmark has not run.
///
/// `estimates.json` is Criterion's private working file: its book documents `--save-baseline`
/// (which writes the same files under another directory name) but not their format, and the
/// only documented machine-readable output, `--message-format=json`, belongs to the separate
/// and experimental `cargo-criterion` runner, not to `cargo bench`. With no documented route,
/// the workspace pins Criterion exactly (root `Cargo.toml`) and a test reads files from a real
/// run of that version (`micro/tests/fixtures/criterion-0.8.2/`).
pub fn criterion_estimate(dir: &Path, id: &str) -> Result<Option<CriterionEstimate>, Error> {
    let path = dir.join(id).join("new").join("estimates.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let estimates: Estimates = serde_json::from_str(&text).map_err(|e| Error::Malformed {
        path: path.clone(),
        reason: format!("not Criterion's estimates format ({e})"),
    })?;
    let mean = estimates.mean;
    Ok(Some(CriterionEstimate {
        mean_ns: mean.point_estimate,
        lower_ns: mean.confidence_interval.lower_bound,
        upper_ns: mean.confidence_interval.upper_bound,
        confidence_level: mean.confidence_interval.confidence_level,
    }))
}

/// Every benchmark id `cargo bench -p micro` writes, in the bench file's order.
pub fn criterion_ids() -> Vec<&'static str> {
    vec![
        "add/dependent",
        "add/independent",
        "thread_switch/same_core",
        "thread_switch/cross_core",
        "thread_switch/unpinned",
        "thread_switch/spin_handoff",
        "task_switch/may",
        "task_switch/may_channel",
        "task_switch/tokio",
        "task_switch/tokio_yield",
        "spawn/thread",
        "spawn/may",
        "spawn/tokio",
        "spawn/rayon_join",
    ]
}

/// Builds a [`Calibration`] from Criterion's results under `dir` (usually `target/criterion`),
/// taking each benchmark's mean; `None` if no micro benchmark has run there.
///
/// Memory fields stay `None` (Criterion measures time only) and the machine fields describe
/// the machine reading the results, which is assumed to be the one that ran them.
pub fn from_criterion(dir: &Path) -> Result<Option<Calibration>, Error> {
    let mut calibration = Calibration {
        cpu_model: machine::cpu_model(),
        cores: machine::cores(),
        kernel: machine::kernel(),
        ..Calibration::default()
    };
    let mut found = false;
    for (id, field) in CRITERION_IDS {
        if let Some(estimate) = criterion_estimate(dir, id)? {
            *field(&mut calibration) = Some(estimate.mean_ns);
            found = true;
        }
    }
    calibration.indirect = crate::indirect::from_criterion(dir)?;
    found |= calibration.indirect.switch_working_set_ns.is_some();
    Ok(found.then_some(calibration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_estimates_are_read_with_their_interval() {
        let dir = tempfile::tempdir().unwrap();
        assert!(from_criterion(dir.path()).unwrap().is_none());
        let bench = dir.path().join("thread_switch/same_core/new");
        std::fs::create_dir_all(&bench).unwrap();
        std::fs::write(
            bench.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1300.0,"upper_bound":1500.0},"point_estimate":1400.0,"standard_error":50.0},
                "median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1}}"#,
        )
        .unwrap();
        let calibration = from_criterion(dir.path()).unwrap().unwrap();
        assert_eq!(calibration.thread_switch_same_core_ns, Some(1400.0));
        assert_eq!(calibration.add_ns, None);
        let estimate = criterion_estimate(dir.path(), "thread_switch/same_core")
            .unwrap()
            .unwrap();
        assert_eq!((estimate.lower_ns, estimate.upper_ns), (1300.0, 1500.0));
        for (id, _) in CRITERION_IDS {
            assert!(
                criterion_ids().contains(id),
                "{id} missing from the listing"
            );
        }

        std::fs::write(bench.join("estimates.json"), "{}").unwrap();
        assert!(matches!(
            from_criterion(dir.path()),
            Err(Error::Malformed { .. })
        ));
    }
}
