//! The sweep's parallel speed-up: the same 64-point sweep in two child processes of this bench,
//! one with `RAYON_NUM_THREADS=1` and one with `2`, alternating, timed by wall clock (the
//! speed-up a user sees) and by the child's CPU time (`getrusage(RUSAGE_CHILDREN)`), whose ratio
//! to the wall time says how many cores the child actually got: on a shared 2-vCPU VM another
//! tenant's work takes cores from the two-thread run, and no code can make that up.
//!
//! Processes, not a local rayon pool: `sim::sweep::sweep` runs its points on the global pool
//! from a thread of its own, as `sim sweep` does, so each child sets the global pool's size
//! through the environment exactly as a user would.

use std::process::Command;
use std::time::{Duration, Instant};

/// The environment variable that makes the bench binary a sweep child.
pub const CHILD: &str = "SWITCHCOST_BENCH_SWEEP_CHILD";

/// 8 core counts x 8 rates: loads from 0.04 to 0.8, every point below saturation so that no
/// point runs much longer than the others. Requests per point: `requests`.
fn scenario(requests: u64) -> String {
    format!(
        "name = \"sweep-speedup\"\nseed = 1\n[machine]\ncores = 4\n[load]\nkind = \"open\"\n\
         rate = 1000\nrequests = {requests}\nwarmup = {warmup}\n[request]\n\
         steps = [ {{ cpu = \"exp(1ms)\" }} ]\n[[server]]\nlabel = \"loops\"\n\
         model = \"cooperative\"\nbalance = \"shared\"\n",
        warmup = requests / 10
    )
}

fn grid() -> sim::sweep::Grid {
    sim::sweep::Grid {
        cores: (4..12).collect(),
        rates: (1..=8).map(|k| f64::from(k) * 400.0).collect(),
        ..sim::sweep::Grid::default()
    }
}

/// Runs in the child: the sweep once, then prints the number of points.
pub fn child(requests: u64) {
    let scenario = sim::scenario::Scenario::parse(
        &scenario(requests),
        std::path::Path::new("sweep-speedup.toml"),
    )
    .expect("the bench's sweep scenario parses");
    let rows = sim::sweep::sweep(
        &scenario,
        &grid(),
        &sim::pricing::PriceTable::talk(),
        &sim::sweep::SweepOptions::default(),
        &mut |_| {},
    )
    .expect("the bench's sweep runs");
    println!("{}", rows.len());
}

fn children_cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_CHILDREN is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One child run with `threads` rayon threads: (wall, CPU) seconds.
fn run_child(threads: u32, requests: u64) -> (f64, f64) {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let cpu_before = children_cpu_time();
    let start = Instant::now();
    let output = Command::new(exe)
        .env(CHILD, requests.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("the bench can run itself");
    let wall = start.elapsed().as_secs_f64();
    let cpu = (children_cpu_time() - cpu_before).as_secs_f64();
    assert!(
        output.status.success(),
        "sweep child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let points: usize = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the child prints its point count");
    assert_eq!(points, 64, "the sweep has 64 points");
    (wall, cpu)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Alternates the two children `rounds` times; prints each round and the median speed-up,
/// returns it with the medians of the two wall times and of the cores each child got.
pub fn speedup(smoke: bool) -> serde_json::Value {
    let (requests, rounds) = if smoke { (2_000, 1) } else { (100_000, 3) };
    let (mut one, mut two, mut speedups) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let load = load_average();
        let (w1, c1) = run_child(1, requests);
        let (w2, c2) = run_child(2, requests);
        println!(
            "engine/sweep round {}: 64 points x {requests} requests: 1 thread {w1:.2} s \
             ({:.2} cores busy), 2 threads {w2:.2} s ({:.2} cores busy), speed-up {:.2}x \
             (load average before: {load})",
            round + 1,
            c1 / w1,
            c2 / w2,
            w1 / w2
        );
        one.push((w1, c1 / w1));
        two.push((w2, c2 / w2));
        speedups.push(w1 / w2);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let speedup = median(speedups.clone());
    let cores_two = median(two.iter().map(|x| x.1).collect());
    println!(
        "engine/sweep: median speed-up from 1 to 2 rayon threads {speedup:.2}x; the 2-thread \
         child kept {cores_two:.2} cores busy (2.00 would be both cores to itself)"
    );
    serde_json::json!({
        "points": 64,
        "requests_per_point": requests,
        "rounds": rounds,
        "speedup": speedup,
        "speedups": speedups,
        "wall_s_1_thread": median(one.iter().map(|x| x.0).collect()),
        "wall_s_2_threads": median(two.iter().map(|x| x.0).collect()),
        "cores_busy_1_thread": median(one.iter().map(|x| x.1).collect()),
        "cores_busy_2_threads": cores_two,
    })
}
