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
    // The threads exist before the experiment: they join with no lag and no start-up debit
    // (CFS's START_DEBIT would otherwise set them apart by the order they were created in).
    for id in 0..n as Id {
        core.rq
            .enqueue(id, Sleeper::NEW, SimTime::ZERO, Enqueue::Wakeup);
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
            match core.blocked[id as usize].take() {
                Some(Blocked::Left(s)) => core.rq.enqueue(id, s, t, Enqueue::Wakeup),
                Some(Blocked::Delayed) => {
                    if let Err(s) = core.rq.requeue(id, t) {
                        core.rq.enqueue(id, s, t, Enqueue::Wakeup);
                    }
                }
                None => unreachable!("only blocked threads wake"),
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::{Policy, Preempt};
    use proptest::prelude::*;

    const SECOND: u64 = 1_000_000_000;

    fn eevdf(cores: u64, hrtick: bool) -> KernelParams {
        KernelParams {
            scheduler: Policy::Eevdf,
            hz: 250,
            preempt: Preempt::None,
            hrtick,
            cores,
        }
    }

    /// The runs that neither start nor end the experiment.
    fn interior(out: &Outcome) -> Vec<u64> {
        out.runs
            .iter()
            .flat_map(|r| r.iter().skip(1).take(r.len().saturating_sub(2)).copied())
            .collect()
    }

    #[test]
    fn two_hogs_on_one_core_of_this_vm_run_a_tick_each() {
        // This VM: 2 CPUs (factor 2, base slice 1.5 ms), HZ 250, no HRTICK: measured 252
        // switches/s, slices of 3.97 ms.
        let out = run(
            &eevdf(2, false),
            &[Behaviour::Hog, Behaviour::Hog],
            10 * SECOND,
        );
        assert!((2_498..=2_500).contains(&out.switches), "{}", out.switches);
        assert!(interior(&out).iter().all(|&r| r == 4_000_000));
        assert_eq!(out.cpu, vec![5 * SECOND, 5 * SECOND]);
    }

    #[test]
    fn with_hrtick_two_hogs_run_a_base_slice_each() {
        for (cores, slice) in [(2, 1_500_000), (64, 3_000_000)] {
            let out = run(
                &eevdf(cores, true),
                &[Behaviour::Hog, Behaviour::Hog],
                SECOND,
            );
            let runs = interior(&out);
            assert!(runs.iter().all(|&r| r == slice), "{cores} cores: {runs:?}");
            let expected = SECOND / slice;
            assert!(out.switches.abs_diff(expected) <= 2, "{}", out.switches);
        }
    }

    /// A hog runs; a thread that waited, ran 0.1 ms and slept (so it left owed service) is
    /// woken at 5.1 ms. Returns whether it preempted the hog at once.
    fn woken_sleeper_preempts(params: KernelParams) -> bool {
        let mut rq = params.run_queue(0);
        rq.enqueue(0, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
        rq.enqueue(1, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
        // CFS's START_DEBIT may favour the second thread: call the first picked the hog.
        let hog = rq.pick(SimTime::ZERO).unwrap();
        let sleeper = 1 - hog;
        let t = rq.slice_end(SimTime::ZERO).unwrap();
        assert!(rq.tick(t));
        assert_eq!(rq.pick(t), Some(sleeper));
        let slept = t + 100_000;
        let Blocked::Left(carried) = rq.block(slept) else {
            panic!("it left owed service, so it is not delayed")
        };
        assert_eq!(rq.pick(slept), Some(hog));
        let woken = slept + 1_000_000;
        rq.enqueue(sleeper, carried, woken, Enqueue::Wakeup);
        rq.wakeup_preempts(sleeper, woken) && rq.pick(woken) == Some(sleeper)
    }

    #[test]
    fn a_woken_sleeper_preempts_a_hog_under_eevdf_and_cfs_but_not_round_robin() {
        assert!(woken_sleeper_preempts(eevdf(2, false)));
        assert!(woken_sleeper_preempts(KernelParams {
            scheduler: Policy::Cfs,
            ..eevdf(2, false)
        }));
        assert!(!woken_sleeper_preempts(KernelParams {
            scheduler: Policy::RoundRobin { quantum: 4_000_000 },
            ..eevdf(2, false)
        }));
    }

    /// Wake-up latencies (sorted) of a thread that computes 20 us and sleeps 1 ms beside
    /// `hogs` CPU hogs for 10 s, and how many of its wake-ups preempted a hog at once.
    fn sleeper_beside_hogs(p: KernelParams, hogs: usize) -> (Vec<u64>, u64) {
        let mut threads = vec![Behaviour::Hog; hogs];
        threads.push(Behaviour::Sleeper {
            run: 20_000,
            sleep: 1_000_000,
        });
        let out = run(&p, &threads, 10 * SECOND);
        let mut latency = out.wake_latency;
        latency.sort_unstable();
        (latency, out.preempting_wakeups)
    }

    #[test]
    fn a_light_sleeper_runs_at_once_beside_a_hog_unless_round_robin() {
        let (eevdf_latency, eevdf_preempting) = sleeper_beside_hogs(eevdf(2, false), 1);
        // Woken with its lag kept (never negative for long: it waits only while it owes
        // service), it is eligible with the earlier deadline almost every time.
        assert_eq!(eevdf_latency[eevdf_latency.len() / 2], 0);
        assert!(eevdf_preempting * 10 >= eevdf_latency.len() as u64 * 9);
        // When it owed service it waits for the hog's slice to end, at most a tick.
        assert!(*eevdf_latency.last().unwrap() <= 4_000_000 + 20_000);
        let cfs = KernelParams {
            scheduler: Policy::Cfs,
            ..eevdf(2, false)
        };
        let (cfs_latency, _) = sleeper_beside_hogs(cfs, 1);
        assert_eq!(*cfs_latency.last().unwrap(), 0);
        let rr = KernelParams {
            scheduler: Policy::RoundRobin { quantum: 4_000_000 },
            ..eevdf(2, false)
        };
        let (rr_latency, rr_preempting) = sleeper_beside_hogs(rr, 1);
        assert_eq!(rr_preempting, 0);
        assert!(rr_latency[rr_latency.len() / 2] >= 1_000_000);
    }

    /// Where a thread is, as the queue's answers told the test.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Seen {
        Away(Sleeper),
        Queued,
        Running,
        Delayed,
    }

    /// Random enqueues, picks, blocks, ticks, wake-ups of delayed sleepers and steals: after
    /// each, `waiting` counts the queued threads (neither running nor delayed) and the steal
    /// candidate is one of them, which `detach` hands over.
    #[test]
    fn waiting_and_the_steal_candidate_follow_the_queue() {
        for p in [
            eevdf(4, false),
            eevdf(4, true),
            KernelParams {
                scheduler: Policy::Cfs,
                ..eevdf(4, false)
            },
        ] {
            let mut rq = p.run_queue(0);
            let mut seen = vec![Seen::Away(Sleeper::NEW); 40];
            let (mut now, mut state) = (SimTime::ZERO, 0x2545_f491_4f6c_dd1d_u64);
            let mut steals = 0;
            for _ in 0..20_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                now = now + state % 3_000_000;
                let id = (state >> 32) as usize % seen.len();
                let running = seen.iter().position(|s| *s == Seen::Running);
                match (state >> 8) % 6 {
                    0 | 1 => {
                        if let Seen::Away(carried) = seen[id] {
                            let how = if carried == Sleeper::NEW {
                                Enqueue::New
                            } else {
                                Enqueue::Wakeup
                            };
                            rq.enqueue(id as Id, carried, now, how);
                            seen[id] = Seen::Queued;
                        }
                    }
                    2 => {
                        if running.is_some() && !rq.tick(now) {
                            continue;
                        }
                        let picked = rq.pick(now);
                        if let Some(r) = running {
                            seen[r] = Seen::Queued;
                        }
                        if let Some(n) = picked {
                            assert_ne!(seen[n as usize], Seen::Delayed);
                            seen[n as usize] = Seen::Running;
                        }
                    }
                    3 => {
                        if let Some(r) = running {
                            seen[r] = match rq.block(now) {
                                Blocked::Left(s) => Seen::Away(s),
                                Blocked::Delayed => Seen::Delayed,
                            };
                        }
                    }
                    4 => {
                        if seen[id] == Seen::Delayed {
                            seen[id] = match rq.requeue(id as Id, now) {
                                Ok(()) => Seen::Queued,
                                Err(s) => Seen::Away(s),
                            };
                        }
                    }
                    _ => {
                        if let Some(c) = rq.steal_candidate() {
                            assert_eq!(seen[c as usize], Seen::Queued);
                            let s = rq.detach(c, now).expect("a queued thread detaches");
                            seen[c as usize] = Seen::Away(s);
                            steals += 1;
                        }
                    }
                }
                let queued = seen.iter().filter(|s| **s == Seen::Queued).count();
                assert_eq!(rq.waiting(), queued, "{p:?}");
                assert_eq!(rq.steal_candidate().is_some(), queued > 0);
            }
            assert!(steals > 100, "{steals} steals");
        }
    }

    fn policy() -> impl Strategy<Value = KernelParams> {
        (0..4u8, 1..=16u64, 1..=4u64).prop_map(|(kind, cores, quantum_ms)| {
            let base = eevdf(cores, false);
            match kind {
                0 => base,
                1 => KernelParams {
                    hrtick: true,
                    ..base
                },
                2 => KernelParams {
                    scheduler: Policy::Cfs,
                    ..base
                },
                _ => KernelParams {
                    scheduler: Policy::RoundRobin {
                        quantum: quantum_ms * 1_000_000,
                    },
                    ..base
                },
            }
        })
    }

    fn sleeper() -> impl Strategy<Value = Behaviour> {
        (10_000..3_000_000u64, 10_000..10_000_000u64)
            .prop_map(|(run, sleep)| Behaviour::Sleeper { run, sleep })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Always-runnable threads of equal weight get equal CPU, whatever else shares the
        /// core: at the end of 2 s their shares differ by at most twice what one of them can
        /// run in one go. The bound is EEVDF's: each thread's lag stays within one request or
        /// one tick either way (Stoica et al., "A proportional share resource allocation
        /// algorithm for real-time, time-shared systems", RTSS 1996), so two lags differ by up
        /// to two. One run was too tight: a snapshot taken as one hog ends its run while
        /// another is owed one (EEVDF, 3 hogs and a sleeper, `proptest-regressions`) differed
        /// by 4.65 ms with runs of 4.56 ms, and the same case ran for 20 s ends within one.
        #[test]
        fn hogs_share_the_core_fairly(
            p in policy(),
            hogs in 2..5usize,
            sleepers in proptest::collection::vec(sleeper(), 0..3),
        ) {
            let mut threads = vec![Behaviour::Hog; hogs];
            threads.extend(sleepers);
            let out = run(&p, &threads, 2 * SECOND);
            let cpu = &out.cpu[..hogs];
            let spread = cpu.iter().max().unwrap() - cpu.iter().min().unwrap();
            let longest = out.runs[..hogs].iter().flatten().max().copied().unwrap_or(0);
            prop_assert!(
                spread <= 2 * longest,
                "spread {spread} longest run {longest} cpu {cpu:?}"
            );
        }
    }
}
