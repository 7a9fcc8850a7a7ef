//! A server child process in a process group of its own, stopped (the whole group) when its
//! handle drops: on success, on error and on unwinding. Never stops anything by name.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running child (and its whole process group).
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    what: String,
}

impl ServerProcess {
    /// Starts `command` as the leader of a new process group. `what` names it in errors.
    pub fn spawn(mut command: Command, what: &str) -> anyhow::Result<ServerProcess> {
        command.process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("could not start {what}"))?;
        Ok(ServerProcess {
            child,
            what: what.to_string(),
        })
    }

    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's stdout, if the command piped it and nobody took it yet.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr, if the command piped it and nobody took it yet.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The child's exit status if it has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits until `addr` accepts a TCP connection, failing early if the child exits.
    pub fn wait_ready(&mut self, addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited before it accepted connections ({status})",
                    self.what
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "{} did not accept connections on {addr} within {timeout:?}",
                    self.what
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the child is still running (an exit is reported as an error naming it).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("{} exited during the run ({status})", self.what),
            None => Ok(()),
        }
    }

    /// Stops the whole group: SIGTERM, then SIGKILL after a grace period, and reaps the child.
    pub fn stop(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            // The leader is gone; its group may still hold workers (apache's children).
            // SAFETY: kill(2) with a negative pid signals our own child's process group.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            return;
        }
        // SAFETY: as above; the group id is our child's pid, set by process_group(0).
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                // SAFETY: as above.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
