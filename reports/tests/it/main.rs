//! Integration tests of the reports crate: every chart renders, its CSV holds what it plots,
//! the page references every file.

mod exit;
mod flags;
mod job;
mod page;
mod render;
mod sample;

/// The process runner of sim's robustness tests (RLIMIT_AS, timeout, peak RSS), shared so every
/// binary is held to the same bounds.
#[allow(dead_code)]
#[path = "../../../sim/tests/robust/limited.rs"]
mod limited;

/// The flag fuzzers' loop of sim's robustness tests, shared like [`limited`].
#[path = "../../../sim/tests/robust/flag_fuzz.rs"]
mod flag_fuzz;
