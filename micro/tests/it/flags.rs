//! Every flag of `calibrate` with out-of-range, negative, huge, malformed and special-file
//! values, each run as a process under RLIMIT_AS and a timeout: it must end with 0, 1 or 2 and
//! a message, never a panic, a signal or a hang (issue 14).
//!
//! Nothing is measured: each run also names an empty `--from-criterion` directory, which
//! `calibrate` refuses (exit 2) after checking every other flag, so a value it accepts costs
//! milliseconds instead of a 30 s calibration.

use std::path::Path;

use crate::flag_fuzz::{ARGUMENT_CHECK_TIME, case, fuzz, refused};

/// Values that no flag should choke on.
const BAD: &[&str] = &[
    "0",
    "-1",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1e-9",
    "1e300",
    "1e300s",
    "nan",
    "inf",
    "-5s",
    "0s",
    "61m",
    "",
    "abc",
    "1,,2",
    "\u{1}",
    "/dev/zero",
    "/dev/null",
    "/nonexistent/x",
    ".",
];

/// The flags of `calibrate` that take a value.
const FLAGS: &[&str] = &["--budget", "--out", "--from-criterion"];

#[test]
fn every_flag_with_bad_values() {
    let scratch = tempfile::tempdir().unwrap();
    // Runs happen here, so `--out abc` writes nothing into the source tree.
    let dir = scratch.path();
    std::fs::create_dir(dir.join("empty")).unwrap();
    let mut cases = Vec::new();
    for &flag in FLAGS {
        let empty: &[&str] = match flag {
            "--from-criterion" => &[],
            _ => &["--from-criterion=empty"],
        };
        for &value in BAD {
            for extra in [&[][..], &["--json"][..], &["--quick", "--quiet"][..]] {
                cases.push(case(&[], flag, value, &[empty, extra].concat()));
            }
        }
    }
    fuzz(
        "calibrate",
        Path::new(env!("CARGO_BIN_EXE_calibrate")),
        dir,
        ARGUMENT_CHECK_TIME * 2,
        cases,
        |outcome| refused(outcome, "it measured"),
    );
}
