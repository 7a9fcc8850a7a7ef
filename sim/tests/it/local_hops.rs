//! W1's "count the context switches": a proxy process in front of an app server on the same
//! machine.

use sim::config::{Proxy, Threads};
use sim::dist::Dist;
use sim::simulate;

use crate::{close, closed, cpu, threads};

#[test]
fn a_proxy_hop_costs_two_switches_on_one_core_and_none_on_two() {
    // One client, "add 2 plus 2": 1 us of app CPU, 1 us of proxy CPU each way, 1 ms think.
    let run = |cores: u64| {
        let mut cfg = closed(
            1,
            20_000,
            cores,
            vec![cpu(Dist::Const(1_000))],
            threads(Threads::Fixed(1), None),
        );
        cfg.load.arrivals = sim::config::Arrivals::Closed {
            concurrency: 1,
            think: Dist::Const(1_000_000),
        };
        cfg.costs.thread_switch = 2_000;
        cfg.costs.thread_wakeup = 5_000;
        cfg.server.proxy = Some(Proxy {
            cpu: Dist::Const(1_000),
        });
        simulate(&cfg).unwrap()
    };
    let (one, two) = (run(1), run(2));
    eprintln!(
        "1 core: {:.3} switches/request, {:.1} us; 2 cores: {:.3} switches/request, {:.1} us",
        one.context_switches_per_request,
        one.latency_ms.mean * 1e3,
        two.context_switches_per_request,
        two.latency_ms.mean * 1e3
    );
    // Proxy -> app and app -> proxy, every request, exactly.
    close(
        "1 core: switches per request",
        one.context_switches_per_request,
        2.0,
        1e-3,
    );
    assert!(two.context_switches_per_request < 0.01);
    // 1 core: 3 us of CPU + 2 switches of 2 us. 2 cores: 3 us + 2 cross-core wake-ups of 5 us.
    close("1 core latency (us)", one.latency_ms.mean * 1e3, 7.0, 0.01);
    close(
        "2 cores latency (us)",
        two.latency_ms.mean * 1e3,
        13.0,
        0.01,
    );
}
