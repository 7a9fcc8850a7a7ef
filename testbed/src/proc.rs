//! A server's resource use read from `/proc`: CPU time, context switches and peak RSS of the
//! given processes, all their threads and all their descendant processes (Apache forks
//! workers), over a measured window.
//!
//! How each figure survives threads and processes that exit during the window:
//! - CPU is the larger of two readings. `/proc/<pid>/stat`'s utime+stime include the
//!   process's exited threads, and its cutime+cstime every child it reaped, so summing own +
//!   reaped over the live tree counts every exited thread once. But this kernel samples them
//!   on the tick (tick-based accounting), and for many processes that each run a few
//!   microseconds at a time they come out low: Apache prefork's 150 children, measured here
//!   on 2026-12-01 under a 4 s keep-alive load, read 590 ms from stat against 1,033 ms of
//!   on-CPU time from `schedstat`, while a single-process tokio or pool server read the same
//!   from both (1,170 vs 1,178 ms; 1,110 vs 1,097 ms). Each thread's
//!   `/proc/<pid>/task/<tid>/schedstat` (the scheduler's own run time, in ns) is exact while
//!   the thread lives but is lost when it exits, so it is sampled like the switch counts
//!   below. Where threads exit (the thread-per-connection server), stat is the larger;
//!   where many short-running processes live on (prefork), schedstat is. Both are reported.
//! - Context switches have no cumulative field for exited threads, so each thread's
//!   `voluntary_ctxt_switches`/`nonvoluntary_ctxt_switches` are sampled often (the watcher
//!   spends at most about a tenth of its core on it) and a thread that vanishes keeps its last
//!   sampled count. Switches after a thread's last sample, and threads that live and die
//!   between two samples, are lost: the count is then a lower bound, and
//!   [`ServerUsage::threads_exited`] says how many threads were seen to exit.
//! - Peak RSS is each process's VmHWM (its high-water mark since it started), last seen,
//!   summed over the processes seen.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

/// What the server's processes used over the window.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ServerUsage {
    /// User + system CPU over the window, all threads and descendants, ms: the larger of
    /// [`ServerUsage::cpu_ms_stat`] and [`ServerUsage::cpu_ms_schedstat`] (see the module docs).
    pub cpu_ms: f64,
    /// CPU from `/proc/<pid>/stat` (tick-sampled, exited threads included), ms.
    pub cpu_ms_stat: f64,
    /// CPU from each thread's `schedstat` run time (exact, but threads that exit keep only
    /// their last sampled value), ms.
    pub cpu_ms_schedstat: f64,
    /// Voluntary context switches (blocking waits) over the window, summed over threads.
    pub voluntary_switches: u64,
    /// Involuntary context switches (preemptions) over the window, summed over threads.
    pub involuntary_switches: u64,
    /// The sum of each process's peak resident set (VmHWM), bytes.
    pub rss_peak_bytes: u64,
    /// Processes seen (the given pids and their descendants).
    pub processes_seen: usize,
    /// Threads seen over the window.
    pub threads_seen: usize,
    /// Threads seen to exit during the window; when not 0, the switch counts are a lower
    /// bound (see the module docs).
    pub threads_exited: usize,
    /// Times /proc was sampled.
    pub samples: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Switches {
    voluntary: u64,
    involuntary: u64,
    /// On-CPU time from the thread's schedstat, ns.
    runtime_ns: u64,
}

/// Watches a server's process tree over a window: [`ServerWatch::start`] at its start,
/// [`ServerWatch::sample`] as often as [`ServerWatch::due`] says, [`ServerWatch::finish`] at
/// its end.
#[derive(Debug)]
pub struct ServerWatch {
    roots: Vec<u32>,
    ticks_per_second: f64,
    cpu_ticks_at_start: u64,
    /// Per thread (keyed by tid): switches at the start of the window (0 for threads born in
    /// it) and when last seen.
    switches: HashMap<u32, (Switches, Switches)>,
    live_threads: usize,
    hwm: HashMap<u32, u64>,
    samples: u64,
    next_due: Instant,
    last_cost: Duration,
}

impl ServerWatch {
    /// Starts the window now. Fails when a pid is not a running process.
    pub fn start(roots: &[u32]) -> Result<ServerWatch, String> {
        for &pid in roots {
            if fs::metadata(format!("/proc/{pid}/stat")).is_err() {
                return Err(format!(
                    "--server-pid {pid}: no such process; give the pid of the running server"
                ));
            }
        }
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let mut watch = ServerWatch {
            roots: roots.to_vec(),
            ticks_per_second: if ticks > 0 { ticks as f64 } else { 100.0 },
            cpu_ticks_at_start: 0,
            switches: HashMap::new(),
            live_threads: 0,
            hwm: HashMap::new(),
            samples: 0,
            next_due: Instant::now(),
            last_cost: Duration::ZERO,
        };
        watch.cpu_ticks_at_start = watch.read(true);
        Ok(watch)
    }

