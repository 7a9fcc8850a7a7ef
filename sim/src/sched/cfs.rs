//! CFS, Linux's fair scheduler before 6.6, as `kernel/sched/fair.c` of 5.15 runs it for nice-0
//! threads without cgroups.
//!
//! - Run the entity with the smallest vruntime (`pick_next_entity`; buddies are not modelled).
//! - Slice (`sched_slice`): the period `max(latency, n·min_granularity)` shared by weight among
//!   the `n` runnable entities. The tick (`check_preempt_tick`) reschedules the running entity
//!   once it ran longer than its slice since it was picked, or, after at least the minimum
//!   granularity, once its vruntime is more than a slice past the smallest queued one. Without
//!   HRTICK that happens on a tick; with it, `hrtick_start_fair` ends the slice exactly.
//! - Placement (`place_entity`): a new entity starts a slice past `min_vruntime`
//!   (`START_DEBIT`); a woken one at `max(its vruntime, min_vruntime − latency/2)`
//!   (`GENTLE_FAIR_SLEEPERS`), so a sleeper gets at most half a latency of credit. A thread
//!   that wakes on another core keeps its vruntime relative to `min_vruntime` (migration).
//! - Wake-up preemption (`check_preempt_wakeup` → `wakeup_preempt_entity`): the woken entity
//!   preempts when the running one's vruntime is ahead of it by more than the wake-up
//!   granularity (1 ms × factor, in the woken entity's virtual time).
//!
//! Latency, minimum granularity and wake-up granularity are 6, 0.75 and 1 ms × the capped
//! factor ([`KernelParams`]).
//!
//! The entities live in a vector, found by id through a map, and those not running are
//! ordered by `(vruntime, seq)` in a B-tree (the red-black tree's order, ties to the entity
//! queued first), so the leftmost entity is found without a scan. As in Linux, the running
//! entity is out of the tree, so crediting it (on every tick and wake-up) moves nothing.

use std::collections::BTreeSet;

use super::index::{IdMap, id_map};
use super::{Blocked, Clock, Enqueue, Id, KernelParams, RunQueue, Sleeper, to_real, to_virtual};
use crate::time::SimTime;

#[derive(Debug, Clone, Copy)]
struct Entity {
    id: Id,
    weight: u64,
    vruntime: i64,
    seq: u64,
}

/// One core's CFS run queue.
#[derive(Debug)]
pub(crate) struct Cfs {
    core: u32,
    clock: Clock,
    latency: u64,
    min_granularity: u64,
    wakeup_granularity: u64,
    /// Every runnable entity, the running one included.
    entities: Vec<Entity>,
    /// Where each entity is in `entities`.
    index: IdMap<usize>,
    /// Every entity but the running one, by `(vruntime, seq)`.
    order: BTreeSet<(i64, u64, Id)>,
    running: Option<usize>,
    exec_start: SimTime,
    picked_at: SimTime,
    /// Never decreases; the reference for placement.
    min_vruntime: i64,
    load: u64,
    seq: u64,
}

impl Cfs {
    /// An empty queue for `core`.
    pub(crate) fn new(core: u32, params: &KernelParams) -> Self {
        Cfs {
            core,
            clock: params.clock(),
            latency: params.cfs_latency(),
            min_granularity: params.cfs_min_granularity(),
            wakeup_granularity: params.cfs_wakeup_granularity(),
            entities: Vec::new(),
            index: id_map(),
            order: BTreeSet::new(),
            running: None,
            exec_start: SimTime::ZERO,
            picked_at: SimTime::ZERO,
            min_vruntime: 0,
            load: 0,
            seq: 0,
        }
    }

    /// `__sched_period`: the latency, stretched when more entities than
    /// `latency / min_granularity` share it.
    fn period(&self, runnable: u64) -> u64 {
        let nr_latency = self.latency / self.min_granularity;
        if runnable > nr_latency {
            runnable * self.min_granularity
        } else {
            self.latency
        }
    }

    /// `sched_slice` of an entity of `weight` on this queue (`extra` when it is not on it yet).
    fn slice(&self, weight: u64, extra: bool) -> u64 {
        let n = self.entities.len() as u64 + u64::from(extra);
        let load = self.load + if extra { weight } else { 0 };
        (u128::from(self.period(n)) * u128::from(weight) / u128::from(load.max(1))) as u64
    }

    /// Raises `min_vruntime` to the smallest vruntime on the queue, the running entity's
    /// included.
    fn update_min_vruntime(&mut self) {
        let running = self.running.map(|r| self.entities[r].vruntime);
        let queued = self.order.first().map(|&(v, _, _)| v);
        let smallest = match (running, queued) {
            (Some(r), Some(q)) => Some(r.min(q)),
            (one, other) => one.or(other),
        };
        if let Some(v) = smallest {
            self.min_vruntime = self.min_vruntime.max(v);
        }
    }

