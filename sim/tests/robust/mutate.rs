//! Mutations of scenario files: bytes, lines, numbers, units and keys. Each mutation is plain
//! data (positions as fractions of the text), so proptest can generate and shrink it.

use proptest::prelude::*;

/// Values that break naive code: zero, negatives, the edges of u32 and u64, tiny and huge
/// floats, non-numbers.
pub const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "1e-9",
    "5e-324",
    "1e300",
    "nan",
    "inf",
    "-inf",
    "-0",
    "1.5",
    "0.0",
    "1_000",
    "0x10",
];

/// Unit suffixes, valid and not.
pub const UNITS: &[&str] = &[
    "ns", "us", "ms", "s", "m", "h", "d", "y", "µs", "KiB", "MiB", "GiB", "kb", "", "sec", "mss",
];

/// Keys of every table, to insert where they may or may not belong.
pub const KEYS: &[&str] = &[
    "parallel",
    "requests",
    "rate",
    "concurrency",
    "connections",
    "interval",
    "broadcast_at",
    "duration",
    "warmup",
    "rtt",
    "maxconn",
    "think",
    "machines",
    "cores",
    "loops",
    "workers",
    "threads",
    "processes",
    "offload",
    "quantum",
    "keepalive",
    "keepalive_requests",
    "seed",
    "max_events",
    "thread_switch",
    "task_switch",
    "thread_memory",
    "published",
    "blocking",
    "pool",
];

/// Keys of the tables the cache model and the kernel added (issues 12 and 13), with the table
/// each belongs in; [`Mutation::InsertInTable`] puts them there (or in a table of their own).
/// A name in brackets is an array of tables (`[[server]]`): the key goes into its first entry.
pub const TABLE_KEYS: &[(&str, &str)] = &[
    ("machine", "scheduler"),
    ("machine", "hz"),
    ("machine", "preempt"),
    ("machine", "hrtick"),
    ("machine", "l3_shared_by"),
    ("machine", "cores"),
    ("costs", "spawn_thread_cpu"),
    ("costs", "wakeup_cpu"),
    ("costs", "idle_wakeup_cpu"),
    ("costs", "idle_exit_latency"),
    ("costs", "idle_exit_latency_p99"),
    ("costs", "cache_l1d"),
    ("costs", "cache_l2"),
    ("costs", "cache_l3"),
    ("costs", "refill_l2_per_line"),
    ("costs", "refill_l3_per_line"),
    ("costs", "refill_memory_per_line"),
    ("costs", "stack_working_set"),
    ("costs", "interruptions"),
    ("costs", "line_latency"),
    ("costs", "thread_switch"),
    ("costs", "gil_switch_interval"),
    ("[[server]]", "gil"),
    ("[[server]]", "gil_switch_interval"),
    ("[[server]]", "lifo_slot"),
    ("[[server]]", "balance"),
    ("[[server]]", "quantum"),
    ("request", "working_set"),
    ("load", "think"),
    ("load", "maxconn"),
];

/// Keys of a step (an inline table in `steps`), for [`Mutation::InsertInStep`].
pub const STEP_KEYS: &[&str] = &["working_set", "parallel", "pool", "cpu", "io", "blocking"];

/// Values to give an inserted key.
pub const VALUES: &[&str] = &[
    "\"eevdf\"",
    "\"cfs\"",
    "\"rr\"",
    "\"none\"",
    "\"voluntary\"",
    "\"full\"",
    "\"lazy\"",
    "false",
    "250",
    "10001",
    "\"64KiB\"",
    "\"1GiB\"",
    "\"1TiB\"",
    "\"18446744073709551615B\"",
    "\"-1KiB\"",
    "\"15ns\"",
    "\"31536000s\"",
    "0",
    "-1",
    "4294967295",
    "18446744073709551615",
    "1e-9",
    "1e300",
    "nan",
    "\"1ms\"",
    "\"0ns\"",
    "\"200000s\"",
    "\"1000y\"",
    "\"exp(1ms)\"",
    "\"empirical(/dev/null)\"",
    "true",
    "{ rps = nan }",
    "[]",
    "\"\"",
    "[[1000, 1e300]]",
    "[[1, 99999.0]]",
    "[[1000000000, 0.4]]",
    "[[30000, 270.0], [20000, 5.0]]",
];

