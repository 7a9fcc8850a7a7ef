//! A process-level sample of the fuzzer: mutated scenarios run through the `sim` binary under
//! RLIMIT_AS and a timeout. Checks what only a process shows: the exit code (0, 1 with a
//! cause, or 2), no abort or signal, wall time and peak memory.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use crate::corpus::general_problems;
use crate::fuzz::{CI_SEED, KNOWN_OPEN, fuzz_seed, seeds};
use crate::limited::Outcome;
use crate::mutate::{apply, mutation};
use crate::run_sim;

/// Wall time one `sim` run may take (debug build, shared VM).
const RUN_BOUND: Duration = Duration::from_secs(10);
/// Peak resident memory one run may reach.
const RSS_BOUND: u64 = 1 << 30;

/// Problems of one outcome, less the findings still open (see [`KNOWN_OPEN`]).
pub fn problems(outcome: &Outcome) -> Vec<String> {
    let mut problems = general_problems(outcome);
    problems.retain(|p| !KNOWN_OPEN.iter().any(|(_, finding)| p.contains(finding)));
    if outcome.elapsed > RUN_BOUND {
        problems.push(format!("took {:?}", outcome.elapsed));
    }
    if outcome.max_rss_bytes > RSS_BOUND {
        problems.push(format!("peak RSS {} MiB", outcome.max_rss_bytes >> 20));
    }
    problems
}

#[test]
fn mutated_scenarios_as_processes() {
    let cases: u32 = std::env::var("FUZZ_PROCESS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seeds = seeds();
    let dir = seeds.dir.path();
    let seed = fuzz_seed(Some(CI_SEED));
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 50,
        ..Config::default()
    });
    let strategy = (
        0..seeds.texts.len(),
        prop::collection::vec(mutation(), 1..4),
        any::<bool>(),
    );
    let codes: [std::sync::atomic::AtomicU32; 3] = Default::default();
    let result = runner.run(&strategy, |(seed, mutations, check)| {
        let (name, original) = &seeds.texts[seed];
        let mut text = original.clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        let file = format!("process-{seed}.toml");
        std::fs::write(dir.join(&file), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let args: Vec<String> = if check {
            vec!["check".into(), file]
        } else {
            ["run", &file, "-q", "--max-events", "20000"]
                .map(String::from)
                .to_vec()
        };
        let outcome = run_sim(&args, dir, RUN_BOUND * 2);
        if let Some(code) = outcome.code.filter(|c| (0..=2).contains(c)) {
            codes[code as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let problems = problems(&outcome);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(format!(
                "{}: {}\nseed {name}, {mutations:?}\n{}\n---\n{}",
                args.join(" "),
                problems.join("; "),
                outcome.describe(),
                String::from_utf8_lossy(&text)
                    .chars()
                    .take(3000)
                    .collect::<String>()
            )))
        }
    });
    eprintln!("process sample: {cases} runs with FUZZ_SEED={seed}; exit 0/1/2: {codes:?}");
    if let Err(e) = result {
        panic!("{e}\nreproduce with FUZZ_SEED={seed} FUZZ_PROCESS_CASES={cases}");
    }
}

/// Item 5: huge scenario files end quickly in bounded memory, with a located message.
#[test]
fn huge_scenarios_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(crate::corpus::dir().join("base.toml")).unwrap();
    let steps_line = r#"steps = [{ cpu = "100us" }, { io = "1ms" }]"#;
    let many = |n: usize| {
        let steps = vec![r#"{ cpu = "1us" }"#; n].join(", ");
        base.replace(steps_line, &format!("steps = [{steps}]"))
    };
    let cases = [
        // Over the 16 MiB cap.
        (
            "too-large.toml",
            base.clone() + &"# padding\n".repeat(1_800_000),
            "16 MiB",
        ),
        // More inline tables than any scenario may hold: refused before TOML parses it.
        ("brace-flood.toml", many(200_000), "inline tables"),
        // One step more than a request may have: located at the steps key.
        ("steps-65536.toml", many(65_536), "at most 65535 steps"),
    ];
    for (name, text, words) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let outcome = run_sim(
            &["check".into(), name.into()],
            dir.path(),
            Duration::from_secs(60),
        );
        assert_eq!(outcome.code, Some(2), "{name}: {}", outcome.describe());
        assert!(
            outcome.stderr.contains(words),
            "{name}: {}",
            outcome.describe()
        );
        assert!(
            outcome.stderr.contains(name),
            "{name}: {}",
            outcome.describe()
        );
        assert!(
            problems(&outcome).is_empty(),
            "{name}: {}",
            outcome.describe()
        );
    }
}

/// Item 2: memory does not grow with the replication count (each replication's histogram is
/// ~300 KB; 2000 of them held at once took over 600 MB).
#[test]
fn replications_run_in_bounded_memory() {
    let args: Vec<String> = [
        "run",
        "base.toml",
        "-q",
        "--requests",
        "20",
        "--replications",
        "2000",
    ]
    .map(String::from)
    .to_vec();
    let outcome = run_sim(&args, &crate::corpus::dir(), Duration::from_secs(120));
    assert_eq!(outcome.code, Some(0), "{}", outcome.describe());
    assert!(
        outcome.max_rss_bytes < 200 << 20,
        "peak RSS {} MiB for 2000 replications",
        outcome.max_rss_bytes >> 20
    );
}
