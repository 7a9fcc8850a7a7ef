use proptest::prelude::*;

use super::*;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Round figures (not this machine's): 32 KiB L1d, 1 MiB L2, 32 MiB L3 shared by two cores;
/// a line costs 4 ns from L2, 40 from L3, 100 from memory.
fn params() -> CacheParams {
    CacheParams {
        l1d_bytes: 32 * KIB,
        l2_bytes: MIB,
        l3_bytes: 32 * MIB,
        refill_l2_per_line: 4.0,
        refill_l3_per_line: 40.0,
        refill_memory_per_line: 100.0,
        l3_shared_by: 2,
        line_latency: LineLatency::EMPTY,
        cold_line_latency: LineLatency::EMPTY,
        cache_lifetime: 0,
    }
}

/// [`params`] with a measured-looking curve: 2 ns a line up to 32 KiB (L1), 6 ns at 256 KiB
/// and 1 MiB (L2), 40 ns at 32 MiB (L3), 100 ns at 256 MiB (memory).
fn curve_params() -> CacheParams {
    let curve = [
        (32 * KIB, 2.0),
        (256 * KIB, 6.0),
        (MIB, 6.0),
        (32 * MIB, 40.0),
        (256 * MIB, 100.0),
    ];
    CacheParams {
        line_latency: LineLatency::new(&curve).unwrap(),
        ..params()
    }
}

/// The refill of `owners` threads of `w` bytes taking turns on core 0, seen by the first at
/// its return in the fourth round (steady state).
fn round_robin(w: u64, owners: u32) -> Refill {
    let mut caches = Caches::new(params(), 4);
    let mut last = Refill::default();
    for round in 0..4 {
        for t in 0..owners {
            let cost = caches.run(Owner::Stack(t), 0, w, 0);
            if round == 3 && t == 0 {
                last = cost;
            }
        }
    }
    last
}

#[test]
fn no_working_set_costs_nothing() {
    let mut caches = Caches::new(params(), 4);
    for round in 0..3 {
        for t in 0..5 {
            let core = (t + round) as usize % 4;
            assert_eq!(caches.run(Owner::Stack(t), core, 0, 0), Refill::default());
        }
    }
    assert_eq!(round_robin(0, 100), Refill::default());
}

#[test]
fn a_thread_alone_on_its_core_refills_nothing() {
    let mut caches = Caches::new(params(), 4);
    for _ in 0..10 {
        assert_eq!(caches.run(Owner::Stack(7), 1, 4 * MIB, 0).ns, 0);
    }
}

#[test]
fn the_first_run_is_the_work_own_misses_not_a_refill() {
    let mut caches = Caches::new(params(), 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    assert_eq!(caches.run(Owner::Stack(1), 0, 64 * KIB, 0).ns, 0);
}

#[test]
fn two_threads_on_one_core_refill_what_the_other_evicted_level_by_level() {
    // W = 16 KiB, the other touched 16 KiB since:
    //   L1: 16 KiB × ((16 + 16)/32 − 16/32) / 64 = 128 lines × 4 ns
    //   L2: 16 KiB × (16 KiB / 1 MiB) / 64 = 4 lines × (40 − 4) ns
    //   L3: 16 KiB × (16 KiB / 32 MiB) / 64 = 0.125 lines × (100 − 40) ns
    let small = round_robin(16 * KIB, 2);
    assert_eq!(small.missed_lines, [128.0, 4.0, 0.125]);
    assert_eq!(small.ns, 664); // 512 + 144 + 7.5, rounded
    // W = 64 KiB overflows L1 alone: it missed there without a switch too, so L1 adds nothing;
    // 1/16 of it is lost from L2 and 1/512 from L3.
    let large = round_robin(64 * KIB, 2);
    assert_eq!(large.missed_lines, [0.0, 64.0, 2.0]);
    assert_eq!(large.ns, 64 * 36 + 2 * 60);
}

#[test]
fn a_ring_counts_each_other_thread_once() {
    // Eight threads of 64 KiB: 7 × 64 KiB = 448 KiB since, whatever the number of rounds.
    let ring = round_robin(64 * KIB, 8);
    let by_hand = refill(
        &params(),
        64 * KIB,
        Since::Others(7 * 64 * KIB),
        Since::Others(7 * 64 * KIB),
    );
    assert_eq!(ring, by_hand);
    assert_eq!(ring.missed_lines, [0.0, 448.0, 14.0]);
}

#[test]
fn a_thread_that_runs_often_between_returns_counts_once() {
    let mut caches = Caches::new(params(), 1);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    for _ in 0..50 {
        caches.run(Owner::Stack(1), 0, 64 * KIB, 0);
    }
    assert_eq!(
        caches.run(Owner::Stack(0), 0, 64 * KIB, 0),
        round_robin(64 * KIB, 2)
    );
}

#[test]
fn a_migrated_thread_refills_its_private_levels_in_full_and_hits_the_shared_l3() {
    let mut caches = Caches::new(params(), 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    caches.run(Owner::Stack(1), 1, 64 * KIB, 0);
    // Core 1 shares core 0's L3: the lines L2 would have kept (all but the 1/16 that 64 KiB
    // misses alone in a 1 MiB L2) come from L3, except the 2 that thread 1's 64 KiB pushed out
    // of 32 MiB. L1 adds nothing: 64 KiB overflows it anyway.
    let moved = caches.run(Owner::Stack(0), 1, 64 * KIB, 0);
    assert_eq!(moved.missed_lines, [0.0, 960.0, 2.0]);
    assert_eq!(moved.ns, 960 * 36 + 2 * 60);
}

#[test]
fn a_thread_migrated_to_another_l3_comes_from_memory() {
    let mut caches = Caches::new(params(), 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    let moved = caches.run(Owner::Stack(0), 2, 64 * KIB, 0);
    assert_eq!(moved.missed_lines, [0.0, 960.0, 1022.0]);
    assert_eq!(moved.ns, 960 * 36 + 1022 * 60);
}

#[test]
fn a_thread_back_on_its_core_lost_its_lines_there_when_it_ran_elsewhere() {
    // It wrote its data on core 1, which invalidated core 0's copies.
    let mut caches = Caches::new(params(), 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    caches.run(Owner::Stack(0), 1, 64 * KIB, 0);
    let back = caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    assert_eq!(back.missed_lines, [0.0, 960.0, 0.0]);
}

#[test]
fn the_other_core_of_the_domain_only_touches_the_shared_level() {
    let mut caches = Caches::new(params(), 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    caches.run(Owner::Stack(1), 1, 64 * KIB, 0);
    caches.run(Owner::Stack(2), 2, 64 * KIB, 0); // another domain: no effect on core 0
    let back = caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    assert_eq!(back.missed_lines, [0.0, 0.0, 2.0]);
    assert_eq!(back.ns, 120);
}

#[test]
fn an_event_loop_pays_between_tasks_as_threads_do() {
    // One loop thread running two tasks in turn on one core: same history, same refill as two
    // threads taking turns; the model has no factor only one of them pays.
    let mut caches = Caches::new(params(), 1);
    let mut last = Refill::default();
    for _ in 0..4 {
        last = caches.run(Owner::Connection(10), 0, 64 * KIB, 0);
        caches.run(Owner::Connection(11), 0, 64 * KIB, 0);
    }
    assert_eq!(last, round_robin(64 * KIB, 2));
}

#[test]
fn a_smaller_working_set_now_finds_at_most_what_it_left() {
    let mut caches = Caches::new(params(), 1);
    caches.run(Owner::Request(1), 0, 8 * KIB, 0);
    caches.run(Owner::Request(2), 0, 64 * KIB, 0);
    let grown = caches.run(Owner::Request(1), 0, MIB, 0);
    let expected = refill(
        &params(),
        8 * KIB,
        Since::Others(64 * KIB),
        Since::Others(64 * KIB),
    );
    assert_eq!(grown, expected);
}

#[test]
fn a_finished_owner_is_forgotten_but_its_data_still_evicts() {
    let mut caches = Caches::new(params(), 1);
    caches.run(Owner::Request(1), 0, 64 * KIB, 0);
    caches.run(Owner::Request(2), 0, 64 * KIB, 0);
    caches.forget(Owner::Request(2));
    // The number is reused for a new request: a first run, and new data.
    assert_eq!(
        caches.run(Owner::Request(2), 0, 64 * KIB, 0).ns,
        0,
        "a new owner"
    );
    let back = caches.run(Owner::Request(1), 0, 64 * KIB, 0);
    let both = Since::Others(128 * KIB);
    assert_eq!(back, refill(&params(), 64 * KIB, both, both));
}

#[test]
fn problems_name_the_key() {
    assert_eq!(params().problem(), None);
    let nan = CacheParams {
        refill_l2_per_line: f64::NAN,
        ..params()
    };
    assert!(nan.problem().unwrap().contains("refill_l2_per_line"));
    let shrinking = CacheParams {
        l2_bytes: 16 * KIB,
        ..params()
    };
    assert!(shrinking.problem().unwrap().contains("cache_l2"));
    let nobody = CacheParams {
        l3_shared_by: 0,
        ..params()
    };
    assert!(nobody.problem().unwrap().contains("l3_shared_by"));
}

#[test]
fn a_memory_rate_below_l3_counts_as_l3() {
    // A calibration that measured L3 (40 ns here) but not memory keeps a lower reference rate.
    let slow_l3 = CacheParams {
        refill_memory_per_line: 10.0,
        ..params()
    };
    assert_eq!(slow_l3.problem(), None);
    let from_other_l3 = refill(&slow_l3, 64 * KIB, Since::Gone, Since::Gone);
    // As from L3: nothing more for the memory step.
    assert_eq!(from_other_l3.missed_lines, [0.0, 960.0, 1022.0]);
    assert_eq!(from_other_l3.ns, 960 * 36);
}

#[test]
fn the_curve_charges_nothing_while_the_distance_fits_a_level() {
    // Two 128 KiB sets: a distance of 256 KiB, where the curve reads 6 ns against 4.67 ns at
    // 128 KiB (2/3 of the way from 32 to 256 KiB in log2): the curve still rises there, so
    // 2,048 lines × 1.33 ns are charged.
    let p = curve_params();
    let pair = refill(
        &p,
        128 * KIB,
        Since::Others(128 * KIB),
        Since::Others(128 * KIB),
    );
    assert_eq!(
        pair.ns,
        (2_048.0_f64 * (6.0 - (2.0 + 4.0 * 2.0 / 3.0))).round() as u64
    );
    // 256 KiB + 256 KiB and 256 KiB + 768 KiB stay on the flat part up to 1 MiB: free.
    for others in [256 * KIB, 768 * KIB] {
        let r = refill(&p, 256 * KIB, Since::Others(others), Since::Others(others));
        assert_eq!(r.ns, 0, "{others}");
    }
    // The level formula charges the second a share of L2 anyway: 256 KiB × 768 KiB / 1 MiB.
    let levels = refill(
        &params(),
        256 * KIB,
        Since::Others(768 * KIB),
        Since::Others(768 * KIB),
    );
    assert_eq!(levels.missed_lines[1], 3_072.0);
}

#[test]
fn the_curve_formula_is_the_rise_of_the_curve_over_the_reuse_distance() {
    // W = 64 KiB after 31 × 64 KiB = 1,984 KiB on this core and its domain: lat(2 MiB) −
    // lat(64 KiB), per line. lat(2 MiB) = 6 + 34 × 1/5 (1 of the 5 doublings from 1 to 32
    // MiB), lat(64 KiB) = 2 + 4 × 1/3.
    let p = curve_params();
    let r = round_robin_with(&p, 64 * KIB, 32);
    let lat_2m: f64 = 6.0 + 34.0 / 5.0;
    let lat_64k = 2.0 + 4.0 / 3.0;
    assert_eq!(r.ns, (1_024.0 * (lat_2m - lat_64k)).round() as u64);
    assert_eq!(r.missed_lines, [0.0; 3]);
}

#[test]
fn the_curve_splits_at_l2_into_this_cores_part_and_the_domains() {
    let p = curve_params();
    // Nothing else on this core, 32 MiB on the domain's other core: only the rise past L2.
    let shared_only = refill(&p, 64 * KIB, Since::Others(0), Since::Others(32 * MIB));
    let lat = |d: u64| p.line_latency.at(d as f64);
    let expected = 1_024.0 * (lat(32 * MIB + 64 * KIB) - lat(MIB));
    assert_eq!(shared_only.ns, expected.round() as u64);
    // Migrated within the domain: the private part in full (up to lat(L2)), L3 kept.
    let migrated = refill(&p, 64 * KIB, Since::Gone, Since::Others(0));
    assert_eq!(
        migrated.ns,
        (1_024.0 * (lat(MIB) - lat(64 * KIB))).round() as u64
    );
    // To another domain: everything from the curve's end.
    let away = refill(&p, 64 * KIB, Since::Gone, Since::Gone);
    assert_eq!(away.ns, (1_024.0 * (100.0 - lat(64 * KIB))).round() as u64);
    // And through the histories: a thread moved to core 1 (same domain as core 0).
    let mut caches = Caches::new(p, 4);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    assert_eq!(caches.run(Owner::Stack(0), 1, 64 * KIB, 0), migrated);
    assert_eq!(caches.run(Owner::Stack(0), 2, 64 * KIB, 0), away);
}

#[test]
fn a_set_away_longer_than_the_cache_lifetime_refills_from_memory() {
    // Tenants keep our data for 2 ms. A 64 KiB set comes back after another owner's
    // 2 MiB pushed it out of the 1 MiB L2: after 1 ms from L3 (the curve's rise to 2 MiB), after
    // 2.5 ms from memory: 2 ns (the curve at half the L1d) + 100 ns a line, against the 6 ns it
    // pays alone (the curve at L2's size). The private part is the same in both.
    let p = CacheParams {
        cache_lifetime: 2_000_000,
        ..curve_params()
    };
    let lat = |d: u64| p.line_latency.at(d as f64);
    let private = lat(MIB) - lat(64 * KIB);
    let mut caches = Caches::new(p, 1);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    caches.run(Owner::Stack(1), 0, 2 * MIB, 500_000);
    let soon = caches.run(Owner::Stack(0), 0, 64 * KIB, 1_000_000);
    let from_l3 = 1_024.0 * (private + lat(2 * MIB + 64 * KIB) - lat(MIB));
    assert_eq!(soon.ns, from_l3.round() as u64);
    caches.run(Owner::Stack(1), 0, 2 * MIB, 1_500_000);
    let late = caches.run(Owner::Stack(0), 0, 64 * KIB, 3_500_000);
    let from_memory = 1_024.0 * (private + 102.0 - 6.0);
    assert_eq!(late.ns, from_memory.round() as u64);
    assert!(late.ns > 5 * soon.ns, "{late:?} {soon:?}");
}

#[test]
fn a_returning_line_costs_at_most_the_sets_own_cold_return() {
    // A 1 MiB set after 255 MiB of others: the curve says 100 ns a line (its 256 MiB lone
    // walk, a page walk per line), the set's own return from memory 70 ns. With the cold
    // curve the refill is 16,384 × (70 − 6) ns; without it 16,384 × (100 − 6).
    let uncapped = curve_params();
    let capped = CacheParams {
        cold_line_latency: LineLatency::new(&[(64 * KIB, 60.0), (4 * MIB, 80.0)]).unwrap(),
        ..curve_params()
    };
    let cold_1m = capped.cold_line_latency.at(MIB as f64);
    assert!(
        (cold_1m - (60.0 + 20.0 * 4.0 / 6.0)).abs() < 1e-9,
        "{cold_1m}"
    );
    let far = |p: &CacheParams| {
        let mut caches = Caches::new(*p, 1);
        caches.run(Owner::Stack(0), 0, MIB, 0);
        caches.run(Owner::Stack(1), 0, 255 * MIB, 1_000);
        caches.run(Owner::Stack(0), 0, MIB, 2_000).ns
    };
    assert_eq!(far(&uncapped), (16_384.0 * (100.0 - 6.0)) as u64);
    assert_eq!(far(&capped), (16_384.0 * (cold_1m - 6.0)).round() as u64);
    // A near return, below the cap, is priced by the curve alone: 1 MiB after 1 MiB.
    let near = |p: &CacheParams| {
        let mut caches = Caches::new(*p, 1);
        caches.run(Owner::Stack(0), 0, MIB, 0);
        caches.run(Owner::Stack(1), 0, MIB, 1_000);
        caches.run(Owner::Stack(0), 0, MIB, 2_000).ns
    };
    assert_eq!(near(&capped), near(&uncapped));
    assert!(near(&capped) > 0);
}

#[test]
fn a_set_inside_l2_is_evicted_by_time_too() {
    // Nothing else ran, so the set never left L2, but tenants reach L2 as well: after the
    // lifetime every line comes from memory.
    let p = CacheParams {
        cache_lifetime: 2_000_000,
        ..curve_params()
    };
    let lat = |d: u64| p.line_latency.at(d as f64);
    let mut caches = Caches::new(p, 1);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    assert_eq!(caches.run(Owner::Stack(0), 0, 64 * KIB, 1_000_000).ns, 0);
    let back = caches.run(Owner::Stack(0), 0, 64 * KIB, 40_000_000);
    let expected = 1_024.0 * (lat(MIB) - lat(64 * KIB) + 102.0 - lat(MIB));
    assert_eq!(back.ns, expected.round() as u64);
    // The level formula: every level misses what it did not miss alone.
    let levels = CacheParams {
        cache_lifetime: 2_000_000,
        ..params()
    };
    let mut caches = Caches::new(levels, 1);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    let back = caches.run(Owner::Stack(0), 0, 64 * KIB, 40_000_000);
    assert_eq!(back.missed_lines, [0.0, 960.0, 1_022.0]);
}

#[test]
fn an_evicted_line_costs_at_least_what_the_others_distance_costs() {
    // 64 MiB touched by the others puts the set at the curve's far end (100 ns at 256 MiB,
    // about 65 at 64 MiB), which the memory floor (102 ns) does not lower.
    let p = CacheParams {
        refill_memory_per_line: 10.0,
        ..curve_params()
    };
    let lat = |d: u64| p.line_latency.at(d as f64);
    let far = refill(
        &p,
        64 * KIB,
        Since::Others(64 * MIB),
        Since::Evicted(64 * MIB),
    );
    let kept = refill(
        &p,
        64 * KIB,
        Since::Others(64 * MIB),
        Since::Others(64 * MIB),
    );
    assert_eq!(far, kept);
    assert_eq!(
        far.ns,
        (1_024.0 * (lat(64 * MIB + 64 * KIB) - lat(64 * KIB))).round() as u64
    );
}

#[test]
fn the_level_formula_takes_every_line_of_an_evicted_set_from_memory() {
    let p = CacheParams {
        cache_lifetime: 2_000_000,
        ..params()
    };
    let mut caches = Caches::new(p, 1);
    caches.run(Owner::Stack(0), 0, 64 * KIB, 0);
    caches.run(Owner::Stack(1), 0, 960 * KIB, 1_000_000);
    let back = caches.run(Owner::Stack(0), 0, 64 * KIB, 16_000_000);
    // Away 15 ms: L1 missed all of the set alone already, L2 (1 MiB) misses the 15/16 of it
    // that it held alone, L3 all but the 1/512 it missed alone.
    assert_eq!(back.missed_lines[0], 0.0);
    assert!((back.missed_lines[1] - 960.0).abs() < 1e-9, "{back:?}");
    assert!((back.missed_lines[2] - 1_022.0).abs() < 1e-9, "{back:?}");
    assert_eq!(back.ns, (960.0_f64 * 36.0 + 1_022.0 * 60.0).round() as u64);
}

/// [`round_robin`] on other parameters.
fn round_robin_with(params: &CacheParams, w: u64, owners: u32) -> Refill {
    let mut caches = Caches::new(*params, 1);
    let mut last = Refill::default();
    for round in 0..4 {
        for t in 0..owners {
            let cost = caches.run(Owner::Stack(t), 0, w, 0);
            if round == 3 && t == 0 {
                last = cost;
            }
        }
    }
    last
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// More threads taking turns never cost less per return, and a return never costs more
    /// than refilling every line of the working set from memory.
    #[test]
    fn refill_grows_with_interleaved_threads(
        w in 1u64..64 * MIB,
        owners in 2u32..40,
    ) {
        let base = round_robin(w, owners).ns;
        prop_assert!(round_robin(w, owners + 1).ns >= base);
        let all_from_memory = (w as f64 / 64.0 * params().refill_memory_per_line).round() as u64;
        prop_assert!(base <= all_from_memory);
    }

    /// A level the working set overflows alone adds no misses after a switch, however much
    /// the others touched: the lines were not there for it without a switch either.
    #[test]
    fn a_level_overflowed_alone_costs_nothing_more(
        w in 32 * KIB..256 * MIB,
        others in 0u64..256 * MIB,
    ) {
        let p = params();
        let r = refill(&p, w, Since::Others(others), Since::Others(others));
        prop_assert_eq!(r.missed_lines[0], 0.0);
        if w >= p.l2_bytes {
            prop_assert_eq!(r.missed_lines[1], 0.0);
        }
        if w >= p.l3_bytes {
            prop_assert_eq!(r.ns, 0);
        }
    }

    /// The curve formula: monotone in the others' bytes, bounded by the curve's end.
    #[test]
    fn the_curve_refill_is_bounded_by_losing_everything(
        w in 1u64..256 * MIB,
        private in 0u64..256 * MIB,
        more in 0u64..256 * MIB,
        extra in 0u64..256 * MIB,
    ) {
        let p = curve_params();
        let shared = private + extra;
        let seen = refill(&p, w, Since::Others(private), Since::Others(shared));
        let later = refill(&p, w, Since::Others(private + more), Since::Others(shared + more));
        let gone = refill(&p, w, Since::Gone, Since::Gone);
        prop_assert!(seen.ns <= later.ns);
        prop_assert!(later.ns <= gone.ns);
        let all_from_memory = (w as f64 / 64.0 * 100.0).round() as u64;
        prop_assert!(gone.ns <= all_from_memory);
    }

    /// The formula: monotone in the others' bytes, bounded by a full refill from memory.
    #[test]
    fn refill_is_bounded_by_losing_everything(
        w in 0u64..256 * MIB,
        private in 0u64..256 * MIB,
        more in 0u64..256 * MIB,
    ) {
        let p = params();
        let seen = refill(&p, w, Since::Others(private), Since::Others(private));
        let later = refill(&p, w, Since::Others(private + more), Since::Others(private + more));
        let gone = refill(&p, w, Since::Gone, Since::Gone);
        prop_assert!(seen.ns <= later.ns);
        prop_assert!(later.ns <= gone.ns);
        let all_from_memory = (w as f64 / 64.0 * p.refill_memory_per_line).round() as u64;
        prop_assert!(gone.ns <= all_from_memory);
    }
}
