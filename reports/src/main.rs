//! `reports`: the talk's charts and a page that presents them. See `reports --help`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use reports::cli::Args;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reports: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = reports::job::run(&args)
        .with_context(|| format!("making the report in {}", args.out.display()))?;
    println!(
        "{} charts, page {} ({:.1} s)",
        summary.charts.len(),
        summary.page.display(),
        summary.seconds
    );
    for g in &summary.gallery {
        println!("gallery: {}", g.display());
    }
    for (what, why) in &summary.skipped {
        eprintln!("reports: skipped {what}: {why}");
    }
    Ok(())
}