    /// Whether a sample is due: every 25 ms, or less often when sampling is expensive (many
    /// threads), so that it takes at most about a tenth of the watcher's core.
    pub fn due(&self) -> bool {
        Instant::now() >= self.next_due
    }

    /// Reads every thread's switch counts and every process's VmHWM.
    pub fn sample(&mut self) {
        self.read(false);
    }

    /// Ends the window now.
    pub fn finish(mut self) -> ServerUsage {
        let cpu_ticks = self.read(false);
        let (mut voluntary, mut involuntary, mut runtime_ns) = (0, 0, 0);
        for (start, last) in self.switches.values() {
            voluntary += last.voluntary.saturating_sub(start.voluntary);
            involuntary += last.involuntary.saturating_sub(start.involuntary);
            runtime_ns += last.runtime_ns.saturating_sub(start.runtime_ns);
        }
        let cpu_ms_stat =
            cpu_ticks.saturating_sub(self.cpu_ticks_at_start) as f64 * 1e3 / self.ticks_per_second;
        let cpu_ms_schedstat = runtime_ns as f64 / 1e6;
        ServerUsage {
            cpu_ms: cpu_ms_stat.max(cpu_ms_schedstat),
            cpu_ms_stat,
            cpu_ms_schedstat,
            voluntary_switches: voluntary,
            involuntary_switches: involuntary,
            rss_peak_bytes: self.hwm.values().sum(),
            processes_seen: self.hwm.len(),
            threads_seen: self.switches.len(),
            threads_exited: self.switches.len().saturating_sub(self.live_threads),
            samples: self.samples,
        }
    }

    /// One pass over the tree; returns its CPU ticks (own + reaped children, summed).
    fn read(&mut self, at_start: bool) -> u64 {
        let began = Instant::now();
        let mut ticks = 0;
        let mut live_threads = 0;
        for pid in tree(&self.roots) {
            let Some(stat) = read_stat(pid) else { continue };
            ticks += stat;
            if let Some(hwm) = status_field(&format!("/proc/{pid}/status"), "VmHWM:") {
                self.hwm.insert(pid, hwm * 1024);
            }
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task
                    .file_name()
                    .to_str()
                    .and_then(|t| t.parse::<u32>().ok())
                else {
                    continue;
                };
                let path = format!("/proc/{pid}/task/{tid}/status");
                let Some(mut now) = read_switches(&path) else {
                    continue;
                };
                now.runtime_ns = read_runtime(&format!("/proc/{pid}/task/{tid}/schedstat"));
                live_threads += 1;
                let born = if at_start { now } else { Switches::default() };
                self.switches.entry(tid).or_insert((born, now)).1 = now;
            }
        }
        self.live_threads = live_threads;
        self.samples += 1;
        self.last_cost = began.elapsed();
        self.next_due = Instant::now() + (self.last_cost * 10).max(Duration::from_millis(25));
        ticks
    }
}

/// The machine's count of connections dropped because an accept queue was full
/// (`TcpExtListenOverflows` in /proc/net/netstat); `None` where it cannot be read. It counts
/// every listener on the machine, so a rise during a run on loopback is the server's own
/// queue unless something else was accepting at the time.
pub fn listen_overflows() -> Option<u64> {
    let text = fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let index = names
            .split_whitespace()
            .position(|n| n == "ListenOverflows")?;
        return values.split_whitespace().nth(index)?.parse().ok();
    }
    None
}

/// The roots and all their descendants, found through each thread's `children` file (or a
/// scan of every process's parent when the kernel lacks it).
fn tree(roots: &[u32]) -> Vec<u32> {
    let mut all: Vec<u32> = Vec::new();
    let mut todo: Vec<u32> = roots.to_vec();
    let scan = fs::metadata(format!("/proc/{}/task/{}/children", roots[0], roots[0])).is_err();
    let parents = if scan { parent_map() } else { Vec::new() };
    while let Some(pid) = todo.pop() {
        if all.contains(&pid) {
            continue;
        }
        all.push(pid);
        if scan {
            todo.extend(
                parents
                    .iter()
                    .filter(|(_, ppid)| *ppid == pid)
                    .map(|(p, _)| *p),
            );
            continue;
        }
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            if let Ok(text) = fs::read_to_string(task.path().join("children")) {
                todo.extend(
                    text.split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
    }
    all
}

/// (pid, ppid) of every process.
fn parent_map() -> Vec<(u32, u32)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let fields = stat_fields(&text)?;
            Some((pid, fields.get(1)?.parse().ok()?))
        })
        .collect()
}

