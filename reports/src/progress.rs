//! Progress on stderr: a bar on a terminal, one plain line per step otherwise (CI logs), nothing
//! with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How the job reports its steps.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    step: u64,
    total: u64,
}

impl Progress {
    /// A display for `total` steps; `quiet` shows nothing.
    pub fn new(total: u64, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            step: 0,
            total,
        }
    }

    /// A display that shows nothing.
    pub fn hidden() -> Self {
        Progress::new(0, true)
    }

    /// Starts the next step, described by `what`.
    pub fn start(&mut self, what: &str) {
        self.step += 1;
        if let Some(bar) = &self.bar {
            bar.set_position(self.step.saturating_sub(1));
            bar.set_message(what.to_string());
        } else if self.plain {
            eprintln!("reports [{}/{}] {what}", self.step, self.total);
        }
    }

    /// A detail within the current step (a measurement, a finished run).
    pub fn detail(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
    }

    /// A line that stays (a warning), above the bar if there is one.
    pub fn note(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.println(what),
            None if self.plain => eprintln!("reports: {what}"),
            None => {}
        }
    }

    /// Ends the display.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
