//! `radex attack` (MATH 3, Theorem 1.1, Lemma 2.2): independent `(network, x)` pairs, the
//! one-step attack on each (and optionally the ray attack), summarised beside the predictions.

use faer::Par;
use serde::Serialize;

use super::runner::Exec;
use crate::arch::{Arch, Init};
use crate::attack::onestep::{linearise, one_step_from};
use crate::attack::{LINE_BATCH, ray_flip};
use crate::measure::stats::{Band, Summary, normal_quantile, wilson};
use crate::net::DenseNet;
use crate::report::progress::Progress;
use crate::rng;
use crate::scalar::{Precision, Real};

/// Which attack `radex attack` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AttackKind {
    /// The one-step attack of Theorem 1.1: `x' = x - 2 f grad / ||grad||^2`.
    Onestep,
    /// The minimal flip along the gradient ray (bracketing and bisection).
    Ray,
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
    pub attack: AttackKind,
    /// Element type.
    pub precision: Precision,
    /// Search the smallest step factor `c` (costs a few batched forward passes per trial).
    pub with_c: bool,
}

impl AttackParams {
    /// Peak bytes of one trial (its network and the batch of a line search).
    pub fn bytes_per_trial(&self) -> u128 {
        self.arch.dense_bytes(self.precision.bytes(), LINE_BATCH)
    }
}

/// The raw record of one trial (`--per-trial`).
#[derive(Clone, Debug, Serialize)]
pub struct TrialRecord {
    /// Seed of the run.
    pub seed: u64,
    /// Trial index: network and input come from the streams of `(seed, trial)`.
    pub trial: u64,
    /// Dead network at `x` (`f = 0`, `grad f = 0`); excluded from every statistic.
    pub dead: bool,
    /// `f(x)` (may underflow to 0 at extreme depth; see `log2_abs_f`).
    pub f: f64,
    /// `log2 |f(x)|`, finite at any depth.
    pub log2_abs_f: f64,
    /// `||grad f(x)||` (may underflow at extreme depth; see `log2_grad_norm`).
    pub grad_norm: f64,
    /// `log2 ||grad f(x)||`.
    pub log2_grad_norm: f64,
    /// One-step relative perturbation `||x' - x|| / ||x||`.
    pub rho: f64,
    /// `rho * sqrt(d)` (prediction: distributed like `2|Z|`).
    pub rho_sqrt_d: f64,
    /// `f(x')` at the one-step point, evaluated.
    pub f_adv: f64,
    /// `f(x') / f(x)` (prediction: tends to -1).
    pub f_ratio: f64,
    /// One-step success: `sign f(x') != sign f(x)`.
    pub success: bool,
    /// Smallest step factor `c >= 2` with the sign flipped and `|f(x')| >= |f(x)|`.
    pub c_min: Option<f64>,
    /// Ray attack: `t ||grad f(x)|| / |f(x)|` (prediction 1).
    pub ray_t_ratio: Option<f64>,
    /// Ray attack: `t / ||x||`.
    pub ray_rho: Option<f64>,
    /// Ray attack found a verified flip.
    pub ray_success: Option<bool>,
}

/// Runs one trial on a freshly sampled network.
pub fn trial<T: Real>(p: &AttackParams, t: u64, par: Par) -> TrialRecord {
    let mut net = DenseNet::<T>::sample(&p.arch, p.seed, t);
    trial_on(p, &mut net, t, par)
}

/// Runs trial `t` on `net`, which must hold the network of `(p.seed, t)`.
pub fn trial_on<T: Real>(p: &AttackParams, net: &mut DenseNet<T>, t: u64, par: Par) -> TrialRecord {
    let net = &mut *net;
    let x = rng::input(p.seed, t, p.arch.d);
    let lin = linearise::<T, _>(net, &x, par);
    let ray = (p.attack == AttackKind::Ray).then(|| ray_flip(net, &x, &lin, par));
    let s = one_step_from(net, &x, lin, p.with_c, par);
    let norm_x = crate::attack::norm64(&x);
    let sqrt_d = (p.arch.d as f64).sqrt();
    TrialRecord {
        seed: p.seed,
        trial: t,
        dead: s.dead,
        f: s.f.value(),
        log2_abs_f: s.f.log2_abs(),
        grad_norm: s.grad_norm.value(),
        log2_grad_norm: s.grad_norm.log2_abs(),
        rho: s.rho,
        rho_sqrt_d: s.rho * sqrt_d,
        f_adv: s.f_adv.value(),
        f_ratio: if s.dead { f64::NAN } else { s.f_adv.ratio(s.f) },
        success: s.success,
        c_min: s.c_min,
        ray_t_ratio: ray.and_then(|r| r.t_ratio),
        ray_rho: ray.and_then(|r| r.t.map(|t| t / norm_x)),
        ray_success: ray.map(|r| r.f_adv.is_some()),
    }
}

