//! The summary of `radex attack`'s trial records beside the predictions (MATH 3, Lemma 2.2):
//! success rates with Wilson intervals, the laws of `rho sqrt(d)`, the clauses, the best
//! attack per pair.

use crate::record::{ArchHeader, RunHeader};
use serde::Serialize;

use crate::attack::Norm;
use crate::attack::{Attack, Attacks};
use crate::experiment::predict::{Law, Quantile};
use crate::measure::stats::{Band, Summary, wilson};
use crate::net::Sampler;
use crate::rng::InputLaw;
use crate::scalar::Precision;

use super::*;

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
    /// The network's architecture and law.
    #[serde(flatten)]
    pub net: ArchHeader,
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
        net: ArchHeader::of(&p.arch),
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
