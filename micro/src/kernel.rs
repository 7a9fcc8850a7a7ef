//! Which scheduler this kernel runs and how: the tick (`hz`), the preemption mode, whether the
//! fair class uses the high-resolution tick, and CFS or EEVDF. The simulator's `[machine]`
//! table takes these four.
//!
//! Each is read from the most direct source that answers, and the answer says where it came
//! from: debugfs (`/sys/kernel/debug/sched/`) tells what is active now; the boot log and the
//! kernel command line what was chosen at boot; `/proc/config.gz` or `/boot/config-*` what the
//! kernel was built with. Failing all of them a value is inferred from the measured time slice,
//! or left out with the reason.
//!
//! The parsers are pure functions of text, so tests feed them samples and never read the host.

use std::collections::BTreeMap;
use std::process::Command;

/// The fair scheduler: EEVDF replaced CFS in Linux 6.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Earliest eligible virtual deadline first (Linux >= 6.6).
    Eevdf,
    /// The completely fair scheduler (Linux < 6.6).
    Cfs,
}

/// When a task running kernel code can be preempted (`CONFIG_PREEMPT_*`, or the `preempt=`
/// choice of a `PREEMPT_DYNAMIC` kernel). Returning to user space preempts in every mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preempt {
    /// Only at explicit schedule points and on return to user space.
    None,
    /// Also at `might_sleep()` points in the kernel.
    Voluntary,
    /// Anywhere outside a preempt-disabled section.
    Full,
    /// Full for real-time tasks, at the next tick for fair ones (Linux >= 6.13).
    Lazy,
}

impl Preempt {
    fn from_word(word: &str) -> Option<Preempt> {
        match word.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Preempt::None),
            "voluntary" => Some(Preempt::Voluntary),
            "full" => Some(Preempt::Full),
            "lazy" => Some(Preempt::Lazy),
            _ => None,
        }
    }
}

/// The four kernel parameters of the simulator's `[machine]` table, each `None` when neither
/// read nor inferable, and `source` saying for each where it came from or why it is missing.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct KernelConfig {
    /// EEVDF or CFS, from the kernel release.
    pub scheduler: Option<Scheduler>,
    /// Timer ticks per second (`CONFIG_HZ`).
    pub hz: Option<u32>,
    /// The active preemption mode.
    pub preempt: Option<Preempt>,
    /// Whether the fair class ends slices with the high-resolution timer (sched feature
    /// `HRTICK`); when off, a slice ends at the first tick after it is used up.
    pub hrtick: Option<bool>,
    /// Per key (`scheduler`, `hz`, `preempt`, `hrtick`): the source read, or the reason there
    /// is no value.
    pub source: BTreeMap<String, String>,
}

/// `CONFIG_HZ=<n>` from a kernel config.
pub fn hz_from_config(config: &str) -> Option<u32> {
    config
        .lines()
        .find_map(|line| line.trim().strip_prefix("CONFIG_HZ="))
        .and_then(|value| value.trim().parse().ok())
}

/// Whether a boolean option is `=y` in a kernel config.
fn config_enabled(config: &str, option: &str) -> bool {
    config
        .lines()
        .any(|line| line.trim() == format!("{option}=y"))
}

/// The preemption model a kernel was built with (for `PREEMPT_DYNAMIC`, the boot default).
pub fn preempt_from_config(config: &str) -> Option<Preempt> {
    [
        ("CONFIG_PREEMPT_NONE", Preempt::None),
        ("CONFIG_PREEMPT_VOLUNTARY", Preempt::Voluntary),
        ("CONFIG_PREEMPT_LAZY", Preempt::Lazy),
        ("CONFIG_PREEMPT", Preempt::Full),
    ]
    .into_iter()
    .find(|(option, _)| config_enabled(config, option))
    .map(|(_, mode)| mode)
}

/// The active mode from debugfs `sched/preempt`, which lists every mode with the active one in
/// parentheses: `none (voluntary) full`.
pub fn preempt_from_debugfs(text: &str) -> Option<Preempt> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix('(')?.strip_suffix(')'))
        .and_then(Preempt::from_word)
}

/// The mode the boot log announces (`Dynamic Preempt: none`); the last mention wins.
pub fn preempt_from_boot_log(log: &str) -> Option<Preempt> {
    log.lines()
        .rev()
        .filter_map(|line| line.split_once("Dynamic Preempt:"))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .find_map(Preempt::from_word)
}

/// A `preempt=` choice on the kernel command line.
pub fn preempt_from_cmdline(cmdline: &str) -> Option<Preempt> {
    cmdline
        .split_whitespace()
        .find_map(|word| word.strip_prefix("preempt="))
        .and_then(Preempt::from_word)
}

