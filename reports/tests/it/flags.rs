//! Every flag of `reports` with out-of-range, negative, huge, malformed and special-file values,
//! each run as a process under RLIMIT_AS and a timeout: it must end with 0, 1 or 2 and a
//! message, never a panic, a signal or a hang (issue 14).
//!
//! Nothing is measured or simulated: each run pairs the flag under test with another input that
//! `reports` refuses (exit 2) before any work, checked after the flag under test where the order
//! allows, so an accepted value costs milliseconds instead of a full report.

use std::path::Path;
use std::time::Duration;

use crate::limited::run_limited;

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

/// Wall time one run may take: argument checks only.
const TIME: Duration = Duration::from_secs(10);
/// Resident memory one run may reach.
const RSS: u64 = 512 << 20;

#[test]
fn every_flag_with_bad_values() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("file"), "").unwrap();
    std::fs::write(dir.join("costs.toml"), "[costs]\nthread_switch = \"2us\"\n").unwrap();
    let program = Path::new(env!("CARGO_BIN_EXE_reports"));
    // Each flag with the companion that stops the run before any work.
    let cases: &[(&str, &[&str])] = &[
        ("--costs", &["--out=file/out"]),
        (
            "--out",
            &["--costs=costs.toml", "--gallery", "--gallery-dir=file/g"],
        ),
        ("--gallery-dir", &["--gallery", "--costs=missing.toml"]),
        ("--from-criterion", &["--costs=missing.toml"]),
        ("--testbed-results", &["--costs=missing.toml"]),
    ];
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut codes = [0u32; 3];
    for &(flag, companion) in cases {
        for &value in BAD {
            for quick in [false, true] {
                let mut args = vec!["--quiet".to_string(), format!("{flag}={value}")];
                args.extend(companion.iter().map(|s| s.to_string()));
                if quick {
                    args.push("--quick".into());
                }
                let outcome = run_limited(program, &args, dir, TIME * 2);
                runs += 1;
                if let Some(c) = outcome.code.filter(|c| (0..=2).contains(c)) {
                    codes[c as usize] += 1;
                }
                let mut problems = outcome.problems(TIME, RSS);
                if outcome.code == Some(0) {
                    problems.push("exit 0 (it made a report instead of refusing)".into());
                }
                if !problems.is_empty() {
                    failures.push(format!(
                        "reports {}: {}\n  {}",
                        args.join(" "),
                        problems.join("; "),
                        outcome.describe()
                    ));
                }
            }
        }
    }
    eprintln!("reports flags: {runs} runs, exit 0/1/2: {codes:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
