//! `radex attack` (MATH 3, Theorem 1.1, Lemma 2.2): independent `(network, x)` pairs, the
//! one-step attack on each and optionally the standard attacks (ray, DeepFool, PGD, minimum
//! norm) on the same pairs, summarised beside the predictions. Its parameters are here; one
//! trial's attacks and record are in `trial.rs`, the summary of the records in `report.rs`.

mod report;
mod trial;

pub use report::*;
pub use trial::*;

use crate::arch::Arch;
use crate::attack::{Attack, Attacks, Domain};
use crate::attack::{LINE_BATCH, MinNormSettings, Norm, PgdSettings};
use crate::net::lazy::LAZY_LINE_BATCH;
use crate::net::{Sampler, Source};
use crate::rng::{self, InputLaw};
use crate::scalar::Precision;

/// Per-budget PGD flags: one `0`/`1` character per budget in JSON and CSV (`"0111"`), a
/// `Vec<bool>` in the record.
mod flags01 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<bool>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(flags) => s.serialize_str(
                &flags
                    .iter()
                    .map(|&f| if f { '1' } else { '0' })
                    .collect::<String>(),
            ),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<bool>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            t.chars()
                .map(|c| match c {
                    '0' => Ok(false),
                    '1' => Ok(true),
                    c => Err(serde::de::Error::custom(format!(
                        "expected '0' or '1' per budget, got '{c}'"
                    ))),
                })
                .collect()
        })
        .transpose()
    }
}

/// DeepFool settings.
#[derive(Clone, Copy, Debug)]
pub struct DeepFoolSettings {
    /// Overshoot of each step (default 0.02).
    pub overshoot: f64,
    /// Most iterations (default 50).
    pub max_iter: usize,
}

/// Parameters of an attack run.
#[derive(Clone, Debug)]
pub struct AttackParams {
    /// Architecture.
    pub arch: Arch,
    /// Seed.
    pub seed: u64,
    /// Number of independent `(network, x)` pairs.
    pub trials: usize,
    /// Attack to report.
    pub attack: Attacks,
    /// Element type.
    pub precision: Precision,
    /// Search the smallest step factor `c` (costs a few batched forward passes per trial).
    pub with_c: bool,
    /// DeepFool settings.
    pub deepfool: DeepFoolSettings,
    /// Minimum-norm attack settings.
    pub minnorm: MinNormSettings,
    /// PGD settings (budgets relative to `||x||`).
    pub pgd: PgdSettings,
    /// Where the networks come from (MATH 8 for `Lazy`).
    pub sampler: Sampler,
    /// Sampled per trial, or one given network.
    pub source: Source,
    /// Law of the inputs (MATH 9); with given `inputs`, only its domain (the box) applies.
    pub input: InputLaw,
    /// Inputs the user gave (MATH 10): trial `t` attacks row `t` instead of a sampled input.
    pub inputs: Option<GivenInputs>,
    /// The file the given network came from (MATH 10), for the report.
    pub model: Option<ModelFile>,
    /// `--compare-init`: the run of the same architecture at its random initialisation on the
    /// same inputs (MATH 10), exactly the parameters `radex attack` has for it.
    pub compare: Option<Box<AttackParams>>,
    /// The norm of the ray, DeepFool, PGD and the minimum-norm attack (MATH 3, "other norms";
    /// `pgd.norm` is the same); the one-step attack is Theorem 1.1's L2 step in either.
    pub norm: Norm,
}

/// Inputs given by the user (MATH 10), one per trial.
#[derive(Clone, Debug)]
pub struct GivenInputs {
    /// The rows, each of length `d`.
    pub rows: std::sync::Arc<Vec<Vec<f64>>>,
    /// Where they came from: the file's name, or `array` (the Python package's).
    pub source: String,
}

/// The file a given network came from (MATH 10).
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Its name (the last component of the path).
    pub file: String,
    /// Its container: `safetensors`, `npz` or `export`.
    pub format: String,
}

impl GivenInputs {
    /// The input of trial `t`: row `t` of `given`, else the one of `(seed, t)` sampled from
    /// `law` (MATH 9, 10); every experiment that takes `--inputs` calls this.
    pub fn input_of(
        given: Option<&GivenInputs>,
        law: InputLaw,
        seed: u64,
        t: u64,
        d: usize,
    ) -> Vec<f64> {
        match given {
            Some(g) => g.rows[t as usize].clone(),
            None => rng::input_of(law, seed, t, d),
        }
    }

    /// `||x||^2 / d` averaged over the first `trials` rows (the ones measured), which the
    /// predictions take for the law's `E ||x||^2 / d` (MATH 9).
    pub fn mean_sq(&self, trials: usize) -> f64 {
        let rows = &self.rows[..trials.min(self.rows.len())];
        let sum: f64 = rows
            .iter()
            .map(|r| r.iter().map(|v| v * v).sum::<f64>())
            .sum();
        let d = rows.first().map_or(0, Vec::len);
        sum / (rows.len() * d) as f64
    }
}

