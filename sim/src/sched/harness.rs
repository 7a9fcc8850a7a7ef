//! A one-core driver for the run-queue policies, used by the tests: it calls them the way the
//! kernel layer is meant to (see [`RunQueue`]), with no switch costs, and records what the
//! threads saw. Threads are either CPU hogs or sleepers that compute a little and sleep.

use super::{Blocked, Enqueue, Id, KernelParams, RunQueue, Sleeper};
use crate::time::SimTime;

/// What a thread does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Behaviour {
    /// Always runnable.
    Hog,
    /// Computes `run` ns, sleeps `sleep` ns, and again.
    Sleeper { run: u64, sleep: u64 },
}

/// What happened on the core.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// CPU each thread got, ns.
    pub(super) cpu: Vec<u64>,
    /// Times the core changed from one thread to another.
    pub(super) switches: u64,
    /// Each thread's uninterrupted runs, ns.
    pub(super) runs: Vec<Vec<u64>>,
    /// Sleepers: from each wake-up to running again, ns.
    pub(super) wake_latency: Vec<u64>,
    /// Wake-ups that preempted the running thread at once.
    pub(super) preempting_wakeups: u64,
}

struct Core<'a> {
    rq: Box<dyn RunQueue>,
    threads: &'a [Behaviour],
    now: SimTime,
    current: Option<Id>,
    run_started: SimTime,
    left: Vec<u64>,
    wake_at: Vec<Option<SimTime>>,
    woke_at: Vec<Option<SimTime>>,
    blocked: Vec<Option<Blocked>>,
    out: Outcome,
}

impl Core<'_> {
    fn switch_to(&mut self, next: Option<Id>) {
        if next == self.current {
            return;
        }
        if let Some(c) = self.current {
            self.out.runs[c as usize].push(self.now - self.run_started);
            if next.is_some() {
                self.out.switches += 1;
            }
        }
        self.current = next;
        self.run_started = self.now;
        if let Some(n) = next
            && let Some(w) = self.woke_at[n as usize].take()
        {
            self.out.wake_latency.push(self.now - w);
        }
    }

    fn burst_end(&self) -> Option<SimTime> {
        let c = self.current?;
        match self.threads[c as usize] {
            Behaviour::Hog => None,
            Behaviour::Sleeper { .. } => Some(self.now + self.left[c as usize]),
        }
    }

    fn next_wake(&self) -> Option<(SimTime, Id)> {
        self.wake_at
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|t| (t, i as Id)))
            .min()
    }
}

/// Runs `threads` on one core under `params` for `until` ns.
pub(super) fn run(params: &KernelParams, threads: &[Behaviour], until: u64) -> Outcome {
    let n = threads.len();
    let mut core = Core {
        rq: params.run_queue(0),
        threads,
        now: SimTime::ZERO,
        current: None,
        run_started: SimTime::ZERO,
        left: threads
            .iter()
            .map(|b| match b {
                Behaviour::Hog => 0,
                Behaviour::Sleeper { run, .. } => *run,
            })
            .collect(),
        wake_at: vec![None; n],
        woke_at: vec![None; n],
        blocked: vec![None; n],
        out: Outcome {
            cpu: vec![0; n],
            runs: vec![Vec::new(); n],
            ..Outcome::default()
        },
    };
    for id in 0..n as Id {
        core.rq
            .enqueue(id, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    }
    let first = core.rq.pick(SimTime::ZERO);
    core.switch_to(first);
    let end = SimTime(until);
    loop {
        let slice = core.rq.slice_end(core.now);
        let burst = core.burst_end();
        let wake = core.next_wake();
        let t = [slice, burst, wake.map(|w| w.0)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end)
            .min(end);
        if let Some(c) = core.current {
            let ran = t - core.now;
            core.out.cpu[c as usize] += ran;
            core.left[c as usize] = core.left[c as usize].saturating_sub(ran);
        }
        core.now = t;
        if t >= end {
            break;
        }
        if burst == Some(t) {
            let c = core.current.expect("a burst ends on a running thread");
            let Behaviour::Sleeper { run, sleep } = threads[c as usize] else {
                unreachable!("hogs have no burst end")
            };
            core.blocked[c as usize] = Some(core.rq.block(t));
            core.wake_at[c as usize] = Some(t + sleep);
            core.left[c as usize] = run;
            let next = core.rq.pick(t);
            core.switch_to(next);
        } else if let Some((w, id)) = wake
            && w == t
        {
            core.wake_at[id as usize] = None;
            let carried = match core.blocked[id as usize].take() {
                Some(Blocked::Left(s)) => s,
                Some(Blocked::Delayed) => core.rq.undelay(id, t),
                None => unreachable!("only blocked threads wake"),
            };
            core.rq.enqueue(id, carried, t, Enqueue::Wakeup);
            core.woke_at[id as usize] = Some(t);
            if core.current.is_none() {
                let next = core.rq.pick(t);
                core.switch_to(next);
            } else if core.rq.wakeup_preempts(id, t) {
                // The hog is in user mode: the resched takes effect at once in every
                // preemption model.
                let next = core.rq.pick(t);
                if next == Some(id) {
                    core.out.preempting_wakeups += 1;
                }
                core.switch_to(next);
            }
        } else {
            assert!(core.rq.tick(t), "slice_end said {t:?} but tick disagreed");
            let next = core.rq.pick(t);
            core.switch_to(next);
        }
    }
    if let Some(c) = core.current {
        core.out.runs[c as usize].push(core.now - core.run_started);
    }
    core.out
}
