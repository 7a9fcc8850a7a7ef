//! Integration tests of the `calibrate` binary, one module per behaviour.

mod calibrate_cli;
mod kernel_figures;
