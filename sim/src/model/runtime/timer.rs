//! A runtime's timer thread (`timer_thread = true`): `io` steps end on one OS thread of the
//! runtime's own, woken by a kernel timer, which then runs each woken task itself until it
//! waits again, instead of the task going back to a loop's queue.
//!
//! may 0.3 sleeps this way. `may::coroutine::sleep` puts the coroutine in a timer list that a
//! thread spawned at start-up serves (`TimerThread::run` in may's `timeout_list.rs`): it parks
//! with a timeout until the earliest expiry, takes every expired entry and resumes its
//! coroutine on the spot (`run_coroutine`), so the rest of the request (after its sleep) runs
//! on the timer thread until the coroutine blocks again, then parks. On the machine that costs
//! the timer's interrupt and the wake-up, a switch to the timer thread and one away from it,
//! and a coroutine switch per task resumed. tokio's timer wheel, in contrast, is driven from the
//! loop's own `epoll_wait` timeout at millisecond resolution, which is what the cooperative
//! model does without this key.
//!
//! Here the timer thread is a worker of the runtime that takes tasks only from its own queue
//! (a worker with its own queue): a wait that ends queues the task there and, if the thread is blocked,
//! wakes it ([`Waker::Io`]: a kernel timer, so it takes a timer interrupt and, onto a busy
//! core, `timer_wakeup_cpu` or `timer_interrupt_cpu`; onto a halted one the idle costs). It
//! resumes each queued task (a task switch) and runs it until it waits, as a loop would, and
//! blocks when its queue is empty; waits that end meanwhile join the queue without a wake-up of
//! their own. A task it ran is owned by it until the task waits again, so a blocking call's end
//! wakes it. A task that becomes ready any other way (a request's arrival on its connection, a
//! pool unit) goes to the loops. The key applies to a shared runtime (`balance = "shared"`, as
//! may's); with affinity it is ignored (the scenario parser refuses it there).

use crate::engine::Ctx;
use crate::event::ReqId;
use crate::kernel::{Burst, Waker};

use super::{Role, Runtime, Worker};

impl Runtime {
    /// Creates the timer thread when the runtime has one: a worker with its own queue, after the loops.
    pub(super) fn start_timer(&mut self, ctx: &mut Ctx) {
        if !self.params.timer_thread {
            return;
        }
        let w = self.workers.len() as u32;
        let thread = ctx.spawn_thread();
        self.set_role(thread, Role::Worker(w));
        self.workers.push(Worker::new(thread, true));
        self.timer = Some(w);
    }

    /// `req`'s wait ended: queues it on the timer thread (waking the thread if it is blocked)
    /// and returns `true`, or returns `false` when the runtime has no timer thread.
    pub(super) fn timer_due(&mut self, ctx: &mut Ctx, req: ReqId) -> bool {
        let Some(w) = self.timer else {
            return false;
        };
        self.workers[w as usize].ready.push_back(req);
        self.ready += 1;
        ctx.queue_len(self.ready_level, self.ready);
        let timer = &mut self.workers[w as usize];
        if timer.idle {
            timer.idle = false;
            let thread = timer.thread;
            ctx.wake(thread, Burst::ZERO, Waker::Io);
        }
        true
    }
}
