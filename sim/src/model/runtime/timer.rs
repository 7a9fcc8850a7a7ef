//! A runtime's timer thread (`timer_thread = true`): `io` steps end on one OS thread of the
//! runtime's own, woken by a kernel timer, instead of in a loop's poll.
//!
//! may 0.3 sleeps this way. `may::coroutine::sleep` puts the coroutine in a timer list that a
//! thread spawned at start-up serves (`TimerThread::run` in may's `timeout_list.rs`): it parks
//! with a timeout until the earliest expiry, takes every expired entry, and parks again. On the
//! machine that costs what a thread's own sleep costs (the timer's interrupt and the wake-up)
//! plus a switch to the timer thread and one away from it, on whichever core it lands. tokio's
//! timer wheel, in contrast, is driven from the loop's own `epoll_wait` timeout at millisecond
//! resolution, which is what the cooperative model does without this key.
//!
//! Here the timer thread is a thread of the kernel layer like any other: a wait ending while it
//! is blocked wakes it ([`Waker::Io`], so onto a busy core it pays `timer_wakeup_cpu`, onto a
//! halted one the idle costs); once on a core it makes every task whose wait ended by then
//! ready (a wait ending while it waits for a core joins that batch without a wake-up of its
//! own) and blocks again. Its burst needs no core time of its own beyond the kernel's switches.
//!
//! Simplification: may's timer thread resumes each expired coroutine itself (`run_coroutine`),
//! so a request's steps after its sleep run on the timer thread until the coroutine next
//! blocks; here the task goes back to the loops' ready queue (as the line may keeps commented
//! out, `schedule_global`, would do), and a loop runs the rest.

use crate::engine::Ctx;
use crate::event::{CoreId, ReqId, ThreadId};
use crate::kernel::{Burst, Next, Waker};

use super::{Role, Runtime};

/// The timer thread's state.
#[derive(Debug, Clone)]
pub(super) struct Timer {
    thread: ThreadId,
    /// Tasks whose wait ended, made ready when the thread next runs.
    due: Vec<ReqId>,
    /// Woken and not yet run.
    woken: bool,
}

impl Runtime {
    /// Creates the timer thread when the runtime has one.
    pub(super) fn start_timer(&mut self, ctx: &mut Ctx) {
        if !self.params.timer_thread {
            return;
        }
        let thread = ctx.spawn_thread();
        self.set_role(thread, Role::Timer);
        self.timer = Some(Timer {
            thread,
            due: Vec::new(),
            woken: false,
        });
    }

    /// `req`'s wait ended: hands it to the timer thread (waking it if it sleeps) and returns
    /// `true`, or returns `false` when the runtime has no timer thread.
    pub(super) fn timer_due(&mut self, ctx: &mut Ctx, req: ReqId) -> bool {
        let Some(timer) = self.timer.as_mut() else {
            return false;
        };
        timer.due.push(req);
        if !timer.woken {
            timer.woken = true;
            ctx.wake(timer.thread, Burst::ZERO, Waker::Io);
        }
        true
    }

    /// The timer thread is on `core`: every task in its batch becomes ready, and it blocks.
    pub(super) fn timer_burst_done(&mut self, ctx: &mut Ctx, core: CoreId) -> Next {
        let timer = self
            .timer
            .as_mut()
            .expect("only the timer thread has the timer role");
        timer.woken = false;
        // Taken and put back, so the batch's buffer is reused (no allocation per expiry).
        let mut due = std::mem::take(&mut timer.due);
        for &req in &due {
            self.make_ready(ctx, req, Waker::Core(core));
        }
        due.clear();
        if let Some(timer) = self.timer.as_mut() {
            timer.due = due;
        }
        Next::Block
    }
}
