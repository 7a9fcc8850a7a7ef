//! EEVDF's rules one by one, on a single queue driven by hand.

use super::*;
use crate::sched::{NICE_0_WEIGHT, Policy};

fn params(hrtick: bool) -> KernelParams {
    KernelParams {
        scheduler: Policy::Eevdf,
        hrtick,
        cores: 1,
        ..KernelParams::default()
    }
}

fn queue_with_hog(p: &KernelParams) -> Eevdf {
    let mut q = Eevdf::new(0, p);
    q.enqueue(1, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    assert_eq!(q.pick(SimTime::ZERO), Some(1));
    q
}

#[test]
fn the_64_bit_division_gives_the_128_bit_quotient() {
    let big = i128::from(i64::MAX);
    for n in [
        -7,
        -1,
        0,
        6,
        7,
        -big - 1,
        big,
        big + 1,
        -big - 2,
        -(1 << 100),
        1 << 100,
    ] {
        for d in [1, 3, 1024, 250 * 1024 + 1, u64::MAX] {
            let wide = i128::from(d);
            assert_eq!(divide(n, d, Round::Down), n.div_euclid(wide), "{n} / {d}");
            assert_eq!(divide(n, d, Round::TowardZero), n / wide, "{n} / {d}");
        }
    }
}

#[test]
fn a_lone_thread_has_no_slice_end() {
    let q = queue_with_hog(&params(false));
    assert_eq!(q.slice_end(SimTime(1_000)), None);
}

#[test]
fn a_second_hog_ends_the_slice_on_the_tick() {
    let p = params(false);
    let mut q = queue_with_hog(&p);
    q.enqueue(2, Sleeper::NEW, SimTime(100_000), Enqueue::New);
    // The hog's first deadline is half a slice (0.375 ms) in: noticed at the 4 ms tick.
    assert_eq!(q.slice_end(SimTime(100_000)), Some(SimTime(4_000_000)));
    assert!(q.tick(SimTime(4_000_000)));
    assert_eq!(q.pick(SimTime(4_000_000)), Some(2));
}

/// The 2-hog sleeper's long waits: a wake-up finds the running hog past its protected span,
/// so `update_curr` reschedules it, but `__pick_eevdf` hands the core to the *other* hog
/// (eligible, earlier deadline than the sleeper's fresh request); that hog is protected up
/// to its deadline, and without HRTICK nobody looks again before the tick.
#[test]
fn a_woken_sleeper_can_lose_the_core_to_a_waiting_hog_until_the_tick() {
    let p = params(false);
    let mut q = queue_with_hog(&p);
    q.enqueue(2, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    // At 1 ms hog 1 has run 1 ms (v = 1 ms, past its 0.375 ms first deadline); hog 2 waits
    // at v = 0 with deadline 0.375 ms; V = 0.5 ms. The sleeper joins with no lag: v = V,
    // deadline V + 0.75 ms = 1.25 ms.
    let now = SimTime(1_000_000);
    let lagless = Sleeper {
        vlag: 0,
        ..Sleeper::NEW
    };
    q.enqueue(3, lagless, now, Enqueue::Wakeup);
    assert!(
        q.wakeup_preempts(3, now),
        "hog 1 is past its protected span"
    );
    assert_eq!(
        q.pick(now),
        Some(2),
        "the earliest eligible deadline is hog 2's"
    );
    // Hog 2 reaches its deadline 0.375 ms later; the resched waits for the 4 ms tick.
    assert_eq!(q.slice_end(now), Some(SimTime(4_000_000)));
    assert!(q.tick(SimTime(4_000_000)));
    // Then V = (1 + 3 + 0.5) / 3 = 1.5 ms: hog 1 (deadline 1.75 ms) and the sleeper
    // (1.25 ms) are eligible, and the sleeper's deadline is the earlier.
    assert_eq!(q.pick(SimTime(4_000_000)), Some(3));
}

/// The 2-hog sleeper's longest waits (about 6 ms on the machine and in `sim`): the running
/// hog is no longer eligible but still protected, so `update_curr` sets no resched, and
/// `__pick_eevdf` names the waiting hog (earlier deadline) rather than the sleeper, so
/// `check_preempt_wakeup_fair` does not preempt either. At the tick the waiting hog gets
/// the core and a protected span the next tick ends: the sleeper waits two ticks.
#[test]
fn a_woken_sleeper_can_wait_behind_both_hogs() {
    let p = params(false);
    let mut q = Eevdf::new(0, &p);
    let lag = |vlag| Sleeper {
        vlag,
        ..Sleeper::NEW
    };
    // Hog 1 alone: v = 0, deadline 0.75 ms, protected to it. Hog 2 joins owed 0.2 ms: it is
    // placed at v = -0.4 ms (the lag inflated by (W + w)/W), deadline 0.35 ms.
    q.enqueue(1, lag(0), SimTime::ZERO, Enqueue::Wakeup);
    assert_eq!(q.pick(SimTime::ZERO), Some(1));
    q.enqueue(2, lag(200_000), SimTime::ZERO, Enqueue::Wakeup);
    // At 0.1 ms hog 1 (v = 0.1 ms) is past V = -0.15 ms but protected. The sleeper joins at
    // V with deadline 0.6 ms; hog 2's 0.35 ms is earlier.
    let now = SimTime(100_000);
    q.enqueue(3, lag(0), now, Enqueue::Wakeup);
    assert!(!q.wakeup_preempts(3, now));
    assert_eq!(q.slice_end(now), Some(SimTime(4_000_000)));
    assert!(q.tick(SimTime(4_000_000)));
    assert_eq!(q.pick(SimTime(4_000_000)), Some(2));
    assert_eq!(q.slice_end(SimTime(4_000_000)), Some(SimTime(8_000_000)));
    assert!(q.tick(SimTime(8_000_000)));
    assert_eq!(q.pick(SimTime(8_000_000)), Some(3));
}

#[test]
fn with_hrtick_the_slice_ends_at_the_deadline() {
    let p = params(true);
    let mut q = queue_with_hog(&p);
    q.enqueue(2, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    assert_eq!(q.slice_end(SimTime::ZERO), Some(SimTime(375_000)));
}

#[test]
fn lag_is_kept_across_a_short_sleep() {
    // Two hogs alternate; one sleeps right after it was picked, owed service; it comes
    // back with the same lag, so it is eligible at once and runs before the other hog.
    let p = params(true);
    let mut q = Eevdf::new(0, &p);
    let (a, b, c) = (1, 2, 3);
    for id in [a, b, c] {
        q.enqueue(id, Sleeper::NEW, SimTime::ZERO, Enqueue::Wakeup);
    }
    let mut now = SimTime::ZERO;
    let first = q.pick(now).unwrap();
    // Run `first` a full slice, then the next one; the third has waited two slices.
    now = q.slice_end(now).unwrap();
    assert!(q.tick(now));
    let second = q.pick(now).unwrap();
    assert_ne!(first, second);
    let third = [a, b, c]
        .into_iter()
        .find(|&x| x != first && x != second)
        .unwrap();
    // `second` blocks right away: it is owed about one slice of service.
    let Blocked::Left(s) = q.block(now) else {
        panic!("a thread owed service leaves at once")
    };
    let owed = s.vlag;
    assert!(owed > 0, "lag {owed}");
    assert_eq!(q.pick(now), Some(third));
    now = now + 100_000;
    q.enqueue(second, s, now, Enqueue::Wakeup);
    // Its lag against the new V is what it left with (within rounding).
    let i = q.position(second).unwrap();
    let lag = q.avg_vruntime() - q.entities[i].vruntime;
    assert!((lag - owed).abs() <= 1, "lag {lag} vs {owed}");
}

#[test]
fn a_sleeper_that_owed_nothing_is_delayed_and_keeps_its_debt() {
    let p = params(true);
    let mut q = queue_with_hog(&p);
    q.enqueue(2, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    // Thread 1 runs 2 ms while 2 waits: 1 is past V, so it stays queued, delayed.
    assert_eq!(q.pick(SimTime::ZERO), Some(1));
    assert_eq!(q.block(SimTime(2_000_000)), Blocked::Delayed);
    assert_eq!(q.pick(SimTime(2_000_000)), Some(2));
    assert_eq!(q.waiting(), 0);
    // Woken 0.1 ms later, before 2 caught up: it is requeued in place, debt and deadline
    // kept, and is not eligible yet.
    let before = q.entities[q.position(1).unwrap()];
    assert_eq!(q.requeue(1, SimTime(2_100_000)), Ok(()));
    let after = q.entities[q.position(1).unwrap()];
    assert_eq!(
        (after.vruntime, after.deadline),
        (before.vruntime, before.deadline)
    );
    assert!(!q.eligible(after.vruntime));
    assert_eq!(after.weight, NICE_0_WEIGHT);
    assert!(!q.wakeup_preempts(1, SimTime(2_100_000)));
}

#[test]
fn a_delayed_sleeper_picked_meanwhile_leaves_with_no_credit() {
    let p = params(true);
    let mut q = queue_with_hog(&p);
    q.enqueue(2, Sleeper::NEW, SimTime::ZERO, Enqueue::New);
    assert_eq!(q.block(SimTime(2_000_000)), Blocked::Delayed);
    assert_eq!(q.pick(SimTime(2_000_000)), Some(2));
    // 2 runs 3 ms: 1 has paid back its debt; 2 blocks and the pick dequeues 1.
    q.block(SimTime(5_000_000));
    assert_eq!(q.pick(SimTime(5_000_000)), None);
    let Err(s) = q.requeue(1, SimTime(6_000_000)) else {
        panic!("1 was dequeued by the pick")
    };
    assert_eq!(s.vlag, 0);
}
