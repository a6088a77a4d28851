//! `radex depth` (MATH 6, Theorem 3.1, Lemma 3.2; MATH 9, "depth generalised"): networks of
//! constant width at depths from 1 to about a thousand, He relu networks by default, any
//! family of MATH 9 on request. Per depth: the empirical cosine between `h_l(x)` and `h_l(y)`
//! for a pair at angle `theta` beside its infinite-width prediction (the `kappa` iteration for
//! relu without biases, the kernel recursion of MATH 9 otherwise); the spread `max |f(x) -
//! f(y)| / mean |f(x)|` over sampled inputs beside its infinite-width (Gaussian-process) law;
//! the one-step success rate; the smallest verified sign flip over the one-step, ray,
//! DeepFool, PGD and minimum-norm attacks, relative to `||x||` (the paper's open question: how
//! sensitivity decays with depth), and that flip over its linear prediction
//! `|f(x)| / (||grad f(x)|| ||x||)` (MATH 3, "other norms": 1 where `f` is near-linear around
//! `x`, larger where it is not). Also the cosine layer by layer, pooled over every network deep
//! enough, and the phase of the deep limit (ordered, chaotic, or the paper's polynomial case).

use crate::attack::{Attack, Attacks};
use crate::record::RunHeader;
use std::collections::BTreeMap;
use std::ops::Range;

use faer::MatRef;
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::attack::{AttackParams, TrialRecord, trial_on};
use super::runner::Exec;
use crate::arch::{Arch, Family, Init};
use crate::attack::LINE_BATCH;
use crate::error::Result;
use crate::infinite_width::{Kernel, KernelError, LayerCorrelation, Phase};
use crate::measure::depth::{at_angle, kappa_iterates, layer_cosines, pair_stream, sensitivity};
use crate::measure::stats::{Band, mean, quantile, sample_sd, wilson};
use crate::net::{DenseNet, forward};
use crate::progress::Progress;
use crate::rng::{self, Purpose};
use crate::scalar::{Precision, Real};

/// Tag of the per-depth derived seeds.
const DEPTH_TAG: u64 = 0xDE97;

/// Parameters of a depth run.
#[derive(Clone, Debug)]
pub struct DepthParams {
    /// Hidden width `k` of every layer.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Depths `l` to measure.
    pub depths: Vec<usize>,
    /// Angle between the pair `x, y`, in radians.
    pub theta: f64,
    /// Pairs of sampled inputs per network for the spread of `f` (`2 * pairs` inputs).
    pub pairs: usize,
    /// Networks per depth.
    pub trials: usize,
    /// Seed; depth `l` uses `derive_seed(seed, [DEPTH_TAG, l])`.
    pub seed: u64,
    /// Element type.
    pub precision: Precision,
    /// The law of the networks (MATH 9): He relu without biases by default.
    pub family: Family,
}

/// The default depths: powers of two from 1 to 1024.
pub fn default_depths() -> Vec<usize> {
    (0..=10).map(|e| 1usize << e).collect()
}

/// PGD budgets for deep networks, relative to `||x||`: `2^j / (4 sqrt d)` up to 1, since the
/// flips of a deep network can be far larger than the one-step size.
pub fn depth_eps(d: usize) -> Vec<f64> {
    let mut v = Vec::new();
    let mut e = 0.25 / (d as f64).sqrt();
    while e < 1.0 {
        v.push(e);
        e *= 2.0;
    }
    v.push(1.0);
    v
}

impl DepthParams {
    /// The architecture of depth `l`.
    pub fn arch(&self, depth: usize) -> Result<Arch> {
        Arch::with_family(self.d, vec![self.width; depth], self.family)
    }

    /// The attack parameters of depth `l` (every attack, budgets of [`depth_eps`]).
    pub fn attack(&self, depth: usize) -> Result<AttackParams> {
        let mut p = AttackParams::new(
            self.arch(depth)?,
            rng::derive_seed(self.seed, &[DEPTH_TAG, depth as u64]),
            self.trials,
            Attacks::EVERY,
            self.precision,
        );
        p.with_c = false;
        p.pgd.eps = depth_eps(self.d);
        Ok(p)
    }

    /// Peak bytes of one trial at depth `l`.
    pub fn bytes_per_trial(&self, depth: usize) -> Result<u128> {
        let batch = (2 * self.pairs + 2)
            .max(LINE_BATCH)
            .max(depth_eps(self.d).len());
        Ok(self.arch(depth)?.dense_bytes(self.precision.bytes(), batch))
    }
}

