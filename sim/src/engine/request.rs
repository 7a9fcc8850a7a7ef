//! Requests in flight and their steps: the slab of requests, pools and their waiters, a step's
//! start (its pool unit and drawn duration) and end, and a request's exit (completed through the
//! proxy, or dropped).

use std::collections::VecDeque;

use crate::cache::{Owner, Touch};
use crate::config::{Arrivals, StepKind, Stop, Warmup};
use crate::event::{Event, NONE, ReqId};
use crate::kernel::Waker;
use crate::time::SimTime;

use super::world::{PROXY_QUEUE, SYSTEM, World};

/// One request in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Request {
    /// When the client sent it (the broadcast time for broadcast deliveries).
    pub(super) sent: SimTime,
    /// Sum of its sampled step durations and proxy passes: the least latency it can have.
    pub(super) demand: u64,
    /// What the model carries for it between two decisions (one meaning at a time).
    pub(super) carry: Carry,
    /// The closed-loop client or connection that sent it, or NONE.
    pub(super) client: u32,
    /// Model-defined: the thread or loop that serves it.
    pub(super) owner: u32,
    trace_row: u32,
    step: u16,
    holding: bool,
    in_step: bool,
    broadcast: bool,
    started: bool,
}

/// What a request carries between two decisions of its model. It used to be one `remaining`
/// number meaning three things by phase; each meaning is now its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carry {
    /// Nothing.
    Nothing,
    /// A task's creation cost (ns of useful work), paid when the task first runs.
    Spawn(u64),
    /// CPU (ns) still to run in the current step (models that slice a step).
    Cpu(u64),
    /// A blocking call's duration (ns), to start once the thread has paid what it owes.
    Call(u64),
}

impl Request {
    /// Takes a pending creation cost (0 when none).
    pub(super) fn take_spawn(&mut self) -> u64 {
        match std::mem::replace(&mut self.carry, Carry::Nothing) {
            Carry::Spawn(ns) => ns,
            other => {
                debug_assert!(
                    matches!(other, Carry::Nothing | Carry::Cpu(0) | Carry::Call(0)),
                    "no spawn cost to take: {other:?}"
                );
                0
            }
        }
    }

    /// CPU still to run in the current step.
    pub(super) fn cpu_left(&self) -> u64 {
        match self.carry {
            Carry::Cpu(ns) => ns,
            other => {
                debug_assert!(false, "not in a CPU step: {other:?}");
                0
            }
        }
    }

    /// `ns` of the current CPU step ran; returns what is left.
    pub(super) fn ran(&mut self, ns: u64) -> u64 {
        let left = self.cpu_left();
        let left = left - ns.min(left);
        self.carry = Carry::Cpu(left);
        left
    }

    /// Takes the pending blocking call's duration.
    pub(super) fn take_call(&mut self) -> u64 {
        match std::mem::replace(&mut self.carry, Carry::Nothing) {
            Carry::Call(ns) => ns,
            other => {
                debug_assert!(false, "no blocking call pending: {other:?}");
                0
            }
        }
    }
}

/// How the next step of a request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepStart {
    /// A CPU burst of this many ns.
    Cpu(u64),
    /// A wait that needs no thread; the engine delivers `on_io_done` when it ends.
    Io(u64),
    /// A wait that blocks the OS thread running it; the model must call
    /// [`Ctx::start_wait`](super::Ctx::start_wait).
    Blocking(u64),
    /// Waiting for a pool unit; the engine delivers `on_pool_granted`.
    PoolWait,
    /// No steps left.
    Done,
}

/// A pool's free units and the requests waiting for one.
#[derive(Debug)]
pub(super) struct PoolState {
    pub(super) free: u64,
    pub(super) waiters: VecDeque<ReqId>,
    /// Index of its queue in [`World::levels`].
    pub(super) level: usize,
}

