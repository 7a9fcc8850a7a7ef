//! Integration tests of the `calibrate` binary, one module per behaviour.

mod calibrate_cli;
mod criterion_fixture;
mod kernel_figures;
