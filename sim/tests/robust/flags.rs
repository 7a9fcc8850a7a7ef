//! Every flag of `sim run`, `sim sweep` and `sim check` with out-of-range, negative, huge and
//! malformed values, each run as a process under RLIMIT_AS and a timeout: it must end with
//! 0, 1 (with a cause) or 2, never a panic, abort or hang.

use std::time::Duration;

use crate::process::problems;
use crate::run_sim;

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
    let dir = scratch.path();
    let base = crate::corpus::dir().join("base.toml").display().to_string();
    let mut failures = Vec::new();
    let mut runs = 0;
    for &(command, flag) in FLAGS {
        for &value in BAD {
            // `--flag=value`, so a value starting with '-' is a value, not a flag.
            let mut args: Vec<String> = vec![command.into(), base.clone(), "-q".into()];
            args.push(format!("{flag}={value}"));
            if flag != "--requests" {
                args.push("--requests=200".into());
            }
            let outcome = run_sim(&args, dir, Duration::from_secs(20));
            runs += 1;
            let problems = problems(&outcome);
            if !problems.is_empty() {
                failures.push(format!(
                    "sim {}: {}\n  {}",
                    args.join(" "),
                    problems.join("; "),
                    outcome.describe()
                ));
            }
        }
    }
    for file in ["/dev/zero", "/nonexistent/x", ".", "", "-"] {
        let outcome = run_sim(&["check".into(), file.into()], dir, Duration::from_secs(20));
        runs += 1;
        let problems = problems(&outcome);
        if !problems.is_empty() {
            failures.push(format!("sim check {file:?}: {}", problems.join("; ")));
        }
    }
    eprintln!("flags: {runs} runs, {} with problems", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
