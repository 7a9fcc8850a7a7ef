//! What one load run measured, as JSON (`--json`) or a table, and the `testbed load` command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::tally::{Percentiles, Tally, percentiles, wrk_corrected};
use super::{LoadSpec, Target};
use crate::cli::LoadArgs;
use crate::error::usage;
use crate::figures::Figures;
use crate::proc::ServerUsage;

/// A point where the generator's own cores were at least this busy measured the client, not
/// the server.
pub const LOAD_BOUND_FRACTION: f64 = 0.9;

/// One run's results. The [`Figures`] keys sit at the top level of the JSON (`rps`, `p50_ms`,
/// `p90_ms`, `p99_ms`, `p999_ms`, `cpu_ms_per_request`, `context_switches_per_request`,
/// `rss_bytes`, `halts_per_request`), so a measured point reads like its prediction.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadReport {
    /// The URL loaded.
    pub url: String,
    /// Throughput, latency percentiles and the server's /proc figures per request (`null`
    /// without `--server-pid`, or without answers).
    #[serde(flatten)]
    pub figures: Figures,
    /// Largest latency, ms.
    pub max_ms: Option<f64>,
    /// Mean latency, ms.
    pub mean_ms: Option<f64>,
    /// Measured requests answered (any HTTP status; 4xx/5xx are also counted in `errors`).
    pub completed: u64,
    /// Measured requests that failed, by kind: `connect_refused`, `connect`, `reset`,
    /// `broken_pipe`, `no_local_port`, `read`, `write`, `closed_before_response`,
    /// `bad_response`, and the answered `http_4xx`, `http_5xx`.
    pub errors: BTreeMap<String, u64>,
    /// Sum of `errors`.
    pub errors_total: u64,
    /// Measured requests that got no answer in time, by kind: `connect`, `response`,
    /// `unfinished` (in flight at the hard stop), `never_sent` (open loop, still waiting for a
    /// connection at the hard stop), and `connect_ahead` (a keep-alive connection opened ahead
    /// of its first request that the server never accepted; no request is lost with it).
    pub timeouts: BTreeMap<String, u64>,
    /// Sum of `timeouts`.
    pub timeouts_total: u64,
    /// The measured window: from the end of ramp-up and warmup to the last answer, s.
    pub duration_s: f64,
    /// Connections.
    pub concurrency: u32,
    /// Open loop: the asked arrival rate, requests/s; `null` for a closed loop.
    pub rate: Option<f64>,
    /// Whether connections were reused.
    pub keepalive: bool,
    /// `--spin`: how long the generator polled without blocking before it blocked, µs (0: it
    /// always blocked, as ab and wrk do).
    pub spin_us: f64,
    /// `--load-wait`: whether the generator never blocked (`spin`) or slept for answers
    /// (`block`, after `spin_us` of polling).
    #[serde(default)]
    pub load_wait: crate::point::LoadWait,
    /// The measured requests asked for (`null`: bounded by time only).
    pub requests: Option<u64>,
    /// The measured window's time bound, s.
    pub time_bound_s: f64,
    /// Excluded from the statistics, s.
    pub warmup_s: f64,
    /// The generator's CPU (engines and /proc watcher) over the window, as a fraction of its
    /// cores.
    pub client_cpu_fraction: f64,
    /// The generator was saturated (`client_cpu_fraction` ≥ 0.9): this point measures the
    /// client, not the server.
    pub load_bound: bool,
    /// The cores the generator ran on, one engine each.
    pub load_cores: Vec<usize>,
    /// The server's cores, whose halts `halts_per_request` counts (`--server-core`).
    pub server_cores: Vec<usize>,
    /// Open loop: the 99th percentile of how late requests were sent after their intended
    /// time, ms (included in the latencies: a late send is the generator's own queue).
    pub send_lag_p99_ms: Option<f64>,
    /// Closed loop only: the same latencies after wrk 4.x's coordinated-omission correction
    /// (each sample of at least two cycles `C / rps` adds copies one cycle apart down to one
    /// cycle; see the README's cross-check), to compare with what `wrk --latency` prints.
    /// `null` for an open loop, without answers, or when the tail is too many cycles long.
    pub wrk_corrected: Option<Percentiles>,
    /// The server's /proc totals over the window (`--server-pid`).
    pub server: Option<ServerUsage>,
    /// Connections the kernel dropped from a full accept queue during the run (machine-wide
    /// `ListenOverflows`): when not 0, some connects waited for SYN or SYN-ACK retries (1 s,
    /// 3 s), which shows in the tail. Lower `--connect-rate` or raise the server's backlog.
    pub listen_overflows: Option<u64>,
}