/// What one network gives (a sweep's record of a depth unit).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DepthTrial {
    /// Cosine between `h_i(x)` and `h_i(y)`, `i = 1..=l` (NaN when dead).
    pub cos: Vec<f64>,
    /// `max |f(x_a) - f(x_b)| / mean |f(x_a)|` over the sampled inputs.
    pub spread: Option<f64>,
    /// The attacks at `x`.
    pub attack: TrialRecord,
}

fn trial<T: Real>(p: &DepthParams, a: &AttackParams, t: u64, par: faer::Par) -> DepthTrial {
    let mut net = DenseNet::<T>::sample(&a.arch, a.seed, t);
    let d = p.d;
    let x = rng::input(a.seed, t, d);
    let mut r = pair_stream(a.seed, t);
    let y = at_angle(&x, p.theta, &mut r);
    let n = 2 + 2 * p.pairs;
    let mut batch: Vec<T> = Vec::with_capacity(d * n);
    batch.extend(x.iter().chain(&y).map(|&v| T::from_f64(v)));
    for _ in 0..2 * p.pairs {
        batch.extend(
            rng::sphere(&mut r, d, (d as f64).sqrt())
                .into_iter()
                .map(T::from_f64),
        );
    }
    let tr = forward(&mut net, MatRef::from_column_major_slice(&batch, d, n), par);
    let cos = layer_cosines(&tr, 0, 1);
    // An output that overflowed is not a number (MATH 9): no spread for that network.
    let spread = if tr.overflow[2..].iter().any(|&o| o) {
        None
    } else {
        let fs: Vec<_> = (2..n).map(|b| tr.f(b)).collect();
        sensitivity(&fs)
    };
    let attack = trial_on(a, &mut net, t, par);
    DepthTrial {
        cos,
        spread,
        attack,
    }
}

/// Whether the family is the paper's depth case, relu without biases, whose predictions are
/// the `kappa` iterates of Lemma 3.2 (exactly the kernel's, for any `sigma_w^2`: the
/// normalised map does not depend on it, MATH 9).
pub fn kappa_case(family: &Family) -> bool {
    family.act == crate::act::Act::Relu && family.sigma_b == 0.0
}

/// The kernel's correlations for layers `1..=n` (MATH 9), `None` from the first layer the
/// recursion cannot represent.
fn kernel_layers(family: &Family, n: usize, c0: f64) -> Vec<Option<LayerCorrelation>> {
    let k = Kernel {
        act: family.act,
        sigma_w2: family.sigma_w2,
        sigma_b: family.sigma_b,
    };
    let got = match k.correlations(n, 1.0, c0) {
        Err(KernelError::OutOfRange { layer }) => k.correlations(layer.saturating_sub(1), 1.0, c0),
        other => other,
    };
    let mut v: Vec<Option<LayerCorrelation>> =
        got.unwrap_or_default().into_iter().map(Some).collect();
    v.resize(n, None);
    v
}

/// The predicted cosine between `h_i(x)` and `h_i(y)` for `i = 1..=n`, inputs on the sphere at
/// cosine `cos_theta` (MATH 6: `kappa^i(cos theta)`; MATH 9: the kernel recursion; NaN
/// where it leaves `f64`).
pub fn predicted_cosines(family: &Family, cos_theta: f64, n: usize) -> Vec<f64> {
    if kappa_case(family) {
        return kappa_iterates(cos_theta, n);
    }
    kernel_layers(family, n, cos_theta)
        .into_iter()
        .map(|l| l.map_or(f64::NAN, |l| l.cosine))
        .collect()
}

/// The predicted correlation of the output `f` between two independent inputs (cosine 0)
/// after `l = 1..=n` hidden layers: `(sigma_w^2 E[phi(u) phi(v)] + sigma_b^2) / (sigma_w^2
/// E[phi(u)^2] + sigma_b^2)` at layer `l` (MATH 9), `kappa^l(0)` for relu without biases.
pub fn output_correlations(family: &Family, n: usize) -> Vec<f64> {
    if kappa_case(family) {
        return kappa_iterates(0.0, n);
    }
    // The output layer is the recursion's layer l + 1: its `c` is the output's correlation.
    kernel_layers(family, n + 1, 0.0)
        .into_iter()
        .skip(1)
        .map(|l| l.map_or(f64::NAN, |l| l.c))
        .collect()
}

