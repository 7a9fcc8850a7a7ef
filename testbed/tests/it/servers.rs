//! Every in-tree server kind, started as a child process through `server::spawn_from`, answers
//! over loopback with keep-alive, `Connection: close`, HTTP/1.0 keep-alive, pipelining and
//! 400s; its process group is gone after the handle drops; a port in use exits 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use testbed::error::exit_code;
use testbed::kind::ServerKind;
use testbed::server::spawn_from;
use testbed::workload::Workload;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_testbed"))
}

/// One answer: status code, whether the server said it keeps the connection, the body.
fn read_answer(reader: &mut BufReader<TcpStream>) -> (u16, bool, String) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code = status.split(' ').nth(1).unwrap().parse().unwrap();
    let (mut length, mut keep) = (0, false);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "connection" => keep = value.trim().eq_ignore_ascii_case("keep-alive"),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (code, keep, String::from_utf8(body).unwrap())
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn at_eof(reader: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    matches!(reader.read_to_end(&mut rest), Ok(0))
}

fn exercise(kind: ServerKind, workload: &str, working_set: u64) {
    let mut workload: Workload = workload.parse().unwrap();
    workload.working_set = working_set;
    let (server, addr) = spawn_from(exe(), kind, &workload, 1, 0).unwrap();
    assert!(addr.ip().is_loopback());

    // HTTP/1.1 keep-alive: three requests on one connection.
    let (mut stream, mut reader) = connect(addr);
    for _ in 0..3 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(
            read_answer(&mut reader),
            (200, true, "ok\n".into()),
            "{kind}"
        );
    }
    // Pipelined: two requests in one write, the second asking to close.
    stream
        .write_all(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut reader).0, 200);
    assert_eq!(read_answer(&mut reader), (200, false, "ok\n".into()));
    assert!(at_eof(&mut reader), "{kind} closed after Connection: close");

    // HTTP/1.0 with keep-alive, as `ab -k` sends it, then plain HTTP/1.0 (closes).
    let (mut stream, mut reader) = connect(addr);
    stream
        .write_all(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut reader), (200, true, "ok\n".into()));
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert!(
        !read_answer(&mut reader).1,
        "HTTP/1.0 without keep-alive closes"
    );
    assert!(at_eof(&mut reader));

    // Garbage: 400, then the connection closes.
    let (mut stream, mut reader) = connect(addr);
    stream.write_all(b"HELLO\r\n\r\n").unwrap();
    assert_eq!(read_answer(&mut reader).0, 400);
    assert!(at_eof(&mut reader));

    // Every thread of the server (workers, runtime, timers) is pinned to core 0.
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.pid())).unwrap();
    for task in tasks {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let cores = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap();
        assert_eq!(cores.trim(), "0", "{kind}");
    }

    let group = server.pid() as libc::pid_t;
    drop(server);
    // SAFETY: signal 0 only asks whether any process of the group still exists.
    let alive = unsafe { libc::kill(-group, 0) } == 0;
    assert!(!alive, "{kind}'s process group outlived its handle");
}

#[test]
fn threads_serve() {
    exercise(ServerKind::Threads, "cpu=50us,sleep=1ms", 0);
}

#[test]
fn pool_serves() {
    // Two workers, two concurrent connections in the test at most.
    exercise(ServerKind::Pool(2), "cpu=50us", 64 * 1024);
}

#[test]
fn may_serves() {
    exercise(ServerKind::May, "sleep=1ms,cpu=20us", 0);
}

#[test]
fn tokio_current_thread_serves() {
    exercise(ServerKind::Tokio1, "cpu=50us,sleep=1ms", 64 * 1024);
}

#[test]
fn tokio_multi_thread_serves() {
    exercise(ServerKind::Tokio, "", 0);
}

#[test]
fn a_port_in_use_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = spawn_from(exe(), ServerKind::Tokio1, &Workload::default(), 1, port).unwrap_err();
    assert_eq!(exit_code(&error), 2, "{error:#}");
    assert!(format!("{error:#}").contains("in use"), "{error:#}");
    Command::new(exe())
        .args(["serve", "--server", "threads", "--port", &port.to_string()])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is in use"));
}

#[test]
fn serve_refuses_unknown_kinds_and_bad_cores() {
    // `serve --server nginx` runs nginx in the foreground now (the third-party servers); an
    // unknown kind is the usage error.
    Command::new(exe())
        .args(["serve", "--server", "apache"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("known:"));
    Command::new(exe())
        .args(["serve", "--server", "threads", "--cores", "4096"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--cores 4096"));
    let error = spawn_from(exe(), ServerKind::Nginx, &Workload::default(), 1, 0).unwrap_err();
    assert_eq!(exit_code(&error), 2);
}

#[test]
fn run_refuses_zero_requests_before_any_server_starts() {
    Command::new(exe())
        .args([
            "run",
            "--server",
            "tokio:1",
            "--requests",
            "0",
            "--cpu",
            "10us",
        ])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--requests 0"))
        .stderr(predicates::prelude::PredicateBooleanExt::not(
            predicates::str::contains("testbed serve"),
        ));
}

#[test]
fn serve_prints_its_url_first_and_stops_on_sigterm() {
    let mut child = std::process::Command::new(exe())
        .args(["serve", "--server", "tokio:1", "--cpu", "10us"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "{line:?}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("calibrated cpu"), "{stderr}");
    assert!(stderr.contains("stopping on SIGTERM"), "{stderr}");
}