impl AttackParams {
    /// `E ||x||^2 / d` of the inputs the predictions assume (MATH 9): the law's, or for given
    /// inputs the mean over the rows attacked (as box inputs use `d/3`).
    pub fn mean_sq(&self) -> f64 {
        match &self.inputs {
            Some(g) => g.mean_sq(self.trials),
            None => self.input.mean_sq(),
        }
    }

    /// The input of trial `t` ([`GivenInputs::input_of`]).
    pub fn input_at(&self, t: u64) -> Vec<f64> {
        GivenInputs::input_of(self.inputs.as_ref(), self.input, self.seed, t, self.arch.d)
    }

    /// Parameters with the default DeepFool and PGD settings: overshoot 0.02, 50 iterations;
    /// budgets `{0.25, 0.5, 1, 2, 4} / sqrt(d)` relative to `||x||` (around the one-step size
    /// `1.35 / sqrt(d)`), 20 steps, no random start; dense networks.
    pub fn new(
        arch: Arch,
        seed: u64,
        trials: usize,
        attack: Attacks,
        precision: Precision,
    ) -> Self {
        let eps = default_eps(arch.d, Norm::L2);
        AttackParams {
            arch,
            seed,
            trials,
            attack,
            precision,
            with_c: true,
            deepfool: DeepFoolSettings {
                overshoot: 0.02,
                max_iter: 50,
            },
            minnorm: MinNormSettings::default(),
            pgd: PgdSettings {
                eps,
                steps: 20,
                random_start: false,
                domain: Domain::Free,
                norm: Norm::L2,
            },
            sampler: Sampler::Dense,
            source: Source::Sampled,
            input: InputLaw::Sphere,
            inputs: None,
            model: None,
            compare: None,
            norm: Norm::L2,
        }
    }
}

/// Default PGD budgets relative to `||x||`: `{0.25, 0.5, 1, 2, 4} / sqrt(d)` in L2, around the
/// linear flip `|Z| / sqrt(d)`; in Linf the same over `sqrt(2 d / pi)`, around the Linf one
/// (MATH 3, "other norms").
pub fn default_eps(d: usize, norm: Norm) -> Vec<f64> {
    let scale = (d as f64).sqrt() * norm.gaussian_dual_ratio(d);
    [0.25, 0.5, 1.0, 2.0, 4.0]
        .iter()
        .map(|c| c / scale)
        .collect()
}

impl AttackParams {
    /// Where attack points may lie: the box for box inputs (MATH 9).
    pub fn domain(&self) -> Domain {
        match self.input {
            InputLaw::Box => Domain::Box,
            _ => Domain::Free,
        }
    }

    /// Peak bytes of one trial (its network and the batch of a line search or of PGD).
    pub fn bytes_per_trial(&self) -> u128 {
        self.bytes_with(self.sampler)
    }

    /// [`AttackParams::bytes_per_trial`] if the networks came from `sampler`.
    pub fn bytes_with(&self, sampler: Sampler) -> u128 {
        let elem = self.precision.bytes();
        match sampler {
            Sampler::Dense => self
                .arch
                .dense_bytes(elem, LINE_BATCH.max(self.pgd.eps.len())),
            Sampler::Lazy => {
                // Refinement passes evaluate 3 points; PGD one per budget (PGD also runs as
                // the minimum-norm walk's start where nothing else flips).
                let pgd =
                    if self.attack.contains(Attack::Pgd) || self.attack.contains(Attack::Minnorm) {
                        self.pgd.eps.len()
                    } else {
                        0
                    };
                let batch = LAZY_LINE_BATCH.max(3).max(pgd);
                self.arch
                    .lazy_bytes(elem, self.queries_per_network(), batch)
            }
        }
    }

    /// Typical number of query vectors one network answers per layer (points evaluated and
    /// gradients taken), measured on lazy networks: x and its gradient; x' alone (`with_c`
    /// off), or the scan and refinement of `c_min`; the ray search (about 12); DeepFool (a
    /// forward and a backward per iteration, about 4 iterations); PGD (a forward and a backward
    /// per step and budget). What a lazy layer stores and costs grows with it.
    ///
    /// The `c_min` scan lengthens with depth, as `f` bends more along the line: revealed
    /// directions per layer averaged 3-5 at depth 2, 9-35 at depth 10 and 41-42 at depth 100
    /// (widths 128-1000, 20 trials each), so it counts `4 l` points, between 12 and 40.
    pub fn queries_per_network(&self) -> usize {
        let scan = self.arch.depth().saturating_mul(4).clamp(12, 40);
        let mut k = 2 + if self.with_c { scan } else { 1 };
        if self.attack.contains(Attack::Ray) {
            k += 12;
        }
        if self.attack.contains(Attack::Deepfool) {
            k += 8;
        }
        if self.attack.contains(Attack::Pgd) {
            k = k.saturating_add(self.pgd.steps.saturating_mul(2 * self.pgd.eps.len()));
        }
        if self.attack.contains(Attack::Minnorm) {
            // Its own start (DeepFool) when it does not run, and the walk.
            k += MINNORM_QUERIES;
        }
        k
    }
}

/// Query vectors per layer the minimum-norm attack asks of a network, typically (measured on
/// lazy networks: its start, the walk's linearisations and line searches).
const MINNORM_QUERIES: usize = 120;
