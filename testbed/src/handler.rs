//! The request handler every in-tree server runs: the [`Workload`]'s steps in order.
//!
//! A `cpu` step is a fixed number of iterations of a unit of work, fixed once per server
//! process at start-up by timing that unit on this core (thread CPU time, so time the VM or
//! other processes take is not counted; the fastest of seven ~2 ms batches). The count stays the same under load, so anything that
//! makes an iteration slower there (cache misses after other connections evicted this one's
//! data, a switch) shows up as more CPU per request, as it would in a real server.
//!
//! The unit of work depends on the working set:
//!
//! - `working_set = 0`: one step of a serial integer hash (multiply, add, xor-shift), which
//!   touches no memory; a few cycles per iteration.
//! - `working_set > 0`: the work *is* the walk. Each connection owns a buffer of that many
//!   bytes, split into 64-byte lines linked into one random cycle (Sattolo's algorithm), so
//!   that each line's address is known only after the previous line was read and no prefetcher
//!   can run ahead. One iteration is one hop: read the line, increment its counter (a
//!   read-modify-write that dirties the line), follow its link. Calibration times hops on one
//!   buffer of the same size after walking its whole cycle once (warm: as cached as one
//!   connection alone can keep it), and a cpu step of `d` runs `d / warm hop time` hops. The
//!   walk resumes where the connection's previous step stopped, so consecutive steps and
//!   requests go round the whole cycle rather than re-reading the first lines. A step that is
//!   shorter than one lap touches only part of the buffer; a longer one laps it.
//!
//! The cpu step never yields: on `may` and tokio it holds its worker for the whole step, as a
//! real handler computing something would.

use std::hint::black_box;
use std::time::Duration;

use crate::workload::{Step, Workload};

const LINE_BYTES: u64 = 64;

/// One handler step with its calibrated size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planned {
    /// Run this many iterations of the unit of work (spin or walk).
    Cpu(u64),
    /// Wait this long without a core, on the server's own kind of sleep.
    Sleep(Duration),
}

/// What calibration found, for the log and for tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Thread CPU time of one iteration, in nanoseconds: the fastest of several timed batches,
    /// the one least disturbed by other processes (which evict the working set while they run).
    pub ns_per_iteration: f64,
    /// The median batch's time per iteration, to show how noisy the host was.
    pub median_ns_per_iteration: f64,
    /// Bytes of the walked buffer (0: the unit is the spin, not a walk).
    pub working_set_bytes: u64,
}

/// The workload's steps calibrated for this core: built once per server process.
#[derive(Debug, Clone)]
pub struct Handler {
    steps: Vec<Planned>,
    working_set_bytes: u64,
    calibration: Calibration,
}

impl Handler {
    /// Times the unit of work on the calling thread (pin it first) and sizes every cpu step.
    pub fn calibrate(workload: &Workload) -> Handler {
        let working_set_bytes = workload.working_set;
        let (ns_per_iteration, median_ns_per_iteration) = if working_set_bytes == 0 {
            time_per_iteration(spin)
        } else {
            let mut set = WorkingSet::new(working_set_bytes, 0x5eed);
            let lap = set.lines();
            set.walk(lap);
            time_per_iteration(|n| set.walk(n))
        };
        let steps = workload
            .steps
            .iter()
            .map(|step| match *step {
                Step::Cpu(d) => {
                    Planned::Cpu((d.as_nanos() as f64 / ns_per_iteration).round() as u64)
                }
                Step::Sleep(d) => Planned::Sleep(d),
            })
            .collect();
        Handler {
            steps,
            working_set_bytes,
            calibration: Calibration {
                ns_per_iteration,
                median_ns_per_iteration,
                working_set_bytes,
            },
        }
    }

    /// The calibrated steps, in order.
    pub fn steps(&self) -> &[Planned] {
        &self.steps
    }

    /// What calibration measured.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// A new connection's state: its own working set (allocated and linked now, so its pages
    /// are touched once), or none when the workload has no working set or no cpu step.
    pub fn connection(&self, seed: u64) -> Option<WorkingSet> {
        let walks = self.steps.iter().any(|s| matches!(s, Planned::Cpu(_)));
        (self.working_set_bytes > 0 && walks).then(|| WorkingSet::new(self.working_set_bytes, seed))
    }

    /// Runs one cpu step: `iterations` of the walk on `set`, or of the spin without one.
    pub fn cpu(&self, iterations: u64, set: Option<&mut WorkingSet>) {
        match set {
            Some(set) => set.walk(iterations),
            None => spin(iterations),
        }
    }

    /// Runs every step in order, sleeping with `sleep` (the server kind's own sleep).
    pub fn run(&self, mut set: Option<&mut WorkingSet>, sleep: impl Fn(Duration)) {
        for step in &self.steps {
            match *step {
                Planned::Cpu(n) => self.cpu(n, set.as_deref_mut()),
                Planned::Sleep(d) => sleep(d),
            }
        }
    }

    /// One log line: the unit, its time, and each cpu step's iteration count.
    pub fn describe(&self) -> String {
        let unit = match self.working_set_bytes {
            0 => "spin".to_string(),
            bytes => format!(
                "hop of a walk over {bytes} bytes ({} lines, warm)",
                bytes.div_ceil(LINE_BYTES)
            ),
        };
        let counts: Vec<String> = self
            .steps
            .iter()
            .filter_map(|s| match s {
                Planned::Cpu(n) => Some(n.to_string()),
                Planned::Sleep(_) => None,
            })
            .collect();
        format!(
            "calibrated cpu: one {unit} = {:.3} ns of thread CPU (median batch {:.3} ns); cpu \
             steps = [{}] iterations",
            self.calibration.ns_per_iteration,
            self.calibration.median_ns_per_iteration,
            counts.join(", ")
        )
    }
}

