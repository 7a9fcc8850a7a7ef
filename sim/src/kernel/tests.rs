//! The kernel layer alone: threads with fixed bursts under each policy.

use super::*;
use crate::sched::{self, KernelParams};

const MS: u64 = 1_000_000;

fn rr(quantum: u64) -> Policy {
    Policy::RoundRobin { quantum }
}

fn fair(scheduler: sched::Policy, cores: u64, hrtick: bool) -> Policy {
    Policy::Fair(KernelParams {
        scheduler,
        hrtick,
        cores,
        ..KernelParams::default()
    })
}

/// Runs the kernel alone: every burst-done thread blocks; `wakes` are (time, thread, work)
/// wake-ups from outside, each an event of its own so the queue's times stay monotone. Returns
/// (time, thread) of each burst completion.
fn run(k: &mut Kernel, q: &mut EventQueue, wakes: &[(u64, ThreadId, u64)]) -> Vec<(u64, ThreadId)> {
    for &(at, _, _) in wakes {
        q.push(SimTime(at), Event::Arrival);
    }
    let mut pending = wakes.to_vec();
    pending.sort_by_key(|w| w.0);
    let mut pending = pending.into_iter();
    let mut done = Vec::new();
    while let Some((now, event)) = q.pop() {
        match event {
            Event::Arrival => {
                let (_, thread, work) = pending.next().unwrap();
                k.wake(now, q, thread, Burst::work(work), Waker::Outside);
            }
            Event::CoreDone { core, generation } => {
                if let Some(t) = k.core_done(now, q, core, generation) {
                    done.push((now.ns(), t));
                    k.resume(now, q, core, Next::Block);
                }
            }
            _ => {}
        }
    }
    done
}

#[test]
fn round_robin_pays_a_switch_per_slice() {
    // Two threads of 3 ms on one core, slices of 1 ms, switches of 100 us.
    let mut k = Kernel::new(1, 100_000, 0, rr(MS));
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    let done = run(&mut k, &mut q, &[(0, a, 3 * MS), (0, b, 3 * MS)]);
    // a b a b a b: five switches (the first dispatch on a fresh core is free).
    assert_eq!(k.context_switches, 5);
    assert_eq!(done, vec![(5_400_000, a), (6_500_000, b)]);
    assert_eq!(k.useful_ns, 6 * MS);
    assert_eq!(k.switching_ns, 500_000);
    assert_eq!(k.overlaps, 0);
    // The core's record: b's last stay, then a's, each a 100 us switch and a 1 ms slice.
    let record = k.record(0);
    assert_eq!(record.threads[..2], [b, a]);
    assert_eq!(record.ran_ns[..2], [1_100_000, 1_100_000]);
    assert_eq!(record.idle_since, SimTime(6_500_000));
}

#[test]
fn a_thread_alone_keeps_its_core() {
    for policy in [rr(MS), fair(sched::Policy::Eevdf, 2, false)] {
        let mut k = Kernel::new(2, 100_000, 0, policy);
        let mut q = EventQueue::default();
        let a = k.spawn();
        assert_eq!(
            run(&mut k, &mut q, &[(0, a, 10_500_000)]),
            vec![(10_500_000, a)]
        );
        assert_eq!(k.context_switches, 0);
    }
}

#[test]
fn eevdf_hogs_switch_on_the_tick_unless_hrtick() {
    // Two 10 ms hogs on one core. Base slice 0.75 ms, but without HRTICK the scheduler only
    // looks at the 4 ms tick: a b a b a b, switching at 4, 8, 12, 16 and 18 ms (a is done).
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false));
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    let done = run(&mut k, &mut q, &[(0, a, 10 * MS), (0, b, 10 * MS)]);
    assert_eq!(done, vec![(18 * MS, a), (20 * MS, b)]);
    assert_eq!(k.context_switches, 5);
    // With HRTICK they alternate every 0.75 ms (the first slice is half: a new thread's
    // first deadline).
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, true));
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    let done = run(&mut k, &mut q, &[(0, a, 10 * MS), (0, b, 10 * MS)]);
    assert_eq!(done.len(), 2);
    assert!(k.context_switches >= 20, "{}", k.context_switches);
    assert_eq!(done[1].0, 20 * MS);
}

