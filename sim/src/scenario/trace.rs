//! Trace files for `kind = "trace"`: when each request arrives, and optionally how long each of
//! its steps takes.
//!
//! Two formats are read:
//! - CSV: `offset[,step1,step2,...]` per line, an optional header line, `#` comments. Offsets and
//!   step durations are integer nanoseconds or durations with units (`"1.5ms"`). With step
//!   columns there must be one per step of `[request]`.
//! - The TSV that ApacheBench writes with `ab -g`: a header starting with `starttime`, then one
//!   row per request whose second column is the start time in whole Unix seconds. Requests that
//!   started in the same second are spread evenly over it, in file order; the step durations
//!   come from the scenario's distributions.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{ScenarioError, Source};
use crate::config::TraceRow;
use crate::time::{MAX_DURATION_NS, MAX_RUN_NS};
use crate::unit::parse_duration;

/// A trace that cannot be read.
#[derive(Debug)]
pub(crate) enum TraceError {
    Input(crate::input::InputError),
    /// A bad field or row: 1-based line and column in the trace file.
    At {
        path: PathBuf,
        text: String,
        line: usize,
        column: usize,
        message: String,
    },
}

impl TraceError {
    /// As a scenario error: a bad row points into the trace file; a missing file points at the
    /// scenario's `file = ...`.
    pub(crate) fn into_scenario_error(self, source: &Source, span: Range<usize>) -> ScenarioError {
        match self {
            TraceError::Input(e) if e.is_missing() => source.at(
                span,
                &format!("trace file {e}; paths are relative to the scenario file"),
            ),
            // Invalid UTF-8 is located in the trace itself.
            TraceError::Input(e @ crate::input::InputError::Utf8 { .. }) => e.into(),
            TraceError::Input(e) => source.at(span, &format!("trace file {e}")),
            TraceError::At {
                path,
                text,
                line,
                column,
                message,
            } => {
                let origin = path.display().to_string();
                Source::new(&text, &origin).at_line(line, column, &message)
            }
        }
    }
}

/// Reads a trace for a request of `step_count` steps; rows come back sorted by offset.
pub(crate) fn read(path: &Path, step_count: usize) -> Result<Vec<TraceRow>, TraceError> {
    let text = crate::input::read_text(
        path,
        crate::input::DATA_CAP,
        "trace",
        "a trace of more than a gigabyte needs to be cut into shorter runs",
    )
    .map_err(TraceError::Input)?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let result = if first.trim_start().starts_with("starttime\t") {
        read_ab(&text)
    } else {
        read_csv(&text, step_count)
    };
    let mut rows = result.map_err(|(line, column, message)| TraceError::At {
        path: path.to_path_buf(),
        text: text.clone(),
        line,
        column,
        message,
    })?;
    if rows.is_empty() {
        return Err(TraceError::At {
            path: path.to_path_buf(),
            text: text.clone(),
            line: 1,
            column: 1,
            message:
                "the trace holds no requests; write one line per request: offset[,step durations]"
                    .into(),
        });
    }
    // Stable: equal offsets keep file order.
    rows.sort_by_key(|r| r.offset);
    Ok(rows)
}

type RowError = (usize, usize, String);

/// Fields of a line with the 1-based character column where each starts.
fn fields(line: &str, separator: char) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in line.split(separator) {
        let leading = piece.len() - piece.trim_start().len();
        out.push((line[..start + leading].chars().count() + 1, piece.trim()));
        start += piece.len() + separator.len_utf8();
    }
    out
}

fn duration_field(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(ns) if ns > MAX_DURATION_NS => Err(format!(
            "{ns} ns is longer than 365 days, the longest a scenario may configure"
        )),
        Ok(ns) => Ok(ns),
        Err(_) => parse_duration(text).map_err(|e| e.to_string()),
    }
}

fn offset_field(text: &str) -> Result<u64, String> {
    let ns = match text.parse::<u64>() {
        Ok(ns) => ns,
        Err(_) => parse_duration(text).map_err(|e| e.to_string())?,
    };
    if ns > MAX_RUN_NS {
        return Err(format!(
            "{ns} ns is later than 100 years, the latest a run may be planned to end (the simulated clock holds 584 years)"
        ));
    }
    Ok(ns)
}

