//! `radex attack` (MATH 3, Theorem 1.1, Lemma 2.2): independent `(network, x)` pairs, the
//! one-step attack on each and optionally the standard attacks (ray, DeepFool, PGD-L2) on the
//! same pairs, summarised beside the predictions.

use std::ops::Range;

use crate::record::RunHeader;
use faer::Par;
use serde::Serialize;

use super::runner::Exec;
use crate::arch::{Arch, Family, Init};
use crate::attack::onestep::{Linearisation, linearise, one_step_from};
use crate::attack::{Attack, Attacks, Domain, clip_to_box, f_at};
use crate::attack::{
    LINE_BATCH, MinNormSettings, Norm, PgdSettings, deepfool, minnorm, pgd, ray_flip,
};
use crate::experiment::predict::{Law, Quantile};
use crate::measure::stats::{Band, Summary, wilson};
use crate::net::lazy::LAZY_LINE_BATCH;
use crate::net::{Labelled, Layers, Net, Sampler, Scaled, Source};
use crate::progress::Progress;
use crate::rng::{self, InputLaw};
use crate::scalar::{Precision, Real};

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

/// The raw record of one trial (`--per-trial`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct TrialRecord {
    /// Seed of the run.
    pub seed: u64,
    /// Trial index: network and input come from the streams of `(seed, trial)`.
    pub trial: u64,
    /// Dead network at `x` (`f = 0`, `grad f = 0`); excluded from every statistic.
    pub dead: bool,
    /// `f(x)` (may underflow to 0 at extreme depth; see `log2_abs_f`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f: f64,
    /// `log2 |f(x)|`, finite at any depth.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub log2_abs_f: f64,
    /// `||grad f(x)||` (may underflow at extreme depth; see `log2_grad_norm`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub grad_norm: f64,
    /// `log2 ||grad f(x)||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub log2_grad_norm: f64,
    /// One-step relative perturbation `||x' - x|| / ||x||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho: f64,
    /// `rho * sqrt(d)` (prediction: distributed like `2|Z|`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho_sqrt_d: f64,
    /// `f(x')` at the one-step point, evaluated.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_adv: f64,
    /// `f(x') / f(x)` (prediction: tends to -1).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_ratio: f64,
    /// One-step success: `sign f(x') != sign f(x)`, a landing on `f(x') = 0` included.
    pub success: bool,
    /// The one step landed on `f(x') = 0` exactly (MATH 3: a flip, counted apart).
    pub landed_on_zero: bool,
    /// `| |f(x')| - |f(x)| | <= 1e-12 |f(x)|`: rounding decides the clause, so it counts as
    /// neither outcome (MATH 3).
    pub clause_tie: bool,
    /// The clause alone, `|f(x')| >= |f(x)|`, not a tie.
    pub clause_holds: bool,
    /// Smallest step factor `c >= 2` with the sign flipped and `|f(x')| >= |f(x)|`.
    pub c_min: Option<f64>,
    /// The linear prediction of the smallest flip in the run's norm (MATH 3, "other norms"),
    /// `|f(x)| / (||grad f(x)||_q ||x||)` (`q` = 2 in L2, 1 in Linf); NaN when dead.
    #[serde(
        default = "crate::record::nan::missing",
        deserialize_with = "crate::record::nan::f64"
    )]
    pub linear_rho: f64,
    /// Ray attack: `t ||grad f(x)||_q / |f(x)|` (prediction 1).
    pub ray_t_ratio: Option<f64>,
    /// Ray attack: `t / ||x||`.
    pub ray_rho: Option<f64>,
    /// Ray attack found a verified flip.
    pub ray_success: Option<bool>,
    /// DeepFool: `||x' - x|| / ||x||` at its flip.
    pub deepfool_rho: Option<f64>,
    /// DeepFool found a verified flip.
    pub deepfool_success: Option<bool>,
    /// DeepFool iterations.
    pub deepfool_iterations: Option<usize>,
    /// Minimum-norm attack: `||x' - x|| / ||x||` at its nearest verified flip (every `_rho`
    /// but the one-step `rho` is a distance in the run's norm over the L2 norm of `x`).
    #[serde(default)]
    pub minnorm_rho: Option<f64>,
    /// The minimum-norm attack found a verified flip.
    #[serde(default)]
    pub minnorm_success: Option<bool>,
    /// Its walk's iterations.
    #[serde(default)]
    pub minnorm_iterations: Option<usize>,
    /// PGD: one character per budget of `--eps` (in order), `1` for a verified flip.
    #[serde(with = "flags01", default)]
    pub pgd_success: Option<Vec<bool>>,
    /// PGD: the smallest budget with a flip.
    pub pgd_min_eps: Option<f64>,
    /// PGD: `||x' - x|| / ||x||` of the flip at that budget.
    pub pgd_rho: Option<f64>,
    /// Smallest verified flipping perturbation `||x' - x|| / ||x||` over the attacks run.
    pub best_rho: Option<f64>,
    /// The attack that found it.
    pub best_attack: Option<Attack>,
    /// The unscaled forward pass overflowed at `x` (MATH 9): no number is reported, and the
    /// trial is excluded from every statistic.
    #[serde(default)]
    pub overflow: bool,
    /// For `K >= 2`: the label `y = argmax F(x)` whose margin is attacked (MATH 9).
    #[serde(default)]
    pub label: Option<usize>,
    /// Box inputs (MATH 9): whether clipping the one-step point to `[0, 1]^d` moved it.
    #[serde(default)]
    pub clip_active: Option<bool>,
    /// Box inputs: the one-step point clipped to the box flips (evaluated).
    #[serde(default)]
    pub clipped_success: Option<bool>,
    /// Box inputs: `||clip(x') - x|| / ||x||`.
    #[serde(default)]
    pub clipped_rho: Option<f64>,
}

