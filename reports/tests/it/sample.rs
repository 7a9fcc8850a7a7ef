//! Small hand-made data for every chart: plausible shapes, not measurements.

use reports::chart::connections::{ConnPoint, Connections};
use reports::chart::cores::{Cores, CoresPoint};
use reports::chart::costs::{CostKind, CostRow, Costs};
use reports::chart::cpu::{Cpu, CpuPoint};
use reports::chart::fastapi::{Curve, FastApi, PublishedP95};
use reports::chart::indirect::Indirect;
use reports::chart::pricing::{PerMillion, Price, Pricing};
use reports::chart::recipe::{Figures, Recipe, Stack};
use reports::chart::slowdown::Slowdown;
use reports::chart::switches::{SwitchRow, Switches};
use reports::chart::testbed::{Testbed, TestbedPoint};
use reports::chart::websockets::{Holder, WebSockets};
use sim::config::ModelKind;

pub fn costs() -> Costs {
    let row = |label: &str, kind, ns| CostRow {
        label: label.into(),
        kind,
        ns,
    };
    Costs {
        add_ns: 0.31,
        rows: vec![
            row("add", CostKind::Add, Some(0.31)),
            row("task switch (tokio)", CostKind::TaskSwitch, Some(62.0)),
            row("coroutine switch (may)", CostKind::TaskSwitch, Some(21.0)),
            row(
                "thread switch, same core",
                CostKind::ThreadSwitch,
                Some(1_450.0),
            ),
            row(
                "thread switch, unpinned",
                CostKind::ThreadSwitch,
                Some(2_300.0),
            ),
            row(
                "thread wake-up, cross core",
                CostKind::Wakeup,
                Some(6_100.0),
            ),
            row("spin hand-off, cross core", CostKind::Floor, None),
        ],
        source: "sample data".into(),
        indirect: Some(indirect()),
    }
}

/// Curves shaped like a 2-core VM's: flat in L1, a knee past L2 (1 MiB here).
pub fn indirect() -> Indirect {
    Indirect {
        random: vec![
            (0, 1_200.0),
            (16 << 10, 1_400.0),
            (64 << 10, 15_000.0),
            (256 << 10, 40_000.0),
            (1 << 20, 180_000.0),
            (4 << 20, 1_300_000.0),
        ],
        sequential: vec![
            (0, 1_100.0),
            (64 << 10, 6_000.0),
            (1 << 20, 60_000.0),
            (4 << 20, 300_000.0),
        ],
        runnable: vec![(2, 2_000.0), (8, 6_000.0), (64, 8_000.0)],
        runnable_64kib: vec![(2, 2_200.0), (8, 28_000.0), (64, 240_000.0)],
        l2: Some(1 << 20),
        l3: Some(32 << 20),
        limit: None,
        model_random: vec![
            (0, 1_200.0),
            (16 << 10, 3_000.0),
            (64 << 10, 10_000.0),
            (256 << 10, 140_000.0),
            (1 << 20, 2_000_000.0),
            (4 << 20, 1_200.0),
        ],
        model_runnable_64kib: vec![(2, 10_000.0), (8, 63_000.0), (64, 277_000.0)],
        model_missing: None,
        preempted: vec![4 << 20],
        source: "sample data".into(),
    }
}

pub fn slowdown() -> Slowdown {
    Slowdown {
        indirect: indirect(),
        connections: Ok(connections()),
    }
}

pub fn switches() -> Switches {
    let row = |cores, s, mean, p99| SwitchRow {
        label: "proxy + app".into(),
        cores,
        switches_per_request: s,
        mean_ms: mean,
        p99_ms: p99,
    };
    Switches {
        rows: vec![row(1, 2.01, 0.035, 0.090), row(2, 0.04, 0.022, 0.041)],
    }
}

pub fn connections() -> Connections {
    let mut points = Vec::new();
    for c in [1.0, 10.0, 100.0, 1_000.0, 10_000.0] {
        points.push(ConnPoint {
            label: "threads (Apache)".into(),
            model: ModelKind::ThreadPerRequest,
            connections: c,
            throughput_rps: 9_000.0 / (1.0 + c / 2_000.0),
            peak_memory_bytes: 8e6 + c * 19_968.0,
            switching: 0.002,
            refill: (c / 1_000.0).min(0.7),
        });
        points.push(ConnPoint {
            label: "event workers (nginx)".into(),
            model: ModelKind::Cooperative,
            connections: c,
            throughput_rps: 9_500.0,
            peak_memory_bytes: 4e6 + c * 400.0,
            switching: 0.001,
            refill: 0.02,
        });
    }
    Connections { points }
}

pub fn fastapi() -> FastApi {
    FastApi {
        curves: vec![
            Curve {
                label: "def".into(),
                model: ModelKind::ThreadPerRequest,
                percentiles: vec![
                    (50.0, 201.0),
                    (90.0, 302.0),
                    (95.0, 304.0),
                    (99.0, 305.0),
                    (99.9, 306.0),
                    (100.0, 306.0),
                ],
            },
            Curve {
                label: "async def".into(),
                model: ModelKind::Cooperative,
                percentiles: vec![
                    (50.0, 101.0),
                    (90.0, 102.0),
                    (95.0, 103.0),
                    (99.0, 104.0),
                    (99.9, 105.0),
                    (100.0, 105.0),
                ],
            },
        ],
        published: vec![
            PublishedP95 {
                label: "def".into(),
                p95_ms: 300.0,
                at_least: true,
            },
            PublishedP95 {
                label: "async def".into(),
                p95_ms: 150.0,
                at_least: false,
            },
        ],
    }
}

