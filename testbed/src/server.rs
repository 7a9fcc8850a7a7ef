//! The in-tree servers: `threads`, `pool:N`, `may`, `tokio:1` and `tokio`, all speaking HTTP/1.x
//! through [`crate::codec`] and running [`crate::handler::Handler`]'s calibrated steps, so that
//! they differ only in how connections meet cores.
//!
//! ```text
//!  127.0.0.1:PORT (backlog up to somaxconn)
//!     │ accept
//!     ├─ threads   one OS thread per connection, unbounded          sleep: thread::sleep
//!     ├─ pool:N    N threads each accept()ing and serving a connection
//!     │            until the client closes it; the rest wait queued   sleep: thread::sleep
//!     ├─ may       one coroutine per connection on one may worker per
//!     │            core; cooperative: switches only at I/O and sleep  sleep: may's timer
//!     ├─ tokio:1   one task per connection on a current-thread runtime
//!     └─ tokio     one task per connection, work-stealing over one
//!                  worker per core                                    sleep: tokio's timer
//! ```
//!
//! `may` behaves cooperatively, not preemptively: a coroutine gives its worker up only when it
//! blocks on may's I/O or sleeps, so a cpu step holds its worker to the end, like a task on
//! tokio. tokio's timer has a 1 ms resolution: a sleep step lasts at least its time, rounded up
//! to the next millisecond tick; may's and the OS's are finer.
//!
//! A server runs in its own process ([`serve`]), pinned, with its URL as the first line of
//! stdout; [`spawn`] starts one as a child of the calling program.

mod coroutine;
pub mod host;
mod pool;
mod reactor;
mod thread;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, anyhow};

use crate::codec::{self, Inbox};
use crate::error::usage;
use crate::handler::Handler;
use crate::kind::ServerKind;
use crate::process::ServerProcess;
use crate::workload::{Step, Workload};

/// Stack of each connection's thread (`threads`, `pool:N`): the handler needs little, and
/// 10,000 threads with the default 8 MiB would reserve 80 GiB of address space.
const THREAD_STACK_BYTES: usize = 256 * 1024;

/// How long [`spawn`] waits for the URL line (calibration takes well under a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs an in-tree server in the foreground until SIGINT or SIGTERM: pins the process to the
/// first `cores` cores, raises its file limit, calibrates the handler, binds 127.0.0.1:`port`
/// (0: a free port) and prints `http://127.0.0.1:PORT/` as the first line of stdout.
pub fn serve(kind: ServerKind, workload: &Workload, cores: usize, port: u16) -> anyhow::Result<()> {
    if !kind.is_in_tree() {
        return Err(usage(format!(
            "`testbed serve` runs the in-tree servers only (threads, pool:N, may, tokio:1, \
             tokio); `{kind}` is started by `testbed run` and `testbed grid`"
        )));
    }
    // Before any thread exists, so that every later thread inherits the mask and the pinning.
    host::block_stop_signals();
    host::pin_first_cores(cores)?;
    match host::raise_fd_limit() {
        Ok((soft, hard)) => {
            if let Some(advice) = host::fd_limit_advice(hard) {
                eprintln!("testbed serve: warning: {advice} (open-file limit now {soft})");
            }
        }
        Err(error) => {
            eprintln!("testbed serve: warning: could not raise the open-file limit: {error}")
        }
    }
    let handler = Arc::new(Handler::calibrate(workload));
    eprintln!(
        "testbed serve: {kind} on {cores} core(s), workload `{workload}`; {}",
        handler.describe()
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|error| {
        if error.kind() == ErrorKind::AddrInUse {
            usage(format!(
                "--port {port}: 127.0.0.1:{port} is in use; pick another port, or 0 for a free one"
            ))
        } else {
            usage(format!(
                "--port {port}: cannot listen on 127.0.0.1:{port}: {error}"
            ))
        }
    })?;
    host::deepen_backlog(&listener);
    let addr = listener.local_addr().context("reading the bound address")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "http://{addr}/")
        .and_then(|()| stdout.flush())
        .context("writing the URL to stdout")?;
    drop(stdout);
    host::stop_on_signal();
    match kind {
        ServerKind::Threads => thread::run(listener, handler),
        ServerKind::Pool(workers) => pool::run(listener, handler, workers as usize),
        ServerKind::May => coroutine::run(listener, handler, cores),
        ServerKind::Tokio1 => reactor::run(listener, handler, None),
        ServerKind::Tokio => reactor::run(listener, handler, Some(cores)),
        _ => unreachable!("third-party kinds were refused above"),
    }
}

/// A distinct seed for each connection's working-set permutation.
fn next_seed() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Whether an accept error should make the acceptor back off for a moment: out of file
/// descriptors (logged once) yes; a connection reset before it was accepted, no.
fn accept_failed(error: &std::io::Error) -> bool {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    let out_of_files = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    if out_of_files && !LOGGED.swap(true, Ordering::Relaxed) {
        let advice = host::raise_fd_limit()
            .ok()
            .and_then(|(_, hard)| host::fd_limit_advice(hard))
            .unwrap_or_default();
        eprintln!("testbed serve: out of file descriptors, refusing connections. {advice}");
    }
    out_of_files
}

