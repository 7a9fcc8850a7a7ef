//! Cooperative event loops (Node.js, asyncio, uvicorn workers, tokio): a task runs until it
//! awaits; a CPU step is never cut, so a long one delays every task behind it on its loop, and a
//! `blocking` step stalls the whole loop (unless an `offload` pool takes it).
//!
//! `Balance::Shared` is one ready queue for all loops (tokio's work stealing); with
//! `Balance::Affinity` each connection (closed-loop client, long-lived connection, or each
//! open-loop request as its own connection) is pinned at accept to a loop chosen round robin,
//! as the kernel's SO_REUSEPORT hashing spreads connections evenly on average. Affinity means
//! one process per loop (gunicorn + uvicorn workers), shared one process.
//!
//! `lifo_slot` (shared only; on by default, as in tokio): a task woken by the task running on
//! a loop goes to that loop's one-task LIFO slot and runs next there, ahead of the queue; a
//! task it displaces goes to the queue, and after three slot runs in a row the slot's task
//! goes to the queue too (tokio's `MAX_LIFO_POLLS_PER_TICK`). In this simulator a task wakes
//! another when it releases a pool unit at the end of a CPU step; wake-ups from outside a loop
//! (I/O completions, new connections, a unit released as an I/O step ends) use the queue.
//!
//! `timer_thread` (shared only; off by default): `io` steps end on a timer thread of the
//! runtime's own instead of in a loop's poll, and that thread runs the woken task until it
//! waits again, as may's sleeps do (see `model::runtime::timer`).

use crate::config::{Balance, Model, RunConfig};
use crate::model::runtime::{Params, Runtime};

/// The cooperative model: the shared task runtime with this model's parameters.
pub(crate) fn runtime(cfg: &RunConfig) -> Runtime {
    let Model::Cooperative {
        loops,
        balance,
        offload,
        lifo_slot,
        timer_thread,
    } = cfg.server.model
    else {
        unreachable!("engine picks the model type from the config")
    };
    let affinity = balance == Balance::Affinity;
    Runtime::new(Params {
        workers: loops,
        switch: cfg.costs.task_switch,
        stack: 0,
        spawn: cfg.costs.task_spawn,
        quantum: None,
        affinity,
        offload,
        lifo_slot: lifo_slot && !affinity,
        timer_thread: timer_thread && !affinity,
        processes: if affinity { loops } else { 1 },
    })
}
