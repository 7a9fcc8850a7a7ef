//! The whole job behind `cargo run -p reports`: measure, simulate, draw, write the page.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::chart::{self, Chart, Written};
use crate::cli::Args;
use crate::error::ReportError;
use crate::gather::{self, Sim};
use crate::page::{self, PageInfo};
use crate::progress::Progress;

/// Charts the README shows, refreshed by `--gallery`.
pub const GALLERY: [&str; 6] = [
    "01-costs",
    "03-connections",
    "04-fastapi",
    "07-cores",
    "09-cpu",
    "11-slowdown",
];

/// What a run produced.
#[derive(Debug)]
pub struct Summary {
    /// `index.html`.
    pub page: PathBuf,
    /// The charts written.
    pub charts: Vec<Written>,
    /// Charts that could not be made, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Gallery files refreshed.
    pub gallery: Vec<PathBuf>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Steps the progress display counts: costs, eleven charts, the page, the gallery.
const STEPS: u64 = 14;

/// The charts made so far and the ones that could not be.
struct Book<'a> {
    out: &'a Path,
    footer: String,
    charts: Vec<Written>,
    skipped: Vec<(String, String)>,
}

impl Book<'_> {
    /// Writes the chart when its data could be gathered, else records why not.
    fn add<C: Chart>(
        &mut self,
        what: &str,
        data: Result<C, String>,
        progress: &Progress,
    ) -> Result<(), ReportError> {
        match data {
            Ok(c) => self.charts.push(chart::write(&c, self.out, &self.footer)?),
            Err(why) => {
                progress.note(&format!("skipped {what}: {why}"));
                self.skipped.push((what.to_string(), why));
            }
        }
        Ok(())
    }
}

/// Runs the job as `args` say.
pub fn run(args: &Args) -> Result<Summary, ReportError> {
    let start = Instant::now();
    let out = args.out.as_path();
    // Everything the user must fix fails here, before the measurements spend seconds, and
    // before any directory is created: the inputs first, then the outputs.
    if let Some(costs) = &args.costs {
        sim::scenario::CostOverrides::read_file(costs)
            .map_err(|e| ReportError::CostsFile(e.to_string()))?;
    }
    writable_dir("--out", out)?;
    if args.gallery {
        writable_dir("--gallery-dir", &args.gallery_dir)?;
    }
    let mut progress = Progress::new(STEPS, args.quiet);

    progress.start("measuring this machine's costs");
    let measured = gather::measure(&args.from_criterion, args.quick, &progress)?;
    for note in measured.notes.iter().filter(|n| n.starts_with("warning")) {
        progress.note(note);
    }
    let sim = Sim::new(&measured, args.costs.as_deref(), out, args.quick)?;
    let date = page::now();
    let mut book = Book {
        out,
        footer: format!("switchcost · {} · {}", measured.machine(), date),
        charts: Vec::new(),
        skipped: Vec::new(),
    };

    // The calibrate pass's budget says how far its curves could go (`None`: Criterion's).
    let budget = (!measured.source.starts_with("Criterion")).then(|| gather::budget(args.quick));
    book.add(
        "chart 1, costs",
        gather::costs(&measured, budget.as_ref()),
        &progress,
    )?;
    progress.start("chart 2: talk-count-switches on 1 and 2 cores");
    book.add(
        "chart 2, talk-count-switches",
        gather::switches(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 3: talk-apache-vs-nginx as connections grow");
    let connections = gather::connections(&sim, &progress);
    book.add(
        "chart 3, talk-apache-vs-nginx",
        connections.clone(),
        &progress,
    )?;
    progress.start("chart 4: fastapi-sleep");
    book.add(
        "chart 4, fastapi-sleep",
        gather::fastapi(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 5: recipe-api");
    book.add(
        "chart 5, recipe-api",
        gather::recipe(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 6: websocket-100k");
    book.add(
        "chart 6, websocket-100k",
        gather::websockets(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 7: what if more cores (1 to 64)");
    book.add(
        "chart 7, what if more cores",
        gather::cores(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 8: scale-up-vs-out priced");
    book.add(
        "chart 8, scale-up-vs-out",
        gather::pricing(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 9: where the CPU goes");
    book.add(
        "chart 9, where the CPU goes",
        gather::cpu(&sim, &progress),
        &progress,
    )?;
    progress.start("chart 10: simulated vs measured on this machine (testbed grid)");
    book.add(
        "chart 10, simulated vs measured",
        gather::testbed(&args.testbed_results),
        &progress,
    )?;

    progress.start("chart 11: why threads slow down");
    book.add(
        "chart 11, why threads slow down",
        gather::indirect::curves(&measured, budget.as_ref()).map(|indirect| {
            crate::chart::slowdown::Slowdown {
                indirect,
                connections,
            }
        }),
        &progress,
    )?;

    progress.start("writing index.html");
    let mut notes: Vec<String> = measured
        .notes
        .iter()
        .filter(|n| n.starts_with("warning"))
        .cloned()
        .collect();
    notes.push(format!(
        "Simulator costs from {}. Simulated figures come from sim's scenario files with these costs; \
         timings on a shared or virtual machine are noisy.",
        sim.costs_file.display()
    ));
    let info = PageInfo {
        machine: measured.machine(),
        date,
        costs_source: measured.source.clone(),
        sim_costs: sim.describe(),
        skipped: book.skipped.clone(),
        notes,
    };
    let page_path = page::write(out, &book.charts, &info)?;

    progress.start("gallery");
    let gallery = if args.gallery {
        refresh_gallery(&book.charts, &args.gallery_dir)?
    } else {
        Vec::new()
    };
    progress.finish();
    Ok(Summary {
        page: page_path,
        charts: book.charts,
        skipped: book.skipped,
        gallery,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Creates `dir` if missing and proves a file can be written there.
fn writable_dir(flag: &'static str, dir: &Path) -> Result<(), ReportError> {
    let problem = |what: String| ReportError::Output {
        flag,
        path: dir.to_path_buf(),
        problem: what,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(problem(
            "is not a directory; pass a directory (it is created if missing)".into(),
        ));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| problem(format!("cannot create it ({e}); pass a writable directory")))?;
    let probe = dir.join(".reports-write-check");
    std::fs::write(&probe, b"").map_err(|e| {
        problem(format!(
            "cannot write there ({e}); pass a writable directory"
        ))
    })?;
    // The probe's removal failing changes nothing the user must know.
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Copies the gallery's charts (PNG) into `dir`.
pub fn refresh_gallery(charts: &[Written], dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|error| ReportError::Io {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut done = Vec::new();
    for c in charts.iter().filter(|c| GALLERY.contains(&c.stem.as_str())) {
        let to = dir.join(format!("{}.png", c.stem));
        std::fs::copy(&c.png, &to).map_err(|error| ReportError::Io {
            path: to.clone(),
            error,
        })?;
        done.push(to);
    }
    Ok(done)
}