impl World<'_> {
    pub(super) fn new_request(
        &mut self,
        sent: SimTime,
        client: u32,
        trace_row: u32,
        broadcast: bool,
    ) -> ReqId {
        let req = Request {
            sent,
            demand: 0,
            carry: Carry::Nothing,
            client,
            owner: NONE,
            trace_row,
            step: 0,
            holding: false,
            in_step: false,
            broadcast,
            started: false,
        };
        self.sent += 1;
        self.in_flight += 1;
        self.levels[SYSTEM].1.set(self.now, self.in_flight);
        match self.free_requests.pop() {
            Some(id) => {
                self.requests[id as usize] = req;
                id
            }
            None => {
                self.requests.push(req);
                (self.requests.len() - 1) as ReqId
            }
        }
    }

    /// What a burst of `req`'s current cpu step touches: the step's working set, plus
    /// `stack` bytes of a stackful task's own stack, owned by the request's connection (its
    /// buffers outlive the request) or, without one, by the request. `None` when nothing.
    pub(super) fn touch(&self, req: ReqId, stack: u64) -> Option<Touch> {
        let r = &self.requests[req as usize];
        let data = self
            .cfg
            .steps
            .get(r.step as usize)
            .map_or(0, |s| s.working_set);
        let owner = if r.client != NONE {
            Owner::Connection(r.client)
        } else {
            Owner::Request(u64::from(req))
        };
        let bytes = data + stack;
        (bytes > 0).then_some(Touch { owner, bytes })
    }

    pub(super) fn req(&self, req: ReqId) -> &Request {
        &self.requests[req as usize]
    }

    pub(super) fn req_mut(&mut self, req: ReqId) -> &mut Request {
        &mut self.requests[req as usize]
    }

    /// True while the request is inside a step that has begun and not ended.
    pub(super) fn in_step(&self, req: ReqId) -> bool {
        self.requests[req as usize].in_step
    }

    /// True when the request's next step is a CPU burst that can start now (no pool unit to
    /// wait for), so that switching to its task and running the burst can be one core segment.
    pub(super) fn next_step_is_ready_cpu(&self, req: ReqId) -> bool {
        let r = &self.requests[req as usize];
        let Some(step) = self.cfg.steps.get(r.step as usize) else {
            return false;
        };
        step.kind == StepKind::Cpu
            && match step.pool {
                Some(pool) => r.holding || self.pools[pool].free > 0,
                None => true,
            }
    }

    /// Starts the request's next step: takes its pool unit (or queues for one) and draws its
    /// duration.
    #[inline]
    pub(super) fn begin_step(&mut self, req: ReqId) -> StepStart {
        // Every request ends here once: answered inline, without the call and the register
        // saves of a real step's start.
        if usize::from(self.requests[req as usize].step) >= self.cfg.steps.len() {
            return StepStart::Done;
        }
        self.start_step(req)
    }

    /// [`World::begin_step`] for a request with a step left.
    #[inline(never)]
    fn start_step(&mut self, req: ReqId) -> StepStart {
        let cfg = self.cfg;
        let r = &mut self.requests[req as usize];
        let index = r.step as usize;
        let Some(step) = cfg.steps.get(index) else {
            return StepStart::Done;
        };
        if let Some(pool) = step.pool
            && !r.holding
        {
            let p = &mut self.pools[pool];
            if p.free == 0 {
                p.waiters.push_back(req);
                let (len, level) = (p.waiters.len() as u64, p.level);
                self.levels[level].1.set(self.now, len);
                return StepStart::PoolWait;
            }
            p.free -= 1;
            r.holding = true;
        }
        let trace_row = r.trace_row;
        let duration = match &cfg.load.arrivals {
            Arrivals::Trace { rows } if trace_row != NONE => rows[trace_row as usize]
                .steps
                .as_ref()
                .and_then(|s| s.get(index).copied()),
            _ => None,
        }
        .unwrap_or_else(|| {
            let mut d = step.duration.sample(&mut self.rng);
            if step.kind == StepKind::Io {
                for _ in 1..step.parallel {
                    d = d.max(step.duration.sample(&mut self.rng));
                }
                // Each extra wait is work like an event: it counts toward the event limit.
                self.draws += u64::from(step.parallel.saturating_sub(1));
            }
            d
        });
        let r = &mut self.requests[req as usize];
        r.demand += duration;
        r.in_step = true;
        if !r.started {
            r.started = true;
            let wait = self.now - r.sent;
            self.waits.0 += 1;
            self.waits.1 += (wait > 0) as u64;
            self.waits.2 += wait as u128;
        }
        match (step.kind, step.blocking) {
            (StepKind::Cpu, _) => StepStart::Cpu(duration),
            (StepKind::Io, false) => {
                self.start_wait(req, duration);
                StepStart::Io(duration)
            }
            (StepKind::Io, true) => StepStart::Blocking(duration),
        }
    }

    /// Starts a wait of `ns`; `on_io_done` follows.
    pub(super) fn start_wait(&mut self, req: ReqId, ns: u64) {
        self.queue.push(self.now + ns, Event::IoDone { req });
    }

    /// Ends the current step: releases its pool unit (to the first waiter, if any). Returns
    /// the waiter granted the unit (its `on_pool_granted` follows).
    pub(super) fn end_step(&mut self, req: ReqId) -> Option<ReqId> {
        let r = &mut self.requests[req as usize];
        r.in_step = false;
        let step = r.step as usize;
        r.step += 1;
        if r.holding {
            r.holding = false;
            if let Some(pool) = self.cfg.steps[step].pool {
                let p = &mut self.pools[pool];
                match p.waiters.pop_front() {
                    Some(next) => {
                        let (len, level) = (p.waiters.len() as u64, p.level);
                        self.requests[next as usize].holding = true;
                        self.levels[level].1.set(self.now, len);
                        self.queue.push(self.now, Event::PoolGranted { req: next });
                        return Some(next);
                    }
                    None => p.free += 1,
                }
            }
        }
        None
    }

    /// The request's steps are done: back through the proxy (woken `by` the caller), then to
    /// the client.
    pub(super) fn finish(&mut self, req: ReqId, by: Waker) {
        if self.proxy.is_some() {
            self.proxy_job(req, true, by);
        } else {
            self.complete(req);
        }
    }

    /// The server turns the request away (full backlog).
    pub(super) fn drop_request(&mut self, req: ReqId) {
        self.dropped_total += 1;
        self.dropped += 1;
        let client = self.requests[req as usize].client;
        self.leave(req, client);
    }

    pub(super) fn complete(&mut self, req: ReqId) {
        let r = self.requests[req as usize];
        let took = self.now - r.sent;
        self.min_slack = self.min_slack.min(took as i64 - r.demand as i64);
        self.completed_total += 1;
        // Counted from the start and forgotten when the warm-up ends, so that a run whose
        // warm-up never ends still has its whole history to report.
        self.first_sent = self.first_sent.min(r.sent);
        self.completed += 1;
        if !self.broadcast_only || r.broadcast {
            self.latencies.record(took + self.cfg.load.rtt);
        }
        if !self.measuring
            && let Warmup::Requests(k) = self.cfg.load.warmup
            && self.completed_total >= k
        {
            self.start_measuring(self.now);
        }
        if let Stop::Requests(n) = self.cfg.load.stop
            && self.completed_total >= n
            && !matches!(
                self.cfg.load.arrivals,
                Arrivals::Open { .. } | Arrivals::Trace { .. }
            )
        {
            self.stopped = true;
        }
        self.leave(req, r.client);
    }

    /// Common exit of completed and dropped requests: the client's next send, the gate, the slab.
    fn leave(&mut self, req: ReqId, client: u32) {
        if client == NONE {
            // The request's data is not asked for again (its id will be reused).
            self.kernel.forget(Owner::Request(u64::from(req)));
        }
        self.last_exit = self.now;
        self.in_flight -= 1;
        self.levels[SYSTEM].1.set(self.now, self.in_flight);
        if client != NONE {
            self.client_done(client);
        }
        if self.cfg.load.maxconn.is_some() {
            match self.proxy_queue.pop_front() {
                Some(next) => {
                    self.levels[PROXY_QUEUE]
                        .1
                        .set(self.now, self.proxy_queue.len() as u64);
                    self.queue.push(self.now, Event::Enter { req: next });
                }
                None => self.inside -= 1,
            }
        }
        self.free_requests.push(req);
    }
}
