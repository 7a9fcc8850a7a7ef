//! The local proxy: one OS thread that passes each request in to the model and each answer
//! back out, one burst of its own CPU per pass.

use std::collections::VecDeque;

use crate::event::{CoreId, NONE, ReqId, ThreadId};
use crate::kernel::{Burst, Next, Waker};

use super::world::World;
use super::{Engine, Scheduler};

/// The proxy thread and the passes waiting for it.
#[derive(Debug)]
pub(super) struct ProxyState {
    pub(super) thread: ThreadId,
    /// Requests to pass, each with its direction (`true`: the answer, outbound).
    pub(super) jobs: VecDeque<(ReqId, bool)>,
    pub(super) current: (ReqId, bool),
    pub(super) idle: bool,
}

impl ProxyState {
    /// The proxy of a run, on its own (blocked) thread.
    pub(super) fn new(thread: ThreadId) -> Self {
        ProxyState {
            thread,
            jobs: VecDeque::new(),
            current: (NONE, false),
            idle: true,
        }
    }
}

impl World<'_> {
    pub(super) fn proxy_job(&mut self, req: ReqId, outbound: bool, by: Waker) {
        let Some(p) = self.proxy.as_mut() else {
            return;
        };
        p.jobs.push_back((req, outbound));
        if p.idle {
            p.idle = false;
            let thread = p.thread;
            let burst = self.next_proxy_burst();
            self.wake(thread, burst, by);
        }
    }

    pub(super) fn next_proxy_burst(&mut self) -> Burst {
        let cfg = self.cfg;
        let Some(p) = self.proxy.as_mut() else {
            return Burst::ZERO;
        };
        let Some(job) = p.jobs.pop_front() else {
            return Burst::ZERO;
        };
        p.current = job;
        let cpu = cfg
            .server
            .proxy
            .as_ref()
            .map_or(0, |proxy| proxy.cpu.sample(&mut self.rng));
        self.requests[job.0 as usize].demand += cpu;
        Burst::work(cpu)
    }
}

impl<S: Scheduler> Engine<'_, S> {
    /// The proxy thread, on `core`, finished passing a request on.
    pub(super) fn proxy_burst_done(&mut self, core: CoreId) -> Next {
        let Some(p) = self.ctx.world.proxy.as_mut() else {
            return Next::Block;
        };
        let (req, outbound) = p.current;
        p.current = (NONE, false);
        if req != NONE {
            if outbound {
                self.ctx.world.complete(req);
            } else {
                self.model.on_arrival(&mut self.ctx, req, Waker::Core(core));
            }
        }
        let world = &mut self.ctx.world;
        let has_more = world.proxy.as_ref().is_some_and(|p| !p.jobs.is_empty());
        if has_more {
            Next::Run(world.next_proxy_burst())
        } else {
            if let Some(p) = world.proxy.as_mut() {
                p.idle = true;
            }
            Next::Block
        }
    }
}