/// `HRTICK` / `NO_HRTICK` from debugfs `sched/features` (`HRTICK_DL` is the deadline class's).
pub fn hrtick_from_features(features: &str) -> Option<bool> {
    features.split_whitespace().find_map(|word| match word {
        "HRTICK" => Some(true),
        "NO_HRTICK" => Some(false),
        _ => None,
    })
}

/// `(major, minor)` of a release such as `6.18.44-fc-v669`.
pub fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// EEVDF from Linux 6.6 on, CFS before.
pub fn scheduler_for(release: &str) -> Option<Scheduler> {
    release_version(release).map(|version| {
        if version >= (6, 6) {
            Scheduler::Eevdf
        } else {
            Scheduler::Cfs
        }
    })
}

/// The tick rate a measured slice implies when slices end on ticks: the `CONFIG_HZ` choice
/// (100, 250, 300, 1000) whose tick is within 15 % of the slice. `None` when none fits.
pub fn hz_from_slice(slice_ns: f64) -> Option<u32> {
    [100, 250, 300, 1000].into_iter().find(|hz| {
        let tick = 1e9 / f64::from(*hz);
        (slice_ns - tick).abs() <= 0.15 * tick
    })
}

/// The running kernel's config, from `/proc/config.gz` (through `gzip -dc`) or
/// `/boot/config-<release>`, with the path it came from.
fn read_config(release: &str) -> Result<(String, String), String> {
    let gz = "/proc/config.gz";
    let mut tried = Vec::new();
    if std::path::Path::new(gz).exists() {
        match Command::new("gzip").args(["-dc", gz]).output() {
            Ok(out) if out.status.success() => {
                return Ok((String::from_utf8_lossy(&out.stdout).into_owned(), gz.into()));
            }
            Ok(out) => tried.push(format!("gzip -dc {gz} failed ({})", out.status)),
            Err(e) => tried.push(format!("no gzip to read {gz} ({e})")),
        }
    } else {
        tried.push(format!("no {gz}"));
    }
    let boot = format!("/boot/config-{release}");
    match std::fs::read_to_string(&boot) {
        Ok(text) => Ok((text, boot)),
        Err(e) => {
            tried.push(format!("{boot}: {e}"));
            Err(tried.join("; "))
        }
    }
}

