//! Every flag of `testbed serve`, `load`, `run` and `grid` with out-of-range, negative, huge,
//! malformed and special-file values, each run as a process under RLIMIT_AS and a timeout: it
//! must end with 0, 1 or 2 and a message, never a panic, a signal or a hang (issue 14).
//!
//! No server starts and no load is sent: each run pairs the flag under test with an input that
//! `testbed` refuses before any work (checked after the flag under test where the order allows):
//! `--costs` naming a missing file for `run` and `grid` (read just before the first server
//! starts), a malformed `--working-set` for `serve`, and for `load` a loopback port nothing
//! listens on (the probe's refused connect fails the run at once, exit 1).

use std::path::Path;

use crate::flag_fuzz::{ARGUMENT_CHECK_TIME, case, fuzz, refused};

/// Values that no flag should choke on (relative paths: a run may create files).
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
    "-5s",
    "1e300s",
    "0s",
    "",
    "abc",
    "1,,2",
    "\u{1}",
    "/dev/zero",
    "/dev/null",
    "nonexistent/x",
    ".",
    "cpu=1ms,,sleep=",
];

/// (subcommand and its fixed arguments, flag under test, companion arguments).
const CASES: &[(&[&str], &str, &[&str])] = &[
    (
        &["serve", "--server=threads"],
        "--cores",
        &["--working-set=bogus"],
    ),
    (
        &["serve", "--server=threads"],
        "--port",
        &["--working-set=bogus"],
    ),
    (
        &["serve", "--server=threads"],
        "--cpu",
        &["--working-set=bogus"],
    ),
    (
        &["serve", "--server=threads"],
        "--sleep",
        &["--working-set=bogus"],
    ),
    (
        &["serve", "--server=threads"],
        "--steps",
        &["--working-set=bogus"],
    ),
    (
        &["serve", "--server=threads"],
        "--working-set",
        &["--sleep=bogus"],
    ),
    (&["serve"], "--server", &["--working-set=bogus"]),
    (&["load", "http://127.0.0.1:1/"], "--concurrency", &[]),
    (&["load", "http://127.0.0.1:1/"], "--rate", &[]),
    (&["load", "http://127.0.0.1:1/"], "--requests", &[]),
    (&["load", "http://127.0.0.1:1/"], "--duration", &[]),
    (&["load", "http://127.0.0.1:1/"], "--warmup", &[]),
    (&["load", "http://127.0.0.1:1/"], "--timeout", &[]),
    (&["load", "http://127.0.0.1:1/"], "--connect-rate", &[]),
    (&["load", "http://127.0.0.1:1/"], "--spin", &[]),
    (&["load", "http://127.0.0.1:1/"], "--cores", &[]),
    (&["load", "http://127.0.0.1:1/"], "--server-pid", &[]),
    (&["load"], "--url-as-value", &[]),
    (
        &["run", "--server=threads"],
        "--cores",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--concurrency",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--rate",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--requests",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--duration",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--warmup",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--cpu",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--steps",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--working-set",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--emit-scenario",
        &["--costs=missing.toml"],
    ),
    (
        &["run", "--server=threads"],
        "--venv",
        &["--costs=missing.toml"],
    ),
    (&["run", "--server=threads"], "--costs", &[]),
    (&["run"], "--server", &["--costs=missing.toml"]),
    (&["grid"], "--out", &["--costs=missing.toml"]),
    (&["grid"], "--cores", &["--costs=missing.toml"]),
    (&["grid"], "--servers", &["--costs=missing.toml"]),
    (&["grid"], "--concurrency", &["--costs=missing.toml"]),
    (&["grid"], "--venv", &["--costs=missing.toml"]),
    (&["grid"], "--costs", &[]),
    (&["grid", "--repredict"], "--out", &[]),
];

#[test]
fn every_flag_with_bad_values() {
    let scratch = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for &(command, flag, companion) in CASES {
        for &value in BAD {
            cases.push(if flag == "--url-as-value" {
                // The URL itself, a positional argument.
                [command, &[value], companion]
                    .concat()
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                case(command, flag, value, companion)
            });
        }
    }
    fuzz(
        "testbed",
        Path::new(env!("CARGO_BIN_EXE_testbed")),
        scratch.path(),
        ARGUMENT_CHECK_TIME * 2,
        cases,
        |outcome| refused(outcome, "it did the work"),
    );
}
