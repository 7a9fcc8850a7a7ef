//! The committed corpus (sim/tests/corpus/): each bad input with the exit code and the message
//! fragments the fixed `sim` gives. Cases marked `todo` are still wrong on this code; they are
//! skipped here, and `corpus_todo_cases` (ignored) runs them and lists what still fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::limited::Outcome;
use crate::run_sim;

#[derive(Debug, Deserialize)]
struct Manifest {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    file: Option<String>,
    args: Vec<String>,
    exit: i32,
    contains: Vec<String>,
    #[serde(default)]
    excludes: Vec<String>,
    todo: Option<String>,
    seconds: u64,
    max_stderr: usize,
}

/// The corpus directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(dir().join("cases.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// What every run must satisfy, bad input or not: no panic or signal, no hang, a non-empty
/// error when it fails, and never a location followed by nothing.
pub fn general_problems(outcome: &Outcome) -> Vec<String> {
    // Time and memory bounds are each caller's.
    let mut problems = outcome.problems(Duration::MAX, u64::MAX);
    if let Some(line) = outcome.stderr.lines().find(|l| location_without_message(l)) {
        problems.push(format!("a location with no message: {line:?}"));
    }
    problems
}

/// `file:12:5:` (or `file:12:5: `) at the end of a line, with nothing after it.
pub fn location_without_message(line: &str) -> bool {
    let Some(rest) = line.trim_end().strip_suffix(':') else {
        return false;
    };
    let mut parts = rest.rsplitn(3, ':');
    let column = parts.next().unwrap_or("");
    let line_no = parts.next().unwrap_or("");
    !column.is_empty()
        && !line_no.is_empty()
        && column.bytes().all(|b| b.is_ascii_digit())
        && line_no.bytes().all(|b| b.is_ascii_digit())
}

fn check(case: &Case) -> Result<(), String> {
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| match &case.file {
            Some(file) => a.replace("{file}", &format!("cases/{file}")),
            None => a.clone(),
        })
        .collect();
    let outcome = run_sim(&args, &dir(), Duration::from_secs(case.seconds));
    let mut problems = general_problems(&outcome);
    if outcome.code != Some(case.exit) {
        problems.push(format!("exit {:?}, expected {}", outcome.code, case.exit));
    }
    let all = format!("{}{}", outcome.stdout, outcome.stderr);
    for fragment in &case.contains {
        if !all.contains(fragment.as_str()) {
            problems.push(format!("no {fragment:?} in the output"));
        }
    }
    for fragment in &case.excludes {
        if all.contains(fragment.as_str()) {
            problems.push(format!("{fragment:?} should not be in the output"));
        }
    }
    if outcome.stderr_bytes.len() > case.max_stderr {
        problems.push(format!(
            "{} bytes on stderr, at most {} expected",
            outcome.stderr_bytes.len(),
            case.max_stderr
        ));
    }
    if let Some(&byte) = outcome
        .stderr_bytes
        .iter()
        .find(|&&b| b < 0x20 && b != b'\n' && b != b'\t')
    {
        problems.push(format!("raw control character 0x{byte:02X} on stderr"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} ({}): {}\n  {}",
            case.name,
            args.join(" "),
            problems.join("; "),
            outcome.describe().replace('\n', "\n  ")
        ))
    }
}

#[test]
fn corpus_cases_hold() {
    let manifest = manifest();
    let failures: Vec<String> = manifest
        .case
        .iter()
        .filter(|c| c.todo.is_none())
        .filter_map(|c| check(c).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The corpus is not a formality: most of it must be active.
    assert!(manifest.case.len() >= 60);
}

#[test]
#[ignore = "lists the corpus cases this code still gets wrong (issue 14's open items)"]
fn corpus_todo_cases() {
    let manifest = manifest();
    let mut failures = Vec::new();
    for case in manifest.case.iter().filter(|c| c.todo.is_some()) {
        match check(case) {
            Ok(()) => eprintln!("now holds, drop its todo: {}", case.name),
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_location_without_a_message_is_caught() {
    assert!(location_without_message("error: a.toml:3:7:"));
    assert!(location_without_message("error: a.toml:3:7: "));
    assert!(!location_without_message(
        "error: a.toml:3:7: expected a value"
    ));
    assert!(!location_without_message("  |"));
}

/// The files (scenario and data) of the corpus cases still open for these issue items.
pub fn files_of_items(items: &[&str]) -> Vec<String> {
    manifest()
        .case
        .iter()
        .filter(|c| c.todo.as_deref().is_some_and(|t| items.contains(&t)))
        .filter_map(|c| c.file.clone())
        .collect()
}