/// The kernel's boot log from `dmesg`, where readable.
fn read_boot_log() -> Result<String, String> {
    match Command::new("dmesg").output() {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => Err(format!(
            "dmesg refused ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("no dmesg ({e})")),
    }
}

const DEBUGFS_SCHED: &str = "/sys/kernel/debug/sched";

/// Reads this kernel's parameters. `slice_ns`, the measured median time slice of two CPU-bound
/// threads on one core, backs up `hz` and `hrtick` when no file says them.
pub fn detect(slice_ns: Option<f64>) -> KernelConfig {
    let release = crate::machine::kernel();
    let mut found = KernelConfig::default();
    let mut source = |key: &str, text: String| {
        found.source.insert(key.to_string(), text);
    };
    let config = read_config(&release);

    let scheduler = scheduler_for(&release);
    source(
        "scheduler",
        match scheduler {
            Some(_) => format!("kernel release {release} (EEVDF since 6.6)"),
            None => format!("kernel release \"{release}\" has no major.minor version"),
        },
    );

    let config_hz = config
        .as_ref()
        .ok()
        .and_then(|(text, _)| hz_from_config(text));
    let hz = match (config_hz, &config, slice_ns.and_then(hz_from_slice)) {
        (Some(hz), Ok((_, path)), _) => {
            source("hz", format!("{path}: CONFIG_HZ={hz}"));
            Some(hz)
        }
        (None, _, Some(hz)) => {
            source(
                "hz",
                format!(
                    "inferred from the measured slice ({:.2} ms, one tick); no config: {}",
                    slice_ns.unwrap_or_default() / 1e6,
                    config
                        .as_ref()
                        .err()
                        .map_or("no CONFIG_HZ line", |e| e.as_str())
                ),
            );
            Some(hz)
        }
        _ => {
            source(
                "hz",
                "no kernel config with CONFIG_HZ and no slice near a tick length".into(),
            );
            None
        }
    };

    let mut preempt = None;
    let mut misses = Vec::new();
    match std::fs::read_to_string(format!("{DEBUGFS_SCHED}/preempt")) {
        Ok(text) => match preempt_from_debugfs(&text) {
            Some(mode) => {
                preempt = Some(mode);
                source(
                    "preempt",
                    format!("{DEBUGFS_SCHED}/preempt: {}", text.trim()),
                );
            }
            None => misses.push(format!("{DEBUGFS_SCHED}/preempt unparsable")),
        },
        Err(e) => misses.push(format!("{DEBUGFS_SCHED}/preempt: {e}")),
    }
    if preempt.is_none() {
        match read_boot_log() {
            Ok(log) => match preempt_from_boot_log(&log) {
                Some(mode) => {
                    preempt = Some(mode);
                    source("preempt", "boot log (dmesg): \"Dynamic Preempt:\"".into());
                }
                None => misses.push("no \"Dynamic Preempt:\" in dmesg".into()),
            },
            Err(e) => misses.push(e),
        }
    }
    if preempt.is_none() {
        let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        if let Some(mode) = preempt_from_cmdline(&cmdline) {
            preempt = Some(mode);
            source("preempt", "/proc/cmdline: preempt=".into());
        }
    }
    if preempt.is_none() {
        match &config {
            Ok((text, path)) => match preempt_from_config(text) {
                Some(mode) => {
                    preempt = Some(mode);
                    source(
                        "preempt",
                        format!("{path}: CONFIG_PREEMPT_* (build default)"),
                    );
                }
                None => misses.push(format!("{path}: no CONFIG_PREEMPT_* option set")),
            },
            Err(e) => misses.push(e.clone()),
        }
    }
    if preempt.is_none() {
        source("preempt", format!("unknown: {}", misses.join("; ")));
    }

    let hrtick = match std::fs::read_to_string(format!("{DEBUGFS_SCHED}/features")) {
        Ok(text) if hrtick_from_features(&text).is_some() => {
            source("hrtick", format!("{DEBUGFS_SCHED}/features"));
            hrtick_from_features(&text)
        }
        read => {
            let why = match read {
                Ok(_) => format!("{DEBUGFS_SCHED}/features names no HRTICK"),
                Err(e) => format!("{DEBUGFS_SCHED}/features: {e}"),
            };
            let built = config
                .as_ref()
                .ok()
                .map(|(text, _)| config_enabled(text, "CONFIG_SCHED_HRTICK"));
            let ticks = match (slice_ns, hz) {
                (Some(slice), Some(hz)) => {
                    let ticks = slice * f64::from(hz) / 1e9;
                    format!(
                        "; the measured slice is {ticks:.2} ticks{}",
                        if (ticks - ticks.round()).abs() < 0.1 {
                            ", as slices ending on ticks give"
                        } else {
                            ", not a whole number (hrtick may be on)"
                        }
                    )
                }
                _ => String::new(),
            };
            let reason = if built == Some(false) {
                "CONFIG_SCHED_HRTICK is off in the kernel config".to_string()
            } else {
                format!(
                    "inferred: {why}; the HRTICK feature defaults to off (kernel/sched/features.h){ticks}"
                )
            };
            source("hrtick", reason);
            Some(false)
        }
    };
    found.scheduler = scheduler;
    found.hz = hz;
    found.preempt = preempt;
    found.hrtick = hrtick;
    found
}

impl KernelConfig {
    /// The simulator's `[machine]` table as TOML text; unknown values are comments.
    pub fn to_machine_toml(&self) -> String {
        let mut text = String::from("[machine]\n");
        // A source can quote a tool's multi-line error; a comment must stay on one line.
        let why = |key: &str| {
            self.source
                .get(key)
                .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        let mut entry = |key: &str, value: Option<String>| match value {
            Some(value) => text.push_str(&format!("{key} = {value}  # {}\n", why(key))),
            None => text.push_str(&format!("# {key}: unknown here ({})\n", why(key))),
        };
        let quoted = |word: String| format!("\"{}\"", word.trim_matches('"'));
        let word = |value: Option<String>| value.map(quoted);
        entry(
            "scheduler",
            word(self.scheduler.and_then(|s| serde_json::to_string(&s).ok())),
        );
        entry("hz", self.hz.map(|hz| hz.to_string()));
        entry(
            "preempt",
            word(self.preempt.and_then(|p| serde_json::to_string(&p).ok())),
        );
        entry("hrtick", self.hrtick.map(|on| on.to_string()));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "#\n# Automatically generated file\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n\
        CONFIG_PREEMPT_BUILD=y\nCONFIG_PREEMPT_NONE=y\n# CONFIG_PREEMPT_VOLUNTARY is not set\n\
        # CONFIG_PREEMPT is not set\nCONFIG_PREEMPT_COUNT=y\nCONFIG_PREEMPTION=y\n\
        CONFIG_PREEMPT_DYNAMIC=y\nCONFIG_SCHED_HRTICK=y\n";

    #[test]
    fn config_lines_give_the_tick_and_the_build_preemption() {
        assert_eq!(hz_from_config(CONFIG), Some(250));
        assert_eq!(
            hz_from_config("CONFIG_HZ_1000=y\nCONFIG_HZ=1000\n"),
            Some(1000)
        );
        assert_eq!(hz_from_config("CONFIG_HZ_250=y\n"), None);
        assert_eq!(preempt_from_config(CONFIG), Some(Preempt::None));
        // CONFIG_PREEMPT_COUNT / _BUILD / _DYNAMIC are not modes.
        assert_eq!(
            preempt_from_config("CONFIG_PREEMPT_COUNT=y\nCONFIG_PREEMPT=y\n"),
            Some(Preempt::Full)
        );
        assert_eq!(
            preempt_from_config("CONFIG_PREEMPT_VOLUNTARY=y\n"),
            Some(Preempt::Voluntary)
        );
        assert_eq!(preempt_from_config("CONFIG_PREEMPT_COUNT=y\n"), None);
        assert!(config_enabled(CONFIG, "CONFIG_SCHED_HRTICK"));
        assert!(!config_enabled(CONFIG, "CONFIG_PREEMPT"));
    }

    #[test]
    fn the_active_mode_is_the_one_in_parentheses() {
        assert_eq!(
            preempt_from_debugfs("none (voluntary) full\n"),
            Some(Preempt::Voluntary)
        );
        assert_eq!(
            preempt_from_debugfs("(none) voluntary full lazy\n"),
            Some(Preempt::None)
        );
        assert_eq!(
            preempt_from_debugfs("none voluntary full (lazy)"),
            Some(Preempt::Lazy)
        );
        assert_eq!(preempt_from_debugfs("none voluntary full"), None);
    }

    #[test]
    fn the_boot_log_and_command_line_name_the_mode() {
        let log = "[    0.000000] Linux version 6.18.44 #1 SMP PREEMPT_DYNAMIC @0\n\
                   [    0.225414] Dynamic Preempt: none\n[    0.225527] rcu: Preemptible hierarchical RCU\n";
        assert_eq!(preempt_from_boot_log(log), Some(Preempt::None));
        assert_eq!(
            preempt_from_boot_log("[ 0.1] Dynamic Preempt: full\n"),
            Some(Preempt::Full)
        );
        assert_eq!(preempt_from_boot_log("[ 0.1] nothing here\n"), None);
        assert_eq!(
            preempt_from_cmdline("console=ttyS0 preempt=voluntary quiet"),
            Some(Preempt::Voluntary)
        );
        assert_eq!(preempt_from_cmdline("console=ttyS0 quiet"), None);
    }

    #[test]
    fn hrtick_is_read_from_the_feature_list() {
        assert_eq!(
            hrtick_from_features("GENTLE_FAIR_SLEEPERS NO_HRTICK HRTICK_DL DOUBLE_TICK"),
            Some(false)
        );
        assert_eq!(hrtick_from_features("HRTICK NO_HRTICK_DL"), Some(true));
        assert_eq!(hrtick_from_features("HRTICK_DL"), None);
    }

    #[test]
    fn releases_from_6_6_run_eevdf() {
        assert_eq!(release_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(release_version("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(release_version("garbage"), None);
        assert_eq!(scheduler_for("6.18.44-fc-v669"), Some(Scheduler::Eevdf));
        assert_eq!(scheduler_for("6.6.0"), Some(Scheduler::Eevdf));
        assert_eq!(scheduler_for("6.5.13"), Some(Scheduler::Cfs));
        // 6.10 is newer than 6.6 although "10" < "6" as text.
        assert_eq!(scheduler_for("6.10.1"), Some(Scheduler::Eevdf));
        assert_eq!(scheduler_for("4.19.0"), Some(Scheduler::Cfs));
        assert_eq!(scheduler_for(""), None);
    }

    #[test]
    fn a_slice_of_one_tick_names_the_rate() {
        assert_eq!(hz_from_slice(3.97e6), Some(250));
        assert_eq!(hz_from_slice(1.02e6), Some(1000));
        assert_eq!(hz_from_slice(10.4e6), Some(100));
        assert_eq!(hz_from_slice(1.5e6), None);
    }

    #[test]
    fn the_machine_table_quotes_words_and_comments_unknowns() {
        let mut config = KernelConfig {
            scheduler: Some(Scheduler::Eevdf),
            hz: Some(250),
            preempt: None,
            hrtick: Some(false),
            ..KernelConfig::default()
        };
        config
            .source
            .insert("preempt".into(), "dmesg refused\n(permission)".into());
        let text = config.to_machine_toml();
        assert!(text.starts_with("[machine]\n"));
        assert!(text.contains("scheduler = \"eevdf\""));
        assert!(text.contains("hz = 250"));
        assert!(text.contains("hrtick = false"));
        assert!(text.contains("# preempt: unknown here (dmesg refused (permission))"));
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["scheduler"], "eevdf");
        assert_eq!(json["preempt"], serde_json::Value::Null);
    }
}