/// The phase of the deep limit for sphere inputs (MATH 9); `None` only for parameters out of
/// their domain, which validation refuses.
pub fn phase_of(family: &Family) -> Option<Phase> {
    Kernel {
        act: family.act,
        sigma_w2: family.sigma_w2,
        sigma_b: family.sigma_b,
    }
    .phase(1.0)
    .ok()
}

/// One depth over networks.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct DepthRow {
    /// Depth `l`.
    pub depth: usize,
    /// Architecture.
    pub arch: String,
    /// Derived seed of this depth.
    pub seed: u64,
    /// Live networks (the statistics use these).
    pub live: usize,
    /// Dead networks at `x`.
    pub dead: usize,
    /// Networks whose output overflowed at `x` (MATH 9: counted apart, never printed as
    /// numbers).
    #[serde(default)]
    pub overflow: usize,
    /// Cosine between `h_l(x)` and `h_l(y)` over networks.
    pub cosine: Band,
    /// Mean of that cosine.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub cosine_mean: f64,
    /// Standard error of the mean.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub cosine_se: f64,
    /// Infinite-width prediction of that cosine: Lemma 3.2's `kappa` iterated `l` times from
    /// `cos theta` (relu without biases), else the kernel recursion of MATH 9 (NaN where it
    /// leaves `f64`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub kappa: f64,
    /// `max |f(x) - f(y)| / mean |f(x)|` over the sampled inputs, over networks.
    pub spread: Band,
    /// Its infinite-width law (Gaussian process with the predicted output correlation between
    /// independent inputs, `kappa^l(0)` for relu without biases): median, 10th and 90th
    /// percentiles.
    pub spread_prediction: Band,
    /// One-step success rate (Theorem 1.1's step).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub onestep_success_rate: f64,
    /// Its 95% Wilson interval.
    #[serde(deserialize_with = "crate::record::nan::pair")]
    pub onestep_success_ci: [f64; 2],
    /// Networks where some attack flipped the sign.
    pub flip_found: usize,
    /// Smallest verified flip `||x' - x|| / ||x||` over the attacks, over the networks where
    /// one was found.
    pub min_flip: Band,
    /// Median over every live network, counting "no flip found" as infinite (None when more
    /// than half found none).
    pub min_flip_median_all: Option<f64>,
    /// `min_flip.median * sqrt(d)` (at depth 1 the linear prediction is `|Z|`, median 0.674).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub min_flip_sqrt_d_median: f64,
    /// Per network with a flip, the smallest flip over its linear prediction
    /// `|f(x)| / (||grad f(x)|| ||x||)` (the trial's `linear_rho`, half the one-step `rho`,
    /// MATH 3): 1 where `f` is linear between `x` and the boundary, larger where it bends away,
    /// possibly below 1 where it bends towards it.
    pub flip_over_linear: Band,
    /// Median of that ratio over every live network, counting "no flip found" as infinite
    /// (None when half of them or more found none).
    pub flip_over_linear_median_all: Option<f64>,
    /// How often each attack gave the smallest flip.
    pub wins: BTreeMap<Attack, usize>,
}

/// The cosine at one layer, pooled over every network at least that deep.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct LayerCosine {
    /// Layer `i`.
    pub layer: usize,
    /// Networks contributing.
    pub n: usize,
    /// Cosine between `h_i(x)` and `h_i(y)`.
    pub cosine: Band,
    /// Mean cosine.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub mean: f64,
    /// Standard error of the mean.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub se: f64,
    /// The predicted cosine at layer `i` (`kappa` iterated `i` times for relu without
    /// biases, the kernel recursion otherwise).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub kappa: f64,
}

/// The summary `radex depth` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct DepthReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Initialisation (`he` by default; `None` for a `sigma_w^2` that names none).
    pub init: Option<Init>,
    /// The law of the weights (MATH 9).
    #[serde(flatten)]
    pub family: Family,
    /// The phase of the deep limit (MATH 9): ordered, chaotic, critical, or no fixed point
    /// (relu without biases: the paper's polynomial case).
    pub phase: Option<Phase>,
    /// Width `k`.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Angle of the pair in degrees.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub theta_degrees: f64,
    /// `cos theta`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub cos_theta: f64,
    /// Pairs of sampled inputs per network.
    pub pairs: usize,
    /// Networks per depth.
    pub trials: usize,
    /// Seed.
    pub seed: u64,
    /// Element type.
    pub precision: Precision,
    /// PGD budgets relative to `||x||`.
    #[serde(deserialize_with = "crate::record::nan::vec")]
    pub pgd_eps: Vec<f64>,
    /// One row per depth.
    pub rows: Vec<DepthRow>,
    /// The cosine layer by layer.
    pub layers: Vec<LayerCosine>,
}

