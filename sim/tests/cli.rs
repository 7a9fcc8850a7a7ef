//! The `sim` command line, run as a user runs it: exit codes, error messages, output formats,
//! sweeps that resume and shard.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim"))
}

/// The example scenario from the issue, made small enough to run in a test.
const EXAMPLE: &str = r#"name = "example"
description = "One line a person reads in `sim list`"
seed = 7

[machine]
cores = 4

[costs]
thread_switch = "2us"
task_switch = "50ns"

[load]
kind = "open"
rate = 2000
requests = 4000
warmup = 400
rtt = "0ms"

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
threads = 40
quantum = "3ms"

[[server]]
label = "green threads"
model = "preemptive"
workers = 4
quantum = "10ms"
"#;

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn example(dir: &TempDir, from: &str, to: &str) -> PathBuf {
    assert!(EXAMPLE.contains(from), "{from}");
    write(dir, "scenario.toml", &EXAMPLE.replacen(from, to, 1))
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn run_prints_a_table_json_and_csv() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    sim()
        .args(["run", path_str(&file)])
        .assert()
        .success()
        .stdout(predicate::str::contains("green threads").and(predicate::str::contains("p99")));
    let out = sim()
        .args([
            "run",
            path_str(&file),
            "--json",
            "--cores",
            "8",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        for key in [
            "scenario",
            "label",
            "model",
            "cores",
            "seed",
            "completed",
            "dropped",
            "throughput_rps",
            "cpu_utilization",
            "switch_overhead",
            "context_switches",
            "task_switches",
            "context_switches_per_request",
            "peak_memory_bytes",
            "events",
            "wall_seconds",
            "usd_per_month",
        ] {
            assert!(run.get(key).is_some(), "missing {key} in {run}");
        }
        for key in [
            "mean",
            "mean_ci95_low",
            "mean_ci95_high",
            "p50",
            "p90",
            "p95",
            "p99",
            "p999",
            "max",
        ] {
            assert!(
                run["latency_ms"].get(key).is_some(),
                "missing latency_ms.{key}"
            );
        }
        assert_eq!(run["cores"], 8);
        assert_eq!(run["seed"], 3);
        assert!(run["completed"].as_u64().unwrap() > 0);
    }
    sim()
        .args(["run", path_str(&file), "--csv", "--model", "preemptive"])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("scenario,label,model,cores")
                .and(predicate::str::contains("green threads"))
                .and(predicate::str::contains("event loop").not()),
        );
}

#[test]
fn the_same_seed_gives_the_same_json() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    let run = || {
        let out = sim()
            .args(["run", path_str(&file), "--json", "--model", "threads"])
            .output()
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Wall time is the one field that depends on the machine.
        v[0]["wall_seconds"] = 0.into();
        v
    };
    assert_eq!(run(), run());
}

