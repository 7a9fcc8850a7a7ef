use super::*;

fn sample() -> Scheduling {
    Scheduling {
        sched_slice_ns: Some(3.97e6),
        sched_slice_p99_ns: Some(4.2e6),
        sched_involuntary_switches_per_s: Some(252.0),
        wakeup_latency_busy_ns: Some(vec![(0, 30e3, 80e3), (1, 40e3, 4e6)]),
        gil_io_latency_ns: Some(vec![(5_000_000, true, 5.1e6, 9e6)]),
        gil_python_version: Some("3.11.7".into()),
        idle_wakeup_cpu_ns: Some(-3.0),
        idle_exit_latency_ns: Some(25e3),
        spawn_thread_cpu_ns: Some(14e3),
        wakeup_cpu_ns: Some(11.5e3),
        timer_wakeup_cpu_ns: Some(7.3e3),
        timer_interrupt_cpu_ns: Some(16.2e3),
        halt_after_ns: Some(0.0),
        brief_idle_cpu_ns: Some(12e3),
        ..Scheduling::default()
    }
}

#[test]
fn json_shapes_are_lists_of_tuples() {
    let json = serde_json::to_value(sample()).unwrap();
    assert_eq!(json["sched_slice_ns"], 3.97e6);
    assert_eq!(json["wakeup_latency_busy_ns"][1][0], 1);
    assert_eq!(json["wakeup_latency_busy_ns"][1][2], 4e6);
    assert_eq!(json["gil_io_latency_ns"][0][0], 5_000_000);
    assert_eq!(json["gil_io_latency_ns"][0][1], true);
    assert_eq!(json["gil_io_latency_ns"][0].as_array().unwrap().len(), 4);
    assert_eq!(json["idle_wakeup_detail"], serde_json::Value::Null);
    assert!(json["machine"].is_object());
    assert!(json["not_measured"].is_object());
    // And back: an older file without these keys reads as all-missing.
    let back: Scheduling = serde_json::from_value(json).unwrap();
    assert_eq!(back, sample());
    let empty: Scheduling = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, Scheduling::default());
}

#[test]
fn cost_entries_keep_only_positive_durations() {
    let entries = sample().cost_entries();
    assert_eq!(entries[0].0, "idle_wakeup_cpu");
    assert_eq!(
        entries[0].1, None,
        "a negative difference is noise, not a cost"
    );
    assert_eq!(entries[1].1.as_deref(), Some("25us"));
    assert_eq!(entries[2].0, "wakeup_cpu");
    assert_eq!(entries[2].1.as_deref(), Some("11.5us"));
    assert_eq!(entries[3].0, "halt_after");
    assert_eq!(entries[3].1, None);
    assert_eq!(entries[4].0, "brief_idle_cpu");
    assert_eq!(entries[4].1.as_deref(), Some("12us"));
    assert_eq!(entries[5].0, "timer_interrupt_cpu");
    assert_eq!(entries[5].1.as_deref(), Some("16.2us"));
    assert_eq!(entries[6].1.as_deref(), Some("14us"));
}

#[test]
fn the_table_lines_name_every_figure() {
    let text = sample().render();
    assert!(text.contains("p50 3.97ms, p99 4.2ms (252 involuntary switches/s)"));
    assert!(text.contains("beside 1 hog(s): p50 40us, p99 4ms"));
    assert!(text.contains("interval 5ms, beside a CPU thread: p50 5.1ms"));
    assert!(text.contains("spawn an OS thread, CPU: 14us"));
    assert!(text.contains("woken by the network, thread CPU: 11.5us"));
    assert!(text.contains(
        "a timed sleep on a busy core, core time beyond the switches: 7.3us (16.2us per timer interrupt)"
    ));
    assert!(
        text.contains(
            "a core halts after idling 0ns; an idle spell that ends sooner costs it 12us"
        )
    );
}
