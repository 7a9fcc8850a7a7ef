//! CPython's GIL convoy, measured with the `python3` on PATH: the latency of a thread doing
//! short blocking waits, alone and beside a CPU-bound thread, at two switch intervals.
//!
//! The script ([`SCRIPT`], `gil.py`) is embedded in the binary and pinned to one core. Each
//! operation is `time.sleep(100 µs)` (the GIL is released) and taking the GIL back. CPython
//! 3.2+ makes the returning thread wait up to the switch interval before it asks the holder to
//! drop the GIL, so beside a CPU-bound thread an operation costs about one interval, not
//! 100 µs. The sleep keeps CPython's default 50 µs timer slack: the alone figure shows it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::quantile;

/// The measuring script, run as `python3 -c SCRIPT core seconds sleep_us interval_ns...`.
pub const SCRIPT: &str = include_str!("gil.py");

/// The blocking wait of one I/O operation.
pub const SLEEP_US: u32 = 100;

/// CPython's default switch interval (5 ms) and the 1 ms the issue compares it with.
pub const INTERVALS_NS: [u64; 2] = [5_000_000, 1_000_000];

/// One (switch interval, with or without the CPU thread) case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// `sys.setswitchinterval`, ns.
    pub switch_interval_ns: u64,
    /// Whether a CPU-bound thread ran beside the I/O thread.
    pub with_cpu_thread: bool,
    /// p50 and p99 of one operation's latency, ns.
    pub summary: quantile::Summary,
}

/// Every case and the interpreter that ran them.
#[derive(Debug, Clone, PartialEq)]
pub struct Convoy {
    /// `sys.version`'s first word, e.g. 3.11.7.
    pub python: String,
    /// The cases in the order run.
    pub cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Output {
    python: String,
    cases: Vec<OutputCase>,
}

#[derive(serde::Deserialize)]
struct OutputCase {
    switch_interval_ns: u64,
    with_cpu_thread: bool,
    latencies_ns: Vec<f64>,
}

/// Parses the script's JSON line into summaries; the error says what was wrong.
pub fn parse(stdout: &str) -> Result<Convoy, String> {
    let output: Output = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("the GIL script printed something else than its JSON ({e})"))?;
    let cases = output
        .cases
        .into_iter()
        .map(|case| {
            let summary = quantile::summarize(&case.latencies_ns).ok_or_else(|| {
                format!(
                    "no operation finished at interval {} ns (cpu thread {})",
                    case.switch_interval_ns, case.with_cpu_thread
                )
            })?;
            Ok(Case {
                switch_interval_ns: case.switch_interval_ns,
                with_cpu_thread: case.with_cpu_thread,
                summary,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Convoy {
        python: output.python,
        cases,
    })
}

/// Runs the script with `python3` from PATH for about `per_case` per case (four cases), killing
/// it if it overruns. The error is the reason to print when skipped.
pub fn measure(per_case: Duration) -> Result<Convoy, String> {
    let core = crate::affinity::cores()
        .first()
        .map_or(-1, |core| core.id as i64);
    let mut args = vec![
        "-c".to_string(),
        SCRIPT.to_string(),
        core.to_string(),
        format!("{:.3}", per_case.as_secs_f64()),
        SLEEP_US.to_string(),
    ];
    args.extend(INTERVALS_NS.iter().map(u64::to_string));
    let mut child = Command::new("python3")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("python3 not runnable from PATH ({e}); install Python 3 to measure the GIL")
        })?;
    // Read both pipes while the script runs: its JSON is larger than a pipe's buffer.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // Four cases plus the interpreter's start and a generous margin for a loaded machine.
    let deadline = Instant::now() + per_case * 4 + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                // Our own child, by its handle (its pid), never by name.
                let _ = child.kill();
                let _ = child.wait();
                return Err("the GIL script overran its time and was stopped".into());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for python3 failed ({e})")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "the GIL script failed ({status}): {}",
            stderr.trim().lines().last().unwrap_or("")
        ));
    }
    parse(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_output_becomes_percentiles() {
        let text = r#"{"python": "3.11.7", "implementation": "cpython", "cases": [
            {"switch_interval_ns": 5000000, "with_cpu_thread": false, "latencies_ns": [150000, 160000, 170000]},
            {"switch_interval_ns": 5000000, "with_cpu_thread": true, "latencies_ns": [5100000, 5200000]}]}"#;
        let convoy = parse(text).unwrap();
        assert_eq!(convoy.python, "3.11.7");
        assert_eq!(convoy.cases.len(), 2);
        assert_eq!(convoy.cases[0].summary.p50, 160_000.0);
        assert!(convoy.cases[1].with_cpu_thread);
        assert_eq!(convoy.cases[1].summary.p99, 5_200_000.0);
    }

    #[test]
    fn bad_output_and_empty_cases_are_reasons() {
        assert!(parse("Traceback (most recent call last)").is_err());
        let empty = r#"{"python": "3.11.7", "cases": [
            {"switch_interval_ns": 1000000, "with_cpu_thread": true, "latencies_ns": []}]}"#;
        assert!(parse(empty).unwrap_err().contains("1000000"));
    }

    #[test]
    fn the_script_is_embedded() {
        assert!(SCRIPT.contains("setswitchinterval"));
    }
}
