//! The talk's table: each cost, its ratio to an add, and how long it would feel if an add took
//! one second.

use crate::calibration::Calibration;
use crate::unit;

/// One row: a label and a time in ns, or a size in bytes.
enum Value {
    Time(Option<f64>),
    Size(Option<f64>),
}

fn rows(c: &Calibration) -> Vec<(&'static str, Value)> {
    use Value::{Size, Time};
    vec![
        ("add (dependent u64 add)", Time(c.add_ns)),
        ("task switch, may coroutine", Time(c.task_switch_may_ns)),
        ("task switch, tokio task", Time(c.task_switch_tokio_ns)),
        (
            "thread switch, same core",
            Time(c.thread_switch_same_core_ns),
        ),
        ("thread switch, unpinned", Time(c.thread_switch_unpinned_ns)),
        (
            "wake-up across cores (latency)",
            Time(c.thread_wakeup_cross_core_ns),
        ),
        (
            "spin hand-off across cores",
            Time(c.spin_handoff_cross_core_ns),
        ),
        ("spawn + join, may coroutine", Time(c.spawn_may_ns)),
        ("spawn + await, tokio task", Time(c.spawn_tokio_ns)),
        ("spawn + join, OS thread", Time(c.spawn_thread_ns)),
        ("memory per idle thread", Size(c.thread_memory_bytes)),
        (
            "memory per may coroutine",
            Size(c.may_coroutine_memory_bytes),
        ),
        ("memory per tokio task", Size(c.tokio_task_memory_bytes)),
    ]
}

/// The table as aligned text, with a heading line naming the machine.
pub fn render(c: &Calibration) -> String {
    let header = ["what", "cost", "x add", "if an add took 1 s"];
    let mut lines: Vec<[String; 4]> = vec![header.map(String::from)];
    for (label, value) in rows(c) {
        let cells = match value {
            Value::Time(Some(ns)) => {
                let (ratio, human) = match c.add_ns.filter(|add| *add > 0.0) {
                    Some(add) => (format!("{:.0}", ns / add), unit::humanize_seconds(ns / add)),
                    None => ("-".to_string(), "-".to_string()),
                };
                [label.to_string(), unit::format_duration(ns), ratio, human]
            }
            Value::Size(Some(bytes)) => [
                label.to_string(),
                unit::format_size(bytes),
                String::new(),
                String::new(),
            ],
            Value::Time(None) | Value::Size(None) => [
                label.to_string(),
                "not measured".to_string(),
                String::new(),
                String::new(),
            ],
        };
        lines.push(cells);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = format!("{} ({} cores), Linux {}\n", c.cpu_model, c.cores, c.kernel);
    for line in &lines {
        let row: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        text.push_str(row.join("  ").trim_end());
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&c.scheduling.render());
    text
}

/// Every Criterion result under `dir` as "id  mean  [lower, upper]" lines (95 % intervals of
/// the mean unless Criterion was configured otherwise), as a Markdown table.
pub fn render_intervals(dir: &std::path::Path) -> Result<String, crate::Error> {
    let mut text = String::from("| benchmark | mean | confidence interval |\n|---|---:|---|\n");
    for id in crate::calibration::criterion_ids() {
        if let Some(e) = crate::calibration::criterion_estimate(dir, id)? {
            text.push_str(&format!(
                "| `{id}` | {} | {} to {} ({:.0} %) |\n",
                unit::format_duration(e.mean_ns),
                unit::format_duration(e.lower_ns),
                unit::format_duration(e.upper_ns),
                e.confidence_level * 100.0
            ));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_humanized_times_are_relative_to_the_add() {
        let c = Calibration {
            add_ns: Some(0.5),
            thread_switch_same_core_ns: Some(5_000.0),
            thread_memory_bytes: Some(20_480.0),
            cpu_model: "Test CPU".into(),
            cores: 1,
            kernel: "6.1".into(),
            ..Calibration::default()
        };
        let text = render(&c);
        // 5 us / 0.5 ns = 10,000x: 10,000 s = 2.78 hours on the add-is-a-second scale.
        let switch = text
            .lines()
            .find(|l| l.starts_with("thread switch, same core"))
            .unwrap();
        assert!(
            switch.contains("5us") && switch.contains("10000") && switch.contains("2.78 hours")
        );
        assert!(text.contains("20KiB"));
        assert!(
            text.lines()
                .any(|l| l.starts_with("wake-up across cores") && l.contains("not measured"))
        );
    }
}
