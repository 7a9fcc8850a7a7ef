//! Every flag of `calibrate` with out-of-range, negative, huge, malformed and special-file
//! values, each run as a process under RLIMIT_AS and a timeout: it must end with 0, 1 or 2 and
//! a message, never a panic, a signal or a hang (issue 14).
//!
//! Nothing is measured: each run also names an empty `--from-criterion` directory, which
//! `calibrate` refuses (exit 2) after checking every other flag, so a value it accepts costs
//! milliseconds instead of a 30 s calibration.

use std::path::Path;
use std::time::Duration;

use crate::limited::run_limited;

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

const FLAGS: &[&str] = &["--budget", "--out", "--from-criterion"];

/// Wall time one run may take: argument checks only.
const TIME: Duration = Duration::from_secs(10);
/// Resident memory one run may reach.
const RSS: u64 = 512 << 20;

#[test]
fn every_flag_with_bad_values() {
    let scratch = tempfile::tempdir().unwrap();
    // Runs happen here, so `--out abc` writes nothing into the source tree.
    let dir = scratch.path();
    std::fs::create_dir(dir.join("empty")).unwrap();
    let program = Path::new(env!("CARGO_BIN_EXE_calibrate"));
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut codes = [0u32; 3];
    for &flag in FLAGS {
        for &value in BAD {
            for extra in [&[][..], &["--json"][..], &["--quick", "--quiet"][..]] {
                // `--flag=value`, so a value starting with '-' is a value, not a flag.
                let mut args = vec![format!("{flag}={value}")];
                if flag != "--from-criterion" {
                    args.push("--from-criterion=empty".into());
                }
                args.extend(extra.iter().map(|s| s.to_string()));
                let outcome = run_limited(program, &args, dir, TIME * 2);
                runs += 1;
                if let Some(c) = outcome.code.filter(|c| (0..=2).contains(c)) {
                    codes[c as usize] += 1;
                }
                let mut problems = outcome.problems(TIME, RSS);
                // Every run here has something to fix; exit 0 would mean it measured.
                if outcome.code == Some(0) {
                    problems.push("exit 0 (it measured instead of refusing)".into());
                }
                if !problems.is_empty() {
                    failures.push(format!(
                        "calibrate {}: {}\n  {}",
                        args.join(" "),
                        problems.join("; "),
                        outcome.describe()
                    ));
                }
            }
        }
    }
    eprintln!("calibrate flags: {runs} runs, exit 0/1/2: {codes:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
