//! The cache model against a committed measurement (issue 12): fed the same-core ping-pong of
//! `switch_working_set` as a scenario, does the simulator reproduce the measured extra cost per
//! switch at every working set (consistency), and fed a ring of n threads of 64 KiB each, does it
//! predict the measured `switch_runnable_64kib` curve (out of sample)? Each question is asked of
//! both formulas of `sim/src/cache.rs`: the curve formula (`line_latency`) and the level formula
//! (cache sizes and `refill_*` rates).
//!
//! The scenario takes only what the two-thread measurement gives: the direct switch is the curve's
//! W = 0 point, the cache sizes, refill rates and line-latency curve are `calibrate`'s own
//! (`cache_bytes`, `refill_*_ns_per_line`, `line_latency_ns`); nothing is fitted to either curve.
//! The reference is the newest file in `micro/reference/` with these curves, else the labelled
//! stand-in in `fixtures/` (see its README). Tests never read the live machine. Points where
//! `calibrate` counted more or fewer than one context switch per hand-off (by more than 0.25,
//! `switch_working_set_switches`) measured preemption, not one switch, and are left out (printed
//! with the reason). `cargo test -p sim --release --test it -- --ignored --nocapture
//! cache_reference` prints every point with its error.
//!
//! On the newest reference (`2026-12-07-epyc-2core-quiet.json`: an AMD EPYC guest, L1d 32 KiB,
//! L2 1 MiB, L3 32 MiB as reported; direct switch 2,198 ns, the pair's W = 0 point;
//! `line_latency_ns` 16.9 ns at 4 MiB and 139.9 at 8 MiB; `l3_lifetime_ns` 0.94 ms, the
//! scenario's `cache_lifetime`;
//! `refill_memory_ns_per_line` 123.7 from the retention walk), ns per switch, measured →
//! simulated (error); `ok` is within the tolerance:
//!
//! ```text
//! pair, W       measured   curve formula           level formula
//!   0              2,198   2,198                   2,198
//!   4 KiB          2,005   2,205 (+10 %, ok)       2,241 (+12 %, ok)
//!   16 KiB         2,436   2,729 (+12 %, ok)       2,884 (+18 %, ok <1µs)
//!   32 KiB         2,544   2,629 (+3 %, ok)        2,382 (−6 %, ok)
//!   64 KiB         2,418   2,260 (−7 %, ok)        2,932 (+21 %, ok <1µs)
//!   128 KiB        2,386   2,350 (−2 %, ok)        5,134 (+115 %)
//!   256 KiB        4,426   8,239 (+86 %)           13,941 (+215 %)
//!   512 KiB       50,447   33,514 (−34 %)          49,171 (−3 %, ok)
//!   1 MiB        216,841   76,424 (−65 %)          59,026 (−73 %)
//!   2 to 16 MiB   left out: 1.88 to 7.00 switches per hand-off (preemption)
//!   passes: curve 6 of 9, levels 6 of 9
//!
//! ring of n × 64 KiB (since 2026-12-07T21 the scenario also takes the W = 0 ring's rise,
//! `switch_runnable_ns`, as `switch_runnable`; in brackets, the error before it where that
//! moved by more than 5 points)
//!   2              2,724   2,260 (−17 %, ok)       2,932 (+8 %, ok)
//!   4              4,505   4,411 (−2 %, ok) [−48]  6,475 (+44 %) [−2 %, ok]
//!   8             10,294   5,306 (−48 %) [−63]     8,795 (−15 %, ok) [−29]
//!   16            16,015   9,214 (−42 %) [−52]     14,661 (−8 %, ok) [−18]
//!   32            84,162   13,849 (−84 %)          18,209 (−78 %)
//!   64           148,183   128,074 (−14 %, ok)     125,209 (−16 %, ok)
//!   128          141,653   142,922 (+1 %, ok)      125,187 (−12 %, ok)
//!   256          144,986   159,386 (+10 %, ok)     129,443 (−11 %, ok)
//!   512          184,981   159,858 (−14 %, ok)     129,915 (−30 %)
//!   1,024        177,099   159,523 (−10 %, ok)     129,579 (−27 %)
//!   passes: curve 7 of 10 (6 before), levels 6 of 10 (6 before)
//! ```
//!
//! The ring's direct switch: the pair's scenario charges `thread_switch`, the two-thread curve's
//! W = 0 point, but a ring of n threads with no working set of its own costs more per hand-off
//! (the stacks and task structures the others evict, and the woken thread preempting its
//! waker): 3.9 µs at 4 threads, 8.0 µs from 256, against 1.9 µs for the pair. Taking that rise
//! from the measured W = 0 ring (an input, like `thread_switch`; nothing fitted to the 64 KiB
//! ring) puts the 4-thread ring on target for the curve formula, and moves 8 and 16 threads
//! 10–15 points closer.
//!
//! The cache lifetime (`cache_lifetime`, `sim/src/cache.rs`) is what turns the 64-thread ring: without
//! it the curve formula gives 15.1 µs there (−90 %; its 4 MiB fit the lone walk's L3) and the
//! level formula misses 64 to 256 threads by −54 to −84 %. Two more full runs on the same host
//! that morning (not committed; lifetimes 3.35 and 4.73 ms) gave, with and without it, ring
//! passes curve 6 → 6 and 5 → 5, levels 5 ← 3 and 7 ← 5; no point got worse.
//!
//! Why it still misses on this host, measured with C walks beside it (the `.md` of the
//! reference has the runs):
//! - The host is not quiet, whatever the VM does: the same ring point moves more between runs
//!   minutes apart than the tolerance allows. In five full runs, 32 threads cost 13 to 84 µs
//!   per switch, 64 threads 27 to 148 µs, 8 threads 5.1 to 12.9 µs, and the lifetime was 0.94
//!   to 11.4 ms.
//! - A ring near a cliff is bistable: if its period is shorter than the lifetime its sets stay
//!   in L3 and it stays fast, else they come from memory and it stays slow. The simulator
//!   starts warm and settles fast; the machine's ring, started cold, can settle slow (32
//!   threads here: 84 µs measured, a period of 2.8 ms, against 12.4 µs simulated).
//! - Small sets visited in turn hold less of L3 than one large set: 56 sets of 64 KiB (3.5 MiB)
//!   already come from memory where one 5 MiB buffer walked alone still hits L3. Both cliffs
//!   move from run to run (3 to 5 MiB).
//! - L2 is not private: a 64 KiB set inside L2 (with 256 KiB of other data) costs 4.4 ns a line
//!   at once, 8–11 ns after 0.2 to 4 ms alone and 119 ns after 8 ms, so another tenant shares
//!   this core's L2 (an SMT sibling, presumably). The model evicts every level at the lifetime
//!   but nothing before it; rings of 4 to 16 threads, whose 256 KiB to 1 MiB fit L2 and whose
//!   periods are far shorter than the lifetime, are underpriced by 48 to 63 % (curve formula).
//!
//! On the 2026-12-02 reference (`2026-12-02-xeon-2core-quiet.json`, an Intel Xeon guest, L1d
//! 48 KiB, L2 2 MiB, L3 480 MiB; no lifetime measured) the curve formula met 11 of 12 pair points
//! and 2 of 10 ring points, the level formula 7 of 12 and 0 of 10: it overpriced the 512 KiB
//! pair (+283 %) and rings of 32 to 1,024 threads (+30 to +305 %); the paragraphs below explain
//! those misses. On the reference before it (`2026-12-01-xeon-2core-quiet.json`, another host: L3 260 MiB,
//! direct switch 1,377 ns, working sets only at powers of 4 and around each level) the curve
//! formula passed 6 of 9 pair points: 256 KiB missed by +160 % because nothing lay between
//! 256 KiB and 1 MiB and the interpolation charged the rise toward 1 MiB; `calibrate` now
//! measures every power of 2 from half the L1d to twice the L2, and 256 KiB passes. The 64 KiB
//! pair, which missed there by −51 % (1.4 µs more than the two quiet runs before it), passed
//! on 2026-12-02; the 1 MiB pair passed at +11 % (+31 % there, on a noisier 2 MiB knee).
//!
//! Why the curve formula missed on the 2026-12-02 Xeon reference, from the data:
//! - The 512 KiB pair (+6.3 µs): the formula charges each returning line the lone walk's rise
//!   from 512 KiB to 1 MiB, 5.3 → 6.3 ns, for 8,192 lines; the pair, whose 1 MiB fits the 2 MiB
//!   L2, pays 0.2 ns a line. Not the TLB: a C walk on the same host costs the same on 2 MiB
//!   pages. Visiting each page's lines together instead of in one cycle over all pages costs
//!   4.42 ns at 1 MiB against 5.84 (`micro/reference/2026-12-02-xeon-2core-quiet.md`); the
//!   likely reason is the prefetchers, which work within a page.
//! - Rings of 32 to 1,024 (+30 to +305 %): the same, larger. The others' 2 to 64 MiB push the
//!   lone walk's curve to 19.7–177 ns a line; a returning 64 KiB set (16 pages) measured 11 to
//!   70 ns a line over the W = 0 ring. A walk page by page costs 17–19 ns a line from 4 to
//!   16 MiB and 65 ns at 64 MiB on this host, which is closer to what the ring pays.
//! - Rings of 4 and 8 (−55 %, −29 %): the scenario charges the pair's direct switch (633 ns),
//!   but the ring's own W = 0 curve (`switch_runnable_ns`) costs 963 and 1,151 ns there (a woken
//!   thread preempts its waker: more than one switch per hand-off, see `micro/README.md`);
//!   below 32 threads the rings fit L2 and the curve charges almost nothing.
//!
//! There the level formula missed by more: its linear share evicts part of a set even when `W + B`
//! fits L2 (every pair from 96 KiB to 512 KiB, rings up to 32 threads), and from 512 threads on
//! it charges L3's rate where the ring pays more.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sim::Report;
use sim::config::RunConfig;

