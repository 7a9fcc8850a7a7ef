use super::*;
use crate::config::{Model, Threads, Warmup};

/// The example from the issue, verbatim: it is the interface.
const EXAMPLE: &str = r#"name = "example"
description = "One line a person reads in `sim list`"
seed = 7

[machine]
cores = 4

[costs]                        # optional; defaults: the built-in reference calibration
thread_switch = "2us"
task_switch = "50ns"

[load]
kind = "open"                  # open | closed | trace | connections
rate = 3200                    # requests per second (open)
requests = 200000              # or: duration = "60s"
warmup = 20000                 # completions left out of the statistics (or a duration)
rtt = "0ms"                    # network round trip added to every request

[request]
steps = [
  { cpu = "exp(1ms)" },
  { io = "lognormal(5ms, 40ms)", pool = "db" },
  { cpu = "200us" },
]

[pools]
db = 25

[[server]]
label = "event loop"
model = "cooperative"
loops = 4
balance = "shared"

[[server]]
label = "threads"
model = "thread_per_request"
threads = 40                   # or "unbounded" (a new thread per request)
quantum = "3ms"                # default: the machine's scheduler (EEVDF)

[[server]]
label = "green threads"
model = "preemptive"
workers = 4
quantum = "10ms"
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(text, Path::new("test.toml"))
}

