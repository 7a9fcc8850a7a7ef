//! The indirect cost of a switch: the part of a thread's or task's working set that others
//! evicted from the caches while it was not running, refilled when it runs again.
//!
//! ```text
//!   core 0: A runs (touches W_A) ─▶ B, C run (touch W_B, W_C) ─▶ A resumes: refill what B, C evicted
//!           │                                                    │
//!           └── per core: distinct bytes touched since each owner last ran here (L1, L2)
//!   L3 domain (cores 0..l3_shared_by): the same count over all its cores (L3)
//! ```
//!
//! Two formulas price a return. Both count the same histories (below) and differ in what a
//! line lost to the others costs: the *curve* formula reads it off a measured latency curve
//! (`[costs] line_latency`, which `calibrate --out` writes), the *level* formula from cache sizes
//! and one rate per level (`cache_*`, `refill_*_per_line`). A scenario without `line_latency`
//! uses the level formula, so every file written before the curve existed keeps its results.
//!
//! # Reuse distance
//!
//! An *owner* is a piece of data (a thread's stack, a connection's or a request's data), not
//! who runs it, so the thread and async models pay alike for the same data. When owner A with
//! working set `W` runs again, let `B_p` be the distinct bytes the others touched on this core
//! since A last ran here and `B_s` the same over the cores sharing this core's L3.
//!
//! A line of A is reused after A's own `W` bytes (it walks its data once per run) plus what
//! the others touched in between: its reuse distance is `W` alone and `W + B` after a switch.
//! Mattson, Gecsei, Slutz & Traiger, "Evaluation techniques for storage hierarchies" (IBM
//! Systems Journal, 1970): an LRU cache of size S hits a reuse exactly when fewer than S
//! distinct bytes were touched since (the stack distance), and whatever hits in a cache of size
//! S hits in every larger one (inclusion). Here the distance is counted per working set, not per
//! line (`cache/recency.rs`).
//!
//! Only the *difference* between the two distances is a switch's cost: what A pays at distance
//! `W` alone is part of its work, already in the scenario's measured CPU demand, as it is in
//! `micro`'s baseline (one thread walking the same buffer without a switch, subtracted from
//! `switch_working_set`).
//!
//! # The curve formula (`line_latency` given)
//!
//! `lat(d)` is the measured time per line of one thread walking a working set of `d` bytes
//! alone in random order (`calibrate`'s `line_latency_ns`): a line at reuse distance `d`,
//! whichever level of this machine holds it. A line whose reuse distance is `d` is taken to cost
//! what that lone walk costs per line, so
//!
//! ```text
//!   refill = W / 64 × (lat(W + B) − lat(W))          ns, 64-byte lines
//! ```
//!
//! with `lat` interpolated linearly in log2(bytes) between the measured points and clamped at
//! the curve's ends. The curve is used as measured: by inclusion the true curve never falls
//! with distance, but smoothing a measured dip away would raise every later point to a noisy
//! one (the quiet reference's first point, 4.7 ns at 4 KiB against 2.1 at 24 KiB, would erase
//! L1); where a dip makes the rise negative a return costs 0. The levels are the curve's own
//! steps: while
//! `W + B` fits a level, `lat` stays flat and nothing is charged (LRU keeps a set whole until the
//! distance passes the level's size, which the level formula's linear share does not); a set
//! that overflows a level alone has `lat(W)` past that step already.
//!
//! Private and shared levels: the curve is split at the largest private level's size
//! `S_2 = cache_l2`. Its rise up to `S_2` is the private levels' and counts this core's
//! history `B_p`; its rise past `S_2` is the shared L3's and memory's and counts the domain's
//! `B_s`:
//!
//! ```text
//!   refill = W / 64 × ( lat(min(W + B_p, S_2)) − lat(min(W, S_2))
//!                     + lat(max(W + B_s, S_2)) − lat(max(W, S_2)) )
//! ```
//!
//! which is the one-line form when `B_p = B_s` (one core per L3, or nothing else ran on the
//! domain's other cores). An owner whose copies are gone from a scope (below) has distance
//! infinity there, `lat` at the curve's end.
//!
//! Why a lone walk's latency: it is the only measurement of "a line at distance `d`" that
//! includes everything this machine does for one (hardware prefetch that cannot follow a random
//! order, replacement that is not exactly LRU, a virtual machine's second-level page walks), with
//! nothing fitted. Its known error: a lone walk of `d` bytes spans `d / 4096` pages, so past the
//! TLB's reach (a few MiB) it pays a page walk on nearly every line, while a returning working
//! set of 64 KiB pays one per page (16 for 1,024 lines). The curve therefore overprices a small
//! set's refill from far levels: on the quiet reference, rings of 32 to 512 threads of 64 KiB
//! by 40 to 82 % (`sim/tests/it/cache_reference.rs`).
//!
//! The cap (`cold_line_latency` given): `calibrate` also times a set's first walk after a
//! stream larger than every level evicted it (`micro/src/indirect/cold.rs`), by the set's size
//! `W`: what a line costs returning from memory with the set's own page walks. A returning
//! line's shared part is priced at most that, `min(lat(W + B_s), cold(W))`, so a set whose
//! others pushed it past the TLB's reach pays its own return, not a far lone walk's.
//!
//! # Other tenants (`cache_lifetime`)
//!
//! On a VM the caches are shared with whatever else runs on the host. `micro`'s retention walk
//! (`micro/src/indirect/retention.rs`) pushes a 64 KiB set out of L2, leaves it alone and walks
//! it again: on the 2026-12-07 reference host (AMD EPYC guest, L3 32 MiB) a line costs 12 ns
//! after 0 ms, 17 after 1 ms and 114 after 2 ms, with no steal time. Nothing on the VM touched
//! the caches meanwhile; other tenants evicted the set. L2 is reached too: a 64 KiB set that
//! never left L2 (256 KiB of other data) cost 4.4 ns a line at once, 8–11 ns after 0.2 to 4 ms
//! and 119 ns after 8 ms (a C walk; an SMT sibling running another guest, presumably). So how
//! much of a set survives depends on how long it was away, not only on what this machine
//! touched.
//!
//! The model takes the measured step as it is: an owner whose last run started more than
//! `cache_lifetime` ago finds nothing of its own in any level (private `Since::Gone`, shared
//! `Since::Evicted`), whatever the others touched. Its lines come from memory, with the page
//! walks of its own reuse distance:
//!
//! ```text
//!   curve formula:  line = max( lat(max(W + B_s, S_2)),  lat(S_1 / 2) + r_mem ),  against lat(W)
//!   level formula:  f_1 = f_2 = f_3 = 1 (every line from memory)
//! ```
//!
//! `lat(S_1 / 2) + r_mem` is a line from memory for a set whose pages the TLB still maps (the
//! retention walk's evicted cost); `lat` at a large distance also pays the page walks of a set
//! spread over many pages, which a ring of 1,024 threads does (175 ns a line there against
//! 120). The lifetime is the L3 retention walk's; L2's, from the C walk, is of the same order
//! (partial at 0.2 ms, complete by 8 ms). With `cache_lifetime` = 0 (the default) nothing is
//! evicted by time.
//!
//! The step is a fact of one run, not of the host: a minute later it lies elsewhere (0.5 to
//! 4 ms in eight quick runs), and so do the rings near it (32 threads of 64 KiB: 16 to 140 µs
//! per switch). A ring whose period crosses the lifetime falls from L3 to memory, so its cost
//! per switch is bistable near there.
//!
//! # The level formula (no `line_latency`)
//!
//! For level `i` of size `S_i`, the share of A's lines that reuse distance `D` no longer finds
//! there is taken as
//!
//! ```text
//!   f_i(D)  = min(1, D / S_i)                           miss share at reuse distance D
//!   m_i     = W × (f_i(W + B_i) − f_i(W)) / 64          extra misses, lines (64-byte lines)
//!                                                       B_1 = B_2 = B_p,  B_3 = B_s
//!   refill  = m_1 × r_L2 + m_2 × (r_L3 − r_L2) + m_3 × (r_mem − r_L3)   ns
//! ```
//! (a rate below the level above's is raised to it: a line from further away never costs less).
//!
//! While `W + B ≤ S_i` this is `W × B / S_i`: a tenth of the cache overwritten by the others
//! costs a tenth of A's lines there. Once `W + B` passes `S_i` it is `W × (1 − W / S_i)`, and a
//! working set that overflows a level alone (`W ≥ S_i`) loses nothing more there by a switch:
//! it missed there anyway. A line A no longer finds in level `i` costs one more step down the
//! hierarchy; `r_L2`, `r_L3`, `r_mem` are the measured ns per line refilled from L2, L3 and
//! memory instead of L1 (`micro`'s `refill_*_ns_per_line`). Private levels (L1, L2) count only
//! this core's history; the shared L3 counts every core of its domain.
//!
//! LRU makes `f` a step at `D = S`; `f` above is its linear form, the first-order footprint
//! argument of Thiébaut & Stone, "Footprints in the cache" (ACM TOCS, 1987): lines placed at
//! random sets overwrite about `D / S` of a cache while `D` is well below `S`, saturating at 1.
//! It errs high below a level's size (a real L2, near-LRU, keeps a working set whole until
//! `W + B` nears its size) and low just past it: on the quiet reference it charges the 256 KiB
//! pair 74.6 µs per switch where the pair measured 2.5 µs (both sets fit the 2 MiB L2).
//!
//! # Sources and limits
//!
//! Li, Ding & Shen, "Quantifying the cost of context switch" (ExpCS 2007), and lmbench's
//! `lat_ctx -s` measure the same quantity as `micro`'s `switch_working_set` curve: the extra
//! time per switch when each thread walks its own array, against the array size, over the same
//! walks done without a switch.
//!
//! - Both formulas price a dependent walk (each line's address known only once the previous
//!   one arrived): the worst case. Data read in address order is prefetched; `micro`'s
//!   sequential curve is 10–20× lower past L2 on the reference machine, and the model has no
//!   access-pattern parameter. A hand check with 1 MiB per connection walked in 100 µs (6 ns a
//!   line, so not a dependent walk) rose from 0.2 to 0.4 ms of CPU per request at 10
//!   connections; the level formula with the loaded reference's dependent-walk rates (L2 → L3
//!   step 278 ns a line) gave 0.1 → 2.4 ms.
//!
//! # Rules
//! - An owner's first run pays nothing: its compulsory misses are part of its work, which the
//!   scenario's measured CPU demand already includes. Only a *return* pays.
//! - A core keeps an owner's lines only if it was the last core to run it: the walks write
//!   their data, so running elsewhere invalidates the old copies. A migrated owner refills its
//!   private levels as if the others had touched everything (reuse distance infinite there:
//!   `f_1 = f_2 = 1` after, or the curve's private rise up to `lat(S_2)`) and finds in L3 what
//!   its domain kept (in another domain, infinite too: `f_3 = 1`, or the curve's end).
//! - When the working set changes between runs, the data it can find again is at most the
//!   smaller of the two (`W = min(W_then, W_now)`).
//! - A working set of 0 costs 0 and records nothing, so with no `working_set` anywhere every
//!   result is unchanged.
//! - An owner's time away is counted from the start of its last run to the start of this one
//!   (a line's reuse time, touch to touch, for a set walked once per run).
//!
//! Every run costs O(log n) in the owners alive on the core and in its L3 domain.