/// Runs every trial.
pub fn run_trials(p: &AttackParams, exec: &Exec, progress: &Progress) -> Vec<TrialRecord> {
    let bytes = p.bytes_per_trial();
    fn go<T: Real>(
        p: &AttackParams,
        exec: &Exec,
        bytes: u128,
        progress: &Progress,
    ) -> Vec<TrialRecord> {
        // Each worker keeps one network's storage and redraws it per trial.
        exec.run(
            p.trials,
            bytes,
            progress,
            || None::<DenseNet<T>>,
            |slot, t, par| {
                let net = match slot {
                    Some(net) => {
                        net.resample(p.seed, t);
                        net
                    }
                    None => slot.insert(DenseNet::<T>::sample(&p.arch, p.seed, t)),
                };
                trial_on(p, net, t, par)
            },
        )
    }
    match p.precision {
        Precision::F64 => go::<f64>(p, exec, bytes, progress),
        Precision::F32 => go::<f32>(p, exec, bytes, progress),
    }
}

/// Lemma 2.2 scales: `f(x) ~ N(0, s^2)` and `||grad f(x)|| ~ s`, with `s = 2^{-l/2}` under
/// NN-DEF and `s = sqrt 2` under He (MATH 1, 3). Ratios to `s` are computed from the carried
/// logarithms, so they are finite at any depth.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Lemma22 {
    /// Predicted scale `s`.
    pub scale: f64,
    /// `log2 s`.
    pub log2_scale: f64,
    /// Root mean square of `f(x)`.
    pub f_rms: f64,
    /// `f_rms / s` (prediction 1).
    pub f_rms_over_scale: f64,
    /// 10th and 90th percentiles of `f(x) / s` (prediction: -1.2816, 1.2816).
    pub f_over_scale_p10: f64,
    /// See `f_over_scale_p10`.
    pub f_over_scale_p90: f64,
    /// Median `||grad f(x)||`.
    pub grad_norm_median: f64,
    /// Median `||grad f(x)|| / s` (prediction 1).
    pub grad_norm_median_over_scale: f64,
}

/// Ray attack block.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RayBlock {
    /// `t ||grad|| / |f|` over verified flips (prediction 1).
    pub t_ratio: Summary,
    /// Live trials where no flip was found up to `2^20` times the linear step.
    pub not_found: usize,
}

/// The clause `|f(x')| >= |f(x)|` of Theorem 1.1.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Clause {
    /// Quantiles of `|f(x')| / |f(x)|` at the one-step point (prediction: tends to 1 from below).
    pub abs_f_ratio: Band,
    /// Fraction of live trials where the clause holds at the one-step point (`c = 2`).
    pub holds_at_one_step: f64,
    /// Quantiles of the smallest step factor `c >= 2` at which it holds (prediction: tends to 2).
    pub c_min: Band,
    /// Live trials where no such `c <= 2048` was found.
    pub c_not_found: usize,
}

/// Predictions printed beside the measurements (MATH 3).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Prediction {
    /// Success rate tends to 1.
    pub success_rate: f64,
    /// Median of `rho sqrt(d)`: `2 Phi^{-1}(3/4)` for one step, half that for the ray.
    pub rho_sqrt_d_median: f64,
    /// Mean: `2 sqrt(2/pi)` for one step, `sqrt(2/pi)` for the ray.
    pub rho_sqrt_d_mean: f64,
    /// 10th percentile: `2 Phi^{-1}(0.55)` (one step).
    pub rho_sqrt_d_p10: f64,
    /// 90th percentile: `2 Phi^{-1}(0.95)` (one step).
    pub rho_sqrt_d_p90: f64,
    /// `|f(x')| / |f(x)|` tends to 1.
    pub abs_f_ratio: f64,
    /// `c_min` tends to 2.
    pub c_min: f64,
    /// Lemma 2.2 scale `s` of `f` and `||grad f||`.
    pub scale: f64,
    /// Ray: `t ||grad|| / |f|` = 1.
    pub ray_t_ratio: f64,
}

/// The summary `radex attack` prints.
#[derive(Clone, Debug, Serialize)]
pub struct AttackReport {
    /// `"attack"`.
    pub command: &'static str,
    /// radex version.
    pub version: &'static str,
    /// MATH.md sections and paper results.
    pub math: &'static str,
    /// Architecture `d,d_1,...,d_l`.
    pub arch: String,
    /// Input dimension.
    pub d: usize,
    /// Hidden widths.
    pub widths: Vec<usize>,
    /// Depth `l`.
    pub depth: usize,
    /// Initialisation.
    pub init: Init,
    /// Element type.
    pub precision: Precision,
    /// Seed.
    pub seed: u64,
    /// Number of trials.
    pub trials: usize,
    /// Reported attack.
    pub attack: AttackKind,
    /// Dead networks (excluded from the statistics).
    pub dead: usize,
    /// Live trials.
    pub live: usize,
    /// Verified sign flips of the reported attack.
    pub successes: usize,
    /// `successes / live`.
    pub success_rate: f64,
    /// 95% Wilson interval of the success rate.
    pub success_ci: [f64; 2],
    /// Relative perturbation of the reported attack times `sqrt(d)`: the one-step size over
    /// every live trial, or the ray's flipping step over the trials where it found one.
    pub rho_sqrt_d: Summary,
    /// One-step success rate (equals `success_rate` for `--attack onestep`).
    pub onestep_success_rate: f64,
    /// Theorem 1.1's second clause.
    pub clause: Clause,
    /// Lemma 2.2 scales.
    pub lemma_2_2: Lemma22,
    /// Ray attack details (`--attack ray`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ray: Option<RayBlock>,
    /// Predictions.
    pub prediction: Prediction,
    /// Raw records (`--per-trial`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_trial: Option<Vec<TrialRecord>>,
}

