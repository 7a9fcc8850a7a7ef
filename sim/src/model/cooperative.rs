//! Cooperative event loops (Node.js, asyncio, uvicorn workers, tokio): a task runs until it
//! awaits; a CPU step is never cut, so a long one delays every task behind it on its loop, and a
//! `blocking` step stalls the whole loop (unless an `offload` pool takes it).
//!
//! `Balance::Shared` is one ready queue for all loops (tokio's work stealing); with
//! `Balance::Affinity` each connection (closed-loop client, long-lived connection, or each
//! open-loop request as its own connection) is pinned at accept to a loop chosen round robin,
//! as the kernel's SO_REUSEPORT hashing spreads connections evenly on average. Affinity means
//! one process per loop (gunicorn + uvicorn workers), shared one process.

use crate::config::{Balance, Model, RunConfig};
use crate::engine::Sim;
use crate::event::{ReqId, ThreadId};
use crate::kernel::Next;
use crate::model::Scheduler;
use crate::model::runtime::{Params, Runtime};

/// The cooperative model.
pub(crate) struct Cooperative {
    runtime: Runtime,
}

impl Cooperative {
    pub(crate) fn new(cfg: &RunConfig) -> Self {
        let Model::Cooperative {
            loops,
            balance,
            offload,
        } = cfg.server.model
        else {
            unreachable!("engine picks the model type from the config")
        };
        let affinity = balance == Balance::Affinity;
        Cooperative {
            runtime: Runtime::new(Params {
                workers: loops,
                switch: cfg.costs.task_switch,
                spawn: cfg.costs.task_spawn,
                quantum: None,
                affinity,
                offload,
                processes: if affinity { loops } else { 1 },
            }),
        }
    }
}

impl Scheduler for Cooperative {
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