mod recency;

use std::collections::HashMap;

use crate::config::RunConfig;
use crate::cost::LineLatency;
pub(crate) use recency::Recency;

/// Bytes per cache line.
pub(crate) const LINE_BYTES: u64 = 64;

/// The machine's caches: sizes per core and per L3 domain, and refill rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CacheParams {
    /// L1 data cache per core, bytes (`cache_l1d`).
    pub(crate) l1d_bytes: u64,
    /// L2 per core, bytes (`cache_l2`).
    pub(crate) l2_bytes: u64,
    /// L3 per domain, bytes (`cache_l3`).
    pub(crate) l3_bytes: u64,
    /// ns per line found in L2 instead of L1 (`refill_l2_per_line`).
    pub(crate) refill_l2_per_line: f64,
    /// ns per line found in L3 instead of L1 (`refill_l3_per_line`).
    pub(crate) refill_l3_per_line: f64,
    /// ns per line fetched from memory instead of L1 (`refill_memory_per_line`).
    pub(crate) refill_memory_per_line: f64,
    /// Cores per L3 domain (`[machine] l3_shared_by`); cores `k·n .. (k+1)·n` share one.
    pub(crate) l3_shared_by: usize,
    /// ns per line of a lone random walk against its working set (`line_latency`); when not
    /// empty, the curve formula prices a line instead of the sizes and rates above (but L2's
    /// size, where the curve splits into private and shared).
    pub(crate) line_latency: LineLatency,
    /// ns per line of a set's first walk after everything else evicted it, by its size
    /// (`cold_line_latency`): the curve formula's cap on a returning line (empty: none).
    pub(crate) cold_line_latency: LineLatency,
    /// How long the caches keep data nobody on the machine touches, ns (`cache_lifetime`; 0:
    /// for ever).
    pub(crate) cache_lifetime: u64,
}

