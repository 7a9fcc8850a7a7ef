//! Whether a core that runs out of work halts before the next request comes, and what an idle
//! spell costs when it does not (`halt_after`, `brief_idle_cpu`), from the loopback
//! measurement's pauses ([`crate::loopback`]).
//!
//! A thread that blocks leaves its core to the idle loop, which stops the tick, asks the
//! governor and then halts (on this VM: `haltpoll` with no polling, an exit to the hypervisor).
//! A wake-up that comes during that entry finds the core not yet halted: the loop turns back,
//! and the core pays for the entry and the exit but not for the halt. Measured 2026-12-07 on
//! the 2-vCPU EPYC guest: a server answering a client that spins halted for 0.1–0.2 of its
//! requests, yet its core spent 12 µs per request outside the server's thread.
//!
//! From the conditions with one request in flight, the client pausing 0, 5, 10 and 20 µs
//! before each request, against four in flight (the core never idles):
//!
//! ```text
//!   halt_after      the pause at which the core halts for half of the requests, linear
//!                   between the two pauses around it; 0 when it halts at once
//!   per halt     H  = (outside(20 µs) − outside(queued)) / halts(20 µs)
//!   brief_idle_cpu  = (outside(0) − outside(queued) − halts(0) · H) / (blocks(0) − halts(0))
//! ```
//!
//! where *outside* is the core's time per request outside the server thread (wall time less
//! cpuidle residency, less the thread's CPU) and *blocks* its voluntary switches per request:
//! the idle spells, of which `halts` halted. The pause is the client's; the core idles that
//! long plus the client's turn-around, so `halt_after` is a lower bound of the idle loop's
//! entry time.

use crate::loopback::{Condition, NetworkWakeup};

/// At least this share of the spells must not halt for their cost to be told apart.
const MIN_BRIEF_SHARE: f64 = 0.5;

/// The idle loop's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleSpells {
    /// How long a core idles before it halts, ns, or why it is not known (cpuidle unreadable,
    /// or the core never halted for half of the requests, even after the longest pause).
    pub halt_after_ns: Result<f64, String>,
    /// The core time of an idle spell that ended before the halt, ns (`None` with the reason).
    pub brief_idle_cpu_ns: Result<f64, String>,
}

/// Every condition with one request in flight, by pause: the sweep and `blocking`.
fn by_gap(w: &NetworkWakeup) -> Vec<(f64, &Condition)> {
    let mut all: Vec<(f64, &Condition)> = w
        .gaps
        .iter()
        .filter_map(|c| Some((c.gap_ns? as f64, c)))
        .collect();
    all.push((w.gap_ns as f64, &w.blocking));
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all
}

/// The pause at which half of the requests find the core halted.
fn halt_after_ns(w: &NetworkWakeup) -> Result<f64, String> {
    let points: Vec<(f64, f64)> = by_gap(w)
        .into_iter()
        .filter_map(|(gap, c)| Some((gap, c.halts_per_request?)))
        .collect();
    let &(first_gap, first_halts) = points
        .first()
        .ok_or("cpuidle's counters are unreadable, so halts cannot be counted")?;
    if first_halts >= 0.5 {
        return Ok(first_gap);
    }
    points
        .windows(2)
        .find_map(|pair| {
            let ((g0, h0), (g1, h1)) = (pair[0], pair[1]);
            (h0 < 0.5 && h1 >= 0.5).then(|| g0 + (0.5 - h0) / (h1 - h0) * (g1 - g0))
        })
        .ok_or_else(|| {
            "the core halted for fewer than half of the requests even after the longest pause"
                .to_string()
        })
}

fn brief_idle_cpu_ns(w: &NetworkWakeup) -> Result<f64, String> {
    let unreadable = || "cpuidle residency is unreadable".to_string();
    let base = w.queued.outside_thread_ns().ok_or_else(unreadable)?;
    let long = &w.blocking;
    let long_halts = long.halts_per_request.ok_or_else(unreadable)?;
    if long_halts < 0.5 {
        return Err(format!(
            "the core halted for only {long_halts:.2} of the requests after the longest pause"
        ));
    }
    let per_halt = (long.outside_thread_ns().ok_or_else(unreadable)? - base) / long_halts;
    let (_, brief) = *by_gap(w)
        .first()
        .filter(|(gap, _)| *gap == 0.0)
        .ok_or("no pause-free condition was measured")?;
    let halts = brief.halts_per_request.ok_or_else(unreadable)?;
    let spells = brief.voluntary_switches_per_request - halts;
    if spells < MIN_BRIEF_SHARE * brief.voluntary_switches_per_request || spells <= 0.0 {
        return Err(format!(
            "with no pause the core halted for {halts:.2} of {:.2} idle spells per request: too few ended before the halt to price them",
            brief.voluntary_switches_per_request
        ));
    }
    let outside = brief.outside_thread_ns().ok_or_else(unreadable)?;
    Ok((outside - base - halts * per_halt) / spells)
}

impl IdleSpells {
    /// Both figures, or neither with the reason: `sim` reads `halt_after` without
    /// `brief_idle_cpu` as brief spells that cost nothing, so one is never written alone.
    /// `doubt` is the loopback measurement's own ([`NetworkWakeup::doubt`]): its queued and
    /// blocking conditions are the baseline and the halt's price here.
    pub fn paired(&self, doubt: Option<String>) -> Result<(f64, f64), String> {
        let keep = "; both are left out, and the simulator keeps a core that halts at once";
        if let Some(reason) = doubt {
            return Err(format!("{reason}{keep}"));
        }
        match (&self.halt_after_ns, &self.brief_idle_cpu_ns) {
            (Ok(h), Ok(b)) if *b > 0.0 => Ok((*h, *b)),
            (Ok(_), Ok(b)) => Err(format!(
                "an idle spell that did not halt cost the core {b:.0} ns, not more than the queued server's time outside the thread{keep}"
            )),
            (Err(reason), _) | (_, Err(reason)) => Err(format!("{reason}{keep}")),
        }
    }
}

