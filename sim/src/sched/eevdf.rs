//! EEVDF, the fair scheduler of Linux 6.6 and later, as Linux 6.18's `kernel/sched/fair.c`
//! runs it for nice-0 threads without cgroups. Functions followed: `avg_vruntime`,
//! `vruntime_eligible`, `update_curr` (6.18: a resched when the request is used up *or* the
//! protected span is over, `resched || !protect_slice(curr)`), `update_deadline`,
//! `__pick_eevdf`, `set_protect_slice`/`protect_slice`, `place_entity`, `update_entity_lag`,
//! `dequeue_entity` with `DELAY_DEQUEUE`/`DELAY_ZERO`, `check_preempt_wakeup_fair`,
//! `entity_tick` and `hrtick_start_fair`; default features (`PLACE_LAG`,
//! `PLACE_DEADLINE_INITIAL`, `RUN_TO_PARITY`, `PREEMPT_SHORT`, `DELAY_DEQUEUE`, `DELAY_ZERO`
//! on; `NEXT_BUDDY`, `HRTICK` off unless asked).
//!
//! - Virtual time `V` is the load-weighted mean of the queued entities' vruntimes, the running
//!   one and delayed sleepers included (`avg_vruntime`). An entity is *eligible* when it has
//!   received no more than its share, `v ≤ V`, compared without division as
//!   `Σ wᵢvᵢ ≥ v·Σ wᵢ` (`vruntime_eligible`).
//! - Running advances `v` by `Δ·1024/w`; when `v` reaches the virtual deadline, the entity
//!   gets a new request of one base slice, `deadline = v + slice·1024/w`, and a resched
//!   (`update_curr`, `update_deadline`). Those checks run on the tick, at wake-ups and at
//!   enqueue/dequeue, so without HRTICK a slice ends on a tick.
//! - `pick_eevdf`: among eligible entities, the earliest deadline. The running entity keeps the
//!   core while it is eligible and has not reached `vprot` (`RUN_TO_PARITY`: its deadline at
//!   the time it was picked, all slices being equal here; `set_protect_slice`).
//! - Placement (`place_entity`, `PLACE_LAG`): an entity joins at `v = V − lag·(W + w)/W`, so
//!   that its lag is what it was when it left; a new one has no lag and half a slice to its
//!   first deadline (`PLACE_DEADLINE_INITIAL`).
//! - Leaving (`dequeue_entity`, `update_entity_lag`): the lag `V − v` is clamped to
//!   `±max(2·slice, TICK_NSEC)` (6.6 to 6.18; later kernels clamp by the queue's largest
//!   slice plus a tick) and kept. With `DELAY_DEQUEUE` an ineligible sleeper (negative
//!   lag) stays queued until it is picked or woken; then a positive lag is dropped
//!   (`DELAY_ZERO`), so the debt is paid while sleeping and no credit is earned by it.
//! - Wake-up preemption (`check_preempt_wakeup_fair`): `update_curr` first (which already
//!   reschedules a running entity past its deadline or protected span); then the woken entity
//!   preempts if it is what `pick_eevdf` (with the running entity's protection) would choose:
//!   eligible, with an earlier deadline than the running entity, which is itself no longer
//!   protected or no longer eligible. `PREEMPT_SHORT` lifts the protection for
//!   a woken entity with a shorter slice; slices are all equal here, so it never applies.
//!
//! Not modelled: nice values other than through `Sleeper::weight`, cgroup hierarchies, next
//! buddies (`NEXT_BUDDY` is off by default), custom slices (`sched_attr.sched_runtime`).
//!
//! The entities live in a vector, found by id through a map. Those not running sit in a
//! [`Tree`] by vruntime that knows each subtree's earliest deadline, as Linux's augmented
//! red-black tree does, so a pick costs a walk from the root even when thousands of delayed
//! sleepers are queued (100,000 idle connections). Ties in deadline go to the entity queued
//! first (the red-black tree's order for equal keys). The same tree knows each subtree's latest
//! deadline among entities not delayed, which is what an idle core steals.

use super::index::{IdMap, id_map};
use super::tree::Tree;
use super::{Blocked, Clock, Enqueue, Id, KernelParams, RunQueue, Sleeper, to_real, to_virtual};
use crate::time::SimTime;

/// How [`divide`] rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    Down,
    TowardZero,
}