const KIB: u64 = 1024;

/// How far from one context switch per hand-off a point may be and still measure one switch.
const SWITCHES_OFF_ONE: f64 = 0.25;

/// Which of the cache model's formulas a scenario asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Formula {
    /// `line_latency` given: a line costs the rise of the lone walk's curve.
    Curve,
    /// No curve: cache sizes and one rate per level, the reference's `refill_*` as written.
    Levels,
}

/// What the scenario needs from a `calibrate --json` file.
struct Reference {
    path: PathBuf,
    json: Value,
}

impl Reference {
    /// The newest reference with the working-set curve, else the stand-in fixture.
    fn load() -> Reference {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut committed: Vec<PathBuf> = std::fs::read_dir(root.join("../micro/reference"))
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        committed.sort();
        let fixture = root.join("tests/it/fixtures/calib-cache-2026-11-30-unreviewed.json");
        for path in committed.into_iter().rev().chain([fixture]) {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(json) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if json["switch_working_set_ns"].is_array() {
                println!("reference: {}", path.display());
                return Reference { path, json };
            }
        }
        panic!("no reference with switch_working_set_ns in micro/reference or the fixture");
    }

    fn curve(&self, key: &str) -> Vec<(u64, f64)> {
        self.json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no {key}", self.path.display()))
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    }

