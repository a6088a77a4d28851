//! `radex depth` (MATH 6, Theorem 3.1, Lemma 3.2): He networks of constant width at depths
//! from 1 to about a thousand. Per depth: the empirical cosine between `h_l(x)` and `h_l(y)` for
//! a pair at angle `theta` beside the `kappa` iteration; the spread `max |f(x) - f(y)| /
//! mean |f(x)|` over sampled inputs beside its infinite-width (Gaussian-process) law; the
//! one-step success rate; and the smallest verified sign flip over the one-step, ray, DeepFool
//! and PGD attacks, relative to `||x||` (the paper's open question: how sensitivity decays
//! with depth). Also the cosine layer by layer, pooled over every network deep enough.

use crate::experiment::RunHeader;
use std::collections::BTreeMap;

use faer::MatRef;
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::Serialize;

use super::attack::{AttackKind, AttackName, AttackParams, TrialRecord, trial_on};
use super::runner::Exec;
use crate::arch::{Arch, Init};
use crate::attack::LINE_BATCH;
use crate::error::Result;
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
    /// The He architecture of depth `l`.
    pub fn arch(&self, depth: usize) -> Result<Arch> {
        Arch::new(self.d, vec![self.width; depth], Init::He)
    }

    /// The attack parameters of depth `l` (every attack, budgets of [`depth_eps`]).
    pub fn attack(&self, depth: usize) -> Result<AttackParams> {
        let mut p = AttackParams::new(
            self.arch(depth)?,
            rng::derive_seed(self.seed, &[DEPTH_TAG, depth as u64]),
            self.trials,
            AttackKind::All,
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

/// What one network gives.
#[derive(Clone, Debug)]
struct DepthTrial {
    /// Cosine between `h_i(x)` and `h_i(y)`, `i = 1..=l` (NaN when dead).
    cos: Vec<f64>,
    /// `max |f(x_a) - f(x_b)| / mean |f(x_a)|` over the sampled inputs.
    spread: Option<f64>,
    /// The attacks at `x`.
    attack: TrialRecord,
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
    let fs: Vec<_> = (2..n).map(|b| tr.f(b)).collect();
    let spread = sensitivity(&fs);
    let attack = trial_on(a, &mut net, t, par);
    DepthTrial {
        cos,
        spread,
        attack,
    }
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
    /// Cosine between `h_l(x)` and `h_l(y)` over networks.
    pub cosine: Band,
    /// Mean of that cosine.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub cosine_mean: f64,
    /// Standard error of the mean.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub cosine_se: f64,
    /// Lemma 3.2 prediction: `kappa` iterated `l` times from `cos theta`.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub kappa: f64,
    /// `max |f(x) - f(y)| / mean |f(x)|` over the sampled inputs, over networks.
    pub spread: Band,
    /// Its infinite-width law (Gaussian process with correlation `kappa^l(0)` between
    /// independent inputs): median, 10th and 90th percentiles.
    pub spread_prediction: Band,
    /// One-step success rate (Theorem 1.1's step).
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub onestep_success_rate: f64,
    /// Its 95% Wilson interval.
    #[serde(deserialize_with = "crate::report::nan::pair")]
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
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub min_flip_sqrt_d_median: f64,
    /// How often each attack gave the smallest flip.
    pub wins: BTreeMap<AttackName, usize>,
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
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub mean: f64,
    /// Standard error of the mean.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub se: f64,
    /// `kappa` iterated `i` times.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub kappa: f64,
}

/// The summary `radex depth` prints.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct DepthReport {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// Initialisation (always He).
    pub init: Init,
    /// Width `k`.
    pub width: usize,
    /// Input dimension.
    pub d: usize,
    /// Angle of the pair in degrees.
    #[serde(deserialize_with = "crate::report::nan::f64")]
    pub theta_degrees: f64,
    /// `cos theta`.
    #[serde(deserialize_with = "crate::report::nan::f64")]
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
    #[serde(deserialize_with = "crate::report::nan::vec")]
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

fn mean_se(v: &[f64]) -> (f64, f64) {
    (mean(v), sample_sd(v) / (v.len() as f64).sqrt())
}

/// Runs the measurement.
pub fn run(p: &DepthParams, exec: &Exec, progress: &dyn Progress) -> Result<DepthReport> {
    let mut rows = Vec::with_capacity(p.depths.len());
    let mut per_layer: Vec<Vec<f64>> = Vec::new();
    let cos_theta = p.theta.cos();
    let max_depth = p.depths.iter().copied().max().unwrap_or(0);
    let kappas = kappa_iterates(cos_theta, max_depth);
    let kappa_orth = kappa_iterates(0.0, max_depth);
    let sqrt_d = (p.d as f64).sqrt();
    for &depth in &p.depths {
        let a = p.attack(depth)?;
        let bytes = p.bytes_per_trial(depth)?;
        let outs: Vec<DepthTrial> = crate::with_real!(p.precision, T => exec.run(
            p.trials,
            bytes,
            progress,
            || (),
            |_, t, par| trial::<T>(p, &a, t, par),
        ));
        let live: Vec<&DepthTrial> = outs.iter().filter(|o| !o.attack.dead).collect();
        for o in &live {
            if per_layer.len() < o.cos.len() {
                per_layer.resize(o.cos.len(), Vec::new());
            }
            for (i, &c) in o.cos.iter().enumerate() {
                if c.is_finite() {
                    per_layer[i].push(c);
                }
            }
        }
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
        let censored: Vec<f64> = live
            .iter()
            .map(|o| o.attack.best_rho.unwrap_or(f64::INFINITY))
            .collect();
        let median_all = quantile(&censored, 0.5);
        let mut wins = BTreeMap::new();
        for o in &live {
            if let Some(w) = &o.attack.best_attack {
                *wins.entry(*w).or_insert(0) += 1;
            }
        }
        let min_flip = Band::of(&flips);
        rows.push(DepthRow {
            depth,
            arch: a.arch.spec(),
            seed: a.seed,
            live: live.len(),
            dead: outs.len() - live.len(),
            cosine: Band::of(&cos_l),
            cosine_mean,
            cosine_se,
            kappa: kappas[depth - 1],
            spread: Band::of(&spreads),
            spread_prediction: spread_prediction(kappa_orth[depth - 1], 2 * p.pairs, p.seed),
            onestep_success_rate: successes as f64 / live.len() as f64,
            onestep_success_ci: [lo, hi],
            flip_found: flips.len(),
            min_flip,
            min_flip_median_all: median_all.is_finite().then_some(median_all),
            min_flip_sqrt_d_median: min_flip.median * sqrt_d,
            wins,
        });
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
                kappa: kappas[i],
            }
        })
        .collect();
    Ok(DepthReport {
        run: RunHeader::new(
            "depth",
            "MATH 6: Theorem 3.1 (deep networks are nearly constant), Lemma 3.2 (kappa)",
        ),
        init: Init::He,
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
