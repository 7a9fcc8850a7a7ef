//! `calibrate --budget tiny --json`: the kernel figures are present with the shapes,
//! every null has a reason, and `--out` writes the `[machine]` table. Values are not checked:
//! they belong to whatever host runs the test.

use assert_cmd::Command;
use serde_json::Value;

/// The kernel figures' top-level keys.
pub const KEYS: [&str; 24] = [
    "sched_slice_ns",
    "sched_slice_p99_ns",
    "sched_involuntary_switches_per_s",
    "wakeup_latency_busy_ns",
    "gil_io_latency_ns",
    "gil_python_version",
    "idle_wakeup_cpu_ns",
    "idle_exit_latency_ns",
    "idle_exit_latency_p99_ns",
    "idle_wakeup_detail",
    "wakeup_cpu_ns",
    "wakeup_cpu_detail",
    "halt_after_ns",
    "brief_idle_cpu_ns",
    "timer_wakeup_cpu_ns",
    "timer_interrupt_cpu_ns",
    "timer_wakeup_detail",
    "spawn_thread_cpu_ns",
    "spawn_thread_cpu_detail",
    "interruptions",
    "interrupted_share",
    "work_quantum_ns",
    "machine",
    "not_measured",
];

#[test]
fn tiny_json_has_the_kernel_keys_in_their_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let costs = dir.path().join("costs.toml");
    let output = Command::cargo_bin("calibrate")
        .unwrap()
        .args(["--json", "--quiet", "--budget", "tiny", "--out"])
        .arg(&costs)
        .timeout(std::time::Duration::from_secs(90))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let reasons = json["not_measured"].as_object().unwrap();
    for key in KEYS {
        let value = json.get(key).unwrap_or_else(|| panic!("no {key}"));
        if value.is_null() {
            assert!(reasons.contains_key(key), "{key} is null without a reason");
        }
    }
    if let Some(rows) = json["wakeup_latency_busy_ns"].as_array() {
        for row in rows {
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), 3);
            assert!(row[0].is_u64() && row[1].is_number() && row[2].is_number());
        }
    }
    if let Some(gaps) = json["wakeup_cpu_detail"]["gaps"].as_array() {
        // The client's shorter pauses, in order, each a condition with one request in flight.
        let pauses: Vec<u64> = gaps.iter().map(|g| g["gap_ns"].as_u64().unwrap()).collect();
        assert_eq!(pauses, micro::loopback::SWEEP_GAPS);
        assert!(gaps.iter().all(|g| g["depth"] == 1));
    }
    let timer = &json["timer_wakeup_detail"];
    if !timer.is_null() {
        for mode in ["yielding", "sleeping"] {
            assert!(timer[mode]["core_ns"].as_f64().unwrap() > 0.0, "{timer}");
            assert!(timer[mode]["switches"].is_number(), "{timer}");
        }
    }
    if let Some(rows) = json["gil_io_latency_ns"].as_array() {
        for row in rows {
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), 4);
            assert!(row[0].is_u64() && row[1].is_boolean() && row[3].is_number());
        }
    }
    if let Some(bins) = json["interruptions"].as_array() {
        // [mean_ns, per_second] by growing length, each at least the 1 µs threshold.
        let mut last = 0.0;
        for bin in bins {
            let bin = bin.as_array().unwrap();
            assert_eq!(bin.len(), 2);
            let (ns, rate) = (bin[0].as_f64().unwrap(), bin[1].as_f64().unwrap());
            assert!(ns >= 1_000.0 && ns > last && rate > 0.0, "{bins:?}");
            last = ns;
        }
        let share = json["interrupted_share"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&share), "{share}");
    }
    if let Some(rows) = json["work_quantum_ns"].as_array() {
        // [work_ns, items, p50, p90, p99, p999]: the median item at least half its work, the
        // quantiles rising.
        for row in rows {
            let row: Vec<f64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(row.len(), 6);
            assert!(row[1] >= 1.0 && row[2] >= 0.5 * row[0], "{row:?}");
            assert!(row[2..].windows(2).all(|w| w[0] <= w[1]), "{row:?}");
        }
    }
    let machine = json["machine"].as_object().unwrap();
    for key in ["scheduler", "hz", "preempt", "hrtick"] {
        assert!(machine.contains_key(key), "machine has no {key}");
        assert!(
            machine["source"].get(key).is_some(),
            "machine.{key} has no source"
        );
    }

    let text = std::fs::read_to_string(&costs).unwrap();
    assert!(text.contains("\n[machine]\n"), "{text}");
    for key in [
        "idle_wakeup_cpu",
        "idle_exit_latency",
        "wakeup_cpu",
        "spawn_thread_cpu",
        "scheduler",
        "hz",
        "preempt",
        "hrtick",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key}:"))),
            "no {key} in {text}"
        );
    }
}