    /// The working-set points that measured one switch per hand-off; the others are printed
    /// with their switch count. A reference without the counts keeps every point.
    fn one_switch_points(&self) -> Vec<(u64, f64)> {
        let points = self.curve("switch_working_set_ns");
        if !self.json["switch_working_set_switches"].is_array() {
            println!("no switch_working_set_switches in the reference: every point kept");
            return points;
        }
        let counts = self.curve("switch_working_set_switches");
        points
            .into_iter()
            .filter(|&(bytes, ns)| {
                let Some(&(_, switches)) = counts.iter().find(|c| c.0 == bytes) else {
                    return true;
                };
                let one = (switches - 1.0).abs() <= SWITCHES_OFF_ONE;
                if !one {
                    println!(
                        "  left out: W = {bytes} B ({ns:.0} ns): {switches:.2} context switches per \
                         hand-off, not 1 ± {SWITCHES_OFF_ONE}: it measured preemption, not one switch"
                    );
                }
                one
            })
            .collect()
    }

    /// The `[costs]` lines: the direct switch from the two-thread curve's W = 0 point, and
    /// calibrate's cache figures; with [`Formula::Curve`] also its line-latency curve. An
    /// unmeasured memory rate is left to the reference value (the level formula raises it to
    /// L3's when lower: see `cache.rs`).
    fn costs(&self, formula: Formula) -> String {
        let direct = self.curve("switch_working_set_ns")[0];
        assert_eq!(direct.0, 0, "the curve starts at W = 0");
        let mut lines = vec![
            format!("thread_switch = \"{}ns\"", direct.1.round()),
            "thread_wakeup = \"0ns\"".to_string(),
            "thread_spawn = \"0ns\"".to_string(),
            "spawn_thread_cpu = \"0ns\"".to_string(),
        ];
        for (key, pointer) in [
            ("cache_l1d", "/cache_bytes/l1d"),
            ("cache_l2", "/cache_bytes/l2"),
            ("cache_l3", "/cache_bytes/l3"),
        ] {
            let bytes = self.json.pointer(pointer).and_then(Value::as_u64);
            let bytes = bytes.unwrap_or_else(|| panic!("{}: no {pointer}", self.path.display()));
            lines.push(format!("{key} = \"{bytes}B\""));
        }
        for (key, field) in [
            ("refill_l2_per_line", "refill_l2_ns_per_line"),
            ("refill_l3_per_line", "refill_l3_ns_per_line"),
            ("refill_memory_per_line", "refill_memory_ns_per_line"),
        ] {
            if let Some(ns) = self.json[field].as_f64() {
                lines.push(format!("{key} = \"{ns}ns\""));
            }
        }
        // Measured since 2026-12-07; older references have none (the L3 kept to itself).
        if let Some(ns) = self.json["l3_lifetime_ns"].as_f64() {
            lines.push(format!("cache_lifetime = \"{}ns\"", ns.round()));
        }
        // The W = 0 ring, per hand-off (the scenario's ring makes one switch per hand-off, as
        // `switch_runnable_64kib_ns` is counted): what a switch adds when n threads take turns,
        // the stacks and task structures apart from any working set.
        if self.json["switch_runnable_ns"].is_array() {
            lines.push(self.curve_line("switch_runnable", "switch_runnable_ns"));
        }
        if formula == Formula::Curve {
            lines.push(self.curve_line("line_latency", "line_latency_ns"));
        }
        lines.join("\n")
    }

