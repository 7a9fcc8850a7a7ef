//! The flag fuzzers' loop: a binary run once per argument list (each flag with out-of-range,
//! negative, huge, malformed and special-file values) under [`run_limited`]'s memory limit and
//! a timeout. The test fails listing every run in which the caller's judge finds a problem
//! (issue 14): a panic, a signal, a hang, an exit code other than 0, 1 or 2, a failure without a
//! message.
//!
//! Shared by the flag tests of `sim`, `calibrate`, `reports` and `testbed` (the last three
//! include this file by path, as they do `limited.rs`), so each keeps only its own table of
//! flags, values and companion arguments. The runs are a fixed list, the same on every run:
//! `FUZZ_SEED` picks the cases of the mutation fuzzers, not these.

use std::path::Path;
use std::time::Duration;

use crate::limited::{Outcome, run_limited};

/// Wall time one run that only checks its arguments may take.
pub const ARGUMENT_CHECK_TIME: Duration = Duration::from_secs(10);
/// Resident memory one run that only checks its arguments may reach.
pub const ARGUMENT_CHECK_RSS: u64 = 512 << 20;

/// The arguments of one case: `before`, then `flag=value`, then `after`. With `=`, a value
/// starting with '-' is the flag's value, not another flag.
pub fn case(before: &[&str], flag: &str, value: &str, after: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = before.iter().map(|s| s.to_string()).collect();
    args.push(format!("{flag}={value}"));
    args.extend(after.iter().map(|s| s.to_string()));
    args
}

/// The judge of a binary whose every case has something to fix (each pairs the flag under test
/// with an input the binary refuses before any work): the bounds of an argument check, and no
/// exit 0, which would mean it did the work; `accepted` says what that work is.
pub fn refused(outcome: &Outcome, accepted: &str) -> Vec<String> {
    let mut problems = outcome.problems(ARGUMENT_CHECK_TIME, ARGUMENT_CHECK_RSS);
    if outcome.code == Some(0) {
        problems.push(format!("exit 0 ({accepted} instead of refusing)"));
    }
    problems
}

/// Runs `program` (`name` in messages) in `dir` once per argument list of `cases`, each killed
/// after `timeout`, prints how many runs ended with each exit code, and fails listing every run
/// in which `judge` finds a problem, with how it ended.
pub fn fuzz(
    name: &str,
    program: &Path,
    dir: &Path,
    timeout: Duration,
    cases: impl IntoIterator<Item = Vec<String>>,
    judge: impl Fn(&Outcome) -> Vec<String>,
) {
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut codes = [0u32; 3];
    for args in cases {
        let outcome = run_limited(program, &args, dir, timeout);
        runs += 1;
        if let Some(c) = outcome.code.filter(|c| (0..=2).contains(c)) {
            codes[c as usize] += 1;
        }
        let problems = judge(&outcome);
        if !problems.is_empty() {
            failures.push(format!(
                "{name} {}: {}\n  {}",
                args.join(" "),
                problems.join("; "),
                outcome.describe()
            ));
        }
    }
    eprintln!(
        "{name} flags: {runs} runs, exit 0/1/2: {codes:?}, {} with problems",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
