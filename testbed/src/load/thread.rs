//! What a load-generator thread asks of the OS about itself: its core and its CPU time.

use std::time::Duration;

/// Pins the calling thread to `core`.
pub(crate) fn pin(core: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it for core < CPU_SETSIZE, which
    // the caller checked; sched_setaffinity(0, ..) affects only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// CPU time of the calling thread in ns, from its CPU clock (exact, unlike `getrusage`'s µs).
pub(crate) fn thread_cpu_ns() -> u64 {
    // SAFETY: clock_gettime writes one timespec that we own.
    let t = unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t);
        t
    };
    t.tv_sec.max(0) as u64 * 1_000_000_000 + t.tv_nsec.max(0) as u64
}

/// CPU time (user + system) of the calling thread.
pub(crate) fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage struct that we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