/// A header names its columns: its first field is a word, not a number such as `nan` or `inf`.
fn looks_like_header(field: &str) -> bool {
    field
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && field.parse::<f64>().is_err()
}

fn read_csv(text: &str, step_count: usize) -> Result<Vec<TraceRow>, RowError> {
    let mut rows = Vec::new();
    let mut seen_data = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let cells = fields(line, ',');
        let (offset_column, offset_text) = cells[0];
        let offset = match offset_field(offset_text) {
            Ok(ns) => ns,
            // A header names its columns; it is allowed before the first row only.
            Err(_) if !seen_data && looks_like_header(offset_text) => {
                seen_data = true;
                continue;
            }
            Err(why) => {
                return Err((
                    number,
                    offset_column,
                    format!(
                        "arrival offset {offset_text:?} is not a duration ({why}); write nanoseconds (1500000) or a duration (\"1.5ms\")"
                    ),
                ));
            }
        };
        seen_data = true;
        let steps = if cells.len() == 1 {
            None
        } else {
            if cells.len() - 1 != step_count {
                return Err((
                    number,
                    cells[1].0,
                    format!(
                        "this row gives {} step durations but [request] has {step_count} steps; give all {step_count} or none",
                        cells.len() - 1
                    ),
                ));
            }
            let mut steps = Vec::with_capacity(step_count);
            for &(column, cell) in &cells[1..] {
                steps.push(duration_field(cell).map_err(|why| {
                    (
                        number,
                        column,
                        format!("step duration {cell:?} is not a duration ({why}); write e.g. 1500000 or \"1.5ms\""),
                    )
                })?);
            }
            Some(steps)
        };
        rows.push(TraceRow { offset, steps });
    }
    Ok(rows)
}

fn read_ab(text: &str) -> Result<Vec<TraceRow>, RowError> {
    let mut seconds = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("starttime") {
            continue;
        }
        let cells = fields(line, '\t');
        let Some(&(column, cell)) = cells.get(1) else {
            return Err((
                index + 1,
                1,
                "an ab -g row needs at least two tab-separated columns: starttime and seconds"
                    .into(),
            ));
        };
        let second: u64 = cell.parse().map_err(|_| {
            (
                index + 1,
                column,
                format!("the seconds column {cell:?} is not a whole number of Unix seconds"),
            )
        })?;
        seconds.push(second);
    }
    let Some(&start) = seconds.iter().min() else {
        return Ok(Vec::new());
    };
    let mut per_second: std::collections::BTreeMap<u64, u64> = Default::default();
    for &s in &seconds {
        *per_second.entry(s).or_default() += 1;
    }
    let mut placed: std::collections::BTreeMap<u64, u64> = Default::default();
    let rows = seconds
        .iter()
        .map(|&s| {
            let count = per_second[&s];
            let i = placed.entry(s).or_default();
            let offset = (s - start) * 1_000_000_000 + *i * 1_000_000_000 / count;
            *i += 1;
            TraceRow {
                offset,
                steps: None,
            }
        })
        .collect();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_units_and_steps() {
        let rows = read_csv("offset,cpu,io\n0,1ms,2ms\n500us,1000,2000\n", 2).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].offset, 500_000);
        assert_eq!(rows[0].steps, Some(vec![1_000_000, 2_000_000]));
    }

    #[test]
    fn csv_bad_row_names_line_and_column() {
        let err = read_csv("0\n10ms\n20 parsecs\n", 1).unwrap_err();
        assert_eq!((err.0, err.1), (3, 1));
        let err = read_csv("0, 1ms\n", 2).unwrap_err();
        assert_eq!((err.0, err.1), (1, 4));
        assert!(err.2.contains("2 steps"), "{}", err.2);
    }

    #[test]
    fn ab_rows_spread_within_their_second() {
        let tsv = "starttime\tseconds\tctime\tdtime\tttime\twait\n\
                   Mon Jan  1 00:00:01 2024\t1704067201\t0\t100\t100\t100\n\
                   Mon Jan  1 00:00:00 2024\t1704067200\t0\t100\t100\t100\n\
                   Mon Jan  1 00:00:00 2024\t1704067200\t0\t100\t100\t100\n";
        let rows = read_ab(tsv).unwrap();
        let offsets: Vec<u64> = rows.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, vec![1_000_000_000, 0, 500_000_000]);
    }
}
