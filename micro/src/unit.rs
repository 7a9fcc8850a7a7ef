//! Numbers with units, as the simulator's cost table and the talk's table spell them.

/// Three significant digits without trailing zeros: 1.40 -> "1.4", 19.0 -> "19", 0.312 -> "0.312".
fn significant(value: f64) -> String {
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else if value >= 1.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Formats nanoseconds with the largest unit that keeps an integer digit: "250ns", "1.4us".
///
/// Sub-nanosecond values stay in ns ("0.31ns") so an add does not print as "0ns".
pub fn format_duration(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "us")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{}{unit}", significant(value))
}

/// Formats bytes with binary units: "512B", "19.5KiB", "1.2MiB".
pub fn format_size(bytes: f64) -> String {
    const KIB: f64 = 1024.0;
    let (value, unit) = if bytes < KIB {
        (bytes.round(), "B")
    } else if bytes < KIB * KIB {
        (bytes / KIB, "KiB")
    } else if bytes < KIB * KIB * KIB {
        (bytes / (KIB * KIB), "MiB")
    } else {
        (bytes / (KIB * KIB * KIB), "GiB")
    };
    format!("{}{unit}", significant(value))
}

/// The talk's humanized scale: how long something would take if an add took one second.
///
/// `ratio` is the cost divided by the cost of an add, i.e. seconds on that scale.
pub fn humanize_seconds(seconds: f64) -> String {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 60.0 * MINUTE;
    const DAY: f64 = 24.0 * HOUR;
    const YEAR: f64 = 365.25 * DAY;
    let (value, unit) = if seconds < MINUTE {
        (seconds, "seconds")
    } else if seconds < HOUR {
        (seconds / MINUTE, "minutes")
    } else if seconds < DAY {
        (seconds / HOUR, "hours")
    } else if seconds < YEAR {
        (seconds / DAY, "days")
    } else {
        (seconds / YEAR, "years")
    };
    let number = significant(value);
    // "1 seconds" reads wrong; every other count is plural.
    let unit = if number == "1" {
        unit.trim_end_matches('s')
    } else {
        unit
    };
    format!("{number} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_the_largest_unit_with_an_integer_digit() {
        assert_eq!(format_duration(0.314), "0.314ns");
        assert_eq!(format_duration(250.0), "250ns");
        assert_eq!(format_duration(1_400.0), "1.4us");
        assert_eq!(format_duration(19_500.0), "19.5us");
        assert_eq!(format_duration(2_500_000.0), "2.5ms");
        assert_eq!(format_duration(3e9), "3s");
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(format_size(512.0), "512B");
        assert_eq!(format_size(19.0 * 1024.0), "19KiB");
        assert_eq!(format_size(19.5 * 1024.0), "19.5KiB");
        assert_eq!(format_size(1.25 * 1024.0 * 1024.0), "1.25MiB");
    }

    #[test]
    fn humanized_durations_match_the_talk() {
        // The talk: a 10 us switch at 1 ns per add is 10_000 s = 2.7 hours, 10 ms is 115.7 days.
        assert_eq!(humanize_seconds(10_000.0), "2.78 hours");
        assert_eq!(humanize_seconds(10_000_000.0), "116 days");
        assert_eq!(humanize_seconds(4.2), "4.2 seconds");
        assert_eq!(humanize_seconds(1.0), "1 second");
        assert_eq!(humanize_seconds(90.0), "1.5 minutes");
        assert_eq!(humanize_seconds(200.0 * 86_400.0), "200 days");
        assert_eq!(humanize_seconds(3.0 * 365.25 * 86_400.0), "3 years");
    }
}