/// The fields after `comm` (which may hold spaces and parentheses): index 0 is `state`
/// (field 3 of proc(5)).
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_whitespace().collect())
}

/// utime + stime + cutime + cstime of a process, in clock ticks.
fn read_stat(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&text)?;
    // proc(5) fields 14..=17 are utime, stime, cutime, cstime; index = field - 3.
    (11..=14)
        .map(|i| fields.get(i)?.parse::<i64>().ok().map(|v| v.max(0) as u64))
        .sum()
}

fn status_field(path: &str, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A thread's on-CPU time in ns, the first field of its schedstat (0 if unreadable, e.g. a
/// kernel without CONFIG_SCHED_INFO, where stat alone then counts).
fn read_runtime(path: &str) -> u64 {
    fs::read_to_string(path)
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn read_switches(path: &str) -> Option<Switches> {
    let text = fs::read_to_string(path).ok()?;
    let mut switches = Switches::default();
    let mut found = 0;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
            switches.voluntary = v.trim().parse().ok()?;
            found += 1;
        } else if let Some(v) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
            switches.involuntary = v.trim().parse().ok()?;
            found += 1;
        }
    }
    (found == 2).then_some(switches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn children_cpu() -> Duration {
        // SAFETY: getrusage writes one rusage struct that we own.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
            usage
        };
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    }

    #[test]
    fn cpu_of_children_that_exit_in_the_window_is_counted_once() {
        // A shell whose two subshells burn a bounded amount of CPU and exit (reaped by the
        // shell) inside the window: their time survives only in the shell's cutime/cstime.
        let before = children_cpu();
        let spin = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done";
        let mut child = std::process::Command::new("sh")
            .args(["-c", &format!("({spin}) & ({spin}) & wait")])
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut watch = ServerWatch::start(&[pid]).unwrap();
        // Sample until the shell has exited, without reaping it (its zombie still shows its
        // own and its children's times).
        loop {
            // SAFETY: waitid on our own child with WNOHANG|WNOWAIT leaves it unreaped.
            let exited = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    pid,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                );
                info.si_pid() != 0
            };
            if exited {
                break;
            }
            if watch.due() {
                watch.sample();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let usage = watch.finish();
        child.wait().unwrap();
        let truth = (children_cpu() - before).as_secs_f64() * 1e3;
        // Clock ticks are 10 ms; the shell's first instants fall before the window.
        assert!(
            (usage.cpu_ms - truth).abs() <= 30.0 + truth * 0.1,
            "/proc says {} ms, getrusage {truth} ms: {usage:?}",
            usage.cpu_ms
        );
        assert!(truth > 50.0, "the spinners ran {truth} ms");
        assert!(usage.threads_exited >= 2, "{usage:?}");
        assert!(usage.processes_seen >= 3, "{usage:?}");
        assert!(usage.rss_peak_bytes > 0);
        assert!(ServerWatch::start(&[u32::MAX - 7]).is_err());
    }

    #[test]
    fn a_live_threads_run_time_comes_from_schedstat() {
        // This process watches itself while one thread spins for 100 ms of its own CPU clock
        // and then waits, alive, until the window has ended.
        let watch = ServerWatch::start(&[std::process::id()]).unwrap();
        let thread_cpu = || {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime writes one timespec that we own.
            unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
            Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
        };
        let (spun, spun_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = std::sync::mpsc::channel::<()>();
        let spinner = std::thread::spawn(move || {
            let start = thread_cpu();
            while thread_cpu() - start < Duration::from_millis(100) {
                std::hint::black_box(0u64);
            }
            spun.send(()).unwrap();
            stop_rx.recv().unwrap();
        });
        spun_rx.recv().unwrap();
        let usage = watch.finish();
        stop.send(()).unwrap();
        spinner.join().unwrap();
        assert!(usage.cpu_ms_schedstat >= 95.0, "{usage:?}");
        assert!(
            usage.cpu_ms_stat >= 50.0,
            "tick-sampled, but it saw the spin: {usage:?}"
        );
        assert_eq!(usage.cpu_ms, usage.cpu_ms_stat.max(usage.cpu_ms_schedstat));
    }

    #[test]
    fn listen_overflows_are_readable_here() {
        assert!(listen_overflows().is_some());
    }

    #[test]
    fn stat_fields_survive_odd_command_names() {
        let text = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 2 1 20 0";
        let fields = stat_fields(text).unwrap();
        assert_eq!(fields[0], "S");
        assert_eq!(fields[1], "1");
        assert_eq!(&fields[11..=14], ["7", "3", "2", "1"]);
    }
}
