//! reports (in progress).