/// The error's line, column and message.
fn error_at(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(ScenarioError::At {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn the_issue_example_parses_into_three_configs() {
    let s = parse(EXAMPLE).unwrap();
    let configs = s.run_configs(&Overrides::default()).unwrap();
    assert_eq!(configs.len(), 3);
    let c = &configs[1];
    assert_eq!(c.seed, 7);
    assert_eq!(c.cores, 4);
    assert_eq!(c.costs.thread_switch, 2_000);
    assert_eq!(c.costs.task_switch, 50);
    // Untouched keys keep the reference calibration.
    assert_eq!(c.costs.thread_wakeup, Costs::default().thread_wakeup);
    assert_eq!(c.load.arrivals, Arrivals::Open { rate: 3200.0 });
    assert_eq!(c.load.stop, Stop::Requests(200_000));
    assert_eq!(c.load.warmup, Warmup::Requests(20_000));
    assert_eq!(c.steps.len(), 3);
    assert_eq!(c.steps[1].pool, Some(0));
    assert_eq!(c.pools[0].size, 25);
    assert_eq!(
        c.server.model,
        Model::ThreadPerRequest {
            threads: Threads::Fixed(40),
            quantum: Some(3_000_000),
            backlog: None,
            processes: 1,
            gil: false,
            gil_switch_interval: 5_000_000,
            keepalive: false,
            keepalive_requests: None,
        }
    );
    assert_eq!(c.max_events, DEFAULT_MAX_EVENTS);
}

#[test]
fn every_builtin_parses_and_matches_its_listed_description() {
    for b in builtins() {
        let s = Scenario::load(b.name).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert_eq!(s.name, b.name);
        assert_eq!(s.description, b.description, "{}", b.name);
        assert!(!s.run_configs(&Overrides::default()).unwrap().is_empty());
    }
}

#[test]
fn overrides_replace_cores_seed_requests_rate_and_filter_models() {
    let s = parse(EXAMPLE).unwrap();
    let o = Overrides {
        cores: Some(16),
        seed: Some(99),
        requests: Some(1000),
        rate: Some(500.0),
        models: vec!["PREEMPTIVE".into()],
        max_events: Some(1234),
        ..Overrides::default()
    };
    let configs = s.run_configs(&o).unwrap();
    assert_eq!(configs.len(), 1);
    let c = &configs[0];
    assert_eq!((c.cores, c.seed, c.max_events), (16, 99, 1234));
    assert_eq!(c.load.stop, Stop::Requests(1000));
    // The warm-up keeps its share of the run: 20000 of 200000 -> 100 of 1000.
    assert_eq!(c.load.warmup, Warmup::Requests(100));
    assert_eq!(c.load.arrivals, Arrivals::Open { rate: 500.0 });
    // A label selects too.
    let o = Overrides {
        models: vec!["event loop".into()],
        ..Overrides::default()
    };
    assert_eq!(s.run_configs(&o).unwrap()[0].server.label, "event loop");
    let o = Overrides {
        models: vec!["fibers".into()],
        ..Overrides::default()
    };
    assert!(matches!(s.run_configs(&o), Err(ScenarioError::Override(_))));
    // A concurrency does not fit an open loop.
    let o = Overrides {
        concurrency: Some(10),
        ..Overrides::default()
    };
    assert!(matches!(s.run_configs(&o), Err(ScenarioError::Override(_))));
}

#[test]
fn workers_and_loops_left_out_follow_the_core_count() {
    let text = EXAMPLE
        .replace("loops = 4\n", "")
        .replace("workers = 4\n", "");
    let s = parse(&text).unwrap();
    let o = Overrides {
        cores: Some(8),
        ..Overrides::default()
    };
    let configs = s.run_configs(&o).unwrap();
    assert!(matches!(
        configs[0].server.model,
        Model::Cooperative { loops: 8, .. }
    ));
    assert!(matches!(
        configs[2].server.model,
        Model::Preemptive { workers: 8, .. }
    ));
}

#[test]
fn costs_precedence_defaults_file_costs_flag_server() {
    let text = EXAMPLE.replace(
        "label = \"event loop\"\n",
        "label = \"event loop\"\ntask_switch = \"25us\"\n",
    );
    let s = parse(&text).unwrap();
    let mut costs = CostOverrides::default();
    costs.set_named("task_switch", 7).unwrap();
    costs.set_named("thread_switch", 3_000).unwrap();
    let o = Overrides {
        costs,
        ..Overrides::default()
    };
    let configs = s.run_configs(&o).unwrap();
    // The server's own key wins over --costs; --costs wins over [costs].
    assert_eq!(configs[0].costs.task_switch, 25_000);
    assert_eq!(configs[0].costs.thread_switch, 3_000);
    assert_eq!(configs[1].costs.task_switch, 7);
}

#[test]
fn machines_split_the_load_evenly() {
    let text = EXAMPLE.replace(
        "label = \"threads\"\n",
        "label = \"threads\"\nmachines = 4\ncores = 2\n",
    );
    let s = parse(&text).unwrap();
    let d = &s.deployments(&Overrides::default()).unwrap()[1];
    assert_eq!((d.machines, d.config.cores), (4, 2));
    assert_eq!(d.config.load.arrivals, Arrivals::Open { rate: 800.0 });
    assert_eq!(d.config.load.stop, Stop::Requests(50_000));
    assert_eq!(Scenario::offered(&d.config.load, 4).1, Some(3200.0));
}

#[test]
fn closed_connections_and_duration_forms() {
    let closed = EXAMPLE.replace(
        "kind = \"open\"                  # open | closed | trace | connections\nrate = 3200",
        "kind = \"closed\"\nconcurrency = 50\nthink = \"exp(10ms)\"",
    );
    let closed = closed.replace("requests = 200000", "duration = \"60s\"");
    let closed = closed.replace("warmup = 20000", "warmup = \"5s\"");
    let c = &parse(&closed)
        .unwrap()
        .run_configs(&Overrides::default())
        .unwrap()[0];
    assert!(matches!(
        c.load.arrivals,
        Arrivals::Closed {
            concurrency: 50,
            ..
        }
    ));
    assert_eq!(c.load.stop, Stop::Duration(60_000_000_000));
    assert_eq!(c.load.warmup, Warmup::Duration(5_000_000_000));
}

#[test]
fn errors_point_at_the_offending_value() {
    let (line, column, message) = error_at(&EXAMPLE.replace("cores = 4", "cores = 0"));
    assert_eq!((line, column), (6, 9));
    assert!(message.contains("at least 1"), "{message}");

    let (line, _, message) = error_at(&EXAMPLE.replace("rate = 3200", "rate = -3"));
    assert_eq!(line, 14);
    assert!(message.contains("positive"), "{message}");

    let (line, column, message) = error_at(&EXAMPLE.replace("pool = \"db\"", "pool = \"pg\""));
    assert_eq!((line, column), (22, 41));
    assert!(message.contains("[pools]"), "{message}");

    let (line, _, message) = error_at(&EXAMPLE.replace("exp(1ms)", "exp(1ms"));
    assert_eq!(line, 21);
    assert!(message.contains("malformed"), "{message}");

    // An unknown key inside a [[server]] is found on its own line.
    let (line, column, message) = error_at(&EXAMPLE.replace(
        "balance = \"shared\"",
        "balance = \"shared\"\ncolour = \"blue\"",
    ));
    assert_eq!((line, column), (34, 1));
    assert!(message.contains("unknown field `colour`"), "{message}");

    // A semantic error inside a [[server]] is found by its key.
    let (line, column, _) = error_at(&EXAMPLE.replace("workers = 4", "workers = 0"));
    assert_eq!((line, column), (44, 11));

    // A wrong type.
    let (line, _, message) = error_at(&EXAMPLE.replace("rtt = \"0ms\"", "rtt = 5"));
    assert_eq!(line, 17);
    assert!(message.contains("units"), "{message}");

    // A key that belongs to another kind of load.
    let (_, _, message) = error_at(&EXAMPLE.replace("rtt = \"0ms\"", "concurrency = 5"));
    assert!(message.contains("does not apply"), "{message}");

    // An unknown model.
    let (_, _, message) = error_at(&EXAMPLE.replace("\"preemptive\"", "\"fibers\""));
    assert!(message.contains("unknown variant"), "{message}");
}

#[test]
fn error_display_has_file_line_column_and_a_caret() {
    let err = parse(&EXAMPLE.replace("cores = 4", "cores = 0")).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("test.toml:6:9: "), "{text}");
    assert!(text.contains("6 | cores = 0"), "{text}");
    assert!(text.ends_with("|         ^"), "{text}");
}

#[test]
fn trace_rows_are_read_relative_to_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "offset\n0\n1ms\n500us\n").unwrap();
    let text = EXAMPLE
        .replace(
            "kind = \"open\"                  # open | closed | trace | connections\nrate = 3200",
            "kind = \"trace\"\nfile = \"t.csv\"",
        )
        .replace("requests = 200000", "")
        .replace("warmup = 20000", "");
    let path = dir.path().join("s.toml");
    let s = Scenario::parse(&text, &path).unwrap();
    let c = &s.run_configs(&Overrides::default()).unwrap()[0];
    let Arrivals::Trace { rows } = &c.load.arrivals else {
        panic!("not a trace");
    };
    let offsets: Vec<u64> = rows.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 500_000, 1_000_000]);
    assert_eq!(c.load.stop, Stop::Requests(3));

    std::fs::write(dir.path().join("t.csv"), "0\n1ms\nsoon\n").unwrap();
    match Scenario::parse(&text, &path) {
        Err(ScenarioError::At {
            origin,
            line,
            column,
            ..
        }) => {
            assert!(origin.ends_with("t.csv"), "{origin}");
            assert_eq!((line, column), (3, 1));
        }
        other => panic!("expected a trace error, got {other:?}"),
    }
}

