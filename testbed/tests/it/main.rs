//! Integration tests of the `testbed` binary, one module per behaviour.

mod servers;