/// `n / d`. The sums here are 128-bit so that nothing overflows, but they nearly always fit in
/// 64 bits, where the division is several times cheaper (a 128-bit one is a library call) and
/// gives the same quotient.
#[inline]
fn divide(n: i128, d: u64, round: Round) -> i128 {
    if let (Ok(n), Ok(d)) = (i64::try_from(n), i64::try_from(d)) {
        return i128::from(match round {
            Round::Down => n.div_euclid(d),
            Round::TowardZero => n / d,
        });
    }
    let d = i128::from(d);
    match round {
        Round::Down => n.div_euclid(d),
        Round::TowardZero => n / d,
    }
}

#[derive(Debug, Clone, Copy)]
struct Entity {
    id: Id,
    weight: u64,
    vruntime: i64,
    deadline: i64,
    /// Until this vruntime the running entity is not preempted by wake-ups or ticks
    /// (`RUN_TO_PARITY`).
    vprot: i64,
    /// Asleep, kept for `DELAY_DEQUEUE`; never runs.
    delayed: bool,
    /// Enqueue order, for ties.
    seq: u64,
    /// Its slot in the tree while parked (not running): what removes or readies it there
    /// without a search.
    slot: u32,
}

/// One core's EEVDF run queue.
#[derive(Debug)]
pub(crate) struct Eevdf {
    core: u32,
    clock: Clock,
    base_slice: u64,
    /// Every entity on the queue: queued, running and delayed.
    entities: Vec<Entity>,
    /// Where each entity is in `entities`.
    index: IdMap<usize>,
    /// The entities not running, by vruntime: what `pick_eevdf` searches, and, among those
    /// not delayed, the latest deadline: what could be stolen.
    tree: Tree,
    /// Index in `entities` of the running entity, if it is still on the queue.
    running: Option<usize>,
    /// When the running entity was last credited.
    exec_start: SimTime,
    /// When it was picked (HRTICK arms its timer for a slice from then).
    picked_at: SimTime,
    /// `Σ w·v` and `Σ w` over `entities`.
    weighted: i128,
    load: u64,
    seq: u64,
    /// Delayed sleepers dequeued by a pick, with their lag, until they wake.
    finished: Vec<(Id, Sleeper)>,
}

impl Eevdf {
    /// An empty queue for `core`.
    pub(crate) fn new(core: u32, params: &KernelParams) -> Self {
        Eevdf {
            core,
            clock: params.clock(),
            base_slice: params.base_slice(),
            entities: Vec::new(),
            index: id_map(),
            tree: Tree::new(),
            running: None,
            exec_start: SimTime::ZERO,
            picked_at: SimTime::ZERO,
            weighted: 0,
            load: 0,
            seq: 0,
            finished: Vec::new(),
        }
    }

    /// `V`, rounded down so that an entity exactly at it is eligible (`avg_vruntime`).
    fn avg_vruntime(&self) -> i64 {
        if self.load == 0 {
            return 0;
        }
        divide(self.weighted, self.load, Round::Down) as i64
    }

    fn eligible(&self, vruntime: i64) -> bool {
        self.weighted >= i128::from(vruntime) * i128::from(self.load)
    }

    /// The clamp on lag (`entity_lag`): two slices, at least a tick, in virtual time.
    fn lag_limit(&self, weight: u64) -> i64 {
        to_virtual((2 * self.base_slice).max(self.clock.tick_ns), weight)
    }

    fn lag_of(&self, e: &Entity) -> i64 {
        let limit = self.lag_limit(e.weight);
        (self.avg_vruntime() - e.vruntime).clamp(-limit, limit)
    }

    fn position(&self, id: Id) -> Option<usize> {
        self.index.get(&id).copied()
    }

    fn push(&mut self, e: Entity) {
        self.weighted += i128::from(e.weight) * i128::from(e.vruntime);
        self.load += e.weight;
        self.index.insert(e.id, self.entities.len());
        self.entities.push(e);
        self.park(self.entities.len() - 1);
    }

    /// Entity `i` is not running (any more): into the tree, ready to be stolen unless
    /// delayed.
    fn park(&mut self, i: usize) {
        let e = &mut self.entities[i];
        e.slot = self
            .tree
            .insert((e.vruntime, e.seq), (e.deadline, e.seq, e.id), !e.delayed);
    }

    /// Entity `i`, parked, leaves the tree (to run or to go).
    fn unpark(&mut self, i: usize) {
        self.tree.remove(self.entities[i].slot);
    }

