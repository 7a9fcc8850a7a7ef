//! Thread per request: every in-flight request owns an OS thread from a pool (or a new thread
//! per request); the kernel time-slices the threads over the cores.
//!
//! Requests that find no free thread wait in one accept queue shared by all processes (they
//! all accept from the same listening socket), bounded by `backlog`. With `keepalive` a client
//! connection keeps its thread between requests. With `gil`, a thread must hold its process's
//! interpreter lock to run a CPU step; it releases the lock when it waits (I/O, a pool, the end
//! of the request), and, like CPython, hands it over every 5 ms (the switch interval) when
//! another thread of the process is waiting for it.

use std::collections::VecDeque;

use crate::config::{Arrivals, Model, RunConfig, Threads};
use crate::engine::{Carry, Scheduler, Sim, StepStart};
use crate::event::{CoreId, NONE, ReqId, ThreadId};
use crate::kernel::{Burst, Next, Waker};

#[derive(Debug, Clone, Copy)]
struct ThreadInfo {
    req: ReqId,
    process: u32,
    client: u32,
    /// CPU of the burst in progress (a GIL holder runs its step in switch intervals).
    chunk: u64,
    /// Requests served for the connection the thread is bound to (keep-alive).
    served: u64,
    /// Still paying for its creation (runnable, not blocked): a request handed to it now is
    /// picked up when that burst ends, and it must not be woken again.
    starting: bool,
}

/// The thread-per-request model.
pub(crate) struct ThreadPerRequest {
    fixed: Option<u64>,
    processes: u64,
    gil: bool,
    /// A GIL holder drops the lock after this much CPU when another thread waits.
    gil_interval: u64,
    keepalive: bool,
    keepalive_requests: Option<u64>,
    backlog: Option<u64>,
    thread_spawn: u64,
    free: Vec<ThreadId>,
    accept: VecDeque<ReqId>,
    accept_level: usize,
    info: Vec<ThreadInfo>,
    gil_holder: Vec<ThreadId>,
    gil_waiters: Vec<VecDeque<ThreadId>>,
    next_process: u32,
}

impl ThreadPerRequest {
    pub(crate) fn new(cfg: &RunConfig) -> Self {
        let Model::ThreadPerRequest {
            threads,
            backlog,
            processes,
            gil,
            gil_switch_interval,
            keepalive,
            keepalive_requests,
            ..
        } = cfg.server.model
        else {
            unreachable!("engine picks the model type from the config")
        };
        let processes = processes.max(1);
        ThreadPerRequest {
            fixed: match threads {
                Threads::Fixed(n) => Some(n),
                Threads::Unbounded => None,
            },
            processes,
            gil,
            gil_interval: gil_switch_interval,
            keepalive: keepalive || matches!(cfg.load.arrivals, Arrivals::Connections { .. }),
            keepalive_requests,
            backlog,
            thread_spawn: cfg.costs.thread_spawn,
            free: Vec::new(),
            accept: VecDeque::new(),
            accept_level: 0,
            info: Vec::new(),
            gil_holder: vec![NONE; processes as usize],
            gil_waiters: vec![VecDeque::new(); processes as usize],
            next_process: 0,
        }
    }

    fn set_info(&mut self, thread: ThreadId, info: ThreadInfo) {
        let i = thread as usize;
        if i >= self.info.len() {
            self.info.resize(
                i + 1,
                ThreadInfo {
                    req: NONE,
                    process: 0,
                    client: NONE,
                    chunk: 0,
                    served: 0,
                    starting: false,
                },
            );
        }
        self.info[i] = info;
    }

    /// A new thread (unbounded pool) that first pays for its creation.
    fn spawn(&mut self, sim: &mut Sim, req: ReqId, client: u32, by: Waker) -> ThreadId {
        let thread = sim.spawn_thread();
        let process = self.next_process;
        self.next_process = (self.next_process + 1) % self.processes as u32;
        self.set_info(
            thread,
            ThreadInfo {
                req,
                process,
                client,
                chunk: 0,
                served: 0,
                starting: true,
            },
        );
        sim.wake(thread, Burst::work(self.thread_spawn), by);
        thread
    }