    /// The `[costs]` line `key = [[x, ns], ...]` of the reference's curve `json_key`.
    fn curve_line(&self, key: &str, json_key: &str) -> String {
        let points: Vec<String> = self
            .curve(json_key)
            .iter()
            .map(|(x, ns)| format!("[{x}, {ns}]"))
            .collect();
        format!("{key} = [{}]", points.join(", "))
    }

    /// `threads` threads on one core, each with its own connection and `w` bytes of data, each
    /// answering and waking the next (a closed loop with no think time and no network: the
    /// run queue is the ring), requests of 1 us touching `w` bytes. The kernel runs round robin
    /// with a 1 s slice (`quantum`): a refill of a 1 MiB working set takes milliseconds, longer
    /// than EEVDF's protected slice, so under EEVDF the next client's wake-up would preempt a
    /// request in the middle of its refill, and a refill is priced once per burst
    /// (`kernel/refill.rs`): the per-switch figure would no longer be the formula.
    fn ring(&self, formula: Formula, threads: u64, w: u64) -> RunConfig {
        ring(&self.costs(formula), threads, w, self.work_ns(w))
    }

    /// The benchmark's own work per hand-off, which sets how long each thread is away, at the
    /// reference's line latency.
    fn work_ns(&self, w: u64) -> u64 {
        let latency = sim::cost::LineLatency::new(&self.curve("line_latency_ns")).unwrap();
        sim::scenario::benchmark_work_ns(Some(&latency), w)
    }

