//! Robustness of `sim` against bad input (issue 14): the committed corpus of bad inputs, an
//! in-process mutation fuzzer, and process-level samples of scenarios and flags run under a
//! memory limit and a timeout.
//!
//! The long fuzz runs for release checks are `#[ignore]`d:
//! `cargo test --release -p sim --test robust -- --ignored` (see sim/tests/corpus/README.md).

mod bounds;
mod clock;
mod corpus;
// Its argument-check bounds and `refused` judge serve the other binaries' flag tests; sim's
// flags are judged by `process::problems`.
#[allow(dead_code)]
mod flag_fuzz;
mod flags;
mod fuzz;
mod limited;
mod mutate;
mod peak;
mod process;

/// Runs the `sim` binary under the limits of [`limited`].
pub fn run_sim(
    args: &[String],
    dir: &std::path::Path,
    timeout: std::time::Duration,
) -> limited::Outcome {
    limited::run_limited(
        std::path::Path::new(env!("CARGO_BIN_EXE_sim")),
        args,
        dir,
        timeout,
    )
}
