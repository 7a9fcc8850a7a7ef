//! Context-switch counts from `getrusage`, to check that a benchmark switched as often as it
//! assumes.
//!
//! A ping-pong that should switch twice per round trip but was counted at, say, 0.2 switches
//! per round trip was spinning or batching, and its time means something else.

/// Voluntary and involuntary context switches of the calling thread so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// The thread blocked (read on an empty pipe, futex wait).
    pub voluntary: u64,
    /// The scheduler took the core away (time slice over, a woken thread preempted it).
    pub involuntary: u64,
}

impl Switches {
    /// All switches.
    pub fn total(&self) -> u64 {
        self.voluntary + self.involuntary
    }

    /// Switches since `earlier`.
    pub fn since(&self, earlier: &Switches) -> Switches {
        Switches {
            voluntary: self.voluntary.saturating_sub(earlier.voluntary),
            involuntary: self.involuntary.saturating_sub(earlier.involuntary),
        }
    }

    /// Sums two threads' counts.
    pub fn plus(&self, other: &Switches) -> Switches {
        Switches {
            voluntary: self.voluntary + other.voluntary,
            involuntary: self.involuntary + other.involuntary,
        }
    }
}

/// Switch counts of the calling thread (`RUSAGE_THREAD`); zeros where the OS has no such call.
pub fn thread_switches() -> Switches {
    #[cfg(target_os = "linux")]
    {
        switches_of(libc::RUSAGE_THREAD)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Switches::default()
    }
}

/// Switch counts of the whole process, its live threads included (`RUSAGE_SELF`); zeros where
/// the OS has no such call.
pub fn process_switches() -> Switches {
    #[cfg(target_os = "linux")]
    {
        switches_of(libc::RUSAGE_SELF)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Switches::default()
    }
}

#[cfg(target_os = "linux")]
fn switches_of(who: libc::c_int) -> Switches {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes into the struct we own; a zeroed rusage is valid.
    let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    if rc != 0 {
        return Switches::default();
    }
    // SAFETY: rc == 0 means the kernel filled the struct (and it was zeroed before anyway).
    let usage = unsafe { usage.assume_init() };
    Switches {
        voluntary: usage.ru_nvcsw.max(0) as u64,
        involuntary: usage.ru_nivcsw.max(0) as u64,
    }
}

/// Switches per round trip observed, from both threads' counts over `round_trips`.
pub fn per_round_trip(switches: &Switches, round_trips: u64) -> f64 {
    if round_trips == 0 {
        return 0.0;
    }
    switches.total() as f64 / round_trips as f64
}

/// A warning when the observed switches per round trip stray from what the benchmark assumes.
///
/// `expected` is 2 for a blocking ping-pong (each thread blocks once per round trip) and 0 for
/// a spinning one; a quarter of a switch either way is tolerated for the odd preemption by
/// another process.
pub fn check(name: &str, observed: f64, expected: f64) -> Option<String> {
    const TOLERANCE: f64 = 0.25;
    if (observed - expected).abs() <= TOLERANCE {
        return None;
    }
    Some(format!(
        "{name}: getrusage counted {observed:.2} context switches per round trip where the benchmark assumes {expected}; \
         the time measures something else (spinning, batching or preemption by another process)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_ping_pong_switches_twice_per_round_trip() {
        let a = Switches {
            voluntary: 1000,
            involuntary: 3,
        };
        let b = Switches {
            voluntary: 998,
            involuntary: 1,
        };
        let observed = per_round_trip(&a.plus(&b), 1000);
        assert!((observed - 2.002).abs() < 1e-9);
        assert_eq!(check("same_core", observed, 2.0), None);
        // A spinning hand-off that the benchmark believes blocked is flagged.
        assert!(check("same_core", 0.01, 2.0).is_some());
        assert!(check("spin_handoff", 1.0, 0.0).is_some());
        assert_eq!(per_round_trip(&a, 0), 0.0);
    }

    #[test]
    fn counts_since_an_earlier_reading() {
        let before = Switches {
            voluntary: 5,
            involuntary: 2,
        };
        let after = Switches {
            voluntary: 15,
            involuntary: 3,
        };
        assert_eq!(after.since(&before).total(), 11);
    }

    #[test]
    fn blocking_counts_as_a_voluntary_switch() {
        let before = thread_switches();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = thread_switches();
        assert!(after.since(&before).voluntary >= 1);
    }
}