#[test]
fn costs_file_reads_a_costs_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("costs.toml");
    std::fs::write(
        &path,
        "[other]\ncpu = \"x\"\n[costs]\nthread_switch = \"1.4us\"\nthread_memory = \"20KiB\"\n",
    )
    .unwrap();
    let c = CostOverrides::read_file(&path).unwrap();
    assert_eq!(c.get("thread_switch"), Some(1_400));
    assert_eq!(c.get("thread_memory"), Some(20 * 1024));
    assert_eq!(c.get("task_switch"), None);
    std::fs::write(&path, "[costs]\nthread_swtich = \"1us\"\n").unwrap();
    assert!(matches!(
        CostOverrides::read_file(&path),
        Err(ScenarioError::At { line: 2, .. })
    ));
}

/// No catch-all: an unknown cost key, in `[costs]`, a `--costs` file or a server, is an error
/// at its place that lists every known key (it used to fall through to `process_memory`).
#[test]
fn an_unknown_cost_key_is_refused_with_the_known_ones() {
    let known = |message: &str| {
        for key in crate::cost::KEYS {
            assert!(
                message.contains(key.name),
                "{} missing in {message}",
                key.name
            );
        }
    };
    let text = EXAMPLE.replace(
        "thread_switch = \"2us\"",
        "proces_memory = \"1MB\"\nthread_switch = \"2us\"",
    );
    let (line, column, message) = error_at(&text);
    assert_eq!((line, column), (9, 1), "{message}");
    assert!(
        message.contains("unknown cost key \"proces_memory\""),
        "{message}"
    );
    known(&message);

    let text = EXAMPLE.replace(
        "label = \"event loop\"\n",
        "label = \"event loop\"\nproces_memory = \"1MB\"\n",
    );
    let (_, column, message) = error_at(&text);
    assert_eq!(column, 1, "{message}");
    assert!(
        message.contains("unknown field `proces_memory`"),
        "{message}"
    );
    known(&message);

    // A cost key that exists is read in its own unit: a size is not a duration.
    let text = EXAMPLE.replace(
        "label = \"event loop\"\n",
        "label = \"event loop\"\nprocess_memory = \"5ms\"\n",
    );
    let (_, _, message) = error_at(&text);
    assert!(message.contains("size"), "{message}");
    let text = EXAMPLE.replace(
        "label = \"event loop\"\n",
        "label = \"event loop\"\nprocess_memory = \"15MB\"\n",
    );
    let configs = parse(&text)
        .unwrap()
        .run_configs(&Overrides::default())
        .unwrap();
    assert_eq!(configs[0].costs.process_memory, 15_000_000);
    assert_eq!(configs[1].costs.process_memory, 0);
}