impl LoadReport {
    pub(crate) fn new(
        spec: &LoadSpec,
        target: &Target,
        cores: &[usize],
        tally: &Tally,
        window: Duration,
        client_cpu_fraction: f64,
        watched: super::Watched,
    ) -> LoadReport {
        let super::Watched {
            server,
            halts,
            timer_interrupts,
        } = watched;
        let latency = percentiles(&tally.latency);
        let per_connection = tally.completed / u64::from(spec.concurrency.max(1));
        let per_request =
            |total: f64| (tally.completed > 0).then(|| total / tally.completed as f64);
        let figures = Figures {
            rps: (tally.completed > 0 && !window.is_zero())
                .then(|| tally.completed as f64 / window.as_secs_f64()),
            p50_ms: latency.map(|p| p.p50_ms),
            p90_ms: latency.map(|p| p.p90_ms),
            p99_ms: latency.map(|p| p.p99_ms),
            p999_ms: latency.map(|p| p.p999_ms),
            cpu_ms_per_request: server.and_then(|s| per_request(s.cpu_ms)),
            context_switches_per_request: server
                .and_then(|s| per_request((s.voluntary_switches + s.involuntary_switches) as f64)),
            rss_bytes: server.map(|s| s.rss_peak_bytes as f64),
            halts_per_request: halts.and_then(|h| per_request(h as f64)),
            timer_interrupts_per_request: timer_interrupts.and_then(|n| per_request(n as f64)),
        };
        let owned = |map: &BTreeMap<&'static str, u64>| -> BTreeMap<String, u64> {
            map.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        LoadReport {
            url: format!("http://{}{}", target.host_header, target.path),
            figures,
            max_ms: latency.map(|p| p.max_ms),
            mean_ms: latency.map(|p| p.mean_ms),
            completed: tally.completed,
            errors: owned(&tally.errors),
            errors_total: tally.errors.values().sum(),
            timeouts: owned(&tally.timeouts),
            timeouts_total: tally.timeouts.values().sum(),
            duration_s: window.as_secs_f64(),
            concurrency: spec.concurrency,
            rate: spec.rate,
            keepalive: spec.keepalive,
            spin_us: spec.spin.as_secs_f64() * 1e6,
            load_wait: if spec.busy_poll {
                crate::point::LoadWait::Spin
            } else {
                crate::point::LoadWait::Block
            },
            requests: spec.requests,
            time_bound_s: spec.time_bound().as_secs_f64(),
            warmup_s: spec.warmup.as_secs_f64(),
            client_cpu_fraction,
            load_bound: client_cpu_fraction >= LOAD_BOUND_FRACTION,
            load_cores: cores.to_vec(),
            server_cores: spec.server_cores.clone(),
            send_lag_p99_ms: spec
                .rate
                .and_then(|_| percentiles(&tally.send_lag))
                .map(|p| p.p99_ms),
            wrk_corrected: (spec.rate.is_none() && per_connection > 0)
                // wrk's cycle: the window over the answers per connection, in whole µs as wrk
                // computes it.
                .then(|| window.as_micros() as u64 / per_connection * 1_000)
                .and_then(|interval_ns| wrk_corrected(&tally.latency, interval_ns))
                .and_then(|h| percentiles(&h)),
            server,
            listen_overflows: None,
        }
    }