    /// Hands `req` to an idle (blocked) thread and wakes it.
    fn assign(&mut self, sim: &mut Sim, thread: ThreadId, req: ReqId, by: Waker) {
        self.bind(sim, thread, req);
        sim.wake(thread, Burst::ZERO, by);
    }

    fn bind(&mut self, sim: &mut Sim, thread: ThreadId, req: ReqId) {
        let client = sim.req(req).client;
        let info = &mut self.info[thread as usize];
        info.req = req;
        if self.keepalive && client != NONE && info.client != client {
            info.client = client;
            info.served = 0;
            sim.clients[client as usize].bind = thread;
        }
        sim.req_mut(req).owner = thread;
    }

    fn take_gil(&mut self, thread: ThreadId) -> bool {
        let p = self.info[thread as usize].process as usize;
        if self.gil_holder[p] == NONE || self.gil_holder[p] == thread {
            self.gil_holder[p] = thread;
            true
        } else {
            self.gil_waiters[p].push_back(thread);
            false
        }
    }

    fn release_gil(&mut self, sim: &mut Sim, thread: ThreadId, by: Waker) {
        if !self.gil {
            return;
        }
        let p = self.info[thread as usize].process as usize;
        if self.gil_holder[p] != thread {
            return;
        }
        self.gil_holder[p] = match self.gil_waiters[p].pop_front() {
            Some(next) => {
                let burst = self.start_chunk(sim, next);
                sim.wake(next, burst, by);
                next
            }
            None => NONE,
        };
    }

    /// The next piece of the thread's CPU step: all of it, or one switch interval under a GIL.
    fn start_chunk(&mut self, sim: &Sim, thread: ThreadId) -> Burst {
        let info = &mut self.info[thread as usize];
        let remaining = sim.req(info.req).cpu_left();
        info.chunk = if self.gil {
            remaining.min(self.gil_interval)
        } else {
            remaining
        };
        Burst {
            work: info.chunk,
            touch: sim.touch(info.req, 0),
            ..Burst::ZERO
        }
    }

    /// A piece of a CPU step ran. `None` when the step is done; otherwise what the thread does:
    /// go on, or (GIL contended) hand the lock over and queue for it again.
    fn after_chunk(&mut self, sim: &mut Sim, thread: ThreadId, by: Waker) -> Option<Next> {
        let info = self.info[thread as usize];
        if sim.req_mut(info.req).ran(info.chunk) == 0 {
            return None;
        }
        let p = info.process as usize;
        if self.gil && !self.gil_waiters[p].is_empty() {
            self.release_gil(sim, thread, by);
            self.gil_waiters[p].push_back(thread);
            return Some(Next::Block);
        }
        Some(Next::Run(self.start_chunk(sim, thread)))
    }

    /// The thread is on a core and its request between steps: start the next one.
    fn advance(&mut self, sim: &mut Sim, thread: ThreadId, by: Waker) -> Next {
        loop {
            let req = self.info[thread as usize].req;
            if req == NONE {
                return Next::Block;
            }
            match sim.begin_step(req) {
                StepStart::Cpu(cpu) => {
                    sim.req_mut(req).carry = Carry::Cpu(cpu);
                    if self.gil && !self.take_gil(thread) {
                        return Next::Block;
                    }
                    return Next::Run(self.start_chunk(sim, thread));
                }
                StepStart::Io(_) | StepStart::PoolWait => {
                    self.release_gil(sim, thread, by);
                    return Next::Block;
                }
                StepStart::Blocking(wait) => {
                    self.release_gil(sim, thread, by);
                    sim.start_wait(req, wait);
                    return Next::Block;
                }
                StepStart::Done => {
                    self.release_gil(sim, thread, by);
                    sim.finish(req, by);
                    self.info[thread as usize].req = NONE;
                    if let Some(next) = self.after_request(sim, thread) {
                        return next;
                    }
                }
            }
        }
    }

