//! The `--out` results file of `sim sweep`: checked before any work, appended to one flushed
//! row at a time, and read back for the cheapest row.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::sweep::SweepRow;

/// An output path that cannot be used; found before any work, exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {path}: {problem}")]
pub struct OutputError {
    flag: &'static str,
    path: String,
    problem: String,
}

/// Fails unless `path` is a regular file (or nothing yet) that can be appended to: a directory
/// or a FIFO (which would block the sweep forever) is refused. Nothing is truncated; a file
/// created by the probe is removed again.
pub(super) fn check_output(flag: &'static str, path: &Path) -> anyhow::Result<()> {
    let problem = |problem: String| OutputError {
        flag,
        path: path.display().to_string(),
        problem,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(problem("is a directory; name a CSV file".into()))?,
        Ok(m) if !m.is_file() => Err(problem(format!(
            "is not a regular file ({}); name a CSV file",
            crate::input::file_kind(&m)
        )))?,
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => Err(problem(format!("cannot be read ({e})")))?,
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| problem(format!("cannot be written ({e}); name a writable file")))?;
    if !existed {
        // The probe's file goes again; the sweep creates it when the first row is ready.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// A results file that rows are appended to, one flushed line at a time, so an interrupted
/// sweep keeps every finished row.
pub(super) struct AppendCsv {
    writer: csv::Writer<std::fs::File>,
    path: PathBuf,
}

impl AppendCsv {
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        drop_partial_line(path)?;
        let empty = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {} to append results", path.display()))?;
        let writer = csv::WriterBuilder::new()
            .has_headers(empty)
            .from_writer(file);
        Ok(AppendCsv {
            writer,
            path: path.to_path_buf(),
        })
    }

    pub(super) fn append(&mut self, row: &SweepRow) -> anyhow::Result<()> {
        self.writer
            .serialize(row)
            .and_then(|()| Ok(self.writer.flush()?))
            .with_context(|| format!("appending a row to {}", self.path.display()))
    }
}

/// An interrupted write can leave half a row at the end of the file; cut it off so the next
/// row starts on its own line (that point is simply run again).
fn drop_partial_line(path: &Path) -> anyhow::Result<()> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| format!("reading {}", path.display()));
        }
    };
    if text.is_empty() || text.ends_with(b"\n") {
        return Ok(());
    }
    let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(keep as u64))
        .with_context(|| format!("cutting a partial last row off {}", path.display()))
}

/// The rows of a results file.
pub(super) fn read_rows(path: &Path) -> anyhow::Result<Vec<SweepRow>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {} back", path.display()))?;
    let mut rows = Vec::new();
    for row in reader.deserialize::<SweepRow>() {
        rows.push(row.with_context(|| format!("reading {} back", path.display()))?);
    }
    Ok(rows)
}