/// One change to a scenario's bytes.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replace the byte at a position.
    SetByte(f64, u8),
    /// Insert a byte.
    InsertByte(f64, u8),
    /// Delete a range of bytes (position, length).
    DeleteBytes(f64, u8),
    /// Delete a line.
    DeleteLine(f64),
    /// Duplicate a line.
    DuplicateLine(f64),
    /// Swap two lines.
    SwapLines(f64, f64),
    /// Replace the n-th number with one of [`NUMBERS`].
    Number(f64, usize),
    /// Replace the n-th unit suffix with one of [`UNITS`].
    Unit(f64, usize),
    /// Insert `key = value` after a line.
    InsertKey(f64, usize, usize),
    /// Truncate the text at a position.
    Truncate(f64),
    /// Insert one of [`TABLE_KEYS`] with one of [`VALUES`] right under its table's header
    /// (appending the table when the file has none).
    InsertInTable(usize, usize),
    /// Insert one of [`STEP_KEYS`] with one of [`VALUES`] into the n-th inline table.
    InsertInStep(f64, usize, usize),
}

/// Any mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        1 => (at.clone(), any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        1 => (at.clone(), any::<u8>()).prop_map(|(p, b)| Mutation::InsertByte(p, b)),
        1 => (at.clone(), any::<u8>()).prop_map(|(p, n)| Mutation::DeleteBytes(p, n)),
        1 => at.clone().prop_map(Mutation::DeleteLine),
        1 => at.clone().prop_map(Mutation::DuplicateLine),
        1 => (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (at.clone(), 0..NUMBERS.len()).prop_map(|(p, v)| Mutation::Number(p, v)),
        2 => (at.clone(), 0..UNITS.len()).prop_map(|(p, v)| Mutation::Unit(p, v)),
        3 => (at.clone(), 0..KEYS.len(), 0..VALUES.len())
            .prop_map(|(p, k, v)| Mutation::InsertKey(p, k, v)),
        1 => at.clone().prop_map(Mutation::Truncate),
        3 => (0..TABLE_KEYS.len(), 0..VALUES.len())
            .prop_map(|(k, v)| Mutation::InsertInTable(k, v)),
        2 => (at, 0..STEP_KEYS.len(), 0..VALUES.len())
            .prop_map(|(p, k, v)| Mutation::InsertInStep(p, k, v)),
    ]
}

fn index(fraction: f64, len: usize) -> usize {
    ((fraction * len as f64) as usize).min(len.saturating_sub(1))
}