/// Monte Carlo draws behind each spread prediction.
const GP_DRAWS: usize = 20_000;

/// The law of `range / mean |.|` of `n` jointly Gaussian values with unit variance and common
/// correlation `rho`: `f_a = sqrt(rho) Z_0 + sqrt(1 - rho) Z_a` (the infinite-width network
/// at `n` independent inputs of high dimension, whose cosines are near 0). Deterministic
/// (a fixed stream per call).
pub fn spread_prediction(rho: f64, n: usize, seed: u64) -> Band {
    let mut r = rng::stream(seed, 0, Purpose::Bootstrap, DEPTH_TAG, n as u64);
    let (a, b) = (rho.clamp(0.0, 1.0).sqrt(), (1.0 - rho).max(0.0).sqrt());
    let draws: Vec<f64> = (0..GP_DRAWS)
        .map(|_| {
            let z0: f64 = r.sample(StandardNormal);
            let f: Vec<f64> = (0..n)
                .map(|_| a * z0 + b * r.sample::<f64, _>(StandardNormal))
                .collect();
            let max = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let min = f.iter().copied().fold(f64::INFINITY, f64::min);
            (max - min) / mean(&f.iter().map(|v| v.abs()).collect::<Vec<_>>())
        })
        .collect();
    Band::of(&draws)
}

/// The median of `found` completed to `n` values with infinities (the networks without a
/// flip); `None` when it is not finite, i.e. when half of them or more found none.
fn median_all(found: &[f64], n: usize) -> Option<f64> {
    let mut all = found.to_vec();
    all.resize(n.max(found.len()), f64::INFINITY);
    let m = quantile(&all, 0.5);
    m.is_finite().then_some(m)
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    (mean(v), sample_sd(v) / (v.len() as f64).sqrt())
}

/// The predictions of a run up to its deepest depth.
struct Predictions {
    /// Predicted cosine at layers `1..=max_depth`.
    cosine: Vec<f64>,
    /// Predicted output correlation of independent inputs at depths `1..=max_depth`.
    output: Vec<f64>,
}

/// The networks `trials` of one depth (all of them: `0..p.trials`; a sweep's unit: a part).
pub fn depth_trials(
    p: &DepthParams,
    depth: usize,
    trials: Range<u64>,
    exec: &Exec,
    progress: &dyn Progress,
) -> Result<Vec<DepthTrial>> {
    let a = p.attack(depth)?;
    let bytes = p.bytes_per_trial(depth)?;
    Ok(crate::with_real!(p.precision, T => exec.run_range(
        trials,
        bytes,
        progress,
        || (),
        |_, t, par| trial::<T>(p, &a, t, par),
    )))
}

