//! The grid's tests: which points it runs, and its files.

use super::*;

#[test]
fn the_default_grid_runs_tokio1_only_on_one_core() {
    let servers = default_servers(1);
    assert!(servers.contains(&ServerKind::Tokio1));
    assert!(!servers.contains(&ServerKind::Tokio));
    assert!(default_servers(2).contains(&ServerKind::Tokio));
}

#[test]
fn the_full_grid_has_every_workload_and_concurrency() {
    let p = points(
        &[ServerKind::Threads, ServerKind::Nginx],
        1,
        false,
        LoadWait::Spin,
    );
    // Three workloads at five concurrencies, less 10,000 × 1 MiB; nginx's file at five.
    assert_eq!(p.len(), 3 * 5 - 1 + 5);
    assert!(p.iter().any(|p| p.workload.working_set == 1 << 20));
    assert!(
        p.iter()
            .all(|p| { p.workload.working_set * u64::from(p.concurrency) <= MAX_GRID_WORKING_SET })
    );
    let keys: std::collections::BTreeSet<String> = p.iter().map(Point::key).collect();
    assert_eq!(keys.len(), p.len(), "keys must tell points apart");
}

/// A results file of `points` on this machine, with an empty costs table.
fn results_of(points: Vec<Outcome>) -> Results {
    Results {
        format: FORMAT,
        date: "2026-01-01".into(),
        machine: Machine::this(),
        costs: Costs {
            source: "test".into(),
            toml: "[costs]\n".into(),
        },
        overheads: Vec::new(),
        points,
    }
}

/// The options of a grid of the threads server into `out`, nothing else asked.
fn threads_grid(out: PathBuf) -> Options {
    Options {
        quick: false,
        out,
        resume: false,
        costs: None,
        servers: vec![ServerKind::Threads],
        concurrency: Vec::new(),
        cores: 1,
        load_wait: None,
        venv: PathBuf::from("/nonexistent"),
        quiet: true,
    }
}

#[test]
fn a_concurrency_no_point_has_is_refused_before_anything_runs() {
    let options = Options {
        concurrency: vec![7],
        load_wait: Some(LoadWait::Spin),
        ..threads_grid(std::env::temp_dir().join("testbed-grid-never-written.json"))
    };
    let error = run(&options).unwrap_err().to_string();
    assert!(error.contains("--concurrency [7]"), "{error}");
    assert!(!options.out.exists());
}

#[test]
fn a_resumed_grid_goes_on_as_its_points_were_loaded() {
    // A file written before `load_wait` existed has none: its load generator blocked.
    let point = points(&[ServerKind::Threads], 1, true, LoadWait::Block).remove(0);
    let mut outcome = Outcome::failed(point, &anyhow::anyhow!("x"));
    outcome.error = None;
    let mut json = serde_json::to_value(&outcome).unwrap();
    json.as_object_mut().unwrap().remove("load_wait");
    let old: Outcome = serde_json::from_value(json).unwrap();
    assert_eq!(old.point.load_wait, LoadWait::Block);
    assert!(!old.point.key().contains("wait="), "old keys stay");
    let out = std::env::temp_dir().join(format!("testbed-resume-{}.json", std::process::id()));
    let results = results_of(vec![old]);
    assert_eq!(results.load_wait(), Some(LoadWait::Block));
    results.write(&out).unwrap();
    // --resume without --load-wait: the finished point is the grid's, nothing runs.
    let options = Options {
        quick: true,
        resume: true,
        ..threads_grid(out.clone())
    };
    let resumed = run(&options).unwrap();
    assert_eq!(resumed.points.len(), 1);
    // Asked to go on with the other way, it refuses rather than mix the two in one file.
    let error = run(&Options {
        load_wait: Some(LoadWait::Spin),
        ..options
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("--load-wait block"), "{error}");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("csv"));
}

#[test]
fn results_round_trip_and_make_one_csv_row_per_point() {
    // A workload of two steps, whose text holds a comma.
    let point = points(&[ServerKind::Tokio1], 1, false, LoadWait::Spin)
        .into_iter()
        .find(|p| p.workload.steps.len() > 1)
        .unwrap();
    let results = results_of(vec![Outcome::failed(point, &anyhow::anyhow!("refused"))]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.json");
    results.write(&path).unwrap();
    assert_eq!(Results::read(&path).unwrap(), results);
    let csv = std::fs::read_to_string(dir.path().join("grid.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.contains("refused"));
    // Every row has the header's number of fields (commas inside quotes do not count).
    let fields = |line: &str| {
        let mut quoted = false;
        1 + line
            .chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .count()
    };
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(fields(lines[1]), fields(lines[0]), "{csv}");
    // New columns go last, so older files' columns keep their positions.
    assert!(
        lines[0].contains(",error,load_wait,measured_halts_per_request,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(",predicted_halts_per_request,error_percent_halts_per_request,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with(
            ",predicted_timer_interrupts_per_request,error_percent_timer_interrupts_per_request"
        ),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with(",spin,,,,,,"), "{}", lines[1]);
}
