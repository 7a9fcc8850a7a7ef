//! The exit-code convention shared with `sim`, `calibrate` and `reports`: 0 success, 1 a run
//! that failed (with its cause), 2 anything the user must fix (arguments, input files, output
//! paths), checked before any work.

/// An error the user must fix before anything runs: a bad argument, a missing package, a port
/// in use, an output path that cannot be written. Exits 2. Any other error exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Builds an [`anyhow::Error`] that exits 2, with a message that says what to fix.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// 2 when the error (or any cause in its chain) is a [`UsageError`], else 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.chain().any(|cause| cause.is::<UsageError>()) {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_even_with_context() {
        let error = usage("--concurrency must be at least 1").context("testbed load");
        assert_eq!(exit_code(&error), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("server exited")), 1);
    }
}
