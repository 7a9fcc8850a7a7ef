//! The clocks the scheduler measurements read: monotonic wall time, a thread's and the
//! process's CPU time, an absolute sleep, and the timer slack that would otherwise blur it.
//!
//! All in nanoseconds as `u64` so a tight loop can compare them without `Instant`'s
//! arithmetic; on other systems than Linux they fall back to what `std` offers.

/// Nanoseconds on the clock `id`, or 0 if the kernel refuses (it does not for these ids).
#[cfg(target_os = "linux")]
fn read(id: libc::clockid_t) -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(id, &mut now) };
    if rc != 0 {
        return 0;
    }
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Monotonic wall time (`CLOCK_MONOTONIC`, read through the vDSO: about 20 ns).
pub fn monotonic_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_MONOTONIC)
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_nanos() as u64
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): the scheduler's precise
/// `sum_exec_runtime`, user and kernel, not sampled at ticks.
pub fn thread_cpu_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_THREAD_CPUTIME_ID)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// CPU time of the whole process (`CLOCK_PROCESS_CPUTIME_ID`), threads that exited included.
pub fn process_cpu_ns() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_PROCESS_CPUTIME_ID)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Sleeps until `deadline_ns` on the monotonic clock (`clock_nanosleep` with `TIMER_ABSTIME`,
/// as cyclictest does), so the lateness is measured against the intended wake-up.
pub fn sleep_until(deadline_ns: u64) {
    #[cfg(target_os = "linux")]
    {
        let deadline = libc::timespec {
            tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
        };
        // EINTR only: retry until the deadline has passed.
        loop {
            // SAFETY: the request is a valid timespec and no remainder is asked for.
            let rc = unsafe {
                libc::clock_nanosleep(
                    libc::CLOCK_MONOTONIC,
                    libc::TIMER_ABSTIME,
                    &deadline,
                    std::ptr::null_mut(),
                )
            };
            if rc != libc::EINTR {
                break;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let now = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_nanos(
            deadline_ns.saturating_sub(now),
        ));
    }
}

/// Sets the calling thread's timer slack to 1 ns. A normal thread's timers may fire up to
/// 50 µs late by design (`timer_slack_ns`) so the kernel can batch them; a measurement of
/// scheduling delay must not include that deliberate delay. Returns whether it took effect.
pub fn tighten_timer_slack() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches only this thread.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Puts the calling thread in `SCHED_IDLE`: it runs only when nothing else wants the core, and
/// any waking normal thread preempts it at once. A spinner in this class keeps a core out of
/// the idle loop without delaying anyone. Returns whether the kernel accepted it.
pub fn become_idle_class() -> bool {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; the param struct is valid for the call.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_advance_and_an_absolute_sleep_is_not_early() {
        let before = monotonic_ns();
        let cpu = thread_cpu_ns();
        sleep_until(before + 1_000_000);
        assert!(monotonic_ns() >= before + 1_000_000);
        let mut x = 0u64;
        for i in 0..100_000u64 {
            x = std::hint::black_box(x + i);
        }
        assert!(thread_cpu_ns() > cpu);
        assert!(process_cpu_ns() >= thread_cpu_ns());
    }
}
