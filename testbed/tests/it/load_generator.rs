//! The load generator against a tiny std::net HTTP server in this process: counts, keep-alive
//! and not, open loop with coordinated omission corrected, and the CLI's exit codes.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use testbed::load::{LoadSpec, run};

/// A thread-per-connection HTTP/1.1 server on 127.0.0.1 that answers every request with "ok"
/// after `service`, honouring `Connection: close`. Returns its URL and its accept count. Its
/// threads end with the test process.
fn server(service: Duration) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || serve(stream, service));
        }
    });
    (url, accepted)
}

fn serve(stream: TcpStream, service: Duration) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut close = false;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line.to_ascii_lowercase().starts_with("connection: close") {
                close = true;
            }
            if line == "\r\n" {
                break;
            }
        }
        std::thread::sleep(service);
        let header = if close { "Connection: close\r\n" } else { "" };
        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{header}\r\nok");
        if writer.write_all(answer.as_bytes()).is_err() || close {
            return;
        }
    }
}

fn spec(url: &str, concurrency: u32, requests: u64) -> LoadSpec {
    let mut spec = LoadSpec::new(url, concurrency);
    spec.requests = Some(requests);
    spec.duration = Some(Duration::from_secs(20));
    spec.cores = Some(vec![0]);
    spec
}

#[test]
fn closed_loop_keepalive_completes_exactly_the_requests_asked_on_few_connections() {
    let (url, accepted) = server(Duration::ZERO);
    let report = run(&spec(&url, 4, 500), &mut |_| {}).unwrap();
    assert_eq!(report.completed, 500);
    assert_eq!(report.errors_total + report.timeouts_total, 0, "{report:?}");
    assert!(report.figures.rps.unwrap() > 0.0);
    assert!(report.figures.p50_ms.unwrap() <= report.figures.p99_ms.unwrap());
    assert_eq!(
        accepted.load(Ordering::Relaxed),
        4 + 1,
        "4 connections and the probe"
    );
    assert_eq!(report.figures.cpu_ms_per_request, None, "no --server-pid");
}

#[test]
fn kept_alive_connections_send_nothing_until_every_one_is_open() {
    // Against a thread-per-connection server, requests sent while the ramp goes on keep its
    // core busy and starve its accept thread (10,000 connections never opened on this
    // machine). No request may arrive while 10 or more of the 40 connections are still to
    // open (50 ms of ramp at 200 a second); the last few may still sit in the accept queue
    // when the client, whose handshakes are done, starts sending.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicU64::new(0));
    let early = Arc::new(AtomicU64::new(0));
    {
        let (accepted, early) = (Arc::clone(&accepted), Arc::clone(&early));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::Relaxed);
                let (accepted, early) = (Arc::clone(&accepted), Arc::clone(&early));
                std::thread::spawn(move || {
                    // The first byte of each connection's first request.
                    let mut byte = [0u8; 1];
                    if stream.peek(&mut byte).is_ok_and(|n| n == 1)
                        && accepted.load(Ordering::Relaxed) < 31
                    {
                        early.fetch_add(1, Ordering::Relaxed);
                    }
                    serve(stream, Duration::ZERO);
                });
            }
        });
    }
    let mut spec = spec(&url, 40, 400);
    spec.connect_rate = 200.0;
    let report = run(&spec, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 400);
    assert_eq!(
        early.load(Ordering::Relaxed),
        0,
        "requests arrived while the ramp still had 10 connections to open"
    );
}

#[test]
fn closed_loop_without_keepalive_opens_a_connection_per_request() {
    let (url, accepted) = server(Duration::ZERO);
    let mut spec = spec(&url, 3, 120);
    spec.keepalive = false;
    let report = run(&spec, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 120);
    assert_eq!(report.errors_total + report.timeouts_total, 0, "{report:?}");
    // Every measured request had its own connection (plus the probe).
    assert!(accepted.load(Ordering::Relaxed) > 120);
}

#[test]
fn open_loop_measures_from_the_intended_time_so_a_slow_server_shows_its_queue() {
    // One connection, 20 ms a request (50/s at most), arrivals at 100/s: the queue grows by
    // about 10 ms a request. Measured from the actual send, every request would take 20 ms.
    let (url, _) = server(Duration::from_millis(20));
    let mut slow = spec(&url, 1, 40);
    slow.rate = Some(100.0);
    let report = run(&slow, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 40);
    let p50 = report.figures.p50_ms.unwrap();
    let max = report.max_ms.unwrap();
    assert!(
        p50 > 60.0,
        "p50 {p50} ms would be ~20 ms without the correction"
    );
    assert!(
        max > 200.0,
        "max {max} ms: the last of 40 waits for ~20 before it"
    );

    // The same server, closed loop: 20 ms each.
    let closed = run(&spec(&url, 1, 20), &mut |_| {}).unwrap();
    let p50 = closed.figures.p50_ms.unwrap();
    assert!((19.0..60.0).contains(&p50), "closed-loop p50 {p50} ms");
}

