//! micro (in progress).
