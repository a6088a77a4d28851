//! The one error type of sweeps: a plan that cannot be expanded or read, a results file that
//! cannot be read or written or is held, records that do not read back or merge. A cause is
//! part of its message, never also its source, so a chain printed with `{:#}` names it once.

use std::io;
use std::path::PathBuf;

use super::shard::Owner;

/// What can go wrong with a sweep.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A plan file that cannot be expanded: the key (`toml` for a file that does not parse)
    /// and what is wrong.
    #[error("plan: {key}: {reason}")]
    Plan {
        /// The key.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A grid point the experiment refuses.
    #[error("plan: point {point} ({args}): {message}")]
    Point {
        /// Its index.
        point: usize,
        /// Its arguments, as on the command line.
        args: String,
        /// The experiment's message.
        message: String,
    },
    /// A file of the sweep cannot be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: io::Error,
    },
    /// A complete line of a results file that is not a JSON object, or not as it was written
    /// (its checksum).
    #[error("{path}: line {line} is corrupt ({reason}); the shard needs repair by hand")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Another live process holds the shard.
    #[error(
        "{path}: shard is being written by pid {} on {}; wait for it or stop it (if it was killed with SIGKILL on another host, remove this lock file)",
        .owner.pid, .owner.host
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it.
        owner: Owner,
    },
    /// A plan is there already, and it is another one.
    #[error(
        "{path} holds another plan; plan into a new directory (--out), or remove it to start over"
    )]
    OtherPlan {
        /// The plan file.
        path: PathBuf,
    },
    /// No plan in the directory.
    #[error(
        "{path}: no plan here ({reason}); make one with `radex sweep plan PLAN.toml --out DIR`"
    )]
    NoPlan {
        /// The plan file.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// A plan file that is not as `sweep plan` writes it (edited by hand, or cut).
    #[error(
        "corrupt plan {path}: {reason}; restore it, or plan the sweep again into a new directory (radex sweep plan PLAN.toml --out DIR)"
    )]
    CorruptPlan {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another runner deals the units to another number of shards: both would run the same
    /// units.
    #[error(
        "{lock}: shard {shard} of {shards} is being run by pid {} on {}, and this run deals the units to {of} shards, so both would run the same units; run with --shard I/{shards} while it runs, or wait for it to end (if it was killed with SIGKILL on another host, remove this lock file)",
        .owner.pid, .owner.host
    )]
    OtherSharding {
        /// The other runner's lock file.
        lock: PathBuf,
        /// Its shard.
        shard: usize,
        /// Its number of shards.
        shards: usize,
        /// Who holds it.
        owner: Owner,
        /// This run's number of shards.
        of: usize,
    },
    /// Results that do not belong to the plan, or that disagree.
    #[error("{0}")]
    Results(String),
    /// Units not done, at a merge without `--partial`.
    #[error(
        "{missing} of {total} units are not done ({failed} failed); run their shards (radex sweep status tells which), or merge the complete points with --partial"
    )]
    Incomplete {
        /// Units not done.
        missing: usize,
        /// Of them, failed.
        failed: usize,
        /// All units.
        total: usize,
    },
    /// The experiment refused a point at run or merge time.
    #[error(transparent)]
    Experiment(#[from] crate::error::Error),
    /// A record that cannot be written or read back: what is wrong.
    #[error("{0}")]
    Record(String),
    /// A record of a part that does not read back as the experiment's.
    #[error("a record of part {part} does not read back: {cause}")]
    PartRecord {
        /// The part's index.
        part: usize,
        /// Why.
        cause: String,
    },
    /// Records that do not make up the parts.
    #[error("part {part}: {got} records, expected {expected}")]
    Count {
        /// The part's index.
        part: usize,
        /// Records given.
        got: usize,
        /// The part's trials.
        expected: u64,
    },
    /// A point's records do not merge.
    #[error("point {point}: {cause}")]
    Merge {
        /// Its index.
        point: usize,
        /// Why.
        cause: Box<Error>,
    },
    /// Points whose reports have different CSV columns, merged as one CSV.
    #[error("point {point}'s CSV columns differ from point {first}'s; use --format json")]
    Columns {
        /// The point.
        point: usize,
        /// The first point merged.
        first: usize,
    },
    /// sbatch refused the script.
    #[error("sbatch refused '{}': {message}", .path.display())]
    Sbatch {
        /// The script.
        path: PathBuf,
        /// What sbatch said.
        message: String,
    },
}

/// A sweep's result.
pub type Result<T> = std::result::Result<T, Error>;

/// The [`Error::Io`] of `path`.
pub fn io_at(path: &std::path::Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    }
}

impl Error {
    /// An [`Error::Record`] saying `what`.
    pub fn record(what: impl Into<String>) -> Error {
        Error::Record(what.into())
    }
}