/// Serves one connection on a blocking stream (std's, or may's, which blocks only its
/// coroutine) until the client closes it, asks to, or sends something unreadable.
fn serve_blocking<S: Read + Write>(mut stream: S, handler: &Handler, sleep: impl Fn(Duration)) {
    let mut inbox = Inbox::new();
    let mut set = handler.connection(next_seed());
    loop {
        match inbox.next_request() {
            Ok(Some(request)) => {
                handler.run(set.as_mut(), &sleep);
                if stream.write_all(codec::response(request)).is_err() || !request.keep_alive {
                    return;
                }
            }
            Ok(None) => match stream.read(inbox.spare()) {
                Ok(0) | Err(_) => return,
                Ok(n) => inbox.filled(n),
            },
            Err(_) => {
                let _ = stream.write_all(codec::BAD_REQUEST);
                return;
            }
        }
    }
}

/// Starts an in-tree server as a child process of this program: re-executes the running
/// `testbed` binary (`std::env::current_exe`) with `serve`, reads the URL it prints and waits
/// until it accepts connections. Dropping the [`ServerProcess`] stops its whole process group.
///
/// Errors: a third-party `kind`, bad `cores` or a `port` in use are usage errors (exit 2);
/// a server that dies or never answers is a failed run.
pub fn spawn(
    kind: ServerKind,
    workload: &Workload,
    cores: usize,
    port: u16,
) -> anyhow::Result<(ServerProcess, SocketAddr)> {
    let exe = std::env::current_exe().context("finding the running testbed binary")?;
    spawn_from(&exe, kind, workload, cores, port)
}

/// [`spawn`] with the `testbed` binary given, for callers that are not it (tests).
pub fn spawn_from(
    exe: &Path,
    kind: ServerKind,
    workload: &Workload,
    cores: usize,
    port: u16,
) -> anyhow::Result<(ServerProcess, SocketAddr)> {
    if !kind.is_in_tree() {
        return Err(usage(format!(
            "{kind} is not an in-tree server; only threads, pool:N, may, tokio:1 and tokio \
             run the configurable handler"
        )));
    }
    let mut command = Command::new(exe);
    command
        .args(["serve", "--server", &kind.to_string()])
        .args(["--cores", &cores.to_string(), "--port", &port.to_string()]);
    if !workload.steps.is_empty() {
        command.args(["--steps", &exact_steps(workload)]);
    }
    if workload.working_set > 0 {
        command.args(["--working-set", &format!("{}B", workload.working_set)]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("the {kind} server");
    let mut server = ServerProcess::spawn(command, &what)?;
    let (tail, stderr_done) = forward_stderr(&mut server);
    let stdout = server
        .take_stdout()
        .ok_or_else(|| anyhow!("{what}: no stdout pipe"))?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = sender.send(reader.read_line(&mut line).map(|_| line));
        // Keep the pipe open (and drained) for the child's lifetime.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = match receiver.recv_timeout(START_TIMEOUT) {
        Ok(Ok(line)) if !line.is_empty() => line,
        Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The child closed stdout without a URL: it is exiting; say why.
            let status = wait_for_exit(&mut server);
            let _ = stderr_done.recv_timeout(Duration::from_secs(2));
            let said = tail
                .lock()
                .map(|t| t.iter().cloned().collect::<Vec<_>>().join(" / "));
            let said = said.unwrap_or_default();
            return Err(match status.and_then(|s| s.code()) {
                Some(2) => usage(format!("{what} refused to start: {said}")),
                code => anyhow!("{what} exited before printing its URL (exit {code:?}): {said}"),
            });
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            anyhow::bail!("{what} printed no URL within {START_TIMEOUT:?}")
        }
    };
    let addr = parse_url(&line).with_context(|| format!("{what} printed `{}`", line.trim()))?;
    server.wait_ready(addr, Duration::from_secs(10))?;
    Ok((server, addr))
}

/// The steps in nanoseconds, so the child calibrates exactly what the caller asked for.
fn exact_steps(workload: &Workload) -> String {
    let steps: Vec<String> = workload
        .steps
        .iter()
        .map(|step| match step {
            Step::Cpu(d) => format!("cpu={}ns", d.as_nanos()),
            Step::Sleep(d) => format!("sleep={}ns", d.as_nanos()),
        })
        .collect();
    steps.join(",")
}

/// `http://127.0.0.1:PORT/` to its socket address.
fn parse_url(line: &str) -> anyhow::Result<SocketAddr> {
    let host_port = line
        .trim()
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .ok_or_else(|| anyhow!("not an http://HOST:PORT/ URL"))?;
    Ok(host_port.parse()?)
}

/// Copies the child's stderr to ours line by line, keeping the last few lines for an error
/// message; the receiver hears when the child closed it.
fn forward_stderr(
    server: &mut ServerProcess,
) -> (Arc<Mutex<VecDeque<String>>>, mpsc::Receiver<()>) {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let (done, finished) = mpsc::channel();
    if let Some(stderr) = server.take_stderr() {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == 3 {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
            let _ = done.send(());
        });
    }
    (tail, finished)
}

fn wait_for_exit(server: &mut ServerProcess) -> Option<std::process::ExitStatus> {
    for _ in 0..100 {
        if let Ok(Some(status)) = server.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_addresses() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/\n").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert!(parse_url("127.0.0.1:8080").is_err());
    }

    #[test]
    fn steps_pass_exactly() {
        let w: Workload = "cpu=100.5us,sleep=2ms".parse().unwrap();
        let text = exact_steps(&w);
        assert_eq!(text, "cpu=100500ns,sleep=2000000ns");
        assert_eq!(text.parse::<Workload>().unwrap(), w);
    }
}
