//! Runs independent trials on a thread pool.
//!
//! Two workloads, two choices (STYLE 4): when several networks fit in memory at once, trials run
//! in parallel with sequential products inside; otherwise trials run one after another and each
//! product uses every thread. Either way every number is the same, since streams are keyed by
//! trial and products have a fixed summation order.

use std::ops::Range;
use std::sync::Mutex;

use faer::Par;
use rayon::prelude::*;

use crate::progress::{Progress, stop_if_cancelled};

/// Threads this machine runs at once (at least 1).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Thread count and memory budget of a run.
#[derive(Clone, Copy, Debug)]
pub struct Exec {
    /// Worker threads (resolved: at least 1).
    pub threads: usize,
    /// Bytes that may be used at once (None: unknown, assume the trials fit).
    pub memory_limit: Option<u128>,
}

impl Exec {
    /// `threads = 0` means all cores; more than the cores is capped at the cores (more
    /// workers than cores only add switching, and the numbers do not depend on the count).
    pub fn new(threads: usize, memory_limit: Option<u128>) -> Exec {
        let cores = available_threads();
        let threads = if threads == 0 {
            cores
        } else {
            threads.min(cores)
        };
        Exec {
            threads,
            memory_limit,
        }
    }

    /// The same threads, one trial at a time (each product on every thread): for trials that
    /// stream gigabytes through memory, where a second trial beside the first would double the
    /// resident set and gain nothing on a shared memory bus.
    pub fn one_at_a_time(&self) -> Exec {
        Exec {
            memory_limit: Some(0),
            ..*self
        }
    }

    /// How many trials may hold a network at once, given the bytes of one.
    pub fn concurrency(&self, per_trial_bytes: u128, trials: usize) -> usize {
        let fit = match self.memory_limit {
            Some(limit) => (limit / per_trial_bytes.max(1)).max(1) as usize,
            None => self.threads,
        };
        fit.min(self.threads).min(trials.max(1))
    }

    /// Runs `work(state, trial, par)` for `trial` in `0..n`, results in trial order. Each
    /// worker makes its `state` once with `init` (e.g. weight storage to reuse); results must
    /// not depend on it.
    pub fn run<S: Send, R: Send>(
        &self,
        n: usize,
        per_trial_bytes: u128,
        progress: &dyn Progress,
        init: impl Fn() -> S + Sync + Send,
        work: impl Fn(&mut S, u64, Par) -> R + Sync + Send,
    ) -> Vec<R> {
        self.run_range(0..n as u64, per_trial_bytes, progress, init, work)
    }

    /// [`Exec::run`] for the trials in `trials` only (a sweep's unit): trial `t` gets the
    /// same result as in a run of all of them, whatever the range. Before each trial it asks
    /// [`Progress::cancelled`], and unwinds with [`crate::progress::Cancelled`] when the run
    /// is to stop.
    pub fn run_range<S: Send, R: Send>(
        &self,
        trials: Range<u64>,
        per_trial_bytes: u128,
        progress: &dyn Progress,
        init: impl Fn() -> S + Sync + Send,
        work: impl Fn(&mut S, u64, Par) -> R + Sync + Send,
    ) -> Vec<R> {
        let n = (trials.end - trials.start) as usize;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .expect("could not start the thread pool");
        let parallel_trials =
            self.concurrency(per_trial_bytes, n) >= self.threads && self.threads > 1;
        pool.install(|| {
            if parallel_trials {
                // rayon calls `map_init`'s init once per split of the range, not once per
                // worker, so states go back to a shared pool when a split ends and the next
                // split takes one from there: a state is made about once per worker (once
                // per 64 MiB network in `radex attack`, instead of once per split).
                let spare = Mutex::new(Vec::new());
                trials
                    .into_par_iter()
                    .map_init(
                        || Pooled {
                            state: Some(spare.lock().unwrap().pop().unwrap_or_else(&init)),
                            spare: &spare,
                        },
                        |s, t| {
                            stop_if_cancelled(progress);
                            let r = work(s.state.as_mut().expect("present"), t, Par::Seq);
                            progress.inc();
                            r
                        },
                    )
                    .collect()
            } else {
                let mut s = init();
                trials
                    .map(|t| {
                        stop_if_cancelled(progress);
                        let r = work(&mut s, t, Par::rayon(self.threads));
                        progress.inc();
                        r
                    })
                    .collect()
            }
        })
    }
}

/// A worker state on loan from a pool, returned to it when dropped.
struct Pooled<'a, S> {
    state: Option<S>,
    spare: &'a Mutex<Vec<S>>,
}

impl<S> Drop for Pooled<'_, S> {
    fn drop(&mut self) {
        if let Some(s) = self.state.take() {
            if let Ok(mut spare) = self.spare.lock() {
                spare.push(s);
            }
        }
    }
}
