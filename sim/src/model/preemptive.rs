//! Preemptive green threads (Go, Erlang/BEAM): `workers` OS threads run tasks from one shared
//! run queue; a task runs until it waits or its quantum expires while another task is ready;
//! each switch costs `coroutine_switch`. Waiting costs no thread.
//!
//! A `blocking` step blocks the worker OS thread for its duration, with its task. Go's runtime
//! would hand the P to a new thread; that is not modelled, so blocking calls cost a worker here
//! (closer to BEAM's dirty schedulers being absent).

use crate::config::{Model, RunConfig};
use crate::model::runtime::{Params, Runtime};

/// The preemptive model: the shared task runtime with this model's parameters.
pub(crate) fn runtime(cfg: &RunConfig) -> Runtime {
    let Model::Preemptive { workers, quantum } = cfg.server.model else {
        unreachable!("engine picks the model type from the config")
    };
    Runtime::new(Params {
        workers,
        switch: cfg.costs.coroutine_switch,
        stack: cfg.costs.stack_working_set,
        spawn: cfg.costs.task_spawn,
        quantum: Some(quantum),
        affinity: false,
        offload: None,
        lifo_slot: false,
        timer_thread: false,
        processes: 1,
    })
}