    fn update_curr(&mut self, now: SimTime) {
        let Some(r) = self.running else {
            return;
        };
        let ran = now.since(self.exec_start);
        self.exec_start = self.exec_start.max(now);
        let e = &mut self.entities[r];
        e.vruntime += to_virtual(ran, e.weight);
        self.update_min_vruntime();
    }

    /// The queued entity with the smallest vruntime, the running one excluded.
    fn leftmost(&self) -> Option<usize> {
        self.order.first().map(|&(_, _, id)| self.index[&id])
    }

    fn position(&self, id: Id) -> Option<usize> {
        self.index.get(&id).copied()
    }

    fn remove(&mut self, i: usize) -> Sleeper {
        let e = self.entities.swap_remove(i);
        self.load -= e.weight;
        self.index.remove(&e.id);
        if self.running != Some(i) {
            self.order.remove(&(e.vruntime, e.seq, e.id));
        }
        let moved = self.entities.len();
        if let Some(m) = self.entities.get(i) {
            self.index.insert(m.id, i);
        }
        self.running = match self.running {
            Some(r) if r == i => None,
            Some(r) if r == moved => Some(i),
            other => other,
        };
        Sleeper {
            weight: e.weight,
            vlag: e.vruntime - self.min_vruntime,
            anchor: self.min_vruntime,
            queue: self.core,
        }
    }
}

impl RunQueue for Cfs {
    fn enqueue(&mut self, id: Id, carried: Sleeper, now: SimTime, how: Enqueue) {
        self.update_curr(now);
        let weight = carried.weight.max(1);
        let vruntime = match how {
            Enqueue::New => self.min_vruntime + to_virtual(self.slice(weight, true), weight),
            Enqueue::Wakeup => {
                let own = if carried.queue == self.core {
                    carried.anchor + carried.vlag
                } else {
                    self.min_vruntime + carried.vlag
                };
                let credit = (self.latency / 2) as i64;
                own.max(self.min_vruntime - credit)
            }
        };
        self.seq += 1;
        self.load += weight;
        self.index.insert(id, self.entities.len());
        self.order.insert((vruntime, self.seq, id));
        self.entities.push(Entity {
            id,
            weight,
            vruntime,
            seq: self.seq,
        });
    }

    fn pick(&mut self, now: SimTime) -> Option<Id> {
        self.update_curr(now);
        let left = self.leftmost();
        let chosen = match (self.running, left) {
            (Some(r), Some(l)) if self.entities[r].vruntime < self.entities[l].vruntime => r,
            (_, Some(l)) => l,
            (Some(r), None) => r,
            (None, None) => return None,
        };
        if self.running != Some(chosen) {
            // The one that ran goes back into the tree; the chosen one leaves it.
            if let Some(r) = self.running {
                let e = &self.entities[r];
                self.order.insert((e.vruntime, e.seq, e.id));
            }
            let e = &self.entities[chosen];
            self.order.remove(&(e.vruntime, e.seq, e.id));
        }
        self.running = Some(chosen);
        self.picked_at = now;
        self.exec_start = now;
        Some(self.entities[chosen].id)
    }

    fn block(&mut self, now: SimTime) -> Blocked {
        self.update_curr(now);
        match self.running {
            Some(r) => Blocked::Left(self.remove(r)),
            None => {
                debug_assert!(false, "block with nothing running");
                Blocked::Left(Sleeper::NEW)
            }
        }
    }

    fn requeue(&mut self, _id: Id, _now: SimTime) -> Result<(), Sleeper> {
        debug_assert!(false, "only EEVDF delays a dequeue");
        Err(Sleeper::NEW)
    }

    fn detach(&mut self, id: Id, now: SimTime) -> Option<Sleeper> {
        self.update_curr(now);
        let i = self.position(id)?;
        if Some(i) == self.running {
            return None;
        }
        Some(self.remove(i))
    }

    fn tick(&mut self, now: SimTime) -> bool {
        self.update_curr(now);
        let (Some(r), Some(l)) = (self.running, self.leftmost()) else {
            return false;
        };
        let e = self.entities[r];
        let ideal = self.slice(e.weight, false);
        let ran = now.since(self.picked_at);
        if ran > ideal || (self.clock.hrtick && ran >= ideal) {
            return true;
        }
        if ran < self.min_granularity {
            return false;
        }
        e.vruntime - self.entities[l].vruntime > ideal as i64
    }

