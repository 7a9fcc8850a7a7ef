//! [`Ctx`]: what a model may do to the world of a run, and nothing more. The engine owns the
//! clock, the event queue, the RNG, the kernel, the requests and the counters; a model's hooks
//! get a `&mut Ctx` and act through its methods (as a nexosim model acts through its `Context`
//! and a dslab component through its `SimulationContext`), so no model writes engine state
//! directly and every change the engine must know about (memory, queue lengths, switches) is
//! recorded where it happens.

use crate::cache::Touch;
use crate::event::{ReqId, ThreadId};
use crate::kernel::{Burst, Waker};
use crate::time::SimTime;

use super::request::{Carry, StepStart};
use super::world::World;

/// A model's handle on the run (see the module docs). The engine holds it and lends it to
/// each [`Scheduler`](super::Scheduler) hook.
pub(crate) struct Ctx<'a> {
    pub(super) world: World<'a>,
}

impl Ctx<'_> {
    // ----- time and the load -----

    /// The current simulated time.
    #[inline]
    pub(crate) fn now(&self) -> SimTime {
        self.world.now
    }

    /// Requests come from long-lived connections (each connection is one task, opened by
    /// [`Scheduler::on_connect`](super::Scheduler::on_connect)).
    #[inline]
    pub(crate) fn connections(&self) -> bool {
        self.world.connections
    }

    // ----- requests and their steps -----

    /// The closed-loop client or connection that sent `req`, or `NONE`.
    #[inline]
    pub(crate) fn client_of(&self, req: ReqId) -> u32 {
        self.world.req(req).client
    }

    /// The model-defined owner of `req` (the thread or loop serving it), or `NONE`.
    #[inline]
    pub(crate) fn owner(&self, req: ReqId) -> u32 {
        self.world.req(req).owner
    }

    /// Sets the model-defined owner of `req`.
    #[inline]
    pub(crate) fn set_owner(&mut self, req: ReqId, owner: u32) {
        self.world.req_mut(req).owner = owner;
    }

    /// Sets what `req` carries until the model's next decision about it.
    #[inline]
    pub(crate) fn set_carry(&mut self, req: ReqId, carry: Carry) {
        self.world.req_mut(req).carry = carry;
    }

    /// Takes `req`'s pending creation cost (0 when none).
    #[inline]
    pub(crate) fn take_spawn(&mut self, req: ReqId) -> u64 {
        self.world.req_mut(req).take_spawn()
    }

    /// CPU still to run in `req`'s current step.
    #[inline]
    pub(crate) fn cpu_left(&self, req: ReqId) -> u64 {
        self.world.req(req).cpu_left()
    }

    /// `ns` of `req`'s current CPU step ran; returns what is left.
    #[inline]
    pub(crate) fn ran(&mut self, req: ReqId, ns: u64) -> u64 {
        self.world.req_mut(req).ran(ns)
    }

    /// Takes the duration of `req`'s pending blocking call.
    #[inline]
    pub(crate) fn take_call(&mut self, req: ReqId) -> u64 {
        self.world.req_mut(req).take_call()
    }

    /// True while `req` is inside a step that has begun and not ended.
    #[inline]
    pub(crate) fn in_step(&self, req: ReqId) -> bool {
        self.world.in_step(req)
    }

    /// True when `req`'s next step is a CPU burst that can start now (no pool unit to wait
    /// for), so that switching to its task and running the burst can be one core segment.
    #[inline]
    pub(crate) fn next_step_is_ready_cpu(&self, req: ReqId) -> bool {
        self.world.next_step_is_ready_cpu(req)
    }

    /// What a burst of `req`'s current CPU step touches, with `stack` bytes of its task's own
    /// stack (0 for none); `None` when nothing.
    #[inline]
    pub(crate) fn touch(&self, req: ReqId, stack: u64) -> Option<Touch> {
        self.world.touch(req, stack)
    }

    /// Starts `req`'s next step: takes its pool unit (or queues for one) and draws its
    /// duration.
    #[inline]
    pub(crate) fn begin_step(&mut self, req: ReqId) -> StepStart {
        self.world.begin_step(req)
    }

    /// Starts a wait of `ns` for `req` (a blocking call); `on_io_done` follows.
    #[inline]
    pub(crate) fn start_wait(&mut self, req: ReqId, ns: u64) {
        self.world.start_wait(req, ns)
    }

    /// Ends `req`'s current step: releases its pool unit (to the first waiter, if any).
    /// Returns the waiter granted the unit (its `on_pool_granted` follows).
    #[inline]
    pub(crate) fn end_step(&mut self, req: ReqId) -> Option<ReqId> {
        self.world.end_step(req)
    }

    /// `req`'s steps are done: back through the proxy (woken `by` the caller), then to the
    /// client.
    #[inline]
    pub(crate) fn finish(&mut self, req: ReqId, by: Waker) {
        self.world.finish(req, by)
    }

    /// The server turns `req` away (full backlog).
    #[inline]
    pub(crate) fn drop_request(&mut self, req: ReqId) {
        self.world.drop_request(req)
    }

    // ----- clients -----

    /// The model-defined binding of `client` (a keep-alive thread, an event loop), or `NONE`.
    #[inline]
    pub(crate) fn bound(&self, client: u32) -> u32 {
        self.world.clients[client as usize].bind
    }

    /// Binds `client` to `to` (model-defined), or unbinds it with `NONE`.
    #[inline]
    pub(crate) fn bind(&mut self, client: u32, to: u32) {
        self.world.clients[client as usize].bind = to;
    }

    // ----- threads, tasks, memory, queues -----

    /// A new OS thread (blocked).
    #[inline]
    pub(crate) fn spawn_thread(&mut self) -> ThreadId {
        self.world.spawn_thread()
    }

    /// Makes a blocked thread runnable with `burst`; `by` is who wakes it (the thread on a
    /// core, or an interrupt), which decides whether the wake-up crosses cores.
    #[inline]
    pub(crate) fn wake(&mut self, thread: ThreadId, burst: Burst, by: Waker) {
        self.world.wake(thread, burst, by)
    }

    /// Calls the model's [`Scheduler::on_timer`](super::Scheduler::on_timer) for `thread`
    /// `ns` from now.
    #[inline]
    pub(crate) fn set_timer(&mut self, ns: u64, thread: ThreadId, generation: u32) {
        self.world.set_timer(ns, thread, generation)
    }

    /// Cuts a running or runnable thread's burst short (see `Kernel::interrupt`); returns the
    /// work it had left, ns.
    #[inline]
    pub(crate) fn interrupt(&mut self, thread: ThreadId) -> u64 {
        self.world.interrupt(thread)
    }

    /// A user-level task or coroutine switch happened.
    #[inline]
    pub(crate) fn count_task_switch(&mut self) {
        self.world.task_switches += 1;
    }

    /// Tasks (coroutines, green threads) created (+) or ended (-).
    #[inline]
    pub(crate) fn tasks_changed(&mut self, delta: i64) {
        self.world.tasks_changed(delta)
    }

    /// Server processes (for the per-process memory base).
    #[inline]
    pub(crate) fn set_processes(&mut self, processes: u64) {
        self.world.set_processes(processes)
    }

    /// Registers a model's queue for the report; returns its index for [`Ctx::queue_len`].
    #[inline]
    pub(crate) fn add_queue(&mut self, name: &str) -> usize {
        self.world.add_queue(name)
    }

    /// Records a model queue's new length.
    #[inline]
    pub(crate) fn queue_len(&mut self, index: usize, len: usize) {
        self.world.queue_len(index, len)
    }
}