fn lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Spans of numbers (digits with an optional sign, point and exponent).
fn numbers(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i].is_ascii_digit() && (i == 0 || !text[i - 1].is_ascii_alphanumeric()) {
            let start = if i > 0 && text[i - 1] == b'-' {
                i - 1
            } else {
                i
            };
            let mut end = i;
            while end < text.len()
                && (text[end].is_ascii_digit() || matches!(text[end], b'.' | b'e' | b'_'))
            {
                end += 1;
            }
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// Spans of unit suffixes: letters right after a digit.
fn units(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for i in 1..text.len() {
        if text[i].is_ascii_alphabetic() && text[i - 1].is_ascii_digit() {
            let end = (i..text.len())
                .find(|&j| !text[j].is_ascii_alphabetic())
                .unwrap_or(text.len());
            spans.push((i, end));
        }
    }
    spans
}

fn splice(text: &mut Vec<u8>, (start, end): (usize, usize), with: &[u8]) {
    text.splice(start..end, with.iter().copied());
}

/// Applies one mutation.
pub fn apply(text: &mut Vec<u8>, mutation: &Mutation) {
    let len = text.len();
    match *mutation {
        Mutation::SetByte(p, b) if len > 0 => text[index(p, len)] = b,
        Mutation::InsertByte(p, b) => text.insert(index(p, len + 1).min(len), b),
        Mutation::DeleteBytes(p, n) if len > 0 => {
            let start = index(p, len);
            text.drain(start..(start + n as usize % 8 + 1).min(len));
        }
        Mutation::DeleteLine(p) | Mutation::DuplicateLine(p) | Mutation::SwapLines(p, _) => {
            let mut ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let i = index(p, ls.len());
            match *mutation {
                Mutation::DeleteLine(_) => {
                    ls.remove(i);
                }
                Mutation::DuplicateLine(_) => {
                    let line = ls[i].clone();
                    ls.insert(i, line);
                }
                Mutation::SwapLines(_, q) => {
                    let j = index(q, ls.len());
                    ls.swap(i, j);
                }
                _ => {}
            }
            *text = ls.concat();
        }
        Mutation::Number(p, v) => {
            let spans = numbers(text);
            if !spans.is_empty() {
                splice(text, spans[index(p, spans.len())], NUMBERS[v].as_bytes());
            }
        }
        Mutation::Unit(p, v) => {
            let spans = units(text);
            if !spans.is_empty() {
                splice(text, spans[index(p, spans.len())], UNITS[v].as_bytes());
            }
        }
        Mutation::InsertKey(p, k, v) => {
            let mut ls = lines(text);
            let i = index(p, ls.len() + 1).min(ls.len());
            ls.insert(i, format!("{} = {}\n", KEYS[k], VALUES[v]).into_bytes());
            *text = ls.concat();
        }
        Mutation::Truncate(p) => text.truncate(index(p, len + 1)),
        Mutation::InsertInTable(k, v) => {
            let (table, key) = TABLE_KEYS[k];
            let line = format!("{key} = {}\n", VALUES[v]).into_bytes();
            let header = if table.starts_with('[') {
                table.to_string()
            } else {
                format!("[{table}]")
            };
            let mut ls = lines(text);
            match ls
                .iter()
                .position(|l| String::from_utf8_lossy(l).trim() == header)
            {
                Some(i) => ls.insert(i + 1, line),
                None => {
                    ls.push(format!("\n{header}\n").into_bytes());
                    ls.push(line);
                }
            }
            *text = ls.concat();
        }
        Mutation::InsertInStep(p, k, v) => {
            let opens: Vec<usize> = (0..len).filter(|&i| text[i] == b'{').collect();
            if !opens.is_empty() {
                let at = opens[index(p, opens.len())] + 1;
                let pair = format!(" {} = {},", STEP_KEYS[k], VALUES[v]);
                text.splice(at..at, pair.bytes());
            }
        }
        _ => {}
    }
}

#[test]
fn new_keys_land_in_their_tables() {
    let mut text = b"[machine]\ncores = 2\n\n[request]\nsteps = [{ cpu = \"1ms\" }]\n".to_vec();
    let hz = TABLE_KEYS.iter().position(|&(_, k)| k == "hz").unwrap();
    apply(&mut text, &Mutation::InsertInTable(hz, 8));
    let cache = TABLE_KEYS
        .iter()
        .position(|&(_, k)| k == "cache_l2")
        .unwrap();
    apply(&mut text, &Mutation::InsertInTable(cache, 10));
    apply(&mut text, &Mutation::InsertInStep(0.0, 0, 11));
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.starts_with("[machine]\nhz = 250\ncores = 2\n"),
        "{text}"
    );
    assert!(text.contains("[costs]\ncache_l2 = \"64KiB\"\n"), "{text}");
    assert!(text.contains("{ working_set = \"1GiB\", cpu"), "{text}");
}

#[test]
fn numbers_and_units_are_found() {
    let text = b"rate = 1000\nrtt = \"-2.5ms\"\nx1 = 3";
    let spans = numbers(text);
    let found: Vec<&[u8]> = spans.iter().map(|&(a, b)| &text[a..b]).collect();
    assert_eq!(found, [&b"1000"[..], b"-2.5", b"3"]);
    let spans = units(text);
    assert_eq!(&text[spans[0].0..spans[0].1], b"ms");
}