/// Both figures from one loopback measurement.
pub fn idle_spells(w: &NetworkWakeup) -> IdleSpells {
    IdleSpells {
        halt_after_ns: halt_after_ns(w),
        brief_idle_cpu_ns: brief_idle_cpu_ns(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(gap: u64, halts: f64, thread: f64, core: f64, blocks: f64) -> Condition {
        Condition {
            depth: 1,
            thread_cpu_ns: thread,
            voluntary_switches_per_request: blocks,
            rounds: 3,
            halts_per_request: Some(halts),
            core_ns: Some(core),
            gap_ns: Some(gap),
            round_trip_ns: None,
        }
    }

    fn wakeup(sweep: Vec<Condition>) -> NetworkWakeup {
        NetworkWakeup {
            // 20 us pause: a halt per request, 8 us outside the thread beyond the queued 1 us.
            blocking: condition(20_000, 1.0, 60_000.0, 69_000.0, 1.0),
            queued: Condition {
                depth: 4,
                ..condition(0, 0.0, 50_000.0, 51_000.0, 0.0)
            },
            client_sleeps: None,
            gap_ns: 20_000,
            gaps: sweep,
        }
    }

    #[test]
    fn a_brief_spell_is_priced_apart_from_the_halts_among_them() {
        let w = wakeup(vec![
            // No pause: 0.2 halts per request (8 us each) and 0.8 brief spells.
            condition(
                0,
                0.2,
                55_000.0,
                55_000.0 + 1_000.0 + 0.2 * 8_000.0 + 0.8 * 12_000.0,
                1.0,
            ),
            condition(5_000, 0.3, 55_000.0, 70_000.0, 1.0),
            condition(10_000, 0.7, 55_000.0, 70_000.0, 1.0),
        ]);
        let spells = idle_spells(&w);
        let brief = spells.brief_idle_cpu_ns.unwrap();
        assert!((brief - 12_000.0).abs() < 1e-6, "{brief}");
        // Half way between 5 us (0.3) and 10 us (0.7).
        assert_eq!(spells.halt_after_ns, Ok(7_500.0));
    }

    #[test]
    fn a_core_that_halts_at_once_has_no_brief_spells() {
        let w = wakeup(vec![condition(0, 0.9, 55_000.0, 70_000.0, 1.0)]);
        let spells = idle_spells(&w);
        assert_eq!(spells.halt_after_ns, Ok(0.0));
        assert!(
            spells
                .brief_idle_cpu_ns
                .unwrap_err()
                .contains("0.90 of 1.00")
        );
    }

    #[test]
    fn a_core_that_never_halts_has_no_threshold() {
        let mut w = wakeup(vec![condition(0, 0.1, 55_000.0, 60_000.0, 1.0)]);
        w.blocking.halts_per_request = Some(0.2);
        let spells = idle_spells(&w);
        assert!(
            spells
                .halt_after_ns
                .unwrap_err()
                .contains("fewer than half")
        );
        assert!(spells.brief_idle_cpu_ns.unwrap_err().contains("only 0.20"));
    }

    #[test]
    fn an_older_file_without_the_sweep_says_so() {
        let spells = idle_spells(&wakeup(Vec::new()));
        assert_eq!(spells.halt_after_ns, Ok(20_000.0));
        assert!(spells.brief_idle_cpu_ns.unwrap_err().contains("pause-free"));
    }

    #[test]
    fn the_two_figures_are_kept_together_or_not_at_all() {
        let spells = IdleSpells {
            halt_after_ns: Ok(2_500.0),
            brief_idle_cpu_ns: Ok(11_000.0),
        };
        assert_eq!(spells.paired(None), Ok((2_500.0, 11_000.0)));
        let doubted = spells
            .paired(Some("the server blocked".into()))
            .unwrap_err();
        assert!(doubted.starts_with("the server blocked; both are left out"));
        let brief_failed = IdleSpells {
            brief_idle_cpu_ns: Err("too few spells".into()),
            ..spells.clone()
        };
        assert!(
            brief_failed
                .paired(None)
                .unwrap_err()
                .starts_with("too few spells")
        );
        let free = IdleSpells {
            brief_idle_cpu_ns: Ok(-300.0),
            ..spells.clone()
        };
        assert!(free.paired(None).unwrap_err().contains("-300 ns"));
        let never = IdleSpells {
            halt_after_ns: Err("never halted".into()),
            ..spells
        };
        assert!(never.paired(None).unwrap_err().contains("halts at once"));
    }

    #[test]
    fn without_cpuidle_both_say_why() {
        let mut w = wakeup(vec![condition(0, 0.1, 55_000.0, 60_000.0, 1.0)]);
        for c in w.gaps.iter_mut().chain([&mut w.blocking, &mut w.queued]) {
            c.halts_per_request = None;
            c.core_ns = None;
        }
        let spells = idle_spells(&w);
        assert!(spells.halt_after_ns.unwrap_err().contains("unreadable"));
        assert!(spells.brief_idle_cpu_ns.unwrap_err().contains("unreadable"));
    }
}
