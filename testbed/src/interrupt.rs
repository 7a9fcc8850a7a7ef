//! Ctrl-C and SIGTERM stop every server the testbed started: the servers run in process
//! groups of their own (so the terminal's SIGINT does not reach them), and a signal would end
//! the testbed without running any `Drop`. The handler kills the registered groups and exits.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};

/// Process groups alive at once (a grid runs one server at a time; `run` one or two).
const SLOTS: usize = 16;

static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static INSTALL: Once = Once::new();

extern "C" fn on_signal(signal: libc::c_int) {
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            // SAFETY: kill(2) is async-signal-safe; pgid is a group this process created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    // SAFETY: _exit(2) is async-signal-safe. 128 + signal, as a shell reports it.
    unsafe { libc::_exit(128 + signal) };
}

/// A registered process group, forgotten again on drop.
#[derive(Debug)]
pub struct Registration(usize);

impl Drop for Registration {
    fn drop(&mut self) {
        GROUPS[self.0].store(0, Ordering::SeqCst);
    }
}

/// Kills process group `pgid` if the testbed is interrupted before the registration drops.
pub fn register(pgid: u32) -> Option<Registration> {
    INSTALL.call_once(|| {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    });
    let pgid = i32::try_from(pgid).ok()?;
    GROUPS.iter().enumerate().find_map(|(i, slot)| {
        slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| Registration(i))
    })
}