impl CacheParams {
    /// The caches of `config`'s machine (`[costs]` cache keys, `[machine] l3_shared_by`).
    pub(crate) fn of(config: &RunConfig) -> Self {
        let c = &config.costs;
        CacheParams {
            l1d_bytes: c.cache_l1d,
            l2_bytes: c.cache_l2,
            l3_bytes: c.cache_l3,
            refill_l2_per_line: c.refill_l2_per_line as f64,
            refill_l3_per_line: c.refill_l3_per_line as f64,
            refill_memory_per_line: c.refill_memory_per_line as f64,
            l3_shared_by: config
                .l3_shared_by
                .map_or(config.cores, |n| n.min(config.cores))
                .max(1) as usize,
            line_latency: c.line_latency,
            cold_line_latency: c.cold_line_latency,
            cache_lifetime: c.cache_lifetime,
        }
    }

    /// Why these parameters describe no machine, as a message saying what to change.
    pub(crate) fn problem(&self) -> Option<String> {
        let rates = [
            ("refill_l2_per_line", self.refill_l2_per_line),
            ("refill_l3_per_line", self.refill_l3_per_line),
            ("refill_memory_per_line", self.refill_memory_per_line),
        ];
        if let Some((key, rate)) = rates.iter().find(|(_, r)| !(r.is_finite() && *r >= 0.0)) {
            return Some(format!(
                "[costs] {key} = {rate}: give a finite number of ns per line, at least 0"
            ));
        }
        if !(self.l1d_bytes <= self.l2_bytes && self.l2_bytes <= self.l3_bytes) {
            return Some(format!(
                "[costs] cache sizes must grow with depth (cache_l1d {} ≤ cache_l2 {} ≤ cache_l3 {})",
                self.l1d_bytes, self.l2_bytes, self.l3_bytes
            ));
        }
        if self.l3_shared_by == 0 {
            return Some("[machine] l3_shared_by = 0: give the cores per L3, at least 1".into());
        }
        None
    }
}