#[test]
fn a_woken_thread_preempts_a_hog_past_its_protected_slice() {
    // A hog has run alone for 5 ms when a short thread wakes from outside: the hog is past its
    // protected span and the newcomer is eligible with an earlier deadline, so it runs at
    // once (no tick rounding), and the hog resumes after it.
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false));
    let mut q = EventQueue::default();
    let (hog, io) = (k.spawn(), k.spawn());
    let done = run(&mut k, &mut q, &[(0, hog, 20 * MS), (5 * MS, io, 100_000)]);
    assert_eq!(done[0], (5_100_000, io));
    assert_eq!(k.wakeup_preemptions, 1);
    // Round robin never preempts on a wake-up: the newcomer waits for the quantum boundary.
    let mut k = Kernel::new(1, 0, 0, rr(3 * MS));
    let mut q = EventQueue::default();
    let (hog, io) = (k.spawn(), k.spawn());
    let done = run(&mut k, &mut q, &[(0, hog, 20 * MS), (5 * MS, io, 100_000)]);
    assert_eq!(done[0], (6_100_000, io));
}

#[test]
fn a_same_core_waker_is_preempted_on_its_return_not_inside_the_call() {
    // Core 0 runs `waker`, whose first burst ends at 5 ms; it then wakes `woken` on its own
    // core (the only one) and computes again. The resched waits for resume(Run): the woken
    // thread runs next, at 5 ms.
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false));
    let mut q = EventQueue::default();
    let (waker, woken) = (k.spawn(), k.spawn());
    k.wake(
        SimTime::ZERO,
        &mut q,
        waker,
        Burst::work(5 * MS),
        Waker::Outside,
    );
    let mut order = Vec::new();
    let mut woke = false;
    while let Some((now, event)) = q.pop() {
        let Event::CoreDone { core, generation } = event else {
            continue;
        };
        let Some(t) = k.core_done(now, &mut q, core, generation) else {
            continue;
        };
        order.push((now.ns(), t));
        if t == waker && !woke {
            woke = true;
            k.wake(now, &mut q, woken, Burst::work(MS), Waker::Core(core));
            assert!(
                k.cores[0].resched,
                "the switch waits for the waker's return"
            );
            k.resume(now, &mut q, core, Next::Run(Burst::work(MS)));
        } else {
            k.resume(now, &mut q, core, Next::Block);
        }
    }
    assert_eq!(
        order,
        vec![(5 * MS, waker), (6 * MS, woken), (7 * MS, waker)]
    );
}

#[test]
fn an_idle_core_steals_a_waiting_thread() {
    // Two cores, three threads: a 1 ms one and two 10 ms ones land on the two cores, the
    // third waits on one of them; when the short one ends, its core takes the waiting one.
    let mut k = Kernel::new(2, 0, 0, fair(sched::Policy::Eevdf, 2, false));
    let mut q = EventQueue::default();
    let (a, b, c) = (k.spawn(), k.spawn(), k.spawn());
    let done = run(
        &mut k,
        &mut q,
        &[(0, a, MS), (0, b, 10 * MS), (0, c, 10 * MS)],
    );
    assert_eq!(done[0], (MS, a));
    // Nobody waits for a tick-long slice on a shared core while a core is free.
    assert_eq!(done[1..], [(10 * MS, b), (11 * MS, c)]);
}

#[test]
fn cfs_shares_by_the_latency_on_the_tick() {
    // CFS on one core, two hogs: slices of latency / 2 = 3 ms, noticed at the 4 ms tick.
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Cfs, 1, false));
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    run(&mut k, &mut q, &[(0, a, 12 * MS), (0, b, 12 * MS)]);
    assert_eq!(k.context_switches, 5);
}