    /// Removes entity `i`, keeping `running` pointing at the same entity.
    fn remove(&mut self, i: usize) -> Entity {
        if self.running != Some(i) {
            self.unpark(i);
        }
        let e = self.entities.swap_remove(i);
        self.weighted -= i128::from(e.weight) * i128::from(e.vruntime);
        self.load -= e.weight;
        self.index.remove(&e.id);
        let moved = self.entities.len();
        if let Some(m) = self.entities.get(i) {
            self.index.insert(m.id, i);
        }
        self.running = match self.running {
            Some(r) if r == i => None,
            Some(r) if r == moved => Some(i),
            other => other,
        };
        e
    }

    /// `update_curr` + `update_deadline`: credits the running entity up to `now`; true when it
    /// reached its deadline and got a new request.
    fn update_curr(&mut self, now: SimTime) -> bool {
        let Some(r) = self.running else {
            return false;
        };
        let ran = now.since(self.exec_start);
        self.exec_start = self.exec_start.max(now);
        let e = &mut self.entities[r];
        let dv = to_virtual(ran, e.weight);
        e.vruntime += dv;
        self.weighted += i128::from(e.weight) * i128::from(dv);
        if e.vruntime < e.deadline {
            return false;
        }
        e.deadline = e.vruntime + to_virtual(self.base_slice, e.weight);
        true
    }

    /// `pick_eevdf`: the earliest eligible deadline; the running entity stays while it is
    /// eligible and (with `protect`) protected.
    fn pick_eevdf(&self, protect: bool) -> Option<usize> {
        if self.entities.len() == 1 {
            return Some(0);
        }
        let current = self
            .running
            .filter(|&r| self.eligible(self.entities[r].vruntime));
        if let Some(r) = current {
            let e = &self.entities[r];
            if protect && e.vruntime < e.vprot {
                return Some(r);
            }
        }
        // Eligible is `v·W ≤ Σ w·v`, that is `v ≤ ⌊Σ w·v / W⌋ = V`: a prefix of the tree.
        let best = if self.load == 0 {
            None
        } else {
            self.tree
                .earliest_up_to(self.avg_vruntime())
                .map(|(_, _, id)| self.index[&id])
        };
        match (best, current) {
            (Some(b), Some(r)) if self.entities[r].deadline < self.entities[b].deadline => Some(r),
            (Some(b), _) => Some(b),
            (None, Some(r)) => Some(r),
            // Someone is always eligible (the smallest vruntime is at most the mean); this
            // only guards against an empty queue.
            (None, None) => self
                .entities
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| (e.vruntime, e.seq))
                .map(|(i, _)| i),
        }
    }

    /// Dequeues entity `i` for good, returning what it carries (`dequeue_entity`).
    fn dequeue(&mut self, i: usize) -> Sleeper {
        let lag = self.lag_of(&self.entities[i]);
        let e = self.remove(i);
        Sleeper {
            weight: e.weight,
            vlag: lag,
            anchor: 0,
            queue: self.core,
        }
    }
}

impl RunQueue for Eevdf {
    fn enqueue(&mut self, id: Id, carried: Sleeper, now: SimTime, how: Enqueue) {
        self.update_curr(now);
        let weight = carried.weight.max(1);
        let lag = if self.load > 0 {
            // Joining moves V by w·lag/(W + w); inflate the lag so that it is what remains.
            divide(
                i128::from(carried.vlag) * i128::from(self.load + weight),
                self.load,
                Round::TowardZero,
            )
        } else {
            0
        };
        let vruntime = self.avg_vruntime() - lag as i64;
        let mut vslice = to_virtual(self.base_slice, weight);
        if how == Enqueue::New {
            vslice /= 2;
        }
        self.seq += 1;
        self.push(Entity {
            id,
            weight,
            vruntime,
            deadline: vruntime + vslice,
            vprot: vruntime,
            delayed: false,
            seq: self.seq,
            slot: 0,
        });
    }

    fn pick(&mut self, now: SimTime) -> Option<Id> {
        self.update_curr(now);
        loop {
            let i = self.pick_eevdf(true)?;
            if self.entities[i].delayed {
                // A delayed sleeper came up: it has paid its debt; it leaves now, with no
                // credit (DELAY_ZERO).
                let id = self.entities[i].id;
                let mut left = self.dequeue(i);
                left.vlag = left.vlag.min(0);
                self.finished.push((id, left));
                continue;
            }
            if self.running != Some(i) {
                if let Some(r) = self.running {
                    self.park(r);
                }
                self.unpark(i);
            }
            self.running = Some(i);
            // Every pick re-arms HRTICK for a full slice (set_next_entity).
            self.picked_at = now;
            let e = &mut self.entities[i];
            // All slices are equal, so the protected span is up to the current deadline.
            e.vprot = e.deadline;
            self.exec_start = now;
            return Some(e.id);
        }
    }

