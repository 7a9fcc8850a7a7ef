//! The in-process mutation fuzzer: every built-in scenario and every corpus file, mutated
//! (bytes, lines, numbers, units, keys), then loaded, validated and simulated with a small
//! event limit. Each case must end in bounded time and memory without a panic, and every error
//! must be a non-empty message that never leaves a location without words after it.
//!
//! `FUZZ_CASES` sets the number of cases (default 10,000, what CI runs); the ignored
//! `fuzz_scenarios_long` runs 200,000 for release checks.
//!
//! `FUZZ_SEED` picks the cases: unset, the CI test uses [`CI_SEED`] (so CI is deterministic:
//! a new find is made on purpose, by a release check, not by chance on a pull request), and the
//! long release check draws a random seed; `FUZZ_SEED=N` replays seed N, `FUZZ_SEED=random`
//! draws one. The seed is printed with the summary and with every failure.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use sim::scenario::{Overrides, Scenario, builtins};

use crate::corpus::location_without_message;
use crate::mutate::{Mutation, apply, mutation};

/// Events each fuzzed run may take: enough to get every model going, small enough for
/// thousands of cases a minute.
const MAX_EVENTS: u64 = 2_000;
/// Requests of a short case, whose events fit within [`MAX_EVENTS`] for most scenarios.
const SHORT_RUN: u64 = 200;
/// The wall time one case may take (a debug build on a shared, noisy 2-core VM).
const CASE_BOUND: Duration = Duration::from_secs(5);
/// A case still running after this long is a hang: the watchdog prints it and aborts.
const HANG: Duration = Duration::from_secs(60);
/// Heap one case may hold at its peak.
const PEAK_BOUND: usize = 512 << 20;

/// Issue 14 items whose corpus files still hang on this code and so are left out of the seeds
/// (none now; item 1's `parallel` was the last).
const SKIPPED_ITEMS: &[&str] = &[];

pub struct Seeds {
    pub texts: Vec<(String, Vec<u8>)>,
    pub dir: tempfile::TempDir,
}

pub fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let corpus = crate::corpus::dir();
        // A copy of the corpus's data files, so relative trace and samples paths resolve.
        let dir = tempfile::tempdir().unwrap();
        let mut texts: Vec<(String, Vec<u8>)> = builtins()
            .iter()
            .map(|b| (format!("builtin:{}", b.name), b.toml.as_bytes().to_vec()))
            .collect();
        texts.push((
            "base.toml".into(),
            std::fs::read(corpus.join("base.toml")).unwrap(),
        ));
        let skipped = crate::corpus::files_of_items(SKIPPED_ITEMS);
        for entry in std::fs::read_dir(corpus.join("cases")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
            if name.ends_with(".toml") && !skipped.contains(&name) {
                texts.push((name, std::fs::read(&path).unwrap()));
            }
        }
        Seeds { texts, dir }
    })
}

/// The case in progress, for the watchdog to print if it hangs.
static CURRENT: Mutex<Option<(Instant, String)>> = Mutex::new(None);

fn start_watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                if let Ok(current) = CURRENT.lock()
                    && let Some((start, text)) = current.as_ref()
                    && start.elapsed() > HANG
                {
                    eprintln!("fuzz case hung for {HANG:?}:\n{text}");
                    std::process::abort();
                }
            }
        });
    });
}

/// A message and its causes, as `{:#}` prints them.
fn message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Findings of issue 14 still open on this code, tolerated (and counted) so the fuzzer guards
/// everything else meanwhile; each goes when its item is fixed.
pub const KNOWN_OPEN: &[(&str, &str)] = &[];

static TOLERATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn check_message(stage: &str, text: &str) -> Result<(), String> {
    let why = if text.trim().is_empty() {
        format!("{stage}: an empty error message")
    } else if let Some(line) = text.lines().find(|l| location_without_message(l)) {
        format!("{stage}: a location with no message: {line:?}")
    } else if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        format!(
            "{stage}: a raw control character U+{:04X} in the message",
            c as u32
        )
    } else {
        return Ok(());
    };
    if KNOWN_OPEN.iter().any(|(_, finding)| why.contains(finding)) {
        TOLERATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    }
    Err(why)
}