pub fn recipe() -> Recipe {
    let f = |rps, p95, cpu, mem| Figures {
        rps: Some(rps),
        p95_ms: Some(p95),
        cpu_percent: Some(cpu),
        memory_mb: Some(mem),
    };
    Recipe {
        stacks: vec![
            Stack {
                label: "sync Django".into(),
                published: f(58.3, 1234.0, 48.0, 276.0),
                simulated: f(61.0, 1180.0, 51.0, 250.0),
            },
            Stack {
                label: "async Starlette".into(),
                published: f(495.3, 148.0, 160.0, 143.0),
                simulated: f(470.0, 160.0, 150.0, 120.0),
            },
            Stack {
                label: "async Rust".into(),
                published: f(267.1, 242.0, 53.0, 15.0),
                simulated: f(250.0, 250.0, 40.0, 12.0),
            },
        ],
    }
}

pub fn websockets() -> WebSockets {
    let h = |label: &str, model: &str, mem, p50, p99| Holder {
        label: label.into(),
        model: ModelKind::from_name(model).unwrap(),
        connections: 100_000.0,
        peak_memory_bytes: mem,
        broadcast_p50_ms: p50,
        broadcast_p99_ms: p99,
    };
    WebSockets {
        holders: vec![
            h(
                "threads",
                "thread_per_request",
                100_000.0 * 19_968.0,
                180.0,
                420.0,
            ),
            h(
                "green threads",
                "preemptive",
                100_000.0 * 2_400.0,
                60.0,
                110.0,
            ),
            h("event loop", "cooperative", 100_000.0 * 400.0, 45.0, 90.0),
        ],
    }
}

pub fn cores() -> Cores {
    let mut points = Vec::new();
    for c in [1.0f64, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0] {
        for (workload, cap) in [("I/O-bound", 2.0), ("CPU-bound", 64.0)] {
            for (label, model, eff) in [
                ("threads", "thread_per_request", 0.9),
                ("event loops", "cooperative", 1.0),
            ] {
                let used: f64 = c.min(cap);
                points.push(CoresPoint {
                    workload: workload.into(),
                    label: label.into(),
                    model: ModelKind::from_name(model).unwrap(),
                    cores: c,
                    throughput_rps: 1_000.0 * used * eff,
                    p99_ms: 5.0 + 200.0 / c,
                });
            }
        }
    }
    Cores { points }
}

pub fn pricing() -> Pricing {
    let table = [
        (1.0, 10.0),
        (2.0, 20.0),
        (4.0, 40.0),
        (8.0, 160.0),
        (16.0, 320.0),
        (32.0, 960.0),
    ];
    Pricing {
        prices: table
            .iter()
            .map(|(c, usd)| Price {
                cores: *c,
                one_vm_usd_month: Some(*usd),
                many_vms_usd_month: Some((c / 4.0_f64).ceil() * 40.0 + 40.0),
            })
            .collect(),
        per_million: table
            .iter()
            .map(|(c, usd)| PerMillion {
                label: "event loops".into(),
                model: ModelKind::Cooperative,
                cores: *c,
                usd_per_million_requests: usd / (c * 2.6),
            })
            .collect(),
    }
}

pub fn cpu() -> Cpu {
    let mut points = Vec::new();
    for load in [0.25, 0.5, 0.75, 0.95] {
        for (label, model, s) in [
            ("threads", "thread_per_request", 0.08),
            ("green threads", "preemptive", 0.02),
            ("event loop", "cooperative", 0.005),
        ] {
            let switching: f64 = s * load;
            points.push(CpuPoint {
                label: label.into(),
                model: ModelKind::from_name(model).unwrap(),
                load,
                useful: load * 0.9,
                switching,
                idle: 1.0 - load * 0.9 - switching,
            });
        }
    }
    Cpu { points }
}

pub fn testbed() -> Testbed {
    let mut points = Vec::new();
    for (server, workload, cap) in [
        ("threads", "cpu=50us", 15_000.0),
        ("tokio:1", "cpu=50us", 18_000.0),
        ("threads", "cpu=20us,sleep=10ms", 40_000.0),
        ("nginx", "static 1 KiB file", 30_000.0),
    ] {
        for c in [1.0f64, 10.0, 100.0, 1000.0, 10_000.0] {
            let rps = (c * 9_000.0).min(cap);
            points.push(TestbedPoint {
                server: server.into(),
                workload: workload.into(),
                concurrency: c,
                measured_rps: Some(rps),
                predicted_rps: Some(rps * if c >= 1000.0 { 1.3 } else { 1.05 }),
                measured_p99_ms: Some(c / rps * 1000.0 * 3.0),
                predicted_p99_ms: Some(c / rps * 1000.0 * 1.2),
                load_bound: c == 10_000.0 && server == "nginx",
            });
        }
    }
    // A failed point has no figures; it must not break the chart.
    points.push(TestbedPoint {
        server: "nginx".into(),
        workload: "static 1 KiB file".into(),
        concurrency: 20_000.0,
        measured_rps: None,
        predicted_rps: None,
        measured_p99_ms: None,
        predicted_p99_ms: None,
        load_bound: false,
    });
    Testbed {
        machine: "test CPU, 2 cores, Linux 6.x".into(),
        date: "2026-01-01".into(),
        points,
    }
}