impl TrialRecord {
    /// `f(x) / 2^log2_scale`, from the carried logarithm: finite at any depth.
    pub fn f_over_scale(&self, log2_scale: f64) -> f64 {
        self.f.signum() * (self.log2_abs_f - log2_scale).exp2()
    }

    /// `||grad f(x)|| / 2^log2_scale`, from the carried logarithm.
    pub fn grad_norm_over_scale(&self, log2_scale: f64) -> f64 {
        (self.log2_grad_norm - log2_scale).exp2()
    }
}

/// Runs one trial on a freshly sampled network (from `p.sampler`).
pub fn trial<T: Real>(p: &AttackParams, t: u64, par: Par) -> TrialRecord {
    let mut net = p.source.net::<T>(p.sampler, &p.arch, p.seed, t);
    trial_on(p, &mut net, t, par)
}

/// Runs trial `t` on `net`, which must hold the network of `(p.seed, t)`.
pub fn trial_on<T: Real, N: Layers<T> + ?Sized>(
    p: &AttackParams,
    net: &mut N,
    t: u64,
    par: Par,
) -> TrialRecord {
    let x = p.input_at(t);
    let lin = linearise::<T, _>(net, &x, par);
    // K >= 2: every attack works on the margin of the label at x (MATH 9).
    match lin.trace.label.first().copied() {
        Some(y) if !lin.dead => {
            let mut r = attacks(p, &mut Labelled { net, label: y }, t, x, lin, par);
            r.label = Some(y);
            r
        }
        _ => attacks(p, net, t, x, lin, par),
    }
}

