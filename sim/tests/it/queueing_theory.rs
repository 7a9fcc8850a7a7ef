//! Zero switch costs, long runs, warm-up removed: the simulator must agree with closed-form
//! queueing results. Each tolerance is stated next to its assertion with the reasoning; the
//! runs are seeded, so a pass is reproducible, and the tolerances are a few standard errors
//! (from the batch-means interval each report carries) wide, not fitted to the result.

use sim::config::{Model, Pool, Threads};
use sim::dist::Dist;
use sim::simulate;

use crate::{assert_little, close, closed, cooperative, cpu, io, open, threads};

const MS: u64 = 1_000_000;

/// Erlang C: probability that an arrival waits in an M/M/c queue with offered load a = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let top = term * a / c as f64 / (1.0 - rho);
    top / (sum + top)
}

#[test]
fn erlang_c_formula_matches_the_issue_numbers() {
    // The issue quotes c = 4, load 0.8: P(wait) = 0.5964, mean wait = 0.746 / mu.
    let p = erlang_c(4, 3.2);
    assert!((p - 0.5964).abs() < 1e-4, "{p}");
    assert!((p / (4.0 - 3.2) - 0.7455).abs() < 1e-3);
}

#[test]
fn mm1_mean_response_is_s_over_one_minus_rho() {
    // S = 1 ms, rho = 0.5: W = S / (1 - rho) = 2 ms, P(wait) = rho.
    let cfg = open(
        500.0,
        200_000,
        1,
        vec![cpu(Dist::Exp { mean: MS })],
        cooperative(1),
    );
    let r = simulate(&cfg).unwrap();
    let half = r.latency_ms.mean_ci95_high - r.latency_ms.mean;
    // The batch-means half-width is about 1.3 % here; 3 % is a bit over two of them.
    close("M/M/1 mean (ms)", r.latency_ms.mean, 2.0, 0.03);
    assert!(half / r.latency_ms.mean < 0.03, "interval too wide: {half}");
    // P(wait) is a proportion over 180k correlated arrivals: +-0.01 absolute.
    assert!(
        (r.waited_fraction - 0.5).abs() < 0.01,
        "{}",
        r.waited_fraction
    );
    close("utilization", r.cpu_utilization, 0.5, 0.02);
    assert_little(&r, 0.02);
}

#[test]
fn mmc_matches_erlang_c_with_four_shared_loops() {
    // c = 4 loops on 4 cores, shared queue, rho = 0.8, S = exp(1 ms): P(wait) = 0.5964,
    // W = S + 0.746 S = 1.7455 ms.
    let cfg = open(
        3_200.0,
        300_000,
        4,
        vec![cpu(Dist::Exp { mean: MS })],
        cooperative(4),
    );
    let r = simulate(&cfg).unwrap();
    let want_w = 1.0 + erlang_c(4, 3.2) / 0.8;
    // Heavier correlation at rho = 0.8: the batch-means half-width is about 1.5 %; allow 3 %.
    close("M/M/4 mean (ms)", r.latency_ms.mean, want_w, 0.03);
    assert!(
        r.latency_ms.mean_ci95_low - 0.01 < want_w && want_w < r.latency_ms.mean_ci95_high + 0.01,
        "theory {want_w} outside the run's interval {:?}",
        r.latency_ms
    );
    assert!(
        (r.waited_fraction - 0.5964).abs() < 0.015,
        "P(wait) {}",
        r.waited_fraction
    );
    close("utilization", r.cpu_utilization, 0.8, 0.02);
    assert_eq!(r.context_switches, 0, "4 loops keep their 4 cores");
    assert_little(&r, 0.02);
}

