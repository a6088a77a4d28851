//! Progress of a run, reported to whoever runs it: the CLI draws a bar on stderr, the Python
//! package calls a function of the user's or says nothing. Numbers never depend on it.
//!
//! A front end may also stop a run between units of work (Ctrl-C in Python, an exception in
//! the user's function): [`Progress::cancelled`] says so, and the runner, which asks before
//! each trial, then unwinds with the payload [`Cancelled`] instead of returning (no result is
//! made of a run cut short; files being written are temporary until the run ends, so nothing
//! partial is left). A front end that cancels catches that unwind, e.g. as the `Err` of a
//! thread's `join`; one that never cancels (the CLI) sees no difference.

/// Receives the progress of a run.
pub trait Progress: Sync {
    /// A stage of `len` steps begins (`what` names it, e.g. `attack` or `[3/7] linearity`).
    fn start(&self, what: &str, len: u64) {
        let _ = (what, len);
    }

    /// One step of the stage is done (called from worker threads).
    fn inc(&self);

    /// The stage is done.
    fn finish(&self) {}

    /// A line for the user, e.g. the command an experiment of `reproduce` stands for.
    fn note(&self, text: &str) {
        let _ = text;
    }

    /// Whether the run is to stop before its next unit of work (called from worker threads,
    /// once per trial; default: never).
    fn cancelled(&self) -> bool {
        false
    }
}

/// The panic payload of a run stopped by [`Progress::cancelled`] (raised with
/// `std::panic::resume_unwind`, so no panic message is printed).
#[derive(Clone, Copy, Debug)]
pub struct Cancelled;

/// Unwinds with [`Cancelled`] when `progress` says the run is cancelled; returns otherwise.
///
/// ```
/// use radex::progress::{Cancelled, Progress, Quiet, stop_if_cancelled};
/// struct Stop;
/// impl Progress for Stop {
///     fn inc(&self) {}
///     fn cancelled(&self) -> bool {
///         true
///     }
/// }
/// stop_if_cancelled(&Quiet);
/// let e = std::panic::catch_unwind(|| stop_if_cancelled(&Stop)).unwrap_err();
/// assert!(e.is::<Cancelled>());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn stop_if_cancelled(progress: &dyn Progress) {
    if progress.cancelled() {
        std::panic::resume_unwind(Box::new(Cancelled));
    }
}

/// Says nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn inc(&self) {}
}
