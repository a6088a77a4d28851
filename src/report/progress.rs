//! Progress on stderr: an indicatif bar that appears only once the work has taken about a
//! second, and never when stderr is not a terminal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress counter, possibly hidden.
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    /// A bar of `len` steps titled `what`; `enabled = false` gives a silent counter.
    pub fn new(what: &str, len: u64, enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            bar
        });
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    /// A counter that never draws.
    pub fn hidden() -> Progress {
        Progress::new("", 0, false)
    }

    /// Advances by one step.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            if !self.shown.load(Ordering::Relaxed) && self.start.elapsed() > Duration::from_secs(1)
            {
                self.shown.store(true, Ordering::Relaxed);
                // Hidden automatically when stderr is not a terminal.
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
