//! Only the time-slice measurement, so `perf stat -e context-switches` can count the same
//! switches as `getrusage`: `cargo run --release -p micro --example slice -- [seconds]`.

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    match micro::slice::measure(std::time::Duration::from_secs_f64(seconds)) {
        Ok(slices) => {
            let summary = slices.summary();
            println!(
                "slices {} p50 {:?} p99 {:?}; gaps without a switch {}; involuntary/s wall {:.1}, per CPU-second {:.1}; voluntary {}; elapsed {:?}",
                slices.lengths_ns.len(),
                summary.map(|s| s.p50),
                summary.map(|s| s.p99),
                slices.foreign_gaps,
                slices.involuntary_per_s,
                slices.involuntary_per_cpu_s,
                slices.voluntary,
                slices.elapsed
            );
        }
        Err(error) => eprintln!("slice: {error}"),
    }
}
