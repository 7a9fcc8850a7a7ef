//! Integration tests of the reports crate: every chart renders, its CSV holds what it plots,
//! the page references every file.

mod exit;
mod job;
mod page;
mod render;
mod sample;
