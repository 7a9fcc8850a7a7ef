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
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2 when the user must fix an argument, input or output path; 1 when the job failed.
fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<reports::ReportError>())
        .map_or(1, reports::ReportError::exit_code)
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
