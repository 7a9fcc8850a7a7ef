//! The kernel a machine runs: its scheduler, tick rate, preemption model and high-resolution
//! tick (`[machine]` keys of a scenario, or of the file `calibrate --out` writes).
//!
//! The kernel layer (`kernel.rs`) runs them: `eevdf` and `cfs` give every core its own run
//! queue under the rules of `sched` (Linux 6.18's and 5.15's `kernel/sched/fair.c`), slices
//! ending on the tick of `hz` unless `hrtick`; `rr` (a server's `quantum`) is one shared
//! first-in first-out queue with that slice. `preempt` is carried to the kernel layer, where
//! the three modes simulate alike (see its module docs: a same-core waker is switched out at
//! its return from the zero-time wake-up call, an interrupted thread at once).

/// Which fair scheduler the kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheduler {
    /// Linux 6.6 and later: earliest eligible virtual deadline first (the reference machine).
    #[default]
    Eevdf,
    /// Linux before 6.6: the completely fair scheduler.
    Cfs,
    /// Round robin with a fixed quantum (a server's `quantum`); the closed-form tests use it.
    Rr,
}

impl Scheduler {
    /// The word scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Eevdf => "eevdf",
            Scheduler::Cfs => "cfs",
            Scheduler::Rr => "rr",
        }
    }

    /// Reads `scheduler = "..."`; the error says what to write.
    pub fn parse(word: &str) -> Result<Scheduler, String> {
        match word {
            "eevdf" => Ok(Scheduler::Eevdf),
            "cfs" => Ok(Scheduler::Cfs),
            "rr" => Ok(Scheduler::Rr),
            other => Err(format!(
                "scheduler = {other:?} is not understood; write \"eevdf\" (Linux 6.6 and later), \"cfs\" (before 6.6) or \"rr\" (fixed quantum, with a server's quantum)"
            )),
        }
    }
}

/// The kernel's preemption model (`CONFIG_PREEMPT_*`, or `preempt=` under `PREEMPT_DYNAMIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Preemption {
    /// No preemption inside the kernel (the reference machine).
    #[default]
    None,
    /// Also at the kernel's `cond_resched` points.
    Voluntary,
    /// Anywhere outside a lock.
    Full,
}

impl Preemption {
    /// The word scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Preemption::None => "none",
            Preemption::Voluntary => "voluntary",
            Preemption::Full => "full",
        }
    }

    /// Reads `preempt = "..."`. `"lazy"` (Linux 6.13+, which `calibrate` may find) is taken as
    /// `"voluntary"`: for fair-class threads, lazy preemption defers a resched to the return to
    /// user space or the next tick, never preempting a thread inside a short system call, which
    /// is what the model's none and voluntary do; it is nearer voluntary than none because the
    /// tick may preempt inside the kernel.
    pub fn parse(word: &str) -> Result<Preemption, String> {
        match word {
            "none" => Ok(Preemption::None),
            "voluntary" | "lazy" => Ok(Preemption::Voluntary),
            "full" => Ok(Preemption::Full),
            other => Err(format!(
                "preempt = {other:?} is not understood; write \"none\", \"voluntary\" or \"full\" (\"lazy\" is read as \"voluntary\")"
            )),
        }
    }
}

/// The kernel of one machine, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Kernel {
    /// The fair scheduler (a server with a `quantum` runs `rr` whatever this says).
    pub scheduler: Scheduler,
    /// Timer ticks per second (`CONFIG_HZ`).
    pub hz: u32,
    /// The preemption model.
    pub preempt: Preemption,
    /// The fair class's high-resolution tick: slices end exactly rather than on the tick.
    pub hrtick: bool,
}

impl Default for Kernel {
    /// The committed reference machine: Linux 6.18 (EEVDF), `HZ = 250`, preemption none,
    /// HRTICK off.
    fn default() -> Self {
        Kernel {
            scheduler: Scheduler::Eevdf,
            hz: 250,
            preempt: Preemption::None,
            hrtick: false,
        }
    }
}

/// Some kernel keys, each optional: a scenario's `[machine]`, or a `--costs` file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelOverrides {
    /// `scheduler`, if given.
    pub scheduler: Option<Scheduler>,
    /// `hz`, if given.
    pub hz: Option<u32>,
    /// `preempt`, if given.
    pub preempt: Option<Preemption>,
    /// `hrtick`, if given.
    pub hrtick: Option<bool>,
}

impl KernelOverrides {
    /// `kernel` with every value present here replaced.
    pub fn apply(&self, kernel: Kernel) -> Kernel {
        Kernel {
            scheduler: self.scheduler.unwrap_or(kernel.scheduler),
            hz: self.hz.unwrap_or(kernel.hz),
            preempt: self.preempt.unwrap_or(kernel.preempt),
            hrtick: self.hrtick.unwrap_or(kernel.hrtick),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_and_lazy_is_voluntary() {
        for s in [Scheduler::Eevdf, Scheduler::Cfs, Scheduler::Rr] {
            assert_eq!(Scheduler::parse(s.name()), Ok(s));
        }
        for p in [Preemption::None, Preemption::Voluntary, Preemption::Full] {
            assert_eq!(Preemption::parse(p.name()), Ok(p));
        }
        assert_eq!(Preemption::parse("lazy"), Ok(Preemption::Voluntary));
        assert!(Scheduler::parse("bfs").unwrap_err().contains("eevdf"));
    }

    #[test]
    fn overrides_replace_only_what_they_give() {
        let o = KernelOverrides {
            hz: Some(1000),
            ..KernelOverrides::default()
        };
        let k = o.apply(Kernel::default());
        assert_eq!(k.hz, 1000);
        assert_eq!(k.scheduler, Scheduler::Eevdf);
    }
}