/// The attacks of trial `t` at `x`, given the linearisation there.
fn attacks<T: Real, N: Layers<T> + ?Sized>(
    p: &AttackParams,
    net: &mut N,
    t: u64,
    x: Vec<f64>,
    lin: Linearisation<T>,
    par: Par,
) -> TrialRecord {
    let domain = p.domain();
    // The minimum-norm walk starts from DeepFool's flip, else the ray's, else PGD's nearest
    // (deep networks), each run here when the walk needs it even if not reported, so its result
    // does not depend on what else runs. (Starting from the nearer of DeepFool's and the ray's
    // flips gave the same minima to 1e-3 on 60 networks of issue 14, and the ray costs about
    // five DeepFool runs.)
    let start = p.attack.contains(Attack::Minnorm);
    let norm = p.norm;
    let df = (start || p.attack.contains(Attack::Deepfool)).then(|| {
        deepfool(
            net,
            &x,
            &lin,
            p.deepfool.overshoot,
            p.deepfool.max_iter,
            norm,
            domain,
            par,
        )
    });
    let df_flip = df.as_ref().and_then(|d| d.x_adv.as_deref());
    let ray = (p.attack.contains(Attack::Ray) || (start && df_flip.is_none()))
        .then(|| ray_flip(net, &x, &lin, norm, domain, par));
    let ray_point = ray
        .and_then(|r| r.t)
        .map(|t| domain.point(&x, &lin.steepest(norm).0, t));
    let first_flip = df_flip.or(ray_point.as_deref());
    let pgd = (p.attack.contains(Attack::Pgd) || (start && first_flip.is_none()))
        .then(|| pgd(net, &x, lin.f, &p.pgd, p.seed, t, par));
    let norm_x = crate::vector::norm(&x);
    let mn = start.then(|| {
        let pgd_flips = pgd.iter().flatten().filter_map(|r| r.x_adv.as_deref());
        let nearest_pgd =
            pgd_flips.min_by(|a, b| norm.distance(a, &x).total_cmp(&norm.distance(b, &x)));
        let from = first_flip.or(nearest_pgd);
        minnorm(net, &x, &lin, from, &p.minnorm, norm, domain, par)
    });
    // Only the attacks asked for are reported.
    let ray = ray.filter(|_| p.attack.contains(Attack::Ray));
    let df = df.filter(|_| p.attack.contains(Attack::Deepfool));
    let pgd = pgd.filter(|_| p.attack.contains(Attack::Pgd));
    let s = one_step_from(net, &x, lin, p.with_c, par);
    // Box inputs: the one-step point clipped to [0, 1]^d, evaluated (MATH 9).
    let clipped = (p.input == InputLaw::Box && !s.dead).then(|| {
        let step = 2.0 * s.t_lin;
        let mut xc: Vec<f64> = x
            .iter()
            .zip(&s.direction)
            .map(|(a, u)| a + step * u)
            .collect();
        let active = clip_to_box(&mut xc);
        let fc = f_at(net, &xc, x.len(), par)[0];
        let diff: Vec<f64> = xc.iter().zip(&x).map(|(a, b)| a - b).collect();
        (
            active,
            fc.flipped_from(s.f),
            crate::vector::norm(&diff) / norm_x,
        )
    });
    let sqrt_d = (p.arch.d as f64).sqrt();
    // The smallest budget that flipped, whatever order the budgets were given in.
    let pgd_best = pgd.as_ref().and_then(|runs| {
        runs.iter()
            .filter(|r| r.rho.is_some())
            .min_by(|a, b| a.eps.total_cmp(&b.eps))
    });
    let ray_rho = ray.and_then(|r| {
        r.t.map(|t| match domain {
            Domain::Free => t / norm_x,
            Domain::Box => norm.distance(ray_point.as_ref().expect("the ray flipped"), &x) / norm_x,
        })
    });
    // The linear prediction of the smallest flip in the norm (MATH 3).
    let linear_rho = if s.dead {
        f64::NAN
    } else {
        norm.steepest(&s.direction, s.t_lin).1 / norm_x
    };
    // Every candidate below is a verified flip, in the run's norm (the one-step point is an
    // L2 step: a candidate in L2 only).
    let best = [
        (
            Attack::Onestep,
            s.success.then_some(s.rho).filter(|_| norm == Norm::L2),
        ),
        (Attack::Ray, ray_rho),
        (Attack::Deepfool, df.as_ref().and_then(|d| d.rho)),
        (Attack::Pgd, pgd_best.and_then(|r| r.rho)),
        (Attack::Minnorm, mn.as_ref().and_then(|m| m.rho)),
    ]
    .into_iter()
    .filter_map(|(name, rho)| rho.map(|r| (name, r)))
    .min_by(|a, b| a.1.total_cmp(&b.1));
    TrialRecord {
        seed: p.seed,
        trial: t,
        dead: s.dead && !s.overflow,
        overflow: s.overflow,
        label: None,
        clip_active: clipped.map(|c| c.0),
        clipped_success: clipped.map(|c| c.1),
        clipped_rho: clipped.map(|c| c.2),
        f: s.f.value(),
        log2_abs_f: s.f.log2_abs(),
        grad_norm: s.grad_norm.value(),
        log2_grad_norm: s.grad_norm.log2_abs(),
        rho: s.rho,
        rho_sqrt_d: s.rho * sqrt_d,
        f_adv: s.f_adv.value(),
        f_ratio: if s.dead { f64::NAN } else { s.f_adv.ratio(s.f) },
        success: s.success,
        landed_on_zero: !s.dead && s.f_adv.is_zero(),
        clause_tie: !s.dead && clause_tie(s.f_adv, s.f),
        clause_holds: !s.dead && !clause_tie(s.f_adv, s.f) && s.f_adv.ratio(s.f).abs() >= 1.0,
        c_min: s.c_min,
        linear_rho,
        ray_t_ratio: ray.and_then(|r| r.t_ratio),
        ray_rho,
        ray_success: ray.map(|r| r.f_adv.is_some()),
        deepfool_rho: df.as_ref().and_then(|d| d.rho),
        deepfool_success: df.as_ref().map(|d| d.rho.is_some()),
        deepfool_iterations: df.as_ref().map(|d| d.iterations),
        minnorm_rho: mn.as_ref().and_then(|m| m.rho),
        minnorm_success: mn.as_ref().map(|m| m.rho.is_some()),
        minnorm_iterations: mn.as_ref().map(|m| m.iterations),
        pgd_success: pgd
            .as_ref()
            .map(|runs| runs.iter().map(|r| r.rho.is_some()).collect()),
        pgd_min_eps: pgd_best.map(|r| r.eps),
        pgd_rho: pgd_best.and_then(|r| r.rho),
        best_rho: best.map(|b| b.1),
        best_attack: best.map(|b| b.0),
    }
}