    /// The ping-pong's points (one switch per hand-off) outside 15 % and 1 µs.
    fn misses_pair(&self, formula: Formula) -> Vec<String> {
        println!("{formula:?} formula");
        compare(
            "switch_working_set (two threads, one core)",
            &self.one_switch_points(),
            |w| self.ring(formula, 2, w),
            |simulated, measured| (simulated - measured).abs() <= (0.15 * measured).max(1_000.0),
        )
    }

    /// The 64 KiB ring's points outside 25 %.
    fn misses_ring(&self, formula: Formula) -> Vec<String> {
        println!("{formula:?} formula");
        compare(
            "switch_runnable_64kib (n threads, one core)",
            &self.curve("switch_runnable_64kib_ns"),
            |n| self.ring(formula, n, 64 * KIB),
            |simulated, measured| (simulated - measured).abs() <= 0.25 * measured,
        )
    }
}

/// [`Reference::ring`] with the `[costs]` lines given.
fn ring(costs: &str, threads: u64, w: u64, work_ns: u64) -> RunConfig {
    sim::scenario::ring(costs, threads, w, work_ns).unwrap()
}

/// Switching plus refill core time per context switch, ns.
fn per_switch_ns(r: &Report) -> f64 {
    let core_ns = r.simulated_seconds * 1e9 * r.cores as f64;
    (r.cpu.switching + r.cpu.refill) * core_ns / r.context_switches as f64
}

/// The level formula's refill for one return on one core, written out from `cache.rs`.
fn levels_ns(config: &RunConfig, w: u64, others: u64) -> f64 {
    let c = &config.costs;
    let l2 = c.refill_l2_per_line as f64;
    let l3 = (c.refill_l3_per_line as f64).max(l2);
    let memory = (c.refill_memory_per_line as f64).max(l3);
    [
        (c.cache_l1d, l2),
        (c.cache_l2, l3 - l2),
        (c.cache_l3, memory - l3),
    ]
    .iter()
    .map(|&(size, step)| {
        let share = |distance: u64| (distance as f64 / size as f64).min(1.0);
        w as f64 * (share(w + others) - share(w)) / 64.0 * step
    })
    .sum()
}

/// The curve formula's refill for one return on one core (this core's history is its L3
/// domain's: the one-line form), written out from `cache.rs`: the rise of the curve
/// (`LineLatency::at`, tested on its own), at least 0.
fn curve_ns(config: &RunConfig, w: u64, others: u64) -> f64 {
    let lat = |d: u64| config.costs.line_latency.at(d as f64);
    (w as f64 / 64.0 * (lat(w + others) - lat(w))).max(0.0)
}

/// Runs every point, prints the table and returns the points outside the tolerance.
fn compare(
    what: &str,
    points: &[(u64, f64)],
    config: impl Fn(u64) -> RunConfig,
    pass: impl Fn(f64, f64) -> bool,
) -> Vec<String> {
    println!("{what}: point, measured ns, simulated ns, error");
    let mut misses = Vec::new();
    for &(x, measured) in points {
        let report = sim::simulate(&config(x)).unwrap();
        let simulated = per_switch_ns(&report);
        let error = (simulated - measured) / measured * 100.0;
        let ok = pass(simulated, measured);
        println!(
            "  {x:>9} {measured:>12.0} {simulated:>12.0} {error:>+8.1} % {}",
            if ok { "" } else { "MISS" }
        );
        if !ok {
            misses.push(format!(
                "{x}: measured {measured:.0}, simulated {simulated:.0}"
            ));
        }
    }
    misses
}

