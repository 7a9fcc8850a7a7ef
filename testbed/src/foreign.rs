//! Servers nobody here wrote, started and stopped by the testbed: Debian's nginx and apache2
//! serving a 1 KiB static file, and W2's FastAPI app under uvicorn.
//!
//! Each runs in the foreground (no daemonizing) from private files the testbed writes into a
//! temporary directory (config, pid file, logs, document root; never Debian's files under
//! /etc), listens on 127.0.0.1 only, and is pinned with its children to the server cores.
//! A missing package is an error (exit 2) that names the `apt-get install` or `pip install`
//! that fixes it.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::error::usage;
use crate::kind::ServerKind;
use crate::process::ServerProcess;
use crate::workload::{Step, Workload};

pub mod apache;
pub mod nginx;
pub mod uvicorn;

/// How long a third-party server may take to accept its first connection (uvicorn imports
/// FastAPI and pydantic: a few seconds on a busy machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running third-party server; dropping it stops its whole process group and removes its
/// directory.
#[derive(Debug)]
pub struct Running {
    /// The process group (stopped first on drop: fields drop in order).
    pub process: ServerProcess,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The path the load generator requests (`/index.html`, `/sleep/0.1`).
    pub path: String,
    /// Config, pid file, logs and document root.
    pub dir: tempfile::TempDir,
}

impl Running {
    /// The URL of the page this server serves.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
}

/// The fixed page a third-party kind serves, as the steps the simulator sees (the server's own
/// CPU per request is measured, not listed): nothing for the static file, W2's 0.1 s sleep.
pub fn workload(kind: ServerKind) -> Workload {
    match kind {
        ServerKind::UvicornDef | ServerKind::UvicornAsync => Workload {
            steps: vec![Step::Sleep(uvicorn::SLEEP)],
            working_set: 0,
        },
        _ => Workload::default(),
    }
}

/// What a third-party kind serves, in words.
pub fn page(kind: ServerKind) -> &'static str {
    match kind {
        ServerKind::UvicornDef => "W2 /sleep/0.1 (def)",
        ServerKind::UvicornAsync => "W2 /sleep/0.1 (async def)",
        _ => "static 1 KiB file",
    }
}

/// Where the FastAPI venv is: `--venv`, else `$SWITCHCOST_VENV`, else `/tmp/switchcost-venv`
/// (what `.ci/run` creates).
pub fn venv(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SWITCHCOST_VENV").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(uvicorn::DEFAULT_VENV))
}

/// Starts a third-party `kind` pinned to the first `cores` cores, on `port` (0: a free one),
/// and waits until it accepts connections.
pub fn spawn(kind: ServerKind, cores: usize, port: u16, venv: &Path) -> anyhow::Result<Running> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("testbed-{}-", kind.to_string().replace(':', "")))
        .tempdir()
        .context("could not create a temporary directory for the server's files")?;
    // Workers that drop root privileges (nginx's, apache's www-data) must read the page.
    set_mode(dir.path(), 0o755)?;
    let port = if port == 0 { free_port()? } else { port };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (command, path) = match kind {
        ServerKind::Nginx => (nginx::command(dir.path(), port)?, "/index.html"),
        ServerKind::ApachePrefork | ServerKind::ApacheEvent => {
            (apache::command(kind, dir.path(), port)?, "/index.html")
        }
        ServerKind::UvicornDef | ServerKind::UvicornAsync => (
            uvicorn::command(kind, dir.path(), port, venv)?,
            "/sleep/0.1",
        ),
        in_tree => {
            return Err(usage(format!(
                "{in_tree} is an in-tree server, not a third-party one"
            )));
        }
    };
    let mut command = command;
    pin(&mut command, cores)?;
    let log = std::fs::File::create(dir.path().join("stderr.log"))
        .context("could not create the server's log file")?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut process = ServerProcess::spawn(command, &kind.to_string())?;
    if let Err(error) = process.wait_ready(addr, READY_TIMEOUT) {
        let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(error.context(format!("{kind}'s last messages: {}", tail.join(" | "))));
    }
    Ok(Running {
        process,
        addr,
        path: path.to_string(),
        dir,
    })
}

/// `testbed serve` for a third-party kind: starts it, prints its URL, and runs until Ctrl-C
/// (which stops its whole process group).
pub fn serve(args: &crate::cli::ServeArgs) -> anyhow::Result<()> {
    let w = &args.workload;
    if w.cpu.is_some() || w.sleep.is_some() || w.steps.is_some() || w.working_set.is_some() {
        return Err(usage(format!(
            "{}: a third-party server serves its own page; leave out --cpu, --sleep, --steps \
             and --working-set",
            args.server
        )));
    }
    let running = spawn(args.server, args.cores, args.port, &venv(None))?;
    let _interrupt = crate::interrupt::register(running.process.pid());
    println!("{}", running.url());
    let mut running = running;
    loop {
        running.process.check_alive()?;
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A port on 127.0.0.1 nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// Pins the command (and every process and thread it creates, which inherit the mask) to the
/// first `cores` cores, and raises its open-file limit to the hard limit (10,000 connections
/// need 10,000 descriptors).
pub fn pin(command: &mut Command, cores: usize) -> anyhow::Result<()> {
    let available = micro::machine::cores();
    if cores == 0 || cores > available {
        return Err(usage(format!(
            "--cores {cores}: this machine has {available} cores; give 1 to {available}"
        )));
    }
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (sched_setaffinity, getrlimit, setrlimit) on local data.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for core in 0..cores {
                libc::CPU_SET(core, &mut set);
            }
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut limit: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                limit.rlim_cur = limit.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
            Ok(())
        });
    }
    Ok(())
}

/// The first of `candidates` that exists, or an error (exit 2) naming the package to install.
fn find_binary(candidates: &[&str], package: &str) -> anyhow::Result<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            usage(format!(
                "{} is not installed (looked for {}); install it with: apt-get install {package}",
                package,
                candidates.join(", ")
            ))
        })
}

/// Writes `text` to `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("could not write {}", path.display()))?;
    Ok(path)
}

/// A document root with the 1 KiB static file.
fn static_root(dir: &Path) -> anyhow::Result<PathBuf> {
    let root = dir.join("www");
    std::fs::create_dir_all(&root)
        .with_context(|| format!("could not create {}", root.display()))?;
    set_mode(&root, 0o755)?;
    // 1,024 bytes of text: a small page, what nginx and apache are best at.
    let page: String = "switchcost testbed static page.\n"
        .repeat(32)
        .chars()
        .take(1024)
        .collect();
    let file = write(&root, "index.html", &page)?;
    set_mode(&file, 0o644)?;
    Ok(root)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("could not set the permissions of {}", path.display()))
}

/// Whether this process runs as root (servers then drop to an unprivileged user).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