/// Whose data. Owners are named by the data, not by who runs it, so that a thread model and an
/// event loop touching the same data pay the same: a connection's buffers are the same bytes
/// whether its own thread or a task on a shared loop touches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    /// An OS thread's (or coroutine's) stack, by thread id.
    Stack(u32),
    /// A long-lived connection's or closed-loop client's data, by its number.
    Connection(u32),
    /// One request's data (no connection outlives it), by request id.
    Request(u64),
}

/// What a burst of work touches: `bytes` of `owner`'s data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Touch {
    /// Whose data.
    pub(crate) owner: Owner,
    /// How much of it, bytes (more than 0).
    pub(crate) bytes: u64,
}

/// What one return cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Refill {
    /// The level formula's extra misses at L1, L2 and L3, in lines (`m_1`, `m_2`, `m_3`;
    /// fractional: expectations). The curve formula counts time, not lines: zeros.
    pub(crate) missed_lines: [f64; 3],
    /// The time they cost, ns, rounded.
    pub(crate) ns: u64,
}

/// What a scope remembers of an owner's last run there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// It ran here, and the others touched this many distinct bytes since.
    Others(u64),
    /// Nothing of it is here (never ran here, or its copies were invalidated elsewhere).
    Gone,
    /// The others touched this many distinct bytes since, and tenants outside the machine
    /// evicted whatever was left of it (it was away longer than `cache_lifetime`).
    Evicted(u64),
}

