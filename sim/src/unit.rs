//! Durations and sizes written with units, as scenario files and cost tables spell them.
//!
//! Durations take `ns`, `us` (or `µs`), `ms` and `s`; sizes take `B`, `KiB`, `MiB`, `GiB`
//! (and `KB`/`MB`/`GB` as powers of ten). Everything is converted to integer nanoseconds or
//! bytes at parse time so that no floating-point error accumulates in simulated time.

use crate::error::UnitError;

const DURATION_UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("μs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
];

const SIZE_UNITS: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KiB", 1024.0),
    ("MiB", 1024.0 * 1024.0),
    ("GiB", 1024.0 * 1024.0 * 1024.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
];

fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| {
            !(c.is_ascii_digit()
                || c == '.'
                || c == '_'
                || c == 'e'
                || c == 'E'
                || c == '+'
                || c == '-')
        })
        .unwrap_or(text.len());
    // "1e3ms": the exponent belongs to the number, but "5s" has no 'e'; a trailing 'e' would be odd
    // enough that we let the number parser reject it.
    (text[..end].trim(), text[end..].trim())
}

fn parse_with(
    text: &str,
    units: &[(&str, f64)],
    what: &'static str,
    example: &'static str,
) -> Result<u64, UnitError> {
    let trimmed = text.trim();
    let (number, unit) = split_number(trimmed);
    let bad = || UnitError::Malformed {
        what,
        text: text.to_string(),
        example,
    };
    let value: f64 = number.replace('_', "").parse().map_err(|_| bad())?;
    if !value.is_finite() {
        return Err(bad());
    }
    if value < 0.0 {
        return Err(UnitError::Negative {
            what,
            text: text.to_string(),
        });
    }
    let scale = units
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, s)| *s)
        .ok_or_else(bad)?;
    let scaled = (value * scale).round();
    if scaled > u64::MAX as f64 / 2.0 {
        return Err(UnitError::TooLarge {
            what,
            text: text.to_string(),
        });
    }
    Ok(scaled as u64)
}

/// Parses a duration such as `"250us"`, `"1.5ms"` or `"60s"` into nanoseconds.
/// Longer than [`crate::time::MAX_DURATION_NS`] is refused.
pub fn parse_duration(text: &str) -> Result<u64, UnitError> {
    let ns = parse_with(
        text,
        DURATION_UNITS,
        "duration",
        "\"250us\", \"1.5ms\" or \"60s\"",
    )?;
    if ns > crate::time::MAX_DURATION_NS {
        return Err(UnitError::TooLong {
            text: text.to_string(),
        });
    }
    Ok(ns)
}

/// Parses a size such as `"20KiB"` or `"1.5MiB"` into bytes.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    parse_with(
        text,
        SIZE_UNITS,
        "size",
        "\"512B\", \"20KiB\" or \"1.5MiB\"",
    )
}

/// Formats nanoseconds with the largest unit that keeps at least one integer digit, e.g. `"1.4us"`.
pub fn format_duration(ns: u64) -> String {
    let (value, unit) = match ns {
        0..1_000 => return format!("{ns}ns"),
        1_000..1_000_000 => (ns as f64 / 1e3, "us"),
        1_000_000..1_000_000_000 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    format!("{}{unit}", trim_float(value))
}

/// Formats bytes with binary units, e.g. `"19KiB"` or `"1.5MiB"`.
pub fn format_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    let (value, unit) = match bytes {
        0..KIB => return format!("{bytes}B"),
        KIB..1_048_576 => (bytes as f64 / KIB as f64, "KiB"),
        1_048_576..1_073_741_824 => (bytes as f64 / 1_048_576.0, "MiB"),
        _ => (bytes as f64 / 1_073_741_824.0, "GiB"),
    };
    format!("{}{unit}", trim_float(value))
}

/// Three significant digits without trailing zeros: 1.40 -> "1.4", 19.0 -> "19".
fn trim_float(value: f64) -> String {
    let digits = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("250us").unwrap(), 250_000);
        assert_eq!(parse_duration("250µs").unwrap(), 250_000);
        assert_eq!(parse_duration("1.5ms").unwrap(), 1_500_000);
        assert_eq!(parse_duration("60s").unwrap(), 60_000_000_000);
        assert_eq!(parse_duration(" 7 ns ").unwrap(), 7);
        assert_eq!(parse_duration("0ms").unwrap(), 0);
    }

    #[test]
    fn durations_reject_bad_text() {
        assert!(matches!(
            parse_duration("5"),
            Err(UnitError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("5 parsecs"),
            Err(UnitError::Malformed { .. })
        ));
        assert!(matches!(
            parse_duration("-1ms"),
            Err(UnitError::Negative { .. })
        ));
        assert!(matches!(
            parse_duration("ms"),
            Err(UnitError::Malformed { .. })
        ));
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!(parse_size("20KiB").unwrap(), 20 * 1024);
        assert_eq!(parse_size("1.5MiB").unwrap(), 1_572_864);
        assert_eq!(parse_size("3MB").unwrap(), 3_000_000);
        assert_eq!(parse_size("512B").unwrap(), 512);
    }

    #[test]
    fn formatting_round_trips_through_parsing() {
        for ns in [0, 7, 1_400, 250_000, 1_500_000, 6_000_000_000] {
            let text = format_duration(ns);
            let back = parse_duration(&text).unwrap();
            assert!(
                (back as f64 - ns as f64).abs() <= ns as f64 * 0.01,
                "{ns} -> {text} -> {back}"
            );
        }
        assert_eq!(format_duration(1_400), "1.4us");
        assert_eq!(format_size(19 * 1024), "19KiB");
    }
}
