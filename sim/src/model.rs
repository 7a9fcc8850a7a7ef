//! The user-level layer: how a server maps requests onto OS threads. Each model implements
//! [`Scheduler`]'s event hooks: thread-per-request with its own type, preemptive and cooperative
//! as one task runtime with different parameters (switch cost, quantum, balance, offload).
//! The engine owns time, the kernel, the requests and the statistics, and calls the hooks.

pub(crate) mod cooperative;
pub(crate) mod preemptive;
pub(crate) mod runtime;
pub(crate) mod thread_per_request;

use crate::engine::Sim;
use crate::event::{ReqId, ThreadId};
use crate::kernel::Next;

/// The event hooks of a scheduling model.
pub(crate) trait Scheduler {
    /// The run starts: create the threads the server has from the beginning.
    fn start(&mut self, sim: &mut Sim);

    /// A long-lived connection opens (before its first message).
    fn on_connect(&mut self, _sim: &mut Sim, _client: u32) {}

    /// A request reaches the server.
    fn on_arrival(&mut self, sim: &mut Sim, req: ReqId);

    /// A thread this model owns finished its burst (it is still on its core); say what next.
    fn on_burst_done(&mut self, sim: &mut Sim, thread: ThreadId) -> Next;

    /// A request's wait ended.
    fn on_io_done(&mut self, sim: &mut Sim, req: ReqId);

    /// A request that waited for a pool unit now holds one.
    fn on_pool_granted(&mut self, sim: &mut Sim, req: ReqId);
}
