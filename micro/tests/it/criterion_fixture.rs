//! Criterion's private `estimates.json`, read from a real run of the pinned Criterion version.
//!
//! The files under `tests/fixtures/criterion-0.8.2` were copied from `cargo bench -p micro`
//! with Criterion =0.8.2 (root Cargo.toml). If an upgrade changes the format, this fails.

use std::path::Path;

#[test]
fn a_real_criterion_run_is_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion-0.8.2");
    let estimate = micro::calibration::criterion_estimate(&dir, "thread_switch/same_core")
        .unwrap()
        .unwrap();
    assert!(estimate.lower_ns <= estimate.mean_ns && estimate.mean_ns <= estimate.upper_ns);
    assert!(estimate.mean_ns > 0.0);
    assert_eq!(estimate.confidence_level, 0.95);
    let calibration = micro::from_criterion(&dir).unwrap().unwrap();
    assert_eq!(
        calibration.thread_switch_same_core_ns,
        Some(estimate.mean_ns)
    );
    let curve = calibration.indirect.switch_working_set_ns.unwrap();
    assert_eq!(curve.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 4096]);
    assert!(curve.iter().all(|p| p.1 > 0.0));
    assert!(calibration.indirect.switch_background.is_none());
}