    fn slice_end(&self, now: SimTime) -> Option<SimTime> {
        let r = self.running?;
        let l = self.leftmost()?;
        let e = self.entities[r];
        let ideal = self.slice(e.weight, false);
        if self.clock.hrtick {
            return Some((self.picked_at + ideal).max(now));
        }
        // The first instant check_preempt_tick would fire: ran past the slice, or (after
        // the minimum granularity) a slice ahead of the leftmost in vruntime.
        let by_time = self.picked_at + (ideal + 1);
        let vruntime = e.vruntime + to_virtual(now.since(self.exec_start), e.weight);
        let ahead = self.entities[l].vruntime + ideal as i64 + 1 - vruntime;
        let by_vruntime =
            (now + to_real(ahead, e.weight)).max(self.picked_at + self.min_granularity);
        Some(self.clock.round(by_time.min(by_vruntime).max(now)))
    }

    fn wakeup_preempts(&mut self, woken: Id, now: SimTime) -> bool {
        let Some(r) = self.running else {
            return false;
        };
        self.update_curr(now);
        let Some(w) = self.position(woken) else {
            return false;
        };
        let (curr, wakee) = (self.entities[r], self.entities[w]);
        let ahead = curr.vruntime - wakee.vruntime;
        ahead > 0 && ahead > to_virtual(self.wakeup_granularity, wakee.weight)
    }

    fn running(&self) -> Option<Id> {
        self.running.map(|r| self.entities[r].id)
    }

    fn waiting(&self) -> usize {
        self.entities.len() - usize::from(self.running.is_some())
    }

    fn steal_candidate(&self) -> Option<Id> {
        self.order.last().map(|&(_, _, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::Policy;

    fn params(cores: u64) -> KernelParams {
        KernelParams {
            scheduler: Policy::Cfs,
            cores,
            ..KernelParams::default()
        }
    }

    /// A hog that ran `ran` ns alone, and a sleeper woken then that carries `behind` ns of
    /// vruntime below the hog's.
    fn hog_and_sleeper(p: &KernelParams, behind: i64) -> (Cfs, SimTime) {
        let mut q = Cfs::new(0, p);
        q.enqueue(1, Sleeper::NEW, SimTime::ZERO, Enqueue::Wakeup);
        q.pick(SimTime::ZERO);
        let now = SimTime(100_000_000);
        q.update_curr(now);
        let hog = q.entities[0].vruntime;
        let carried = Sleeper {
            weight: 1024,
            vlag: hog - behind - q.min_vruntime,
            anchor: q.min_vruntime,
            queue: 0,
        };
        q.enqueue(2, carried, now, Enqueue::Wakeup);
        (q, now)
    }

    #[test]
    fn a_woken_thread_preempts_only_beyond_the_wakeup_granularity() {
        let p = params(1);
        // 0.9 ms behind the hog: within the 1 ms granularity, no preemption.
        let (mut q, now) = hog_and_sleeper(&p, 900_000);
        assert!(!q.wakeup_preempts(2, now));
        // 1.1 ms behind: preempts.
        let (mut q, now) = hog_and_sleeper(&p, 1_100_000);
        assert!(q.wakeup_preempts(2, now));
        // On 8 cores the granularity is 4 ms: 1.1 ms is not enough.
        let (mut q, now) = hog_and_sleeper(&params(8), 1_100_000);
        assert!(!q.wakeup_preempts(2, now));
    }

    #[test]
    fn a_long_sleeper_gets_half_a_latency_of_credit() {
        let p = params(1);
        // Far behind (it slept a long time): placed 3 ms (latency / 2) below min_vruntime,
        // so 3 ms behind the hog: preempts.
        let (mut q, now) = hog_and_sleeper(&p, 50_000_000);
        let i = q.position(2).unwrap();
        assert_eq!(q.entities[i].vruntime, q.min_vruntime - 3_000_000);
        assert!(q.wakeup_preempts(2, now));
    }

    #[test]
    fn two_hogs_share_the_latency_on_the_tick() {
        let p = params(1);
        let mut q = Cfs::new(0, &p);
        q.enqueue(1, Sleeper::NEW, SimTime::ZERO, Enqueue::Wakeup);
        q.enqueue(2, Sleeper::NEW, SimTime::ZERO, Enqueue::Wakeup);
        assert_eq!(q.pick(SimTime::ZERO), Some(1));
        // Slice 6 ms / 2 = 3 ms; noticed at the 4 ms tick.
        assert_eq!(q.slice_end(SimTime::ZERO), Some(SimTime(4_000_000)));
        assert!(q.tick(SimTime(4_000_000)));
        assert_eq!(q.pick(SimTime(4_000_000)), Some(2));
    }
}