/// One depth from its networks' trials: its row, and the layer cosines of each network that
/// is neither dead nor overflowed.
fn depth_row(
    p: &DepthParams,
    depth: usize,
    pred: &Predictions,
    outs: &[DepthTrial],
) -> Result<(DepthRow, Vec<Vec<f64>>)> {
    let sqrt_d = (p.d as f64).sqrt();
    let a = p.attack(depth)?;
    let overflow = outs
        .iter()
        .filter(|o| !o.attack.dead && o.attack.overflow)
        .count();
    let live: Vec<&DepthTrial> = outs
        .iter()
        .filter(|o| !o.attack.dead && !o.attack.overflow)
        .collect();
    let cos_l: Vec<f64> = live
        .iter()
        .map(|o| o.cos[depth - 1])
        .filter(|c| c.is_finite())
        .collect();
    let (cosine_mean, cosine_se) = mean_se(&cos_l);
    let spreads: Vec<f64> = live.iter().filter_map(|o| o.spread).collect();
    let successes = live.iter().filter(|o| o.attack.success).count();
    let (lo, hi) = wilson(successes, live.len());
    let flips: Vec<f64> = live.iter().filter_map(|o| o.attack.best_rho).collect();
    let ratios: Vec<f64> = live
        .iter()
        .filter_map(|o| o.attack.best_rho.map(|b| b / o.attack.linear_rho))
        .collect();
    let mut wins = BTreeMap::new();
    for o in &live {
        if let Some(w) = &o.attack.best_attack {
            *wins.entry(*w).or_insert(0) += 1;
        }
    }
    let min_flip = Band::of(&flips);
    let row = DepthRow {
        depth,
        arch: a.arch.spec(),
        seed: a.seed,
        live: live.len(),
        dead: outs.len() - live.len() - overflow,
        overflow,
        cosine: Band::of(&cos_l),
        cosine_mean,
        cosine_se,
        kappa: pred.cosine[depth - 1],
        spread: Band::of(&spreads),
        spread_prediction: spread_prediction(pred.output[depth - 1], 2 * p.pairs, p.seed),
        onestep_success_rate: successes as f64 / live.len() as f64,
        onestep_success_ci: [lo, hi],
        flip_found: flips.len(),
        min_flip,
        min_flip_median_all: median_all(&flips, live.len()),
        min_flip_sqrt_d_median: min_flip.median * sqrt_d,
        flip_over_linear: Band::of(&ratios),
        flip_over_linear_median_all: median_all(&ratios, live.len()),
        wins,
    };
    Ok((row, live.iter().map(|o| o.cos.clone()).collect()))
}

/// The row of one depth from its networks' trials, for `radex phase` (MATH 9): `p.depths` is
/// ignored.
pub fn row_of(p: &DepthParams, depth: usize, outs: &[DepthTrial]) -> Result<DepthRow> {
    let pred = Predictions {
        cosine: predicted_cosines(&p.family, p.theta.cos(), depth),
        output: output_correlations(&p.family, depth),
    };
    Ok(depth_row(p, depth, &pred, outs)?.0)
}

/// Runs the measurement.
pub fn run(p: &DepthParams, exec: &Exec, progress: &dyn Progress) -> Result<DepthReport> {
    let outs = p
        .depths
        .iter()
        .map(|&depth| depth_trials(p, depth, 0..p.trials as u64, exec, progress))
        .collect::<Result<Vec<_>>>()?;
    assemble(p, &outs)
}

/// The report from every network's trial, `outs[i]` those of depth `p.depths[i]` in trial
/// order (what [`run`] measures, or a sweep's units merged).
pub fn assemble(p: &DepthParams, outs: &[Vec<DepthTrial>]) -> Result<DepthReport> {
    let mut rows = Vec::with_capacity(p.depths.len());
    let mut per_layer: Vec<Vec<f64>> = Vec::new();
    let cos_theta = p.theta.cos();
    let max_depth = p.depths.iter().copied().max().unwrap_or(0);
    let pred = Predictions {
        cosine: predicted_cosines(&p.family, cos_theta, max_depth),
        output: output_correlations(&p.family, max_depth),
    };
    for (&depth, outs) in p.depths.iter().zip(outs) {
        let (row, cosines) = depth_row(p, depth, &pred, outs)?;
        for cos in &cosines {
            if per_layer.len() < cos.len() {
                per_layer.resize(cos.len(), Vec::new());
            }
            for (i, &c) in cos.iter().enumerate() {
                if c.is_finite() {
                    per_layer[i].push(c);
                }
            }
        }
        rows.push(row);
    }
    let layers = per_layer
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let (m, se) = mean_se(v);
            LayerCosine {
                layer: i + 1,
                n: v.len(),
                cosine: Band::of(v),
                mean: m,
                se,
                kappa: pred.cosine[i],
            }
        })
        .collect();
    let math = if kappa_case(&p.family) {
        "MATH 6: Theorem 3.1 (deep networks are nearly constant), Lemma 3.2 (kappa)"
    } else {
        "MATH 6 and MATH 9 (depth generalised): kernel correlations, order and chaos"
    };
    Ok(DepthReport {
        run: RunHeader::new("depth", math),
        init: p.family.init(),
        family: p.family,
        phase: phase_of(&p.family),
        width: p.width,
        d: p.d,
        theta_degrees: p.theta.to_degrees(),
        cos_theta,
        pairs: p.pairs,
        trials: p.trials,
        seed: p.seed,
        precision: p.precision,
        pgd_eps: depth_eps(p.d),
        rows,
        layers,
    })
}