#[test]
fn a_cross_core_wakeup_waits_and_counts_as_idle() {
    // Two cores; the waker runs on core 0 and wakes a thread whose last core is busy.
    let mut k = Kernel::new(2, 0, 5_000, fair(sched::Policy::Eevdf, 2, false));
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    k.wake(
        SimTime(0),
        &mut q,
        a,
        Burst::work(1_000_000),
        Waker::Outside,
    );
    k.wake(SimTime(0), &mut q, b, Burst::work(1_000), Waker::Core(0));
    let done = run(&mut k, &mut q, &[]);
    assert_eq!(done, vec![(6_000, b), (1_000_000, a)]);
    assert_eq!(k.useful_ns, 1_001_000);
}

#[test]
fn an_interrupt_wake_up_pays_wakeup_cpu_only_onto_a_core_that_halted() {
    // EEVDF, one core, wakeup_cpu = 200 us. `a` runs 3 ms while `b` waits and blocks owing
    // service: DELAY_DEQUEUE keeps it on the queue. Woken from outside at 3.5 ms (b running),
    // it is requeued where it is (`requeue_delayed`) on a busy core, so it is not charged. The
    // first two wake-ups are the new threads' first runs, not charged either: the core is busy
    // until 14 ms (b ends last) with no switching. Woken again at 15 ms, onto the core idle
    // since 14 ms, `a` pays it: done at 15 ms + 200 us + 1 ms.
    let cpu = 200_000;
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false)).with_wakeup_cpu(cpu);
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    k.wake(SimTime(0), &mut q, a, Burst::work(3 * MS), Waker::Outside);
    k.wake(SimTime(0), &mut q, b, Burst::work(10 * MS), Waker::Outside);
    q.push(SimTime(3_500_000), Event::Arrival);
    q.push(SimTime(15_000_000), Event::Arrival);
    let mut done = Vec::new();
    while let Some((now, event)) = q.pop() {
        match event {
            Event::Arrival if now == SimTime(3_500_000) => {
                assert_eq!(k.threads[a as usize].carried, Carried::Delayed(0));
                k.wake(now, &mut q, a, Burst::work(MS), Waker::Outside);
                assert_eq!(k.threads[a as usize].carried, Carried::New, "requeued");
            }
            Event::Arrival => {
                assert_eq!(k.switching_ns, 0, "nothing charged on the busy core");
                assert_eq!(done.last(), Some(&(14_000_000, b)));
                k.wake(now, &mut q, a, Burst::work(MS), Waker::Outside);
            }
            Event::CoreDone { core, generation } => {
                if let Some(t) = k.core_done(now, &mut q, core, generation) {
                    done.push((now.ns(), t));
                    k.resume(now, &mut q, core, Next::Block);
                }
            }
            _ => {}
        }
    }
    assert_eq!(done[0], (3_000_000, a));
    assert_eq!(done.last(), Some(&(16_200_000, a)));
    assert_eq!(k.switching_ns, cpu);
    assert_eq!(k.useful_ns, 15 * MS);
    // A wake-up by a thread on a core is not charged.
    let burst = k.woken_burst(Burst::work(MS), Waker::Core(0), true);
    assert_eq!(burst, Burst::work(MS));
    assert_eq!(
        k.woken_burst(Burst::work(MS), Waker::Handoff, true)
            .overhead,
        cpu
    );
    // Nor is a new thread's first run: it did not sleep.
    assert_eq!(
        k.woken_burst(Burst::work(MS), Waker::Outside, false),
        Burst::work(MS)
    );
}

