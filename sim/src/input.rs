//! Reading the user's input files safely: only regular files, and never more than a stated cap,
//! so `/dev/zero`, a FIFO or a 100 GB file is refused with a message instead of exhausting
//! memory or blocking forever.

use std::io::Read;
use std::path::Path;

/// The largest scenario file read: 16 MiB (the biggest built-in is a few KiB).
pub const SCENARIO_CAP: u64 = 16 << 20;
/// The largest trace or `empirical(...)` samples file read: 1 GiB.
pub const DATA_CAP: u64 = 1 << 30;
/// The largest costs or pricing file read: 1 MiB.
pub const TABLE_CAP: u64 = 1 << 20;

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Nothing is at the path.
    #[error("{path}: no such file")]
    Missing {
        /// The path as given.
        path: String,
    },
    /// Something is there, but it is not a regular file.
    #[error("{path} is {kind}, not a regular file; name a {what} file")]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is (`a directory`, `a FIFO`, ...).
        kind: &'static str,
        /// What kind of file was expected (`scenario`, `trace`, ...).
        what: &'static str,
    },
    /// The file is larger than its cap.
    #[error("{path} is larger than {cap_mib} MiB, the limit for a {what} file; {advice}")]
    TooLarge {
        /// The path as given.
        path: String,
        /// The cap in MiB.
        cap_mib: u64,
        /// What kind of file it is.
        what: &'static str,
        /// What to do instead.
        advice: &'static str,
    },
    /// The file is not UTF-8.
    #[error("{path}:{line}:{column}: invalid UTF-8 (byte 0x{byte:02X}); save the file as UTF-8")]
    Utf8 {
        /// The path as given.
        path: String,
        /// 1-based line of the first bad byte.
        line: usize,
        /// 1-based column (characters) of the first bad byte.
        column: usize,
        /// The first bad byte.
        byte: u8,
    },
    /// The operating system refused (permissions, I/O error).
    #[error("cannot read {path}: {error}")]
    Os {
        /// The path as given.
        path: String,
        /// The OS error, printed once (not a `#[source]`).
        error: std::io::Error,
    },
}

/// What a non-regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Reads a regular file of at most `cap` bytes. `what` names the file's role in messages.
/// The cap is enforced while reading too, so a file that grows after the check cannot slip
/// past it.
pub fn read_capped(
    path: &Path,
    cap: u64,
    what: &'static str,
    advice: &'static str,
) -> Result<Vec<u8>, InputError> {
    let shown = || path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            InputError::Missing { path: shown() }
        } else {
            InputError::Os {
                path: shown(),
                error,
            }
        }
    })?;
    if !meta.is_file() {
        return Err(InputError::NotAFile {
            path: shown(),
            kind: file_kind(&meta),
            what,
        });
    }
    let too_large = || InputError::TooLarge {
        path: shown(),
        cap_mib: cap >> 20,
        what,
        advice,
    };
    if meta.len() > cap {
        return Err(too_large());
    }
    let os = |error| InputError::Os {
        path: shown(),
        error,
    };
    let file = std::fs::File::open(path).map_err(os)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(os)?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `cap` bytes; a byte that is not UTF-8 is
/// reported with its line and column.
pub fn read_text(
    path: &Path,
    cap: u64,
    what: &'static str,
    advice: &'static str,
) -> Result<String, InputError> {
    let bytes = read_capped(path, cap, what, advice)?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Everything before `at` is valid UTF-8, so the column counts characters.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        InputError::Utf8 {
            path: path.display().to_string(),
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column,
            byte: bytes[at],
        }
    })
}

impl InputError {
    /// True when nothing is at the path.
    pub fn is_missing(&self) -> bool {
        matches!(self, InputError::Missing { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_files_and_directories_are_named() {
        let dir = std::env::temp_dir();
        let e = read_capped(&dir, 10, "scenario", "").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_capped(Path::new("/dev/zero"), 10, "trace", "").unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let e = read_capped(Path::new("/nonexistent/x"), 10, "trace", "").unwrap_err();
        assert!(e.to_string().contains("no such file"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let e = read_capped(&fifo, 10, "trace", "").unwrap_err();
        assert!(e.to_string().contains("a FIFO"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_located() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"a = 1\nb = \"\xc3\xa9t\xe9\"\n").unwrap();
        let e = read_text(file.path(), 100, "scenario", "")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":2:8: invalid UTF-8 (byte 0xE9)"), "{e}");
    }

    #[test]
    fn the_cap_is_enforced() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), [b'x'; 11]).unwrap();
        assert!(matches!(
            read_capped(file.path(), 10, "costs", "split it"),
            Err(InputError::TooLarge { .. })
        ));
        assert_eq!(read_capped(file.path(), 11, "costs", "").unwrap().len(), 11);
    }
}