/// Relative tolerance within which `|f(x')|` and `|f(x)|` tie (MATH 3).
pub const CLAUSE_TIE: f64 = 1e-12;

/// Whether `|f(x')|` and `|f(x)|` tie: `| |f(x')| - |f(x)| | <= 1e-12 |f(x)|` (MATH 3).
fn clause_tie(f_adv: Scaled, f: Scaled) -> bool {
    (f_adv.ratio(f).abs() - 1.0).abs() <= CLAUSE_TIE
}

/// Lazy trials above this estimate run one at a time ([`Exec::one_at_a_time`]).
pub const LAZY_SOLO_BYTES: u128 = 1 << 30;

/// Runs every trial.
pub fn run_trials(p: &AttackParams, exec: &Exec, progress: &dyn Progress) -> Vec<TrialRecord> {
    run_trial_range(p, 0..p.trials as u64, exec, progress)
}

/// Runs the trials in `trials` (a sweep's unit): each record is the one [`run_trials`] gives
/// for that trial.
pub fn run_trial_range(
    p: &AttackParams,
    trials: Range<u64>,
    exec: &Exec,
    progress: &dyn Progress,
) -> Vec<TrialRecord> {
    let bytes = p.bytes_per_trial();
    let solo;
    let exec = if p.sampler == Sampler::Lazy && bytes > LAZY_SOLO_BYTES {
        solo = exec.one_at_a_time();
        &solo
    } else {
        exec
    };
    fn go<T: Real>(
        p: &AttackParams,
        trials: Range<u64>,
        exec: &Exec,
        bytes: u128,
        progress: &dyn Progress,
    ) -> Vec<TrialRecord> {
        // Each worker keeps one network's storage and redraws it per trial.
        exec.run_range(
            trials,
            bytes,
            progress,
            || None::<Net<T>>,
            |slot, t, par| {
                let net = match slot {
                    Some(net) => {
                        p.source.renew(net, p.seed, t);
                        net
                    }
                    None => slot.insert(p.source.net::<T>(p.sampler, &p.arch, p.seed, t)),
                };
                trial_on(p, net, t, par)
            },
        )
    }
    crate::with_real!(p.precision, T => go::<T>(p, trials, exec, bytes, progress))
}

/// Lemma 2.2 scales: `f(x) ~ N(0, s^2)` and `||grad f(x)|| ~ s`, with `s = 2^{-l/2}` under
/// NN-DEF and `s = sqrt 2` under He (MATH 1, 3). Ratios to `s` are computed from the carried
/// logarithms, so they are finite at any depth.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct Lemma22 {
    /// Predicted scale `s`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub scale: f64,
    /// `log2 s`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub log2_scale: f64,
    /// Root mean square of `f(x)`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_rms: f64,
    /// `f_rms / s` (prediction 1).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_rms_over_scale: f64,
    /// 10th and 90th percentiles of `f(x) / s` (prediction: -1.2816, 1.2816).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_over_scale_p10: f64,
    /// See `f_over_scale_p10`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f_over_scale_p90: f64,
    /// Median `||grad f(x)||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub grad_norm_median: f64,
    /// Median `||grad f(x)|| / s` (prediction 1).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub grad_norm_median_over_scale: f64,
}

/// The one-step attack clipped to the box (MATH 9: a constrained attack, no prediction).
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct Clipped {
    /// Fraction of live trials in which clipping moved the one-step point.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub clip_active: f64,
    /// Fraction of live trials in which the clipped point flips (evaluated).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// `||clip(x') - x|| / ||x||` times `sqrt(d)`, over live trials.
    pub rho_sqrt_d: Summary,
}

/// Ray attack block.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct RayBlock {
    /// `t ||grad|| / |f|` over verified flips (prediction 1).
    pub t_ratio: Summary,
    /// Live trials where no flip was found up to `2^20` times the linear step.
    pub not_found: usize,
}