#[test]
fn an_io_wait_s_end_pays_timer_wakeup_cpu_onto_a_busy_core_only() {
    // The schedule of the test above, the wake-ups now ends of I/O waits, with
    // timer_wakeup_cpu = 300 us beside wakeup_cpu = 200 us. At 3.5 ms `a` lands on the busy
    // core (requeued where it was delayed): it pays the timer's 300 us, so `b` ends at
    // 14.3 ms. At 15 ms it lands on the core that halted: it pays wakeup_cpu (the idle
    // exit's figure holds the timer there), not both.
    let (cpu, timer) = (200_000, 300_000);
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false))
        .with_wakeup_cpu(cpu)
        .with_timer_costs(timer, 0);
    let mut q = EventQueue::default();
    let (a, b) = (k.spawn(), k.spawn());
    k.wake(SimTime(0), &mut q, a, Burst::work(3 * MS), Waker::Io);
    k.wake(SimTime(0), &mut q, b, Burst::work(10 * MS), Waker::Io);
    q.push(SimTime(3_500_000), Event::Arrival);
    q.push(SimTime(15_000_000), Event::Arrival);
    let mut done = Vec::new();
    while let Some((now, event)) = q.pop() {
        match event {
            Event::Arrival => k.wake(now, &mut q, a, Burst::work(MS), Waker::Io),
            Event::CoreDone { core, generation } => {
                if let Some(t) = k.core_done(now, &mut q, core, generation) {
                    done.push((now.ns(), t));
                    k.resume(now, &mut q, core, Next::Block);
                }
            }
            _ => {}
        }
    }
    assert!(done.contains(&(14_300_000, b)), "{done:?}");
    assert_eq!(done.last(), Some(&(16_200_000, a)));
    assert_eq!(k.switching_ns, timer + cpu);
    assert_eq!(k.useful_ns, 15 * MS);
    // Onto a busy core, an interrupt that ends no I/O wait pays nothing, nor does a new
    // thread's first run.
    for (by, has_run) in [
        (Waker::Outside, true),
        (Waker::Handoff, true),
        (Waker::Io, false),
    ] {
        let burst = k.busy_woken_burst(SimTime(20 * MS), a, Burst::work(MS), by, has_run);
        assert_eq!(burst, Burst::work(MS), "{by:?}");
    }
}

#[test]
fn a_core_woken_before_it_halts_pays_the_brief_spell_only() {
    // halt_after 10 us, brief_idle_cpu 5 us; a halt costs idle_wakeup_cpu 100 us, an exit
    // latency of 50 us and wakeup_cpu 30 us. The first wake-up finds the core idle for no
    // time; the second after 3 us: both brief. The third after 0.987 ms: a halt.
    let mut k = Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false))
        .with_idle_costs(100_000, 50_000, 0, 1)
        .with_wakeup_cpu(30_000)
        .with_halt(10_000, 5_000);
    let mut q = EventQueue::default();
    let a = k.spawn();
    let done = run(
        &mut k,
        &mut q,
        &[(0, a, MS), (1_008_000, a, MS), (3_000_000, a, MS)],
    );
    let expected = vec![
        (1_005_000, a),
        (2_013_000, a),
        (3_000_000 + 50_000 + 100_000 + 30_000 + MS, a),
    ];
    assert_eq!(done, expected);
    assert_eq!(k.switching_ns, 30_000, "wakeup_cpu once, after the halt");
    assert_eq!(k.halts, 1, "only the third wake-up found the core halted");
}

#[test]
fn a_new_thread_on_an_exited_ones_id_is_still_a_switch() {
    // A thread runs 1 ms on one core and exits; a new thread takes its id (the dead list is
    // last in, first out) and runs next on the same core. The core changed threads: one
    // switch of 100 us, as for any other new thread.
    let mut k = Kernel::new(1, 100_000, 0, rr(MS));
    let mut q = EventQueue::default();
    let first = k.spawn();
    k.wake(
        SimTime::ZERO,
        &mut q,
        first,
        Burst::work(MS),
        Waker::Outside,
    );
    let (now, event) = q.pop().unwrap();
    let Event::CoreDone { core, generation } = event else {
        panic!("{event:?}");
    };
    assert_eq!(k.core_done(now, &mut q, core, generation), Some(first));
    k.resume(now, &mut q, core, Next::Exit);
    let second = k.spawn();
    assert_eq!(second, first, "the id is reused");
    k.wake(now, &mut q, second, Burst::work(MS), Waker::Outside);
    assert_eq!(k.context_switches, 1);
    let (end, _) = q.pop().unwrap();
    assert_eq!(end.ns(), 2 * MS + 100_000);
}