#[test]
fn each_switch_of_a_ring_pays_the_formula_once() {
    // Wiring, on the reference's figures: a ping-pong (2 threads) and rings pay per switch the
    // direct cost plus the formula with the others' (n − 1) × W distinct bytes, no more, no less.
    let reference = Reference::load();
    for formula in [Formula::Levels, Formula::Curve] {
        for (threads, w) in [
            (2, 64 * KIB),
            (2, 1024 * KIB),
            (8, 64 * KIB),
            (64, 64 * KIB),
        ] {
            let mut config = reference.ring(formula, threads, w);
            // The formula of one return by bytes alone: no eviction by time.
            config.costs.cache_lifetime = 0;
            let report = sim::simulate(&config).unwrap();
            let refill = match formula {
                Formula::Levels => levels_ns(&config, w, (threads - 1) * w),
                Formula::Curve => curve_ns(&config, w, (threads - 1) * w),
            };
            // The direct cost of a switch in a ring of n: the pair's, plus the W = 0 ring's
            // rise to n.
            let runnable = &config.costs.switch_runnable;
            let rise = runnable.at(threads as f64) - runnable.points().first().map_or(0.0, |p| p.1);
            let expected = config.costs.thread_switch as f64 + rise.max(0.0) + refill;
            let got = per_switch_ns(&report);
            assert!(
                (got - expected).abs() <= expected * 0.005,
                "{formula:?}, {threads} threads of {w} B: {got:.0} ns per switch, formula {expected:.0}"
            );
            assert!(
                (report.context_switches_per_request - 1.0).abs() < 0.01,
                "one switch per hand-off: {}",
                report.context_switches_per_request
            );
            let split =
                report.cpu.useful + report.cpu.switching + report.cpu.refill + report.cpu.idle;
            assert!((split - 1.0).abs() < 1e-9, "the split sums to {split}");
        }
    }
}

#[test]
fn a_refill_longer_than_a_slice_still_finishes() {
    // Two threads of 16 MiB on round-figure caches (32 KiB, 1 MiB, 32 MiB; 4, 40, 100 ns per
    // line): each return refills 16 MiB × (1 − 1/2) / 64 = 131,072 lines from memory, 7.9 ms,
    // longer than the 3 ms slice, so bursts are preempted mid-refill. A resumed burst is not
    // charged again (else the run never ends); the preemptions show as extra switches, as
    // getrusage shows on the machine.
    let costs = "thread_switch = \"1us\"\nthread_wakeup = \"0ns\"\n\
                 cache_l1d = \"32KiB\"\ncache_l2 = \"1MiB\"\ncache_l3 = \"32MiB\"\n\
                 refill_l2_per_line = \"4ns\"\nrefill_l3_per_line = \"40ns\"\n\
                 refill_memory_per_line = \"100ns\"";
    let config = ring(costs, 2, 16 * 1024 * KIB, 1_000);
    let report = sim::simulate(&config).unwrap();
    assert_eq!(report.completed, 15_000);
    assert!(report.context_switches_per_request > 1.0);
    assert!(report.cpu.refill > 0.9, "{:?}", report.cpu);
}

