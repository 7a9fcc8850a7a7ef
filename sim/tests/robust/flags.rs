//! Every flag of `sim run`, `sim sweep` and `sim check` with out-of-range, negative, huge and
//! malformed values, each run as a process under RLIMIT_AS and a timeout: it must end with
//! 0, 1 (with a cause) or 2, never a panic, abort or hang.

use std::path::Path;
use std::time::Duration;

use crate::flag_fuzz::{case, fuzz};
use crate::process::problems;

/// Values that no numeric, list or path flag should choke on.
const BAD: &[&str] = &[
    "0",
    "-1",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1e-9",
    "1e300",
    "nan",
    "inf",
    "",
    "abc",
    "1,,2",
    "/dev/zero",
    "/nonexistent/x",
    ".",
];

/// (subcommand, flag) pairs; `run` and `sweep` share [`BAD`] for each.
const FLAGS: &[(&str, &str)] = &[
    ("run", "--cores"),
    ("run", "--rate"),
    ("run", "--concurrency"),
    ("run", "--seed"),
    ("run", "--requests"),
    ("run", "--max-events"),
    ("run", "--model"),
    ("run", "--costs"),
    ("run", "--pricing"),
    ("run", "--replications"),
    ("sweep", "--cores"),
    ("sweep", "--rates"),
    ("sweep", "--concurrency"),
    ("sweep", "--models"),
    ("sweep", "--out"),
    ("sweep", "--shard"),
    ("sweep", "--slo"),
    ("sweep", "--pricing"),
    ("sweep", "--max-events"),
];

#[test]
fn every_flag_with_bad_values() {
    // Runs happen in a scratch directory: `--out abc` must not write into the corpus.
    let scratch = tempfile::tempdir().unwrap();
    let base = crate::corpus::dir().join("base.toml").display().to_string();
    let mut cases = Vec::new();
    for &(command, flag) in FLAGS {
        let requests: &[&str] = match flag {
            "--requests" => &[],
            _ => &["--requests=200"],
        };
        for &value in BAD {
            cases.push(case(&[command, &base, "-q"], flag, value, requests));
        }
    }
    for file in ["/dev/zero", "/nonexistent/x", ".", "", "-"] {
        cases.push(vec!["check".into(), file.into()]);
    }
    fuzz(
        "sim",
        Path::new(env!("CARGO_BIN_EXE_sim")),
        scratch.path(),
        Duration::from_secs(20),
        cases,
        problems,
    );
}
