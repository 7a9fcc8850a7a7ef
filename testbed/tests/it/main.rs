//! Integration tests of the `testbed` binary, one module per behaviour.

mod flags;
mod load_generator;
mod servers;

/// The process runner of sim's robustness tests (RLIMIT_AS, timeout, peak RSS), shared so every
/// binary is held to the same bounds.
#[allow(dead_code)]
#[path = "../../../sim/tests/robust/limited.rs"]
mod limited;

/// The flag fuzzers' loop of sim's robustness tests, shared like [`limited`].
#[path = "../../../sim/tests/robust/flag_fuzz.rs"]
mod flag_fuzz;