#[test]
fn timer_expiries_within_the_slack_share_one_interrupt_per_core() {
    use super::wakeup::{TIMER_SLACK, Timers};
    let mut t = Timers::new(2);
    assert!(t.expire(0, SimTime(1_000)));
    // Up to the first expiry plus the slack: the same interrupt.
    assert!(!t.expire(0, SimTime(1_000 + TIMER_SLACK)));
    // Another core has its own.
    assert!(t.expire(1, SimTime(2_000)));
    // Past the window: a new one, whose window starts at this expiry.
    assert!(t.expire(0, SimTime(1_001 + TIMER_SLACK)));
    assert!(!t.expire(0, SimTime(1_001 + 2 * TIMER_SLACK)));
    assert!(t.expire(0, SimTime(1_002 + 2 * TIMER_SLACK)));
    assert_eq!(t.interrupts, 4);
}

#[test]
fn timer_interrupt_cpu_is_charged_once_per_interrupt_onto_a_busy_core() {
    // A hog keeps the one core busy. Three sleepers, each of which ran once, wake at the end
    // of an I/O wait at 10.00, 10.03 and 10.20 ms: the first two share an interrupt (30 us
    // apart, within the 50 us slack), the third takes its own. timer_interrupt_cpu = 70 us.
    let mut k =
        Kernel::new(1, 0, 0, fair(sched::Policy::Eevdf, 1, false)).with_timer_costs(0, 70_000);
    let mut q = EventQueue::default();
    let sleepers = [k.spawn(), k.spawn(), k.spawn()];
    for &s in &sleepers {
        k.wake(SimTime(0), &mut q, s, Burst::work(1_000), Waker::Outside);
    }
    let hog = k.spawn();
    k.wake(
        SimTime(0),
        &mut q,
        hog,
        Burst::work(100 * MS),
        Waker::Outside,
    );
    for (i, at) in [10_000_000u64, 10_030_000, 10_200_000]
        .into_iter()
        .enumerate()
    {
        q.push(
            SimTime(at),
            Event::Timer {
                thread: sleepers[i],
                generation: 0,
            },
        );
    }
    while let Some((now, event)) = q.pop() {
        match event {
            Event::Timer { thread, .. } => {
                k.wake(now, &mut q, thread, Burst::work(1_000), Waker::Io)
            }
            Event::CoreDone { core, generation }
                if k.core_done(now, &mut q, core, generation).is_some() =>
            {
                k.resume(now, &mut q, core, Next::Block);
            }
            _ => {}
        }
    }
    assert_eq!(k.timers.interrupts, 2);
    assert_eq!(k.switching_ns, 2 * 70_000);
}

#[test]
fn a_timer_interrupt_stays_charged_when_its_thread_moves_to_an_idle_core() {
    // `a` ran once on one core. Its timer's first interrupt is priced (70 us); landing on an
    // idle core it did not sleep on (its own was busy), the price stays; landing back on its
    // own idle core, the idle costs price the wake-up instead. A second expiry inside the
    // window shares the interrupt: nothing to keep.
    let mut k =
        Kernel::new(2, 0, 0, fair(sched::Policy::Eevdf, 2, false)).with_timer_costs(0, 70_000);
    let mut q = EventQueue::default();
    let a = k.spawn();
    run(&mut k, &mut q, &[(0, a, MS)]);
    let now = SimTime(5 * MS);
    let busy = k.busy_woken_burst(now, a, Burst::work(MS), Waker::Io, true);
    assert_eq!(busy.overhead, 70_000);
    let moved = k.idle_landing_burst(Burst::work(MS), Waker::Io, true, false, true);
    assert_eq!(moved.overhead, 70_000);
    let home = k.idle_landing_burst(Burst::work(MS), Waker::Io, true, false, false);
    assert_eq!(home.overhead, 0);
    let shared = k.busy_woken_burst(
        SimTime(5 * MS + 10_000),
        a,
        Burst::work(MS),
        Waker::Io,
        true,
    );
    assert_eq!(shared.overhead, 0);
    let moved = k.idle_landing_burst(Burst::work(MS), Waker::Io, true, false, true);
    assert_eq!(moved.overhead, 0);
}
