//! switchcost's simulator: replays HTTP request workloads on a machine of N cores under three
//! scheduling models and reports throughput, latency, where CPU time went, switches and memory.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod dist;
pub mod error;
pub mod output;
pub mod pricing;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod unit;

pub use config::RunConfig;
pub use error::SimError;
pub use report::Report;

/// Runs one simulation. (The engine is being built; this is its interface.)
pub fn simulate(config: &RunConfig) -> Result<Report, SimError> {
    Err(SimError::Invalid(format!(
        "engine not built yet (scenario {})",
        config.scenario
    )))
}
