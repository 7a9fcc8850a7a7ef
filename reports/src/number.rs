//! Numbers as people read them on a slide: significant figures, SI prefixes, units.

/// `v` with `digits` significant figures, no exponent, no trailing zeros ("0.00312", "1240").
pub fn sig(v: f64, digits: u32) -> String {
    if v.is_nan() {
        // No figure (sim's `null`, e.g. the latency of a run that completed nothing).
        return "–".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A count with an SI suffix: 950, 1.2k, 10k, 3.4M.
pub fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", sig(v / 1e9, 3))
    } else if a >= 1e6 {
        format!("{}M", sig(v / 1e6, 3))
    } else if a >= 1e3 {
        format!("{}k", sig(v / 1e3, 3))
    } else {
        sig(v, 3)
    }
}

/// A duration given in nanoseconds: "0.31 ns", "1.4 µs", "12 ms", "2.5 s".
pub fn duration_ns(ns: f64) -> String {
    let a = ns.abs();
    if a >= 1e9 {
        format!("{} s", sig(ns / 1e9, 3))
    } else if a >= 1e6 {
        format!("{} ms", sig(ns / 1e6, 3))
    } else if a >= 1e3 {
        format!("{} µs", sig(ns / 1e3, 3))
    } else {
        format!("{} ns", sig(ns, 3))
    }
}

/// A size in bytes with a binary prefix: "512 B", "19.5 KiB", "1.9 GiB".
pub fn bytes(b: f64) -> String {
    const K: f64 = 1024.0;
    let a = b.abs();
    if a >= K * K * K {
        format!("{} GiB", sig(b / (K * K * K), 3))
    } else if a >= K * K {
        format!("{} MiB", sig(b / (K * K), 3))
    } else if a >= K {
        format!("{} KiB", sig(b / K, 3))
    } else {
        format!("{} B", sig(b, 3))
    }
}

/// A span of seconds in the largest unit that keeps it above one: "3.2 s", "2.7 hours",
/// "116 days", "32 years" — the talk's "if an add took one second" scale.
pub fn human_seconds(s: f64) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    const YEAR: f64 = 365.25 * DAY;
    let a = s.abs();
    let plural = |v: f64, digits: u32, one: &str, many: &str| {
        let n = sig(v, digits);
        if n == "1" {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    if a >= YEAR {
        plural(s / YEAR, 2, "year", "years")
    } else if a >= DAY {
        plural(s / DAY, 3, "day", "days")
    } else if a >= HOUR {
        plural(s / HOUR, 2, "hour", "hours")
    } else if a >= MINUTE {
        format!("{} min", sig(s / MINUTE, 2))
    } else {
        format!("{} s", sig(s, 2))
    }
}

/// A whole number with thousands separators: 12,345.
pub fn grouped(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_figures() {
        assert_eq!(sig(1236.4, 3), "1236");
        assert_eq!(sig(0.0031234, 3), "0.00312");
        assert_eq!(sig(1.5, 3), "1.5");
        assert_eq!(sig(0.0, 3), "0");
        assert_eq!(sig(-2.25, 2), "-2.2");
        assert_eq!(sig(f64::NAN, 3), "–");
    }

    #[test]
    fn units() {
        assert_eq!(si(12_500.0), "12.5k");
        assert_eq!(duration_ns(1_400.0), "1.4 µs");
        assert_eq!(duration_ns(0.31), "0.31 ns");
        assert_eq!(bytes(19_968.0), "19.5 KiB");
        assert_eq!(grouped(1_234_567.0), "1,234,567");
        assert_eq!(grouped(-1000.0), "-1,000");
    }

    #[test]
    fn the_talks_humanized_figures() {
        // W1: an add = 1 s makes 10 µs 2.7 hours and 1 ms 115.7 days.
        assert_eq!(human_seconds(1e4), "2.8 hours");
        assert_eq!(human_seconds(1e6), "11.6 days");
        assert_eq!(human_seconds(1e7), "116 days");
        assert_eq!(human_seconds(365.25 * 86_400.0), "1 year");
    }
}
