//! Item 3: the engine's own check of the u64 nanosecond clock. Each configured time is refused
//! at its key past a year, but sums of them are not: one closed-loop client thinking 365 days
//! between 1,000 requests needs 1,000 years, past the clock's 584. The run must stop with a
//! run error (exit 1) that says the clock overflowed, not report saturated times.

use std::path::Path;
use std::time::Duration;

use sim::SimError;
use sim::scenario::{Overrides, Scenario};

use crate::run_sim;

fn thinking_for_centuries() -> String {
    let base = std::fs::read_to_string(crate::corpus::dir().join("base.toml")).unwrap();
    base.replace(
        "kind = \"open\"\nrate = 1000\nrequests = 10000",
        "kind = \"closed\"\nconcurrency = 1\nrequests = 1000\nthink = \"31536000s\"",
    )
}

#[test]
fn the_engine_stops_when_the_clock_would_overflow() {
    let scenario = Scenario::parse(&thinking_for_centuries(), Path::new("centuries.toml"))
        .expect("each time is within its key's limit");
    let configs = scenario.run_configs(&Overrides::default()).unwrap();
    let error = sim::simulate(&configs[0]).expect_err("1,000 years do not fit the clock");
    assert!(
        matches!(error, SimError::ClockSaturated { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("clock overflowed"), "{text}");
    // A few years short of the clock's end: the last completed think time.
    let SimError::ClockSaturated { at_seconds, .. } = error else {
        unreachable!()
    };
    assert!(at_seconds > 500.0 * 365.0 * 86_400.0, "{at_seconds}");
}

#[test]
fn clock_overflow_exits_1_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("centuries.toml"), thinking_for_centuries()).unwrap();
    let outcome = run_sim(
        &["run".into(), "centuries.toml".into(), "-q".into()],
        dir.path(),
        Duration::from_secs(30),
    );
    assert_eq!(outcome.code, Some(1), "{}", outcome.describe());
    assert!(
        outcome.stderr.contains("clock overflowed"),
        "{}",
        outcome.describe()
    );
}