#[test]
fn bad_scenarios_exit_2_with_file_line_column_and_a_fix() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (from, to, expected position, expected words)
        (
            "loops = 4",
            "loops = 4\ncolour = 1",
            ":33:1:",
            "unknown field `colour`",
        ),
        (
            "cores = 4",
            "cores = \"four\"",
            ":6:9:",
            "cores must be a whole number between 1 and 1024",
        ),
        ("cores = 4", "cores = 0", ":6:9:", "at least 1"),
        ("rate = 2000", "rate = -5", ":14:8:", "positive"),
        (
            "pool = \"db\"",
            "pool = \"pg\"",
            ":22:41:",
            "add it under [pools]",
        ),
        ("exp(1ms)", "gamma(1ms)", ":21:11:", "unknown distribution"),
        (
            "requests = 4000",
            "requests = 4000\nduration = \"1s\"",
            ":16:12:",
            "not both",
        ),
    ];
    for (from, to, position, words) in cases {
        let dir = TempDir::new().unwrap();
        let file = example(&dir, from, to);
        sim()
            .args(["check", path_str(&file)])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains(format!("scenario.toml{position}"))
                    .and(predicate::str::contains(*words)),
            );
        // `run` reports the same before running anything.
        sim()
            .args(["run", path_str(&file)])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn a_trace_with_a_bad_row_exits_2_pointing_into_the_trace() {
    let dir = TempDir::new().unwrap();
    write(&dir, "arrivals.csv", "offset\n0\n1ms\n2ms;3ms\n");
    let file = example(
        &dir,
        "kind = \"open\"\nrate = 2000\nrequests = 4000\nwarmup = 400",
        "kind = \"trace\"\nfile = \"arrivals.csv\"",
    );
    sim()
        .args(["check", path_str(&file)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("arrivals.csv:4:1:"));
    write(&dir, "arrivals.csv", "offset\n0\n1ms\n2ms\n");
    sim().args(["run", path_str(&file)]).assert().success();
    // ab -g output is read too.
    write(
        &dir,
        "arrivals.csv",
        "starttime\tseconds\tctime\tdtime\tttime\twait\n\
         Mon Jan  1 00:00:00 2024\t1704067200\t0\t1\t1\t1\n\
         Mon Jan  1 00:00:00 2024\t1704067200\t0\t1\t1\t1\n\
         Mon Jan  1 00:00:01 2024\t1704067201\t0\t1\t1\t1\n",
    );
    sim().args(["run", path_str(&file)]).assert().success();
}

#[test]
fn runtime_failures_exit_1() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    // 4000 requests of 3 steps need at least 16,000 events: within 10x of 5000, so the run
    // starts and stops at the limit (exit 1); 10x beyond it is refused up front (exit 2).
    sim()
        .args(["run", path_str(&file), "--max-events", "5000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--max-events"));
    sim()
        .args(["run", path_str(&file), "--max-events", "1000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("10 times the event limit"));
}

#[test]
fn missing_files_and_unknown_names_exit_2() {
    sim()
        .args(["run", "no-such-scenario"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("recipe-api"));
    sim().args(["run", "nowhere/x.toml"]).assert().code(2);
    sim().args(["show", "nope"]).assert().code(2);
    sim().args(["replay", "nope"]).assert().code(2);
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    sim()
        .args(["run", path_str(&file), "--concurrency", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("closed-loop"));
    sim()
        .args(["run", path_str(&file), "--costs", "/no/costs.toml"])
        .assert()
        .code(2);
    // A value the file format accepts but the engine refuses is still the user's to fix.
    let huge = example(&dir, "workers = 4", "workers = 1000000000000");
    sim()
        .args(["check", path_str(&huge)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "workers must be a whole number between 1 and 100000",
        ));
}

#[test]
fn costs_file_changes_the_switch_cost() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    let costs = write(&dir, "costs.toml", "[costs]\nthread_switch = \"50us\"\n");
    let switching = |extra: &[&str]| {
        let mut args = vec!["run", path_str(&file), "--json", "--model", "threads"];
        args.extend_from_slice(extra);
        let out = sim().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["switch_overhead"].as_f64().unwrap()
    };
    let base = switching(&[]);
    let slow = switching(&["--costs", path_str(&costs)]);
    assert!(slow > base * 5.0, "2us: {base}, 50us: {slow}");
    let bad = write(&dir, "bad.toml", "[costs]\nthread_switch = \"fast\"\n");
    sim()
        .args(["run", path_str(&file), "--costs", path_str(&bad)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:17:"));
}

fn csv_rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            // Everything up to the wall time is deterministic; the rest is not compared.
            l.split(',').take(12).collect::<Vec<_>>().join(",")
        })
        .collect()
}

#[test]
fn sweep_appends_resumes_and_shards() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    let out = dir.path().join("all.csv");
    let grid = ["--cores", "2,4,8", "--rates", "500,1000", "--quiet"];
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", path_str(&file)];
        args.extend_from_slice(&grid);
        args.extend_from_slice(extra);
        sim().args(&args).assert().success();
    };
    sweep(&["--out", path_str(&out)]);
    let all = csv_rows(&out);
    assert_eq!(all.len(), 3 * 3 * 2);
    // A rerun finds every row already there and adds none.
    sweep(&["--out", path_str(&out)]);
    assert_eq!(csv_rows(&out), all);
    // Losing the last rows (an interrupted sweep) reruns only those.
    let text = std::fs::read_to_string(&out).unwrap();
    let kept: Vec<&str> = text.lines().take(1 + 10).collect();
    // ... and half of the next one, cut mid-write.
    let partial = &text.lines().nth(11).unwrap()[..20];
    std::fs::write(&out, kept.join("\n") + "\n" + partial).unwrap();
    sweep(&["--out", path_str(&out)]);
    let mut resumed = csv_rows(&out);
    let mut expected = all.clone();
    resumed.sort();
    expected.sort();
    assert_eq!(resumed, expected);
    // Three shards together are the whole grid, with no row twice.
    let mut union = Vec::new();
    for k in 1..=3 {
        let part = dir.path().join(format!("part-{k}.csv"));
        let shard = format!("{k}/3");
        sweep(&["--out", path_str(&part), "--shard", &shard]);
        let rows = csv_rows(&part);
        assert_eq!(rows.len(), 6, "shard {k}");
        union.extend(rows);
    }
    union.sort();
    assert_eq!(union, expected);
}

