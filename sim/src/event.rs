//! The events of a run. They are small `Copy` values so that the queue never allocates per event.

/// Index of a request in the engine's slab.
pub(crate) type ReqId = u32;
/// Index of an OS thread in the kernel.
pub(crate) type ThreadId = u32;
/// Index of a core.
pub(crate) type CoreId = u32;

/// "None" for the `u32` indices above, which keeps the structs that hold them small.
pub(crate) const NONE: u32 = u32::MAX;

/// Something that happens at a point in simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// The next open-loop or trace arrival.
    Arrival,
    /// A closed-loop client or a long-lived connection sends its next request.
    ClientSend {
        /// The client.
        client: u32,
    },
    /// Every connection receives the broadcast.
    Broadcast,
    /// A request let through the `maxconn` gate enters the server.
    Enter {
        /// The request.
        req: ReqId,
    },
    /// The segment a core is running ends (burst finished or time slice over). Stale when the
    /// core's generation has moved on.
    CoreDone {
        /// The core.
        core: CoreId,
        /// The core's generation when the segment was scheduled.
        generation: u32,
    },
    /// A request's wait (I/O, blocking call) ends.
    IoDone {
        /// The request.
        req: ReqId,
    },
    /// A model's timer for one of its threads (a timed wait on a lock) runs out. Stale when
    /// the model's generation for the thread has moved on.
    Timer {
        /// The thread.
        thread: ThreadId,
        /// The model's count for the thread when it set the timer.
        generation: u32,
    },
    /// A core is interrupted (`[costs] interruptions`; see `crate::kernel`'s noise).
    Interruption,
    /// A request was handed a unit of the pool it waited for.
    PoolGranted {
        /// The request.
        req: ReqId,
    },
}