    /// The thread's request is done: exit, stay with its connection, take the next queued
    /// request (`None`: go on with it) or become free.
    fn after_request(&mut self, sim: &mut Sim, thread: ThreadId) -> Option<Next> {
        let info = &mut self.info[thread as usize];
        if self.keepalive && info.client != NONE {
            info.served += 1;
            match self.keepalive_requests {
                Some(limit) if info.served >= limit => {
                    // The server closes the connection (MaxKeepAliveRequests): the client
                    // reconnects and queues for a thread like any new connection, which is
                    // what lets connections beyond the pool size get served at all.
                    sim.clients[info.client as usize].bind = NONE;
                    info.client = NONE;
                    info.served = 0;
                }
                _ => return Some(Next::Block),
            }
        }
        if let Some(req) = self.accept.pop_front() {
            sim.queue_len(self.accept_level, self.accept.len());
            self.bind(sim, thread, req);
            return None;
        }
        if self.fixed.is_none() {
            return Some(Next::Exit);
        }
        self.free.push(thread);
        Some(Next::Block)
    }
}

impl Scheduler for ThreadPerRequest {
    fn start(&mut self, sim: &mut Sim) {
        self.accept_level = sim.add_queue("accept");
        sim.set_processes(self.processes);
        if let Some(n) = self.fixed {
            for p in 0..self.processes {
                for _ in 0..n {
                    let thread = sim.spawn_thread();
                    self.set_info(
                        thread,
                        ThreadInfo {
                            req: NONE,
                            process: p as u32,
                            client: NONE,
                            chunk: 0,
                            served: 0,
                            starting: false,
                        },
                    );
                    self.free.push(thread);
                }
            }
            // The first thread created is the first taken.
            self.free.reverse();
        }
    }

    fn on_connect(&mut self, sim: &mut Sim, client: u32) {
        let thread = match self.fixed {
            Some(_) => match self.free.pop() {
                Some(t) => t,
                None => return,
            },
            None => self.spawn(sim, NONE, client, Waker::Outside),
        };
        self.info[thread as usize].client = client;
        sim.clients[client as usize].bind = thread;
    }

    fn on_arrival(&mut self, sim: &mut Sim, req: ReqId, by: Waker) {
        let client = sim.req(req).client;
        if self.keepalive && client != NONE {
            let bound = sim.clients[client as usize].bind;
            if bound != NONE && self.info[bound as usize].req == NONE {
                if self.info[bound as usize].starting {
                    self.bind(sim, bound, req);
                } else {
                    self.assign(sim, bound, req, by);
                }
                return;
            }
        }
        if let Some(thread) = self.free.pop() {
            self.assign(sim, thread, req, by);
            return;
        }
        if self.fixed.is_none() {
            let thread = self.spawn(sim, NONE, NONE, by);
            self.bind(sim, thread, req);
            return;
        }
        if self.backlog.is_some_and(|b| self.accept.len() as u64 >= b) {
            sim.drop_request(req);
            return;
        }
        self.accept.push_back(req);
        sim.queue_len(self.accept_level, self.accept.len());
    }

    fn on_burst_done(&mut self, sim: &mut Sim, thread: ThreadId, core: CoreId) -> Next {
        let by = Waker::Core(core);
        self.info[thread as usize].starting = false;
        let req = self.info[thread as usize].req;
        if req != NONE && sim.in_step(req) {
            if let Some(next) = self.after_chunk(sim, thread, by) {
                return next;
            }
            sim.end_step(req);
        }
        self.advance(sim, thread, by)
    }

    fn on_io_done(&mut self, sim: &mut Sim, req: ReqId) {
        sim.end_step(req);
        let thread = sim.req(req).owner;
        sim.wake(thread, Burst::ZERO, Waker::Outside);
    }

    fn on_pool_granted(&mut self, sim: &mut Sim, req: ReqId) {
        let thread = sim.req(req).owner;
        sim.wake(thread, Burst::ZERO, Waker::Outside);
    }
}