/// The clause `|f(x')| >= |f(x)|` of Theorem 1.1.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct Clause {
    /// Quantiles of `|f(x')| / |f(x)|` at the one-step point (prediction: tends to 1 from below).
    pub abs_f_ratio: Band,
    /// Fraction of live trials where the clause alone, `|f(x')| >= |f(x)|`, holds at the
    /// one-step point (`c = 2`), ties excluded.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub clause_alone_at_one_step: f64,
    /// Fraction where both clauses hold there: the sign flipped and `|f(x')| >= |f(x)|`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub both_clauses_at_one_step: f64,
    /// Fraction where `|f(x')|` and `|f(x)|` tie (within `1e-12 |f(x)|`), neither outcome.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub ties_at_one_step: f64,
    /// Quantiles of the smallest step factor `c >= 2` at which it holds (prediction: tends to 2).
    pub c_min: Band,
    /// Live trials where no such `c <= 2048` was found.
    pub c_not_found: usize,
}

/// One attack over the live pairs.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct AttackBlock {
    /// `onestep`, `ray`, `deepfool` or `pgd`.
    pub name: Attack,
    /// Verified sign flips.
    pub successes: usize,
    /// `successes / live`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// 95% Wilson interval.
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub success_ci: [f64; 2],
    /// `||x' - x|| / ||x||` over the successes (PGD: at the smallest successful budget).
    pub rel_pert: Summary,
    /// The same times `sqrt(d)`.
    pub rel_pert_sqrt_d: Summary,
    /// `rel_pert` over its linear prediction `linear_rho`, trial by trial (1 where `f` is
    /// linear between `x` and the flip; MATH 3), for the minimal-flip attacks (none for the
    /// one-step attack, whose step is twice the prediction by construction).
    #[serde(default)]
    pub over_linear: Option<Summary>,
}

/// PGD success at one budget: the curve attack libraries call robust accuracy against epsilon.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct PgdPoint {
    /// Budget relative to `||x||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub eps: f64,
    /// `eps * sqrt(d)`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub eps_sqrt_d: f64,
    /// Fraction of live pairs flipped within the budget.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// 95% Wilson interval.
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub success_ci: [f64; 2],
    /// Linear-model prediction: a flip needs `eps >= |f| / (||grad|| ||x||) ~ |Z| / sqrt(d)`,
    /// so the rate is `P(|Z| <= eps sqrt(d)) = 2 Phi(eps sqrt(d)) - 1`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub prediction: f64,
}

/// The smallest verified flip per pair over the attacks run (`--attack all`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Best {
    /// Pairs where some attack flipped the sign.
    pub found: usize,
    /// `||x' - x|| / ||x||` of the best flip per pair.
    pub rel_pert: Summary,
    /// The same times `sqrt(d)` (the linear prediction of the minimal flip is `|Z|`: median
    /// 0.674).
    pub rel_pert_sqrt_d: Summary,
    /// How often each attack gave the best flip.
    pub wins: std::collections::BTreeMap<Attack, usize>,
}

/// Predictions printed beside the measurements (MATH 3).
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct Prediction {
    /// Success rate tends to 1.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// Median of `rho sqrt(d)`: `2 Phi^{-1}(3/4)` for one step, half that for the minimal
    /// flips (ray, DeepFool); none for PGD.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho_sqrt_d_median: f64,
    /// Mean: `2 sqrt(2/pi)` for one step, `sqrt(2/pi)` for the minimal flips.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho_sqrt_d_mean: f64,
    /// 10th percentile: `2 Phi^{-1}(0.55)` (one step), half for the minimal flips.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho_sqrt_d_p10: f64,
    /// 90th percentile: `2 Phi^{-1}(0.95)` (one step), half for the minimal flips.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub rho_sqrt_d_p90: f64,
    /// `|f(x')| / |f(x)|` tends to 1.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub abs_f_ratio: f64,
    /// `c_min` tends to 2.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub c_min: f64,
    /// Lemma 2.2 scale `s` of `f` and `||grad f||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub scale: f64,
    /// Ray: `t ||grad|| / |f|` = 1.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub ray_t_ratio: f64,
    /// `r = sqrt(E f^2 / E ||grad f||^2) sqrt(d) / ||x||` of the kernel recursion (MATH 9; 1 for
    /// the paper's network); null for a given network (MATH 10: no prediction).
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub r: f64,
    /// Median of `rho sqrt(d)` for the minimal flips (ray, DeepFool, the best): half the
    /// one-step size.
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub minimal_flip_sqrt_d_median: f64,
    /// Lemma 2.2: root mean square of `f / s` (1; for the margin of `K >= 2`, that of the gap
    /// of the two largest of `K` normals).
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub f_rms_over_scale: f64,
    /// 10th percentile of `f / s`.
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub f_over_scale_p10: f64,
    /// 90th percentile of `f / s`.
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub f_over_scale_p90: f64,
    /// Median `||grad f|| / s`: `sqrt(E ||grad F||^2 / E F^2)`, times `sqrt 2` for the margin.
    #[serde(default, deserialize_with = "crate::record::nan::f64")]
    pub grad_norm_median_over_scale: f64,
}