#[test]
fn sweep_marks_the_cheapest_configuration_meeting_the_slo() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    let out = sim()
        .args([
            "sweep",
            path_str(&file),
            "--cores",
            "1,2,4,8,16",
            "--models",
            "cooperative",
            "--slo",
            "p99<200ms",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let cheapest: Vec<&serde_json::Value> = rows.iter().filter(|r| r["cheapest"] == true).collect();
    assert_eq!(cheapest.len(), 1);
    let best = cheapest[0];
    assert_eq!(best["meets_slo"], true);
    assert!(best["latency_ms_p99"].as_f64().unwrap() < 200.0);
    // No cheaper row meets the objective.
    for r in rows {
        if r["usd_per_month"].as_f64() < best["usd_per_month"].as_f64() {
            assert_eq!(r["meets_slo"], false, "{r}");
        }
    }
    sim()
        .args(["sweep", path_str(&file), "--slo", "p99>200ms"])
        .assert()
        .code(2);
    sim()
        .args(["sweep", path_str(&file), "--shard", "4/3"])
        .assert()
        .code(2);
}

#[test]
fn sweep_uses_a_pricing_file() {
    let dir = TempDir::new().unwrap();
    let file = example(&dir, "", "");
    let prices = write(&dir, "prices.toml", "[pricing]\n4 = 100\n8 = 150\n");
    let out = sim()
        .args([
            "sweep",
            path_str(&file),
            "--cores",
            "4",
            "--models",
            "threads",
            "--pricing",
            path_str(&prices),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["usd_per_month"], 100.0);
    let bad = write(&dir, "bad.toml", "[pricing]\nfour = 100\n");
    sim()
        .args(["sweep", path_str(&file), "--pricing", path_str(&bad)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:"));
}

#[test]
fn list_show_and_check_the_builtins() {
    let names = [
        "talk-count-switches",
        "talk-apache-vs-nginx",
        "fastapi-sleep",
        "recipe-api",
        "websocket-100k",
        "concurrency-tests",
        "scale-up-vs-out",
    ];
    let mut list = sim().arg("list").assert().success();
    for name in names {
        list = list.stdout(predicate::str::contains(name));
    }
    let out = sim().args(["list", "--json", "--quiet"]).output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    let dir = TempDir::new().unwrap();
    for name in names {
        let out = sim().args(["show", name]).output().unwrap();
        assert!(out.status.success());
        // What `show` prints is a scenario file that checks as it is.
        let copy = write(
            &dir,
            &format!("{name}.toml"),
            &String::from_utf8(out.stdout).unwrap(),
        );
        sim()
            .args(["check", path_str(&copy)])
            .assert()
            .success()
            .stdout(predicate::str::contains("ok"));
    }
}

#[test]
fn replay_compares_published_and_simulated() {
    let out = sim()
        .args(["replay", "--json", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    let scenarios: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(scenarios.len(), 7);
    let recipe = rows.iter().find(|r| r["label"] == "django-sync").unwrap();
    assert_eq!(recipe["published"]["rps"], 58.3);
    assert!(recipe["simulated"]["throughput_rps"].as_f64().unwrap() > 0.0);
    assert!(recipe["deviation_percent"]["rps"].is_number());
    sim()
        .args(["replay", "fastapi-sleep"])
        .assert()
        .success()
        .stdout(predicate::str::contains("p95_ms").and(predicate::str::contains("%")));
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in ["run", "sweep", "replay", "list", "show", "check"] {
        sim()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn output_to_a_pipe_has_no_progress_bar() {
    // stderr is a pipe here, so nothing but errors may appear on it.
    sim()
        .args(["replay", "recipe-api"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn a_sweep_out_that_cannot_be_written_exits_2_before_any_work() {
    let dir = TempDir::new().unwrap();
    for out in [
        PathBuf::from("/proc/nonexistent/x.csv"),
        dir.path().to_path_buf(),
    ] {
        let start = std::time::Instant::now();
        sim()
            .args(["sweep", "recipe-api", "-q", "--out"])
            .arg(&out)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--out"));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{out:?}"
        );
    }
}

#[test]
fn every_help_ends_with_the_exit_code_table() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["sweep", "--help"],
        &["check", "--help"],
    ] {
        sim()
            .args(args)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Exit codes: 0 success; 1"));
    }
}
