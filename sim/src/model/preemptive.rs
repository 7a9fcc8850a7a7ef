//! Preemptive green threads (Go, Erlang/BEAM): `workers` OS threads run tasks from one shared
//! run queue; a task runs until it waits or its quantum expires while another task is ready;
//! each switch costs `coroutine_switch`. Waiting costs no thread.
//!
//! A `blocking` step blocks the worker OS thread for its duration, with its task. Go's runtime
//! would hand the P to a new thread; that is not modelled, so blocking calls cost a worker here
//! (closer to BEAM's dirty schedulers being absent).

use crate::config::{Model, RunConfig};
use crate::engine::Sim;
use crate::event::{ReqId, ThreadId};
use crate::kernel::Next;
use crate::model::Scheduler;
use crate::model::runtime::{Params, Runtime};

/// The preemptive model.
pub(crate) struct Preemptive {
    runtime: Runtime,
}

impl Preemptive {
    pub(crate) fn new(cfg: &RunConfig) -> Self {
        let Model::Preemptive { workers, quantum } = cfg.server.model else {
            unreachable!("engine picks the model type from the config")
        };
        Preemptive {
            runtime: Runtime::new(Params {
                workers,
                switch: cfg.costs.coroutine_switch,
                spawn: cfg.costs.task_spawn,
                quantum: Some(quantum),
                affinity: false,
                offload: None,
                processes: 1,
            }),
        }
    }
}

impl Scheduler for Preemptive {
    fn start(&mut self, sim: &mut Sim) {
        self.runtime.start(sim);
    }

    fn on_connect(&mut self, sim: &mut Sim, client: u32) {
        self.runtime.on_connect(sim, client);
    }

    fn on_arrival(&mut self, sim: &mut Sim, req: ReqId) {
        self.runtime.on_arrival(sim, req);
    }

    fn on_burst_done(&mut self, sim: &mut Sim, thread: ThreadId) -> Next {
        self.runtime.on_burst_done(sim, thread)
    }

    fn on_io_done(&mut self, sim: &mut Sim, req: ReqId) {
        self.runtime.on_io_done(sim, req);
    }

    fn on_pool_granted(&mut self, sim: &mut Sim, req: ReqId) {
        self.runtime.on_pool_granted(sim, req);
    }
}
