//! Runs a binary as a user would, under an address-space limit (RLIMIT_AS, set in the child
//! before exec) and a wall-clock timeout, and reports how it ended.
//!
//! Shared by the flag fuzzers of `calibrate`, `reports` and `testbed` (their tests include this
//! file by path), so every binary is held to the same bounds.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space a run may use: generous for any scenario a test runs, far below what a
/// per-replication allocation or reading `/dev/zero` would take.
pub const MEMORY_LIMIT: u64 = 2 << 30;

/// How one run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; None when a signal ended it (or the timeout killed it).
    pub code: Option<i32>,
    /// The terminating signal, if any.
    pub signal: Option<i32>,
    /// Whether the timeout killed it.
    pub timed_out: bool,
    /// Wall time.
    pub elapsed: Duration,
    /// Peak resident memory of the child, bytes (from wait4's rusage).
    pub max_rss_bytes: u64,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Standard error's raw bytes (to look for raw control characters).
    pub stderr_bytes: Vec<u8>,
}

impl Outcome {
    /// What no run may do, whatever its arguments: be killed (by a signal or the timeout),
    /// panic, exit with a code other than 0, 1 or 2, fail without a message, take longer than
    /// `time` or more resident memory than `rss`.
    pub fn problems(&self, time: Duration, rss: u64) -> Vec<String> {
        let mut problems = Vec::new();
        if self.timed_out {
            problems.push("timed out".to_string());
        } else if let Some(signal) = self.signal {
            problems.push(format!("killed by signal {signal}"));
        }
        if self.stderr.contains("panicked at") || self.code == Some(101) {
            problems.push("panicked".to_string());
        }
        if let Some(code) = self.code.filter(|c| !(0..=2).contains(c)) {
            problems.push(format!("exit code {code}"));
        }
        if self.code.is_some_and(|c| c != 0) && self.stderr.trim().is_empty() {
            problems.push("failed with an empty stderr".to_string());
        }
        if self.elapsed > time {
            problems.push(format!("took {:?}", self.elapsed));
        }
        if self.max_rss_bytes > rss {
            problems.push(format!("peak RSS {} MiB", self.max_rss_bytes >> 20));
        }
        problems
    }

    /// A one-line summary for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "code {:?} signal {:?} timed_out {} in {:?}, rss {} MiB\nstderr: {}",
            self.code,
            self.signal,
            self.timed_out,
            self.elapsed,
            self.max_rss_bytes >> 20,
            cut(&self.stderr, 2000)
        )
    }
}

fn cut(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Runs `program` with `args` in `dir`, killing it after `timeout`.
pub fn run_limited(program: &Path, args: &[String], dir: &Path, timeout: Duration) -> Outcome {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_LIMIT,
                rlim_max: MEMORY_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("spawning the binary under test");
    let pid = child.id() as libc::pid_t;
    // Read both pipes on their own threads so a chatty child never blocks on a full pipe; cap
    // what is kept so a runaway writer cannot exhaust the test's memory.
    let keep = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buffer = [0u8; 64 * 1024];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                if kept.len() < 8 << 20 {
                    kept.extend_from_slice(&buffer[..n]);
                }
            }
            kept
        })
    };
    let out = keep(Box::new(child.stdout.take().expect("stdout piped")));
    let err = keep(Box::new(child.stderr.take().expect("stderr piped")));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: pid is our own child; status and usage are valid for writes.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid {
            break;
        }
        if start.elapsed() > timeout && !timed_out {
            timed_out = true;
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = start.elapsed();
    drop(child);
    let stdout = out.join().unwrap_or_default();
    let stderr_bytes = err.join().unwrap_or_default();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Outcome {
        code,
        signal,
        timed_out,
        elapsed,
        max_rss_bytes: usage.ru_maxrss as u64 * 1024,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
        stderr_bytes,
    }
}
