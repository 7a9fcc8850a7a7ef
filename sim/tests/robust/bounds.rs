//! Item 6: a run ends at whichever comes first, its requests or the event limit. Far beyond the
//! limit (10 times or more by the pre-run estimate) it is refused as input to fix; below that it
//! runs, its progress moves toward the nearer bound, and the error names the bound it hit
//! without guessing at overload.

use std::path::Path;
use std::sync::Mutex;

use sim::SimError;
use sim::scenario::{Overrides, Scenario};

fn base_config(requests: u64, max_events: u64) -> sim::config::RunConfig {
    let text = std::fs::read_to_string(crate::corpus::dir().join("base.toml")).unwrap();
    let scenario = Scenario::parse(&text, Path::new("base.toml")).unwrap();
    let overrides = Overrides {
        requests: Some(requests),
        max_events: Some(max_events),
        ..Overrides::default()
    };
    scenario.run_configs(&overrides).unwrap().remove(0)
}

#[test]
fn ten_times_the_limit_by_estimate_is_refused_before_running() {
    // 2 steps: at least 3 events a request; 1,000,000 requests need 3e6 >= 10 x 200,000.
    let config = base_config(1_000_000, 200_000);
    let error = sim::validate(&config).expect_err("refused by the estimate");
    let text = error.to_string();
    assert!(matches!(error, SimError::Invalid(_)), "{text}");
    assert!(text.contains("10 times the event limit"), "{text}");
}

#[test]
fn below_the_refusal_the_run_stops_at_the_limit_and_progress_follows_it() {
    // 600,000 requests need at least 1.8e6 events, under 10 x 200,000: the run goes ahead,
    // and the event limit ends it long before its requests.
    let config = base_config(600_000, 200_000);
    let largest = Mutex::new(0.0f64);
    let error = sim::simulate_with_progress(&config, &|f| {
        let mut l = largest.lock().unwrap();
        *l = l.max(f);
    })
    .expect_err("the event limit ends it");
    let text = error.to_string();
    assert!(matches!(error, SimError::TooManyEvents { .. }), "{text}");
    assert!(text.contains("200000 events"), "{text}");
    assert!(text.contains("--max-events"), "{text}");
    assert!(!text.contains("capacity"), "{text}");
    // By requests the run was under a tenth done; by events it neared its end, which is what
    // the bar must show (it reports every 65,536 events: the last report came at 196,608).
    let largest = *largest.lock().unwrap();
    assert!(largest > 0.9, "progress reached only {largest}");
}