#[test]
fn machine_kernel_keys_are_read_and_default_to_the_reference_machine() {
    use crate::machine::{Kernel, Preemption, Scheduler};
    let first = |text: &str| {
        parse(text)
            .unwrap()
            .run_configs(&Overrides::default())
            .unwrap()
    };
    assert_eq!(first(EXAMPLE)[0].kernel, Kernel::default());
    let text = EXAMPLE
        .replace(
            "cores = 4",
            "cores = 4\nhz = 1000\npreempt = \"lazy\"\nhrtick = true",
        )
        .replace("quantum = \"3ms\"                # default", "# default");
    let k = first(&text)[0].kernel;
    assert_eq!(
        (k.hz, k.preempt, k.hrtick),
        (1000, Preemption::Voluntary, true)
    );
    assert_eq!(k.scheduler, Scheduler::Eevdf);

    // A server's quantum means rr; another scheduler beside it is an error at the quantum.
    let (line, column, message) =
        error_at(&EXAMPLE.replace("cores = 4", "cores = 4\nscheduler = \"eevdf\""));
    assert_eq!((line, column), (40, 11));
    assert!(message.contains("scheduler = \"rr\""), "{message}");
    assert!(first(&EXAMPLE.replace("cores = 4", "cores = 4\nscheduler = \"rr\"")).len() == 3);
    let (_, _, message) = error_at(&text.replace("hz = 1000", "scheduler = \"rr\""));
    assert!(message.contains("fixed quantum"), "{message}");

    let (line, _, message) = error_at(&EXAMPLE.replace("cores = 4", "cores = 4\nhz = 0"));
    assert_eq!(line, 7);
    assert!(message.contains("CONFIG_HZ"), "{message}");
    let (_, _, message) = error_at(&EXAMPLE.replace("cores = 4", "cores = 4\nscheduler = \"bfs\""));
    assert!(message.contains("\"eevdf\""), "{message}");
}

#[test]
fn a_costs_file_carries_the_machine_kernel() {
    use crate::machine::{Preemption, Scheduler};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("costs.toml");
    // As `calibrate --out` writes it: unknown values are comments.
    std::fs::write(
        &path,
        "[costs]\nthread_switch = \"1.4us\"\n\n[machine]\nscheduler = \"cfs\"  # uname\nhz = 100\n# preempt: unknown here (no config)\nhrtick = false\n",
    )
    .unwrap();
    let costs = CostOverrides::read_file(&path).unwrap();
    let overrides = Overrides {
        costs,
        ..Overrides::default()
    };
    let configs = parse(EXAMPLE).unwrap().run_configs(&overrides).unwrap();
    let k = configs[0].kernel;
    assert_eq!(
        (k.scheduler, k.hz, k.preempt),
        (Scheduler::Cfs, 100, Preemption::None)
    );
    std::fs::write(&path, "[costs]\n[machine]\nhz = 250\npremept = \"none\"\n").unwrap();
    assert!(matches!(
        CostOverrides::read_file(&path),
        Err(ScenarioError::At { line: 4, .. })
    ));
}

#[test]
fn gil_switch_interval_needs_the_gil() {
    let with = |keys: &str| EXAMPLE.replace("threads = 40 ", &format!("threads = 40\n{keys}\n"));
    let configs = parse(&with("gil = true\ngil_switch_interval = \"1ms\""))
        .unwrap()
        .run_configs(&Overrides::default())
        .unwrap();
    let Model::ThreadPerRequest {
        gil_switch_interval,
        ..
    } = configs[1].server.model
    else {
        panic!("not threads");
    };
    assert_eq!(gil_switch_interval, 1_000_000);
    let (_, _, message) = error_at(&with("gil_switch_interval = \"1ms\""));
    assert!(message.contains("gil = true"), "{message}");
}

mod cache;
