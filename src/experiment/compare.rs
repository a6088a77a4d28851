//! `--compare-init` (MATH 10, the paper's open question 3): a given network and the same
//! architecture at its random initialisation, measured on the same inputs and printed side by
//! side (`attack`) or one after the other (`linearity`, `bottleneck`). Each half is exactly the
//! report the subcommand prints for that network.

use serde::Serialize;

use super::attack::{self, AttackParams, AttackReport, TrialRecord};
use super::runner::Exec;
use crate::progress::Progress;
use crate::record::RunHeader;

/// A given network's report beside the one of its initialisation.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Comparison<R> {
    /// What ran (`command` is the subcommand's).
    #[serde(flatten)]
    pub run: RunHeader,
    /// The given network: the report of `radex COMMAND --model FILE`.
    pub given: R,
    /// The same architecture at initialisation: the report of `radex COMMAND --arch ..` with
    /// the given network's activation and outputs and the law flags, on the same inputs.
    pub init: R,
}

impl<R> Comparison<R> {
    /// The comparison of `command`, whose measurements are those of MATH `section`.
    pub fn new(command: &str, section: &str, given: R, init: R) -> Self {
        Comparison {
            run: RunHeader::new(
                command,
                &format!(
                    "MATH 10: a given network beside its random initialisation on the same inputs ({section} measurements)"
                ),
            ),
            given,
            init,
        }
    }
}

/// `radex attack --compare-init`.
pub type AttackComparison = Comparison<AttackReport>;

/// What `radex attack` prints: one report, or a comparison (`--compare-init`).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum AttackOutput {
    /// One run.
    One(Box<AttackReport>),
    /// A given network beside its initialisation.
    Compared(Box<AttackComparison>),
}

/// Trials `p` runs: its own, and its comparison's (for a progress bar).
pub fn attack_steps(p: &AttackParams) -> usize {
    p.trials + p.compare.as_ref().map_or(0, |q| q.trials)
}

/// Runs `p` and, with `--compare-init`, its initialisation after it.
pub fn run_attack(
    p: &AttackParams,
    exec: &Exec,
    progress: &dyn Progress,
    per_trial: bool,
) -> AttackOutput {
    let given = attack::run_trials(p, exec, progress);
    let init = p
        .compare
        .as_ref()
        .map(|q| attack::run_trials(q, exec, progress));
    attack_output(p, given, init, per_trial)
}

/// The output of `p` from its trials' records, and its initialisation's with `--compare-init`
/// (what [`run_attack`] measures, or a sweep's units merged).
pub fn attack_output(
    p: &AttackParams,
    given: Vec<TrialRecord>,
    init: Option<Vec<TrialRecord>>,
    per_trial: bool,
) -> AttackOutput {
    let given = attack::summarise(p, given, per_trial);
    match (&p.compare, init) {
        (Some(q), Some(init)) => {
            let init = attack::summarise(q, init, per_trial);
            AttackOutput::Compared(Box::new(Comparison::new("attack", "MATH 3", given, init)))
        }
        _ => AttackOutput::One(Box::new(given)),
    }
}
