//! The numbers behind a chart: one table, written as CSV and shown under the chart on the page.

use std::path::Path;

use crate::error::ChartError;
use crate::number;

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (a label, a model name).
    Text(String),
    /// A number, written to CSV at full precision and shown on the page with 4 significant figures.
    Num(f64),
    /// Not measured or not published.
    Missing,
}

impl Cell {
    /// The number in the cell, if it holds one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Cell::Num(v) => Some(*v),
            _ => None,
        }
    }

    /// The CSV field: numbers in Rust's shortest round-trip form, so the file holds exactly
    /// what was plotted.
    pub fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(v) => format!("{v}"),
            Cell::Missing => String::new(),
        }
    }

    /// The cell as the page shows it.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(v) if v.abs() >= 10_000.0 => number::grouped(*v),
            Cell::Num(v) => number::sig(*v, 4),
            Cell::Missing => "–".into(),
        }
    }
}

impl From<f64> for Cell {
    /// NaN is a figure sim could not give (a latency of a run that completed nothing): missing,
    /// so the CSV holds an empty field and the page a dash, as for `None`.
    fn from(v: f64) -> Self {
        if v.is_nan() {
            Cell::Missing
        } else {
            Cell::Num(v)
        }
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::Num(v as f64)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Cell::Missing, Cell::Num)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_string())
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

/// A header row and data rows; the header names carry units (`latency_p95_ms`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(headers: &[&str]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(
            row.len(),
            self.headers.len(),
            "row width differs from header"
        );
        self.rows.push(row);
    }

    /// The cells of the column named `header`.
    pub fn column(&self, header: &str) -> Option<Vec<&Cell>> {
        let i = self.headers.iter().position(|h| h == header)?;
        Some(self.rows.iter().filter_map(|r| r.get(i)).collect())
    }

    /// Writes the table as CSV.
    pub fn write_csv(&self, path: &Path) -> Result<(), ChartError> {
        let csv_err = |error| ChartError::Csv {
            path: path.to_path_buf(),
            error,
        };
        let mut w = csv::Writer::from_path(path).map_err(csv_err)?;
        w.write_record(&self.headers).map_err(csv_err)?;
        for row in &self.rows {
            w.write_record(row.iter().map(Cell::csv)).map_err(csv_err)?;
        }
        w.flush().map_err(|error| ChartError::Io {
            path: path.to_path_buf(),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_keeps_full_precision_and_the_page_rounds() {
        let c = Cell::from(0.1 + 0.2);
        assert_eq!(c.csv(), "0.30000000000000004");
        assert_eq!(c.display(), "0.3");
        assert_eq!(Cell::from(None).csv(), "");
        assert_eq!(Cell::from(123_456.7).display(), "123,457");
    }

    #[test]
    fn nan_is_missing() {
        assert_eq!(Cell::from(f64::NAN), Cell::Missing);
        assert_eq!(Cell::from(f64::NAN).csv(), "");
    }

    #[test]
    fn csv_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut t = Table::new(&["label", "value_ns"]);
        t.push(vec!["a, with comma".into(), 1.25.into()]);
        t.push(vec!["b".into(), Cell::Missing]);
        t.write_csv(&path).unwrap();
        let mut r = csv::Reader::from_path(&path).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(&rows[0][0], "a, with comma");
        assert_eq!(rows[0][1].parse::<f64>().unwrap(), 1.25);
        assert_eq!(&rows[1][1], "");
    }
}