/// The summary `radex attack` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct AttackReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Architecture `d,d_1,...,d_l`.
    pub arch: String,
    /// Input dimension.
    pub d: usize,
    /// Hidden widths.
    pub widths: Vec<usize>,
    /// Depth `l`.
    pub depth: usize,
    /// Initialisation.
    pub init: Option<Init>,
    /// The law of the weights (MATH 9).
    #[serde(flatten)]
    pub family: Family,
    /// Element type.
    pub precision: Precision,
    /// Sampler that ran: `dense` (stored weights) or `lazy` (MATH 8, Gaussian conditioning).
    pub sampler: Sampler,
    /// `given` when every trial measured one given network (absent when sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The file of the given network (`--model`, MATH 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Its container: `safetensors`, `npz` or `export`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_format: Option<String>,
    /// Where the given inputs came from (`--inputs`, MATH 10): the file's name or `array`;
    /// trial `t` attacked row `t`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Number of trials.
    pub trials: usize,
    /// Reported attack (`all`: the one-step attack, with every attack under `attacks`).
    pub attack: Attacks,
    /// The norm of the ray, DeepFool, PGD and minnorm distances (MATH 3, "other norms").
    #[serde(default)]
    pub norm: Norm,
    /// Dead networks (excluded from the statistics).
    pub dead: usize,
    /// Trials whose unscaled forward pass overflowed at `x` (MATH 9), excluded like dead ones.
    #[serde(default)]
    pub overflow: usize,
    /// Law of the inputs (MATH 9).
    #[serde(default)]
    pub input: InputLaw,
    /// Live trials whose one step landed on `f(x') = 0` exactly (flips, MATH 3).
    pub landed_on_zero: usize,
    /// Live trials.
    pub live: usize,
    /// Verified sign flips of the reported attack.
    pub successes: usize,
    /// `successes / live`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub success_rate: f64,
    /// 95% Wilson interval of the success rate.
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub success_ci: [f64; 2],
    /// Relative perturbation of the reported attack times `sqrt(d)`: the one-step size over
    /// every live trial, or the flipping perturbation over the trials where one was found.
    pub rho_sqrt_d: Summary,
    /// One-step success rate (equals `success_rate` for `--attack onestep`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub onestep_success_rate: f64,
    /// Every attack run, on the same pairs.
    pub attacks: Vec<AttackBlock>,
    /// Theorem 1.1's second clause.
    pub clause: Clause,
    /// Lemma 2.2 scales.
    pub lemma_2_2: Lemma22,
    /// Ray attack details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ray: Option<RayBlock>,
    /// PGD success against budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgd_curve: Option<Vec<PgdPoint>>,
    /// Best flip per pair (`--attack all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best: Option<Best>,
    /// Box inputs (MATH 9): the one-step point clipped to `[0, 1]^d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipped: Option<Clipped>,
    /// Predictions.
    pub prediction: Prediction,
    /// Raw records (`--per-trial`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_trial: Option<Vec<TrialRecord>>,
}

fn block(
    name: Attack,
    live: &[&TrialRecord],
    sqrt_d: f64,
    rho: impl Fn(&TrialRecord) -> Option<f64>,
) -> AttackBlock {
    let over_linear = (name != Attack::Onestep).then(|| {
        let ratios: Vec<f64> = live
            .iter()
            .filter_map(|t| rho(t).map(|r| r / t.linear_rho))
            .collect();
        Summary::of(&ratios)
    });
    let r: Vec<f64> = live.iter().filter_map(|t| rho(t)).collect();
    let (lo, hi) = wilson(r.len(), live.len());
    AttackBlock {
        name,
        successes: r.len(),
        success_rate: r.len() as f64 / live.len() as f64,
        success_ci: [lo, hi],
        rel_pert: Summary::of(&r),
        rel_pert_sqrt_d: Summary::of(&r.iter().map(|v| v * sqrt_d).collect::<Vec<_>>()),
        over_linear,
    }
}

