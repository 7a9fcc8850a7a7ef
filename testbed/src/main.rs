//! `testbed`: real servers, a real load generator, and the simulator's prediction beside each point.

use std::process::ExitCode;

use clap::Parser;
use testbed::cli::{Args, dispatch};
use testbed::error::exit_code;

fn main() -> ExitCode {
    let args = Args::parse();
    match dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}