    fn block(&mut self, now: SimTime) -> Blocked {
        self.update_curr(now);
        let Some(r) = self.running else {
            debug_assert!(false, "block with nothing running");
            return Blocked::Left(Sleeper::NEW);
        };
        if !self.eligible(self.entities[r].vruntime) {
            self.entities[r].delayed = true;
            self.running = None;
            self.park(r);
            return Blocked::Delayed;
        }
        Blocked::Left(self.dequeue(r))
    }

    fn exit(&mut self, now: SimTime) {
        self.update_curr(now);
        match self.running {
            Some(r) => {
                self.dequeue(r);
            }
            None => debug_assert!(false, "exit with nothing running"),
        }
    }

    fn requeue(&mut self, id: Id, now: SimTime) -> Result<(), Sleeper> {
        if let Some(k) = self.finished.iter().position(|(f, _)| *f == id) {
            return Err(self.finished.swap_remove(k).1);
        }
        let Some(i) = self.position(id).filter(|&i| self.entities[i].delayed) else {
            debug_assert!(false, "requeue of a thread this queue did not delay");
            return Err(Sleeper::NEW);
        };
        self.update_curr(now);
        if self.lag_of(&self.entities[i]) <= 0 {
            // Still owes service: it stays where it is, deadline included.
            self.entities[i].delayed = false;
            self.tree.set_ready(self.entities[i].slot);
            return Ok(());
        }
        // Paid back and more: no credit for sleeping (DELAY_ZERO), a fresh request at V.
        let left = self.dequeue(i);
        self.enqueue(id, Sleeper { vlag: 0, ..left }, now, Enqueue::Wakeup);
        Ok(())
    }

    fn detach(&mut self, id: Id, now: SimTime) -> Option<Sleeper> {
        self.update_curr(now);
        let i = self.position(id)?;
        if Some(i) == self.running || self.entities[i].delayed {
            return None;
        }
        Some(self.dequeue(i))
    }

    fn tick(&mut self, now: SimTime) -> bool {
        let renewed = self.update_curr(now);
        let Some(r) = self.running else {
            return false;
        };
        let e = &self.entities[r];
        // Same rule as in update_curr; HRTICK's timer reschedules unconditionally.
        self.entities.len() > 1
            && (renewed
                || e.vruntime >= e.vprot
                || (self.clock.hrtick && now.since(self.picked_at) >= self.base_slice))
    }

    fn slice_end(&self, now: SimTime) -> Option<SimTime> {
        let r = self.running?;
        if self.entities.len() < 2 {
            return None;
        }
        let e = &self.entities[r];
        let ran = now.since(self.exec_start);
        let vruntime = e.vruntime + to_virtual(ran, e.weight);
        // The resched comes from whichever is reached first: the deadline (update_deadline)
        // or the end of the protected span; vprot is never past the deadline.
        let due = now + to_real(e.vprot.min(e.deadline) - vruntime, e.weight);
        let mut end = self.clock.round(due);
        if self.clock.hrtick {
            end = end.min((self.picked_at + self.base_slice).max(now));
        }
        Some(end)
    }

    fn wakeup_preempts(&mut self, woken: Id, now: SimTime) -> bool {
        let Some(r) = self.running else {
            return false;
        };
        // update_curr reschedules on its own once the running entity renewed its request or
        // left its protected span (6.18: `resched || !protect_slice(curr)`).
        let renewed = self.update_curr(now);
        let e = &self.entities[r];
        if renewed || e.vruntime >= e.vprot {
            return true;
        }
        self.pick_eevdf(true)
            .is_some_and(|i| self.entities[i].id == woken)
    }

    fn running(&self) -> Option<Id> {
        self.running.map(|r| self.entities[r].id)
    }

    fn waiting(&self) -> usize {
        self.tree.ready()
    }

    fn steal_candidate(&self) -> Option<Id> {
        self.tree.latest_ready()
    }
}

#[cfg(test)]
mod tests;