#[test]
fn md1_is_fcfs_under_cooperative_and_processor_sharing_under_threads() {
    // S = 1 ms constant, rho = 0.7.
    //   FCFS (one cooperative loop):  W = S + rho S / (2 (1 - rho)) = 2.1667 ms
    //   PS (a thread per request, slices of S/50): W = S / (1 - rho) = 3.3333 ms
    // Same arrivals (same seed), different scheduling: the difference is the model's doing.
    let steps = vec![cpu(Dist::Const(MS))];
    let fcfs = simulate(&open(700.0, 200_000, 1, steps.clone(), cooperative(1))).unwrap();
    let ps_model = threads(Threads::Unbounded, Some(MS / 50));
    let ps = simulate(&open(700.0, 100_000, 1, steps, ps_model)).unwrap();
    let (want_fcfs, want_ps) = (1.0 + 0.7 / 0.6, 1.0 / 0.3);
    eprintln!(
        "M/D/1 FCFS {:.4} ms (theory {want_fcfs:.4}), PS {:.4} ms (theory {want_ps:.4}), difference {:.4} ms",
        fcfs.latency_ms.mean,
        ps.latency_ms.mean,
        ps.latency_ms.mean - fcfs.latency_ms.mean
    );
    // Half-widths are about 1 % (FCFS) and 2 % (PS, fewer requests); allow 3 % and 4 %.
    close(
        "M/D/1 FCFS mean (ms)",
        fcfs.latency_ms.mean,
        want_fcfs,
        0.03,
    );
    // Round robin with a finite slice is PS plus at most one slice of extra delay per request.
    close("M/D/1 PS mean (ms)", ps.latency_ms.mean, want_ps, 0.04);
    // Under FCFS every request takes at least S; under PS short waits stretch service itself.
    assert!(fcfs.latency_ms.p50 >= 0.999);
    assert!(ps.latency_ms.mean > fcfs.latency_ms.mean * 1.4);
    assert_little(&fcfs, 0.02);
    assert_little(&ps, 0.03);
}

/// Exact Mean Value Analysis of a closed network of queueing stations with no think time.
fn mva(demands_ms: &[f64], clients: u64) -> (f64, f64) {
    let mut queue = vec![0.0; demands_ms.len()];
    let (mut throughput, mut response) = (0.0, 0.0);
    for n in 1..=clients {
        let r: Vec<f64> = demands_ms
            .iter()
            .zip(&queue)
            .map(|(d, q)| d * (1.0 + q))
            .collect();
        response = r.iter().sum::<f64>();
        throughput = n as f64 / response;
        queue = r.iter().map(|ri| throughput * ri).collect();
    }
    (throughput * 1e3, response)
}

#[test]
fn closed_loop_matches_mean_value_analysis() {
    // 6 clients, no think time, each request a CPU step exp(1 ms) then an I/O step exp(1.5 ms)
    // holding a pool of 1. The CPU runs a thread per request sliced at 20 us on one core
    // (processor sharing), the pool is an FCFS exponential server: a product-form (BCMP)
    // network, so exact MVA gives throughput and response.
    //
    // Why not one event loop as the CPU station: a task woken by its I/O or its pool grant
    // must queue for the loop again before it can go on, which is how asyncio behaves but is
    // not the textbook network. With threads, a woken thread waits at most one 20 us slice.
    let mut cfg = closed(
        6,
        40_000,
        1,
        vec![cpu(Dist::Exp { mean: MS }), {
            let mut s = io(Dist::Exp { mean: 1_500_000 });
            s.pool = Some(0);
            s
        }],
        threads(Threads::Fixed(6), Some(20_000)),
    );
    cfg.pools = vec![Pool {
        name: "db".into(),
        size: 1,
    }];
    let r = simulate(&cfg).unwrap();
    let (x, w) = mva(&[1.0, 1.5], 6);
    eprintln!(
        "MVA: X = {x:.1} rps, R = {w:.3} ms; simulated X = {:.1}, R = {:.3}",
        r.throughput_rps, r.latency_ms.mean
    );
    // Throughput and response are ratios of long-run averages over 36k cycles: 2 % is several
    // standard errors, and the two 20 us wake-up delays per cycle add at most 0.5 %.
    close("throughput (rps)", r.throughput_rps, x, 0.02);
    close("response (ms)", r.latency_ms.mean, w, 0.02);
    assert_little(&r, 0.02);
    // The bottleneck (the pool, 1.5 ms) is nearly saturated with 6 clients.
    assert!(x > 0.9 * 1e3 / 1.5, "{x}");
}

