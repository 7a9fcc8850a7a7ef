//! testbed's integration tests, one module per behaviour.

mod load_generator;
