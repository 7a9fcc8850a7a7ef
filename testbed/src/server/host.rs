//! What a server process sets up on the host before it serves: its cores, its file-descriptor
//! limit, its listen backlog and its stop signals.

use std::net::TcpListener;
use std::os::fd::AsRawFd;

use crate::error::usage;

/// Connections the grid's largest point holds open, plus room for the process's own files.
pub const FDS_NEEDED: u64 = 10_240;

/// Pins the calling thread to the machine's first `cores` cores (core 0 with `cores = 1`).
/// Call it before any other thread starts: threads inherit the mask, so every thread of the
/// server (workers, runtime, timers) stays on those cores.
///
/// A mask rather than `core_affinity::set_for_current`, which pins to one core only.
pub fn pin_first_cores(cores: usize) -> anyhow::Result<()> {
    // SAFETY: sysconf has no preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    if cores == 0 || cores > online {
        return Err(usage(format!(
            "--cores {cores}: this machine has {online} cores online; give 1 to {online}"
        )));
    }
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write inside it for indices below
    // CPU_SETSIZE (cores <= online <= 1024 here).
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for core in 0..cores {
            libc::CPU_SET(core, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        anyhow::bail!(
            "could not pin to cores 0..{cores}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// The cores this process may run on (its affinity mask, as `taskset` left it), in order.
/// Falls back to `0..available_parallelism` if the mask cannot be read.
pub fn allowed_cores() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size, and
    // CPU_ISSET reads inside it for indices below CPU_SETSIZE.
    let mask = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            None
        } else {
            Some(
                (0..libc::CPU_SETSIZE as usize)
                    .filter(|&c| libc::CPU_ISSET(c, &set))
                    .collect(),
            )
        }
    };
    match mask {
        Some(cores) => cores,
        None => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns `(soft, hard)` after it.
/// 10,000 connections need [`FDS_NEEDED`]; see [`fd_limit_advice`] when the hard limit is lower.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // An unlimited hard limit cannot be the soft one for files; the kernel's nr_open is the
        // real ceiling.
        let ceiling = if limit.rlim_max == libc::RLIM_INFINITY {
            std::fs::read_to_string("/proc/sys/fs/nr_open")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1 << 20)
        } else {
            limit.rlim_max
        };
        if limit.rlim_cur < ceiling {
            let raised = libc::rlimit {
                rlim_cur: ceiling,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            limit.rlim_cur = ceiling;
        }
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// What to do when the hard limit of open files is below what 10,000 connections need.
pub fn fd_limit_advice(hard: u64) -> Option<String> {
    (hard < FDS_NEEDED).then(|| {
        format!(
            "the hard limit of open files is {hard}, below the {FDS_NEEDED} that 10,000 \
             connections need; raise it for this shell with `sudo prlimit --pid $$ \
             --nofile=20000:20000` (or as root `ulimit -Hn 20000`), or for good with a \
             `* hard nofile 20000` line in /etc/security/limits.conf and a new login"
        )
    })
}

/// Re-issues `listen` with a deep backlog: std's `bind` listens with 128, which 10,000
/// connects (or a pool whose workers are all busy) would overflow into SYN retries. Linux
/// lets `listen` be called again to change the backlog; the kernel caps it at `somaxconn`.
pub fn deepen_backlog(listener: &TcpListener) {
    // SAFETY: listen(2) on a socket we own; failure leaves the old backlog, which still works.
    unsafe { libc::listen(listener.as_raw_fd(), 65_535) };
}

fn stop_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Blocks SIGINT and SIGTERM on the calling thread and so on every thread started after it;
/// [`stop_on_signal`] then takes them synchronously. Call it first, before any thread starts.
pub fn block_stop_signals() {
    let set = stop_signals();
    // SAFETY: pthread_sigmask with a valid set; the old mask is not needed.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

/// A thread that waits for SIGINT or SIGTERM and exits the process with status 0. Every
/// thread of a server may be blocked in `accept`, a read or a cpu step, so stopping from one
/// place that only waits for the signal is both simpler and prompt; the kernel closes the
/// sockets.
pub fn stop_on_signal() {
    std::thread::spawn(|| {
        let set = stop_signals();
        let mut signal: libc::c_int = 0;
        // SAFETY: sigwait on signals this thread (like all) has blocked.
        unsafe { libc::sigwait(&set, &mut signal) };
        let name = if signal == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        eprintln!("testbed serve: stopping on {name}");
        std::process::exit(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_only_below_what_10000_connections_need() {
        let advice = fd_limit_advice(1024).unwrap();
        assert!(
            advice.contains("1024") && advice.contains("prlimit"),
            "{advice}"
        );
        assert_eq!(fd_limit_advice(FDS_NEEDED), None);
    }
}
