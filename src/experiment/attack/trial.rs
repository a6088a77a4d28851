//! One trial of `radex attack`: the one-step attack and the attacks asked for on one
//! `(network, x)` pair, and the raw record of what each found (MATH 3).

use std::ops::Range;

use faer::Par;
use serde::Serialize;

use crate::attack::onestep::{Linearisation, linearise, one_step_from};
use crate::attack::{Attack, Domain, clip_to_box, f_at};
use crate::attack::{Norm, deepfool, minnorm, pgd, ray_flip};
use crate::experiment::runner::Exec;
use crate::net::{Labelled, Layers, Net, Sampler, Scaled};
use crate::progress::Progress;
use crate::rng::InputLaw;
use crate::scalar::Real;

use super::*;

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
    // flips gave the same minima to 1e-3 on 60 networks measured, and the ray costs about
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
