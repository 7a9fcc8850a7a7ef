//! Only the kernel figures of `calibrate`, for cross-checks under `perf stat`:
//! `cargo run --release -p micro --example scheduling -- [seconds]`.

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20.0);
    let mut progress = |line: &str| eprintln!("  {line}");
    let mut notes = Vec::new();
    let figures = micro::scheduling::measure(
        std::time::Duration::from_secs_f64(seconds),
        // No same-core switch measured here: `timer_wakeup_cpu_ns` stays null with the reason;
        // its raw figures are in `timer_wakeup_detail`.
        None,
        &mut progress,
        &mut notes,
    );
    for note in notes {
        eprintln!("{note}");
    }
    match serde_json::to_string_pretty(&figures) {
        Ok(json) => println!("{json}"),
        Err(error) => eprintln!("serialising: {error}"),
    }
}