/// Summarises trial records.
pub fn summarise(p: &AttackParams, recs: Vec<TrialRecord>, per_trial: bool) -> AttackReport {
    let live: Vec<&TrialRecord> = recs.iter().filter(|r| !r.dead && !r.overflow).collect();
    let n_live = live.len();
    let sqrt_d = (p.arch.d as f64).sqrt();
    let rate = |k: usize| {
        if n_live == 0 {
            f64::NAN
        } else {
            k as f64 / n_live as f64
        }
    };

    let mut attacks = vec![block(Attack::Onestep, &live, sqrt_d, |t| {
        t.success.then_some(t.rho)
    })];
    if p.attack.contains(Attack::Ray) {
        attacks.push(block(Attack::Ray, &live, sqrt_d, |t| t.ray_rho));
    }
    if p.attack.contains(Attack::Deepfool) {
        attacks.push(block(Attack::Deepfool, &live, sqrt_d, |t| t.deepfool_rho));
    }
    if p.attack.contains(Attack::Pgd) {
        attacks.push(block(Attack::Pgd, &live, sqrt_d, |t| t.pgd_rho));
    }
    if p.attack.contains(Attack::Minnorm) {
        attacks.push(block(Attack::Minnorm, &live, sqrt_d, |t| t.minnorm_rho));
    }
    let reported = p.attack.reported();
    let main = attacks
        .iter()
        .find(|b| b.name == reported)
        .expect("reported attack ran");
    let (successes, success_ci) = (main.successes, main.success_ci);
    let rho_sqrt_d = if reported == Attack::Onestep {
        // The step is taken on every live trial; its law (2|Z|) is unconditional.
        Summary::of(&live.iter().map(|r| r.rho_sqrt_d).collect::<Vec<_>>())
    } else {
        main.rel_pert_sqrt_d
    };

    let abs_ratio: Vec<f64> = live.iter().map(|r| r.f_ratio.abs()).collect();
    let c: Vec<f64> = live.iter().filter_map(|r| r.c_min).collect();
    let count = |pred: fn(&TrialRecord) -> bool| live.iter().filter(|r| pred(r)).count();
    let clause_alone = count(|r| r.clause_holds);
    let both = count(|r| r.success && r.clause_holds);
    let ties = count(|r| r.clause_tie);

    let depth = p.arch.depth();
    let law = Law::of(&p.arch, p.mean_sq(), p.source.is_given());
    let log2_scale = law.log2_scale;
    let f_rel: Vec<f64> = live.iter().map(|r| r.f_over_scale(log2_scale)).collect();
    let f_rms_over_scale = (f_rel.iter().map(|v| v * v).sum::<f64>() / n_live as f64).sqrt();
    let f_rel_band = Band::of(&f_rel);
    let g_med_log2 = Band::of(&live.iter().map(|r| r.log2_grad_norm).collect::<Vec<_>>()).median;
    let lemma = Lemma22 {
        scale: log2_scale.exp2(),
        log2_scale,
        f_rms: f_rms_over_scale * log2_scale.exp2(),
        f_rms_over_scale,
        f_over_scale_p10: f_rel_band.p10,
        f_over_scale_p90: f_rel_band.p90,
        grad_norm_median: g_med_log2.exp2(),
        grad_norm_median_over_scale: (g_med_log2 - log2_scale).exp2(),
    };

    // In Linf, a Gaussian gradient's ||g||_1 / ||g||_2 (MATH 3, "other norms").
    let dual = p.norm.gaussian_dual_ratio(p.arch.d);
    let ray = p.attack.contains(Attack::Ray).then(|| RayBlock {
        t_ratio: Summary::of(
            &live
                .iter()
                .filter_map(|r| r.ray_t_ratio)
                .collect::<Vec<_>>(),
        ),
        not_found: live.iter().filter(|r| r.ray_success == Some(false)).count(),
    });
    let pgd_curve = p.attack.contains(Attack::Pgd).then(|| {
        p.pgd
            .eps
            .iter()
            .enumerate()
            .map(|(e, &eps)| {
                let k = live
                    .iter()
                    .filter(|r| r.pgd_success.as_ref().is_some_and(|m| m[e]))
                    .count();
                let (lo, hi) = wilson(k, n_live);
                PgdPoint {
                    eps,
                    eps_sqrt_d: eps * sqrt_d,
                    success_rate: rate(k),
                    success_ci: [lo, hi],
                    prediction: law.flip_within(eps * sqrt_d * dual),
                }
            })
            .collect()
    });
    let best = (p.attack.is_all()).then(|| {
        let b: Vec<f64> = live.iter().filter_map(|r| r.best_rho).collect();
        let mut wins = std::collections::BTreeMap::new();
        for r in &live {
            if let Some(a) = &r.best_attack {
                *wins.entry(*a).or_insert(0) += 1;
            }
        }
        Best {
            found: b.len(),
            rel_pert: Summary::of(&b),
            rel_pert_sqrt_d: Summary::of(&b.iter().map(|v| v * sqrt_d).collect::<Vec<_>>()),
            wins,
        }
    });
    let clipped = (p.input == InputLaw::Box).then(|| {
        let of = |f: fn(&TrialRecord) -> Option<bool>| {
            rate(live.iter().filter(|r| f(r) == Some(true)).count())
        };
        Clipped {
            clip_active: of(|r| r.clip_active),
            success_rate: of(|r| r.clipped_success),
            rho_sqrt_d: Summary::of(
                &live
                    .iter()
                    .filter_map(|r| r.clipped_rho.map(|v| v * sqrt_d))
                    .collect::<Vec<_>>(),
            ),
        }
    });
    // The one-step size, or half of it for the minimal flips (ray, DeepFool, minnorm), over
    // `||grad||_q / ||grad||_2` of a Gaussian gradient in Linf; none for PGD.
    let k = match reported {
        Attack::Onestep => 1.0,
        Attack::Pgd => f64::NAN,
        _ => 0.5 / dual,
    };
    let given = p.source.is_given();
    let unless_given = |v: f64| if given { f64::NAN } else { v };
    AttackReport {
        run: RunHeader::new(
            "attack",
            "MATH 3: Theorem 1.1 (one-step attack), Lemma 2.2 (scales)",
        ),
        arch: p.arch.spec(),
        d: p.arch.d,
        widths: p.arch.widths.clone(),
        depth,
        init: p.arch.init(),
        family: p.arch.family,
        precision: p.precision,
        sampler: p.sampler,
        network: p.source.is_given().then(|| "given".to_string()),
        model: p.model.as_ref().map(|m| m.file.clone()),
        model_format: p.model.as_ref().map(|m| m.format.clone()),
        inputs: p.inputs.as_ref().map(|g| g.source.clone()),
        seed: p.seed,
        trials: p.trials,
        attack: p.attack,
        norm: p.norm,
        dead: recs.iter().filter(|r| r.dead).count(),
        overflow: recs.iter().filter(|r| r.overflow).count(),
        input: p.input,
        landed_on_zero: count(|r| r.landed_on_zero),
        live: n_live,
        successes,
        success_rate: rate(successes),
        success_ci,
        rho_sqrt_d,
        onestep_success_rate: attacks[0].success_rate,
        attacks,
        clause: Clause {
            abs_f_ratio: Band::of(&abs_ratio),
            clause_alone_at_one_step: rate(clause_alone),
            both_clauses_at_one_step: rate(both),
            ties_at_one_step: rate(ties),
            c_min: Band::of(&c),
            c_not_found: if p.with_c { n_live - c.len() } else { 0 },
        },
        lemma_2_2: lemma,
        ray,
        pgd_curve,
        best,
        clipped,
        prediction: Prediction {
            success_rate: unless_given(1.0),
            rho_sqrt_d_median: k * law.one_step_quantile(Quantile::Median),
            rho_sqrt_d_mean: k * law.one_step_mean(),
            rho_sqrt_d_p10: k * law.one_step_quantile(Quantile::P10),
            rho_sqrt_d_p90: k * law.one_step_quantile(Quantile::P90),
            abs_f_ratio: unless_given(1.0),
            c_min: unless_given(2.0),
            scale: unless_given(log2_scale.exp2()),
            ray_t_ratio: unless_given(1.0),
            r: law.r,
            minimal_flip_sqrt_d_median: 0.5 * law.one_step_quantile(Quantile::Median) / dual,
            f_rms_over_scale: law.f_rms_over_scale(),
            f_over_scale_p10: law.f_quantile(Quantile::P10),
            f_over_scale_p90: law.f_quantile(Quantile::P90),
            grad_norm_median_over_scale: law.grad_over_scale,
        },
        per_trial: per_trial.then_some(recs),
    }
}
