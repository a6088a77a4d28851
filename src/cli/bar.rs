//! The CLI's progress: an indicatif bar on stderr that appears only once a stage has taken
//! about a second, and never when stderr is not a terminal; notes go to stderr as lines.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use radex::progress::Progress;

/// The bar of the current stage.
#[derive(Default)]
pub struct Bar {
    stage: Mutex<Option<(ProgressBar, Instant)>>,
    shown: AtomicBool,
}

impl Progress for Bar {
    fn start(&self, what: &str, len: u64) {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        self.shown.store(false, Ordering::Relaxed);
        *self.stage.lock().unwrap_or_else(|e| e.into_inner()) = Some((bar, Instant::now()));
    }

    fn inc(&self) {
        let stage = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((bar, start)) = stage.as_ref() {
            if !self.shown.load(Ordering::Relaxed) && start.elapsed() > Duration::from_secs(1) {
                self.shown.store(true, Ordering::Relaxed);
                // Hidden automatically when stderr is not a terminal.
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some((bar, _)) = self.stage.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}
