//! `calibrate` on a tiny budget: every key present, every measured value positive, and the
//! costs file written with units.

use assert_cmd::Command;

const KEYS: [&str; 16] = [
    "add_ns",
    "thread_switch_same_core_ns",
    "thread_wakeup_cross_core_ns",
    "spin_handoff_cross_core_ns",
    "thread_switch_unpinned_ns",
    "task_switch_may_ns",
    "task_switch_tokio_ns",
    "spawn_thread_ns",
    "spawn_may_ns",
    "spawn_tokio_ns",
    "thread_memory_bytes",
    "may_coroutine_memory_bytes",
    "tokio_task_memory_bytes",
    "cpu_model",
    "cores",
    "kernel",
];

#[test]
fn json_has_every_key_and_positive_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let costs = dir.path().join("costs.toml");
    let output = Command::cargo_bin("calibrate")
        .unwrap()
        .args(["--json", "--budget", "tiny", "--out"])
        .arg(&costs)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = KEYS.to_vec();
    expected.extend(crate::kernel_figures::KEYS);
    expected.extend(micro::indirect::JSON_KEYS);
    expected.sort_unstable();
    assert_eq!(keys, expected);

    let cores = object["cores"].as_u64().unwrap();
    assert!(cores >= 1);
    assert!(!object["cpu_model"].as_str().unwrap().is_empty());
    assert!(!object["kernel"].as_str().unwrap().is_empty());
    for key in &KEYS[..13] {
        match &object[*key] {
            serde_json::Value::Number(n) => {
                let value = n.as_f64().unwrap();
                assert!(value > 0.0 && value.is_finite(), "{key} = {value}");
            }
            // Only the cross-core pair may be missing, and only on one core, with a reason.
            serde_json::Value::Null => {
                assert!(
                    key.contains("cross_core") && cores < 2,
                    "{key} is null; stderr: {stderr}"
                );
                assert!(stderr.contains("skipped"), "no reason for {key}: {stderr}");
            }
            other => panic!("{key} = {other}"),
        }
    }

    indirect_keys_are_measured_or_explained(object, &stderr);

    let text = std::fs::read_to_string(&costs).unwrap();
    assert!(text.contains("[costs]"));
    for key in [
        "thread_switch",
        "task_switch",
        "coroutine_switch",
        "thread_spawn",
        "task_spawn",
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("no {key} in {text}"));
        assert!(
            ["ns\"", "us\"", "ms\""].iter().any(|u| line.contains(u)),
            "{line}"
        );
    }
}

#[test]
fn a_bad_budget_is_refused_with_advice() {
    Command::cargo_bin("calibrate")
        .unwrap()
        .args(["--budget", "forever"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("30s"));
}

#[test]
fn a_missing_criterion_directory_exits_2() {
    Command::cargo_bin("calibrate")
        .unwrap()
        .args(["--from-criterion", "/nonexistent/criterion"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--from-criterion"));
}

#[test]
fn an_unwritable_out_exits_2_before_measuring() {
    let start = std::time::Instant::now();
    // The default budget measures for about 30 s; the check must come first.
    Command::cargo_bin("calibrate")
        .unwrap()
        .args(["--out", "/nonexistent/dir/costs.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--out"));
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("calibrate")
        .unwrap()
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is a directory"));
}

#[test]
fn help_shows_the_exit_code_table() {
    Command::cargo_bin("calibrate")
        .unwrap()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicates::str::contains("Exit codes: 0 success; 1"));
}

/// Under the tiny budget the cheap ends of the curves fit; anything `null` has a reason.
fn indirect_keys_are_measured_or_explained(
    object: &serde_json::Map<String, serde_json::Value>,
    stderr: &str,
) {
    let sizes = &object["cache_bytes"];
    for level in ["l1d", "l2", "l3"] {
        assert!(sizes[level].is_u64() || sizes[level].is_null(), "{sizes}");
    }
    for key in [
        "switch_working_set_ns",
        "switch_working_set_seq_ns",
        "switch_runnable_ns",
        "switch_runnable_64kib_ns",
        "line_latency_ns",
    ] {
        match &object[key] {
            serde_json::Value::Array(points) => {
                assert!(!points.is_empty(), "{key} is an empty list");
                for point in points {
                    let pair = point.as_array().unwrap();
                    assert_eq!(pair.len(), 2, "{key}: {point}");
                    assert!(pair[0].is_u64() && pair[1].is_f64(), "{key}: {point}");
                }
            }
            serde_json::Value::Null => assert!(
                stderr.contains(&format!("{key}/")) || stderr.contains(key),
                "{key} is null without a reason: {stderr}"
            ),
            other => panic!("{key} = {other}"),
        }
    }
    if let Some(points) = object["switch_background"].as_array() {
        for point in points {
            assert_eq!(point.as_array().unwrap().len(), 4, "{point}");
        }
    }
    for key in [
        "refill_l2_ns_per_line",
        "refill_l3_ns_per_line",
        "refill_memory_ns_per_line",
    ] {
        match &object[key] {
            serde_json::Value::Number(n) => assert!(n.as_f64().unwrap() >= 0.0, "{key}"),
            serde_json::Value::Null => assert!(
                stderr.contains(&format!("{key} not measured")),
                "{key} is null without a reason: {stderr}"
            ),
            other => panic!("{key} = {other}"),
        }
    }
}
