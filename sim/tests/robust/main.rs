//! Robustness of `sim` against bad input (issue 14): the committed corpus of bad inputs, an
//! in-process mutation fuzzer, and process-level samples of scenarios and flags run under a
//! memory limit and a timeout.
//!
//! The long fuzz runs for release checks are `#[ignore]`d:
//! `cargo test --release -p sim --test robust -- --ignored` (see sim/tests/corpus/README.md).

mod corpus;
mod flags;
mod fuzz;
mod limited;
mod mutate;
mod peak;
mod process;
