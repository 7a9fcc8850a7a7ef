//! Zero switch costs, long runs, warm-up removed: the simulator must agree with closed-form
//! queueing results.

use sim::dist::Dist;
use sim::simulate;

use crate::{close, cooperative, cpu, open};

#[test]
fn mm1_mean_response_is_s_over_one_minus_rho() {
    // S = 1 ms, rho = 0.5: W = S / (1 - rho) = 2 ms.
    let cfg = open(
        500.0,
        200_000,
        1,
        vec![cpu(Dist::Exp { mean: 1_000_000 })],
        cooperative(1),
    );
    let r = simulate(&cfg).unwrap();
    eprintln!("{r:#?}");
    close("M/M/1 mean (ms)", r.latency_ms.mean, 2.0, 0.03);
}
