//! `sim`: run scenario files, sweep core counts, replay the seed workloads.

use std::process::ExitCode;

use clap::Parser;
use sim::cli::{Args, dispatch, exit_code};

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    dispatch(args)
}
