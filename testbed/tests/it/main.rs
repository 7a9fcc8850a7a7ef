//! Integration tests of the `testbed` binary, one module per behaviour.

mod load_generator;
mod servers;
