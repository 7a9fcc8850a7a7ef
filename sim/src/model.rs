//! The user-level layer: how a server maps requests onto OS threads. Each model implements
//! the engine's [`Scheduler`](crate::engine::Scheduler) event hooks: thread-per-request with its own type, preemptive and
//! cooperative as one task runtime with different parameters (switch cost, quantum, balance,
//! offload). The engine owns time, the kernel, the requests and the statistics, and calls the
//! hooks, which act on the run only through the [`Ctx`](crate::engine::Ctx) they are handed; this module picks the model a config names and hands it to the engine.

pub(crate) mod cooperative;
pub(crate) mod preemptive;
pub(crate) mod runtime;
pub(crate) mod thread_per_request;

use crate::config::{Model, RunConfig};
use crate::engine::run_with;
use crate::error::SimError;
use crate::tally::RunTally;
use thread_per_request::ThreadPerRequest;

/// Runs one simulation of a validated config with the model it names.
pub(crate) fn run(
    config: &RunConfig,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<RunTally, SimError> {
    match &config.server.model {
        Model::ThreadPerRequest { quantum, .. } => {
            run_with(config, *quantum, ThreadPerRequest::new(config), progress)
        }
        Model::Preemptive { .. } => run_with(config, None, preemptive::runtime(config), progress),
        Model::Cooperative { .. } => run_with(config, None, cooperative::runtime(config), progress),
    }
}
