//! Every flag of `reports` with out-of-range, negative, huge, malformed and special-file values,
//! each run as a process under RLIMIT_AS and a timeout: it must end with 0, 1 or 2 and a
//! message, never a panic, a signal or a hang (issue 14).
//!
//! Nothing is measured or simulated: each run pairs the flag under test with another input that
//! `reports` refuses (exit 2) before any work, checked after the flag under test where the order
//! allows, so an accepted value costs milliseconds instead of a full report.

use std::path::Path;

use crate::flag_fuzz::{ARGUMENT_CHECK_TIME, case, fuzz, refused};

/// Values that no path flag should choke on (relative paths: a run may create directories).
const BAD: &[&str] = &[
    "0",
    "-1",
    "18446744073709551616",
    "1e300",
    "nan",
    "",
    "abc",
    "1,,2",
    "\u{1}",
    "/dev/zero",
    "/dev/null",
    "nonexistent/x",
    ".",
    "file",
    "file/below",
    "costs.toml",
];

/// Each flag with the companion that stops the run before any work.
const CASES: &[(&str, &[&str])] = &[
    ("--costs", &["--out=file/out"]),
    (
        "--out",
        &["--costs=costs.toml", "--gallery", "--gallery-dir=file/g"],
    ),
    ("--gallery-dir", &["--gallery", "--costs=missing.toml"]),
    ("--from-criterion", &["--costs=missing.toml"]),
    ("--testbed-results", &["--costs=missing.toml"]),
];

#[test]
fn every_flag_with_bad_values() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("file"), "").unwrap();
    std::fs::write(dir.join("costs.toml"), "[costs]\nthread_switch = \"2us\"\n").unwrap();
    let mut cases = Vec::new();
    for &(flag, companion) in CASES {
        for &value in BAD {
            for quick in [&[][..], &["--quick"][..]] {
                cases.push(case(
                    &["--quiet"],
                    flag,
                    value,
                    &[companion, quick].concat(),
                ));
            }
        }
    }
    fuzz(
        "reports",
        Path::new(env!("CARGO_BIN_EXE_reports")),
        dir,
        ARGUMENT_CHECK_TIME * 2,
        cases,
        |outcome| refused(outcome, "it made a report"),
    );
}