/// A serial integer hash: every iteration depends on the previous one, touches no memory, and
/// the result is consumed, so the compiler can neither vectorise nor drop it.
fn spin(iterations: u64) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..iterations {
        x = x
            .wrapping_mul(0x5851_f42d_4c95_7f2d)
            .wrapping_add(0x1405_7b7e_f767_814f);
        x ^= x >> 29;
    }
    black_box(x);
}

/// One 64-byte line of a working set: its link and a counter the walk increments.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Line {
    next: u32,
    count: u32,
}

/// A connection's buffer, its lines linked into one random cycle, and where the walk stands.
#[derive(Debug)]
pub struct WorkingSet {
    lines: Box<[Line]>,
    at: u32,
}

impl WorkingSet {
    /// `bytes` rounded up to whole 64-byte lines (at least one), linked by a random cyclic
    /// permutation drawn from `seed`.
    pub fn new(bytes: u64, seed: u64) -> WorkingSet {
        let n = bytes.div_ceil(LINE_BYTES).clamp(1, u32::MAX as u64) as usize;
        let mut order: Vec<u32> = (0..n as u32).collect();
        // Sattolo's algorithm: a uniformly random permutation with a single cycle, so the walk
        // visits every line before it repeats.
        let mut rng = SplitMix(seed);
        for i in (1..n).rev() {
            let j = (rng.next() % i as u64) as usize;
            order.swap(i, j);
        }
        let lines = order.iter().map(|&next| Line { next, count: 0 }).collect();
        WorkingSet { lines, at: 0 }
    }

    /// Lines in the cycle (one lap is this many hops).
    pub fn lines(&self) -> u64 {
        self.lines.len() as u64
    }

    /// `hops` steps along the cycle from where the last walk stopped.
    pub fn walk(&mut self, hops: u64) {
        let mut at = self.at as usize;
        for _ in 0..hops {
            let line = &mut self.lines[at];
            line.count = line.count.wrapping_add(1);
            at = line.next as usize;
        }
        self.at = at as u32;
    }
}

/// A tiny seeded generator for the permutation (quality is not the point, unpredictability to
/// the prefetcher is).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; this clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Grows a batch until it takes about 2 ms of thread CPU, then times seven such batches and
/// returns the fastest and the median time per iteration. Thread CPU time already leaves out
/// the time other processes ran; the fastest batch also leaves out most of the cache refills
/// they cause, which is what "working set warm" asks for.
fn time_per_iteration(mut unit: impl FnMut(u64)) -> (f64, f64) {
    const BATCH: Duration = Duration::from_millis(2);
    let mut batch: u64 = 1_000;
    loop {
        let start = thread_cpu_time();
        unit(batch);
        let took = thread_cpu_time() - start;
        if took >= BATCH || batch >= 1 << 40 {
            break;
        }
        let scale = if took.is_zero() {
            10.0
        } else {
            (BATCH.as_secs_f64() / took.as_secs_f64()).clamp(1.5, 10.0)
        };
        batch = (batch as f64 * scale) as u64;
    }
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let start = thread_cpu_time();
            unit(batch);
            (thread_cpu_time() - start).as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (
        samples[0].max(f64::MIN_POSITIVE),
        samples[samples.len() / 2].max(f64::MIN_POSITIVE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_visits_every_line_once_per_lap() {
        let mut set = WorkingSet::new(64 * 1000, 7);
        set.walk(1000);
        assert_eq!(set.at, 0, "one lap returns to the start");
        assert!(set.lines.iter().all(|l| l.count == 1));
        let tiny = WorkingSet::new(1, 1);
        assert_eq!(tiny.lines(), 1);
    }

    #[test]
    fn sizes_round_up_to_lines() {
        assert_eq!(WorkingSet::new(65, 1).lines(), 2);
        assert_eq!(std::mem::size_of::<Line>(), 64);
    }

    /// A shape check, not a timing target: one calibrated 2 ms cpu step takes 0.5x-3x its
    /// nominal thread CPU time when run right after calibration (working set warm).
    fn check_step_cpu(workload: &str, working_set: u64) {
        let mut workload: Workload = workload.parse().unwrap();
        workload.working_set = working_set;
        let handler = Handler::calibrate(&workload);
        let mut set = handler.connection(3);
        if let Some(set) = set.as_mut() {
            let lap = set.lines();
            set.walk(lap);
        }
        let start = thread_cpu_time();
        handler.run(set.as_mut(), |_| {});
        let took = thread_cpu_time() - start;
        let nominal = workload.cpu();
        let ratio = took.as_secs_f64() / nominal.as_secs_f64();
        assert!(
            (0.5..3.0).contains(&ratio),
            "{}: {took:?} of thread CPU for {nominal:?} ({ratio:.2}x)",
            handler.describe()
        );
    }

    #[test]
    fn calibrated_spin_takes_about_its_time() {
        check_step_cpu("cpu=2ms", 0);
    }

    #[test]
    fn calibrated_walk_takes_about_its_time() {
        check_step_cpu("cpu=1ms,sleep=1ms,cpu=1ms", 256 * 1024);
    }
}