#[test]
fn preemptive_green_threads_approach_processor_sharing() {
    // One worker, quantum S/50: M/D/1 under round robin is close to PS: W = S / (1 - rho).
    let model = Model::Preemptive {
        workers: 1,
        quantum: MS / 50,
    };
    let r = simulate(&open(700.0, 100_000, 1, vec![cpu(Dist::Const(MS))], model)).unwrap();
    close("M/D/1 PS mean (ms)", r.latency_ms.mean, 1.0 / 0.3, 0.04);
    assert_little(&r, 0.03);
}

/// M/D/1 at rho = 0.7 with a thread per request on one core under `scheduler`, zero switch
/// costs, equal weights.
fn md1_threads(
    scheduler: sim::machine::Scheduler,
    hrtick: bool,
    s: u64,
    requests: u64,
) -> sim::report::Report {
    let mut c = open(
        0.7e9 / s as f64,
        requests,
        1,
        vec![cpu(Dist::Const(s))],
        threads(Threads::Unbounded, None),
    );
    c.kernel.scheduler = scheduler;
    c.kernel.hrtick = hrtick;
    simulate(&c).unwrap()
}

#[test]
fn eevdf_shares_the_core_and_cfs_on_the_tick_runs_short_requests_whole() {
    use sim::machine::Scheduler;
    // rho = 0.7, M/D/1, a thread per request on one core, zero switch costs, equal weights.
    //
    // EEVDF with HRTICK and S = 30 ms, forty times the 0.75 ms base slice: the core turns
    // between the requests present every slice, so it is processor sharing,
    // W = S / (1 - rho) = 100 ms. A finite slice is PS plus at most one slice per request
    // (2.5 % of S); with the batch-means half-width (about 2 % at 20,000 requests) allow 5 %.
    let ps = md1_threads(Scheduler::Eevdf, true, 30 * MS, 20_000);
    // CFS with 4 ms ticks and S = 1 ms: a new thread starts a slice behind (START_DEBIT), so it
    // never preempts on its wake-up, and a 1 ms request seldom meets a tick that finds it past
    // its slice: first come, first served, W = S + rho S / (2 (1 - rho)) = 1 + 0.7 / 0.6 =
    // 2.1667 ms (Pollaczek-Khinchine). The cooperative FCFS check above allows 3 %; so here.
    let cfs = md1_threads(Scheduler::Cfs, false, MS, 200_000);
    // EEVDF with 4 ms ticks and S = 1 ms is *not* FCFS: a woken thread placed at the average
    // vruntime with an earlier deadline preempts the running request as soon as that one is
    // past its protected span (0.375 ms for a new thread), ticks or not, so the requests
    // present share the core and the mean is near PS, S / (1 - rho) = 3.333 ms. The issue
    // expected FCFS (2.167 ms) from the tick alone; wake-up preemption undoes it. Allow 5 %
    // around PS (the sharing is by slices of 0.375 to 0.75 ms, not infinitesimal).
    let tick = md1_threads(Scheduler::Eevdf, false, MS, 200_000);
    eprintln!(
        "EEVDF hrtick S=30ms {:.3} ms (PS 100); CFS tick S=1ms {:.4} ms (FCFS 2.1667); EEVDF tick S=1ms {:.4} ms (PS 3.3333)",
        ps.latency_ms.mean, cfs.latency_ms.mean, tick.latency_ms.mean
    );
    close(
        "EEVDF + HRTICK M/D/1 mean (ms)",
        ps.latency_ms.mean,
        100.0,
        0.05,
    );
    close(
        "CFS, 4 ms tick, M/D/1 mean (ms)",
        cfs.latency_ms.mean,
        1.0 + 0.7 / 0.6,
        0.03,
    );
    close(
        "EEVDF, 4 ms tick, M/D/1 mean (ms)",
        tick.latency_ms.mean,
        1.0 / 0.3,
        0.05,
    );
    assert_little(&ps, 0.03);
    assert_little(&cfs, 0.02);
}
