//! The resident-memory fits in a process of their own: they read the whole process's VmRSS
//! against a count of units, so threads that other tests start and end in the same process
//! (100 at once for the timer measurement) would move the slope, and did (a negative tokio-task
//! slope in one run of the library's tests in 17, 2026-12-07).

#[test]
fn units_cost_positive_memory() {
    assert!(micro::memory::threads(60).unwrap().resident.bytes_per_unit > 0.0);
    assert!(micro::memory::may_coroutines(600).unwrap().bytes_per_unit > 0.0);
    assert!(micro::memory::tokio_tasks(3_000).unwrap().bytes_per_unit > 0.0);
}