#[test]
fn open_loop_keeps_its_rate_when_the_server_keeps_up() {
    let (url, _) = server(Duration::ZERO);
    let mut spec = spec(&url, 8, 400);
    spec.rate = Some(1000.0);
    let report = run(&spec, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 400);
    let rps = report.figures.rps.unwrap();
    // 400 Poisson arrivals: their span has a standard deviation of 5 %.
    assert!((750.0..1300.0).contains(&rps), "rps {rps} at 1000/s asked");
    assert!(report.send_lag_p99_ms.is_some());
}

#[test]
fn the_server_pid_gives_cpu_switches_and_rss_per_request() {
    let (url, _) = server(Duration::ZERO);
    let mut spec = spec(&url, 2, 300);
    // The server is this test process.
    spec.server_pids = vec![std::process::id()];
    let report = run(&spec, &mut |_| {}).unwrap();
    let server = report.server.unwrap();
    assert!(server.threads_seen >= 3, "{server:?}");
    assert!(report.figures.context_switches_per_request.unwrap() > 0.0);
    assert!(report.figures.rss_bytes.unwrap() > 1e6);
}

fn testbed() -> Command {
    Command::cargo_bin("testbed").unwrap()
}

#[test]
fn cli_prints_json_with_the_figures_keys() {
    let (url, _) = server(Duration::ZERO);
    let out = testbed()
        .args([
            "load",
            &url,
            "--concurrency",
            "2",
            "--requests",
            "50",
            "--json",
        ])
        .args(["--cores", "0"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for key in [
        "rps",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "cpu_ms_per_request",
        "context_switches_per_request",
        "rss_bytes",
        "errors",
        "timeouts",
        "load_bound",
        "client_cpu_fraction",
        "completed",
        "duration_s",
        "concurrency",
        "rate",
        "keepalive",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["completed"], 50);
    testbed()
        .args(["load", &url, "--concurrency", "2", "--requests", "20"])
        .args(["--cores", "0"])
        .assert()
        .success()
        .stdout(contains("requests/s").and(contains("p99")));
}

#[test]
fn cli_load_wait_spin_never_blocks_and_says_so() {
    let (url, _) = server(Duration::from_micros(200));
    let out = testbed()
        .args(["load", &url, "--keepalive", "--requests", "50", "--json"])
        .args(["--load-wait", "spin"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["load_wait"], "spin");
    assert_eq!(json["completed"], 50);
    testbed()
        .args(["load", &url, "--requests", "20", "--load-wait", "spin"])
        .assert()
        .success()
        .stdout(contains("never blocking"));
    // Spinning for a while then blocking, and never blocking, are two answers to one question.
    testbed()
        .args(["load", &url, "--load-wait", "spin", "--spin", "20us"])
        .assert()
        .code(2)
        .stderr(contains("--spin"));
}

#[test]
fn cli_refused_connection_fails_the_run_with_exit_1() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    testbed()
        .args([
            "load",
            &format!("http://127.0.0.1:{port}/"),
            "--requests",
            "5",
        ])
        .assert()
        .code(1)
        .stderr(contains("could not connect"));
}

#[test]
fn a_spinning_client_keeps_its_spin_out_of_its_cpu() {
    // Answers after 2 ms, one connection: a client that spins 1 ms before blocking spends
    // about half of each cycle polling. None of it is work, so its CPU stays far below a half
    // (the blocking client's is a few per cent here).
    let (url, _) = server(Duration::from_millis(2));
    let mut spinning = spec(&url, 1, 200);
    spinning.spin = Duration::from_millis(1);
    let report = run(&spinning, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 200);
    assert_eq!(report.spin_us, 1_000.0);
    assert!(
        report.client_cpu_fraction < 0.25,
        "client CPU {} with the spin counted out",
        report.client_cpu_fraction
    );
    spinning.spin = Duration::from_millis(2);
    assert!(run(&spinning, &mut |_| {}).is_err(), "at most 1 ms");
}

#[test]
fn a_busy_polling_client_keeps_its_polling_out_of_its_cpu() {
    // Answers after 2 ms, one connection: a client that never blocks polls for almost all of
    // each cycle. None of it is work, so its CPU stays far below the cycle (a blocking
    // client's is a few per cent here); counted in, it would be about 1.
    let (url, _) = server(Duration::from_millis(2));
    let mut polling = spec(&url, 1, 200);
    polling.busy_poll = true;
    let report = run(&polling, &mut |_| {}).unwrap();
    assert_eq!(report.completed, 200);
    assert!(
        report.client_cpu_fraction < 0.25,
        "client CPU {} with the polling counted out",
        report.client_cpu_fraction
    );
}

#[test]
fn cli_usage_errors_exit_2() {
    testbed()
        .args(["load", "http://127.0.0.1:1/", "--concurrency", "0"])
        .assert()
        .code(2)
        .stderr(contains("--concurrency"));
    testbed()
        .args(["load", "http://10.0.0.1/", "--requests", "5"])
        .assert()
        .code(2)
        .stderr(contains("loopback"));
    testbed()
        .args(["load", "http://127.0.0.1:1/", "--duration", "soon"])
        .assert()
        .code(2)
        .stderr(contains("--duration"));
    testbed()
        .args(["load", "http://127.0.0.1:1/", "--spin", "5ms"])
        .assert()
        .code(2)
        .stderr(contains("--spin"));
}
