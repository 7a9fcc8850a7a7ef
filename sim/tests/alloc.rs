//! Issue 15: the engine's steady state allocates nothing. A counting global allocator sees
//! every allocation of two runs of the same M/M/4 cooperative scenario, one of 5,000 requests
//! (about 10,000 events: an arrival and a completion each) and one of 55,000 (about 110,000).
//! Set-up and the report cost the same in both, so any difference is allocation in the
//! 100,000 events the longer run adds.
//!
//! This file is its own test binary, and the allocator counts only the measuring thread's
//! allocations while a run is measured (the harness's own threads allocate when they like).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations count: only the measured run's, not the test
    /// harness's other threads'.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call forwards to the system allocator unchanged; the counter is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`; `ptr` and `layout` come from this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mm4(requests: u64) -> sim::RunConfig {
    let text = format!(
        "name = \"mm4\"\nseed = 1\n[machine]\ncores = 4\n[load]\nkind = \"open\"\nrate = 3600\n\
         requests = {requests}\n[request]\nsteps = [ {{ cpu = \"exp(1ms)\" }} ]\n\
         [[server]]\nlabel = \"4 loops\"\nmodel = \"cooperative\"\nloops = 4\nbalance = \"shared\"\n"
    );
    let scenario = sim::scenario::Scenario::parse(&text, std::path::Path::new("mm4.toml"))
        .expect("the test's scenario parses");
    let mut configs = scenario
        .run_configs(&sim::scenario::Overrides::default())
        .expect("the test's scenario has one server");
    configs.remove(0)
}

/// Allocations made by one run, configuration built beforehand.
fn allocations_of(requests: u64) -> (u64, sim::Report) {
    let config = mm4(requests);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let report = sim::simulate(&config);
    COUNTING.with(|c| c.set(false));
    let report = report.expect("the run succeeds");
    (ALLOCATIONS.load(Ordering::Relaxed) - before, report)
}

#[test]

fn the_steady_state_allocates_nothing() {
    // A first run warms lazily initialised statics, so both measured runs start alike.
    allocations_of(1_000);
    let (short, short_report) = allocations_of(5_000);
    let (long, long_report) = allocations_of(55_000);
    assert_eq!(short_report.completed, 5_000);
    assert_eq!(long_report.completed, 55_000);
    assert!(
        long <= short,
        "{short} allocations in a run of 5,000 requests, {long} in one of 55,000: \
         the 100,000 events between allocated {}",
        long - short
    );
}