/// The refill of a working set of `w` bytes after `private` on this core and `shared` in its
/// L3 domain: the curve formula when `params` has a curve, else the level formula.
pub(crate) fn refill(params: &CacheParams, w: u64, private: Since, shared: Since) -> Refill {
    if params.line_latency.is_empty() {
        by_levels(params, w, private, shared)
    } else {
        by_curve(params, w, private, shared)
    }
}

/// The curve formula (module docs): the rise of `line_latency` between the reuse distance
/// alone and after the others, split at L2's size into the private and the shared part.
fn by_curve(params: &CacheParams, w: u64, private: Since, shared: Since) -> Refill {
    let lat = |d: f64| params.line_latency.at(d);
    let w = w as f64;
    let distance = |since: Since| match since {
        Since::Others(bytes) | Since::Evicted(bytes) => w + bytes as f64,
        Since::Gone => f64::INFINITY,
    };
    let split = params.l2_bytes as f64;
    let private_rise = lat(distance(private).min(split)) - lat(w.min(split));
    let mut shared_line = lat(distance(shared).max(split));
    if let Since::Evicted(_) = shared {
        // Emptied from every level by tenants: from memory, with the page walks of its own
        // distance (module docs).
        let memory = lat(params.l1d_bytes as f64 / 2.0) + params.refill_memory_per_line;
        shared_line = shared_line.max(memory);
    }
    if !params.cold_line_latency.is_empty() {
        // No return costs more per line than the set's own return from memory (module docs).
        shared_line = shared_line.min(params.cold_line_latency.at(w));
    }
    let shared_rise = shared_line - lat(w.max(split));
    // A dip in the measured curve can make the rise negative; a return never saves time.
    let ns = w / LINE_BYTES as f64 * (private_rise + shared_rise);
    Refill {
        missed_lines: [0.0; 3],
        ns: ns.max(0.0).round() as u64,
    }
}

/// The level formula (module docs): per level, the linear miss share's rise times the step
/// to the next level down.
fn by_levels(params: &CacheParams, w: u64, private: Since, shared: Since) -> Refill {
    let missed = |size: u64, since: Since| -> f64 {
        if size == 0 {
            // No such level: every line comes from below, switch or not.
            return 0.0;
        }
        let share = |distance: f64| (distance / size as f64).min(1.0);
        let alone = share(w as f64);
        let after = match since {
            Since::Gone | Since::Evicted(_) => 1.0,
            Since::Others(bytes) => share(w as f64 + bytes as f64),
        };
        w as f64 * (after - alone) / LINE_BYTES as f64
    };
    let missed_lines = [
        missed(params.l1d_bytes, private),
        missed(params.l2_bytes, private),
        missed(params.l3_bytes, shared),
    ];
    // A deeper level costs at least what the one above does: a calibration that measured L3
    // but not memory keeps the reference memory rate, which may be lower than this machine's
    // L3 (a VM's L3 can be as slow as memory); the rate is then raised to L3's.
    let l2 = params.refill_l2_per_line;
    let l3 = params.refill_l3_per_line.max(l2);
    let memory = params.refill_memory_per_line.max(l3);
    let steps = [l2, l3 - l2, memory - l3];
    let ns: f64 = missed_lines.iter().zip(steps).map(|(m, s)| m * s).sum();
    Refill {
        missed_lines,
        ns: ns.round() as u64,
    }
}

