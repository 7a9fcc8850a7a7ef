//! A timer with nanosecond resolution for the engine's epoll loop: epoll's own timeout is in
//! whole milliseconds, too coarse for open-loop arrivals 100 µs apart.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// A non-blocking monotonic timerfd, registered with the engine's poll for readability.
#[derive(Debug)]
pub(crate) struct Timer {
    fd: OwnedFd,
}

impl Timer {
    /// Also drops the calling thread's timer slack to 1 ns, so an arrival due in 120 µs is
    /// woken for in about 120 µs, not up to 50 µs later (the default slack).
    pub(crate) fn new() -> std::io::Result<Timer> {
        // SAFETY: plain syscalls; the fd returned is checked and then owned.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
            let fd = libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            );
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Timer {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// The fd to register.
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Fires `after` from now (at least 1 ns: zero would disarm it), replacing any earlier
    /// setting.
    pub(crate) fn arm(&self, after: Duration) -> std::io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: the fd is a timerfd we own; spec is a valid itimerspec.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes the expiry count, so the next expiry raises a new edge.
    pub(crate) fn drain(&self) {
        let mut expirations = [0u8; 8];
        // SAFETY: reads at most 8 bytes into our buffer from a non-blocking fd we own.
        unsafe {
            libc::read(self.fd.as_raw_fd(), expirations.as_mut_ptr().cast(), 8);
        }
    }
}