/// Two pairs of points of the reference measure the same thing: two threads on one core passing
/// a token, once in the working-set curve and once as a ring of 2. At W = 0
/// (`switch_working_set_ns` and `switch_runnable_ns`) and at 64 KiB walked in random order
/// (`switch_working_set_ns` and `switch_runnable_64kib_ns`). A model can meet both tolerances
/// only if some figure passes both, i.e. the reference agrees with itself: the pair's band (15 %
/// or 1 µs) and the ring's (25 %; the W = 0 ring is held to the pair's band, being the same
/// direct switch) overlap. The loaded reference of 2026-11-30 failed this (its 64 KiB twins were
/// 15.8 and 2.2 µs, 7× apart); a reference taken with other processes running may fail it again,
/// and then the comparisons below measure the load, not the model.
#[test]
fn the_reference_agrees_with_itself_within_both_tolerances() {
    let reference = Reference::load();
    let at = |key: &str, x: u64| {
        reference
            .curve(key)
            .into_iter()
            .find(|p| p.0 == x)
            .map(|p| p.1)
            .unwrap_or_else(|| panic!("the reference has no {key} point at {x}"))
    };
    let pair_band = |v: f64| ((0.85 * v).min(v - 1_000.0), (1.15 * v).max(v + 1_000.0));
    for (what, pair, ring, ring_band) in [
        (
            "W = 0",
            at("switch_working_set_ns", 0),
            at("switch_runnable_ns", 2),
            pair_band(at("switch_runnable_ns", 2)),
        ),
        (
            "64 KiB",
            at("switch_working_set_ns", 64 * KIB),
            at("switch_runnable_64kib_ns", 2),
            (
                0.75 * at("switch_runnable_64kib_ns", 2),
                1.25 * at("switch_runnable_64kib_ns", 2),
            ),
        ),
    ] {
        let pair_band = pair_band(pair);
        println!("{what}: pair {pair:.0} ns, 2-thread ring {ring:.0} ns");
        assert!(
            pair_band.0 <= ring_band.1 && ring_band.0 <= pair_band.1,
            "{what}: the pair ({pair:.0} ns) and the 2-thread ring ({ring:.0} ns) measure the \
             same switch, yet no figure is within both tolerances: the reference disagrees with \
             itself (taken under load?)"
        );
    }
}

/// Consistency for the curve formula, the issue's tolerance (15 % or 1 µs at every W measured
/// with one switch per hand-off). See the module docs for the table.
#[test]
#[ignore = "fails on the 2026-12-07 EPYC reference at 256 KiB, 512 KiB and 1 MiB (+86 %, −34 %, −65 %); 6 of 9 points pass (on the 2026-12-02 Xeon one, 11 of 12); see the module docs"]
fn the_curve_formula_reproduces_switch_working_set_within_15_percent_or_1us() {
    let misses = Reference::load().misses_pair(Formula::Curve);
    assert!(misses.is_empty(), "outside 15 % and 1 us: {misses:#?}");
}

/// Out of sample for the curve formula, the issue's tolerance (25 %).
#[test]
#[ignore = "fails on the 2026-12-07 EPYC reference at 8, 16 and 32 threads (−48 %, −42 %, −84 %: rings whose 512 KiB to 2 MiB fit L2 but whose sets come back dearer, see the module docs); 7 of 10 points pass"]
fn the_curve_formula_predicts_switch_runnable_64kib_within_25_percent() {
    let misses = Reference::load().misses_ring(Formula::Curve);
    assert!(misses.is_empty(), "outside 25 %: {misses:#?}");
}

/// Consistency for the level formula (15 % or 1 µs).
#[test]
#[ignore = "fails on the 2026-12-07 EPYC reference at 128 KiB, 256 KiB and 1 MiB (+115 %, +215 %, −73 %: the linear share evicts sets that fit L2); 6 of 9 points pass; see the module docs"]
fn the_level_formula_reproduces_switch_working_set_within_15_percent_or_1us() {
    let misses = Reference::load().misses_pair(Formula::Levels);
    assert!(misses.is_empty(), "outside 15 % and 1 us: {misses:#?}");
}

/// Out of sample for the level formula (25 %).
#[test]
#[ignore = "fails on the 2026-12-07 EPYC reference at 4, 32, 512 and 1,024 threads (+44 %, −78 %, −30 %, −27 %); 6 of 10 points pass; see the module docs"]
fn the_level_formula_predicts_switch_runnable_64kib_within_25_percent() {
    let misses = Reference::load().misses_ring(Formula::Levels);
    assert!(misses.is_empty(), "outside 25 %: {misses:#?}");
}