/// Every core's and every L3 domain's history, and where each owner last ran.
#[derive(Debug)]
pub(crate) struct Caches {
    params: CacheParams,
    cores: Vec<Recency<Owner>>,
    domains: Vec<Recency<Owner>>,
    /// Each owner's last core, the working set it left there and when that run started, ns.
    last: HashMap<Owner, (usize, u64, u64)>,
}

impl Caches {
    /// The cache model of a run, or `None` when nothing in it has a working set (no step's
    /// `working_set`, no `stack_working_set`): then no refill is computed and every result is
    /// what it was before the model existed.
    pub(crate) fn for_run(config: &RunConfig) -> Option<Caches> {
        let used = config.costs.stack_working_set > 0
            || config.steps.iter().any(|step| step.working_set > 0);
        used.then(|| Caches::new(CacheParams::of(config), config.cores as usize))
    }

    /// Caches for `cores` cores, all empty.
    pub(crate) fn new(params: CacheParams, cores: usize) -> Self {
        let per_domain = params.l3_shared_by.max(1);
        Caches {
            params,
            cores: (0..cores).map(|_| Recency::new()).collect(),
            domains: (0..cores.div_ceil(per_domain))
                .map(|_| Recency::new())
                .collect(),
            last: HashMap::new(),
        }
    }

    /// `owner` starts running on `core` at `now_ns` and will touch `working_set` bytes: what
    /// its return costs. Records the run. A core number past the machine is clamped to the
    /// last core.
    pub(crate) fn run(
        &mut self,
        owner: Owner,
        core: usize,
        working_set: u64,
        now_ns: u64,
    ) -> Refill {
        if working_set == 0 || self.cores.is_empty() {
            return Refill::default();
        }
        let core = core.min(self.cores.len() - 1);
        let domain = core / self.params.l3_shared_by.max(1);
        let cost = match self.last.get(&owner) {
            None => Refill::default(),
            Some(&(last_core, then, started)) => {
                let lifetime = self.params.cache_lifetime;
                let domain_seen = seen(&self.domains[domain], owner);
                if lifetime > 0 && now_ns.saturating_sub(started) > lifetime {
                    // Away longer than the tenants leave data: nothing of it in any level.
                    let shared = match domain_seen {
                        Since::Others(bytes) | Since::Evicted(bytes) => Since::Evicted(bytes),
                        Since::Gone => Since::Gone,
                    };
                    refill(&self.params, then.min(working_set), Since::Gone, shared)
                } else {
                    let private = if last_core == core {
                        seen(&self.cores[core], owner)
                    } else {
                        Since::Gone
                    };
                    refill(&self.params, then.min(working_set), private, domain_seen)
                }
            }
        };
        self.cores[core].run(owner, working_set);
        self.domains[domain].run(owner, working_set);
        self.last.insert(owner, (core, working_set, now_ns));
        cost
    }

    /// `owner` is gone (its request finished, its thread exited): forget it. Its data stays in
    /// the caches' histories, still counted against the others.
    pub(crate) fn forget(&mut self, owner: Owner) {
        if self.last.remove(&owner).is_some() {
            for scope in self.cores.iter_mut().chain(self.domains.iter_mut()) {
                scope.forget(owner);
            }
        }
    }
}

fn seen(scope: &Recency<Owner>, owner: Owner) -> Since {
    scope.others_since(owner).map_or(Since::Gone, Since::Others)
}

#[cfg(test)]
mod tests;