    /// The human-readable table `testbed load` prints without `--json`.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mode = match self.rate {
            Some(rate) => format!("open loop at {rate} requests/s (Poisson), at most"),
            None => "closed loop,".to_string(),
        };
        let ka = if self.keepalive {
            "keep-alive"
        } else {
            "a connection per request"
        };
        let spin = if self.load_wait == crate::point::LoadWait::Spin {
            ", never blocking".to_string()
        } else if self.spin_us > 0.0 {
            format!(", spinning {:.0} µs before blocking", self.spin_us)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{}: {mode} {} connections, {ka}{spin}",
            self.url, self.concurrency
        );
        let rps = self.figures.rps.map_or("-".into(), |r| format!("{r:.1}"));
        let _ = writeln!(
            out,
            "  completed   {} in {:.3} s: {rps} requests/s",
            self.completed, self.duration_s
        );
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
        let f = &self.figures;
        let _ = writeln!(
            out,
            "  latency ms  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {}",
            ms(f.p50_ms),
            ms(f.p90_ms),
            ms(f.p99_ms),
            ms(f.p999_ms),
            ms(self.max_ms),
            ms(self.mean_ms)
        );
        if let Some(w) = self.wrk_corrected {
            let _ = writeln!(
                out,
                "  as wrk      p50 {:.3}  p90 {:.3}  p99 {:.3}  mean {:.3} (after wrk's correction)",
                w.p50_ms, w.p90_ms, w.p99_ms, w.mean_ms
            );
        }
        if let Some(lag) = self.send_lag_p99_ms {
            let _ = writeln!(out, "  send lag    p99 {lag:.3} ms after the intended time");
        }
        let kinds = |map: &BTreeMap<String, u64>| {
            if map.is_empty() {
                "none".to_string()
            } else {
                let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
                parts.join(", ")
            }
        };
        let _ = writeln!(out, "  errors      {}", kinds(&self.errors));
        let _ = writeln!(out, "  timeouts    {}", kinds(&self.timeouts));
        if let Some(n) = self.listen_overflows.filter(|&n| n > 0) {
            let _ = writeln!(
                out,
                "  accept queue overflowed {n} times: connects waited for SYN retries; lower \
                 --connect-rate"
            );
        }
        let _ = writeln!(
            out,
            "  client CPU  {:.0} % of {} core(s) {:?}{}",
            self.client_cpu_fraction * 100.0,
            self.load_cores.len(),
            self.load_cores,
            if self.load_bound {
                "  LOAD BOUND: the generator was saturated, so this measures the client"
            } else {
                ""
            }
        );
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "  server      {} ms CPU/request, {} switches/request ({} voluntary, {} \
                 involuntary in all), peak RSS {:.1} MiB, {} processes, {} threads{}",
                ms(f.cpu_ms_per_request),
                f.context_switches_per_request
                    .map_or("-".into(), |v| format!("{v:.2}")),
                s.voluntary_switches,
                s.involuntary_switches,
                s.rss_peak_bytes as f64 / (1u64 << 20) as f64,
                s.processes_seen,
                s.threads_seen,
                if s.threads_exited > 0 {
                    format!(
                        " ({} exited: switch counts are a lower bound)",
                        s.threads_exited
                    )
                } else {
                    String::new()
                }
            );
        }
        if let Some(h) = f.halts_per_request {
            let _ = writeln!(
                out,
                "  cores       {h:.3} halts/request on {:?} (cpuidle: idle spells that reached a \
                 halting state)",
                self.server_cores
            );
        }
        if let Some(n) = f.timer_interrupts_per_request {
            let _ = writeln!(
                out,
                "  cores       {n:.3} timer interrupts/request on {:?} (/proc/interrupts LOC: \
                 the tick's and every timed wait's)",
                self.server_cores
            );
        }
        out
    }
}

/// `testbed load`: parses the flags, runs, prints.
pub fn command(args: &LoadArgs) -> anyhow::Result<()> {
    let duration = |flag: &str, text: &str| -> anyhow::Result<Duration> {
        sim::unit::parse_duration(text)
            .map(Duration::from_nanos)
            .map_err(|e| usage(format!("{flag} `{text}`: {e}; write e.g. 10s or 500ms")))
    };
    let mut spec = LoadSpec::new(args.url.clone(), args.concurrency);
    spec.rate = args.rate;
    spec.requests = args.requests;
    spec.duration = args
        .duration
        .as_deref()
        .map(|d| duration("--duration", d))
        .transpose()?;
    spec.warmup = duration("--warmup", &args.warmup)?;
    spec.timeout = duration("--timeout", &args.timeout)?;
    spec.keepalive = args.keepalive;
    spec.connect_rate = args.connect_rate;
    spec.spin = duration("--spin", &args.spin)?;
    spec.busy_poll = args.load_wait == crate::point::LoadWait::Spin;
    spec.cores = (!args.cores.is_empty()).then(|| args.cores.clone());
    spec.server_pids = args.server_pid.clone();
    spec.server_cores = args.server_core.clone();
    let report = super::run(&spec, &mut |_| {})?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