/// Loads, validates and runs one scenario file; Ok when it ends well or with a good error.
fn exercise(path: &Path, short: bool) -> Result<(), String> {
    let scenario = match Scenario::load(&path.display().to_string()) {
        Ok(s) => s,
        Err(e) => return check_message("load", &message(&e)),
    };
    // Half the cases keep the file's request count (and meet the event estimate's refusal
    // when it is large); half run a few hundred requests so the engine sees every mutation.
    let overrides = Overrides {
        max_events: Some(MAX_EVENTS),
        requests: short.then_some(SHORT_RUN),
        ..Overrides::default()
    };
    let configs = match scenario.run_configs(&overrides) {
        Ok(c) => c,
        Err(e) => return check_message("overrides", &message(&e)),
    };
    for config in configs {
        if let Err(e) = sim::validate(&config) {
            check_message("validate", &message(&e))?;
            continue;
        }
        if let Err(e) = sim::simulate(&config) {
            check_message("simulate", &message(&e))?;
        }
    }
    Ok(())
}

fn shown(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    text.chars().take(4000).collect()
}

fn one_case(seed: usize, mutations: &[Mutation], short: bool) -> Result<(), TestCaseError> {
    let seeds = seeds();
    let (name, original) = &seeds.texts[seed % seeds.texts.len()];
    let mut text = original.clone();
    for m in mutations {
        apply(&mut text, m);
    }
    let path: PathBuf = seeds.dir.path().join("fuzz-case.toml");
    std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Ok(mut current) = CURRENT.lock() {
        *current = Some((
            Instant::now(),
            format!("seed {name}, {mutations:?}\n{}", shown(&text)),
        ));
    }
    crate::peak::reset();
    let start = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| exercise(&path, short)));
    let elapsed = start.elapsed();
    let peak = crate::peak::bytes();
    if let Ok(mut current) = CURRENT.lock() {
        *current = None;
    }
    let fail = |why: String| {
        TestCaseError::fail(format!(
            "{why}\nseed {name}, mutations {mutations:?}\n---\n{}\n---",
            shown(&text)
        ))
    };
    match result {
        Err(_) => return Err(fail("panicked".into())),
        Ok(Err(why)) => return Err(fail(why)),
        Ok(Ok(())) => {}
    }
    if elapsed > CASE_BOUND {
        return Err(fail(format!("took {elapsed:?}, more than {CASE_BOUND:?}")));
    }
    if peak > PEAK_BOUND {
        return Err(fail(format!("held {} MiB of heap at its peak", peak >> 20)));
    }
    Ok(())
}

/// The seed CI fuzzes with (`FUZZ_SEED` in .ci/run): any fixed number would do.
pub const CI_SEED: u64 = 14_2026_1201;

/// The fuzzer's RNG seed from `FUZZ_SEED` (a number, or `random`); unset, `fallback`, or a
/// random seed when there is none.
pub fn fuzz_seed(fallback: Option<u64>) -> u64 {
    let random = || {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(std::time::SystemTime::now())
    };
    match std::env::var("FUZZ_SEED").ok().as_deref().map(str::trim) {
        Some("random") => random(),
        Some(n) => n
            .parse()
            .unwrap_or_else(|_| panic!("FUZZ_SEED={n:?}: write a whole number or `random`")),
        None => fallback.unwrap_or_else(random),
    }
}

fn fuzz(cases: u32, seed: u64) {
    start_watchdog();
    let seeds = seeds().texts.len();
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        // Shrinking a slow case can take long; the printed input is enough to reproduce it.
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = (
        0..seeds,
        prop::collection::vec(mutation(), 1..4),
        any::<bool>(),
    );
    let start = Instant::now();
    let result = runner.run(&strategy, |(seed, mutations, short)| {
        one_case(seed, &mutations, short)
    });
    eprintln!(
        "fuzz: {cases} cases from {seeds} seed files with FUZZ_SEED={seed} in {:.1} s; {} known-open findings tolerated",
        start.elapsed().as_secs_f64(),
        TOLERATED.load(std::sync::atomic::Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}\nreproduce with FUZZ_SEED={seed} FUZZ_CASES={cases}");
    }
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_scenarios() {
    fuzz(cases_from_env(10_000), fuzz_seed(Some(CI_SEED)));
}

#[test]
#[ignore = "release check: 200,000 cases, about 20 times the CI run"]
fn fuzz_scenarios_long() {
    fuzz(cases_from_env(200_000), fuzz_seed(None));
}
