//! Output paths, checked before any server starts: a grid or a scenario file that cannot be
//! written must fail in milliseconds (exit 2), not after minutes of measuring.

use std::path::Path;

use crate::error::usage;

/// Fails (exit 2) unless `path` can be written as a regular file: its directory exists, it is
/// not a directory, FIFO or device, and it can be opened for writing. Nothing that is there is
/// truncated; a file created by the probe is removed again.
pub fn check_writable(flag: &str, path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err(usage(format!("{flag}: the path is empty; name a file")));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(usage(format!(
            "{flag} {shown}: the directory {} does not exist",
            parent.display()
        )));
    }
    let existed = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => true,
        Ok(meta) => {
            return Err(usage(format!(
                "{flag} {shown} is {}, not a regular file; name a file",
                sim::input::file_kind(&meta)
            )));
        }
        Err(_) => false,
    };
    if let Err(e) = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
    {
        return Err(usage(format!("{flag} {shown}: cannot write it ({e})")));
    }
    if !existed {
        // The probe's removal failing changes nothing the user must know.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_devices_and_missing_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in [
            dir.path().to_path_buf(),
            "/dev/zero".into(),
            dir.path().join("missing/out.json"),
            "".into(),
        ] {
            let error = check_writable("--out", &bad).unwrap_err();
            assert_eq!(crate::error::exit_code(&error), 2, "{bad:?}: {error}");
        }
        let fresh = dir.path().join("out.json");
        check_writable("--out", &fresh).unwrap();
        assert!(!fresh.exists(), "the probe left its file behind");
        std::fs::write(&fresh, "kept").unwrap();
        check_writable("--out", &fresh).unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "kept");
    }
}
