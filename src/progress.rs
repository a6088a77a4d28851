//! Progress of a run, reported to whoever runs it: the CLI draws a bar on stderr, the Python
//! package calls a function of the user's or says nothing. Numbers never depend on it.

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
}

/// Says nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn inc(&self) {}
}