/// Summarises trial records.
pub fn summarise(p: &AttackParams, recs: Vec<TrialRecord>, per_trial: bool) -> AttackReport {
    let live: Vec<&TrialRecord> = recs.iter().filter(|r| !r.dead).collect();
    let n_live = live.len();
    let onestep_successes = live.iter().filter(|r| r.success).count();
    let (successes, rho_sqrt_d) = match p.attack {
        AttackKind::Onestep => (
            onestep_successes,
            // The step is taken on every live trial; its law (2|Z|) is unconditional.
            live.iter().map(|r| r.rho_sqrt_d).collect::<Vec<_>>(),
        ),
        AttackKind::Ray => {
            let sqrt_d = (p.arch.d as f64).sqrt();
            let rhos: Vec<f64> = live
                .iter()
                .filter_map(|r| r.ray_rho)
                .map(|v| v * sqrt_d)
                .collect();
            (rhos.len(), rhos)
        }
    };
    let (lo, hi) = wilson(successes, n_live);
    let rate = |k: usize| {
        if n_live == 0 {
            f64::NAN
        } else {
            k as f64 / n_live as f64
        }
    };

    let abs_ratio: Vec<f64> = live.iter().map(|r| r.f_ratio.abs()).collect();
    let c: Vec<f64> = live.iter().filter_map(|r| r.c_min).collect();
    let holds = live
        .iter()
        .filter(|r| r.success && r.f_ratio.abs() >= 1.0)
        .count();

    let depth = p.arch.depth();
    let log2_scale = match p.arch.init {
        Init::Nn => -(depth as f64) / 2.0,
        Init::He => 0.5,
    };
    let f_rel: Vec<f64> = live
        .iter()
        .map(|r| r.f.signum() * (r.log2_abs_f - log2_scale).exp2())
        .collect();
    let f_rms_over_scale = (f_rel.iter().map(|v| v * v).sum::<f64>() / n_live as f64).sqrt();
    let f_rel_spread = Band::of(&f_rel);
    let g_med_log2 = Band::of(&live.iter().map(|r| r.log2_grad_norm).collect::<Vec<_>>()).median;
    let lemma = Lemma22 {
        scale: log2_scale.exp2(),
        log2_scale,
        f_rms: f_rms_over_scale * log2_scale.exp2(),
        f_rms_over_scale,
        f_over_scale_p10: f_rel_spread.p10,
        f_over_scale_p90: f_rel_spread.p90,
        grad_norm_median: g_med_log2.exp2(),
        grad_norm_median_over_scale: (g_med_log2 - log2_scale).exp2(),
    };

    let ray = (p.attack == AttackKind::Ray).then(|| RayBlock {
        t_ratio: Summary::of(
            &live
                .iter()
                .filter_map(|r| r.ray_t_ratio)
                .collect::<Vec<_>>(),
        ),
        not_found: live.iter().filter(|r| r.ray_success == Some(false)).count(),
    });
    let half = normal_quantile(0.75);
    let mean_abs = (2.0 / std::f64::consts::PI).sqrt();
    let k = match p.attack {
        AttackKind::Onestep => 2.0,
        AttackKind::Ray => 1.0,
    };
    AttackReport {
        command: "attack",
        version: env!("CARGO_PKG_VERSION"),
        math: "MATH 3: Theorem 1.1 (one-step attack), Lemma 2.2 (scales)",
        arch: p.arch.spec(),
        d: p.arch.d,
        widths: p.arch.widths.clone(),
        depth,
        init: p.arch.init,
        precision: p.precision,
        seed: p.seed,
        trials: p.trials,
        attack: p.attack,
        dead: recs.len() - n_live,
        live: n_live,
        successes,
        success_rate: rate(successes),
        success_ci: [lo, hi],
        rho_sqrt_d: Summary::of(&rho_sqrt_d),
        onestep_success_rate: rate(onestep_successes),
        clause: Clause {
            abs_f_ratio: Band::of(&abs_ratio),
            holds_at_one_step: rate(holds),
            c_min: Band::of(&c),
            c_not_found: if p.with_c { n_live - c.len() } else { 0 },
        },
        lemma_2_2: lemma,
        ray,
        prediction: Prediction {
            success_rate: 1.0,
            rho_sqrt_d_median: k * half,
            rho_sqrt_d_mean: k * mean_abs,
            rho_sqrt_d_p10: k * normal_quantile(0.55),
            rho_sqrt_d_p90: k * normal_quantile(0.95),
            abs_f_ratio: 1.0,
            c_min: 2.0,
            scale: log2_scale.exp2(),
            ray_t_ratio: 1.0,
        },
        per_trial: per_trial.then_some(recs),
    }
}
